//! Stage 2, credential presented: is there a key, in a place this API
//! accepts, in a well-formed shape, for this gateway's environment?
//!
//! Every check here reads the presented text alone, so its answers
//! disclose nothing about stored keys.

use http::HeaderMap;
use keyway_core::key_format::{self, KeyEnv, ParsedKey};
use keyway_core::model::KeyLocation;
use keyway_core::refusals::CredentialProblem;
use keyway_core::Refusal;

pub use crate::places::QUERY_PARAM;
use crate::places::{query_pairs, query_param, STRAY_HEADERS, STRAY_PARAMS};

/// A well-formed key and where it was found.
#[derive(Debug, Clone)]
pub struct Presented<'a> {
    /// The key text (never logged; only its prefix is).
    pub key: ParsedKey<'a>,
    /// Where it was.
    pub location: KeyLocation,
}

/// Finds the key among the places `accepted`, and checks its form.
pub fn check<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    accepted: &[KeyLocation],
    environment: KeyEnv,
) -> Result<Presented<'a>, Refusal> {
    let mut found: Option<(&'a str, KeyLocation)> = None;
    for &location in accepted {
        let Some(raw) = raw_value(headers, query, location)? else { continue };
        let text = clean(raw, location)?;
        match found {
            Some((other, first)) if other != text => {
                return Err(Refusal::credential_ambiguous(first.describe(), location.describe()))
            }
            Some(_) => {}
            None => found = Some((text, location)),
        }
    }
    let Some((text, location)) = found else {
        return Err(missing_or_misplaced(headers, query, accepted));
    };
    if let Some(other) = second_key_elsewhere(headers, query, accepted, text) {
        return Err(Refusal::credential_ambiguous(location.describe(), &other));
    }
    let key = key_format::parse(text).map_err(|problem| {
        let prefix = safe_prefix(text);
        Refusal::credential_malformed(CredentialProblem::BadFormat {
            place: location.describe(),
            problem: &problem,
            prefix: &prefix,
        })
    })?;
    if key.env != environment {
        return Err(Refusal::key_environment_mismatch(key.display_prefix(), key.env, environment));
    }
    Ok(Presented { key, location })
}

/// The raw value at `location`, if any. `Authorization` with a scheme
/// other than Bearer is malformed when it carries something key-like.
fn raw_value<'a>(headers: &'a HeaderMap, query: Option<&'a str>, location: KeyLocation) -> Result<Option<&'a str>, Refusal> {
    match location {
        KeyLocation::AuthorizationBearer => {
            let Some(v) = header_str(headers, &http::header::AUTHORIZATION)? else { return Ok(None) };
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                if key_format::looks_like_key(v) {
                    return Err(Refusal::credential_malformed(CredentialProblem::NoBearerScheme));
                }
                return Err(Refusal::credential_malformed(CredentialProblem::WrongScheme { scheme }));
            }
            Ok(Some(rest))
        }
        KeyLocation::XApiKey => header_str(headers, &X_API_KEY),
        KeyLocation::Query => Ok(query_param(query, QUERY_PARAM)),
    }
}

/// Rejects the common ways a pasted key gets mangled.
fn clean(raw: &str, location: KeyLocation) -> Result<&str, Refusal> {
    let place = location.describe();
    if raw.is_empty() {
        return Err(Refusal::credential_malformed(CredentialProblem::Empty { place }));
    }
    // One scan decides whether any whitespace check can fire: a pasted
    // key rarely holds any (this runs on every request).
    let spaced = if raw.is_ascii() { raw.bytes().any(is_ascii_space) } else { raw.contains(char::is_whitespace) };
    if spaced && (raw.starts_with(char::is_whitespace) || raw.ends_with(char::is_whitespace) || raw.contains("  ")) {
        return Err(Refusal::credential_malformed(CredentialProblem::StrayWhitespace { place }));
    }
    let bearer_prefix = raw.as_bytes().get(..7).is_some_and(|p| p.eq_ignore_ascii_case(b"bearer "));
    if bearer_prefix || raw.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::credential_malformed(CredentialProblem::DoubledBearer));
    }
    if raw.starts_with(['"', '\'']) || raw.ends_with(['"', '\'']) || raw.starts_with('<') {
        return Err(Refusal::credential_malformed(CredentialProblem::Quoted { place }));
    }
    if spaced {
        return Err(Refusal::credential_malformed(CredentialProblem::InnerWhitespace { place }));
    }
    Ok(raw)
}

