//! Stage 2, credential presented: `credential_missing`,
//! `credential_in_wrong_place`, `credential_malformed`,
//! `credential_ambiguous`, `key_environment_mismatch`. Every one describes
//! only what the request carries.

use super::Seen;
use crate::key_format::KeyEnv;
use crate::{ErrorCode, Refusal};

/// How a presented credential is mangled.
#[derive(Debug, Clone, Copy)]
pub enum CredentialProblem<'a> {
    /// Header `header` holds bytes that are not ASCII.
    NonAscii {
        /// The header's name.
        header: &'a str,
    },
    /// `Authorization` holds the key itself, without a scheme.
    NoBearerScheme,
    /// `Authorization` has a scheme other than Bearer.
    WrongScheme {
        /// The scheme sent.
        scheme: &'a str,
    },
    /// The place is present but empty.
    Empty {
        /// The place, e.g. "the Authorization header".
        place: &'a str,
    },
    /// Spaces around the credential.
    StrayWhitespace {
        /// The place.
        place: &'a str,
    },
    /// `Bearer Bearer kw_...`.
    DoubledBearer,
    /// Quotes or angle brackets around the key.
    Quoted {
        /// The place.
        place: &'a str,
    },
    /// Whitespace inside the credential.
    InnerWhitespace {
        /// The place.
        place: &'a str,
    },
    /// The text fails the key format's checks.
    BadFormat {
        /// The place.
        place: &'a str,
        /// What the format check said.
        problem: &'a dyn Seen,
        /// At most the first 12 characters sent, never the secret part.
        prefix: &'a str,
    },
    /// A bearer token that is not a JWS compact token this gateway reads
    /// (not three segments, not base64url, no `alg`...).
    NotAJwt {
        /// What is wrong with it (never the token).
        problem: &'a dyn Seen,
    },
    /// RFC 9421 `Signature-Input` / `Signature` headers that cannot be
    /// read (not structured fields, an `alg` other than `hmac-sha256`...).
    NotASignature {
        /// What is wrong with them (they hold no secret).
        problem: &'a dyn Seen,
    },
}

impl Refusal {
    /// `credential_missing`: nothing key-like in any place `accepted` names.
    pub fn credential_missing(accepted: &str) -> Self {
        Self::new(
            ErrorCode::CredentialMissing,
            "No credential was presented.",
            format!("no credential in any accepted place ({accepted})"),
        )
        .hint(format!("Send your key as {accepted}."))
        .fix("the caller must send its key")
    }

    /// `credential_in_wrong_place`: a key in `place`, which the API does not read.
    pub fn credential_in_wrong_place(place: &str, accepted: &str) -> Self {
        Self::new(
            ErrorCode::CredentialInWrongPlace,
            format!("A key was sent in {place}, which this API does not read."),
            format!("key-like value in {place}; accepted: {accepted}"),
        )
        .hint(format!("Send the key as {accepted}."))
        .fix("move the key to an accepted place, or accept that place in the API's key_locations")
    }

    /// `credential_malformed`: the credential is there but mangled.
    pub fn credential_malformed(problem: CredentialProblem<'_>) -> Self {
        let bearer = "Send Authorization: Bearer <key>.";
        let (detail, hint, evidence) = match problem {
            CredentialProblem::NonAscii { header } => {
                (format!("The {header} header holds non-ASCII bytes."), "Send the key as plain ASCII.", "non-ASCII header".into())
            }
            CredentialProblem::NoBearerScheme => (
                "The Authorization header holds a key without the Bearer scheme.".into(),
                bearer,
                "Authorization header value starts with the key itself".into(),
            ),
            CredentialProblem::WrongScheme { scheme } => (
                format!("The Authorization scheme is {scheme:?}; this API expects Bearer."),
                bearer,
                format!("Authorization scheme {scheme:?}"),
            ),
            CredentialProblem::Empty { place } => {
                (format!("{place} is present but empty."), "Put the key after the scheme.", "empty credential".into())
            }
            CredentialProblem::StrayWhitespace { place } => (
                format!("The credential in {place} has stray whitespace."),
                "Remove spaces around the key; exactly one space follows Bearer.",
                "stray whitespace around the credential".into(),
            ),
            CredentialProblem::DoubledBearer => (
                "The word Bearer appears twice.".into(),
                "Send Authorization: Bearer <key>, with Bearer once.",
                "doubled Bearer scheme".into(),
            ),
            CredentialProblem::Quoted { place } => (
                format!("The credential in {place} is wrapped in quotes or brackets."),
                "Send the bare key, without quotes or angle brackets.",
                "quoted credential".into(),
            ),
            CredentialProblem::InnerWhitespace { place } => (
                format!("The credential in {place} contains whitespace."),
                "A key is one unbroken word.",
                "whitespace inside the credential".into(),
            ),
            CredentialProblem::BadFormat { place, problem, prefix } => (
                format!("The key in {place} is malformed: {problem}."),
                "Copy the key again from where it was issued; keys look like kw_live_ followed by 36 letters and digits.",
                format!("key text in {place} starting {prefix:?} failed format checks: {problem}"),
            ),
            CredentialProblem::NotAJwt { problem } => (
                format!("The bearer token is not a valid JWT: {problem}."),
                "Send Authorization: Bearer <JWT>, the token exactly as your identity provider issued it.",
                format!("bearer token is not a JWT: {problem}"),
            ),
            CredentialProblem::NotASignature { problem } => (
                format!("The request signature headers cannot be read: {problem}."),
                "Sign as RFC 9421 says: Signature-Input: sig1=(\"@method\" ...);created=..;nonce=..;keyid=\"hk_...\";alg=\"hmac-sha256\" and Signature: sig1=:<base64>:.",
                format!("signature headers unreadable: {problem}"),
            ),
        };
        Self::new(ErrorCode::CredentialMalformed, detail, evidence).hint(hint)
    }

    /// `credential_ambiguous`: different credentials in `first` and `second`.
    pub fn credential_ambiguous(first: &str, second: &str) -> Self {
        Self::new(
            ErrorCode::CredentialAmbiguous,
            format!("Two different credentials were presented: in {first} and in {second}."),
            format!("different credentials in {first} and {second}"),
        )
        .hint("Send exactly one credential, in one place; the same key repeated is accepted.")
        .fix("the caller must send one credential")
    }

    /// `key_environment_mismatch`: a `presented` key (display prefix
    /// `prefix`) sent to a `gateway` gateway.
    pub fn key_environment_mismatch(prefix: &str, presented: KeyEnv, gateway: KeyEnv) -> Self {
        Self::new(
            ErrorCode::KeyEnvironmentMismatch,
            format!("A {presented} key was sent to a {gateway} gateway."),
            format!("key {prefix} is a {presented} key; this gateway accepts {gateway} keys"),
        )
        .hint(format!("Use a {gateway} key (kw_{gateway}_...) with this gateway."))
        .fix(format!("issue the caller a {gateway} key, or point it at the {presented} gateway"))
    }
}
