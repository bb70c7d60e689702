//! AI providers: `POST/GET /admin/v1/tenants/{id}/providers`,
//! `GET/PATCH/DELETE /admin/v1/providers/{id}`. Credentials are
//! write-only: each is sealed to its own id with the provider-credential
//! key of [`Settings`](keyway_pipeline::Settings) and only its id, last
//! four characters and health are ever answered. Deletion is soft, and
//! refused while a live model routes to the provider.

use super::{conflict_as, created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::some;
use crate::resources::nullable;
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME};
use crate::validate_ai::{self, CredentialIn};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::{CredentialId, ProviderId, TenantId};
use keyway_core::providers::{Provider, ProviderCredential, ProviderKind};
use keyway_core::sealed::{last4, Sealer};
use keyway_core::Timestamp;
use keyway_pipeline::CredentialHealth;
use serde::{Deserialize, Serialize};

/// Body of `POST /admin/v1/tenants/{id}/providers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    /// Unique among the tenant's live providers.
    pub name: String,
    /// What it speaks.
    pub kind: ProviderKind,
    /// API root; left out: the preset's or the kind's public one.
    #[serde(default, deserialize_with = "some")]
    pub base_url: Option<String>,
    /// For `openai_compatible`: a named preset.
    #[serde(default, deserialize_with = "some")]
    pub preset: Option<String>,
    /// Azure OpenAI's `api-version` (required there).
    #[serde(default, deserialize_with = "some")]
    pub api_version: Option<String>,
    /// The key pool.
    pub credentials: Vec<CredentialIn>,
}

/// Body of `PATCH /admin/v1/providers/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchProvider {
    /// New name.
    #[serde(default, deserialize_with = "some")]
    pub name: Option<String>,
    /// New API root; `null`: back to the preset's or the kind's default.
    #[serde(default, deserialize_with = "nullable")]
    pub base_url: Option<Option<String>>,
    /// New `api-version` (Azure OpenAI only).
    #[serde(default, deserialize_with = "some")]
    pub api_version: Option<String>,
    /// A new key pool, replacing the old one whole (new credential ids).
    #[serde(default, deserialize_with = "some")]
    pub credentials: Option<Vec<CredentialIn>>,
}

/// A credential as answered: never its secret.
#[derive(Debug, Serialize)]
pub struct CredentialView {
    /// Id, `prc_…`.
    pub id: CredentialId,
    /// The secret's last four characters (empty for a short secret).
    pub last4: String,
    /// Whether the provider has not refused it.
    pub healthy: bool,
}

/// Whether a provider or model is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AiStatus {
    /// In use.
    Active,
    /// Soft-deleted.
    Deleted,
}

impl AiStatus {
    /// The status of a record deleted at `deleted_at`.
    pub fn of(deleted_at: Option<Timestamp>) -> Self {
        if deleted_at.is_some() {
            AiStatus::Deleted
        } else {
            AiStatus::Active
        }
    }
}

/// A provider as answered.
#[derive(Debug, Serialize)]
pub struct ProviderView {
    /// Id, `prv_…`.
    pub id: ProviderId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ProviderKind,
    /// The API root calls go to: the configured one, else the preset's or
    /// the kind's default.
    pub base_url: Option<String>,
    /// The preset, if any.
    pub preset: Option<String>,
    /// Azure OpenAI's `api-version`, if any.
    pub api_version: Option<String>,
    /// The key pool, without secrets.
    pub credentials: Vec<CredentialView>,
    /// `active` or `deleted`.
    pub status: AiStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// Deletion time.
    pub deleted_at: Option<Timestamp>,
}

impl ProviderView {
    /// What a read shows of `p`: a credential is healthy unless it is
    /// stored as refused or the gateway is skipping it (`health`).
    fn of(p: &Provider, health: &CredentialHealth) -> Self {
        ProviderView {
            id: p.id.clone(),
            tenant_id: p.tenant_id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            base_url: p.kind.resolve_base_url(p.base_url.as_deref(), p.preset.as_deref()).map(str::to_owned),
            preset: p.preset.clone(),
            api_version: p.api_version.clone(),
            credentials: p
                .credentials
                .iter()
                .map(|c| CredentialView {
                    id: c.id.clone(),
                    last4: c.last4.clone(),
                    healthy: c.rejected_at.is_none() && !health.is_refused(&c.id),
                })
                .collect(),
            status: AiStatus::of(p.deleted_at),
            created_at: p.created_at,
            deleted_at: p.deleted_at,
        }
    }
}

