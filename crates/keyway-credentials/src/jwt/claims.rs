//! The claim checks that run once the signature verified, in the order
//! of `errors.md`: issuer, audience, expiry, not-before; then the subject
//! and scopes are read.

use super::algorithm::Alg;
use super::refusal::{TimeClaim, TokenMalformed, TokenRefusal};
use serde_json::{Map, Value};

/// What an issuer requires of a verified token's claims.
#[derive(Clone, Debug)]
pub(crate) struct ClaimPolicy {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub leeway: u64,
    pub subject_claim: String,
    pub scopes_claim: String,
    pub require_exp: bool,
}

/// A token whose signature verified and whose claims passed.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedToken {
    /// Its `iss`.
    pub issuer: String,
    /// The subject claim's value (`sub` by default), if present.
    pub subject: Option<String>,
    /// The subject claim's name, for [`VerifiedToken::resolve_subject`].
    pub subject_claim: String,
    /// Its scopes (from `scope`, space separated, or `scp`).
    pub scopes: Vec<String>,
    /// Its `aud` values.
    pub audiences: Vec<String>,
    /// Its `exp`, Unix seconds.
    pub exp: Option<u64>,
    /// The algorithm it was signed with.
    pub alg: Alg,
    /// The `kid` of the key that verified it.
    pub kid: Option<String>,
    /// Every claim, for what the gateway reads beyond these.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// Maps the subject to an app with `lookup` (e.g. `token_subjects` of
    /// the tenant's apps). An absent subject, or one `lookup` does not
    /// know, is `token_subject_unknown`.
    pub fn resolve_subject<T>(&self, lookup: impl FnOnce(&str) -> Option<T>) -> Result<T, TokenRefusal> {
        let unknown = || TokenRefusal::SubjectUnknown { claim: self.subject_claim.clone(), subject: self.subject.clone() };
        let subject = self.subject.as_deref().ok_or_else(unknown)?;
        lookup(subject).ok_or_else(unknown)
    }
}

fn wrong_type(claim: &str) -> TokenRefusal {
    TokenRefusal::Malformed(TokenMalformed::ClaimType { claim: claim.to_owned() })
}

/// A NumericDate claim (RFC 7519 2): a non-negative number, seconds.
fn time(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, TokenRefusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match (v.as_u64(), v.as_f64()) {
            (Some(n), _) => Ok(Some(n)),
            (None, Some(f)) if f >= 0.0 && f.is_finite() => Ok(Some(f as u64)),
            _ => Err(wrong_type(name)),
        },
    }
}

/// A claim that is a string or an array of strings.
fn strings(claims: &Map<String, Value>, name: &str, split: bool) -> Result<Option<Vec<String>>, TokenRefusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if split => Ok(Some(s.split_whitespace().map(str::to_owned).collect())),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| wrong_type(name)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong_type(name)),
    }
}

/// Checks the claims of a token signed with `alg` by key `kid` at `now`.
pub(crate) fn check(
    policy: &ClaimPolicy,
    claims: Map<String, Value>,
    alg: Alg,
    kid: Option<String>,
    now: u64,
) -> Result<VerifiedToken, TokenRefusal> {
    let issuer = claims.get("iss").and_then(Value::as_str);
    if issuer != Some(policy.issuer.as_str()) {
        return Err(TokenRefusal::IssuerUntrusted { issuer: issuer.map(str::to_owned) });
    }
    let audiences = strings(&claims, "aud", false)?.unwrap_or_default();
    if !policy.audiences.is_empty() && !audiences.iter().any(|a| policy.audiences.contains(a)) {
        return Err(TokenRefusal::AudienceMismatch { presented: audiences, accepted: policy.audiences.clone() });
    }
    let leeway = policy.leeway;
    let exp = time(&claims, "exp")?;
    match exp {
        Some(exp) if exp.saturating_add(leeway) < now => return Err(TokenRefusal::Expired { exp, now, leeway }),
        None if policy.require_exp => return Err(TokenRefusal::Malformed(TokenMalformed::MissingClaim { claim: "exp" })),
        _ => {}
    }
    for (claim, name) in [(TimeClaim::Nbf, "nbf"), (TimeClaim::Iat, "iat")] {
        if let Some(at) = time(&claims, name)? {
            if at > now.saturating_add(leeway) {
                return Err(TokenRefusal::NotYetValid { claim, at, now, leeway, skew: at - now });
            }
        }
    }
    let subject = match claims.get(&policy.subject_claim) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(wrong_type(&policy.subject_claim)),
    };
    let scopes = match strings(&claims, &policy.scopes_claim, true)? {
        Some(s) => s,
        None => strings(&claims, "scp", true)?.unwrap_or_default(),
    };
    Ok(VerifiedToken {
        issuer: policy.issuer.clone(),
        subject,
        subject_claim: policy.subject_claim.clone(),
        scopes,
        audiences,
        exp,
        alg,
        kid,
        claims,
    })
}
