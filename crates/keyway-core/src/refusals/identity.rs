//! Stage 4, identity behind the credential: `key_owner_deleted`,
//! `key_owner_suspended`, `tenant_suspended`, `tenant_mismatch`. They name
//! the app, never another user's email (that is operator evidence) or
//! another tenant.

use super::{since, story};
use crate::model::{Api, ApiKey, App, Tenant, User, Visibility};
use crate::{ErrorCode, Refusal};

/// Who behind the key is gone.
#[derive(Debug, Clone, Copy)]
pub enum OwnerGone<'a> {
    /// The key names an app that is not stored.
    AppMissing(&'a ApiKey),
    /// The key's app was deleted.
    AppDeleted(&'a App),
    /// The app names an owner who is not stored.
    OwnerMissing(&'a App),
    /// The app's owner was deleted.
    OwnerDeleted(&'a App, &'a User),
}

/// Who behind the key is suspended.
#[derive(Debug, Clone, Copy)]
pub enum OwnerSuspended<'a> {
    /// The key's app.
    App(&'a App),
    /// The app's owner.
    Owner(&'a App, &'a User),
}

/// Which tenant is suspended.
#[derive(Debug, Clone, Copy)]
pub enum TenantSuspended<'a> {
    /// The key's own tenant.
    Caller(&'a Tenant),
    /// The tenant that publishes `api`.
    Publisher(&'a Tenant, &'a Api),
}

impl Refusal {
    /// `key_owner_deleted`: the app or user behind the key no longer exists.
    pub fn key_owner_deleted(who: OwnerGone<'_>) -> Self {
        match who {
            OwnerGone::AppMissing(k) => Self::new(
                ErrorCode::KeyOwnerDeleted,
                "The app that owned this key no longer exists.",
                format!("key {} names app {} which is not in the store", k.id, k.app_id),
            )
            .fix("issue a key for an existing app"),
            OwnerGone::AppDeleted(app) => Self::new(
                ErrorCode::KeyOwnerDeleted,
                format!("App {}, which owns this key, was deleted{}.", app.name, since(&app.status_change)),
                format!("app {} ({}) deleted{}", app.name, app.id, story(&app.status_change)),
            )
            .hint("Keys of deleted apps stop working; ask for a key of an active app.")
            .fix(format!("restore app {}, or issue a key for another app", app.name)),
            OwnerGone::OwnerMissing(app) => Self::new(
                ErrorCode::KeyOwnerDeleted,
                format!("The user who owns app {} no longer exists.", app.name),
                format!("app {} ({}) is owned by {} which is not in the store", app.name, app.id, app.owner_user_id),
            )
            .fix(format!("move app {} to an active owner", app.name)),
            OwnerGone::OwnerDeleted(app, user) => Self::new(
                ErrorCode::KeyOwnerDeleted,
                format!("The user who owns app {} was deleted{}.", app.name, since(&user.status_change)),
                format!("app {} is owned by user {} ({}), deleted{}", app.name, user.id, user.email, story(&user.status_change)),
            )
            .hint("Ask your team's admin to move the app to an active owner.")
            .fix(format!("move app {} to an active owner (PATCH /admin/v1/apps/{} {{\"owner_user_id\":...}})", app.name, app.id)),
        }
    }

    /// `key_owner_suspended`: the app or user behind the key is suspended.
    pub fn key_owner_suspended(who: OwnerSuspended<'_>) -> Self {
        match who {
            OwnerSuspended::App(app) => Self::new(
                ErrorCode::KeyOwnerSuspended,
                format!("App {}, which owns this key, is suspended{}.", app.name, since(&app.status_change)),
                format!("app {} ({}) suspended{}", app.name, app.id, story(&app.status_change)),
            )
            .hint("Contact the API's operators to have the app reactivated.")
            .fix(format!("reactivate app {} (PATCH /admin/v1/apps/{} {{\"status\":\"active\"}})", app.name, app.id)),
            OwnerSuspended::Owner(app, user) => Self::new(
                ErrorCode::KeyOwnerSuspended,
                format!("The user who owns app {} is suspended{}.", app.name, since(&user.status_change)),
                format!(
                    "app {} is owned by user {} ({}), suspended{}",
                    app.name,
                    user.id,
                    user.email,
                    story(&user.status_change)
                ),
            )
            .hint("Ask your team's admin to reactivate the owner or move the app to an active owner.")
            .fix(format!("reactivate {}, or move app {} to an active owner", user.id, app.name)),
        }
    }

    /// `tenant_suspended`: the caller's tenant, or the API's publisher, is suspended.
    pub fn tenant_suspended(which: TenantSuspended<'_>) -> Self {
        match which {
            TenantSuspended::Caller(t) => Self::new(
                ErrorCode::TenantSuspended,
                format!("Your team is suspended{}.", since(&t.status_change)),
                format!("key's tenant {} ({}) suspended{}", t.slug, t.id, story(&t.status_change)),
            ),
            TenantSuspended::Publisher(t, api) => Self::new(
                ErrorCode::TenantSuspended,
                format!("The team that publishes API {} {} is suspended.", api.name, api.version),
                format!("api's tenant {} ({}) suspended{}", t.slug, t.id, story(&t.status_change)),
            ),
        }
        .hint("Contact the gateway's operators.")
        .fix(format!(
            "reactivate tenant {}",
            match which {
                TenantSuspended::Caller(t) | TenantSuspended::Publisher(t, _) => &t.slug,
            }
        ))
    }

    /// `tenant_mismatch`: a key of `tenant` for an API of another tenant
    /// that is not public.
    pub fn tenant_mismatch(tenant: &Tenant, api: &Api) -> Self {
        let visibility = match api.visibility {
            Visibility::Private => "private",
            Visibility::Tenant => "tenant",
            Visibility::Public => "public",
        };
        Self::new(
            ErrorCode::TenantMismatch,
            format!("This key's team has no access to API {} {}.", api.name, api.version),
            format!(
                "key's tenant {} ({}) is not the owner of {visibility} api {} {} (tenant {})",
                tenant.slug, tenant.id, api.name, api.version, api.tenant_id
            ),
        )
        .hint("Use a key of the team that owns this API, or ask its owners to make it public and subscribe.")
        .fix("use a key of the API's own tenant, or make the API public and subscribe the app")
    }
}
