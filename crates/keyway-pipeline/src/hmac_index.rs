//! The HMAC side of the snapshot: every app's HMAC signing key by id
//! (its `keyid`), its secret unsealed once, when the entry is built (at
//! start-up or when its own record is written), never per request.
//!
//! Keys are a [`Table`], so writing one copies one shard of the index,
//! not the index. Revoked keys stay in it: a caller whose signature
//! verifies with a revoked key has proven it holds the secret and is
//! told `key_revoked`; one whose signature does not verify cannot tell a
//! revoked key from an unknown one.

use crate::table::Table;
use keyway_core::hmac_keys::HmacKey;
use keyway_core::ids::HmacKeyId;
use keyway_core::sealed::Sealer;
use keyway_credentials::http_signature::{self, HmacKeys};
use std::sync::Arc;

/// One stored HMAC key and its verifying key.
#[derive(Debug)]
pub struct HmacEntry {
    /// The stored record (secret sealed).
    pub record: HmacKey,
    /// The keyed HMAC, or `None` when the sealed secret does not open
    /// (the sealing key changed, or the row was tampered with): its
    /// signatures are refused as if the key were unknown.
    pub key: Option<http_signature::HmacKey>,
}

/// HMAC keys by id, shared between versions.
#[derive(Clone, Debug, Default)]
pub struct HmacIndex {
    /// Opens the sealed secrets; `None`: none opens (a snapshot built
    /// without the node's settings, e.g. in tests that sign nothing).
    sealer: Option<Sealer>,
    keys: Table<HmacKeyId, Arc<HmacEntry>>,
}

impl HmacIndex {
    /// An index of `records`, their secrets opened with `sealer`.
    pub fn build(records: Vec<HmacKey>, sealer: Sealer) -> Self {
        let mut index = HmacIndex { sealer: Some(sealer), keys: Table::default() };
        for r in records {
            index.apply(&r);
        }
        index
    }

    fn entry(&self, record: HmacKey) -> Arc<HmacEntry> {
        let opened = self.sealer.as_ref().map(|s| s.open(&record.sealed, record.id.as_str()));
        let key = match opened {
            Some(Ok(bytes)) => Some(http_signature::HmacKey::from_bytes(&bytes)),
            Some(Err(e)) => {
                tracing::warn!(hmac_key = %record.id, error = %e, "a stored HMAC key does not open; its signatures are refused");
                None
            }
            None => None,
        };
        Arc::new(HmacEntry { record, key })
    }

    /// Applies an HMAC key written: its entry alone is rebuilt.
    pub fn apply(&mut self, record: &HmacKey) {
        let entry = self.entry(record.clone());
        self.keys.insert(record.id.clone(), entry);
    }

    /// The key whose id is `id`, revoked or not.
    pub fn get(&self, id: &str) -> Option<&Arc<HmacEntry>> {
        self.keys.get(&HmacKeyId::from(id))
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every key that opened, revoked ones included (revocation is judged
/// after the HMAC verified).
impl HmacKeys for HmacIndex {
    fn hmac_key(&self, key_id: &str) -> Option<&http_signature::HmacKey> {
        self.get(key_id)?.key.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use keyway_core::change::{Change, Record};
    use keyway_core::ids::{AppId, TenantId};

    fn record(sealer: &Sealer) -> HmacKey {
        let id = HmacKeyId::generate();
        HmacKey {
            sealed: sealer.seal(b"0123456789abcdef0123456789abcdef", id.as_str()),
            id,
            app_id: AppId::generate(),
            tenant_id: TenantId::generate(),
            scopes: Vec::new(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
            revoked_by: None,
        }
    }

    #[test]
    fn a_key_is_opened_once_and_only_its_own_write_rebuilds_it() {
        let sealer = Sealer::derive(b"secret", keyway_core::sealed::HMAC_KEYS);
        let (a, b) = (record(&sealer), record(&sealer));
        let mut s = Snapshot::default().with_hmac_keys(vec![a.clone()], sealer.clone());
        let first = s.hmac.get(a.id.as_str()).unwrap().clone();
        assert!(first.key.is_some(), "the secret opened");
        s.apply(&Change::Insert(Record::HmacKey(b.clone())));
        assert!(Arc::ptr_eq(&first, s.hmac.get(a.id.as_str()).unwrap()), "another key's write keeps this entry");
        s.apply(&Change::Update(Record::HmacKey(HmacKey { revoked_at: Some(chrono::Utc::now()), ..a.clone() })));
        let after = s.hmac.get(a.id.as_str()).unwrap();
        assert!(after.record.revoked_at.is_some() && s.hmac.hmac_key(a.id.as_str()).is_some(), "revoked keys still verify");
        assert_eq!(s.hmac.len(), 2);
    }

    #[test]
    fn a_secret_sealed_to_another_record_does_not_open() {
        let sealer = Sealer::derive(b"secret", keyway_core::sealed::HMAC_KEYS);
        let a = record(&sealer);
        let moved = HmacKey { id: HmacKeyId::generate(), ..a };
        let s = Snapshot::default().with_hmac_keys(vec![moved.clone()], sealer);
        assert!(s.hmac.get(moved.id.as_str()).is_some() && s.hmac.hmac_key(moved.id.as_str()).is_none());
    }
}
