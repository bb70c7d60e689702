//! The AI side of a tenant as stored: providers (an upstream AI service
//! and Keyway's credentials for it) and models (the names callers put in
//! `model`, each mapped to weighted provider targets and fallbacks).
//!
//! A provider credential is kept only sealed ([`crate::sealed`], bound to
//! the credential's id); what an admin read shows of it is its id, its
//! last four characters and its health.

use crate::ids::{CredentialId, ModelId, ProviderId, TenantId};
use crate::Timestamp;
pub use keyway_ai::price::Price;
pub use keyway_ai::provider::ProviderKind;
use serde::{Deserialize, Serialize};

/// One of a provider's credentials (its API key), sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCredential {
    /// Id, `prc_…`: also the associated data the secret is sealed to.
    pub id: CredentialId,
    /// The secret, sealed with the provider-credentials key. Never
    /// serialized (audit entries, admin reads); storage keeps it in a
    /// column of its own form.
    #[serde(skip_serializing, default)]
    pub sealed: Vec<u8>,
    /// The secret's last four characters, for admin reads.
    pub last4: String,
    /// When the provider last refused it (401/403); `None` while healthy.
    pub rejected_at: Option<Timestamp>,
}

impl std::fmt::Debug for ProviderCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCredential")
            .field("id", &self.id)
            .field("last4", &self.last4)
            .field("rejected_at", &self.rejected_at)
            .finish_non_exhaustive()
    }
}

/// An upstream AI service of a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    /// Id, `prv_…`.
    pub id: ProviderId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Unique within the tenant; model targets may name it.
    pub name: String,
    /// What it speaks.
    pub kind: ProviderKind,
    /// API root as the provider's SDK takes it; `None`: the kind's default.
    pub base_url: Option<String>,
    /// For `openai_compatible`: a named preset (`vllm`, `groq`, ...).
    pub preset: Option<String>,
    /// Azure OpenAI's `api-version`.
    pub api_version: Option<String>,
    /// Its credentials, a pool used round robin.
    pub credentials: Vec<ProviderCredential>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it was deleted (kept for the audit trail and old log rows).
    pub deleted_at: Option<Timestamp>,
}

/// Where a model's calls go: a provider and the provider's model name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelTarget {
    /// The provider.
    pub provider_id: ProviderId,
    /// The model (or Azure deployment) name at that provider.
    pub model: String,
    /// Share of traffic among the targets (default 1).
    pub weight: u32,
}

/// A model callers can name, of one tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AiModel {
    /// Id, `mdl_…`.
    pub id: ModelId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What callers put in `model`; unique within the tenant.
    pub name: String,
    /// Weighted targets.
    pub targets: Vec<ModelTarget>,
    /// Tried in order when the chosen target fails (429, 5xx, timeout,
    /// connection error), never after a streamed byte reached the caller.
    pub fallbacks: Vec<ModelTarget>,
    /// Upstream timeout for this model; `None`: the gateway's.
    pub timeout_ms: Option<u64>,
    /// Price override; `None`: the price table shipped with Keyway.
    pub price: Option<Price>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it was deleted.
    pub deleted_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::Sealer;

    fn credential(secret: &str) -> ProviderCredential {
        let id = CredentialId::generate();
        let sealer = Sealer::derive(b"secret", crate::sealed::PROVIDER_CREDENTIALS);
        ProviderCredential {
            sealed: sealer.seal(secret.as_bytes(), id.as_str()),
            id,
            last4: crate::sealed::last4(secret),
            rejected_at: None,
        }
    }

    #[test]
    fn a_credential_never_shows_its_secret_in_debug_or_json() {
        let c = credential("sk-live-0123456789abcdef");
        let debug = format!("{c:?}");
        let json = serde_json::to_string(&c).unwrap();
        for shown in [&debug, &json] {
            assert!(!shown.contains("sk-live"), "{shown}");
        }
        assert!(debug.contains("cdef") && !debug.contains("sealed"), "{debug}");
        assert!(!json.contains("sealed"), "{json}");
    }
}
