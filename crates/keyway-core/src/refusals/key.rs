//! Stage 3, credential verified: `key_unknown`, `key_revoked`,
//! `key_rotated`, `key_expired`. Past `key_unknown` the caller has proven
//! it holds a real key, so the text names the key's state.

use crate::model::ApiKey;
use crate::{fmt_time, ErrorCode, Refusal, Timestamp};

impl Refusal {
    /// `key_unknown`: a well-formed key that matches nothing, or matches an
    /// id with the wrong secret; the two must be indistinguishable.
    pub fn key_unknown() -> Self {
        Self::new(ErrorCode::KeyUnknown, "The API key is not valid.", "the key's digest matches no stored key")
            .hint("Check that you copied the whole key, and that it belongs to this gateway.")
            .fix("issue the caller a key, or check which gateway the key was created on")
    }

    /// `key_revoked`: `key` was revoked.
    pub fn key_revoked(key: &ApiKey) -> Self {
        let prefix = &key.prefix;
        let at = key.revoked_at().map(|t| fmt_time(&t)).unwrap_or_default();
        let reason = key.revoked_reason().unwrap_or("no reason given");
        let by = key.revoked_by().unwrap_or("unknown");
        Self::new(
            ErrorCode::KeyRevoked,
            format!("Key {prefix}... was revoked at {at}: {reason}."),
            format!("key {} ({prefix}) revoked at {at} by {by}: {reason:?}", key.id),
        )
        .hint("Ask the app's owner for a new key.")
        .fix(format!("issue a new key for app {}", key.app_id))
    }

    /// `key_rotated`: `key` was replaced and its grace period is over;
    /// `successor_prefix` is the newer key's display prefix, if it exists.
    pub fn key_rotated(key: &ApiKey, successor_prefix: Option<&str>) -> Self {
        let prefix = &key.prefix;
        let ended = key.grace_until().map(|t| fmt_time(&t)).unwrap_or_default();
        let use_text = match successor_prefix {
            Some(p) => format!("Use the newer key {p}... that replaced it."),
            None => "Use the key that replaced it.".to_owned(),
        };
        Self::new(
            ErrorCode::KeyRotated,
            format!("Key {prefix}... was replaced by rotation; its grace period ended at {ended}."),
            format!(
                "key {} ({prefix}) rotated to {}; grace ended {ended}",
                key.id,
                key.rotated_to().map(|i| i.as_str()).unwrap_or("?")
            ),
        )
        .hint(use_text)
        .fix("deploy the newer key to the caller")
    }

    /// `key_expired`: `key` expired before `now`.
    pub fn key_expired(key: &ApiKey, now: Timestamp) -> Self {
        let prefix = &key.prefix;
        let at = key.expires_at().map(|t| fmt_time(&t)).unwrap_or_default();
        let server = fmt_time(&now);
        Self::new(
            ErrorCode::KeyExpired,
            format!("Key {prefix}... expired at {at} (server time {server})."),
            format!("key {} ({prefix}) expired at {at}; server time {server}", key.id),
        )
        .hint("Ask the app's owner for a new key.")
        .fix(format!("issue a new key for app {}, or extend expires_at", key.app_id))
    }
}
