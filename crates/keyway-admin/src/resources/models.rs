//! AI models: `POST/GET /admin/v1/tenants/{id}/models`,
//! `GET/PATCH/DELETE /admin/v1/models/{id}`. A model's targets and
//! fallbacks name live providers of its tenant, by id or by name; they
//! are stored by id. Deletion is soft.

use super::providers::AiStatus;
use super::{conflict_as, created, list, nullable, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{nullable_whole, some, whole};
use crate::state::{now, AdminState, Write};
use crate::validate::MAX_WEIGHT;
use crate::validate_ai::{self, PriceIn, MAX_FALLBACKS, MAX_MODEL_TARGETS};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::{ModelId, ProviderId, TenantId};
use keyway_core::providers::{AiModel, ModelTarget, Price, Provider};
use keyway_core::Timestamp;
use serde::{Deserialize, Serialize};

/// A target as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetIn {
    /// A live provider of the tenant: its id or its name.
    pub provider: String,
    /// The model (or Azure deployment) at that provider.
    pub model: String,
    /// Share of traffic, 1 when left out.
    #[serde(default = "one", deserialize_with = "whole")]
    pub weight: u64,
}

fn one() -> u64 {
    1
}

/// A fallback as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FallbackIn {
    /// A live provider of the tenant: its id or its name.
    pub provider: String,
    /// The model at that provider.
    pub model: String,
}

/// Body of `POST /admin/v1/tenants/{id}/models`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateModel {
    /// What callers put in `model`; unique among the tenant's live models.
    pub name: String,
    /// Weighted targets.
    pub targets: Vec<TargetIn>,
    /// Tried in order when the chosen target fails.
    #[serde(default, deserialize_with = "some")]
    pub fallbacks: Option<Vec<FallbackIn>>,
    /// Upstream timeout; `null` or left out: the gateway's.
    #[serde(default, deserialize_with = "nullable_whole")]
    pub timeout_ms: Option<u64>,
    /// Price override; `null` or left out: the built-in price table.
    #[serde(default)]
    pub price: Option<PriceIn>,
}

/// Body of `PATCH /admin/v1/models/{id}`: each field given replaces the
/// old value whole.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchModel {
    /// New name.
    #[serde(default, deserialize_with = "some")]
    pub name: Option<String>,
    /// New targets.
    #[serde(default, deserialize_with = "some")]
    pub targets: Option<Vec<TargetIn>>,
    /// New fallbacks (`[]`: none).
    #[serde(default, deserialize_with = "some")]
    pub fallbacks: Option<Vec<FallbackIn>>,
    /// New timeout; `null`: the gateway's.
    #[serde(default, deserialize_with = "clearable_whole")]
    pub timeout_ms: Option<Option<u64>>,
    /// New price; `null`: the built-in price table.
    #[serde(default, deserialize_with = "nullable")]
    pub price: Option<Option<PriceIn>>,
}

fn clearable_whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    nullable_whole(d).map(Some)
}

/// A target as answered.
#[derive(Debug, Serialize)]
pub struct TargetView {
    /// The provider's id.
    pub provider_id: ProviderId,
    /// The model at that provider.
    pub model: String,
    /// Share of traffic.
    pub weight: u32,
}

/// A fallback as answered.
#[derive(Debug, Serialize)]
pub struct FallbackView {
    /// The provider's id.
    pub provider_id: ProviderId,
    /// The model at that provider.
    pub model: String,
}

/// A model as answered.
#[derive(Debug, Serialize)]
pub struct ModelView {
    /// Id, `mdl_…`.
    pub id: ModelId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What callers put in `model`.
    pub name: String,
    /// Weighted targets.
    pub targets: Vec<TargetView>,
    /// Fallbacks, in order.
    pub fallbacks: Vec<FallbackView>,
    /// Upstream timeout; `null`: the gateway's.
    pub timeout_ms: Option<u64>,
    /// Price override; `null`: the built-in price table.
    pub price: Option<Price>,
    /// `active` or `deleted`.
    pub status: AiStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// Deletion time.
    pub deleted_at: Option<Timestamp>,
}

