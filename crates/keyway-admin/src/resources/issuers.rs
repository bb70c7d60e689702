//! Trusted JWT issuers: `POST/GET /admin/v1/tenants/{id}/issuers`,
//! `GET/PATCH/DELETE /admin/v1/issuers/{id}`. A record is accepted only
//! if it builds into a verifying issuer. Reads show inline keys without
//! their secret members. Deletion is soft, and refused while an API names
//! the issuer in its `jwt_issuers`.

use super::{conflict_as, created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{some, some_whole, whole};
use crate::state::{now, AdminState, Write};
use crate::validate_issuer as check;
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::{IssuerId, TenantId};
use keyway_core::issuers::JwtIssuer;
use serde::Deserialize;

/// Most issuers one API may name in `jwt_issuers`.
pub const MAX_TRUSTED: usize = 100;

fn default_leeway() -> u64 {
    60
}

fn default_subject_claim() -> String {
    "sub".into()
}

fn default_scopes_claim() -> String {
    "scope".into()
}

/// Body of `POST /admin/v1/tenants/{id}/issuers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIssuer {
    /// Unique among the tenant's live issuers.
    pub name: String,
    /// The exact `iss` its tokens carry.
    pub issuer: String,
    /// Where its JWKS is published (exclusive with `jwks`).
    #[serde(default, deserialize_with = "some")]
    pub jwks_url: Option<String>,
    /// An inline JWKS, `{"keys": [..]}` (exclusive with `jwks_url`).
    #[serde(default, deserialize_with = "some")]
    pub jwks: Option<serde_json::Value>,
    /// Allowed `alg` names.
    pub algorithms: Vec<String>,
    /// Accepted `aud` values (default: any).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Clock leeway, seconds (default 60).
    #[serde(default = "default_leeway", deserialize_with = "whole")]
    pub leeway_seconds: u64,
    /// The claim naming the app (default `sub`).
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// The claim holding the scopes (default `scope`).
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
}

/// Body of `PATCH /admin/v1/issuers/{id}`: what is given replaces the
/// stored value; a `jwks_url` or `jwks` replaces the key source whole.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIssuer {
    /// New name.
    #[serde(default, deserialize_with = "some")]
    pub name: Option<String>,
    /// New `iss`.
    #[serde(default, deserialize_with = "some")]
    pub issuer: Option<String>,
    /// A JWKS URL instead of the key source held.
    #[serde(default, deserialize_with = "some")]
    pub jwks_url: Option<String>,
    /// An inline JWKS instead of the key source held.
    #[serde(default, deserialize_with = "some")]
    pub jwks: Option<serde_json::Value>,
    /// New allowed algorithms.
    #[serde(default, deserialize_with = "some")]
    pub algorithms: Option<Vec<String>>,
    /// New audiences.
    #[serde(default, deserialize_with = "some")]
    pub audiences: Option<Vec<String>>,
    /// New leeway.
    #[serde(default, deserialize_with = "some_whole")]
    pub leeway_seconds: Option<u64>,
    /// New subject claim.
    #[serde(default, deserialize_with = "some")]
    pub subject_claim: Option<String>,
    /// New scopes claim.
    #[serde(default, deserialize_with = "some")]
    pub scopes_claim: Option<String>,
}

