//! Tenants: `POST/GET /admin/v1/tenants`, `GET/PATCH /admin/v1/tenants/{id}`.

use super::{conflict_as, created, list, Created, List};
use crate::ai_fields::{with_ai_fields, AiFields, AiPatch};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{some, LimitsIn};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME, MAX_REASON};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::model::{StatusChange, Tenant, TenantStatus};
use serde::Deserialize;

with_ai_fields! {
    /// Body of `POST /admin/v1/tenants`, with the tenant's AI limits.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CreateTenant {
        /// Unique URL-safe short name.
        pub slug: String,
        /// Display name.
        pub name: String,
        /// Rate limit and quota of the whole tenant.
        #[serde(default)]
        pub limits: LimitsIn,
    }
}

with_ai_fields! {
    /// Body of `PATCH /admin/v1/tenants/{id}`; AI fields given replace
    /// the stored ones, the others are kept.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PatchTenant {
        /// New standing.
        #[serde(default, deserialize_with = "some")]
        pub status: Option<TenantStatus>,
        /// New display name.
        #[serde(default, deserialize_with = "some")]
        pub name: Option<String>,
        /// Why the status changes (recorded in `status_change`).
        #[serde(default, deserialize_with = "some")]
        pub reason: Option<String>,
        /// New limits (replacing the old ones whole).
        #[serde(default, deserialize_with = "some")]
        pub limits: Option<LimitsIn>,
    }
}

/// `POST /admin/v1/tenants`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    JsonBody(mut req): JsonBody<CreateTenant>,
) -> Result<Created<Tenant>, AdminError> {
    let ai = AiPatch::of(&mut req)?.new_limits();
    let slug = validate::slug(&req.slug)?;
    let name = validate::text("name", &req.name, MAX_NAME)?;
    let limits = validate::limits("limits", req.limits, false)?;
    let _write = state.begin_write().await;
    let taken = format!("a tenant with slug {slug} already exists");
    if state.store.tenants().await?.iter().any(|t| t.slug == slug) {
        return Err(AdminError::exists("slug", taken));
    }
    let tenant = Tenant { limits, ai, ..Tenant::new(slug, name, now()) };
    state
        .commit(&actor, vec![Write::insert("tenant.create", Record::Tenant(tenant.clone()))])
        .await
        .map_err(conflict_as("slug", taken))?;
    Ok(created(tenant))
}

/// `GET /admin/v1/tenants`.
pub async fn list_all(State(state): State<AdminState>) -> Result<Json<List<Tenant>>, AdminError> {
    Ok(list(state.store.tenants().await?))
}

/// `GET /admin/v1/tenants/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<Tenant>, AdminError> {
    Ok(Json(super::tenant(&state, &id).await?))
}

/// `PATCH /admin/v1/tenants/{id}`: status (with reason) and name.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(mut req): JsonBody<PatchTenant>,
) -> Result<Json<Tenant>, AdminError> {
    if req.reason.is_some() && req.status.is_none() {
        return Err(AdminError::invalid("reason", "reason goes with a status change"));
    }
    if req.status.is_none() && req.name.is_none() && req.limits.is_none() && !req.sets_ai() {
        return Err(AdminError::RequestInvalid {
            detail: "nothing to change: give status, name, limits, allowed_models, budget or tokens_per_minute".into(),
            param: None,
        });
    }
    let ai = AiPatch::of(&mut req)?;
    let limits = req.limits.map(|l| validate::limits("limits", l, false)).transpose()?;
    let name = validate::opt_text("name", req.name.as_deref(), MAX_NAME)?;
    let reason = validate::opt_text("reason", req.reason.as_deref(), MAX_REASON)?;

    let _write = state.begin_write().await;
    let before = super::tenant(&state, &id).await?;
    let mut after = before.clone();
    let mut action = "tenant.update";
    if let Some(status) = req.status.filter(|s| *s != before.status) {
        after.status = status;
        after.status_change = StatusChange { changed_at: Some(now()), changed_by: Some(actor.0.clone()), reason };
        action = match status {
            TenantStatus::Active => "tenant.activate",
            TenantStatus::Suspended => "tenant.suspend",
        };
    }
    if let Some(name) = name {
        after.name = name;
    }
    if let Some(l) = limits {
        after.limits = l;
    }
    after.ai = ai.applied_to(&before.ai);
    if after == before {
        return Ok(Json(before));
    }
    state.commit(&actor, vec![Write::update(action, Record::Tenant(before), Record::Tenant(after.clone()))]).await?;
    Ok(Json(after))
}
