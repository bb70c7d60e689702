//! Every place in a request where a credential may be: the ones an API
//! can accept (`Authorization: Bearer`, `x-api-key`, the `api_key` query
//! parameter) and the ones callers use by mistake. Stage 2 reads them to
//! find the credential and to spot a second, different one; the gateway
//! strips them all before a request goes upstream, whichever the API
//! accepts, so no credential ever reaches an upstream.

use http::header::HeaderName;
use http::HeaderMap;
use keyway_core::key_format;
use std::borrow::Cow;

/// Query parameter that carries a key when the API opts in.
pub const QUERY_PARAM: &str = "api_key";

/// Headers where callers often put keys by mistake.
pub const STRAY_HEADERS: [&str; 6] = ["api-key", "apikey", "x-api-token", "x-auth-token", "x-access-token", "x-key"];
/// Query parameters where callers often put keys by mistake.
pub const STRAY_PARAMS: [&str; 5] = ["key", "apikey", "api-key", "access_token", "token"];

/// Headers that are always removed before forwarding, whatever they hold
/// (built once: a `&str` name is parsed at every use): the key and token
/// places, and an RFC 9421 signature's headers.
pub const ALWAYS_STRIPPED_HEADERS: [HeaderName; 4] = [
    http::header::AUTHORIZATION,
    HeaderName::from_static("x-api-key"),
    HeaderName::from_static("signature"),
    HeaderName::from_static("signature-input"),
];

/// Every `name=value` pair of a query string, names percent-decoded
/// (values as sent: keys are base62 and never need encoding).
pub fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
    query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_name(k), v)
    })
}

/// Every value of the query parameter `name`.
pub fn query_values<'a>(query: Option<&'a str>, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    query_pairs(query).filter(move |(k, _)| k == name).map(|(_, v)| v)
}

/// The first value of the query parameter `name`.
pub fn query_param<'a>(query: Option<&'a str>, name: &'a str) -> Option<&'a str> {
    query_values(query, name).next()
}

fn decode_name(name: &str) -> Cow<'_, str> {
    if !name.contains(['%', '+']) {
        return Cow::Borrowed(name);
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], crate::percent::escape_at(&bytes[i..])) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Whether a query pair must not reach the upstream: the `api_key`
/// parameter always, a stray parameter when it holds a key.
fn is_credential_pair(name: &str, value: &str) -> bool {
    name == QUERY_PARAM || (STRAY_PARAMS.contains(&name) && key_format::looks_like_key(value))
}

/// `query` without any credential parameter; borrowed when there is none.
pub fn strip_query(query: &str) -> Cow<'_, str> {
    let mut pairs = query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (pair, is_credential_pair(&decode_name(k), v))
    });
    if !pairs.clone().any(|(_, strip)| strip) {
        return Cow::Borrowed(query);
    }
    let kept: Vec<&str> = pairs.by_ref().filter(|(_, strip)| !strip).map(|(p, _)| p).collect();
    Cow::Owned(kept.join("&"))
}

/// Removes every credential header: `Authorization`, `x-api-key`,
/// `Signature` and `Signature-Input` always, a stray header when it holds
/// a key.
pub fn strip_headers(headers: &mut HeaderMap) {
    // One pass finds what there is to remove (usually the authorization
    // header alone; stray keys rarely), then only that is removed.
    let holds_key = |v: &http::HeaderValue| v.to_str().is_ok_and(|v| key_format::looks_like_key(v.trim()));
    let mut always = [false; 4];
    let mut stray = false;
    for (n, v) in headers.iter() {
        match n.as_str() {
            "authorization" => always[0] = true,
            "x-api-key" => always[1] = true,
            "signature" => always[2] = true,
            "signature-input" => always[3] = true,
            n if STRAY_HEADERS.contains(&n) => stray |= holds_key(v),
            _ => {}
        }
    }
    for (name, _) in ALWAYS_STRIPPED_HEADERS.iter().zip(always).filter(|(_, here)| *here) {
        headers.remove(name);
    }
    if !stray {
        return;
    }
    for name in STRAY_HEADERS {
        if headers.get_all(name).iter().any(holds_key) {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_strip_headers_matches_are_the_always_stripped_ones() {
        let names: Vec<String> = ALWAYS_STRIPPED_HEADERS.iter().map(|n| n.as_str().to_owned()).collect();
        assert_eq!(names, ["authorization", "x-api-key", "signature", "signature-input"]);
    }

    #[test]
    fn only_credential_parameters_leave_the_query() {
        assert_eq!(strip_query("a=1&api_key=kw_x&b=2"), "a=1&b=2");
        assert_eq!(strip_query("api_key=kw_x"), "");
        assert_eq!(strip_query("api%5Fkey=kw_x&z"), "z");
        assert_eq!(strip_query("token=kw_live_abc&token=other"), "token=other");
        assert!(matches!(strip_query("a=1&b=2"), Cow::Borrowed("a=1&b=2")));
    }

    #[test]
    fn query_names_are_decoded() {
        assert_eq!(query_param(Some("x=1&api%5fkey=k"), "api_key"), Some("k"));
        assert_eq!(query_values(Some("api_key=a&api_key=b"), "api_key").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(query_param(Some("%=1&%4=2&api_key=k"), "api_key"), Some("k"));
    }

    #[test]
    fn credential_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        h.insert("x-api-key", "whatever".parse().unwrap());
        h.insert("apikey", "kw_live_xyz".parse().unwrap());
        h.insert("x-key", "not-a-key".parse().unwrap());
        strip_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-key"));
    }
}
