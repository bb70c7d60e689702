//! HMAC-SHA256 keys of `hmac-keys`, keyed once and verified in constant
//! time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

/// An HMAC-SHA256 key with its keyed state computed once. Its `Debug`
/// shows nothing of the key.
#[derive(Clone)]
pub struct HmacKey {
    keyed: Hmac<Sha256>,
}

/// The secret of an HMAC key is not standard base64, or is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadSecret;

impl HmacKey {
    /// A key of these bytes.
    pub fn from_bytes(secret: &[u8]) -> HmacKey {
        // HMAC takes keys of any length: this cannot fail.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
        HmacKey { keyed }
    }

    /// A key from its `secret` as the admin API shows it: standard base64.
    pub fn from_base64(secret: &str) -> Result<HmacKey, BadSecret> {
        match STANDARD.decode(secret) {
            Ok(bytes) if !bytes.is_empty() => Ok(HmacKey::from_bytes(&bytes)),
            _ => Err(BadSecret),
        }
    }

    /// The HMAC-SHA256 of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `signature` is the HMAC of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // new_from_slice only fails for fixed-size-key MACs; HMAC has none.
    <Hmac<Sha256> as Mac>::new(&Default::default())
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

impl fmt::Display for BadSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an HMAC secret is non-empty standard base64")
    }
}

impl std::error::Error for BadSecret {}

/// Where a verifier finds the HMAC key of a `keyid`.
pub trait HmacKeys {
    /// The key whose id is `key_id` (`hk_...`), if it exists and is live.
    fn hmac_key(&self, key_id: &str) -> Option<&HmacKey>;
}

impl<S: BuildHasher> HmacKeys for HashMap<String, HmacKey, S> {
    fn hmac_key(&self, key_id: &str) -> Option<&HmacKey> {
        self.get(key_id)
    }
}
