//! Fetching a JWKS over HTTP or HTTPS (webpki roots), bounded in time and
//! size.

use super::keys::JwksError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// A pooled HTTP(S) client for JWKS documents.
#[derive(Clone)]
pub(crate) struct JwksClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl JwksClient {
    /// A client whose connections time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(timeout));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        JwksClient { client: Client::builder(TokioExecutor::new()).build(https) }
    }

    /// GETs `uri`, answering its body when the status is 200 and the body
    /// is at most `max_body` bytes, all within `timeout`.
    pub async fn get(&self, uri: &http::Uri, timeout: Duration, max_body: usize) -> Result<Bytes, JwksError> {
        let exchange = async {
            let request = http::Request::get(uri.clone())
                .header(http::header::ACCEPT, "application/jwk-set+json, application/json")
                .body(Empty::new())
                .map_err(|e| JwksError::Fetch(e.to_string()))?;
            let response = self.client.request(request).await.map_err(|e| JwksError::Fetch(e.to_string()))?;
            if response.status() != http::StatusCode::OK {
                return Err(JwksError::Status(response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), max_body).collect().await;
            body.map(|b| b.to_bytes()).map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    JwksError::TooLarge { limit: max_body }
                } else {
                    JwksError::Fetch(e.to_string())
                }
            })
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| JwksError::Timeout)?
    }
}

impl std::fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksClient")
    }
}
