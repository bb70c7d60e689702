//! Field checks shared by the resources. Each returns the cleaned value
//! or a 400 naming the field.
//!
//! Each check accepts exactly what the matching schema of `openapi.json`
//! accepts (its `pattern`, `minLength`/`maxLength`, `minimum`/`maximum`,
//! `enum`); `tests/contract.rs` holds the two against each other. Lengths
//! count characters (Unicode code points), as JSON Schema does.

use crate::error::AdminError;
use crate::input::{LimitsIn, QuotaIn, RateLimitIn, ScopeRuleIn, TargetIn, UpstreamIn};
use ipnet::IpNet;
use keyway_core::model::{Limits, Quota, RateLimit, ScopeRule, Target, Upstream};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest display name, label or version accepted.
pub const MAX_NAME: usize = 200;
/// Longest free-text reason accepted.
pub const MAX_REASON: usize = 1000;
/// Most scopes on one key, API or scope rule.
pub const MAX_SCOPES: usize = 100;
/// Longest scope name.
pub const MAX_SCOPE_LEN: usize = 128;
/// Longest email address.
pub const MAX_EMAIL: usize = 254;
/// Longest tenant slug.
pub const MAX_SLUG: usize = 63;
/// Longest API base path.
pub const MAX_BASE_PATH: usize = 512;
/// Longest host name.
pub const MAX_HOST: usize = 253;
/// Most requests a rate limit or quota may allow per period: the largest
/// integer every JSON parser keeps exactly (2^53 - 1).
pub const MAX_REQUESTS: u64 = 9_007_199_254_740_991;
/// Longest rate-limit period: one year.
pub const MAX_RATE_PERIOD_SECONDS: u64 = 366 * 24 * 3600;
/// Most upstream targets of one API.
pub const MAX_TARGETS: usize = 64;
/// Largest upstream target weight.
pub const MAX_WEIGHT: u64 = 1000;
/// Longest upstream timeout accepted: one hour.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Longest upstream URL.
pub const MAX_URL: usize = 2048;
/// Most scope rules per API.
pub const MAX_SCOPE_RULES: usize = 200;
/// Most entries in a key's IP allow list.
pub const MAX_ALLOWED_IPS: usize = 100;