/// The ASCII bytes [`char::is_whitespace`] holds: unlike
/// [`u8::is_ascii_whitespace`], also the vertical tab.
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn missing_or_misplaced(headers: &HeaderMap, query: Option<&str>, accepted: &[KeyLocation]) -> Refusal {
    let places: Vec<&str> = accepted.iter().map(|l| l.describe()).collect();
    let accepted_text = places.join(", or ");
    // A key-looking value somewhere this API does not read?
    let mut misplaced: Vec<String> = Vec::new();
    for loc in KeyLocation::DEFAULT.iter().chain([KeyLocation::Query].iter()) {
        if accepted.contains(loc) {
            continue;
        }
        let v = match loc {
            KeyLocation::AuthorizationBearer => {
                headers.get("authorization").and_then(|v| v.to_str().ok()).map(|v| v.split_once(' ').map_or(v, |(_, r)| r))
            }
            KeyLocation::XApiKey => headers.get("x-api-key").and_then(|v| v.to_str().ok()),
            KeyLocation::Query => query_param(query, QUERY_PARAM),
        };
        if v.is_some_and(|v| key_format::looks_like_key(v.trim())) {
            misplaced.push(loc.describe().to_owned());
        }
    }
    for h in STRAY_HEADERS {
        if headers.get(h).and_then(|v| v.to_str().ok()).is_some_and(|v| key_format::looks_like_key(v.trim())) {
            misplaced.push(format!("header {h}"));
        }
    }
    for p in STRAY_PARAMS {
        if query_param(query, p).is_some_and(key_format::looks_like_key) {
            misplaced.push(format!("query parameter {p}"));
        }
    }
    match misplaced.first() {
        Some(place) => Refusal::credential_in_wrong_place(place, &accepted_text),
        None => Refusal::credential_missing(&accepted_text),
    }
}

/// `x-api-key`, parsed once.
static X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

/// The one value of header `name`: repeated with the same value is one
/// credential; with different values, two.
fn header_str<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> Result<Option<&'a str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let name = name.as_str();
    let Some(first) = values.next() else { return Ok(None) };
    let text = |v: &'a http::HeaderValue| {
        v.to_str().map_err(|_| Refusal::credential_malformed(CredentialProblem::NonAscii { header: name }))
    };
    let first = text(first)?;
    for other in values {
        if text(other)? != first {
            let place = format!("the first {name} header");
            return Err(Refusal::credential_ambiguous(&place, &format!("a second {name} header")));
        }
    }
    Ok(Some(first))
}

/// A key-like value in a standard or stray place other than the accepted
/// ones, different from `key`: a second credential.
fn second_key_elsewhere(headers: &HeaderMap, query: Option<&str>, accepted: &[KeyLocation], key: &str) -> Option<String> {
    let differs = |v: &str| {
        let v = v.trim();
        key_format::looks_like_key(v) && v != key
    };
    // One pass over the headers and one over the query: this runs on
    // every admitted request.
    for (name, value) in headers {
        // The name first: most headers are none of these, and their
        // values need no reading.
        let n = name.as_str();
        if !(n == "authorization" || n == "x-api-key" || STRAY_HEADERS.contains(&n)) {
            continue;
        }
        let Ok(v) = value.to_str() else { continue };
        match n {
            "authorization" => {
                let bare = v.split_once(' ').map_or(v, |(_, rest)| rest);
                if differs(bare) || (!accepted.contains(&KeyLocation::AuthorizationBearer) && differs(v)) {
                    return Some(KeyLocation::AuthorizationBearer.describe().to_owned());
                }
            }
            "x-api-key" if differs(v) => return Some(KeyLocation::XApiKey.describe().to_owned()),
            n if STRAY_HEADERS.contains(&n) && differs(v) => return Some(format!("header {n}")),
            _ => {}
        }
    }
    for (name, v) in query_pairs(query) {
        if name == QUERY_PARAM && differs(v) {
            return Some(KeyLocation::Query.describe().to_owned());
        }
        if STRAY_PARAMS.contains(&name.as_ref()) && differs(v) {
            return Some(format!("query parameter {name}"));
        }
    }
    None
}

