//! Key material from a JWKS (RFC 7517), parsed once into verifying keys.

use super::algorithm::{Alg, KeyType};
use super::refusal::{AlgorithmRejected, TokenRefusal};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::fmt;

/// One verifying key of a set. Its `Debug` never shows key bytes (an
/// HMAC key is a secret).
pub struct Key {
    kid: Option<String>,
    key_type: KeyType,
    alg: Option<String>,
    decoding: DecodingKey,
}

/// A key of a JWKS that was not loaded, and why (for the operator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, if any.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// The verifying keys of one issuer, built once from its JWKS.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    skipped: Vec<SkippedKey>,
}

/// Why a JWKS could not be loaded or fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksError {
    /// The document is not JSON with a `keys` array.
    NotAKeySet(String),
    /// The HTTP exchange failed.
    Fetch(String),
    /// The IdP answered with a status other than 200.
    Status(u16),
    /// The document is larger than the limit.
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// No answer within the fetch timeout.
    Timeout,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [..]}`). Keys this crate cannot
    /// verify with (encryption keys, P-521, unknown `kty`) are skipped and
    /// listed in [`KeySet::skipped`]; they never fail the whole set.
    pub fn from_jwks_json(text: &str) -> Result<KeySet, JwksError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| JwksError::NotAKeySet(e.to_string()))?;
        KeySet::from_jwks_value(&value)
    }

    /// As [`KeySet::from_jwks_json`], from parsed JSON.
    pub fn from_jwks_value(value: &serde_json::Value) -> Result<KeySet, JwksError> {
        let raw = RawSet::deserialize(value).map_err(|e| JwksError::NotAKeySet(e.to_string()))?;
        let mut set = KeySet::default();
        for entry in raw.keys {
            let jwk = match RawJwk::deserialize(&entry) {
                Ok(j) => j,
                Err(e) => {
                    set.skipped.push(SkippedKey { kid: None, reason: format!("not a JWK: {e}") });
                    continue;
                }
            };
            let kid = jwk.kid.clone();
            match Key::from_jwk(jwk) {
                Ok(k) => set.keys.push(k),
                Err(reason) => set.skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok(set)
    }

    /// The loaded keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The keys that were not loaded, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Whether no key was loaded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys a token signed with `alg` and naming `kid` may be verified
    /// with. A `kid` not in the set is [`TokenRefusal::KeyUnknown`]; a key
    /// of the wrong type is [`AlgorithmRejected::KeyMismatch`] (never
    /// tried). Without a `kid`, every key of the right type is a candidate.
    pub(crate) fn candidates(&self, kid: Option<&str>, alg: Alg) -> Result<Vec<&Key>, TokenRefusal> {
        let mismatch = |key: &Key| TokenRefusal::AlgorithmRejected(AlgorithmRejected::KeyMismatch { alg, key: key.key_type });
        match kid {
            Some(kid) => {
                let named: Vec<&Key> = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect();
                if named.is_empty() {
                    return Err(TokenRefusal::KeyUnknown { kid: Some(kid.to_owned()) });
                }
                let fitting: Vec<&Key> = named.iter().copied().filter(|k| k.fits(alg)).collect();
                match (fitting.is_empty(), named.first()) {
                    (true, Some(first)) => Err(mismatch(first)),
                    _ => Ok(fitting),
                }
            }
            None => {
                let fitting: Vec<&Key> = self.keys.iter().filter(|k| k.fits(alg)).collect();
                match (fitting.is_empty(), self.keys.first()) {
                    (false, _) => Ok(fitting),
                    (true, Some(first)) => Err(mismatch(first)),
                    (true, None) => Err(TokenRefusal::KeyUnknown { kid: None }),
                }
            }
        }
    }
}

impl Key {
    fn from_jwk(jwk: RawJwk) -> Result<Key, String> {
        if let Some(u) = jwk.use_.as_deref().filter(|u| *u != "sig") {
            return Err(format!("use {u:?} is not sig"));
        }
        let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("no {name}"));
        let bad = |e: jsonwebtoken::errors::Error| format!("unusable key: {e}");
        let kty = need(jwk.kty, "kty")?;
        let (key_type, decoding) = match (kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => (KeyType::Rsa, DecodingKey::from_rsa_components(&need(jwk.n, "n")?, &need(jwk.e, "e")?).map_err(bad)?),
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let t = if crv == "P-256" { KeyType::EcP256 } else { KeyType::EcP384 };
                (t, DecodingKey::from_ec_components(&need(jwk.x, "x")?, &need(jwk.y, "y")?).map_err(bad)?)
            }
            ("OKP", Some("Ed25519")) => (KeyType::Ed25519, DecodingKey::from_ed_components(&need(jwk.x, "x")?).map_err(bad)?),
            ("oct", _) => {
                let secret = URL_SAFE_NO_PAD.decode(need(jwk.k, "k")?).map_err(|_| "k is not base64url".to_owned())?;
                (KeyType::Hmac, DecodingKey::from_secret(&secret))
            }
            (kty, crv) => return Err(format!("kty {kty:?} crv {crv:?} is not supported")),
        };
        Ok(Key { kid: jwk.kid, key_type, alg: jwk.alg, decoding })
    }

    /// The key's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Whether a token signed with `alg` may be verified with this key:
    /// the types match and the key's own `alg`, if it names one, is `alg`.
    fn fits(&self, alg: Alg) -> bool {
        self.key_type == alg.key_type() && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// Whether `signature` (base64url) signs `message` under `alg`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &str, alg: Alg) -> bool {
        jsonwebtoken::crypto::verify(signature, message, &self.decoding, alg.to_jsonwebtoken()).unwrap_or(false)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::NotAKeySet(e) => write!(f, "not a JWKS: {e}"),
            JwksError::Fetch(e) => write!(f, "fetching the JWKS failed: {e}"),
            JwksError::Status(s) => write!(f, "the JWKS URL answered {s}"),
            JwksError::TooLarge { limit } => write!(f, "the JWKS is larger than {limit} bytes"),
            JwksError::Timeout => f.write_str("the JWKS URL did not answer in time"),
        }
    }
}

impl std::error::Error for JwksError {}
