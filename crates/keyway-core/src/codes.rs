//! The refusal catalog of `errors.md`: every code, its stage, its HTTP
//! status and whether the caller has proven possession of a real secret
//! when it is returned (the disclosure rule).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The stages of the request path, in the order they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 1. Which published API the request is for.
    Route,
    /// 2. Whether a credential is presented, in an accepted place and form.
    Credential,
    /// 3. Whether the credential is a real, live one.
    Key,
    /// 4. Whether the app, user and tenant behind it are in good standing.
    Identity,
    /// 5. Whether that identity may make this call.
    Authorization,
    /// 6. Rate limits, quotas and budgets.
    Limits,
    /// 7. The request body and the upstream exchange.
    Upstream,
}

impl Stage {
    /// All stages in check order.
    pub const ALL: [Stage; 7] =
        [Stage::Route, Stage::Credential, Stage::Key, Stage::Identity, Stage::Authorization, Stage::Limits, Stage::Upstream];

    /// The stage name used in traces, logs and diagnose output.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Route => "route",
            Stage::Credential => "credential",
            Stage::Key => "key",
            Stage::Identity => "identity",
            Stage::Authorization => "authorization",
            Stage::Limits => "limits",
            Stage::Upstream => "upstream",
        }
    }

    /// One-based position in the check order.
    pub fn number(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).map_or(0, |i| i + 1)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OpenAI error `type` a code maps to on OpenAI-compatible routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenAiErrorType {
    /// `authentication_error`
    Authentication,
    /// `permission_error`
    Permission,
    /// `rate_limit_error`
    RateLimit,
    /// `invalid_request_error`
    InvalidRequest,
    /// `api_error`
    Api,
}

impl OpenAiErrorType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OpenAiErrorType::Authentication => "authentication_error",
            OpenAiErrorType::Permission => "permission_error",
            OpenAiErrorType::RateLimit => "rate_limit_error",
            OpenAiErrorType::InvalidRequest => "invalid_request_error",
            OpenAiErrorType::Api => "api_error",
        }
    }
}

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $stage:ident, $status:literal, $proven:literal, $title:literal; )*) => {
        /// A stable refusal code. Codes never change meaning and are never
        /// renamed; new ones are only added.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code in catalog order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The stage that returns this code.
            pub fn stage(self) -> Stage {
                match self { $( ErrorCode::$variant => Stage::$stage, )* }
            }

            /// The HTTP status of this refusal.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// Whether the caller has proven possession of a real secret
            /// by the time this code can be returned, and may therefore
            /// learn details.
            pub fn caller_proven(self) -> bool {
                match self { $( ErrorCode::$variant => $proven, )* }
            }

            /// A short human title (RFC 9457 `title`).
            pub fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title, )* }
            }

            /// Position in [`ErrorCode::ALL`], for tables indexed by code.
            pub fn index(self) -> usize {
                self as usize
            }

            /// Parses a wire code.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $code => Some(ErrorCode::$variant), )* _ => None }
            }
        }
    };
}

