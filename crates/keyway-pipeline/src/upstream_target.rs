//! An upstream target as the request path uses it: its URL taken apart
//! once, when the snapshot is built, so no request parses it again.

use http::HeaderValue;
use std::fmt;
use std::sync::Arc;

/// Where a target is: scheme, authority, `Host` value and base path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetOrigin {
    /// `https`: the hop is TLS.
    pub tls: bool,
    /// `host:port` as written in the URL (port omitted when it was).
    pub authority: Box<str>,
    /// Host name or IP literal, without brackets.
    pub host: Box<str>,
    /// The port, the scheme's default when the URL names none.
    pub port: u16,
    /// The `Host` header the upstream receives.
    pub host_header: HeaderValue,
    /// Path prefix of every forwarded path, without a trailing slash
    /// (empty when the URL has no path).
    pub base_path: Box<str>,
}

/// One upstream target of an API.
#[derive(Debug)]
pub struct UpstreamTarget {
    /// The base URL as configured, trailing slash trimmed (what traces,
    /// errors and logs show).
    pub url: Arc<str>,
    /// The URL taken apart, or why it could not be (URLs are validated
    /// when an API is written, so this is an error only for data written
    /// around the admin API).
    pub origin: Result<TargetOrigin, String>,
}

impl UpstreamTarget {
    /// Takes `url` apart.
    pub fn new(url: &str) -> Self {
        let url = url.trim_end_matches('/');
        Self { url: url.into(), origin: parse(url) }
    }
}

impl fmt::Display for UpstreamTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

fn parse(url: &str) -> Result<TargetOrigin, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(format!("{url:?} is not an http:// or https:// URL")),
    };
    let authority = uri.authority().ok_or_else(|| format!("{url:?} names no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!("{url:?} carries user information"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host_header = HeaderValue::from_str(authority.as_str()).map_err(|e| format!("{url:?}: {e}"))?;
    if uri.query().is_some() {
        return Err(format!("{url:?} carries a query"));
    }
    Ok(TargetOrigin {
        tls,
        authority: authority.as_str().into(),
        host: host.into(),
        port,
        host_header,
        base_path: uri.path().trim_end_matches('/').into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_taken_apart() {
        let t = UpstreamTarget::new("http://orders.internal:8080/base/");
        assert_eq!(&*t.url, "http://orders.internal:8080/base");
        let o = t.origin.unwrap();
        assert!(!o.tls);
        assert_eq!((&*o.authority, &*o.host, o.port, &*o.base_path), ("orders.internal:8080", "orders.internal", 8080, "/base"));
        assert_eq!(o.host_header, "orders.internal:8080");

        let o = UpstreamTarget::new("https://[::1]").origin.unwrap();
        assert!(o.tls);
        assert_eq!((&*o.host, o.port, &*o.base_path), ("::1", 443, ""));
        assert_eq!(o.host_header, "[::1]");
        assert_eq!(UpstreamTarget::new("http://a").origin.unwrap().port, 80);
    }

    #[test]
    fn bad_urls_say_why() {
        assert!(UpstreamTarget::new("ftp://a").origin.unwrap_err().contains("http://"));
        assert!(UpstreamTarget::new("not a url").origin.is_err());
        assert!(UpstreamTarget::new("http://u:p@a").origin.unwrap_err().contains("user information"));
    }
}
