//! Header names the request path writes or strips on every request,
//! built once: a `&str` name is parsed and hashed anew at each use, which
//! cost ~3,700 instructions per proxied request (callgrind).

use http::header::HeaderName;

/// `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `x-keyway-tenant-id`.
pub const X_KEYWAY_TENANT_ID: HeaderName = HeaderName::from_static("x-keyway-tenant-id");
/// `x-keyway-app-id`.
pub const X_KEYWAY_APP_ID: HeaderName = HeaderName::from_static("x-keyway-app-id");
/// `x-keyway-key-id`.
pub const X_KEYWAY_KEY_ID: HeaderName = HeaderName::from_static("x-keyway-key-id");
/// SHA-256 of the caller's TLS client certificate (lowercase hex), on a
/// call whose credential it was.
pub const X_KEYWAY_CLIENT_CERT_SHA256: HeaderName = HeaderName::from_static("x-keyway-client-cert-sha256");
/// `x-forwarded-for`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `x-forwarded-proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `x-forwarded-host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `keep-alive`.
pub const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// `proxy-connection`.
pub const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Headers that describe one hop and are never forwarded (RFC 9110 §7.6.1);
/// `connection` first. A `static`: a `const` array is built and dropped
/// at every use.
pub static HOP_BY_HOP: [HeaderName; 8] = [
    http::header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::header::PROXY_AUTHORIZATION,
];

/// The place of `name` in [`HOP_BY_HOP`], if it is there: one match on
/// its text (a switch on the length, then at most one compare) instead of
/// eight `HeaderName` comparisons; run for every header of every request
/// and response.
pub fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "keep-alive" => 1,
        "proxy-connection" => 2,
        "te" => 3,
        "trailer" => 4,
        "transfer-encoding" => 5,
        "upgrade" => 6,
        "proxy-authorization" => 7,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hop_by_hop_index_is_the_place_in_the_list() {
        for (i, name) in HOP_BY_HOP.iter().enumerate() {
            assert_eq!(hop_by_hop_index(name), Some(i), "{name}");
        }
        for other in ["host", "content-length", "x-connection", "tE", "keep-alive2"] {
            if let Ok(name) = HeaderName::from_bytes(other.as_bytes()) {
                assert_eq!(hop_by_hop_index(&name), HOP_BY_HOP.iter().position(|h| *h == name), "{other}");
            }
        }
    }
}
