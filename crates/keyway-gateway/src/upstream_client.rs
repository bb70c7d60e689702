//! The upstream exchange: plain-`http://` targets over the worker's own
//! HTTP/1.1 pool ([`crate::upstream_pool`]), `https://` targets over
//! hyper-util's client (TLS, and HTTP/2 when ALPN picks it), both under
//! the same timeouts and errors.

use crate::body::{Body, BodyError};
use crate::upstream_pool::Http1Pool;
use http::{HeaderName, HeaderValue, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use keyway_listener::BodyProgress;
use keyway_pipeline::{TargetOrigin, UpstreamTarget};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why the upstream hop failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The API has no targets.
    #[error("no upstream target configured")]
    NoTarget,
    /// The target URL plus path did not form a valid URI.
    #[error("bad upstream url: {0}")]
    BadUrl(String),
    /// Connection refused, reset, DNS failure, TLS failure...
    #[error("{0}")]
    Unavailable(String),
    /// No response head within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// Keep-alive clients for upstream calls: one per gateway worker.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    plain: Http1Pool,
    tls: Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>,
}

impl UpstreamClient {
    /// A client with the given connect timeout and idle-pool settings.
    pub fn new(connect_timeout: Duration, pool_idle_timeout: Duration, pool_max_idle_per_host: usize) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let tls = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_max_idle_per_host(pool_max_idle_per_host)
            .build(https);
        Self { plain: Http1Pool::new(connect_timeout, pool_idle_timeout, pool_max_idle_per_host), tls }
    }

    /// Sends `req` (origin-form URI, `Host` set, as
    /// [`crate::proxy::build_request`] makes it) to `target` and waits
    /// for the response head, at most `timeout` counted from when the
    /// request body has been sent: while a client is still sending
    /// (`body` not ended), the listener's body deadlines apply instead,
    /// and a slow client is not the upstream's fault.
    pub async fn send(
        &self,
        target: &Arc<UpstreamTarget>,
        req: Request<Body>,
        timeout: Duration,
        body: Option<&BodyProgress>,
    ) -> Result<Response<Body>, UpstreamError> {
        self.send_with(target, req, &[], timeout, body).await
    }

    /// [`UpstreamClient::send`] with `added` headers after `req`'s own (see
    /// [`crate::proxy::Added`]).
    pub async fn send_with(
        &self,
        target: &Arc<UpstreamTarget>,
        mut req: Request<Body>,
        added: &[(HeaderName, HeaderValue)],
        timeout: Duration,
        body: Option<&BodyProgress>,
    ) -> Result<Response<Body>, UpstreamError> {
        let origin = target.origin.as_ref().map_err(|e| UpstreamError::BadUrl(e.clone()))?;
        if !origin.tls {
            // Boxed once here: async fns nest by value, and each level
            // holds its callee's future beside its own arguments, so the
            // exchange's ~1.6 KB grew to ~35 KB in the request's future,
            // copied whole at every move (hyper moves it per request).
            let answer = Box::pin(async {
                let resp = self.plain.send(target, origin, req, added).await?;
                Ok(resp.map(|b| b.map_err(|e| -> BodyError { Box::new(e) }).boxed()))
            });
            return within(timeout, body, answer).await;
        }
        let headers = req.headers_mut();
        for (name, value) in added {
            headers.append(name.clone(), value.clone());
        }
        // Boxed: its state would otherwise sit in every request's future.
        Box::pin(self.send_tls(origin, req, timeout, body)).await
    }

    async fn send_tls(
        &self,
        origin: &TargetOrigin,
        mut req: Request<Body>,
        timeout: Duration,
        body: Option<&BodyProgress>,
    ) -> Result<Response<Body>, UpstreamError> {
        let absolute = format!("https://{}{}", origin.authority, req.uri().path_and_query().map_or("/", |p| p.as_str()));
        *req.uri_mut() = absolute.parse::<Uri>().map_err(|e| UpstreamError::BadUrl(e.to_string()))?;
        let answer = async {
            let resp = self.tls.request(req).await.map_err(|e| UpstreamError::Unavailable(describe(&e)))?;
            Ok(resp.map(|b| b.map_err(|e| -> BodyError { Box::new(e) }).boxed()))
        };
        within(timeout, body, answer).await
    }
}

/// `answer` under the upstream timeout, which starts once the request
/// body has been sent.
async fn within<T>(
    timeout: Duration,
    body: Option<&BodyProgress>,
    answer: impl Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    let Some(body) = body else {
        return tokio::time::timeout(timeout, answer).await.unwrap_or(Err(UpstreamError::Timeout(timeout)));
    };
    tokio::pin!(answer);
    loop {
        let wait = match body.ended_ago() {
            Some(ago) if ago >= timeout => return Err(UpstreamError::Timeout(timeout)),
            Some(ago) => timeout - ago,
            None => timeout,
        };
        if let Ok(r) = tokio::time::timeout(wait, &mut answer).await {
            return r;
        }
    }
}

/// An error and its causes, one line.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
