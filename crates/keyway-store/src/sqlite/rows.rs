//! Row <-> struct mapping for the entity tables and admin tokens: one
//! column list per table, a reader and a binder per type. Readers take
//! columns by position in the list; binders bind them as `?1..?n` in the
//! same order, so one binder serves both INSERT and UPDATE.

use super::codec::{Json, Time};
use super::enums::Enum;
use crate::AdminToken;
use keyway_core::ids::{AdminTokenId, ApiId, AppId, KeyId, SubscriptionId, TenantId, UserId};
use keyway_core::model::{Api, ApiKey, App, KeyRare, Rare, Subscription, Tenant, User};
use rusqlite::{params, Row, Statement};

/// A table and its columns; the first column is the id.
pub(crate) struct Table {
    /// Table name.
    pub name: &'static str,
    /// Column names, id first, in reader/binder order.
    pub cols: &'static [&'static str],
}

impl Table {
    /// `SELECT <cols> FROM <table>`, to which a caller appends clauses.
    pub fn select(&self) -> String {
        format!("SELECT {} FROM {}", self.cols.join(", "), self.name)
    }

    /// `INSERT INTO <table> (<cols>) VALUES (?1, ..., ?n)`.
    pub fn insert(&self) -> String {
        let slots: Vec<String> = (1..=self.cols.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {} ({}) VALUES ({})", self.name, self.cols.join(", "), slots.join(", "))
    }

    /// `UPDATE <table> SET <col2> = ?2, ... WHERE <id> = ?1`.
    pub fn update(&self) -> String {
        let sets: Vec<String> = self.cols.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
        let id = self.cols.first().copied().unwrap_or("id");
        format!("UPDATE {} SET {} WHERE {id} = ?1", self.name, sets.join(", "))
    }
}

/// The `tenants` table.
pub(crate) const TENANTS: Table =
    Table { name: "tenants", cols: &["id", "slug", "name", "status", "status_change", "created_at", "limits", "ai"] };

/// Reads a tenant from a row of [`TENANTS`] columns.
pub(crate) fn tenant(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: TenantId(r.get(0)?),
        slug: r.get(1)?,
        name: r.get(2)?,
        status: r.get::<_, Enum<_>>(3)?.0,
        status_change: r.get::<_, Json<_>>(4)?.0,
        created_at: r.get::<_, Time>(5)?.0,
        limits: r.get::<_, Json<_>>(6)?.0,
        ai: r.get::<_, Json<_>>(7)?.0,
    })
}

/// Binds a tenant to a [`TENANTS`] insert or update and runs it.
pub(crate) fn write_tenant(stmt: &mut Statement<'_>, t: &Tenant) -> rusqlite::Result<usize> {
    stmt.execute(params![
        t.id.as_str(),
        t.slug,
        t.name,
        Enum(t.status),
        Json(&t.status_change),
        Time(t.created_at),
        Json(&t.limits),
        Json(&t.ai),
    ])
}

/// The `users` table.
pub(crate) const USERS: Table = Table {
    name: "users",
    cols: &["id", "tenant_id", "email", "role", "status", "status_change", "password_hash", "created_at"],
};

/// Reads a user from a row of [`USERS`] columns.
pub(crate) fn user(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(r.get(0)?),
        tenant_id: TenantId(r.get(1)?),
        email: r.get(2)?,
        role: r.get::<_, Enum<_>>(3)?.0,
        status: r.get::<_, Enum<_>>(4)?.0,
        status_change: r.get::<_, Json<_>>(5)?.0,
        password_hash: r.get(6)?,
        created_at: r.get::<_, Time>(7)?.0,
    })
}

/// Binds a user to a [`USERS`] insert or update and runs it.
pub(crate) fn write_user(stmt: &mut Statement<'_>, u: &User) -> rusqlite::Result<usize> {
    stmt.execute(params![
        u.id.as_str(),
        u.tenant_id.as_str(),
        u.email,
        Enum(u.role),
        Enum(u.status),
        Json(&u.status_change),
        u.password_hash,
        Time(u.created_at),
    ])
}

/// The `apps` table.
pub(crate) const APPS: Table = Table {
    name: "apps",
    cols: &[
        "id",
        "tenant_id",
        "name",
        "owner_user_id",
        "status",
        "status_change",
        "created_at",
        "limits",
        "ai",
        "token_subjects",
    ],
};

/// Reads an app from a row of [`APPS`] columns.
pub(crate) fn app(r: &Row<'_>) -> rusqlite::Result<App> {
    Ok(App {
        id: AppId(r.get(0)?),
        tenant_id: TenantId(r.get(1)?),
        name: r.get(2)?,
        owner_user_id: UserId(r.get(3)?),
        status: r.get::<_, Enum<_>>(4)?.0,
        status_change: r.get::<_, Json<_>>(5)?.0,
        created_at: r.get::<_, Time>(6)?.0,
        limits: r.get::<_, Json<_>>(7)?.0,
        ai: r.get::<_, Json<_>>(8)?.0,
        token_subjects: r.get::<_, Json<_>>(9)?.0,
    })
}

