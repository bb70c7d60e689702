//! Apps: `POST/GET /admin/v1/tenants/{id}/apps`,
//! `GET/PATCH/DELETE /admin/v1/apps/{id}`. Deletion is soft.

use super::users::SettableStatus;
use super::{created, list, Created, List};
use crate::ai_fields::{with_ai_fields, AiFields, AiPatch};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{some, LimitsIn};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME, MAX_REASON};
use crate::validate_issuer;
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::{TenantId, UserId};
use keyway_core::model::{App, PrincipalStatus, StatusChange};
use serde::Deserialize;

with_ai_fields! {
    /// Body of `POST /admin/v1/tenants/{id}/apps`, with the app's AI limits.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CreateApp {
        /// Display name.
        pub name: String,
        /// The user answerable for it: a non-deleted user of the same tenant.
        pub owner_user_id: String,
        /// Rate limit and quota of the whole app, and its keys' default rate.
        #[serde(default)]
        pub limits: LimitsIn,
        /// Subjects of verified JWTs that are this app (unique per tenant).
        #[serde(default)]
        pub token_subjects: Vec<String>,
    }
}

with_ai_fields! {
    /// Body of `PATCH /admin/v1/apps/{id}`; AI fields given replace the
    /// stored ones, the others are kept.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PatchApp {
        /// New standing.
        #[serde(default, deserialize_with = "some")]
        pub status: Option<SettableStatus>,
        /// New owner.
        #[serde(default, deserialize_with = "some")]
        pub owner_user_id: Option<String>,
        /// New display name.
        #[serde(default, deserialize_with = "some")]
        pub name: Option<String>,
        /// Why the status changes.
        #[serde(default, deserialize_with = "some")]
        pub reason: Option<String>,
        /// New limits (replacing the old ones whole).
        #[serde(default, deserialize_with = "some")]
        pub limits: Option<LimitsIn>,
        /// New token subjects (replacing the old ones whole).
        #[serde(default, deserialize_with = "some")]
        pub token_subjects: Option<Vec<String>>,
    }
}

/// `POST /admin/v1/tenants/{id}/apps`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(mut req): JsonBody<CreateApp>,
) -> Result<Created<App>, AdminError> {
    let ai = AiPatch::of(&mut req)?.new_limits();
    let name = validate::text("name", &req.name, MAX_NAME)?;
    let limits = validate::limits("limits", req.limits, true)?;
    let token_subjects = validate_issuer::token_subjects(&req.token_subjects)?;
    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let owner = owner(&state, &tenant.id, &req.owner_user_id).await?;
    let app = App { limits, ai, token_subjects, ..App::new(&tenant.id, name, &owner, now()) };
    subjects_are_free(&state, &app).await?;
    state.commit(&actor, vec![Write::insert("app.create", Record::App(app.clone()))]).await?;
    Ok(created(app))
}

/// `GET /admin/v1/tenants/{id}/apps`.
pub async fn list_of_tenant(State(state): State<AdminState>, PathId(tenant_id): PathId) -> Result<Json<List<App>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(state.store.apps_of_tenant(&tenant.id).await?))
}

/// `GET /admin/v1/apps/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<App>, AdminError> {
    Ok(Json(super::app(&state, &id).await?))
}

/// `PATCH /admin/v1/apps/{id}`: status (with reason), owner and name.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(mut req): JsonBody<PatchApp>,
) -> Result<Json<App>, AdminError> {
    if req.reason.is_some() && req.status.is_none() {
        return Err(AdminError::invalid("reason", "reason goes with a status change"));
    }
    let unchanged = req.status.is_none()
        && req.owner_user_id.is_none()
        && req.name.is_none()
        && req.limits.is_none()
        && req.token_subjects.is_none()
        && !req.sets_ai();
    if unchanged {
        return Err(AdminError::RequestInvalid {
            detail: "nothing to change: give status, owner_user_id, name, limits, token_subjects, allowed_models, budget or tokens_per_minute"
                .into(),
            param: None,
        });
    }
    let ai = AiPatch::of(&mut req)?;
    let limits = req.limits.map(|l| validate::limits("limits", l, true)).transpose()?;
    let name = validate::opt_text("name", req.name.as_deref(), MAX_NAME)?;
    let reason = validate::opt_text("reason", req.reason.as_deref(), MAX_REASON)?;
    let token_subjects = req.token_subjects.as_deref().map(validate_issuer::token_subjects).transpose()?;

    let _write = state.begin_write().await;
    let before = super::app(&state, &id).await?;
    if before.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("app {id} is deleted and cannot be changed")));
    }
    let mut after = before.clone();
    let mut action = "app.update";
    if let Some(owner_id) = &req.owner_user_id {
        after.owner_user_id = owner(&state, &before.tenant_id, owner_id).await?;
    }
    if let Some(status) = req.status.map(PrincipalStatus::from).filter(|s| *s != before.status) {
        after.status = status;
        after.status_change = StatusChange { changed_at: Some(now()), changed_by: Some(actor.0.clone()), reason };
        action = if status == PrincipalStatus::Suspended { "app.suspend" } else { "app.activate" };
    }
    if let Some(name) = name {
        after.name = name;
    }
    if let Some(l) = limits {
        after.limits = l;
    }
    after.ai = ai.applied_to(&before.ai);
    if let Some(subjects) = token_subjects {
        after.token_subjects = subjects;
        subjects_are_free(&state, &after).await?;
    }
    if after == before {
        return Ok(Json(before));
    }
    state.commit(&actor, vec![Write::update(action, Record::App(before), Record::App(after.clone()))]).await?;
    Ok(Json(after))
}

/// `DELETE /admin/v1/apps/{id}`: soft delete; answers the deleted app.
pub async fn delete(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<App>, AdminError> {
    let _write = state.begin_write().await;
    let before = super::app(&state, &id).await?;
    if before.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("app {id} is already deleted")));
    }
    let mut after = before.clone();
    after.status = PrincipalStatus::Deleted;
    after.status_change = StatusChange { changed_at: Some(now()), changed_by: Some(actor.0.clone()), reason: None };
    state.commit(&actor, vec![Write::update("app.delete", Record::App(before), Record::App(after.clone()))]).await?;
    Ok(Json(after))
}

/// Checks that no other live app of `app`'s tenant holds one of its
/// `token_subjects` (409 `already_exists` naming the subject).
async fn subjects_are_free(state: &AdminState, app: &App) -> Result<(), AdminError> {
    if app.token_subjects.is_empty() {
        return Ok(());
    }
    let others = state.store.apps_of_tenant(&app.tenant_id).await?;
    for other in others.iter().filter(|o| o.id != app.id && o.status != PrincipalStatus::Deleted) {
        if let Some(i) = app.token_subjects.iter().position(|s| other.token_subjects.contains(s)) {
            return Err(AdminError::exists(
                format!("token_subjects[{i}]"),
                format!("token subject {:?} is already app {}'s in this tenant", app.token_subjects[i], other.id),
            ));
        }
    }
    Ok(())
}

/// Checks that `id` names a non-deleted user of `tenant` (422 otherwise).
async fn owner(state: &AdminState, tenant: &TenantId, id: &str) -> Result<UserId, AdminError> {
    match state.store.user(&UserId::from(id)).await? {
        Some(u) if &u.tenant_id == tenant && u.status != PrincipalStatus::Deleted => Ok(u.id),
        Some(u) if &u.tenant_id == tenant => {
            Err(AdminError::reference("owner_user_id", format!("user {id} is deleted and cannot own an app")))
        }
        _ => Err(AdminError::reference("owner_user_id", format!("no user {id} in this tenant"))),
    }
}
