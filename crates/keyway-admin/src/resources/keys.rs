//! API keys: `POST/GET /admin/v1/apps/{id}/keys`, `GET /admin/v1/keys/{id}`,
//! `POST /admin/v1/keys/{id}/rotate`, `POST /admin/v1/keys/{id}/revoke`.
//!
//! The key text exists only in the answer to the request that made it
//! (create or rotate): storage, the snapshot, the audit log and every
//! other answer hold its keyed digest and display prefix only.

use super::{created, list, Created, List};
use crate::ai_fields::{with_ai_fields, AiPatch};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{nullable_time, some, whole, QuotaIn, RateLimitIn};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME, MAX_REASON};
use axum::extract::State;
use axum::Json;
use chrono::Duration;
use ipnet::IpNet;
use keyway_core::change::Record;
use keyway_core::ids::{AppId, KeyId, TenantId};
use keyway_core::key_format::{self, KeyEnv};
use keyway_core::model::{
    AiLimits, ApiKey, App, KeyRare, KeyState, PrincipalStatus, Quota, RateLimit, Tenant, TenantStatus, User,
};
use keyway_core::{ErrorCode, Timestamp};
use serde::{Deserialize, Serialize};

/// Longest rotation grace period: 30 days.
pub const MAX_GRACE_SECONDS: u64 = 30 * 24 * 3600;

with_ai_fields! {
    /// Body of `POST /admin/v1/apps/{id}/keys`. `expires_at`, `rate_limit`,
    /// `quota`, `name`, `budget` and `tokens_per_minute` may be `null`
    /// (none); the other fields may be left out but not be `null`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CreateKey {
        /// `live` or `test`; the gateway's environment when absent.
        #[serde(default, deserialize_with = "some")]
        pub env: Option<KeyEnv>,
        /// Scopes granted.
        #[serde(default, deserialize_with = "some")]
        pub scopes: Option<Vec<String>>,
        /// Client IP allow list: CIDRs, or bare IPs meaning one address.
        #[serde(default, deserialize_with = "some")]
        pub allowed_ips: Option<Vec<String>>,
        /// When the key stops working; a past time makes a key that is
        /// already expired.
        #[serde(default, deserialize_with = "nullable_time")]
        pub expires_at: Option<Timestamp>,
        /// Per-key request rate limit.
        #[serde(default)]
        pub rate_limit: Option<RateLimitIn>,
        /// Period quota.
        #[serde(default)]
        pub quota: Option<QuotaIn>,
        /// Label.
        #[serde(default)]
        pub name: Option<String>,
    }
}

/// Body of `POST /admin/v1/keys/{id}/rotate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old key keeps working (0 to 30 days).
    #[serde(deserialize_with = "whole")]
    pub grace_seconds: u64,
}

/// Body of `POST /admin/v1/keys/{id}/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeKey {
    /// Why (shown to callers who present the key, and in diagnose).
    pub reason: String,
}

/// Whether the gateway accepts a key, all things considered: the key's
/// own state (stage 3 of `errors.md`) and the standing of its app, the
/// app's owner and its tenant (stage 4), in the gateway's check order.
/// Checks that depend on the API called (subscription, scopes, IP allow
/// list, limits, `tenant_mismatch`) are not part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    /// Accepted.
    Active,
    /// Replaced by rotation, accepted until `grace_until`.
    Rotating,
    /// Refused with `key_revoked`.
    Revoked,
    /// Refused with `key_rotated`: replaced, and the grace period is over.
    Rotated,
    /// Refused with `key_expired`.
    Expired,
    /// Refused with `key_owner_deleted`: the key's app is deleted.
    AppDeleted,
    /// Refused with `key_owner_suspended`: the key's app is suspended.
    AppSuspended,
    /// Refused with `key_owner_deleted`: the user who owns the app is deleted.
    OwnerDeleted,
    /// Refused with `key_owner_suspended`: the user who owns the app is suspended.
    OwnerSuspended,
    /// Refused with `tenant_suspended`: the key's tenant is suspended.
    TenantSuspended,
}

impl EffectiveStatus {
    /// Every effective status, in the gateway's check order.
    pub const ALL: [EffectiveStatus; 10] = [
        EffectiveStatus::Active,
        EffectiveStatus::Rotating,
        EffectiveStatus::Revoked,
        EffectiveStatus::Rotated,
        EffectiveStatus::Expired,
        EffectiveStatus::AppDeleted,
        EffectiveStatus::AppSuspended,
        EffectiveStatus::OwnerDeleted,
        EffectiveStatus::OwnerSuspended,
        EffectiveStatus::TenantSuspended,
    ];