/// The HTTP methods an API may be restricted to, and a scope rule may
/// name. Upper case only: method names are case-sensitive (RFC 9110
/// section 9.1), and `get` is not `GET`. `TRACE` and `CONNECT` are not
/// proxied.
pub const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Whitespace (Unicode `White_Space`) or a control character (`Cc`): the
/// characters that `[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`
/// names in the document's patterns.
pub fn is_blank_or_control(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Whether `c` is whitespace that is not also a control character.
fn is_blank(c: char) -> bool {
    c.is_whitespace() && !c.is_control()
}

/// A required short text: 1 to `max` characters, not only whitespace, no
/// control characters. Returned trimmed.
pub fn text(param: &str, value: &str, max: usize) -> Result<String, AdminError> {
    if value.chars().count() > max {
        return Err(AdminError::invalid(param, format!("{param} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(AdminError::invalid(param, format!("{param} must not contain control characters")));
    }
    if value.chars().all(is_blank) {
        return Err(AdminError::invalid(param, format!("{param} must not be empty or only spaces")));
    }
    Ok(value.trim().to_owned())
}

/// An optional short text, checked like [`text`] when present.
pub fn opt_text(param: &str, value: Option<&str>, max: usize) -> Result<Option<String>, AdminError> {
    value.map(|v| text(param, v, max)).transpose()
}

/// One scope name: 1 to [`MAX_SCOPE_LEN`] characters, no whitespace or
/// control characters.
pub fn scope(param: &str, s: &str) -> Result<(), AdminError> {
    if s.is_empty() || s.chars().count() > MAX_SCOPE_LEN || s.chars().any(is_blank_or_control) {
        return Err(AdminError::invalid(
            param,
            format!("a scope is 1 to {MAX_SCOPE_LEN} characters without spaces, e.g. orders:read"),
        ));
    }
    Ok(())
}

/// A list of at most [`MAX_SCOPES`] scope names (see [`scope`]);
/// duplicates dropped, order kept.
pub fn scopes(param: &str, values: Vec<String>) -> Result<Vec<String>, AdminError> {
    if values.len() > MAX_SCOPES {
        return Err(AdminError::invalid(param, format!("{param} holds more than {MAX_SCOPES} scopes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, s) in values.into_iter().enumerate() {
        scope(&format!("{param}[{i}]"), &s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// A tenant slug: `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn slug(value: &str) -> Result<String, AdminError> {
    let b = value.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_SLUG
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(AdminError::invalid("slug", "slug must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit"))
    }
}

/// An email address, checked loosely: at most [`MAX_EMAIL`] characters,
/// one `@` with something on each side, no whitespace or control
/// characters. Lowercased, so uniqueness ignores case.
pub fn email(value: &str) -> Result<String, AdminError> {
    let ok = value.chars().count() <= MAX_EMAIL
        && !value.chars().any(is_blank_or_control)
        && matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok {
        Ok(value.to_lowercase())
    } else {
        Err(AdminError::invalid("email", "email must look like name@example.com, without spaces"))
    }
}

/// A request rate: 1 to [`MAX_REQUESTS`] requests per 1 s to one year.
pub fn rate_limit(param: &str, rl: RateLimitIn) -> Result<RateLimit, AdminError> {
    if !(1..=MAX_REQUESTS).contains(&rl.requests) {
        return Err(AdminError::invalid(format!("{param}.requests"), format!("{param}.requests must be 1 to {MAX_REQUESTS}")));
    }
    if !(1..=MAX_RATE_PERIOD_SECONDS).contains(&rl.per_seconds) {
        return Err(AdminError::invalid(
            format!("{param}.per_seconds"),
            format!("{param}.per_seconds must be 1 to {MAX_RATE_PERIOD_SECONDS}"),
        ));
    }
    Ok(RateLimit { requests: rl.requests, per_seconds: rl.per_seconds })
}

/// A period quota: 1 to [`MAX_REQUESTS`] requests.
pub fn quota(param: &str, q: QuotaIn) -> Result<Quota, AdminError> {
    if !(1..=MAX_REQUESTS).contains(&q.requests) {
        return Err(AdminError::invalid(format!("{param}.requests"), format!("{param}.requests must be 1 to {MAX_REQUESTS}")));
    }
    Ok(Quota { requests: q.requests, period: q.period })
}

/// Limits of a tenant, app or API; `key_rate_limit` only where `keys` is true (apps).
pub fn limits(param: &str, l: LimitsIn, keys: bool) -> Result<Limits, AdminError> {
    let rate = l.rate_limit.map(|rl| rate_limit(&format!("{param}.rate_limit"), rl)).transpose()?;
    let period_quota = l.quota.map(|q| quota(&format!("{param}.quota"), q)).transpose()?;
    let key_rate = match l.key_rate_limit {
        Some(_) if !keys => {
            return Err(AdminError::invalid(format!("{param}.key_rate_limit"), "key_rate_limit is set on apps only"));
        }
        Some(rl) => Some(rate_limit(&format!("{param}.key_rate_limit"), rl)?),
        None => None,
    };
    Ok(Limits { rate_limit: rate, quota: period_quota, key_rate_limit: key_rate })
}

/// One of [`HTTP_METHODS`].
pub fn http_method(param: &str, m: &str) -> Result<String, AdminError> {
    if HTTP_METHODS.contains(&m) {
        return Ok(m.to_owned());
    }
    let hint = if HTTP_METHODS.iter().any(|known| known.eq_ignore_ascii_case(m)) {
        format!(" (methods are case-sensitive: write {})", m.to_ascii_uppercase())
    } else {
        String::new()
    };
    Err(AdminError::invalid(param, format!("{m:?} is not one of {}{hint}", HTTP_METHODS.join(", "))))
}

/// A list of [`HTTP_METHODS`], duplicates dropped.
pub fn methods(param: &str, list: Vec<String>) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, m) in list.into_iter().enumerate() {
        let m = http_method(&format!("{param}[{i}]"), &m)?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// One path segment of a base path: non-empty, not `.` or `..`, without
/// `/ ? #`, whitespace or control characters.
fn is_plain_segment(seg: &str) -> bool {
    !seg.is_empty() && seg != "." && seg != ".." && !seg.chars().any(|c| matches!(c, '/' | '?' | '#') || is_blank_or_control(c))
}

/// An API base path: `/`, or `/` and segments separated by single `/`,
/// at most [`MAX_BASE_PATH`] characters, each segment as
/// [`is_plain_segment`] says; a trailing `/` is allowed and dropped
/// (`/orders/v1/` becomes `/orders/v1`).
pub fn base_path(p: &str) -> Result<String, AdminError> {
    let bad = |why: &str| AdminError::invalid("base_path", format!("base_path {why}, e.g. /orders/v1"));
    let Some(rest) = p.strip_prefix('/') else {
        return Err(bad("must start with /"));
    };
    if p.chars().count() > MAX_BASE_PATH {
        return Err(bad(&format!("is longer than {MAX_BASE_PATH} characters")));
    }
    if p.contains(['?', '#']) {
        return Err(bad("must not hold a query (?) or fragment (#)"));
    }
    if p.chars().any(is_blank_or_control) {
        return Err(bad("must not hold spaces or control characters"));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if !rest.is_empty() {
        for seg in rest.split('/') {
            if seg.is_empty() {
                return Err(bad("must not hold an empty segment (//)"));
            }
            if !is_plain_segment(seg) {
                return Err(bad("must not hold . or .. segments"));
            }
        }
    } else if p.len() > 1 {
        return Err(bad("must not hold an empty segment (//)"));
    }
    Ok(keyway_pipeline::snapshot::normalize_base_path(p))
}

/// A DNS label: 1 to 63 of `A-Z a-z 0-9 -`, not starting or ending with `-`.
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A host name: dot-separated labels (see [`is_label`]), at most
/// [`MAX_HOST`] characters, no scheme, port or spaces. Lowercased.
pub fn host(h: &str) -> Result<String, AdminError> {
    if h.len() <= MAX_HOST && h.split('.').all(is_label) {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(AdminError::invalid("host", "host must be a host name without scheme, port or spaces, e.g. api.example.com"))
    }
}

/// An IPv4 address in the only form std (and JSON Schema's `ipv4`)
/// accept: four decimal octets, no leading zeros.
fn ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// An IPv6 address as std (and JSON Schema's `ipv6`) accept it, no zone.
fn ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// A CIDR prefix length: decimal, no sign and no leading zeros, at most `max`.
fn prefix_len(s: &str, max: u8) -> Option<u8> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')) && s.len() <= 3;
    ok.then(|| s.parse::<u8>().ok()).flatten().filter(|n| *n <= max)
}

/// One allow-list entry: an IPv4 or IPv6 address (one address, /32 or
/// /128), or one with a prefix length (`10.0.0.0/8`, `2001:db8::/32`).
pub fn allowed_ip(param: &str, s: &str) -> Result<IpNet, AdminError> {
    let net = match s.split_once('/') {
        None => ipv4(s).map(IpAddr::V4).or_else(|| ipv6(s).map(IpAddr::V6)).map(IpNet::from),
        Some((addr, len)) => match (ipv4(addr), ipv6(addr)) {
            (Some(a), _) => prefix_len(len, 32).and_then(|n| IpNet::new(IpAddr::V4(a), n).ok()),
            (_, Some(a)) => prefix_len(len, 128).and_then(|n| IpNet::new(IpAddr::V6(a), n).ok()),
            _ => None,
        },
    };
    net.ok_or_else(|| {
        AdminError::invalid(param, format!("{s:?} is not an IP address or CIDR, e.g. 203.0.113.0/24 or 2001:db8::1"))
    })
}

/// An allow list: at most [`MAX_ALLOWED_IPS`] entries (see
/// [`allowed_ip`]), duplicates dropped.
pub fn allowed_ips(entries: Vec<String>) -> Result<Vec<IpNet>, AdminError> {
    if entries.len() > MAX_ALLOWED_IPS {
        return Err(AdminError::invalid("allowed_ips", format!("at most {MAX_ALLOWED_IPS} entries")));
    }
    let mut out: Vec<IpNet> = Vec::with_capacity(entries.len());
    for (i, s) in entries.iter().enumerate() {
        let net = allowed_ip(&format!("allowed_ips[{i}]"), s)?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

/// A decimal TCP port, 0 to 65535, no leading zeros.
fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.parse::<u16>().is_ok()
}

/// An upstream URL of at most [`MAX_URL`] characters: `http://` or
/// `https://` (lower case), a host (a name of `A-Z a-z 0-9 . -`, or an
/// IPv6 address in brackets), an optional port, an optional path of
/// RFC 3986 path characters; no credentials, query or fragment.
pub fn target_url(url: &str) -> Result<(), &'static str> {
    if url.chars().count() > MAX_URL {
        return Err("is longer than 2048 characters");
    }
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return Err("must start with http:// or https://");
    };
    if url.contains(['?', '#']) {
        return Err("must not hold a query or fragment");
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.contains('@') {
        return Err("must not hold credentials");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or("has an unclosed [")?;
        if ipv6(addr).is_none() {
            return Err("has an invalid IPv6 address");
        }
        match after {
            "" => (addr, None),
            p => (addr, Some(p.strip_prefix(':').ok_or("has an invalid host")?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host");
    }
    if !authority.starts_with('[') && !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err("has an invalid host");
    }
    if port.is_some_and(|p| !is_port(p)) {
        return Err("has an invalid port (0 to 65535)");
    }
    let path_ok = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%/".contains(&b));
    if !path_ok {
        return Err("has characters a URL path cannot hold (spaces, quotes, non-ASCII...)");
    }
    // Every URL of this grammar is one the proxy can build requests from.
    url.parse::<http::Uri>().map(|_| ()).map_err(|_| "is not a valid URL")
}

/// Targets: 1 to [`MAX_TARGETS`], each URL as [`target_url`] says,
/// weights 1 to [`MAX_WEIGHT`]; timeout 1 to [`MAX_TIMEOUT_MS`] ms or none.
pub fn upstream(u: UpstreamIn) -> Result<Upstream, AdminError> {
    if u.targets.is_empty() {
        return Err(AdminError::invalid("upstream.targets", "upstream.targets must hold at least one target"));
    }
    if u.targets.len() > MAX_TARGETS {
        return Err(AdminError::invalid("upstream.targets", format!("at most {MAX_TARGETS} targets")));
    }
    let mut targets = Vec::with_capacity(u.targets.len());
    for (i, TargetIn { url, weight }) in u.targets.into_iter().enumerate() {
        target_url(&url).map_err(|why| {
            AdminError::invalid(format!("upstream.targets[{i}].url"), format!("{url:?} {why}, e.g. http://orders.internal:8080"))
        })?;
        let weight = u32::try_from(weight).ok().filter(|w| (1..=MAX_WEIGHT).contains(&u64::from(*w))).ok_or_else(|| {
            AdminError::invalid(format!("upstream.targets[{i}].weight"), format!("weight must be 1 to {MAX_WEIGHT}"))
        })?;
        targets.push(Target { url, weight });
    }
    if let Some(ms) = u.timeout_ms {
        if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
            return Err(AdminError::invalid("upstream.timeout_ms", format!("upstream.timeout_ms must be 1 to {MAX_TIMEOUT_MS}")));
        }
    }
    Ok(Upstream { targets, strip_base_path: u.strip_base_path, timeout_ms: u.timeout_ms })
}

/// One segment of a scope-rule pattern: non-empty, without `/ ? #`,
/// whitespace or control characters.
fn is_pattern_segment(seg: &str) -> bool {
    !seg.is_empty() && !seg.chars().any(|c| matches!(c, '/' | '?' | '#') || is_blank_or_control(c))
}

/// A scope-rule path pattern: `/`, or `/` and segments (see
/// [`is_pattern_segment`]) separated by single `/`, with `**` only as the
/// last segment; a trailing `/` is allowed.
pub fn scope_rule_path(param: &str, path: &str) -> Result<(), AdminError> {
    let bad = || {
        AdminError::invalid(
            param,
            "a path pattern starts with /, has no empty segments, spaces, ? or #, and uses ** only as its last segment",
        )
    };
    let rest = path.strip_prefix('/').ok_or_else(bad)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return if path == "/" { Ok(()) } else { Err(bad()) };
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        if !is_pattern_segment(seg) || (*seg == "**" && i != last) {
            return Err(bad());
        }
    }
    Ok(())
}

/// Scope rules: at most [`MAX_SCOPE_RULES`], each with an optional method
/// of [`HTTP_METHODS`], a path as [`scope_rule_path`] says and 1 to
/// [`MAX_SCOPES`] scopes.
pub fn scope_rules(rules: Vec<ScopeRuleIn>) -> Result<Vec<ScopeRule>, AdminError> {
    if rules.len() > MAX_SCOPE_RULES {
        return Err(AdminError::invalid("scope_rules", format!("at most {MAX_SCOPE_RULES} scope rules")));
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let method = r.method.map(|m| http_method(&format!("scope_rules[{i}].method"), &m)).transpose()?;
            scope_rule_path(&format!("scope_rules[{i}].path"), &r.path)?;
            let scopes = scopes(&format!("scope_rules[{i}].scopes"), r.scopes)?;
            if scopes.is_empty() {
                return Err(AdminError::invalid(format!("scope_rules[{i}].scopes"), "a scope rule names at least one scope"));
            }
            Ok(ScopeRule { method, path: r.path, scopes })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["a", "acme", "0-team", "a-b-c", &"a".repeat(63)] {
            assert!(slug(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "Acme", "a_b", "a b", "é", &"a".repeat(64)] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email("Ops@Acme.test").ok().as_deref(), Some("ops@acme.test"));
        for bad in ["", "a", "@a", "a@", "a@@b", "a@b@c", "a b@c", "a@b\tc", " a@b", "a@b ", "a@b\u{a0}"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_lists() {
        assert_eq!(scopes("s", vec!["a".into(), "b".into(), "a".into()]).ok(), Some(vec!["a".into(), "b".into()]));
        let Err(AdminError::RequestInvalid { param, .. }) = scopes("s", vec!["a".into(), "b c".into()]) else {
            panic!("expected a 400");
        };
        assert_eq!(param.as_deref(), Some("s[1]"));
        assert!(scope("s", &"é".repeat(MAX_SCOPE_LEN)).is_ok(), "lengths count characters, not bytes");
    }

    #[test]
    fn texts() {
        assert_eq!(text("name", "  Acme ", 10).ok().as_deref(), Some("Acme"));
        assert!(text("name", "", 10).is_err());
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "\u{3000}", 10).is_err());
        assert!(text("name", "abcdefghijk", 10).is_err());
        assert!(text("name", "    abcdefg", 10).is_err(), "the length is of the text as sent");
        assert!(text("name", "a\u{0}b", 10).is_err());
        assert!(text("name", "a\u{85}b", 10).is_err());
        assert_eq!(text("name", "ééé", 3).ok().as_deref(), Some("ééé"));
    }

    #[test]
    fn blank_or_control_is_the_class_the_document_names() {
        let class = |c: char| matches!(c as u32, 0x0000..=0x0020 | 0x007f..=0x00a0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f | 0x205f | 0x3000);
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(is_blank_or_control(c), class(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn methods_are_an_upper_case_enum() {
        assert!(methods("m", vec!["GET".into(), "POST".into(), "GET".into()]).is_ok_and(|m| m == ["GET", "POST"]));
        for bad in ["get", "TRACE", "CONNECT", "XICQWXYCOUDZI", "", "GET "] {
            assert!(http_method("m", bad).is_err(), "{bad}");
        }
        let Err(e) = http_method("m", "get") else { panic!("expected a 400") };
        assert!(e.to_string().contains("case-sensitive"), "{e}");
    }

    #[test]
    fn base_paths_are_checked_and_normalized() {
        assert_eq!(base_path("/orders/v1/").ok().as_deref(), Some("/orders/v1"));
        assert_eq!(base_path("/").ok().as_deref(), Some("/"));
        assert_eq!(base_path("/.well-known/..x").ok().as_deref(), Some("/.well-known/..x"));
        for bad in ["orders", "/a//b", "//", "/a?x=1", "/a#f", "/a b", "/a/../b", "/.", "/a/./", ""] {
            assert!(base_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn target_urls() {
        for good in ["http://orders.internal:8080", "https://10.0.0.1/prefix", "http://[::1]:80/a", "http://x/a%20b/"] {
            assert!(target_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x",
            "orders.internal",
            "http://",
            "http://u:p@x",
            "http://x/?q=1",
            "http://x/#f",
            "/x",
            "HTTP://x",
            "http://x:65536",
            "http://x:080",
            "http://[::g]/",
            "http://x/a b",
            "http://x/é",
        ] {
            assert!(target_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(host("API.Example.com").ok().as_deref(), Some("api.example.com"));
        for bad in ["", "a..b", "a:80", "http://a", "-a.b", "a b", " a.b", "a.b."] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_lists_take_cidrs_and_bare_ips() {
        let nets = allowed_ips(vec!["10.0.0.0/8".into(), "203.0.113.7".into(), "2001:db8::1".into()]).unwrap();
        assert_eq!(nets[1].to_string(), "203.0.113.7/32");
        assert_eq!(nets[2].to_string(), "2001:db8::1/128");
        let Err(AdminError::RequestInvalid { param, .. }) = allowed_ips(vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()]) else {
            panic!("expected a 400");
        };
        assert_eq!(param.as_deref(), Some("allowed_ips[1]"));
        for bad in ["example.com", "10.0.0.0/08", "10.0.0.0/+8", "010.0.0.1", "::1/129", "::1/", "/8", "10.0.0.0/8/8"] {
            assert!(allowed_ip("ip", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_rule_paths() {
        for good in ["/", "/items", "/items/*", "/items/**", "/**", "/a/**/", "/*x*/b"] {
            assert!(scope_rule_path("p", good).is_ok(), "{good}");
        }
        for bad in ["", "items", "//", "/a//b", "/**/a", "/a?b", "/a#b", "/a b", " /a"] {
            assert!(scope_rule_path("p", bad).is_err(), "{bad}");
        }
    }
}
