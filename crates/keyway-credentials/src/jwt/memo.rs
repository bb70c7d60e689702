//! Tokens an issuer has verified, so that a caller's token is verified
//! once, not on each of its requests: a public-key signature costs ~20-40
//! us (`bench/credentials.sh`), a lookup here well under one.
//!
//! An entry is kept by the token's SHA-256 and answers only while the
//! issuer holds the same key set it was verified with (a rotation or a
//! refresh misses) and strictly before its `exp` (at and after it, the
//! full checks run, so an expired token gets `token_expired` with its
//! evidence, leeway included). Every other check is the issuer's own
//! policy, fixed for the issuer's life (a changed record builds a new
//! issuer, with an empty memo), or a time check that only a later clock
//! could change the other way (`nbf`, `iat`). Tokens without `exp` are
//! not kept. Refusals are never kept. Bounded: when full, expired entries
//! go, and if none has expired, all of them.

use super::claims::VerifiedToken;
use super::keys::KeySet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Most tokens one issuer keeps.
pub(crate) const CAPACITY: usize = 4_096;

struct Entry {
    keys: Arc<KeySet>,
    exp: u64,
    token: VerifiedToken,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct VerifiedMemo {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for VerifiedMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens or their claims.
        f.debug_struct("VerifiedMemo").field("tokens", &self.lock().len()).finish()
    }
}

impl VerifiedMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `token`, if verified with `keys` and not yet at its `exp` at `now`.
    pub(crate) fn get(&self, token: &str, keys: &Arc<KeySet>, now: u64) -> Option<VerifiedToken> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let entries = self.lock();
        let e = entries.get(&digest)?;
        (Arc::ptr_eq(&e.keys, keys) && now < e.exp).then(|| e.token.clone())
    }

    /// Keeps `verified`, `token` verified with `keys` at `now`.
    pub(crate) fn put(&self, token: &str, keys: &Arc<KeySet>, verified: &VerifiedToken, now: u64) {
        let Some(exp) = verified.exp.filter(|exp| *exp > now) else { return };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.exp > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, Entry { keys: keys.clone(), exp, token: verified.clone() });
    }

    /// Tokens kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Alg, Issuer, IssuerConfig, TokenRefusal};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &[u8] = b"a-shared-secret-of-thirty-two-by";
    const NOW: u64 = 1_800_000_000;

    fn issuer() -> Issuer {
        let mut config = IssuerConfig::new("https://idp.test", &[Alg::HS256]);
        config.jwks = Some(json!({"keys": [{"kty": "oct", "k": URL_SAFE_NO_PAD.encode(SECRET)}]}));
        Issuer::new(&config).unwrap()
    }

    fn token(exp: u64, secret: &[u8]) -> String {
        let claims = json!({"iss": "https://idp.test", "sub": "svc", "exp": exp, "iat": NOW - 5});
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn a_verified_token_is_answered_from_memory_until_its_exp_and_refusals_are_never_kept() {
        let issuer = issuer();
        let t = token(NOW + 60, SECRET);
        let first = issuer.verify(&t, NOW).unwrap();
        assert_eq!(issuer.memo.len(), 1);
        assert_eq!(issuer.verify(&t, NOW + 30).unwrap(), first, "the same answer, from memory");
        // At exp the full checks run again: expired, with the evidence (leeway 60 s).
        assert_eq!(issuer.verify(&t, NOW + 60).unwrap(), first, "within the leeway");
        assert!(matches!(issuer.verify(&t, NOW + 121), Err(TokenRefusal::Expired { .. })));

        let forged = token(NOW + 60, b"another-secret-of-thirty-two-byt");
        for _ in 0..2 {
            assert!(matches!(issuer.verify(&forged, NOW), Err(TokenRefusal::SignatureInvalid)));
        }
        assert_eq!(issuer.memo.len(), 1, "only the good token is kept");
    }

    #[test]
    fn a_token_verified_under_other_keys_is_checked_again() {
        let issuer = issuer();
        let t = token(NOW + 60, SECRET);
        issuer.verify(&t, NOW).unwrap();
        // Another key set (as after a JWKS refresh): no answer from memory.
        let other = std::sync::Arc::new(super::KeySet::from_jwks_value(&json!({"keys": [{"kty": "oct", "k": "AAAA"}]})).unwrap());
        assert!(issuer.memo.get(&t, &other, NOW).is_none());
        assert!(issuer.memo.get(&t, &issuer.keys(), NOW).is_some());
    }

    #[test]
    fn the_memo_is_bounded() {
        let issuer = issuer();
        for i in 0..(super::CAPACITY as u64 + 10) {
            issuer.verify(&token(NOW + 60 + i, SECRET), NOW).unwrap();
        }
        assert!(issuer.memo.len() <= super::CAPACITY, "{}", issuer.memo.len());
    }
}