    /// The code the gateway refuses the key with, on every API; `None`
    /// when it accepts it.
    pub fn refusal_code(self) -> Option<ErrorCode> {
        match self {
            EffectiveStatus::Active | EffectiveStatus::Rotating => None,
            EffectiveStatus::Revoked => Some(ErrorCode::KeyRevoked),
            EffectiveStatus::Rotated => Some(ErrorCode::KeyRotated),
            EffectiveStatus::Expired => Some(ErrorCode::KeyExpired),
            EffectiveStatus::AppDeleted | EffectiveStatus::OwnerDeleted => Some(ErrorCode::KeyOwnerDeleted),
            EffectiveStatus::AppSuspended | EffectiveStatus::OwnerSuspended => Some(ErrorCode::KeyOwnerSuspended),
            EffectiveStatus::TenantSuspended => Some(ErrorCode::TenantSuspended),
        }
    }
}

/// What stands behind an app's keys: the app, its owner and its tenant,
/// read once for all of them. A missing owner counts as deleted, as the
/// gateway counts it.
#[derive(Clone, Debug)]
pub struct Standing {
    app: PrincipalStatus,
    owner: PrincipalStatus,
    tenant: Option<TenantStatus>,
}

impl Standing {
    /// From the records themselves.
    pub fn of(app: &App, owner: Option<&User>, tenant: Option<&Tenant>) -> Self {
        Standing {
            app: app.status,
            owner: owner.map_or(PrincipalStatus::Deleted, |u| u.status),
            tenant: tenant.map(|t| t.status),
        }
    }

    /// The owner and tenant of `app` as the gateway's snapshot has them
    /// (every committed admin write is in it), from storage when the
    /// snapshot lacks them.
    pub async fn current(state: &AdminState, app: &App) -> Result<Self, AdminError> {
        let snap = state.snapshot.load();
        match (snap.users.get(&app.owner_user_id), snap.tenants.get(&app.tenant_id)) {
            (Some(owner), Some(tenant)) => Ok(Standing::of(app, Some(owner), Some(tenant))),
            _ => Standing::load(state, app).await,
        }
    }

    /// Reads the owner and tenant of `app`: two point reads, whatever the
    /// number of keys.
    pub async fn load(state: &AdminState, app: &App) -> Result<Self, AdminError> {
        let owner = state.store.user(&app.owner_user_id).await?;
        let tenant = state.store.tenant(&app.tenant_id).await?;
        Ok(Standing::of(app, owner.as_ref(), tenant.as_ref()))
    }

    /// The effective status of a key in `own` state behind this standing.
    pub fn effective(&self, own: KeyState) -> EffectiveStatus {
        let identity = match (self.app, self.owner, self.tenant) {
            (PrincipalStatus::Deleted, _, _) => Some(EffectiveStatus::AppDeleted),
            (PrincipalStatus::Suspended, _, _) => Some(EffectiveStatus::AppSuspended),
            (_, PrincipalStatus::Deleted, _) => Some(EffectiveStatus::OwnerDeleted),
            (_, PrincipalStatus::Suspended, _) => Some(EffectiveStatus::OwnerSuspended),
            (_, _, Some(TenantStatus::Suspended)) => Some(EffectiveStatus::TenantSuspended),
            _ => None,
        };
        match own {
            KeyState::Revoked => EffectiveStatus::Revoked,
            KeyState::Rotated => EffectiveStatus::Rotated,
            KeyState::Expired => EffectiveStatus::Expired,
            KeyState::Active => identity.unwrap_or(EffectiveStatus::Active),
            KeyState::Rotating => identity.unwrap_or(EffectiveStatus::Rotating),
        }
    }
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
    /// The key's own state now: active, rotating, rotated, revoked or expired.
    pub status: KeyState,
    /// Whether the gateway accepts it now, its app, owner and tenant
    /// considered (see [`EffectiveStatus`]).
    pub effective_status: EffectiveStatus,
    /// The code the gateway refuses it with, when it does.
    pub refusal_code: Option<ErrorCode>,
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
    /// AI limits: `allowed_models`, `budget`, `tokens_per_minute`, each
    /// left out when unset.
    #[serde(flatten)]
    pub ai: AiLimits,
    /// Last use as last flushed by the gateway.
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
}

