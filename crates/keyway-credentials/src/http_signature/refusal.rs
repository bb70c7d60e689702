//! Why a signed request was refused, typed, one variant per code.
//!
//! Before the HMAC verified, a refusal describes only the request itself
//! (which headers, components or parameters it lacks); `signature_invalid`
//! carries the signature base the gateway computed, which depends only on
//! the request (never on the secret), so the caller can diff it with its
//! own. The time window and the nonce are judged only after the HMAC
//! verified.

use super::digest::DigestAlg;
use crate::Code;
use std::fmt;

/// A refused signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// `credential_malformed`: the signature headers cannot be read.
    Malformed(SignatureMalformed),
    /// `signature_headers_missing`: something the scheme requires is absent.
    HeadersMissing(Missing),
    /// `signature_invalid`.
    Invalid(Box<SignatureInvalid>),
    /// `request_timestamp_skewed` (after the HMAC verified).
    TimestampSkewed(Skew),
    /// `signature_replayed` (after the HMAC verified): the nonce was seen
    /// inside the window.
    Replayed {
        /// The nonce.
        nonce: String,
        /// The window, seconds.
        window: u64,
    },
}

/// What a signed request lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The `Signature-Input` or `Signature` header.
    Header(&'static str),
    /// `Signature` has no member with the label of `Signature-Input`.
    Label(String),
    /// A required signature parameter (`created`, `nonce`, `keyid`).
    Parameter(&'static str),
    /// A component the policy requires is not covered (`@method`,
    /// `@authority`, `@path`, `@query` with a query, `content-digest` with
    /// a body).
    Component(&'static str),
    /// A covered header field is absent from the request.
    Field(String),
}

/// How the signature headers are unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureMalformed {
    /// `Signature-Input` is not an RFC 8941 dictionary of inner lists.
    SignatureInput(String),
    /// `Signature` is not an RFC 8941 dictionary of byte sequences.
    Signature(String),
    /// A covered component is not a string.
    ComponentNotString,
    /// A component this verifier does not derive (`@status`,
    /// `@query-param`, a component parameter...).
    UnsupportedComponent(String),
    /// A component is covered twice.
    DuplicateComponent(String),
    /// A signature parameter has the wrong type (e.g. `created` not an
    /// integer).
    ParameterType(&'static str),
    /// `alg` is present and is not `hmac-sha256`.
    Algorithm(String),
    /// A covered header's value is not visible ASCII.
    FieldValue(String),
    /// `Content-Digest` cannot be read or has no `sha-256`/`sha-512`.
    ContentDigest(String),
    /// The nonce is longer than the limit.
    NonceTooLong {
        /// The limit, bytes.
        limit: usize,
    },
}

/// The evidence of a `signature_invalid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInvalid {
    /// The signature base the gateway computed from the request (RFC 9421
    /// section 2.5): what the caller must have signed. Never the secret.
    pub signature_base: String,
    /// Why. [`InvalidCause::UnknownKey`] and [`InvalidCause::Mismatch`]
    /// are the operator's: a caller must not learn which (the disclosure
    /// rule; both take the same time).
    pub cause: InvalidCause,
}

/// Why a signature is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidCause {
    /// No HMAC key has the signature's `keyid` (operator only).
    UnknownKey,
    /// The HMAC does not match (operator only).
    Mismatch,
    /// The HMAC verified, but the body does not match the signed
    /// `Content-Digest`: the caller may be told, and the digest computed.
    BodyDigestMismatch {
        /// The digest algorithm.
        algorithm: DigestAlg,
        /// The body's digest as the gateway computed it (base64).
        computed: String,
    },
}

/// A signed time outside the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skew {
    /// Which parameter.
    pub parameter: TimeParameter,
    /// Its value, Unix seconds.
    pub at: u64,
    /// Server time, Unix seconds.
    pub now: u64,
    /// The allowed window, seconds.
    pub window: u64,
    /// `now - at`, seconds (negative: signed in the future).
    pub skew: i64,
}

/// A signature's time parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeParameter {
    /// `created`: must be within the window of server time.
    Created,
    /// `expires`: must not have passed.
    Expires,
}

impl SignatureRefusal {
    /// The `errors.md` code of this refusal.
    pub fn code(&self) -> Code {
        match self {
            SignatureRefusal::Malformed(_) => Code::CredentialMalformed,
            SignatureRefusal::HeadersMissing(_) => Code::SignatureHeadersMissing,
            SignatureRefusal::Invalid(_) => Code::SignatureInvalid,
            SignatureRefusal::TimestampSkewed(_) => Code::RequestTimestampSkewed,
            SignatureRefusal::Replayed { .. } => Code::SignatureReplayed,
        }
    }

    pub(crate) fn invalid(signature_base: String, cause: InvalidCause) -> Self {
        SignatureRefusal::Invalid(Box::new(SignatureInvalid { signature_base, cause }))
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Header(h) => write!(f, "no {h} header"),
            Missing::Label(l) => write!(f, "Signature has no member {l:?}"),
            Missing::Parameter(p) => write!(f, "the signature has no {p} parameter"),
            Missing::Component(c) => write!(f, "the signature does not cover {c:?}"),
            Missing::Field(h) => write!(f, "covered header {h:?} is absent"),
        }
    }
}

impl fmt::Display for SignatureMalformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureMalformed::SignatureInput(e) => write!(f, "Signature-Input is not a structured dictionary: {e}"),
            SignatureMalformed::Signature(e) => write!(f, "Signature is not a structured dictionary: {e}"),
            SignatureMalformed::ComponentNotString => f.write_str("a covered component is not a string"),
            SignatureMalformed::UnsupportedComponent(c) => write!(f, "component {c} is not supported"),
            SignatureMalformed::DuplicateComponent(c) => write!(f, "component {c:?} is covered twice"),
            SignatureMalformed::ParameterType(p) => write!(f, "parameter {p} has the wrong type"),
            SignatureMalformed::Algorithm(a) => write!(f, "alg {a:?} is not hmac-sha256"),
            SignatureMalformed::FieldValue(h) => write!(f, "header {h:?} is not visible ASCII"),
            SignatureMalformed::ContentDigest(e) => write!(f, "Content-Digest: {e}"),
            SignatureMalformed::NonceTooLong { limit } => write!(f, "the nonce is longer than {limit} bytes"),
        }
    }
}

impl fmt::Display for SignatureRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            SignatureRefusal::Malformed(m) => m.fmt(f),
            SignatureRefusal::HeadersMissing(m) => m.fmt(f),
            SignatureRefusal::Invalid(i) => match &i.cause {
                InvalidCause::UnknownKey => f.write_str("no key has this keyid"),
                InvalidCause::Mismatch => f.write_str("the HMAC does not match"),
                InvalidCause::BodyDigestMismatch { algorithm, computed } => {
                    write!(f, "the body's {algorithm} digest is {computed}, not the signed one")
                }
            },
            SignatureRefusal::TimestampSkewed(s) => write!(
                f,
                "{} {} is {} s from server time {} (window {} s)",
                match s.parameter {
                    TimeParameter::Created => "created",
                    TimeParameter::Expires => "expires",
                },
                s.at,
                s.skew,
                s.now,
                s.window
            ),
            SignatureRefusal::Replayed { nonce, window } => write!(f, "nonce {nonce:?} was seen within {window} s"),
        }
    }
}

impl std::error::Error for SignatureRefusal {}
