//! Stages 2 and 3 for JWT bearer tokens: is there a token (an
//! `Authorization: Bearer` value of three dot-separated segments, told
//! apart from an API key by that shape), and does it verify against the
//! issuers the API trusts, with a subject that is an app of the API's
//! tenant?
//!
//! Verification is `keyway-credentials`' (shape, `alg`, issuer, key,
//! signature, then the claims); each of its refusals becomes the
//! `errors.md` code's typed constructor, which keeps the disclosure rule:
//! nothing about `exp`, audiences or the subject before the signature
//! verified. The token text never reaches a refusal, the trace or a log.

use crate::places::{query_param, QUERY_PARAM};
use crate::snapshot::{ApiEntry, Snapshot};
use http::HeaderMap;
use keyway_core::key_format;
use keyway_core::model::{App, KeyLocation};
use keyway_core::refusals::{CredentialProblem, FutureClaim};
use keyway_core::Refusal;
use keyway_credentials::jwt::{AlgorithmRejected, TimeClaim, TokenRefusal, TrustedIssuers, VerifiedToken};
use std::sync::Arc;

/// What the gateway may have verified already, off the snapshot phases
/// (a `jwks_url` issuer's keys fetched or refreshed on the way): the
/// outcome for this request's token.
pub type Prechecked = Result<VerifiedToken, TokenRefusal>;

/// The bearer value of `Authorization` if it has a JWT's shape: exactly
/// three non-empty segments separated by dots, no whitespace, and not an
/// API key.
pub fn bearer_jwt(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || !jwt_shaped(token) {
        return None;
    }
    // A repeated header with another value is left to stage 2's
    // ambiguity check.
    values.all(|v| v.to_str().ok() == Some(value)).then_some(token)
}

/// Three non-empty segments of base64url characters.
fn jwt_shaped(token: &str) -> bool {
    let segments = token.split('.');
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    token.split('.').count() == 3 && segments.into_iter().all(ok) && !key_format::looks_like_key(token)
}

/// Stage 2 for an API whose `auth` includes `jwt`: the token, when the
/// request carries one, refused as ambiguous when a key-like value sits
/// in another place too. `None`: no token (the key path, if the API
/// accepts keys, decides).
pub fn present<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Result<Option<&'a str>, Refusal> {
    let Some(token) = bearer_jwt(headers) else { return Ok(None) };
    let elsewhere = [
        (KeyLocation::XApiKey, headers.get("x-api-key").and_then(|v| v.to_str().ok())),
        (KeyLocation::Query, query_param(query, QUERY_PARAM)),
    ];
    if let Some((place, _)) = elsewhere.iter().find(|(_, v)| v.is_some_and(|v| !v.trim().is_empty())) {
        return Err(Refusal::credential_ambiguous(KeyLocation::AuthorizationBearer.describe(), place.describe()));
    }
    Ok(Some(token))
}

/// Stage 2 for an API that accepts only `jwt` and found no token: a
/// bearer value of another shape is malformed, none at all is missing.
pub fn missing(headers: &HeaderMap) -> Refusal {
    match headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(v) if v.split_once(' ').is_some_and(|(s, _)| s.eq_ignore_ascii_case("bearer")) => {
            Refusal::credential_malformed(CredentialProblem::NotAJwt {
                problem: &"a JWT has three dot-separated base64url segments",
            })
        }
        _ => Refusal::credential_missing("Authorization: Bearer <JWT>"),
    }
}

/// A verified token and the app its subject is.
#[derive(Debug, Clone)]
pub struct TokenIdentity {
    /// The verified token (claims included; never the token text).
    pub token: Arc<VerifiedToken>,
    /// The app of the API's tenant whose `token_subjects` hold its subject.
    pub app: Arc<App>,
}

