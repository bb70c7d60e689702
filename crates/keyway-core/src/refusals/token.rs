//! Stage 3 for JWT bearer tokens: one constructor per `token_*` code.
//!
//! Before the signature verified (`token_signature_invalid`,
//! `token_algorithm_rejected`, `token_key_unknown`,
//! `token_issuer_untrusted`) the caller text repeats only what the token
//! itself says (its `alg`, `kid`, `iss`), never the issuer's keys or
//! policy; the operator's evidence may say more. After it (audience,
//! expiry, not-before, subject) the caller has proven it holds a signing
//! key and is told the details. No constructor ever takes the token.

use crate::{ErrorCode, Refusal};

/// Which time claim lies in the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FutureClaim {
    /// `nbf`.
    Nbf,
    /// `iat`.
    Iat,
}

impl FutureClaim {
    fn name(self) -> &'static str {
        match self {
            FutureClaim::Nbf => "nbf",
            FutureClaim::Iat => "iat",
        }
    }
}

/// Text the caller sent, cut to 64 characters for the caller's text.
fn sent(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if text.chars().count() > 64 {
        out.push_str("...");
    }
    out
}

impl Refusal {
    /// `token_signature_invalid`: no key of the issuer verifies it (an
    /// issuer trusted by API `api`); says nothing else (the disclosure rule).
    pub fn token_signature_invalid(api: &str) -> Self {
        Self::new(
            ErrorCode::TokenSignatureInvalid,
            "The token's signature is not valid.",
            format!("no key of the issuer named by the token's iss (trusted by API {api}) verifies the signature"),
        )
        .hint("Get a new token from your identity provider.")
        .fix("check that the caller's identity provider signs with a key of the issuer's JWKS")
    }

    /// `token_algorithm_rejected`: the token's `alg` (`alg`, as sent) is
    /// `none`, not supported, not allowed, or does not fit the issuer's key
    /// (`why`, for the operator only).
    pub fn token_algorithm_rejected(alg: &str, why: &str) -> Self {
        let detail = if alg == "none" {
            "Unsigned tokens (alg none) are never accepted.".to_owned()
        } else {
            format!("Tokens signed with alg {} are not accepted here.", sent(alg))
        };
        Self::new(ErrorCode::TokenAlgorithmRejected, detail, format!("alg {alg:?} refused: {why}"))
            .hint("Sign tokens with an algorithm the API's issuer allows.")
            .fix("add the algorithm to the issuer's algorithms, or have the identity provider sign with an allowed one")
    }

    /// `token_key_unknown`: the token's `kid` (as sent) names no key of
    /// the set of its issuer (trusted by API `api`), also after one refresh.
    pub fn token_key_unknown(kid: Option<&str>, api: &str) -> Self {
        let detail = match kid {
            Some(k) => format!("The token's signing key (kid {}) is not known.", sent(k)),
            None => "The token names no signing key (kid) and none fits it.".to_owned(),
        };
        Self::new(ErrorCode::TokenKeyUnknown, detail, format!("no key with kid {kid:?} in the key set of the issuer (trusted by API {api}), after one refresh where the rate limit allowed it"))
            .hint("If your identity provider rotated its keys, retry shortly.")
            .fix("check the issuer's jwks_url or inline jwks holds the identity provider's current keys")
    }

    /// `token_issuer_untrusted`: the token's `iss` (as sent) names no
    /// issuer this API trusts.
    pub fn token_issuer_untrusted(iss: Option<&str>, api: &str) -> Self {
        let detail = match iss {
            Some(i) => format!("Tokens from issuer {} are not accepted by this API.", sent(i)),
            None => "The token has no issuer (iss).".to_owned(),
        };
        Self::new(ErrorCode::TokenIssuerUntrusted, detail, format!("iss {iss:?} is not among the issuers API {api} trusts"))
            .hint("Use a token from an identity provider this API trusts.")
            .fix("add the issuer to the tenant (POST /admin/v1/tenants/{id}/issuers) or to the API's jwt_issuers")
    }

