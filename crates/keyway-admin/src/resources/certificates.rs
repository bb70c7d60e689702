//! Client certificates bound to apps (mTLS):
//! `POST/GET /admin/v1/apps/{id}/certificates`,
//! `GET/DELETE /admin/v1/certificates/{id}`. A binding names a
//! certificate by the SHA-256 of its DER (given as hex, colons allowed,
//! any case; kept as 64 lowercase digits), unique among live bindings.
//! Deletion is soft; the certificate is unbound from the next request on.

use super::{conflict_as, created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::state::{now, AdminState, Write};
use crate::validate;
use axum::extract::State;
use axum::Json;
use keyway_core::certificates::{normalize_fingerprint, ClientCertificate};
use keyway_core::change::Record;
use keyway_core::ids::CertificateId;
use keyway_core::model::PrincipalStatus;
use serde::Deserialize;

/// Body of `POST /admin/v1/apps/{id}/certificates`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCertificate {
    /// SHA-256 of the certificate (DER): 64 hex digits, colons allowed.
    pub sha256_fingerprint: String,
    /// Scopes a call with this certificate holds (default none).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `sha256_fingerprint` as stored, or 400 naming what is wrong.
pub fn fingerprint(param: &str, text: &str) -> Result<String, AdminError> {
    normalize_fingerprint(text).map_err(|e| AdminError::invalid(param, format!("{param}: {e}")))
}

/// `POST /admin/v1/apps/{id}/certificates`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(app_id): PathId,
    JsonBody(req): JsonBody<CreateCertificate>,
) -> Result<Created<ClientCertificate>, AdminError> {
    let sha256 = fingerprint("sha256_fingerprint", &req.sha256_fingerprint)?;
    let scopes = validate::scopes("scopes", req.scopes)?;
    let _write = state.begin_write().await;
    let app = super::app(&state, &app_id).await?;
    if app.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("app {app_id} is deleted; it takes no certificates")));
    }
    if let Some(other) = state.store.certificate_by_fingerprint(&sha256).await? {
        return Err(AdminError::exists("sha256_fingerprint", bound(&sha256, &other)));
    }
    let record = ClientCertificate {
        id: CertificateId::generate(),
        app_id: app.id,
        tenant_id: app.tenant_id,
        sha256_fingerprint: sha256.clone(),
        scopes,
        created_at: now(),
        deleted_at: None,
    };
    let detail = format!("certificate sha256 {sha256} is already bound");
    state
        .commit(&actor, vec![Write::insert("certificate.create", Record::Certificate(record.clone()))])
        .await
        .map_err(conflict_as("sha256_fingerprint", detail))?;
    Ok(created(record))
}

/// `GET /admin/v1/apps/{id}/certificates`: deleted ones included.
pub async fn list_of_app(
    State(state): State<AdminState>,
    PathId(app_id): PathId,
) -> Result<Json<List<ClientCertificate>>, AdminError> {
    let app = super::app(&state, &app_id).await?;
    Ok(list(state.store.certificates_of_app(&app.id).await?))
}

/// `GET /admin/v1/certificates/{id}`: deleted ones answer too.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<ClientCertificate>, AdminError> {
    Ok(Json(certificate(&state, &id).await?))
}

/// `DELETE /admin/v1/certificates/{id}`: soft delete; answers the deleted
/// binding.
pub async fn delete(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
) -> Result<Json<ClientCertificate>, AdminError> {
    let _write = state.begin_write().await;
    let before = certificate(&state, &id).await?;
    if before.deleted_at.is_some() {
        return Err(AdminError::InvalidState(format!("certificate {id} is already deleted")));
    }
    let after = ClientCertificate { deleted_at: Some(now()), ..before.clone() };
    let write = Write::update("certificate.delete", Record::Certificate(before), Record::Certificate(after.clone()));
    state.commit(&actor, vec![write]).await?;
    Ok(Json(after))
}

/// A binding, or 404.
async fn certificate(state: &AdminState, id: &str) -> Result<ClientCertificate, AdminError> {
    state.store.certificate(&CertificateId::from(id)).await?.ok_or_else(|| AdminError::not_found("certificate", id))
}

/// The 409 text: which binding holds the fingerprint (same operator, so
/// naming the app is fine).
fn bound(sha256: &str, other: &ClientCertificate) -> String {
    format!("certificate sha256 {sha256} is already bound to app {} ({})", other.app_id, other.id)
}
