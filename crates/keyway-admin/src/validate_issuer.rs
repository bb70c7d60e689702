//! Field checks of trusted JWT issuers and of apps' `token_subjects`.
//! Whatever passes here builds into a verifying issuer: the whole record
//! is handed to `keyway-credentials` once, as the gateway's snapshot will.

use crate::error::AdminError;
use crate::validate::{self, MAX_NAME, MAX_URL};
use keyway_core::issuers::JwtIssuer;
use keyway_credentials::jwt::{Alg, Issuer, IssuerError};
use keyway_pipeline::jwt_index::config_of;

/// Largest `leeway_seconds`: one day.
pub const MAX_LEEWAY_SECONDS: u64 = 86_400;
/// Most audiences of one issuer.
pub const MAX_AUDIENCES: usize = 100;
/// Longest claim name (`subject_claim`, `scopes_claim`).
pub const MAX_CLAIM: usize = 128;
/// Most keys of an inline JWKS.
pub const MAX_JWKS_KEYS: usize = 100;
/// Most token subjects of one app.
pub const MAX_TOKEN_SUBJECTS: usize = 100;
/// Longest token subject.
pub const MAX_TOKEN_SUBJECT: usize = 256;
/// The algorithm names an issuer may allow, as RFC 7518 spells them.
pub fn algorithm_names() -> Vec<&'static str> {
    Alg::ALL.iter().map(|a| a.name()).collect()
}

