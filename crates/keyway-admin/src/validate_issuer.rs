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
