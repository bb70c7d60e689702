//! Constructors of new entities in their starting state: active, no
//! limits, nothing revoked or rotated. Every place that creates one (admin
//! API, seed tool, tests) starts here, so a new field is added once.

use crate::ids::{ApiId, AppId, KeyId, SubscriptionId, TenantId, UserId};
use crate::key_format::{KeyDigest, KeyEnv};
use crate::model::{
    AiLimits, Api, ApiKey, ApiKind, ApiStatus, App, AuthMethod, KeyLocation, Limits, PrincipalStatus, Protocol, Rare, Role,
    StatusChange, Subscription, SubscriptionStatus, Tenant, TenantStatus, Upstream, User, Visibility,
};
use crate::Timestamp;

impl Tenant {
    /// An active tenant with no limits.
    pub fn new(slug: impl Into<String>, name: impl Into<String>, now: Timestamp) -> Self {
        Tenant {
            id: TenantId::generate(),
            slug: slug.into(),
            name: name.into(),
            status: TenantStatus::Active,
            status_change: StatusChange::default(),
            limits: Limits::default(),
            ai: AiLimits::default(),
            created_at: now,
        }
    }
}

impl User {
    /// An active user of `tenant`, without a password.
    pub fn new(tenant: &TenantId, email: impl Into<String>, role: Role, now: Timestamp) -> Self {
        User {
            id: UserId::generate(),
            tenant_id: tenant.clone(),
            email: email.into(),
            role,
            status: PrincipalStatus::Active,
            status_change: StatusChange::default(),
            password_hash: None,
            created_at: now,
        }
    }
}

impl App {
    /// An active app of `tenant` owned by `owner`, with no limits.
    pub fn new(tenant: &TenantId, name: impl Into<String>, owner: &UserId, now: Timestamp) -> Self {
        App {
            id: AppId::generate(),
            tenant_id: tenant.clone(),
            name: name.into(),
            owner_user_id: owner.clone(),
            status: PrincipalStatus::Active,
            status_change: StatusChange::default(),
            limits: Limits::default(),
            ai: AiLimits::default(),
            token_subjects: Vec::new(),
            created_at: now,
        }
    }
}

impl ApiKey {
    /// A live key of `app` (of `tenant`) with this display prefix and
    /// digest; no scopes, IP rules, expiry or limits.
    pub fn new(
        app: &AppId,
        tenant: &TenantId,
        env: KeyEnv,
        prefix: impl Into<String>,
        digest: KeyDigest,
        now: Timestamp,
    ) -> Self {
        ApiKey {
            id: KeyId::generate(),
            app_id: app.clone(),
            tenant_id: tenant.clone(),
            name: None,
            prefix: prefix.into().into_boxed_str(),
            env,
            digest,
            scopes: Box::default(),
            last_used_at: None,
            created_at: now,
            rare: Rare::default(),
        }
    }
}

impl Api {
    /// A published, private REST API of `tenant` taking API keys in the
    /// default places, with no scopes, rules or limits.
    pub fn new(
        tenant: &TenantId,
        name: impl Into<String>,
        version: impl Into<String>,
        base_path: impl Into<String>,
        upstream: Upstream,
        now: Timestamp,
    ) -> Self {
        Api {
            id: ApiId::generate(),
            tenant_id: tenant.clone(),
            kind: ApiKind::Rest,
            name: name.into(),
            version: version.into(),
            base_path: base_path.into(),
            host: None,
            methods: Vec::new(),
            upstream,
            prompt: None,
            auth: vec![AuthMethod::ApiKey],
            key_locations: KeyLocation::DEFAULT.to_vec(),
            jwt_issuers: Vec::new(),
            hmac: None,
            requires_approval: false,
            visibility: Visibility::Private,
            required_scopes: Vec::new(),
            scope_rules: Vec::new(),
            limits: Limits::default(),
            protocol: Protocol::Rest,
            status: ApiStatus::Published,
            deprecated_at: None,
            sunset_at: None,
            retired_at: None,
            successor_api_id: None,
            created_at: now,
        }
    }
}

impl Subscription {
    /// `app`'s subscription to `api`, approved at `now` by `by` (an admin
    /// id, or the tool that seeded it).
    pub fn approved(api: &Api, app: &App, by: impl Into<String>, now: Timestamp) -> Self {
        Subscription {
            id: SubscriptionId::generate(),
            api_id: api.id.clone(),
            app_id: app.id.clone(),
            tenant_id: app.tenant_id.clone(),
            status: SubscriptionStatus::Approved,
            requested_at: now,
            decided_at: Some(now),
            decided_by: Some(by.into()),
            reason: None,
            created_at: now,
        }
    }
}
