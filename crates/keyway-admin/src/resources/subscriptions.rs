//! Subscriptions of apps to APIs: `POST/GET /admin/v1/apis/{id}/subscriptions`,
//! `GET /admin/v1/apps/{id}/subscriptions`, `GET /admin/v1/subscriptions/{id}`,
//! and `POST /admin/v1/subscriptions/{id}/approve|reject|revoke`.
//!
//! An API with `requires_approval` leaves a new subscription `pending`
//! until an admin approves or rejects it; otherwise it is approved at once.
//! Asking again after a rejection or revocation reopens the same
//! subscription. Every decision is audited.

use super::{created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_REASON};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::{ApiId, AppId, SubscriptionId};
use keyway_core::model::{ApiStatus, PrincipalStatus, Subscription, SubscriptionStatus, Visibility};
use serde::Deserialize;

/// Body of `POST /admin/v1/apis/{id}/subscriptions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// The subscribing app.
    pub app_id: String,
}

/// Body of `reject` and `revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why; shown to the app's developers.
    pub reason: String,
}

/// A subscription, or 404.
async fn subscription(state: &AdminState, id: &str) -> Result<Subscription, AdminError> {
    state.store.subscription(&SubscriptionId::from(id)).await?.ok_or_else(|| AdminError::not_found("subscription", id))
}

/// `POST /admin/v1/apis/{id}/subscriptions`: the app asks to call the API.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(api_id): PathId,
    JsonBody(req): JsonBody<CreateSubscription>,
) -> Result<Created<Subscription>, AdminError> {
    let t = now();
    let _write = state.begin_write().await;
    let api = super::api(&state, &api_id).await?;
    if api.status == ApiStatus::Retired {
        return Err(AdminError::InvalidState(format!("API {api_id} is retired; it takes no subscriptions")));
    }
    let app = match state.store.app(&AppId::from(req.app_id.as_str())).await? {
        Some(a) => a,
        None => return Err(AdminError::reference("app_id", format!("no app with id {}", req.app_id))),
    };
    if app.status == PrincipalStatus::Deleted {
        return Err(AdminError::reference("app_id", format!("app {} is deleted", app.id)));
    }
    if api.visibility != Visibility::Public && app.tenant_id != api.tenant_id {
        return Err(AdminError::reference(
            "app_id",
            format!("API {api_id} is not public: only apps of its own tenant may subscribe"),
        ));
    }
    let (status, decided_at, decided_by) = if api.requires_approval {
        (SubscriptionStatus::Pending, None, None)
    } else {
        (SubscriptionStatus::Approved, Some(t), Some(actor.0.clone()))
    };
    let existing =
        state.store.subscriptions_of_app(&app.id).await?.into_iter().find(|s| s.api_id == ApiId::from(api_id.as_str()));
    let (write, after) = match existing {
        Some(s) if matches!(s.status, SubscriptionStatus::Pending | SubscriptionStatus::Approved) => {
            return Err(AdminError::AlreadyExists {
                detail: format!("app {} already has a {} subscription {} to API {api_id}", app.id, s.status.as_str(), s.id),
                param: Some("app_id".into()),
            });
        }
        Some(before) => {
            let after = Subscription { status, requested_at: t, decided_at, decided_by, reason: None, ..before.clone() };
            (Write::update("subscription.request", Record::Subscription(before), Record::Subscription(after.clone())), after)
        }
        None => {
            let s = Subscription {
                id: SubscriptionId::generate(),
                api_id: api.id.clone(),
                app_id: app.id.clone(),
                tenant_id: app.tenant_id.clone(),
                status,
                requested_at: t,
                decided_at,
                decided_by,
                reason: None,
                created_at: t,
            };
            (Write::insert("subscription.request", Record::Subscription(s.clone())), s)
        }
    };
    state.commit(&actor, vec![write]).await?;
    Ok(created(after))
}

/// `GET /admin/v1/subscriptions/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<Subscription>, AdminError> {
    subscription(&state, &id).await.map(Json)
}

/// `GET /admin/v1/apis/{id}/subscriptions`.
pub async fn list_of_api(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<List<Subscription>>, AdminError> {
    let api = super::api(&state, &id).await?;
    Ok(list(state.store.subscriptions_of_api(&api.id).await?))
}

/// `GET /admin/v1/apps/{id}/subscriptions`.
pub async fn list_of_app(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<List<Subscription>>, AdminError> {
    let app = super::app(&state, &id).await?;
    Ok(list(state.store.subscriptions_of_app(&app.id).await?))
}

/// `POST /admin/v1/subscriptions/{id}/approve`: pending, rejected or revoked → approved.
pub async fn approve(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
) -> Result<Json<Subscription>, AdminError> {
    decide(&state, &actor, &id, "subscription.approve", SubscriptionStatus::Approved, None).await
}

/// `POST /admin/v1/subscriptions/{id}/reject` `{reason}`: pending → rejected.
pub async fn reject(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<Decision>,
) -> Result<Json<Subscription>, AdminError> {
    let reason = validate::text("reason", &req.reason, MAX_REASON)?;
    decide(&state, &actor, &id, "subscription.reject", SubscriptionStatus::Rejected, Some(reason)).await
}

/// `POST /admin/v1/subscriptions/{id}/revoke` `{reason}`: approved or pending → revoked.
pub async fn revoke(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<Decision>,
) -> Result<Json<Subscription>, AdminError> {
    let reason = validate::text("reason", &req.reason, MAX_REASON)?;
    decide(&state, &actor, &id, "subscription.revoke", SubscriptionStatus::Revoked, Some(reason)).await
}

async fn decide(
    state: &AdminState,
    actor: &Actor,
    id: &str,
    action: &'static str,
    to: SubscriptionStatus,
    reason: Option<String>,
) -> Result<Json<Subscription>, AdminError> {
    use SubscriptionStatus::{Approved, Pending, Rejected, Revoked};
    let t = now();
    let _write = state.begin_write().await;
    let before = subscription(state, id).await?;
    let allowed = match to {
        Approved => matches!(before.status, Pending | Rejected | Revoked),
        Rejected => before.status == Pending,
        Revoked => matches!(before.status, Approved | Pending),
        Pending => false,
    };
    if !allowed {
        let hint = if to == Rejected && before.status == Approved { "; revoke an approved subscription instead" } else { "" };
        return Err(AdminError::InvalidState(format!(
            "subscription {id} is {}; it cannot become {}{hint}",
            before.status.as_str(),
            to.as_str()
        )));
    }
    let after = Subscription { status: to, decided_at: Some(t), decided_by: Some(actor.0.clone()), reason, ..before.clone() };
    state.commit(actor, vec![Write::update(action, Record::Subscription(before), Record::Subscription(after.clone()))]).await?;
    Ok(Json(after))
}
