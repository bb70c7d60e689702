//! JWT (JWS compact) verification against trusted issuers.
//!
//! An [`Issuer`] is built once from an issuer's admin record
//! ([`IssuerConfig`]): its allowed algorithms, audiences, leeway, claim
//! names and key set, inline ([`KeySet`]) or fetched from a `jwks_url`
//! ([`JwksCache`]). [`TrustedIssuers`] is the set an API trusts; it picks
//! the issuer by the token's `iss`.
//!
//! Checks run in the order of `errors.md` and its disclosure rule: the
//! token's shape (`credential_malformed`), its `alg` (`none` and
//! algorithms outside the issuer's list refused), the issuer
//! ([`TrustedIssuers`] only), the key (`kid`), the signature; only then
//! the claims (`iss`, `aud`, `exp`, `nbf`/`iat`), so nothing about them
//! is disclosed to a caller who did not prove it holds a signing key.

mod algorithm;
mod claims;
mod compact;
mod config;
mod fetch;
mod introspection;
mod issuer;
mod jwks_cache;
mod keys;
mod memo;
mod refusal;
mod trusted;

pub use algorithm::{Alg, KeyType};
pub use claims::VerifiedToken;
pub use config::{IssuerConfig, IssuerError};
pub use introspection::{interpret_introspection, Introspected};
pub use issuer::Issuer;
pub use jwks_cache::{JwksCache, RefreshOutcome, RefreshPolicy};
pub use keys::{JwksError, Key, KeySet, SkippedKey};
pub use refusal::{AlgorithmRejected, InactiveReason, Part, TimeClaim, TokenMalformed, TokenRefusal};
pub use trusted::TrustedIssuers;
