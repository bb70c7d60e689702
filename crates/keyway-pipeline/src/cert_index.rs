//! The mTLS side of the snapshot: each live client certificate binding by
//! the SHA-256 of its certificate, so the request path finds a trusted
//! certificate's app with one lookup. The table is a sharded [`Table`]
//! keyed by the fingerprint's 32 bytes (already uniform, so its first
//! eight are the shard hash): a binding written copies one shard, never
//! the table.

use crate::shard_key::ShardKey;
use crate::table::Table;
use keyway_core::certificates::ClientCertificate;
use std::sync::Arc;

/// A SHA-256 fingerprint as 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sha256Key(pub [u8; 32]);

impl Sha256Key {
    /// From 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).ok()?;
        Some(Self(out))
    }
}

impl ShardKey for Sha256Key {
    fn shard_hash(&self) -> u64 {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(first)
    }
}

/// Live bindings by fingerprint.
#[derive(Clone, Debug, Default)]
pub struct CertIndex {
    live: Table<Sha256Key, Arc<ClientCertificate>>,
}

impl CertIndex {
    /// An index of the live ones among `bindings`.
    pub fn build(bindings: Vec<ClientCertificate>) -> Self {
        let mut index = Self::default();
        for b in bindings {
            index.apply(&b);
        }
        index
    }

    /// The live binding of the certificate with fingerprint `sha256`
    /// (lowercase hex, as the listener gives it).
    pub fn bound(&self, sha256: &str) -> Option<&Arc<ClientCertificate>> {
        self.live.get(&Sha256Key::from_hex(sha256)?)
    }

    /// Applies a binding written: in while live; out once deleted (only
    /// if the entry held is this binding's, so a deleted old binding does
    /// not unbind a newer one of the same certificate).
    pub fn apply(&mut self, binding: &ClientCertificate) {
        let Some(key) = Sha256Key::from_hex(&binding.sha256_fingerprint) else {
            tracing::warn!(certificate = %binding.id, "a stored certificate binding has no valid fingerprint; skipped");
            return;
        };
        if binding.is_live() {
            self.live.insert(key, Arc::new(binding.clone()));
        } else if self.live.get(&key).is_some_and(|held| held.id == binding.id) {
            self.live.remove(&key);
        }
    }

    /// How many live bindings there are.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::ids::{AppId, CertificateId, TenantId};

    fn binding(fp: &str) -> ClientCertificate {
        ClientCertificate {
            id: CertificateId::generate(),
            app_id: AppId::generate(),
            tenant_id: TenantId::generate(),
            sha256_fingerprint: fp.into(),
            scopes: Vec::new(),
            created_at: chrono::Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn bindings_come_and_go_by_fingerprint() {
        let fp = "0f".repeat(32);
        let old = binding(&fp);
        let mut index = CertIndex::build(vec![old.clone()]);
        assert_eq!(index.bound(&fp).map(|b| &b.id), Some(&old.id));
        assert!(index.bound(&"0F".repeat(32)).is_some(), "hex of either case is the same key");
        assert!(index.bound("0f").is_none() && index.bound(&"zz".repeat(32)).is_none());
        let new = binding(&fp);
        index.apply(&ClientCertificate { deleted_at: Some(chrono::Utc::now()), ..old.clone() });
        assert!(index.bound(&fp).is_none(), "deleted: unbound");
        index.apply(&new);
        index.apply(&ClientCertificate { deleted_at: Some(chrono::Utc::now()), ..old });
        assert_eq!(index.bound(&fp).map(|b| &b.id), Some(&new.id), "an old binding deleted again leaves the new one");
        assert_eq!(index.len(), 1);
        let before = index.clone();
        index.apply(&binding(&"aa".repeat(32)));
        assert_eq!((before.len(), index.len()), (1, 2), "older versions unchanged");
    }
}
