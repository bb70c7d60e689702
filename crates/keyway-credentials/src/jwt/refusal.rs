//! Why a token was refused, typed, one variant per code of `errors.md`.
//!
//! Variants returned before the signature verified carry only what the
//! token itself says (its `alg`, `kid`, `iss`), which the caller already
//! knows; the ones after it carry the evidence the disclosure rule allows
//! a caller who proved it holds a signing key (`exp`, server time,
//! leeway, measured skew, the audiences).

use super::algorithm::{Alg, KeyType};
use crate::Code;
use std::fmt;

/// A refused token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// `credential_malformed`: not a JWS compact token this crate can read.
    Malformed(TokenMalformed),
    /// `token_algorithm_rejected`.
    AlgorithmRejected(AlgorithmRejected),
    /// `token_key_unknown`: no key of the issuer's set has this `kid`. The
    /// caller may refresh a fetched key set once and verify again.
    KeyUnknown {
        /// The token's `kid`, if it named one.
        kid: Option<String>,
    },
    /// `token_signature_invalid`: nothing more is disclosed.
    SignatureInvalid,
    /// `token_issuer_untrusted`: `iss` names no issuer trusted here.
    IssuerUntrusted {
        /// The token's `iss`, if it has one.
        issuer: Option<String>,
    },
    /// `token_audience_mismatch` (after the signature verified).
    AudienceMismatch {
        /// The token's `aud` values.
        presented: Vec<String>,
        /// The audiences the issuer's configuration accepts.
        accepted: Vec<String>,
    },
    /// `token_expired` (after the signature verified).
    Expired {
        /// The token's `exp`, Unix seconds.
        exp: u64,
        /// Server time, Unix seconds.
        now: u64,
        /// Allowed leeway, seconds.
        leeway: u64,
    },
    /// `token_not_yet_valid` (after the signature verified).
    NotYetValid {
        /// Which claim is in the future.
        claim: TimeClaim,
        /// Its value, Unix seconds.
        at: u64,
        /// Server time, Unix seconds.
        now: u64,
        /// Allowed leeway, seconds.
        leeway: u64,
        /// Measured clock skew: `at - now`, seconds.
        skew: u64,
    },
    /// `token_subject_unknown` (after the signature verified): the subject
    /// claim is absent or maps to no app here.
    SubjectUnknown {
        /// The subject claim's name (`sub` by default).
        claim: String,
        /// Its value, if the token has one.
        subject: Option<String>,
    },
    /// `token_inactive`: introspection says the token is not active.
    Inactive(InactiveReason),
}

/// How a token fails to be a readable JWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenMalformed {
    /// Not three dot-separated segments.
    NotThreeSegments,
    /// Longer than the limit this crate reads.
    TooLong {
        /// The limit, bytes.
        limit: usize,
    },
    /// A segment is not unpadded base64url.
    Base64(Part),
    /// A segment is not a JSON object.
    Json(Part),
    /// The header has no string `alg`.
    NoAlg,
    /// The header's `crit` lists an extension this crate does not implement.
    CriticalExtension(String),
    /// A claim this crate reads has the wrong JSON type.
    ClaimType {
        /// The claim's name.
        claim: String,
    },
    /// The issuer requires a claim the (verified) token lacks.
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
}

/// A segment of a JWS compact token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The protected header.
    Header,
    /// The payload (claims).
    Payload,
    /// The signature.
    Signature,
}

/// Why an `alg` is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlgorithmRejected {
    /// `alg: none` (an unsecured JWS): always refused.
    None,
    /// An algorithm this crate does not verify (e.g. `ES512`: P-521 is not
    /// supported by the crypto backend).
    Unsupported(String),
    /// Supported, but not in the issuer's `algorithms`.
    NotAllowed(Alg),
    /// The key named by `kid` (or every key of the set, when there is no
    /// `kid`) is of another type than the algorithm needs: e.g. an HS256
    /// token against an RSA public key (algorithm confusion), or the key's
    /// own `alg` differs.
    KeyMismatch {
        /// The token's algorithm.
        alg: Alg,
        /// The key's type.
        key: KeyType,
    },
}

/// A time claim that can be in the future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeClaim {
    /// `nbf`, not before.
    Nbf,
    /// `iat`, issued at.
    Iat,
}

