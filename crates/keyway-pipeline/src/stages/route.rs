//! Stage 1, route: which published API serves this host and path.

use crate::snapshot::{ApiEntry, Snapshot};
use keyway_core::model::ApiStatus;
use keyway_core::refusals::NoRoute;
use keyway_core::Refusal;
use std::sync::Arc;

/// Finds the API with the longest base path that is a whole-segment
/// prefix of `path`, preferring one bound to `host`, then checks its
/// lifecycle status and method.
pub fn check(snapshot: &Snapshot, host: Option<&str>, method: &str, path: &str) -> Result<Arc<ApiEntry>, Refusal> {
    if has_dot_segment(path) {
        // `/orders/v1/../admin` must not climb out of an API's base path
        // once the base path is stripped; such paths are never routed.
        return Err(Refusal::route_not_found(path, NoRoute::DotSegment));
    }
    let Some(entry) = longest_match(snapshot, host, path) else {
        return Err(Refusal::route_not_found(path, NoRoute::NoApi));
    };
    let api = &entry.api;
    if api.status == ApiStatus::Retired {
        return Err(Refusal::api_retired(api, snapshot.successor(api).map(|s| &s.api)));
    }
    if !api.methods.is_empty() && !api.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
        return Err(Refusal::method_not_allowed(api, method, path));
    }
    Ok(entry)
}

/// True when a segment is `.` or `..`, also percent-encoded (`%2e`), or
/// would become one if an upstream decoded an encoded slash or backslash
/// in it (`..%2f`, `%2e%2e%5c`): such a path could climb out of the
/// upstream's base once decoded.
fn has_dot_segment(path: &str) -> bool {
    // Every form needs a `.` or a `%`: most paths have neither.
    if !path.bytes().any(|b| b == b'.' || b == b'%') {
        return false;
    }
    path.split('/').any(|seg| pieces(seg).any(is_dot_segment))
}

/// A segment split at `%2F` / `%5C` (either case), without allocating.
fn pieces(seg: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(seg);
    std::iter::from_fn(move || {
        let s = rest?;
        let b = s.as_bytes();
        let cut = (0..b.len().saturating_sub(2))
            .find(|&i| b[i] == b'%' && matches!((b[i + 1], b[i + 2]), (b'2', b'f' | b'F') | (b'5', b'c' | b'C')));
        match cut {
            Some(i) => {
                rest = Some(&s[i + 3..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// `.` or `..`, each dot plain or as `%2e` / `%2E`; checked without
/// allocating, as this runs on every request.
fn is_dot_segment(seg: &str) -> bool {
    let mut rest = seg.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

fn longest_match(snapshot: &Snapshot, host: Option<&str>, path: &str) -> Option<Arc<ApiEntry>> {
    let path = if path.is_empty() { "/" } else { path };
    // Hosts are stored lowercased; compare without the port, case-insensitively.
    let host = host.map(|h| h.split(':').next().unwrap_or(h));
    // Candidate prefixes at segment boundaries, longest first, in the
    // normalized form routes are keyed by (no trailing slash; `/` itself).
    let mut end = path.len();
    loop {
        let trimmed = path[..end].trim_end_matches('/');
        let key = if trimmed.is_empty() { "/" } else { trimmed };
        if let Some(list) = snapshot.routes.get(key) {
            let bound =
                list.iter().find(|e| e.api.host.as_deref().is_some_and(|h| host.is_some_and(|x| x.eq_ignore_ascii_case(h))));
            let any = list.iter().find(|e| e.api.host.is_none());
            if let Some(e) = bound.or(any) {
                return Some(e.clone());
            }
        }
        if end == 0 {
            return None;
        }
        end = path[..end].rfind('/')?;
    }
}

#[cfg(test)]
mod tests {
    use super::has_dot_segment;

    #[test]
    fn dot_segments_are_spotted_plain_and_encoded() {
        for p in ["/a/../b", "/a/./b", "/a/..", "/a/%2e%2E/b", "/a/%2e/b", "/a/.%2e/b", "/a/%2E./b"] {
            assert!(has_dot_segment(p), "{p}");
        }
        for p in ["/a/..%2fb", "/a/%2e%2e%5Cb", "/a/x%2F..%2Fy", "/a/..%5c"] {
            assert!(has_dot_segment(p), "{p}");
        }
        for p in [
            "/a/b",
            "/plain/path/without/either",
            "/a/..b/c",
            "/a/.well-known/x",
            "/",
            "/a/.../b",
            "/a/%2/b",
            "/a/%2f/b",
            "/a/%2e%2e%2e/b",
            "/a/b%2fc",
        ] {
            assert!(!has_dot_segment(p), "{p}");
        }
    }
}
