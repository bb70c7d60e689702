//! Users of a tenant: `POST/GET /admin/v1/tenants/{id}/users`,
//! `GET/PATCH/DELETE /admin/v1/users/{id}`. Deletion is soft: the user
//! stays, with status `deleted`, so its apps' keys can say why they fail.

use super::{conflict_as, created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::some;
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_REASON};
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::model::{PrincipalStatus, Role, StatusChange, User};
use rand::RngCore;
use serde::Deserialize;

/// Shortest console password accepted.
pub const MIN_PASSWORD: usize = 8;
/// Longest console password accepted (bounds the hashing work).
pub const MAX_PASSWORD: usize = 1024;

/// Body of `POST /admin/v1/tenants/{id}/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Email, unique within the tenant (case-insensitive).
    pub email: String,
    /// Role in the tenant.
    pub role: Role,
    /// Console password; stored only as an argon2id hash.
    #[serde(default, deserialize_with = "some")]
    pub password: Option<String>,
}

/// `active` or `suspended`: the statuses a PATCH may set (deletion has
/// its own verb).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettableStatus {
    /// In good standing.
    Active,
    /// Suspended.
    Suspended,
}

impl From<SettableStatus> for PrincipalStatus {
    fn from(s: SettableStatus) -> Self {
        match s {
            SettableStatus::Active => PrincipalStatus::Active,
            SettableStatus::Suspended => PrincipalStatus::Suspended,
        }
    }
}

/// Body of `PATCH /admin/v1/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// New standing.
    #[serde(default, deserialize_with = "some")]
    pub status: Option<SettableStatus>,
    /// Why the status changes.
    #[serde(default, deserialize_with = "some")]
    pub reason: Option<String>,
    /// New role.
    #[serde(default, deserialize_with = "some")]
    pub role: Option<Role>,
}

/// `POST /admin/v1/tenants/{id}/users`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(req): JsonBody<CreateUser>,
) -> Result<Created<User>, AdminError> {
    let email = validate::email(&req.email)?;
    let password_hash = match req.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let taken = format!("tenant {} already has a user with email {email}", tenant.slug);
    if state.store.users_of_tenant(&tenant.id).await?.iter().any(|u| u.email.eq_ignore_ascii_case(&email)) {
        return Err(AdminError::exists("email", taken));
    }
    let user = User { password_hash, ..User::new(&tenant.id, email, req.role, now()) };
    state
        .commit(&actor, vec![Write::insert("user.create", Record::User(user.clone()))])
        .await
        .map_err(conflict_as("email", taken))?;
    Ok(created(user))
}

/// `GET /admin/v1/tenants/{id}/users`.
pub async fn list_of_tenant(State(state): State<AdminState>, PathId(tenant_id): PathId) -> Result<Json<List<User>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(state.store.users_of_tenant(&tenant.id).await?))
}

/// `GET /admin/v1/users/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<User>, AdminError> {
    Ok(Json(super::user(&state, &id).await?))
}

/// `PATCH /admin/v1/users/{id}`: status (with reason) and role.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<PatchUser>,
) -> Result<Json<User>, AdminError> {
    if req.reason.is_some() && req.status.is_none() {
        return Err(AdminError::invalid("reason", "reason goes with a status change"));
    }
    if req.status.is_none() && req.role.is_none() {
        return Err(AdminError::RequestInvalid { detail: "nothing to change: give status or role".into(), param: None });
    }
    let reason = validate::opt_text("reason", req.reason.as_deref(), MAX_REASON)?;

    let _write = state.begin_write().await;
    let before = super::user(&state, &id).await?;
    if before.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("user {id} is deleted and cannot be changed")));
    }
    let mut after = before.clone();
    let mut action = "user.update";
    if let Some(status) = req.status.map(PrincipalStatus::from).filter(|s| *s != before.status) {
        after.status = status;
        after.status_change = StatusChange { changed_at: Some(now()), changed_by: Some(actor.0.clone()), reason };
        action = if status == PrincipalStatus::Suspended { "user.suspend" } else { "user.activate" };
    }
    if let Some(role) = req.role {
        after.role = role;
    }
    if after == before {
        return Ok(Json(before));
    }
    state.commit(&actor, vec![Write::update(action, Record::User(before), Record::User(after.clone()))]).await?;
    Ok(Json(after))
}

/// `DELETE /admin/v1/users/{id}`: soft delete; answers the deleted user.
pub async fn delete(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<User>, AdminError> {
    let _write = state.begin_write().await;
    let before = super::user(&state, &id).await?;
    if before.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("user {id} is already deleted")));
    }
    let mut after = before.clone();
    after.status = PrincipalStatus::Deleted;
    after.status_change = StatusChange { changed_at: Some(now()), changed_by: Some(actor.0.clone()), reason: None };
    state.commit(&actor, vec![Write::update("user.delete", Record::User(before), Record::User(after.clone()))]).await?;
    Ok(Json(after))
}

/// argon2id (default parameters) with a random salt, off the async
/// threads: hashing is deliberately slow.
async fn hash_password(password: String) -> Result<String, AdminError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(AdminError::invalid("password", format!("password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")));
    }
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| AdminError::Internal(format!("password salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AdminError::Internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| AdminError::Internal(format!("password hashing task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        assert!(hash_password("short".into()).await.is_err());
    }
}
