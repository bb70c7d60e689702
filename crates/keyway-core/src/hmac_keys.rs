//! Apps' HMAC signing keys as stored (`POST /admin/v1/apps/{id}/hmac-keys`):
//! the key of RFC 9421 `hmac-sha256` signatures whose `keyid` is the
//! record's id.
//!
//! The secret must be used again to verify, so it cannot be a digest: it
//! is kept only sealed ([`crate::sealed`] under [`crate::sealed::HMAC_KEYS`],
//! bound to the record's id). The serialized form (admin reads, audit
//! entries) and `Debug` never show it. An API's [`HmacSettings`] say how
//! its signatures are checked.

use crate::ids::{AppId, HmacKeyId, TenantId};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Bytes of a generated HMAC secret (shown as standard base64).
pub const SECRET_BYTES: usize = 32;

/// An HMAC signing key of an app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacKey {
    /// Id, `hk_…`: the `keyid` of its signatures, and the associated data
    /// its secret is sealed to.
    pub id: HmacKeyId,
    /// The app it signs as.
    pub app_id: AppId,
    /// The app's tenant.
    pub tenant_id: TenantId,
    /// Scopes a request signed with it holds.
    pub scopes: Vec<String>,
    /// The secret's bytes, sealed. Never serialized; storage keeps it in a
    /// column of its own.
    #[serde(skip_serializing, default)]
    pub sealed: Vec<u8>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it was revoked; refused from then on.
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it (an admin token id).
    pub revoked_by: Option<String>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("tenant_id", &self.tenant_id)
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// How an API checks RFC 9421 HMAC request signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacSettings {
    /// How far a signature's `created` may be from server time, either
    /// way, seconds; a nonce is remembered this long.
    pub window_seconds: u64,
}

impl HmacSettings {
    /// The window when an API sets none, seconds.
    pub const DEFAULT_WINDOW_SECONDS: u64 = 300;
    /// The smallest window an API may set, seconds.
    pub const MIN_WINDOW_SECONDS: u64 = 1;
    /// The largest window an API may set, seconds (a nonce is held that
    /// long).
    pub const MAX_WINDOW_SECONDS: u64 = 3600;

    /// The window of an API's settings, or the default.
    pub fn window_of(settings: Option<&HmacSettings>) -> u64 {
        settings.map_or(Self::DEFAULT_WINDOW_SECONDS, |s| s.window_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_reads_nor_debug_show_the_sealed_secret() {
        let key = HmacKey {
            id: HmacKeyId::generate(),
            app_id: AppId::generate(),
            tenant_id: TenantId::generate(),
            scopes: vec!["orders:read".into()],
            sealed: vec![0xab; 48],
            created_at: chrono::Utc::now(),
            revoked_at: None,
            revoked_by: None,
        };
        let json = serde_json::to_string(&key).unwrap();
        assert!(!json.contains("sealed") && !json.contains("abab"), "{json}");
        assert!(!format!("{key:?}").contains("171"), "{key:?}");
        assert!(json.starts_with("{\"id\":\"hk_"), "{json}");
    }
}
