//! Stage 3, credential verified: does the key match a stored key, and is
//! that key live (not revoked, rotated past grace, or expired)?
//!
//! Lookup is by keyed digest; an unknown key and a right-prefix,
//! wrong-secret key take the same path and get the same answer.

use crate::snapshot::{KeyEntry, Snapshot};
use keyway_core::key_format::{digests_equal, KeyHasher, ParsedKey};
use keyway_core::model::KeyState;
use keyway_core::{Refusal, Timestamp};
use std::sync::Arc;

/// Finds the stored key the presented one digests to. Past this point
/// the caller has proven it holds a real key.
pub fn lookup(snapshot: &Snapshot, hasher: &KeyHasher, key: &ParsedKey<'_>) -> Result<Arc<KeyEntry>, Refusal> {
    let digest = hasher.digest(key.text);
    match snapshot.keys.get(&digest) {
        Some(e) if digests_equal(&e.key.digest, &digest) => Ok(e.clone()),
        _ => Err(Refusal::key_unknown()),
    }
}

/// Checks that a found key is live: not revoked, rotated past its grace
/// period, or expired.
pub fn check_live(snapshot: &Snapshot, entry: &KeyEntry, now: Timestamp) -> Result<(), Refusal> {
    let k = &entry.key;
    match k.state_at(now) {
        KeyState::Active | KeyState::Rotating => Ok(()),
        KeyState::Revoked => Err(Refusal::key_revoked(k)),
        KeyState::Rotated => {
            let successor = k.rotated_to().and_then(|id| snapshot.key_by_id(id));
            Err(Refusal::key_rotated(k, successor.map(|s| &*s.key.prefix)))
        }
        KeyState::Expired => Err(Refusal::key_expired(k, now)),
    }
}
