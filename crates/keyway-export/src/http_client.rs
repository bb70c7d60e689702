//! The HTTP client the exporters send with: HTTP/1.1 or HTTP/2, plain or
//! TLS (webpki roots), pooled, with a deadline per request.

use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use std::time::Duration;

/// A client whose every request ends within `timeout`.
pub(crate) type Client = HyperClient<hyper_rustls::HttpsConnector<HttpConnector>>;

/// A new client; requests fail after `timeout`.
pub(crate) fn client(timeout: Duration) -> Client {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    HyperClient::new(https, timeout, None)
}
