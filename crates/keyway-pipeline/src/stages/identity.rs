//! Stage 4, identity behind the credential: the key's app, the user who
//! owns that app, and the tenants on both sides must be in good standing,
//! and the key's tenant must have access to the API.
//!
//! The caller has proven possession of a real key by now, so refusals say
//! what is wrong; they name the app but never another user's email or
//! another tenant.

use crate::snapshot::{ApiEntry, KeyEntry, Snapshot};
use keyway_core::model::{App, PrincipalStatus, Tenant, TenantStatus, Visibility};
use keyway_core::refusals::{OwnerGone, OwnerSuspended, TenantSuspended};
use keyway_core::Refusal;
use std::sync::Arc;

/// What the identity stage established.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The key's app.
    pub app: Arc<App>,
    /// The key's tenant.
    pub tenant: Arc<Tenant>,
}

/// Checks the standing of everyone behind `key` for a call to `api`.
pub fn check(snapshot: &Snapshot, key: &KeyEntry, api: &ApiEntry) -> Result<Identity, Refusal> {
    let k = &key.key;
    let Some(app) = snapshot.apps.get(&k.app_id).cloned() else {
        return Err(Refusal::key_owner_deleted(OwnerGone::AppMissing(k)));
    };
    check_app(snapshot, app, api)
}

/// Checks the standing of `app` (found through a key or a verified
/// token's subject), its owner and tenant, for a call to `api`.
pub fn check_app(snapshot: &Snapshot, app: Arc<App>, api: &ApiEntry) -> Result<Identity, Refusal> {
    match app.status {
        PrincipalStatus::Deleted => return Err(Refusal::key_owner_deleted(OwnerGone::AppDeleted(&app))),
        PrincipalStatus::Suspended => return Err(Refusal::key_owner_suspended(OwnerSuspended::App(&app))),
        PrincipalStatus::Active => {}
    }
    match snapshot.users.get(&app.owner_user_id) {
        None => return Err(Refusal::key_owner_deleted(OwnerGone::OwnerMissing(&app))),
        Some(user) => match user.status {
            PrincipalStatus::Deleted => return Err(Refusal::key_owner_deleted(OwnerGone::OwnerDeleted(&app, user))),
            PrincipalStatus::Suspended => return Err(Refusal::key_owner_suspended(OwnerSuspended::Owner(&app, user))),
            PrincipalStatus::Active => {}
        },
    }
    let Some(tenant) = snapshot.tenants.get(&app.tenant_id).cloned() else {
        return Err(Refusal::internal(format!("app {} names tenant {} which is not in the store", app.id, app.tenant_id)));
    };
    if tenant.status == TenantStatus::Suspended {
        return Err(Refusal::tenant_suspended(TenantSuspended::Caller(&tenant)));
    }
    let a = &api.api;
    if a.tenant_id != tenant.id && a.visibility != Visibility::Public {
        return Err(Refusal::tenant_mismatch(&tenant, a));
    }
    if a.tenant_id != tenant.id {
        if let Some(owner) = snapshot.tenants.get(&a.tenant_id) {
            if owner.status == TenantStatus::Suspended {
                return Err(Refusal::tenant_suspended(TenantSuspended::Publisher(owner, a)));
            }
        }
    }
    Ok(Identity { app, tenant })
}