/// `POST /admin/v1/tenants/{id}/providers`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(req): JsonBody<CreateProvider>,
) -> Result<Created<ProviderView>, AdminError> {
    let name = validate::text("name", &req.name, MAX_NAME)?;
    let base_url = req.base_url.as_deref().map(|u| validate_ai::base_url("base_url", u)).transpose()?;
    let preset = validate_ai::preset(req.kind, req.preset.as_deref())?;
    validate_ai::has_base_url(req.kind, base_url.as_deref(), preset.as_deref())?;
    let api_version = validate_ai::api_version(req.kind, req.api_version.as_deref())?;
    validate_ai::credentials(&req.credentials)?;

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    name_is_free(&state, &tenant.id, &name, None).await?;
    let provider = Provider {
        id: ProviderId::generate(),
        tenant_id: tenant.id,
        name,
        kind: req.kind,
        base_url,
        preset,
        api_version,
        credentials: seal_all(&state.settings.credentials, &req.credentials),
        created_at: now(),
        deleted_at: None,
    };
    let detail = taken(&provider.name);
    state
        .commit(&actor, vec![Write::insert("provider.create", Record::Provider(provider.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(created(ProviderView::of(&provider, &state.credential_health)))
}

/// `GET /admin/v1/tenants/{id}/providers`: deleted ones included.
pub async fn list_of_tenant(
    State(state): State<AdminState>,
    PathId(tenant_id): PathId,
) -> Result<Json<List<ProviderView>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(
        state
            .store
            .providers_of_tenant(&tenant.id)
            .await?
            .iter()
            .map(|p| ProviderView::of(p, &state.credential_health))
            .collect(),
    ))
}

/// `GET /admin/v1/providers/{id}`: deleted ones answer too.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<ProviderView>, AdminError> {
    Ok(Json(ProviderView::of(&provider(&state, &id).await?, &state.credential_health)))
}

/// `PATCH /admin/v1/providers/{id}`: name, base URL, api version, and the
/// whole credential pool.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<PatchProvider>,
) -> Result<Json<ProviderView>, AdminError> {
    if req.name.is_none() && req.base_url.is_none() && req.api_version.is_none() && req.credentials.is_none() {
        return Err(AdminError::RequestInvalid {
            detail: "nothing to change: give name, base_url, api_version or credentials".into(),
            param: None,
        });
    }
    let name = validate::opt_text("name", req.name.as_deref(), MAX_NAME)?;
    let base_url = req.base_url.map(|u| u.map(|u| validate_ai::base_url("base_url", &u)).transpose()).transpose()?;
    if let Some(list) = &req.credentials {
        validate_ai::credentials(list)?;
    }

    let _write = state.begin_write().await;
    let before = provider(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("provider {id} is deleted and cannot be changed")));
    }
    let mut after = before.clone();
    // What fits depends on the stored provider's kind, not on the body: a
    // misfit is a conflict with its state (409), not a malformed body.
    let misfit = |e: AdminError| match e {
        AdminError::RequestInvalid { detail, .. } => AdminError::InvalidState(detail),
        other => other,
    };
    if let Some(api_version) = req.api_version.as_deref() {
        after.api_version = validate_ai::api_version(before.kind, Some(api_version)).map_err(misfit)?;
    }
    if let Some(base_url) = base_url {
        validate_ai::has_base_url(before.kind, base_url.as_deref(), before.preset.as_deref()).map_err(misfit)?;
        after.base_url = base_url;
    }
    if let Some(name) = name.filter(|n| *n != before.name) {
        name_is_free(&state, &before.tenant_id, &name, Some(&before.id)).await?;
        after.name = name;
    }
    if let Some(list) = &req.credentials {
        after.credentials = seal_all(&state.settings.credentials, list);
    }
    if after == before {
        return Ok(Json(ProviderView::of(&before, &state.credential_health)));
    }
    let detail = taken(&after.name);
    state
        .commit(&actor, vec![Write::update("provider.update", Record::Provider(before), Record::Provider(after.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(Json(ProviderView::of(&after, &state.credential_health)))
}

/// `DELETE /admin/v1/providers/{id}`: soft delete, refused while a live
/// model targets it or falls back to it; answers the deleted provider.
pub async fn delete(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<ProviderView>, AdminError> {
    let _write = state.begin_write().await;
    let before = provider(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("provider {id} is already deleted")));
    }
    let users: Vec<String> = state
        .store
        .models_of_tenant(&before.tenant_id)
        .await?
        .into_iter()
        .filter(|m| m.deleted_at.is_none())
        .filter(|m| m.targets.iter().chain(&m.fallbacks).any(|t| t.provider_id == before.id))
        .map(|m| format!("{} ({})", m.name, m.id))
        .collect();
    if !users.is_empty() {
        return Err(AdminError::InvalidState(format!(
            "provider {id} is used by the models {}: change or delete them first",
            users.join(", ")
        )));
    }
    let after = Provider { deleted_at: Some(now()), ..before.clone() };
    state
        .commit(&actor, vec![Write::update("provider.delete", Record::Provider(before), Record::Provider(after.clone()))])
        .await?;
    Ok(Json(ProviderView::of(&after, &state.credential_health)))
}

/// A provider, or 404.
pub async fn provider(state: &AdminState, id: &str) -> Result<Provider, AdminError> {
    state.store.provider(&ProviderId::from(id)).await?.ok_or_else(|| AdminError::not_found("provider", id))
}

/// Each key sealed to a fresh credential id.
fn seal_all(sealer: &Sealer, list: &[CredentialIn]) -> Vec<ProviderCredential> {
    list.iter()
        .map(|c| {
            let id = CredentialId::generate();
            ProviderCredential {
                sealed: sealer.seal(c.api_key.as_bytes(), id.as_str()),
                id,
                last4: last4(&c.api_key),
                rejected_at: None,
            }
        })
        .collect()
}

fn taken(name: &str) -> String {
    format!("a provider named {name:?} already exists in this tenant")
}

/// Checks that no live provider of `tenant` but `except` is named `name`.
async fn name_is_free(state: &AdminState, tenant: &TenantId, name: &str, except: Option<&ProviderId>) -> Result<(), AdminError> {
    let clash = state
        .store
        .providers_of_tenant(tenant)
        .await?
        .into_iter()
        .any(|p| p.deleted_at.is_none() && p.name == name && Some(&p.id) != except);
    if clash {
        return Err(AdminError::exists("name", taken(name)));
    }
    Ok(())
}