    /// `token_audience_mismatch` (signature verified): none of the token's
    /// audiences is accepted.
    pub fn token_audience_mismatch(presented: &[String], accepted: &[String]) -> Self {
        let (p, a) = (presented.join(", "), accepted.join(", "));
        Self::new(
            ErrorCode::TokenAudienceMismatch,
            format!("The token's audience ({}) is not one this API accepts ({a}).", if p.is_empty() { "none" } else { &p }),
            format!("aud [{p}], accepted [{a}]"),
        )
        .hint("Request the token for one of the accepted audiences.")
        .fix("add the audience to the issuer's audiences, or have the caller ask for an accepted one")
    }

    /// `token_expired` (signature verified): `exp`, server time, leeway.
    pub fn token_expired(exp: u64, now: u64, leeway: u64) -> Self {
        Self::new(
            ErrorCode::TokenExpired,
            format!("The token expired at {exp} (exp); server time is {now}, allowed leeway {leeway} s."),
            format!("exp {exp}, server time {now}, leeway {leeway} s: expired {} s ago", now.saturating_sub(exp)),
        )
        .hint("Get a new token from your identity provider.")
        .fix("the caller must refresh its token before exp")
    }

    /// `token_not_yet_valid` (signature verified): `claim` at `at` is
    /// `skew` seconds after server time `now`, beyond `leeway`.
    pub fn token_not_yet_valid(claim: FutureClaim, at: u64, now: u64, leeway: u64, skew: u64) -> Self {
        let name = claim.name();
        Self::new(
            ErrorCode::TokenNotYetValid,
            format!("The token is not valid yet: {name} {at} is {skew} s after server time {now} (leeway {leeway} s)."),
            format!("{name} {at}, server time {now}, skew {skew} s, leeway {leeway} s"),
        )
        .hint("Check the clock of the machine that issued the token.")
        .fix("synchronize the identity provider's clock (NTP), or raise the issuer's leeway_seconds")
    }

    /// `token_inactive`: the issuer says the token is no longer active.
    pub fn token_inactive(why: &str) -> Self {
        Self::new(ErrorCode::TokenInactive, "The token is not active.", format!("token inactive: {why}"))
            .hint("Get a new token from your identity provider.")
            .fix("the caller must obtain a fresh token")
    }

    /// `token_subject_unknown` (signature verified): the subject claim
    /// `claim` is absent or names no app of the API's tenant.
    pub fn token_subject_unknown(claim: &str, subject: Option<&str>, issuer: &str) -> Self {
        let detail = match subject {
            Some(s) => format!("The token's subject ({claim} {}) is not an app here.", sent(s)),
            None => format!("The token has no subject claim ({claim})."),
        };
        Self::new(
            ErrorCode::TokenSubjectUnknown,
            detail,
            format!("issuer {issuer}: {claim} {subject:?} is in no app's token_subjects"),
        )
        .hint("Ask the API's operator to register your token's subject with your app.")
        .fix("add the subject to an app's token_subjects (PATCH /admin/v1/apps/{id})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_before_the_signature_say_only_what_the_token_says() {
        for r in [
            Refusal::token_signature_invalid("https://idp.test"),
            Refusal::token_algorithm_rejected("HS256", "the issuer's key is RSA"),
            Refusal::token_key_unknown(Some("k9"), "https://idp.test"),
            Refusal::token_issuer_untrusted(Some("https://evil.test"), "orders v1"),
        ] {
            assert!(!r.detail.contains("idp.test") && !r.detail.contains("RSA"), "{}", r.detail);
            assert!(!r.code.caller_proven(), "{:?}", r.code);
        }
    }

    #[test]
    fn expiry_gives_exp_server_time_and_leeway() {
        let r = Refusal::token_expired(1_000, 1_100, 60);
        assert!(r.detail.contains("1000") && r.detail.contains("1100") && r.detail.contains("60 s"), "{}", r.detail);
    }
}