impl From<&AiModel> for ModelView {
    fn from(m: &AiModel) -> Self {
        ModelView {
            id: m.id.clone(),
            tenant_id: m.tenant_id.clone(),
            name: m.name.clone(),
            targets: m
                .targets
                .iter()
                .map(|t| TargetView { provider_id: t.provider_id.clone(), model: t.model.clone(), weight: t.weight })
                .collect(),
            fallbacks: m
                .fallbacks
                .iter()
                .map(|t| FallbackView { provider_id: t.provider_id.clone(), model: t.model.clone() })
                .collect(),
            timeout_ms: m.timeout_ms,
            price: m.price,
            status: AiStatus::of(m.deleted_at),
            created_at: m.created_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// `POST /admin/v1/tenants/{id}/models`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(req): JsonBody<CreateModel>,
) -> Result<Created<ModelView>, AdminError> {
    let name = validate_ai::model_name("name", &req.name)?;
    check_targets(&req.targets)?;
    let fallbacks = req.fallbacks.unwrap_or_default();
    check_fallbacks(&fallbacks)?;
    let timeout_ms = req.timeout_ms.map(validate_ai::timeout_ms).transpose()?;
    let price = req.price.map(validate_ai::price).transpose()?;

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let providers = live_providers(&state, &tenant.id).await?;
    let model = AiModel {
        id: ModelId::generate(),
        tenant_id: tenant.id.clone(),
        name,
        targets: resolve_targets(&providers, req.targets)?,
        fallbacks: resolve_fallbacks(&providers, fallbacks)?,
        timeout_ms,
        price,
        created_at: now(),
        deleted_at: None,
    };
    name_is_free(&state, &tenant.id, &model.name, None).await?;
    let detail = taken(&model.name);
    state
        .commit(&actor, vec![Write::insert("model.create", Record::Model(model.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(created(ModelView::from(&model)))
}

/// `GET /admin/v1/tenants/{id}/models`: deleted ones included.
pub async fn list_of_tenant(
    State(state): State<AdminState>,
    PathId(tenant_id): PathId,
) -> Result<Json<List<ModelView>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(state.store.models_of_tenant(&tenant.id).await?.iter().map(ModelView::from).collect()))
}

/// `GET /admin/v1/models/{id}`: deleted ones answer too.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<ModelView>, AdminError> {
    Ok(Json(ModelView::from(&model(&state, &id).await?)))
}

/// `PATCH /admin/v1/models/{id}`: name, targets, fallbacks, timeout, price.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<PatchModel>,
) -> Result<Json<ModelView>, AdminError> {
    if req.name.is_none() && req.targets.is_none() && req.fallbacks.is_none() && req.timeout_ms.is_none() && req.price.is_none() {
        return Err(AdminError::RequestInvalid {
            detail: "nothing to change: give name, targets, fallbacks, timeout_ms or price".into(),
            param: None,
        });
    }
    let name = req.name.as_deref().map(|n| validate_ai::model_name("name", n)).transpose()?;
    if let Some(t) = &req.targets {
        check_targets(t)?;
    }
    if let Some(f) = &req.fallbacks {
        check_fallbacks(f)?;
    }
    let timeout_ms = req.timeout_ms.map(|t| t.map(validate_ai::timeout_ms).transpose()).transpose()?;
    let price = req.price.map(|p| p.map(validate_ai::price).transpose()).transpose()?;

    let _write = state.begin_write().await;
    let before = model(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("model {id} is deleted and cannot be changed")));
    }
    let providers = live_providers(&state, &before.tenant_id).await?;
    let mut after = before.clone();
    if let Some(t) = req.targets {
        after.targets = resolve_targets(&providers, t)?;
    }
    if let Some(f) = req.fallbacks {
        after.fallbacks = resolve_fallbacks(&providers, f)?;
    }
    if let Some(t) = timeout_ms {
        after.timeout_ms = t;
    }
    if let Some(p) = price {
        after.price = p;
    }
    if let Some(name) = name.filter(|n| *n != before.name) {
        name_is_free(&state, &before.tenant_id, &name, Some(&before.id)).await?;
        after.name = name;
    }
    if after == before {
        return Ok(Json(ModelView::from(&before)));
    }
    let detail = taken(&after.name);
    state
        .commit(&actor, vec![Write::update("model.update", Record::Model(before), Record::Model(after.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(Json(ModelView::from(&after)))
}

/// `DELETE /admin/v1/models/{id}`: soft delete; answers the deleted model.
pub async fn delete(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<ModelView>, AdminError> {
    let _write = state.begin_write().await;
    let before = model(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("model {id} is already deleted")));
    }
    let after = AiModel { deleted_at: Some(now()), ..before.clone() };
    state.commit(&actor, vec![Write::update("model.delete", Record::Model(before), Record::Model(after.clone()))]).await?;
    Ok(Json(ModelView::from(&after)))
}

/// A model, or 404.
async fn model(state: &AdminState, id: &str) -> Result<AiModel, AdminError> {
    state.store.model(&ModelId::from(id)).await?.ok_or_else(|| AdminError::not_found("model", id))
}

fn taken(name: &str) -> String {
    format!("a model named {name:?} already exists in this tenant")
}

async fn name_is_free(state: &AdminState, tenant: &TenantId, name: &str, except: Option<&ModelId>) -> Result<(), AdminError> {
    let clash = state
        .store
        .models_of_tenant(tenant)
        .await?
        .into_iter()
        .any(|m| m.deleted_at.is_none() && m.name == name && Some(&m.id) != except);
    if clash {
        return Err(AdminError::exists("name", taken(name)));
    }
    Ok(())
}

/// Targets: 1 to [`MAX_MODEL_TARGETS`], model names as
/// [`validate_ai::model_name`] says, weights 1 to [`MAX_WEIGHT`].
fn check_targets(list: &[TargetIn]) -> Result<(), AdminError> {
    if list.is_empty() || list.len() > MAX_MODEL_TARGETS {
        return Err(AdminError::invalid("targets", format!("targets must hold 1 to {MAX_MODEL_TARGETS} entries")));
    }
    for (i, t) in list.iter().enumerate() {
        validate_ai::model_name(&format!("targets[{i}].model"), &t.model)?;
        if !(1..=MAX_WEIGHT).contains(&t.weight) {
            return Err(AdminError::invalid(format!("targets[{i}].weight"), format!("weight must be 1 to {MAX_WEIGHT}")));
        }
    }
    Ok(())
}

/// Fallbacks: at most [`MAX_FALLBACKS`], model names as targets'.
fn check_fallbacks(list: &[FallbackIn]) -> Result<(), AdminError> {
    if list.len() > MAX_FALLBACKS {
        return Err(AdminError::invalid("fallbacks", format!("fallbacks must hold at most {MAX_FALLBACKS} entries")));
    }
    for (i, f) in list.iter().enumerate() {
        validate_ai::model_name(&format!("fallbacks[{i}].model"), &f.model)?;
    }
    Ok(())
}

async fn live_providers(state: &AdminState, tenant: &TenantId) -> Result<Vec<Provider>, AdminError> {
    Ok(state.store.providers_of_tenant(tenant).await?.into_iter().filter(|p| p.deleted_at.is_none()).collect())
}

/// The live provider named by id or by name (422 naming `param` otherwise).
fn resolve(providers: &[Provider], param: String, by: &str) -> Result<ProviderId, AdminError> {
    providers
        .iter()
        .find(|p| p.id.as_str() == by)
        .or_else(|| providers.iter().find(|p| p.name == by))
        .map(|p| p.id.clone())
        .ok_or_else(|| {
            let detail = format!("{param}: no live provider {by:?} (by id or name) in this tenant");
            AdminError::reference(param, detail)
        })
}

fn resolve_targets(providers: &[Provider], list: Vec<TargetIn>) -> Result<Vec<ModelTarget>, AdminError> {
    list.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let provider_id = resolve(providers, format!("targets[{i}].provider"), &t.provider)?;
            // Checked by `check_targets`: 1 to MAX_WEIGHT fits a u32.
            let weight = u32::try_from(t.weight).unwrap_or(1);
            Ok(ModelTarget { provider_id, model: t.model, weight })
        })
        .collect()
}

fn resolve_fallbacks(providers: &[Provider], list: Vec<FallbackIn>) -> Result<Vec<ModelTarget>, AdminError> {
    list.into_iter()
        .enumerate()
        .map(|(i, f)| {
            let provider_id = resolve(providers, format!("fallbacks[{i}].provider"), &f.provider)?;
            Ok(ModelTarget { provider_id, model: f.model, weight: 1 })
        })
        .collect()
}
