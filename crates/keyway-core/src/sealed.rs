//! Secrets Keyway must use again and so cannot keep as digests (provider
//! API keys, HMAC signing keys), sealed at rest with AES-256-GCM.
//!
//! The key is derived with HKDF-SHA256 from the server secret (or a
//! configured master key) under a purpose label, so the digest key and
//! the sealing key never coincide. Each sealed value is
//! `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, with a fresh random
//! nonce, and is bound to where it is stored by associated data (the
//! record's id): a value copied onto another record does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::fmt;

/// The purpose label of the key that seals provider credentials (AI
/// provider API keys): pass it to [`Sealer::derive`].
pub const PROVIDER_CREDENTIALS: &[u8] = b"keyway provider credentials v1";

/// The purpose label of the key that seals apps' HMAC signing keys
/// (`POST /admin/v1/apps/{id}/hmac-keys`).
pub const HMAC_KEYS: &[u8] = b"keyway hmac keys v1";

/// The layout version written first in every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why a sealed value did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Too short, or of an unknown layout version.
    Malformed,
    /// The tag did not verify: another key, another record, or tampering.
    Rejected,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpenError::Malformed => "sealed value is malformed",
            OpenError::Rejected => "sealed value does not open with this key for this record",
        })
    }
}

impl std::error::Error for OpenError {}

/// Seals and opens secrets for one purpose.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer keyed from `root` (the server secret or a master key) for
    /// `purpose` (e.g. [`PROVIDER_CREDENTIALS`]).
    pub fn derive(root: &[u8], purpose: &[u8]) -> Self {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"keyway sealed v1"), root);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8,160-byte limit.
        if hk.expand(purpose, &mut key).is_err() {
            key = [0u8; 32];
        }
        let cipher = Aes256Gcm::new(&key.into());
        Self { cipher }
    }

    /// `plaintext` sealed for the record `bound_to`.
    pub fn seal(&self, plaintext: &[u8], bound_to: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        // Encryption with a valid key and nonce does not fail for inputs
        // under AES-GCM's 64 GiB limit.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: bound_to.as_bytes() })
            .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of `sealed`, stored on the record `bound_to`.
    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: bound_to.as_bytes() })
            .map_err(|_| OpenError::Rejected)
    }
}

/// The last four characters of a secret, for admin reads (`…wxyz`); the
/// whole of a secret shorter than 12 characters is never shown.
pub fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return String::new();
    }
    chars[chars.len() - 4..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::derive(b"server secret", PROVIDER_CREDENTIALS)
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_record_and_key() {
        let s = sealer();
        let sealed = s.seal(b"sk-live-123456", "prc_1");
        assert_eq!(s.open(&sealed, "prc_1").unwrap(), b"sk-live-123456");
        assert_eq!(s.open(&sealed, "prc_2"), Err(OpenError::Rejected), "bound to its record");
        let other = Sealer::derive(b"another secret", PROVIDER_CREDENTIALS);
        assert_eq!(other.open(&sealed, "prc_1"), Err(OpenError::Rejected), "another root key");
        let purpose = Sealer::derive(b"server secret", b"keyway hmac keys v1");
        assert_eq!(purpose.open(&sealed, "prc_1"), Err(OpenError::Rejected), "another purpose");
    }

    #[test]
    fn the_plaintext_is_not_in_the_sealed_value_and_nonces_differ() {
        let s = sealer();
        let a = s.seal(b"sk-live-123456", "prc_1");
        let b = s.seal(b"sk-live-123456", "prc_1");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.windows(6).any(|w| w == b"sk-liv"));
        assert_eq!(a.len(), 1 + 12 + 14 + 16);
    }

    #[test]
    fn tampering_and_truncation_are_refused() {
        let s = sealer();
        let mut sealed = s.seal(b"secret", "prc_1");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(s.open(&sealed, "prc_1"), Err(OpenError::Rejected));
        assert_eq!(s.open(&sealed[..10], "prc_1"), Err(OpenError::Malformed));
        let mut wrong_version = s.seal(b"secret", "prc_1");
        wrong_version[0] = 9;
        assert_eq!(s.open(&wrong_version, "prc_1"), Err(OpenError::Malformed));
    }

    #[test]
    fn last4_shows_only_the_end_of_long_secrets() {
        assert_eq!(last4("sk-proj-abcdefghijklmnop"), "mnop");
        assert_eq!(last4("short"), "");
    }
}