/// Binds an app to an [`APPS`] insert or update and runs it.
pub(crate) fn write_app(stmt: &mut Statement<'_>, a: &App) -> rusqlite::Result<usize> {
    stmt.execute(params![
        a.id.as_str(),
        a.tenant_id.as_str(),
        a.name,
        a.owner_user_id.as_str(),
        Enum(a.status),
        Json(&a.status_change),
        Time(a.created_at),
        Json(&a.limits),
        Json(&a.ai),
        Json(&a.token_subjects),
    ])
}

/// The `api_keys` table.
pub(crate) const KEYS: Table = Table {
    name: "api_keys",
    cols: &[
        "id",
        "app_id",
        "tenant_id",
        "name",
        "prefix",
        "env",
        "digest",
        "scopes",
        "allowed_ips",
        "expires_at",
        "revoked_at",
        "revoked_reason",
        "revoked_by",
        "rotated_to",
        "grace_until",
        "rate_limit",
        "last_used_at",
        "created_at",
        "quota",
        "ai",
    ],
};

/// Reads a key from a row of [`KEYS`] columns.
pub(crate) fn key(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: KeyId(r.get(0)?),
        app_id: AppId(r.get(1)?),
        tenant_id: TenantId(r.get(2)?),
        name: r.get(3)?,
        prefix: r.get(4)?,
        env: r.get::<_, Enum<_>>(5)?.0,
        digest: r.get(6)?,
        scopes: r.get::<_, Json<_>>(7)?.0,
        last_used_at: r.get::<_, Option<Time>>(16)?.map(|t| t.0),
        created_at: r.get::<_, Time>(17)?.0,
        rare: Rare::of(KeyRare {
            allowed_ips: r.get::<_, Json<_>>(8)?.0,
            expires_at: r.get::<_, Option<Time>>(9)?.map(|t| t.0),
            revoked_at: r.get::<_, Option<Time>>(10)?.map(|t| t.0),
            revoked_reason: r.get(11)?,
            revoked_by: r.get(12)?,
            rotated_to: r.get::<_, Option<String>>(13)?.map(KeyId::from),
            grace_until: r.get::<_, Option<Time>>(14)?.map(|t| t.0),
            rate_limit: r.get::<_, Option<Json<_>>>(15)?.map(|j| j.0),
            quota: r.get::<_, Option<Json<_>>>(18)?.map(|j| j.0),
            // NULL on most keys: no JSON to parse.
            ai: r.get::<_, Option<Json<_>>>(19)?.map(|j| j.0).unwrap_or_default(),
        }),
    })
}

/// Binds a key to a [`KEYS`] insert or update and runs it.
pub(crate) fn write_key(stmt: &mut Statement<'_>, k: &ApiKey) -> rusqlite::Result<usize> {
    stmt.execute(params![
        k.id.as_str(),
        k.app_id.as_str(),
        k.tenant_id.as_str(),
        k.name,
        k.prefix,
        Enum(k.env),
        k.digest,
        Json(&k.scopes),
        Json(k.allowed_ips()),
        k.expires_at().map(Time),
        k.revoked_at().map(Time),
        k.revoked_reason(),
        k.revoked_by(),
        k.rotated_to().map(KeyId::as_str),
        k.grace_until().map(Time),
        k.rate_limit().map(Json),
        k.last_used_at.map(Time),
        Time(k.created_at),
        k.quota().map(Json),
        Some(k.ai_limits()).filter(|ai| !ai.is_empty()).map(Json),
    ])
}

/// The `apis` table.
pub(crate) const APIS: Table = Table {
    name: "apis",
    cols: &[
        "id",
        "tenant_id",
        "name",
        "version",
        "base_path",
        "host",
        "methods",
        "upstream",
        "auth",
        "key_locations",
        "requires_approval",
        "visibility",
        "required_scopes",
        "protocol",
        "status",
        "deprecated_at",
        "sunset_at",
        "retired_at",
        "successor_api_id",
        "created_at",
        "scope_rules",
        "limits",
        "kind",
        "prompt",
        "jwt_issuers",
        "hmac",
    ],
};

