//! Stage 3, credential verified: does the key match a stored key, and is
//! that key live (not revoked, rotated past grace, or expired)?
//!
//! Lookup is by keyed digest; an unknown key and a right-prefix,
//! wrong-secret key take the same path and get the same answer.

use crate::snapshot::{KeyEntry, Snapshot};
use keyway_core::key_format::{digests_equal, KeyHasher, ParsedKey};
use keyway_core::model::KeyState;
use keyway_core::{fmt_time, ErrorCode, Refusal, Timestamp};
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
    let prefix = &k.prefix;
    match k.state_at(now) {
        KeyState::Active | KeyState::Rotating => Ok(()),
        KeyState::Revoked => {
            let at = k.revoked_at.map(|t| fmt_time(&t)).unwrap_or_default();
            let reason = k.revoked_reason.as_deref().unwrap_or("no reason given");
            let by = k.revoked_by.as_deref().unwrap_or("unknown");
            Err(Refusal::new(
                ErrorCode::KeyRevoked,
                format!("Key {prefix}... was revoked at {at}: {reason}."),
                format!("key {} ({prefix}) revoked at {at} by {by}: {reason:?}", k.id),
            )
            .hint("Ask the app's owner for a new key.")
            .fix(format!("issue a new key for app {}", k.app_id)))
        }
        KeyState::Rotated => {
            let ended = k.grace_until.map(|t| fmt_time(&t)).unwrap_or_default();
            let successor = k.rotated_to.as_ref().and_then(|id| snapshot.key_by_id(id));
            let successor_prefix = successor.map(|s| s.key.prefix.clone());
            let use_text = match &successor_prefix {
                Some(p) => format!("Use the newer key {p}... that replaced it."),
                None => "Use the key that replaced it.".to_owned(),
            };
            Err(Refusal::new(
                ErrorCode::KeyRotated,
                format!("Key {prefix}... was replaced by rotation; its grace period ended at {ended}."),
                format!(
                    "key {} ({prefix}) rotated to {}; grace ended {ended}",
                    k.id,
                    k.rotated_to.as_ref().map(|i| i.as_str()).unwrap_or("?")
                ),
            )
            .hint(use_text)
            .fix("deploy the newer key to the caller"))
        }
        KeyState::Expired => {
            let at = k.expires_at.map(|t| fmt_time(&t)).unwrap_or_default();
            let server = fmt_time(&now);
            Err(Refusal::new(
                ErrorCode::KeyExpired,
                format!("Key {prefix}... expired at {at} (server time {server})."),
                format!("key {} ({prefix}) expired at {at}; server time {server}", k.id),
            )
            .hint("Ask the app's owner for a new key.")
            .fix(format!("issue a new key for app {}, or extend expires_at", k.app_id)))
        }
    }
}