/// `POST /admin/v1/tenants/{id}/issuers`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(req): JsonBody<CreateIssuer>,
) -> Result<Created<JwtIssuer>, AdminError> {
    let draft = JwtIssuer {
        id: IssuerId::generate(),
        tenant_id: TenantId::from(tenant_id.as_str()),
        name: check::name(&req.name)?,
        issuer: check::issuer_text(&req.issuer)?,
        jwks_url: req.jwks_url,
        jwks: req.jwks,
        algorithms: check::algorithms(&req.algorithms)?,
        audiences: check::audiences(&req.audiences)?,
        leeway_seconds: check::leeway(req.leeway_seconds)?,
        subject_claim: check::claim("subject_claim", &req.subject_claim)?,
        scopes_claim: check::claim("scopes_claim", &req.scopes_claim)?,
        created_at: now(),
        deleted_at: None,
    };
    check::builds(&draft)?;

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let record = JwtIssuer { tenant_id: tenant.id, ..draft };
    name_is_free(&state, &record.tenant_id, &record.name, None).await?;
    let detail = taken(&record.name);
    state
        .commit(&actor, vec![Write::insert("issuer.create", Record::Issuer(record.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(created(record))
}

/// `GET /admin/v1/tenants/{id}/issuers`: deleted ones included.
pub async fn list_of_tenant(
    State(state): State<AdminState>,
    PathId(tenant_id): PathId,
) -> Result<Json<List<JwtIssuer>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(state.store.issuers_of_tenant(&tenant.id).await?))
}

/// `GET /admin/v1/issuers/{id}`: deleted ones answer too.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<JwtIssuer>, AdminError> {
    Ok(Json(issuer(&state, &id).await?))
}

/// `PATCH /admin/v1/issuers/{id}`.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<PatchIssuer>,
) -> Result<Json<JwtIssuer>, AdminError> {
    let empty = req.name.is_none()
        && req.issuer.is_none()
        && req.jwks_url.is_none()
        && req.jwks.is_none()
        && req.algorithms.is_none()
        && req.audiences.is_none()
        && req.leeway_seconds.is_none()
        && req.subject_claim.is_none()
        && req.scopes_claim.is_none();
    if empty {
        return Err(AdminError::RequestInvalid {
            detail: "nothing to change: give name, issuer, jwks_url, jwks, algorithms, audiences, leeway_seconds, subject_claim or scopes_claim".into(),
            param: None,
        });
    }
    if req.jwks_url.is_some() && req.jwks.is_some() {
        return Err(AdminError::invalid("jwks_url", "give jwks_url or jwks, not both"));
    }
    let name = req.name.as_deref().map(check::name).transpose()?;
    let issuer_text = req.issuer.as_deref().map(check::issuer_text).transpose()?;
    let algorithms = req.algorithms.as_deref().map(check::algorithms).transpose()?;
    let audiences = req.audiences.as_deref().map(check::audiences).transpose()?;
    let leeway = req.leeway_seconds.map(check::leeway).transpose()?;
    let subject_claim = req.subject_claim.as_deref().map(|c| check::claim("subject_claim", c)).transpose()?;
    let scopes_claim = req.scopes_claim.as_deref().map(|c| check::claim("scopes_claim", c)).transpose()?;

    let _write = state.begin_write().await;
    let before = issuer(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("issuer {id} is deleted and cannot be changed")));
    }
    let mut after = before.clone();
    if let Some(url) = req.jwks_url {
        (after.jwks_url, after.jwks) = (Some(url), None);
    }
    if let Some(jwks) = req.jwks {
        (after.jwks_url, after.jwks) = (None, Some(jwks));
    }
    after.issuer = issuer_text.unwrap_or(after.issuer);
    after.algorithms = algorithms.unwrap_or(after.algorithms);
    after.audiences = audiences.unwrap_or(after.audiences);
    after.leeway_seconds = leeway.unwrap_or(after.leeway_seconds);
    after.subject_claim = subject_claim.unwrap_or(after.subject_claim);
    after.scopes_claim = scopes_claim.unwrap_or(after.scopes_claim);
    if let Some(name) = name.filter(|n| *n != before.name) {
        name_is_free(&state, &before.tenant_id, &name, Some(&before.id)).await?;
        after.name = name;
    }
    check::builds(&after)?;
    if after == before {
        return Ok(Json(before));
    }
    let detail = taken(&after.name);
    state
        .commit(&actor, vec![Write::update("issuer.update", Record::Issuer(before), Record::Issuer(after.clone()))])
        .await
        .map_err(conflict_as("name", detail))?;
    Ok(Json(after))
}

/// `DELETE /admin/v1/issuers/{id}`: soft delete, refused while an API
/// names it in `jwt_issuers`; answers the deleted issuer.
pub async fn delete(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<JwtIssuer>, AdminError> {
    let _write = state.begin_write().await;
    let before = issuer(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("issuer {id} is already deleted")));
    }
    let users: Vec<String> = state
        .store
        .apis_of_tenant(&before.tenant_id)
        .await?
        .into_iter()
        .filter(|a| a.jwt_issuers.contains(&before.id))
        .map(|a| format!("{} {} ({})", a.name, a.version, a.id))
        .collect();
    if !users.is_empty() {
        return Err(AdminError::InvalidState(format!(
            "issuer {id} is trusted by the APIs {}: change their jwt_issuers first",
            users.join(", ")
        )));
    }
    let after = JwtIssuer { deleted_at: Some(now()), ..before.clone() };
    state.commit(&actor, vec![Write::update("issuer.delete", Record::Issuer(before), Record::Issuer(after.clone()))]).await?;
    Ok(Json(after))
}

/// An issuer, or 404.
pub async fn issuer(state: &AdminState, id: &str) -> Result<JwtIssuer, AdminError> {
    state.store.issuer(&IssuerId::from(id)).await?.ok_or_else(|| AdminError::not_found("issuer", id))
}

/// `jwt_issuers` of an API of `tenant`: each a live issuer of that
/// tenant (422 otherwise), duplicates dropped.
pub async fn trusted_ids(state: &AdminState, tenant: &TenantId, ids: &[String]) -> Result<Vec<IssuerId>, AdminError> {
    if ids.len() > MAX_TRUSTED {
        return Err(AdminError::invalid("jwt_issuers", format!("at most {MAX_TRUSTED} issuers")));
    }
    let mut out: Vec<IssuerId> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match state.store.issuer(&IssuerId::from(id.as_str())).await? {
            Some(found) if &found.tenant_id == tenant && found.deleted_at.is_none() => {
                if !out.contains(&found.id) {
                    out.push(found.id);
                }
            }
            _ => return Err(AdminError::reference(format!("jwt_issuers[{i}]"), format!("no live issuer {id} in this tenant"))),
        }
    }
    Ok(out)
}

fn taken(name: &str) -> String {
    format!("an issuer named {name:?} already exists in this tenant")
}

/// Checks that no live issuer of `tenant` but `except` is named `name`.
async fn name_is_free(state: &AdminState, tenant: &TenantId, name: &str, except: Option<&IssuerId>) -> Result<(), AdminError> {
    let clash = state
        .store
        .issuers_of_tenant(tenant)
        .await?
        .into_iter()
        .any(|i| i.deleted_at.is_none() && i.name == name && Some(&i.id) != except);
    if clash {
        return Err(AdminError::exists("name", taken(name)));
    }
    Ok(())
}