/// Reads an API from a row of [`APIS`] columns.
pub(crate) fn api(r: &Row<'_>) -> rusqlite::Result<Api> {
    Ok(Api {
        id: ApiId(r.get(0)?),
        tenant_id: TenantId(r.get(1)?),
        name: r.get(2)?,
        version: r.get(3)?,
        base_path: r.get(4)?,
        host: r.get(5)?,
        methods: r.get::<_, Json<_>>(6)?.0,
        upstream: r.get::<_, Json<_>>(7)?.0,
        auth: r.get::<_, Json<_>>(8)?.0,
        key_locations: r.get::<_, Json<_>>(9)?.0,
        requires_approval: r.get(10)?,
        visibility: r.get::<_, Enum<_>>(11)?.0,
        required_scopes: r.get::<_, Json<_>>(12)?.0,
        protocol: r.get::<_, Enum<_>>(13)?.0,
        status: r.get::<_, Enum<_>>(14)?.0,
        deprecated_at: r.get::<_, Option<Time>>(15)?.map(|t| t.0),
        sunset_at: r.get::<_, Option<Time>>(16)?.map(|t| t.0),
        retired_at: r.get::<_, Option<Time>>(17)?.map(|t| t.0),
        successor_api_id: r.get::<_, Option<String>>(18)?.map(ApiId::from),
        created_at: r.get::<_, Time>(19)?.0,
        scope_rules: r.get::<_, Json<_>>(20)?.0,
        limits: r.get::<_, Json<_>>(21)?.0,
        kind: r.get::<_, Enum<_>>(22)?.0,
        prompt: r.get::<_, Option<Json<_>>>(23)?.map(|j| j.0),
        jwt_issuers: r.get::<_, Json<_>>(24)?.0,
        hmac: r.get::<_, Option<Json<_>>>(25)?.map(|j| j.0),
    })
}

/// Binds an API to an [`APIS`] insert or update and runs it.
pub(crate) fn write_api(stmt: &mut Statement<'_>, a: &Api) -> rusqlite::Result<usize> {
    stmt.execute(params![
        a.id.as_str(),
        a.tenant_id.as_str(),
        a.name,
        a.version,
        a.base_path,
        a.host,
        Json(&a.methods),
        Json(&a.upstream),
        Json(&a.auth),
        Json(&a.key_locations),
        a.requires_approval,
        Enum(a.visibility),
        Json(&a.required_scopes),
        Enum(a.protocol),
        Enum(a.status),
        a.deprecated_at.map(Time),
        a.sunset_at.map(Time),
        a.retired_at.map(Time),
        a.successor_api_id.as_ref().map(ApiId::as_str),
        Time(a.created_at),
        Json(&a.scope_rules),
        Json(&a.limits),
        Enum(a.kind),
        a.prompt.as_ref().map(Json),
        Json(&a.jwt_issuers),
        a.hmac.as_ref().map(Json),
    ])
}

/// The `subscriptions` table.
pub(crate) const SUBSCRIPTIONS: Table = Table {
    name: "subscriptions",
    cols: &["id", "api_id", "app_id", "tenant_id", "status", "requested_at", "decided_at", "decided_by", "reason", "created_at"],
};

/// Reads a subscription from a row of [`SUBSCRIPTIONS`] columns.
pub(crate) fn subscription(r: &Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        id: SubscriptionId(r.get(0)?),
        api_id: ApiId(r.get(1)?),
        app_id: AppId(r.get(2)?),
        tenant_id: TenantId(r.get(3)?),
        status: r.get::<_, Enum<_>>(4)?.0,
        requested_at: r.get::<_, Time>(5)?.0,
        decided_at: r.get::<_, Option<Time>>(6)?.map(|t| t.0),
        decided_by: r.get(7)?,
        reason: r.get(8)?,
        created_at: r.get::<_, Time>(9)?.0,
    })
}

/// Binds a subscription to a [`SUBSCRIPTIONS`] insert or update and runs it.
pub(crate) fn write_subscription(stmt: &mut Statement<'_>, s: &Subscription) -> rusqlite::Result<usize> {
    stmt.execute(params![
        s.id.as_str(),
        s.api_id.as_str(),
        s.app_id.as_str(),
        s.tenant_id.as_str(),
        Enum(s.status),
        Time(s.requested_at),
        s.decided_at.map(Time),
        s.decided_by,
        s.reason,
        Time(s.created_at),
    ])
}

/// The `admin_tokens` table.
pub(crate) const ADMIN_TOKENS: Table = Table { name: "admin_tokens", cols: &["id", "name", "digest", "created_at"] };

/// Reads an admin token from a row of [`ADMIN_TOKENS`] columns.
pub(crate) fn admin_token(r: &Row<'_>) -> rusqlite::Result<AdminToken> {
    Ok(AdminToken { id: AdminTokenId(r.get(0)?), name: r.get(1)?, digest: r.get(2)?, created_at: r.get::<_, Time>(3)?.0 })
}

/// Binds an admin token to an [`ADMIN_TOKENS`] insert and runs it.
pub(crate) fn write_admin_token(stmt: &mut Statement<'_>, t: &AdminToken) -> rusqlite::Result<usize> {
    stmt.execute(params![t.id.as_str(), t.name, t.digest, Time(t.created_at)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_every_column_in_order() {
        assert_eq!(ADMIN_TOKENS.select(), "SELECT id, name, digest, created_at FROM admin_tokens");
        assert_eq!(ADMIN_TOKENS.insert(), "INSERT INTO admin_tokens (id, name, digest, created_at) VALUES (?1, ?2, ?3, ?4)");
        assert_eq!(ADMIN_TOKENS.update(), "UPDATE admin_tokens SET name = ?2, digest = ?3, created_at = ?4 WHERE id = ?1");
    }
}
