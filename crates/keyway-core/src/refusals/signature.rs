//! Stage 3 for RFC 9421 HMAC request signatures: one constructor per
//! code (`signature_invalid`, `signature_headers_missing`,
//! `request_timestamp_skewed`, `signature_replayed`, and `key_revoked`
//! for a revoked HMAC key).
//!
//! Before the HMAC verified, the caller is told only what its own
//! request says: which required header, component or parameter is
//! absent, and on `signature_invalid` the signature base the gateway
//! computed from the request (it holds no secret, so the caller can diff
//! it with its own). An unknown `keyid` and a wrong HMAC read the same;
//! only the operator's evidence says which. Time, window, nonce, the
//! body's digest and the key's revocation are told only after the HMAC
//! verified. No constructor takes a secret.

use crate::hmac_keys::HmacKey;
use crate::{fmt_time, ErrorCode, Refusal};

/// Why a signature does not match.
#[derive(Debug, Clone, Copy)]
pub enum SignatureMismatch<'a> {
    /// The HMAC did not verify, or no key has the `keyid`: the caller is
    /// not told which; `evidence` is the operator's.
    Unproven {
        /// What the operator sees (unknown key or mismatch).
        evidence: &'a str,
    },
    /// The HMAC verified but the body is not the one the signed
    /// `Content-Digest` names.
    BodyDigest {
        /// `sha-256` or `sha-512`.
        algorithm: &'a str,
        /// The body's digest as the gateway computed it (base64).
        computed: &'a str,
    },
}

/// A signed time outside the window.
#[derive(Debug, Clone, Copy)]
pub struct SignedTime {
    /// `created` or `expires`.
    pub parameter: &'static str,
    /// Its value, Unix seconds.
    pub at: u64,
    /// Server time, Unix seconds.
    pub now: u64,
    /// The API's window, seconds.
    pub window: u64,
}

/// Member of a `signature_invalid` problem document holding the base.
pub const SIGNATURE_BASE_MEMBER: &str = "signature_base";

impl Refusal {
    /// `signature_invalid`: the signature over `base` (the signature base
    /// the gateway computed, RFC 9421 section 2.5) does not match.
    pub fn signature_invalid(base: &str, why: SignatureMismatch<'_>) -> Self {
        let r = match why {
            SignatureMismatch::Unproven { evidence } => Self::new(
                ErrorCode::SignatureInvalid,
                "The request signature does not match. signature_base is what the gateway computed from this request: an HMAC-SHA256 of exactly these bytes, with the secret of the key named by keyid, must be the Signature value.",
                format!("signature does not verify: {evidence}"),
            )
            .hint("Compare signature_base line by line with the string your client signed (method, authority, path, query, content-digest, @signature-params), and check the keyid and secret.")
            .fix("check the caller signs with the secret of the HMAC key its keyid names (POST /admin/v1/apps/{id}/hmac-keys shows it once)"),
            SignatureMismatch::BodyDigest { algorithm, computed } => Self::new(
                ErrorCode::SignatureInvalid,
                format!("The body does not match the signed Content-Digest: its {algorithm} digest is :{computed}:."),
                format!("HMAC verified, body {algorithm} digest {computed} differs from the signed Content-Digest"),
            )
            .hint("Compute Content-Digest over the exact body bytes you send, after any compression or re-encoding.")
            .fix("the caller must send the body it signed"),
        };
        r.member(SIGNATURE_BASE_MEMBER, base)
    }

    /// `signature_headers_missing`: the request lacks `what` (a header, a
    /// required covered component or parameter); says only that.
    pub fn signature_headers_missing(what: &dyn std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::SignatureHeadersMissing,
            format!("The request signature is incomplete: {what}."),
            format!("signature incomplete: {what}"),
        )
        .hint("Cover \"@method\" \"@authority\" \"@path\", \"@query\" when there is a query and \"content-digest\" when there is a body; give created, nonce and keyid.")
        .fix("the caller's signer must cover the components and parameters the API requires (docs/hmac.md)")
    }

    /// `request_timestamp_skewed` (HMAC verified): a signed time is
    /// outside the window; gives it, server time and the window.
    pub fn request_timestamp_skewed(t: SignedTime) -> Self {
        let skew = t.now as i64 - t.at as i64;
        let detail = match t.parameter {
            "expires" => format!("The signature expired at {} (expires); server time is {}.", t.at, t.now),
            p => format!(
                "The signature's {p} {} is {} s from server time {}; the allowed window is {} s either way.",
                t.at,
                skew.unsigned_abs(),
                t.now,
                t.window
            ),
        };
        Self::new(
            ErrorCode::RequestTimestampSkewed,
            detail,
            format!("{} {}, server time {}, skew {skew} s, window {} s", t.parameter, t.at, t.now, t.window),
        )
        .hint("Sign each request just before sending it, with created set from a synchronized clock (NTP).")
        .fix("synchronize the caller's clock, or raise the API's hmac.window_seconds")
    }

    /// `signature_replayed` (HMAC verified): `nonce` was seen within the
    /// window.
    pub fn signature_replayed(nonce: &str, window: u64) -> Self {
        let shown: String = nonce.chars().take(64).collect();
        Self::new(
            ErrorCode::SignatureReplayed,
            format!("This signature's nonce ({shown}) was already used within the last {window} s."),
            format!("nonce {nonce:?} seen again within {window} s"),
        )
        .hint("Sign every request with a fresh random nonce.")
        .fix("the caller must not resend a signed request; each needs its own nonce")
    }

    /// `key_revoked` for an HMAC key (HMAC verified): revoked at T.
    pub fn hmac_key_revoked(key: &HmacKey) -> Self {
        let at = key.revoked_at.map(|t| fmt_time(&t)).unwrap_or_default();
        let by = key.revoked_by.as_deref().unwrap_or("unknown");
        Self::new(
            ErrorCode::KeyRevoked,
            format!("HMAC key {} was revoked at {at}.", key.id),
            format!("HMAC key {} of app {} revoked at {at} by {by}", key.id, key.app_id),
        )
        .hint("Ask the app's owner for a new HMAC key.")
        .fix(format!("create a new HMAC key for app {} (POST /admin/v1/apps/{}/hmac-keys)", key.app_id, key.app_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unproven_mismatch_says_nothing_but_the_base() {
        let r = Refusal::signature_invalid("\"@method\": GET", SignatureMismatch::Unproven { evidence: "no key hk_1" });
        assert!(!r.detail.contains("hk_1") && r.hint.as_deref().is_some_and(|h| !h.contains("hk_1")), "{r:?}");
        assert!(!r.code.caller_proven());
        let body: serde_json::Value = serde_json::from_slice(&r.render(crate::model::Protocol::Rest, "req_1").body).unwrap();
        assert_eq!(body[SIGNATURE_BASE_MEMBER], "\"@method\": GET");
    }

    #[test]
    fn skew_gives_time_and_window() {
        let r = Refusal::request_timestamp_skewed(SignedTime { parameter: "created", at: 1_000, now: 1_400, window: 300 });
        assert!(r.detail.contains("1000") && r.detail.contains("1400") && r.detail.contains("300 s"), "{}", r.detail);
    }
}
