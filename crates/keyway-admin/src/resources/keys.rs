//! API keys: `POST/GET /admin/v1/apps/{id}/keys`, `GET /admin/v1/keys/{id}`,
//! `POST /admin/v1/keys/{id}/rotate`, `POST /admin/v1/keys/{id}/revoke`.
//!
//! The key text exists only in the answer to the request that made it
//! (create or rotate): storage, the snapshot, the audit log and every
//! other answer hold its keyed digest and display prefix only.

use super::{created, list, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME, MAX_REASON};
use axum::extract::State;
use axum::Json;
use chrono::Duration;
use ipnet::IpNet;
use keyway_core::change::Record;
use keyway_core::ids::{AppId, KeyId, TenantId};
use keyway_core::key_format::{self, KeyEnv};
use keyway_core::model::{ApiKey, App, KeyState, PrincipalStatus, Quota, RateLimit};
use keyway_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Longest rotation grace period: 30 days.
pub const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;
/// Most entries in a key's IP allow list.
pub const MAX_ALLOWED_IPS: usize = 100;

/// Body of `POST /admin/v1/apps/{id}/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// `live` or `test`; the gateway's environment when absent.
    pub env: Option<KeyEnv>,
    /// Scopes granted.
    pub scopes: Option<Vec<String>>,
    /// Client IP allow list: CIDRs, or bare IPs meaning one address.
    pub allowed_ips: Option<Vec<String>>,
    /// When the key stops working.
    pub expires_at: Option<Timestamp>,
    /// Per-key request rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Period quota.
    pub quota: Option<Quota>,
    /// Label.
    pub name: Option<String>,
}

/// Body of `POST /admin/v1/keys/{id}/rotate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old key keeps working (0 to 30 days).
    pub grace_seconds: u64,
}

/// Body of `POST /admin/v1/keys/{id}/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeKey {
    /// Why (shown to callers who present the key, and in diagnose).
    pub reason: String,
}

/// A key's metadata as the admin API shows it: never the secret, never
/// the digest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyView {
    /// Id, `key_…`.
    pub id: KeyId,
    /// Owning app.
    pub app_id: AppId,
    /// The app's tenant.
    pub tenant_id: TenantId,
    /// Label.
    pub name: Option<String>,
    /// Display prefix, e.g. `kw_live_7Hq2`.
    pub prefix: String,
    /// Environment.
    pub env: KeyEnv,
    /// State now: active, rotating, rotated, revoked or expired.
    pub status: KeyState,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Client IP allow list.
    pub allowed_ips: Vec<IpNet>,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
    /// Revocation reason.
    pub revoked_reason: Option<String>,
    /// Its replacement, after rotation.
    pub rotated_to: Option<KeyId>,
    /// End of the rotation grace period.
    pub grace_until: Option<Timestamp>,
    /// Per-key rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Period quota.
    pub quota: Option<Quota>,
    /// Last use as last flushed by the gateway.
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
}

impl KeyView {
    /// The view of `k` at `now`.
    pub fn of(k: &ApiKey, now: Timestamp) -> Self {
        KeyView {
            id: k.id.clone(),
            app_id: k.app_id.clone(),
            tenant_id: k.tenant_id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            env: k.env,
            status: k.state_at(now),
            scopes: k.scopes.clone(),
            allowed_ips: k.allowed_ips.clone(),
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            revoked_reason: k.revoked_reason.clone(),
            rotated_to: k.rotated_to.clone(),
            grace_until: k.grace_until,
            rate_limit: k.rate_limit,
            quota: k.quota,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
        }
    }
}

/// A freshly made key: its metadata plus the key text, shown this once.
#[derive(Debug, Serialize)]
pub struct NewKey {
    /// Metadata.
    #[serde(flatten)]
    pub meta: KeyView,
    /// The key text. Not retrievable again.
    pub key: String,
}

/// `POST /admin/v1/apps/{id}/keys`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(app_id): PathId,
    JsonBody(req): JsonBody<CreateKey>,
) -> Result<Created<NewKey>, AdminError> {
    let t = now();
    let scopes = validate::scopes("scopes", req.scopes.unwrap_or_default())?;
    let allowed_ips = allowed_ips(req.allowed_ips.unwrap_or_default())?;
    let name = validate::opt_text("name", req.name.as_deref(), MAX_NAME)?;
    if let Some(e) = req.expires_at.filter(|e| *e <= t) {
        return Err(AdminError::invalid("expires_at", format!("expires_at ({e}) is not in the future")));
    }
    if let Some(q) = &req.quota {
        crate::validate::quota("quota", q)?;
    }
    if let Some(rl) = &req.rate_limit {
        crate::validate::rate_limit("rate_limit", rl)?;
    }

    let _write = state.begin_write().await;
    let app = usable_app(&state, &app_id).await?;
    let env = req.env.unwrap_or(state.settings.environment);
    let template = ApiKey {
        name,
        scopes,
        allowed_ips,
        expires_at: req.expires_at,
        rate_limit: req.rate_limit,
        quota: req.quota,
        // Prefix and digest are set by `mint`.
        ..ApiKey::new(&app.id, &app.tenant_id, env, "", [0; 32], t)
    };
    let (record, key) = mint(&state, template)?;
    state.commit(&actor, vec![Write::insert("key.create", Record::Key(record.clone()))]).await?;
    Ok(created(NewKey { meta: KeyView::of(&record, t), key }))
}

/// `GET /admin/v1/apps/{id}/keys`.
pub async fn list_of_app(State(state): State<AdminState>, PathId(app_id): PathId) -> Result<Json<List<KeyView>>, AdminError> {
    let app = super::app(&state, &app_id).await?;
    let t = now();
    let keys = state.store.keys_of_app(&app.id).await?;
    Ok(list(keys.iter().map(|k| KeyView::of(k, t)).collect()))
}