/// At most the first 12 characters of presented text, for evidence:
/// enough to recognise a key's display prefix, never the secret part.
fn safe_prefix(text: &str) -> String {
    text.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `clean` as it was before its single-scan fast path: the reference
    /// the fast path must agree with on every input.
    fn clean_reference(raw: &str, location: KeyLocation) -> Result<&str, Refusal> {
        let place = location.describe();
        if raw.is_empty() {
            return Err(Refusal::credential_malformed(CredentialProblem::Empty { place }));
        }
        if raw.starts_with(char::is_whitespace) || raw.ends_with(char::is_whitespace) || raw.contains("  ") {
            return Err(Refusal::credential_malformed(CredentialProblem::StrayWhitespace { place }));
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("bearer ") || lower == "bearer" {
            return Err(Refusal::credential_malformed(CredentialProblem::DoubledBearer));
        }
        if raw.starts_with(['"', '\'']) || raw.ends_with(['"', '\'']) || raw.starts_with('<') {
            return Err(Refusal::credential_malformed(CredentialProblem::Quoted { place }));
        }
        if raw.contains(char::is_whitespace) {
            return Err(Refusal::credential_malformed(CredentialProblem::InnerWhitespace { place }));
        }
        Ok(raw)
    }

    fn outcome(r: Result<&str, Refusal>) -> Result<String, (keyway_core::ErrorCode, String, String)> {
        r.map(str::to_owned).map_err(|e| (e.code, e.detail, e.evidence))
    }

    #[test]
    fn ascii_space_is_char_whitespace_on_ascii() {
        for b in 0u8..128 {
            assert_eq!(is_ascii_space(b), char::from(b).is_whitespace(), "byte {b:#04x}");
        }
    }

    #[test]
    fn clean_agrees_with_its_reference() {
        let key = "kw_live_abcDEF123";
        let mut inputs: Vec<String> = vec![
            String::new(),
            key.into(),
            format!(" {key}"),
            format!("{key} "),
            format!("kw_live  x"),
            format!("kw_live\u{0b}x"),
            format!("kw_live\tx"),
            format!("kw_live\u{a0}x"),
            format!("\u{2003}{key}"),
            format!("{key}\u{3000}"),
            format!("Bearer {key}"),
            format!("bEaReR {key}"),
            "bearer".into(),
            "BEARER".into(),
            "bearerx".into(),
            "bearé".into(),
            "béarer x".into(),
            format!("\"{key}\""),
            format!("'{key}"),
            format!("<{key}>"),
            format!("{key}'"),
            "é".into(),
            "kw_é_x y".into(),
        ];
        for c in [' ', '\t', '\u{0b}', '\u{0c}', '\r', '\n', '\u{85}', '\u{a0}', '"', '<', 'é'] {
            for at in [0, 3, key.len()] {
                let mut s = key.to_owned();
                s.insert(at, c);
                inputs.push(s);
            }
        }
        for raw in &inputs {
            for loc in [KeyLocation::AuthorizationBearer, KeyLocation::XApiKey, KeyLocation::Query] {
                assert_eq!(outcome(clean(raw, loc)), outcome(clean_reference(raw, loc)), "{raw:?} at {loc:?}");
            }
        }
    }
}