/// `algorithms`: a non-empty list of supported names, duplicates dropped.
pub fn algorithms(list: &[String]) -> Result<Vec<String>, AdminError> {
    if list.is_empty() {
        return Err(AdminError::invalid("algorithms", "algorithms must name at least one algorithm, e.g. [\"RS256\"]"));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, name) in list.iter().enumerate() {
        if Alg::from_name(name).is_none() {
            return Err(AdminError::invalid(
                format!("algorithms[{i}]"),
                format!("algorithm {name:?} is not supported; use one of {}", algorithm_names().join(", ")),
            ));
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// `audiences`: at most [`MAX_AUDIENCES`] texts, duplicates dropped.
pub fn audiences(list: &[String]) -> Result<Vec<String>, AdminError> {
    if list.len() > MAX_AUDIENCES {
        return Err(AdminError::invalid("audiences", format!("at most {MAX_AUDIENCES} audiences")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let a = validate::text(&format!("audiences[{i}]"), a, MAX_URL)?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// `leeway_seconds`: 0 to [`MAX_LEEWAY_SECONDS`].
pub fn leeway(seconds: u64) -> Result<u64, AdminError> {
    if seconds > MAX_LEEWAY_SECONDS {
        return Err(AdminError::invalid("leeway_seconds", format!("leeway_seconds must be 0 to {MAX_LEEWAY_SECONDS}")));
    }
    Ok(seconds)
}

/// A claim name (`subject_claim`, `scopes_claim`).
pub fn claim(param: &str, name: &str) -> Result<String, AdminError> {
    validate::text(param, name, MAX_CLAIM)
}

/// `issuer`, the exact `iss` its tokens carry.
pub fn issuer_text(value: &str) -> Result<String, AdminError> {
    validate::text("issuer", value, MAX_URL)
}

/// `name`.
pub fn name(value: &str) -> Result<String, AdminError> {
    validate::text("name", value, MAX_NAME)
}

/// Checks that `record` builds into a verifying issuer: exactly one of
/// `jwks_url` (an absolute http(s) URL) and `jwks` (a key set with at
/// least one usable key), and algorithms it can verify.
pub fn builds(record: &JwtIssuer) -> Result<(), AdminError> {
    let keys = record.jwks.as_ref().and_then(|j| j.get("keys")).and_then(serde_json::Value::as_array);
    if keys.is_some_and(|k| k.len() > MAX_JWKS_KEYS) {
        return Err(AdminError::invalid("jwks", format!("a JWKS holds at most {MAX_JWKS_KEYS} keys")));
    }
    for (i, key) in keys.into_iter().flatten().enumerate() {
        jwk(i, key)?;
    }
    if let Some(url) = &record.jwks_url {
        validate::target_url(url).map_err(|why| AdminError::invalid("jwks_url", format!("jwks_url {url:?} {why}")))?;
    }
    Issuer::new(&config_of(record)).map(|_| ()).map_err(|e| {
        let param = match &e {
            IssuerError::NoIssuer => "issuer",
            IssuerError::NoAlgorithms | IssuerError::UnsupportedAlgorithm(_) => "algorithms",
            IssuerError::KeySource => "jwks_url",
            IssuerError::BadJwksUrl(_) => "jwks_url",
            IssuerError::Jwks(_) | IssuerError::NoUsableKeys => "jwks",
        };
        AdminError::invalid(param, e.to_string())
    })
}

/// The JWK members read, with the longest value each may have; the
/// key-material ones are base64url.
const MEMBERS: [(&str, usize, bool); 10] = [
    ("kty", usize::MAX, false),
    ("kid", 256, false),
    ("use", usize::MAX, false),
    ("alg", 16, false),
    ("crv", usize::MAX, false),
    ("n", 2048, true),
    ("e", 2048, true),
    ("x", 2048, true),
    ("y", 2048, true),
    ("k", 2048, true),
];

/// One key of an inline JWKS, as the `Jwk` schema of `openapi.json` says:
/// an object whose known members are strings (key material canonical
/// base64url without padding), `use` only `sig`, and the members its
/// `kty` needs (RSA `n`, `e`; EC `crv` P-256 or P-384, `x`, `y`; OKP `crv`
/// Ed25519, `x`; oct `k`).
fn jwk(i: usize, key: &serde_json::Value) -> Result<(), AdminError> {
    let param = || format!("jwks.keys[{i}]");
    let Some(obj) = key.as_object() else {
        return Err(AdminError::invalid(param(), "a JWK is a JSON object"));
    };
    for (name, max, material) in MEMBERS {
        let Some(v) = obj.get(name) else { continue };
        let text = v.as_str().ok_or_else(|| AdminError::invalid(format!("{}.{name}", param()), format!("{name} is a string")))?;
        let fine = text.chars().count() <= max && (!material || is_base64url(text));
        if !fine {
            let what = if material { "canonical base64url without padding, 2 to 2048 characters" } else { "too long" };
            return Err(AdminError::invalid(format!("{}.{name}", param()), format!("{name}: {what}")));
        }
    }
    let text = |name: &str| obj.get(name).and_then(serde_json::Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return Err(AdminError::invalid(format!("{}.use", param()), "use, if given, is sig: only signing keys verify tokens"));
    }
    let needs: &[&str] = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => &["n", "e"],
        (Some("EC"), Some("P-256" | "P-384")) => &["x", "y"],
        (Some("OKP"), Some("Ed25519")) => &["x"],
        (Some("oct"), _) => &["k"],
        _ => return Err(AdminError::invalid(param(), "kty must be RSA, EC (crv P-256 or P-384), OKP (crv Ed25519) or oct")),
    };
    match needs.iter().find(|m| !obj.contains_key(**m)) {
        Some(m) => Err(AdminError::invalid(param(), format!("this key type needs {m}"))),
        None => Ok(()),
    }
}

/// Unpadded base64url whose unused trailing bits are zero (what the
/// decoder accepts), at least 2 characters.
fn is_base64url(text: &str) -> bool {
    let value = |b: u8| match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() < 2 || !bytes.iter().all(|b| value(*b).is_some()) {
        return false;
    }
    let last = bytes.last().and_then(|b| value(*b)).unwrap_or(0);
    match bytes.len() % 4 {
        1 => false,
        2 => last.is_multiple_of(16),
        3 => last.is_multiple_of(4),
        _ => true,
    }
}

/// `token_subjects`: at most [`MAX_TOKEN_SUBJECTS`] texts of 1 to
/// [`MAX_TOKEN_SUBJECT`] characters, duplicates dropped.
pub fn token_subjects(list: &[String]) -> Result<Vec<String>, AdminError> {
    if list.len() > MAX_TOKEN_SUBJECTS {
        return Err(AdminError::invalid("token_subjects", format!("at most {MAX_TOKEN_SUBJECTS} token subjects")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let s = validate::text(&format!("token_subjects[{i}]"), s, MAX_TOKEN_SUBJECT)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}