/// `GET /admin/v1/keys/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<KeyView>, AdminError> {
    let k = super::key(&state, &id).await?;
    let mut view = KeyView::of(&k, now());
    // This node may have seen a use not yet flushed to storage.
    let seen = state
        .snapshot
        .load()
        .key_by_id(&k.id)
        .and_then(|e| e.usage.last_used_ms())
        .and_then(chrono::DateTime::from_timestamp_millis);
    view.last_used_at = view.last_used_at.max(seen);
    Ok(Json(view))
}

/// `POST /admin/v1/keys/{id}/rotate`: a new key with the same settings;
/// the old one keeps working until `grace_until`. Both writes commit
/// together.
pub async fn rotate(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<RotateKey>,
) -> Result<Created<NewKey>, AdminError> {
    if req.grace_seconds > MAX_GRACE_SECONDS {
        return Err(AdminError::invalid("grace_seconds", format!("grace_seconds is at most {MAX_GRACE_SECONDS} (30 days)")));
    }
    let t = now();
    let _write = state.begin_write().await;
    let old = super::key(&state, &id).await?;
    match old.state_at(t) {
        KeyState::Active => {}
        KeyState::Revoked => return Err(AdminError::InvalidState(format!("key {id} is revoked; create a new key"))),
        KeyState::Rotating | KeyState::Rotated => {
            let to = old.rotated_to.as_ref().map(ToString::to_string).unwrap_or_default();
            return Err(AdminError::InvalidState(format!("key {id} was already rotated to {to}")));
        }
        KeyState::Expired => return Err(AdminError::InvalidState(format!("key {id} has expired; create a new key"))),
    }
    usable_app(&state, old.app_id.as_str()).await?;

    let template = ApiKey {
        id: KeyId::generate(),
        revoked_at: None,
        revoked_reason: None,
        revoked_by: None,
        rotated_to: None,
        grace_until: None,
        last_used_at: None,
        created_at: t,
        ..old.clone()
    };
    let (record, key) = mint(&state, template)?;
    let grace = Duration::seconds(i64::try_from(req.grace_seconds).unwrap_or(i64::MAX));
    let mut retired = old.clone();
    retired.rotated_to = Some(record.id.clone());
    retired.grace_until = Some(t + grace);
    state
        .commit(
            &actor,
            vec![
                Write::insert("key.rotate", Record::Key(record.clone())),
                Write::update("key.rotate", Record::Key(old), Record::Key(retired)),
            ],
        )
        .await?;
    Ok(created(NewKey { meta: KeyView::of(&record, t), key }))
}

/// `POST /admin/v1/keys/{id}/revoke`: refused at once from then on.
pub async fn revoke(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<RevokeKey>,
) -> Result<Json<KeyView>, AdminError> {
    let reason = validate::text("reason", &req.reason, MAX_REASON)?;
    let t = now();
    let _write = state.begin_write().await;
    let before = super::key(&state, &id).await?;
    if let Some(at) = before.revoked_at {
        return Err(AdminError::InvalidState(format!("key {id} was already revoked at {}", keyway_core::fmt_time(&at))));
    }
    let mut after = before.clone();
    after.revoked_at = Some(t);
    after.revoked_reason = Some(reason);
    after.revoked_by = Some(actor.0.clone());
    state.commit(&actor, vec![Write::update("key.revoke", Record::Key(before), Record::Key(after.clone()))]).await?;
    Ok(Json(KeyView::of(&after, t)))
}

/// Gives `template` fresh key text: digest and display prefix set,
/// text returned beside it.
fn mint(state: &AdminState, mut template: ApiKey) -> Result<(ApiKey, String), AdminError> {
    let text = key_format::generate(template.env);
    let parsed = key_format::parse(&text).map_err(|e| AdminError::Internal(format!("a generated key does not parse: {e}")))?;
    template.prefix = parsed.display_prefix().to_owned();
    template.digest = state.settings.hasher.digest(&text);
    Ok((template, text))
}

/// The app a key is made for: it must exist (404) and not be deleted (409).
async fn usable_app(state: &AdminState, id: &str) -> Result<App, AdminError> {
    let app = super::app(state, id).await?;
    if app.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("app {id} is deleted; it cannot get keys")));
    }
    Ok(app)
}

/// Parses an allow list: each entry a CIDR, or a bare IP meaning /32 or /128.
fn allowed_ips(entries: Vec<String>) -> Result<Vec<IpNet>, AdminError> {
    if entries.len() > MAX_ALLOWED_IPS {
        return Err(AdminError::invalid("allowed_ips", format!("at most {MAX_ALLOWED_IPS} entries")));
    }
    let mut out: Vec<IpNet> = Vec::with_capacity(entries.len());
    for (i, s) in entries.iter().enumerate() {
        let net = s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
            AdminError::invalid(
                format!("allowed_ips[{i}]"),
                format!("{s:?} is not an IP address or CIDR, e.g. 203.0.113.0/24 or 2001:db8::1"),
            )
        })?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_take_cidrs_and_bare_ips() {
        let nets = allowed_ips(vec!["10.0.0.0/8".into(), "203.0.113.7".into(), "2001:db8::1".into()]).unwrap();
        assert_eq!(nets[1].to_string(), "203.0.113.7/32");
        assert_eq!(nets[2].to_string(), "2001:db8::1/128");
        let Err(AdminError::RequestInvalid { param, .. }) = allowed_ips(vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()]) else {
            panic!("expected a 400");
        };
        assert_eq!(param.as_deref(), Some("allowed_ips[1]"));
        assert!(allowed_ips(vec!["example.com".into()]).is_err());
    }
}
