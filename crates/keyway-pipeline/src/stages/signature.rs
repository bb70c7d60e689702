//! Stages 2 and 3 for RFC 9421 HMAC request signatures: is the request
//! signed (`Signature-Input` or `Signature`), with no other credential
//! beside it, and does the signature verify with the HMAC key its
//! `keyid` names, within the API's window, with a new nonce?
//!
//! Verification is `keyway-credentials`' (headers, required components
//! and parameters, the signature base, the HMAC in constant time with the
//! same work for an unknown `keyid`, then the window, the body's digest
//! and the nonce); each of its refusals becomes the `errors.md` code's
//! typed constructor, which keeps the disclosure rule. The gateway
//! verifies (and records the nonce) before the snapshot phases, because
//! the body must be read and the nonce store may be remote; the phases
//! read that outcome, and `diagnose` checks afresh without spending or
//! requiring a nonce.

use crate::hmac_index::HmacEntry;
use crate::places::{query_param, QUERY_PARAM};
use crate::snapshot::{ApiEntry, Snapshot};
use http::HeaderMap;
use keyway_core::model::{App, HmacSettings, KeyLocation};
use keyway_core::refusals::{CredentialProblem, SignatureMismatch, SignedTime};
use keyway_core::Refusal;
use keyway_credentials::http_signature::{
    InvalidCause, SignatureInput, SignatureRefusal, SignatureVerifier, SignedRequest, TimeParameter, Verified, VerifyError,
};
use std::sync::Arc;

/// The `Signature-Input` header.
pub const SIGNATURE_INPUT: &str = "signature-input";
/// The `Signature` header.
pub const SIGNATURE: &str = "signature";
/// How the caller text names where a signature is.
const PLACE: &str = "the Signature-Input and Signature headers (RFC 9421)";

/// The outcome of verifying a request's signature before the phases.
pub type Prechecked = Result<Verified, Refusal>;

/// Whether the request carries either signature header.
pub fn signed(headers: &HeaderMap) -> bool {
    headers.contains_key(SIGNATURE_INPUT) || headers.contains_key(SIGNATURE)
}

/// Stage 2 for a signed request: no other credential beside the
/// signature (`credential_ambiguous` naming both places).
pub fn present(headers: &HeaderMap, query: Option<&str>) -> Result<(), Refusal> {
    let text = |name| headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok());
    let elsewhere = [
        (KeyLocation::AuthorizationBearer, text(http::header::AUTHORIZATION.as_str())),
        (KeyLocation::XApiKey, text("x-api-key")),
        (KeyLocation::Query, query_param(query, QUERY_PARAM)),
    ];
    match elsewhere.iter().find(|(_, v)| v.is_some_and(|v| !v.trim().is_empty())) {
        Some((place, _)) => Err(Refusal::credential_ambiguous(PLACE, place.describe())),
        None => Ok(()),
    }
}

/// Stage 2 for an API that accepts only signatures, of a request that
/// carries none.
pub fn missing() -> Refusal {
    Refusal::credential_missing("Signature-Input and Signature headers (RFC 9421, hmac-sha256, keyid hk_...)")
}

/// The verifier of `api`: its `hmac.window_seconds`, or the default.
pub fn verifier(api: &ApiEntry) -> SignatureVerifier {
    SignatureVerifier::new(HmacSettings::window_of(api.api.hmac.as_ref()))
}

/// The parts of a request a signature covers. `authority` is the `Host`
/// header as sent (port included), else `host`; `path` still
/// percent-encoded.
pub fn request<'a>(
    method: &'a str,
    scheme: &'a str,
    host: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> SignedRequest<'a> {
    let authority = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).or(host).unwrap_or("");
    SignedRequest { method, scheme, authority, path, query, headers, body }
}

/// Every check but the nonce, at `now` (Unix seconds): what `diagnose`
/// runs, and what the phases run when the gateway did not verify first.
pub fn check(snapshot: &Snapshot, api: &ApiEntry, request: &SignedRequest<'_>, now: u64) -> Prechecked {
    verifier(api).check_without_nonce(request, &snapshot.hmac, now).map_err(|r| refusal(snapshot, &r))
}

/// The `errors.md` refusal of a failed [`SignatureVerifier::verify`].
pub fn verify_error(snapshot: &Snapshot, e: &VerifyError) -> Refusal {
    match e {
        VerifyError::Refused(r) => refusal(snapshot, r),
        VerifyError::NonceStore(e) => Refusal::internal(format!("the nonce store did not answer, so no replay check: {e}")),
    }
}