catalog! {
    /// No published API matches host and path.
    RouteNotFound = "route_not_found", Route, 404, false, "No API at this path";
    /// The API version was decommissioned.
    ApiRetired = "api_retired", Route, 410, false, "API version retired";
    /// The path matches but the method does not.
    MethodNotAllowed = "method_not_allowed", Route, 405, false, "Method not allowed";
    /// No credential in any accepted place.
    CredentialMissing = "credential_missing", Credential, 401, false, "Credential missing";
    /// The credential's form is wrong (scheme, whitespace, length, checksum).
    CredentialMalformed = "credential_malformed", Credential, 401, false, "Credential malformed";
    /// A valid-looking key in a place this API does not accept.
    CredentialInWrongPlace = "credential_in_wrong_place", Credential, 401, false, "Credential in the wrong place";
    /// A test key on a live gateway or the reverse.
    KeyEnvironmentMismatch = "key_environment_mismatch", Credential, 401, false, "Key environment mismatch";
    /// Two different credentials in one request.
    CredentialAmbiguous = "credential_ambiguous", Credential, 401, false, "Ambiguous credentials";
    /// Well-formed key that matches no stored key.
    KeyUnknown = "key_unknown", Key, 401, false, "Invalid API key";
    /// The key was revoked.
    KeyRevoked = "key_revoked", Key, 401, true, "API key revoked";
    /// The key expired.
    KeyExpired = "key_expired", Key, 401, true, "API key expired";
    /// The key was replaced by rotation and its grace period ended.
    KeyRotated = "key_rotated", Key, 401, true, "API key rotated";
    /// JWT signature does not verify.
    TokenSignatureInvalid = "token_signature_invalid", Key, 401, false, "Token signature invalid";
    /// JWT `alg` not allowed for the issuer.
    TokenAlgorithmRejected = "token_algorithm_rejected", Key, 401, false, "Token algorithm rejected";
    /// JWT `kid` not in the issuer's key set.
    TokenKeyUnknown = "token_key_unknown", Key, 401, false, "Token signing key unknown";
    /// JWT `iss` not configured for this API.
    TokenIssuerUntrusted = "token_issuer_untrusted", Key, 401, false, "Token issuer untrusted";
    /// JWT `aud` does not include this API.
    TokenAudienceMismatch = "token_audience_mismatch", Key, 401, true, "Token audience mismatch";
    /// JWT `exp` passed.
    TokenExpired = "token_expired", Key, 401, true, "Token expired";
    /// JWT `nbf`/`iat` in the future beyond leeway.
    TokenNotYetValid = "token_not_yet_valid", Key, 401, true, "Token not yet valid";
    /// Token verified but its subject maps to nobody here.
    TokenSubjectUnknown = "token_subject_unknown", Key, 401, true, "Token subject unknown";
    /// OAuth2 introspection says the token is inactive.
    TokenInactive = "token_inactive", Key, 401, false, "Token inactive";
    /// HMAC request signature does not match.
    SignatureInvalid = "signature_invalid", Key, 401, false, "Request signature invalid";
    /// A header the signing scheme requires is absent.
    SignatureHeadersMissing = "signature_headers_missing", Key, 401, false, "Signature headers missing";
    /// Signed timestamp outside the allowed window.
    RequestTimestampSkewed = "request_timestamp_skewed", Key, 401, true, "Request timestamp skewed";
    /// Nonce already seen inside the window.
    SignatureReplayed = "signature_replayed", Key, 401, true, "Request signature replayed";
    /// mTLS API, no client certificate.
    ClientCertificateMissing = "client_certificate_missing", Key, 401, false, "Client certificate missing";
    /// Certificate not signed by a trusted CA, or expired.
    ClientCertificateUntrusted = "client_certificate_untrusted", Key, 401, false, "Client certificate untrusted";
    /// Valid certificate bound to no app.
    ClientCertificateUnbound = "client_certificate_unbound", Key, 401, true, "Client certificate unbound";
    /// The key's app, or the user who owns it, is suspended.
    KeyOwnerSuspended = "key_owner_suspended", Identity, 403, true, "Key owner suspended";
    /// The key's app or owning user was deleted.
    KeyOwnerDeleted = "key_owner_deleted", Identity, 403, true, "Key owner deleted";
    /// The key's tenant, or the API's tenant, is suspended.
    TenantSuspended = "tenant_suspended", Identity, 403, true, "Tenant suspended";
    /// The key's tenant has no access to this API.
    TenantMismatch = "tenant_mismatch", Identity, 403, true, "Tenant has no access to this API";
    /// The app is not subscribed to this API.
    SubscriptionRequired = "subscription_required", Authorization, 403, true, "Subscription required";
    /// The subscription awaits approval.
    SubscriptionPending = "subscription_pending", Authorization, 403, true, "Subscription pending approval";
    /// The subscription was rejected or revoked.
    SubscriptionRejected = "subscription_rejected", Authorization, 403, true, "Subscription rejected";
    /// The key lacks scopes this API or route needs.
    ScopeInsufficient = "scope_insufficient", Authorization, 403, true, "Insufficient scope";
    /// The key may not use this model.
    ModelNotAllowed = "model_not_allowed", Authorization, 403, true, "Model not allowed";
    /// Client IP not in the key's allow list.
    IpNotAllowed = "ip_not_allowed", Authorization, 403, true, "Client IP not allowed";
    /// A request-rate limit is exhausted.
    RateLimited = "rate_limited", Limits, 429, true, "Rate limit exceeded";
    /// AI tokens-per-minute limit exhausted.
    TokenRateLimited = "token_rate_limited", Limits, 429, true, "Token rate limit exceeded";
    /// Period quota used up.
    QuotaExceeded = "quota_exceeded", Limits, 429, true, "Quota exceeded";
    /// AI spend budget used up.
    BudgetExceeded = "budget_exceeded", Limits, 429, true, "Budget exceeded";
    /// The HTTP request itself is broken (no `Host`, bad chunked
    /// encoding, invalid percent-encoding or NUL in the path).
    RequestMalformed = "request_malformed", Upstream, 400, false, "Malformed request";
    /// The client did not send its headers or body in time.
    RequestTimeout = "request_timeout", Upstream, 408, false, "Request timeout";
    /// The listener is at its connection limit (a Keyway extension of the catalog).
    GatewayOverloaded = "gateway_overloaded", Upstream, 503, false, "Gateway overloaded";
    /// Body fails validation.
    RequestInvalid = "request_invalid", Upstream, 400, true, "Invalid request";
    /// No such model or alias in this tenant.
    ModelUnknown = "model_unknown", Upstream, 404, true, "Unknown model";
    /// Body over the configured limit.
    PayloadTooLarge = "payload_too_large", Upstream, 413, false, "Payload too large";
    /// No healthy target, connection refused, circuit open.
    UpstreamUnavailable = "upstream_unavailable", Upstream, 502, true, "Upstream unavailable";
    /// Target did not answer in time.
    UpstreamTimeout = "upstream_timeout", Upstream, 504, true, "Upstream timeout";
    /// The provider refused the gateway's own stored credential.
    UpstreamCredentialRejected = "upstream_credential_rejected", Upstream, 502, true, "Upstream rejected the gateway's credential";
    /// A bug; the request id leads to the log.
    InternalError = "internal_error", Upstream, 500, false, "Internal error";
}

