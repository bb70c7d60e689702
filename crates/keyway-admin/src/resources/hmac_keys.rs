//! Apps' HMAC signing keys (RFC 9421): `POST/GET /admin/v1/apps/{id}/hmac-keys`,
//! `POST /admin/v1/hmac-keys/{id}/revoke`.
//!
//! The secret is 32 random bytes from the operating system, answered once
//! as standard base64 when the key is created, and stored only sealed to
//! the key's id under the HMAC-key sealing key. Reads and audit entries
//! show the key's metadata, never the secret.

use super::{created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::some;
use crate::state::{now, AdminState, Write};
use crate::validate;
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keyway_core::change::Record;
use keyway_core::hmac_keys::{HmacKey, SECRET_BYTES};
use keyway_core::ids::HmacKeyId;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Body of `POST /admin/v1/apps/{id}/hmac-keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHmacKey {
    /// Scopes a request signed with the key holds (default none).
    #[serde(default, deserialize_with = "some")]
    pub scopes: Option<Vec<String>>,
}

/// A created key: its metadata and, this once, its secret.
#[derive(Debug, Serialize)]
pub struct NewHmacKey {
    /// The stored key (no secret).
    #[serde(flatten)]
    pub meta: HmacKey,
    /// The signature algorithm, always `hmac-sha256`.
    pub alg: &'static str,
    /// Standard base64 of the 32 secret bytes; never shown again.
    pub secret: String,
}

/// `POST /admin/v1/apps/{id}/hmac-keys`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(app_id): PathId,
    JsonBody(req): JsonBody<CreateHmacKey>,
) -> Result<Created<NewHmacKey>, AdminError> {
    let scopes = validate::scopes("scopes", req.scopes.unwrap_or_default())?;
    let _write = state.begin_write().await;
    let app = super::keys::usable_app(&state, &app_id).await?;
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let id = HmacKeyId::generate();
    let record = HmacKey {
        sealed: state.settings.hmac_keys.seal(&secret, id.as_str()),
        id,
        app_id: app.id,
        tenant_id: app.tenant_id,
        scopes,
        created_at: now(),
        revoked_at: None,
        revoked_by: None,
    };
    state.commit(&actor, vec![Write::insert("hmac_key.create", Record::HmacKey(record.clone()))]).await?;
    Ok(created(NewHmacKey { meta: record, alg: "hmac-sha256", secret: STANDARD.encode(secret) }))
}

/// `GET /admin/v1/apps/{id}/hmac-keys`: revoked ones included, oldest first.
pub async fn list_of_app(State(state): State<AdminState>, PathId(app_id): PathId) -> Result<Json<List<HmacKey>>, AdminError> {
    let app = super::app(&state, &app_id).await?;
    Ok(list(state.store.hmac_keys_of_app(&app.id).await?))
}

/// `POST /admin/v1/hmac-keys/{id}/revoke`: its signatures are refused
/// (`key_revoked`, told only to a caller whose signature verifies) from
/// the next request on.
pub async fn revoke(State(state): State<AdminState>, actor: Actor, PathId(id): PathId) -> Result<Json<HmacKey>, AdminError> {
    let _write = state.begin_write().await;
    let before =
        state.store.hmac_key(&HmacKeyId::from(id.as_str())).await?.ok_or_else(|| AdminError::not_found("HMAC key", &id))?;
    if let Some(at) = before.revoked_at {
        return Err(AdminError::InvalidState(format!("HMAC key {id} was already revoked at {}", keyway_core::fmt_time(&at))));
    }
    let after = HmacKey { revoked_at: Some(now()), revoked_by: Some(actor.0.to_string()), ..before.clone() };
    state.commit(&actor, vec![Write::update("hmac_key.revoke", Record::HmacKey(before), Record::HmacKey(after.clone()))]).await?;
    Ok(Json(after))
}