/// Why introspection found a token inactive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InactiveReason {
    /// The response says `"active": false`.
    NotActive,
    /// The response has no boolean `active` member (RFC 7662 requires it).
    NoActiveMember,
}

impl TokenRefusal {
    /// The `errors.md` code of this refusal.
    pub fn code(&self) -> Code {
        match self {
            TokenRefusal::Malformed(_) => Code::CredentialMalformed,
            TokenRefusal::AlgorithmRejected(_) => Code::TokenAlgorithmRejected,
            TokenRefusal::KeyUnknown { .. } => Code::TokenKeyUnknown,
            TokenRefusal::SignatureInvalid => Code::TokenSignatureInvalid,
            TokenRefusal::IssuerUntrusted { .. } => Code::TokenIssuerUntrusted,
            TokenRefusal::AudienceMismatch { .. } => Code::TokenAudienceMismatch,
            TokenRefusal::Expired { .. } => Code::TokenExpired,
            TokenRefusal::NotYetValid { .. } => Code::TokenNotYetValid,
            TokenRefusal::SubjectUnknown { .. } => Code::TokenSubjectUnknown,
            TokenRefusal::Inactive(_) => Code::TokenInactive,
        }
    }
}

impl fmt::Display for TimeClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeClaim::Nbf => "nbf",
            TimeClaim::Iat => "iat",
        })
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

impl fmt::Display for TokenMalformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenMalformed::NotThreeSegments => f.write_str("a JWT has three dot-separated segments"),
            TokenMalformed::TooLong { limit } => write!(f, "the token is longer than {limit} bytes"),
            TokenMalformed::Base64(p) => write!(f, "the {p} is not unpadded base64url"),
            TokenMalformed::Json(p) => write!(f, "the {p} is not a JSON object"),
            TokenMalformed::NoAlg => f.write_str("the header has no alg"),
            TokenMalformed::CriticalExtension(e) => write!(f, "the header marks {e:?} critical, which is not supported"),
            TokenMalformed::ClaimType { claim } => write!(f, "claim {claim:?} has the wrong type"),
            TokenMalformed::MissingClaim { claim } => write!(f, "the token has no {claim} claim, which this issuer requires"),
        }
    }
}

impl fmt::Display for AlgorithmRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgorithmRejected::None => f.write_str("alg none (an unsigned token) is never accepted"),
            AlgorithmRejected::Unsupported(a) => write!(f, "alg {a:?} is not supported"),
            AlgorithmRejected::NotAllowed(a) => write!(f, "alg {a} is not allowed for this issuer"),
            AlgorithmRejected::KeyMismatch { alg, key } => write!(f, "alg {alg} cannot be verified with the issuer's {key} key"),
        }
    }
}

impl fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            TokenRefusal::Malformed(m) => m.fmt(f),
            TokenRefusal::AlgorithmRejected(a) => a.fmt(f),
            TokenRefusal::KeyUnknown { kid: Some(k) } => write!(f, "no key with kid {k:?}"),
            TokenRefusal::KeyUnknown { kid: None } => f.write_str("no key, and the token names no kid"),
            TokenRefusal::SignatureInvalid => f.write_str("the signature does not verify"),
            TokenRefusal::IssuerUntrusted { issuer: Some(i) } => write!(f, "issuer {i:?} is not trusted here"),
            TokenRefusal::IssuerUntrusted { issuer: None } => f.write_str("the token has no iss"),
            TokenRefusal::AudienceMismatch { presented, accepted } => {
                write!(f, "aud {presented:?} includes none of {accepted:?}")
            }
            TokenRefusal::Expired { exp, now, leeway } => write!(f, "exp {exp} passed; server time {now}, leeway {leeway} s"),
            TokenRefusal::NotYetValid { claim, at, now, leeway, skew } => {
                write!(f, "{claim} {at} is {skew} s after server time {now} (leeway {leeway} s)")
            }
            TokenRefusal::SubjectUnknown { claim, subject: Some(s) } => write!(f, "{claim} {s:?} maps to no app"),
            TokenRefusal::SubjectUnknown { claim, subject: None } => write!(f, "the token has no {claim} claim"),
            TokenRefusal::Inactive(InactiveReason::NotActive) => f.write_str("introspection says inactive"),
            TokenRefusal::Inactive(InactiveReason::NoActiveMember) => {
                f.write_str("the introspection answer has no active member")
            }
        }
    }
}

impl std::error::Error for TokenRefusal {}