impl ErrorCode {
    /// The OpenAI error `type` for this code.
    pub fn openai_type(self) -> OpenAiErrorType {
        match self.status() {
            401 => OpenAiErrorType::Authentication,
            403 => OpenAiErrorType::Permission,
            429 => OpenAiErrorType::RateLimit,
            400 | 404 | 405 | 408 | 410 | 413 => OpenAiErrorType::InvalidRequest,
            _ => OpenAiErrorType::Api,
        }
    }

    /// The Anthropic error `type` for this code.
    pub fn anthropic_type(self) -> &'static str {
        match self.status() {
            401 => "authentication_error",
            403 => "permission_error",
            404 | 410 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            400 | 405 | 408 => "invalid_request_error",
            504 | 503 => "overloaded_error",
            _ => "api_error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
            assert_eq!(ErrorCode::ALL[c.index()], *c);
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(ErrorCode::ALL.len(), 52);
    }

    #[test]
    fn stages_are_in_catalog_order() {
        let stages: Vec<Stage> = ErrorCode::ALL.iter().map(|c| c.stage()).collect();
        let mut sorted = stages.clone();
        sorted.sort();
        assert_eq!(stages, sorted);
    }

    #[test]
    fn pre_proof_codes_disclose_nothing() {
        for c in [ErrorCode::KeyUnknown, ErrorCode::SignatureInvalid, ErrorCode::TokenSignatureInvalid] {
            assert!(!c.caller_proven());
        }
        assert!(ErrorCode::KeyRevoked.caller_proven());
    }
}
