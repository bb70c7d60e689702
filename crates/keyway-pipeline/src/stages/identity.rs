//! Stage 4, identity behind the credential: the key's app, the user who
//! owns that app, and the tenants on both sides must be in good standing,
//! and the key's tenant must have access to the API.
//!
//! The caller has proven possession of a real key by now, so refusals say
//! what is wrong; they name the app but never another user's email or
//! another tenant.

use crate::snapshot::{ApiEntry, KeyEntry, Snapshot};
use keyway_core::model::{App, PrincipalStatus, StatusChange, Tenant, TenantStatus, Visibility};
use keyway_core::{fmt_time, ErrorCode, Refusal};
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
        return Err(Refusal::new(
            ErrorCode::KeyOwnerDeleted,
            "The app that owned this key no longer exists.",
            format!("key {} names app {} which is not in the store", k.id, k.app_id),
        )
        .fix("issue a key for an existing app"));
    };
    let app_name = &app.name;
    match app.status {
        PrincipalStatus::Deleted => {
            return Err(Refusal::new(
                ErrorCode::KeyOwnerDeleted,
                format!("App {app_name}, which owns this key, was deleted{}.", since(&app.status_change)),
                format!("app {app_name} ({}) deleted{}", app.id, story(&app.status_change)),
            )
            .hint("Keys of deleted apps stop working; ask for a key of an active app.")
            .fix(format!("restore app {app_name}, or issue a key for another app")));
        }
        PrincipalStatus::Suspended => {
            return Err(Refusal::new(
                ErrorCode::KeyOwnerSuspended,
                format!("App {app_name}, which owns this key, is suspended{}.", since(&app.status_change)),
                format!("app {app_name} ({}) suspended{}", app.id, story(&app.status_change)),
            )
            .hint("Contact the API's operators to have the app reactivated.")
            .fix(format!("reactivate app {app_name} (PATCH /admin/v1/apps/{} {{\"status\":\"active\"}})", app.id)));
        }
        PrincipalStatus::Active => {}
    }
    match snapshot.users.get(&app.owner_user_id) {
        None => {
            return Err(Refusal::new(
                ErrorCode::KeyOwnerDeleted,
                format!("The user who owns app {app_name} no longer exists."),
                format!("app {app_name} ({}) is owned by {} which is not in the store", app.id, app.owner_user_id),
            )
            .fix(format!("move app {app_name} to an active owner")));
        }
        Some(user) => match user.status {
            PrincipalStatus::Deleted => {
                return Err(Refusal::new(
                    ErrorCode::KeyOwnerDeleted,
                    format!("The user who owns app {app_name} was deleted{}.", since(&user.status_change)),
                    format!(
                        "app {app_name} is owned by user {} ({}), deleted{}",
                        user.id,
                        user.email,
                        story(&user.status_change)
                    ),
                )
                .hint("Ask your team's admin to move the app to an active owner.")
                .fix(format!(
                    "move app {app_name} to an active owner (PATCH /admin/v1/apps/{} {{\"owner_user_id\":...}})",
                    app.id
                )));
            }
            PrincipalStatus::Suspended => {
                return Err(Refusal::new(
                    ErrorCode::KeyOwnerSuspended,
                    format!("The user who owns app {app_name} is suspended{}.", since(&user.status_change)),
                    format!(
                        "app {app_name} is owned by user {} ({}), suspended{}",
                        user.id,
                        user.email,
                        story(&user.status_change)
                    ),
                )
                .hint("Ask your team's admin to reactivate the owner or move the app to an active owner.")
                .fix(format!("reactivate {}, or move app {app_name} to an active owner", user.id)));
            }
            PrincipalStatus::Active => {}
        },
    }
    let Some(tenant) = snapshot.tenants.get(&k.tenant_id).cloned() else {
        return Err(Refusal::internal(format!("key {} names tenant {} which is not in the store", k.id, k.tenant_id)));
    };
    if tenant.status == TenantStatus::Suspended {
        return Err(Refusal::new(
            ErrorCode::TenantSuspended,
            format!("Your team is suspended{}.", since(&tenant.status_change)),
            format!("key's tenant {} ({}) suspended{}", tenant.slug, tenant.id, story(&tenant.status_change)),
        )
        .hint("Contact the gateway's operators.")
        .fix(format!("reactivate tenant {}", tenant.slug)));
    }
    let a = &api.api;
    if a.tenant_id != tenant.id && a.visibility != Visibility::Public {
        return Err(Refusal::new(
            ErrorCode::TenantMismatch,
            format!("This key's team has no access to API {} {}.", a.name, a.version),
            format!(
                "key's tenant {} ({}) is not the owner of {} api {} {} (tenant {})",
                tenant.slug,
                tenant.id,
                visibility_name(a.visibility),
                a.name,
                a.version,
                a.tenant_id
            ),
        )
        .hint("Use a key of the team that owns this API, or ask its owners to make it public and subscribe.")
        .fix("use a key of the API's own tenant, or make the API public and subscribe the app"));
    }
    if a.tenant_id != tenant.id {
        if let Some(owner) = snapshot.tenants.get(&a.tenant_id) {
            if owner.status == TenantStatus::Suspended {
                return Err(Refusal::new(
                    ErrorCode::TenantSuspended,
                    format!("The team that publishes API {} {} is suspended.", a.name, a.version),
                    format!("api's tenant {} ({}) suspended{}", owner.slug, owner.id, story(&owner.status_change)),
                )
                .hint("Contact the gateway's operators.")
                .fix(format!("reactivate tenant {}", owner.slug)));
            }
        }
    }
    Ok(Identity { app, tenant })
}

fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Private => "private",
        Visibility::Tenant => "tenant",
        Visibility::Public => "public",
    }
}

/// " since T" for caller text (no actor, no reason: those are the operator's).
fn since(change: &StatusChange) -> String {
    change.changed_at.map(|t| format!(" since {}", fmt_time(&t))).unwrap_or_default()
}

/// " at T by X: \"reason\"" for operator evidence.
fn story(change: &StatusChange) -> String {
    let mut s = String::new();
    if let Some(t) = change.changed_at {
        s.push_str(&format!(" at {}", fmt_time(&t)));
    }
    if let Some(by) = &change.changed_by {
        s.push_str(&format!(" by {by}"));
    }
    if let Some(r) = &change.reason {
        s.push_str(&format!(": {r:?}"));
    }
    s
}
