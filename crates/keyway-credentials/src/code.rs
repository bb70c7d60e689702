//! The refusal codes this crate returns, as `errors.md` spells them.

use std::fmt;

/// A refusal code of `errors.md`: stage 2's `credential_malformed` and the
/// stage 3 codes of tokens and request signatures. Each refusal type of
/// this crate maps onto exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// `credential_malformed`: the token or signature headers cannot be parsed.
    CredentialMalformed,
    /// `token_signature_invalid`
    TokenSignatureInvalid,
    /// `token_algorithm_rejected`
    TokenAlgorithmRejected,
    /// `token_key_unknown`
    TokenKeyUnknown,
    /// `token_issuer_untrusted`
    TokenIssuerUntrusted,
    /// `token_audience_mismatch`
    TokenAudienceMismatch,
    /// `token_expired`
    TokenExpired,
    /// `token_not_yet_valid`
    TokenNotYetValid,
    /// `token_subject_unknown`
    TokenSubjectUnknown,
    /// `token_inactive`
    TokenInactive,
    /// `signature_invalid`
    SignatureInvalid,
    /// `signature_headers_missing`
    SignatureHeadersMissing,
    /// `request_timestamp_skewed`
    RequestTimestampSkewed,
    /// `signature_replayed`
    SignatureReplayed,
}

impl Code {
    /// Every code, in the order of `errors.md`.
    pub const ALL: [Code; 14] = [
        Code::CredentialMalformed,
        Code::TokenSignatureInvalid,
        Code::TokenAlgorithmRejected,
        Code::TokenKeyUnknown,
        Code::TokenIssuerUntrusted,
        Code::TokenAudienceMismatch,
        Code::TokenExpired,
        Code::TokenNotYetValid,
        Code::TokenSubjectUnknown,
        Code::TokenInactive,
        Code::SignatureInvalid,
        Code::SignatureHeadersMissing,
        Code::RequestTimestampSkewed,
        Code::SignatureReplayed,
    ];

    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::CredentialMalformed => "credential_malformed",
            Code::TokenSignatureInvalid => "token_signature_invalid",
            Code::TokenAlgorithmRejected => "token_algorithm_rejected",
            Code::TokenKeyUnknown => "token_key_unknown",
            Code::TokenIssuerUntrusted => "token_issuer_untrusted",
            Code::TokenAudienceMismatch => "token_audience_mismatch",
            Code::TokenExpired => "token_expired",
            Code::TokenNotYetValid => "token_not_yet_valid",
            Code::TokenSubjectUnknown => "token_subject_unknown",
            Code::TokenInactive => "token_inactive",
            Code::SignatureInvalid => "signature_invalid",
            Code::SignatureHeadersMissing => "signature_headers_missing",
            Code::RequestTimestampSkewed => "request_timestamp_skewed",
            Code::SignatureReplayed => "signature_replayed",
        }
    }

    /// Whether the caller has proven it holds the secret (the token's
    /// signature or the request's HMAC verified) when this code is
    /// returned, and so may read the details its refusal carries.
    pub fn caller_proven(self) -> bool {
        matches!(
            self,
            Code::TokenAudienceMismatch
                | Code::TokenExpired
                | Code::TokenNotYetValid
                | Code::TokenSubjectUnknown
                | Code::RequestTimestampSkewed
                | Code::SignatureReplayed
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
