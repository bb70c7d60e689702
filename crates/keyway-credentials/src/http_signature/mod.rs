//! RFC 9421 HTTP message signatures with `hmac-sha256`, under the policy
//! of `admin-api.md`.
//!
//! A [`SignatureVerifier`] (one per API: its window) checks a
//! [`SignedRequest`] (borrowed parts of the request) against the app's
//! [`HmacKey`]s (keyed once from the stored secrets) and a
//! [`NonceStore`]. Order of checks: the signature headers parse
//! (`credential_malformed`); the required parameters (`created`, `nonce`,
//! `keyid`) and covered components (`@method`, `@authority`, `@path`,
//! `@query` with a query, `content-digest` with a body) are there and
//! every covered header is present (`signature_headers_missing`); the
//! signature base is built and the HMAC compared in constant time, an
//! unknown `keyid` taking the same work (`signature_invalid`, carrying
//! the base). Only then, the caller having proven it holds the key:
//! `created` within the window (`request_timestamp_skewed`), the body
//! against `Content-Digest` (`signature_invalid` with the digest
//! computed), and the nonce (`signature_replayed`).

mod base;
mod component;
mod digest;
mod hmac_key;
mod input;
mod nonce;
mod refusal;
mod request;
mod verifier;

pub use base::signature_base;
pub use component::Component;
pub use digest::{content_digest, DigestAlg};
pub use hmac_key::{BadSecret, HmacKey, HmacKeys};
pub use input::{SignatureInput, MAX_NONCE_LEN};
pub use nonce::{MemoryNonceStore, NonceStore, NonceStoreError};
pub use refusal::{InvalidCause, Missing, SignatureInvalid, SignatureMalformed, SignatureRefusal, Skew, TimeParameter};
pub use request::SignedRequest;
pub use verifier::{SignatureVerifier, Verified, VerifyError, DEFAULT_WINDOW_SECONDS};