impl KeyView {
    /// The view of `k` at `now`, behind `standing`.
    pub fn of(k: &ApiKey, now: Timestamp, standing: &Standing) -> Self {
        let status = k.state_at(now);
        let effective_status = standing.effective(status);
        KeyView {
            id: k.id.clone(),
            app_id: k.app_id.clone(),
            tenant_id: k.tenant_id.clone(),
            name: k.name.as_deref().map(str::to_owned),
            prefix: k.prefix.to_string(),
            env: k.env,
            status,
            effective_status,
            refusal_code: effective_status.refusal_code(),
            scopes: k.scopes.to_vec(),
            allowed_ips: k.allowed_ips().to_vec(),
            expires_at: k.expires_at(),
            revoked_at: k.revoked_at(),
            revoked_reason: k.revoked_reason().map(str::to_owned),
            rotated_to: k.rotated_to().cloned(),
            grace_until: k.grace_until(),
            rate_limit: k.rate_limit(),
            quota: k.quota(),
            ai: k.ai_limits().clone(),
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

/// A [`CreateKey`] body validated: everything a new key needs but its
/// app, its text and its time.
#[derive(Debug)]
pub struct KeySpec {
    env: Option<KeyEnv>,
    scopes: Vec<String>,
    allowed_ips: Vec<IpNet>,
    expires_at: Option<Timestamp>,
    rate_limit: Option<RateLimit>,
    quota: Option<Quota>,
    name: Option<String>,
    ai: AiLimits,
}

impl KeySpec {
    /// Validates a create body; the error names the field at fault.
    pub fn validate(mut req: CreateKey) -> Result<Self, AdminError> {
        Ok(KeySpec {
            ai: AiPatch::of(&mut req)?.new_limits(),
            scopes: validate::scopes("scopes", req.scopes.unwrap_or_default())?,
            allowed_ips: validate::allowed_ips(req.allowed_ips.unwrap_or_default())?,
            name: validate::opt_text("name", req.name.as_deref(), MAX_NAME)?,
            quota: req.quota.map(|q| validate::quota("quota", q)).transpose()?,
            rate_limit: req.rate_limit.map(|rl| validate::rate_limit("rate_limit", rl)).transpose()?,
            env: req.env,
            expires_at: req.expires_at,
        })
    }

    /// A new key of `app` made at `t`, with fresh text (returned beside
    /// it, the only copy); `default_env` when the body named none.
    pub fn mint(self, state: &AdminState, app: &App, t: Timestamp) -> Result<(ApiKey, String), AdminError> {
        let env = self.env.unwrap_or(state.settings.environment);
        let mut template = ApiKey {
            name: self.name.map(String::into_boxed_str),
            scopes: self.scopes.into_boxed_slice(),
            // Prefix and digest are set by `mint`.
            ..ApiKey::new(&app.id, &app.tenant_id, env, "", [0; 32], t)
        };
        template.set_rare(KeyRare {
            allowed_ips: self.allowed_ips,
            expires_at: self.expires_at,
            rate_limit: self.rate_limit,
            quota: self.quota,
            ai: self.ai,
            ..KeyRare::default()
        });
        mint(state, template)
    }
}

/// `POST /admin/v1/apps/{id}/keys`. Takes the write lock shared with
/// other inserts, so concurrent creates commit together.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(app_id): PathId,
    JsonBody(req): JsonBody<CreateKey>,
) -> Result<Created<NewKey>, AdminError> {
    let t = now();
    let spec = KeySpec::validate(req)?;
    let _write = state.begin_insert().await;
    let app = usable_app(&state, &app_id).await?;
    let standing = Standing::current(&state, &app).await?;
    let (record, key) = spec.mint(&state, &app, t)?;
    state.commit(&actor, vec![Write::insert("key.create", Record::Key(record.clone()))]).await?;
    Ok(created(NewKey { meta: KeyView::of(&record, t, &standing), key }))
}

/// `GET /admin/v1/apps/{id}/keys`.
pub async fn list_of_app(State(state): State<AdminState>, PathId(app_id): PathId) -> Result<Json<List<KeyView>>, AdminError> {
    let app = super::app(&state, &app_id).await?;
    let standing = Standing::load(&state, &app).await?;
    let t = now();
    let keys = state.store.keys_of_app(&app.id).await?;
    Ok(list(keys.iter().map(|k| KeyView::of(k, t, &standing)).collect()))
}

/// `GET /admin/v1/keys/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<KeyView>, AdminError> {
    let k = super::key(&state, &id).await?;
    let standing = standing_of_key(&state, &k).await?;
    let mut view = KeyView::of(&k, now(), &standing);
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
            let to = old.rotated_to().map(ToString::to_string).unwrap_or_default();
            return Err(AdminError::InvalidState(format!("key {id} was already rotated to {to}")));
        }
        KeyState::Expired => return Err(AdminError::InvalidState(format!("key {id} has expired; create a new key"))),
    }
    let app = usable_app(&state, old.app_id.as_str()).await?;
    let standing = Standing::load(&state, &app).await?;

    let mut template = ApiKey { id: KeyId::generate(), last_used_at: None, created_at: t, ..old.clone() };
    // The successor keeps the settings, not the retirement.
    let kept = old.rare();
    template.set_rare(KeyRare {
        allowed_ips: kept.allowed_ips.clone(),
        expires_at: kept.expires_at,
        rate_limit: kept.rate_limit,
        quota: kept.quota,
        ai: kept.ai.clone(),
        ..KeyRare::default()
    });
    let (record, key) = mint(&state, template)?;
    let grace = Duration::seconds(i64::try_from(req.grace_seconds).unwrap_or(i64::MAX));
    let mut retired = old.clone();
    retired.rare_mut().rotated_to = Some(record.id.clone());
    retired.rare_mut().grace_until = Some(t + grace);
    state
        .commit(
            &actor,
            vec![
                Write::insert("key.rotate", Record::Key(record.clone())),
                Write::update("key.rotate", Record::Key(old), Record::Key(retired)),
            ],
        )
        .await?;
    Ok(created(NewKey { meta: KeyView::of(&record, t, &standing), key }))
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
    let standing = standing_of_key(&state, &before).await?;
    if let Some(at) = before.revoked_at() {
        return Err(AdminError::InvalidState(format!("key {id} was already revoked at {}", keyway_core::fmt_time(&at))));
    }
    let mut after = before.clone();
    let r = after.rare_mut();
    r.revoked_at = Some(t);
    r.revoked_reason = Some(reason.into_boxed_str());
    r.revoked_by = Some(actor.0.as_str().into());
    state.commit(&actor, vec![Write::update("key.revoke", Record::Key(before), Record::Key(after.clone()))]).await?;
    Ok(Json(KeyView::of(&after, t, &standing)))
}