/// The `errors.md` refusal of a signature refused by `keyway-credentials`.
pub fn refusal(snapshot: &Snapshot, r: &SignatureRefusal) -> Refusal {
    match r {
        SignatureRefusal::Malformed(m) => Refusal::credential_malformed(CredentialProblem::NotASignature { problem: m }),
        SignatureRefusal::HeadersMissing(m) => Refusal::signature_headers_missing(m),
        SignatureRefusal::Invalid(i) => {
            let evidence;
            let why = match &i.cause {
                InvalidCause::UnknownKey => {
                    evidence = unknown_key_evidence(snapshot, &i.signature_base);
                    SignatureMismatch::Unproven { evidence: &evidence }
                }
                InvalidCause::Mismatch => {
                    evidence = format!("the HMAC does not match HMAC key {}'s", keyid_in_base(&i.signature_base).unwrap_or("?"));
                    SignatureMismatch::Unproven { evidence: &evidence }
                }
                InvalidCause::BodyDigestMismatch { algorithm, computed } => {
                    SignatureMismatch::BodyDigest { algorithm: algorithm.name(), computed }
                }
            };
            Refusal::signature_invalid(&i.signature_base, why)
        }
        SignatureRefusal::TimestampSkewed(s) => {
            let parameter = match s.parameter {
                TimeParameter::Created => "created",
                TimeParameter::Expires => "expires",
            };
            Refusal::request_timestamp_skewed(SignedTime { parameter, at: s.at, now: s.now, window: s.window })
        }
        SignatureRefusal::Replayed { nonce, window } => Refusal::signature_replayed(nonce, *window),
    }
}

/// The operator's evidence of an unknown `keyid`: none such, or one whose
/// sealed secret does not open on this node.
fn unknown_key_evidence(snapshot: &Snapshot, base: &str) -> String {
    let keyid = keyid_in_base(base).unwrap_or("?");
    match snapshot.hmac.get(keyid) {
        Some(_) => format!("HMAC key {keyid} exists but its sealed secret does not open with this node's sealing key"),
        None => format!("no HMAC key has keyid {keyid:?}"),
    }
}

/// The `keyid` parameter of the `@signature-params` line of a base.
fn keyid_in_base(base: &str) -> Option<&str> {
    let params = base.lines().last()?;
    let at = params.find(";keyid=\"")? + ";keyid=\"".len();
    params[at..].split('"').next()
}

/// The HMAC key the request's `keyid` names, if any: for the operator's
/// evidence and the call log of a refusal that came after the HMAC
/// verified (window, nonce), read again only on that path.
pub fn named_key<'s>(snapshot: &'s Snapshot, headers: &HeaderMap) -> Option<&'s Arc<HmacEntry>> {
    let (input, _) = SignatureInput::from_headers(headers).ok()?;
    snapshot.hmac.get(input.keyid.as_deref()?)
}

/// A verified signature's key and the app it signs as.
#[derive(Debug, Clone)]
pub struct SignedIdentity {
    /// The HMAC key.
    pub key: Arc<HmacEntry>,
    /// Its app.
    pub app: Arc<App>,
    /// What verified.
    pub verified: Verified,
}

/// Stage 3 after the signature verified: the key is not revoked (told
/// now: the caller proved it holds the secret), and its app.
pub fn identify(snapshot: &Snapshot, verified: Verified) -> Result<SignedIdentity, Refusal> {
    let Some(key) = snapshot.hmac.get(&verified.key_id).cloned() else {
        return Err(Refusal::internal(format!("HMAC key {} verified but is not in the snapshot", verified.key_id)));
    };
    if key.record.revoked_at.is_some() {
        return Err(Refusal::hmac_key_revoked(&key.record));
    }
    let Some(app) = snapshot.apps.get(&key.record.app_id).cloned() else {
        return Err(Refusal::internal(format!(
            "HMAC key {} names app {} which is not in the store",
            key.record.id, key.record.app_id
        )));
    };
    Ok(SignedIdentity { key, app, verified })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_beside_another_credential_is_ambiguous() {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_INPUT, "sig1=()".parse().unwrap());
        assert!(signed(&h) && present(&h, None).is_ok());
        assert_eq!(present(&h, Some("api_key=kw_live_x")).unwrap_err().code, keyway_core::ErrorCode::CredentialAmbiguous);
        h.insert("authorization", "Bearer a.b.c".parse().unwrap());
        assert_eq!(present(&h, None).unwrap_err().code, keyway_core::ErrorCode::CredentialAmbiguous);
    }

    #[test]
    fn the_keyid_is_read_from_the_signature_params_line() {
        let base =
            "\"@method\": GET\n\"@signature-params\": (\"@method\");created=1;nonce=\"n\";keyid=\"hk_1\";alg=\"hmac-sha256\"";
        assert_eq!(keyid_in_base(base), Some("hk_1"));
        assert_eq!(keyid_in_base("\"@signature-params\": ();created=1"), None);
    }
}