/// Stage 3 for a token: verified against the issuers `api` trusts at
/// `now` (Unix seconds) with the keys held (or `prechecked` by the
/// gateway), then its subject mapped to an app of the API's tenant.
pub fn verify(
    snapshot: &Snapshot,
    api: &ApiEntry,
    token: &str,
    now: u64,
    prechecked: Option<&Prechecked>,
) -> Result<TokenIdentity, Refusal> {
    let label = api_label(api);
    let empty = TrustedIssuers::default();
    let trusted = snapshot.jwt.trusted_by(&api.api).map_or(&empty, |t| &**t);
    let verified = match prechecked {
        Some(outcome) => outcome.clone(),
        None => trusted.verify(token, now),
    }
    .map_err(|r| refusal(&r, &label))?;
    let tenant = &api.api.tenant_id;
    let app = verified
        .resolve_subject(|s| snapshot.jwt.app_of_subject(tenant, s).and_then(|id| snapshot.apps.get(id)).cloned())
        .map_err(|r| refusal(&r, &label))?;
    Ok(TokenIdentity { token: Arc::new(verified), app })
}

/// `orders v1 (api_…)`, for the operator's evidence.
fn api_label(api: &ApiEntry) -> String {
    format!("{} {} ({})", api.api.name, api.api.version, api.api.id)
}

/// The `errors.md` refusal of a token refused by `keyway-credentials`.
pub fn refusal(r: &TokenRefusal, api: &str) -> Refusal {
    match r {
        TokenRefusal::Malformed(m) => Refusal::credential_malformed(CredentialProblem::NotAJwt { problem: m }),
        TokenRefusal::AlgorithmRejected(a) => {
            let alg = match a {
                AlgorithmRejected::None => "none".to_owned(),
                AlgorithmRejected::Unsupported(name) => name.clone(),
                AlgorithmRejected::NotAllowed(alg) | AlgorithmRejected::KeyMismatch { alg, .. } => alg.name().to_owned(),
            };
            Refusal::token_algorithm_rejected(&alg, &a.to_string())
        }
        TokenRefusal::KeyUnknown { kid } => Refusal::token_key_unknown(kid.as_deref(), api),
        TokenRefusal::SignatureInvalid => Refusal::token_signature_invalid(api),
        TokenRefusal::IssuerUntrusted { issuer } => Refusal::token_issuer_untrusted(issuer.as_deref(), api),
        TokenRefusal::AudienceMismatch { presented, accepted } => Refusal::token_audience_mismatch(presented, accepted),
        TokenRefusal::Expired { exp, now, leeway } => Refusal::token_expired(*exp, *now, *leeway),
        TokenRefusal::NotYetValid { claim, at, now, leeway, skew } => {
            let claim = match claim {
                TimeClaim::Nbf => FutureClaim::Nbf,
                TimeClaim::Iat => FutureClaim::Iat,
            };
            Refusal::token_not_yet_valid(claim, *at, *now, *leeway, *skew)
        }
        TokenRefusal::SubjectUnknown { claim, subject } => Refusal::token_subject_unknown(claim, subject.as_deref(), api),
        TokenRefusal::Inactive(why) => Refusal::token_inactive(&format!("{why:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, authorization.parse().unwrap());
        h
    }

    #[test]
    fn a_jwt_is_told_from_a_key_by_its_shape() {
        assert_eq!(bearer_jwt(&headers("Bearer eyJh.eyJz.c2ln")), Some("eyJh.eyJz.c2ln"));
        assert_eq!(bearer_jwt(&headers("bearer a-b.c_d.e")), Some("a-b.c_d.e"));
        for not in
            ["Bearer kw_live_abc", "Bearer a.b", "Bearer a.b.c.d", "Bearer a..c", "Token a.b.c", "Bearer a.b.c=", "Bearer a.b.c "]
        {
            assert_eq!(bearer_jwt(&headers(not)), None, "{not}");
        }
    }

    #[test]
    fn a_token_beside_a_key_is_ambiguous() {
        let mut h = headers("Bearer a.b.c");
        assert_eq!(present(&h, None).unwrap(), Some("a.b.c"));
        assert_eq!(present(&h, Some("api_key=kw_live_x")).unwrap_err().code, keyway_core::ErrorCode::CredentialAmbiguous);
        h.insert("x-api-key", "kw_live_x".parse().unwrap());
        assert_eq!(present(&h, None).unwrap_err().code, keyway_core::ErrorCode::CredentialAmbiguous);
    }
}