/// Gives `template` fresh key text: digest and display prefix set,
/// text returned beside it.
fn mint(state: &AdminState, mut template: ApiKey) -> Result<(ApiKey, String), AdminError> {
    let text = key_format::generate(template.env);
    let parsed = key_format::parse(&text).map_err(|e| AdminError::Internal(format!("a generated key does not parse: {e}")))?;
    template.prefix = parsed.display_prefix().into();
    template.digest = state.settings.hasher.digest(&text);
    Ok((template, text))
}

/// The standing behind key `k`: its app (missing: deleted, as the gateway
/// counts it), the app's owner and tenant.
async fn standing_of_key(state: &AdminState, k: &ApiKey) -> Result<Standing, AdminError> {
    match state.store.app(&k.app_id).await? {
        Some(app) => Standing::load(state, &app).await,
        None => {
            let tenant = state.store.tenant(&k.tenant_id).await?;
            Ok(Standing { app: PrincipalStatus::Deleted, owner: PrincipalStatus::Deleted, tenant: tenant.map(|t| t.status) })
        }
    }
}

/// The app a key is made for: it must exist (404) and not be deleted
/// (409). Read from the snapshot (every committed admin write is in it),
/// from storage when the snapshot lacks it.
pub(crate) async fn usable_app(state: &AdminState, id: &str) -> Result<App, AdminError> {
    let cached = state.snapshot.load().apps.get(&AppId::from(id)).map(|a| App::clone(a));
    let app = match cached {
        Some(app) => app,
        None => super::app(state, id).await?,
    };
    if app.status == PrincipalStatus::Deleted {
        return Err(AdminError::InvalidState(format!("app {id} is deleted; it cannot get keys")));
    }
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyState as K;
    use PrincipalStatus as P;

    fn standing(app: P, owner: P, tenant: TenantStatus) -> Standing {
        Standing { app, owner, tenant: Some(tenant) }
    }

    #[test]
    fn effective_status_follows_the_gateway_check_order() {
        use EffectiveStatus as E;
        let ok = standing(P::Active, P::Active, TenantStatus::Active);
        assert_eq!(ok.effective(K::Active), E::Active);
        assert_eq!(ok.effective(K::Rotating), E::Rotating);
        // Stage 3 (the key itself) before stage 4 (who stands behind it).
        let all_bad = standing(P::Deleted, P::Suspended, TenantStatus::Suspended);
        assert_eq!(all_bad.effective(K::Revoked), E::Revoked);
        assert_eq!(all_bad.effective(K::Rotated), E::Rotated);
        assert_eq!(all_bad.effective(K::Expired), E::Expired);
        // Within stage 4: app, then owner, then tenant.
        assert_eq!(all_bad.effective(K::Active), E::AppDeleted);
        assert_eq!(standing(P::Suspended, P::Deleted, TenantStatus::Suspended).effective(K::Rotating), E::AppSuspended);
        assert_eq!(standing(P::Active, P::Deleted, TenantStatus::Suspended).effective(K::Active), E::OwnerDeleted);
        assert_eq!(standing(P::Active, P::Suspended, TenantStatus::Suspended).effective(K::Active), E::OwnerSuspended);
        assert_eq!(standing(P::Active, P::Active, TenantStatus::Suspended).effective(K::Active), E::TenantSuspended);
        assert_eq!(E::AppDeleted.refusal_code(), Some(ErrorCode::KeyOwnerDeleted));
        assert_eq!(E::OwnerSuspended.refusal_code(), Some(ErrorCode::KeyOwnerSuspended));
        assert_eq!(E::Rotating.refusal_code(), None);
    }
}
