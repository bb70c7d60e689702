//! An issuer's admin record (`POST /admin/v1/tenants/{id}/issuers`) and
//! what can be wrong with it.

use super::algorithm::Alg;
use super::keys::JwksError;
use serde::Deserialize;
use std::fmt;

/// A trusted issuer as the admin API stores it. Its `Debug` shows how
/// many inline keys there are, never the keys (an `oct` key is a secret).
#[derive(Clone, Deserialize, PartialEq)]
pub struct IssuerConfig {
    /// The exact `iss` its tokens carry.
    pub issuer: String,
    /// Where its JWKS is published (exclusive with `jwks`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// An inline JWKS, `{"keys": [..]}` (exclusive with `jwks_url`).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Allowed `alg` names: HS256/384/512, RS256/384/512, PS256, ES256/384, EdDSA.
    pub algorithms: Vec<String>,
    /// Accepted `aud` values; empty accepts any audience.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Clock leeway for `exp`, `nbf` and `iat`, seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// The claim naming the app (`sub`).
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// The claim holding space-separated scopes (`scope`); `scp` (an array
    /// or a string) is read when it is absent.
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// Whether a token without `exp` is refused (default true).
    #[serde(default = "default_true")]
    pub require_exp: bool,
}

fn default_leeway() -> u64 {
    60
}

fn default_subject_claim() -> String {
    "sub".to_owned()
}

fn default_scopes_claim() -> String {
    "scope".to_owned()
}

fn default_true() -> bool {
    true
}

impl IssuerConfig {
    /// A config for `issuer` with the admin API's defaults and no keys yet.
    pub fn new(issuer: impl Into<String>, algorithms: &[Alg]) -> Self {
        IssuerConfig {
            issuer: issuer.into(),
            jwks_url: None,
            jwks: None,
            algorithms: algorithms.iter().map(|a| a.name().to_owned()).collect(),
            audiences: Vec::new(),
            leeway_seconds: default_leeway(),
            subject_claim: default_subject_claim(),
            scopes_claim: default_scopes_claim(),
            require_exp: true,
        }
    }
}

impl fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inline_keys = self.jwks.as_ref().map(|j| j.get("keys").and_then(|k| k.as_array()).map_or(0, Vec::len));
        f.debug_struct("IssuerConfig")
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .field("inline_keys", &inline_keys)
            .field("algorithms", &self.algorithms)
            .field("audiences", &self.audiences)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("subject_claim", &self.subject_claim)
            .field("scopes_claim", &self.scopes_claim)
            .field("require_exp", &self.require_exp)
            .finish()
    }
}

/// Why an [`IssuerConfig`] cannot become an issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssuerError {
    /// `issuer` is empty.
    NoIssuer,
    /// `algorithms` is empty.
    NoAlgorithms,
    /// An algorithm name this crate does not verify (`none`, `ES512`...).
    UnsupportedAlgorithm(String),
    /// Neither or both of `jwks_url` and `jwks`.
    KeySource,
    /// `jwks_url` is not an absolute http(s) URL.
    BadJwksUrl(String),
    /// The inline JWKS does not parse.
    Jwks(JwksError),
    /// The inline JWKS has no key this crate can verify with.
    NoUsableKeys,
}

impl fmt::Display for IssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssuerError::NoIssuer => f.write_str("issuer is empty"),
            IssuerError::NoAlgorithms => f.write_str("algorithms is empty"),
            IssuerError::UnsupportedAlgorithm(a) => write!(f, "algorithm {a:?} is not supported"),
            IssuerError::KeySource => f.write_str("exactly one of jwks_url and jwks is required"),
            IssuerError::BadJwksUrl(u) => write!(f, "jwks_url {u:?} is not an absolute http(s) URL"),
            IssuerError::Jwks(e) => e.fmt(f),
            IssuerError::NoUsableKeys => f.write_str("the JWKS has no usable signing key"),
        }
    }
}

impl std::error::Error for IssuerError {}
