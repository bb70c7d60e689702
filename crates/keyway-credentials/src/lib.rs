//! Verification of the credentials Keyway accepts beyond API keys: JWTs
//! from trusted issuers ([`jwt`]) and RFC 9421 HMAC request signatures
//! ([`http_signature`]).
//!
//! The crate is pure verification. Key material is parsed once, from the
//! admin data, into structs ([`jwt::Issuer`], [`http_signature::HmacKey`])
//! that a gateway phase holds and calls per request, borrowing the
//! request's parts. Every refusal is a typed value whose [`Code`] is one
//! code of stage 3 of `errors.md` (or `credential_malformed` of stage 2),
//! carrying the evidence the disclosure rule allows at the point it is
//! returned: nothing about `exp`, audiences or windows before the
//! signature verified.
//!
//! Clocks are injected: every check that reads the time takes `now` (Unix
//! seconds) as an argument.

pub mod http_signature;
pub mod jwt;

mod code;

pub use code::Code;
