//! Fully populated records for the tests, and a tenant/user/app to hang
//! keys on.

use chrono::{Duration, TimeZone, Utc};
use keyway_core::change::{Change, Record};
use keyway_core::codes::{ErrorCode, Stage};
use keyway_core::ids::{ApiId, AppId, AuditId, KeyId, RequestId, TenantId, UserId};
use keyway_core::key_format::KeyEnv;
use keyway_core::model::{
    AiLimits, Api, ApiKey, ApiKind, ApiStatus, App, AuthMethod, Budget, BudgetPeriod, KeyLocation, PrincipalStatus, PromptFormat,
    PromptSpec, Protocol, RateLimit, Role, StatusChange, Target, Tenant, TenantStatus, Upstream, User, Visibility,
};
use keyway_core::records::{AuditEntry, CallLogRow};
use keyway_core::{Timestamp, Trace};
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fixed instant with nanoseconds, plus `ms` milliseconds.
pub fn at(ms: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::nanoseconds(123_456_789) + Duration::milliseconds(ms)
}

pub fn store() -> SqliteStore {
    SqliteStore::open_in_memory().unwrap()
}

pub fn changed(ms: i64) -> StatusChange {
    StatusChange { changed_at: Some(at(ms)), changed_by: Some("adm_01test".into()), reason: Some("because".into()) }
}

pub fn tenant(slug: &str) -> Tenant {
    Tenant {
        id: TenantId::generate(),
        slug: slug.into(),
        name: format!("Tenant {slug}"),
        status: TenantStatus::Suspended,
        status_change: changed(1),
        limits: keyway_core::model::Limits::default(),
        ai: ai_limits(),
        created_at: at(0),
    }
}

pub fn user(tenant: &Tenant, email: &str) -> User {
    User {
        id: UserId::generate(),
        tenant_id: tenant.id.clone(),
        email: email.into(),
        role: Role::Developer,
        status: PrincipalStatus::Suspended,
        status_change: changed(2),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: at(1),
    }
}

pub fn app(tenant: &Tenant, owner: &User) -> App {
    App {
        id: AppId::generate(),
        tenant_id: tenant.id.clone(),
        name: "storefront".into(),
        owner_user_id: owner.id.clone(),
        status: PrincipalStatus::Deleted,
        status_change: changed(3),
        limits: keyway_core::model::Limits::default(),
        ai: ai_limits(),
        token_subjects: vec!["svc-storefront".into(), "spiffe://acme/storefront".into()],
        created_at: at(2),
    }
}

/// A digest no other key in this process has.
pub fn digest() -> [u8; 32] {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut d = [0xa5; 32];
    d[..8].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    d[31] = 0;
    d
}

/// A key with every optional field set.
pub fn key(app: &App) -> ApiKey {
    ApiKey {
        id: KeyId::generate(),
        app_id: app.id.clone(),
        tenant_id: app.tenant_id.clone(),
        name: Some("ci key".into()),
        prefix: "kw_test_7Hq2".into(),
        env: KeyEnv::Test,
        digest: digest(),
        scopes: Box::new(["orders:read".into(), "orders:write".into()]),
        last_used_at: Some(at(103)),
        created_at: at(3),
        rare: keyway_core::model::Rare::of(keyway_core::model::KeyRare {
            allowed_ips: vec!["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()],
            expires_at: Some(at(100)),
            revoked_at: Some(at(101)),
            revoked_reason: Some("leaked".into()),
            revoked_by: Some("usr_01someone".into()),
            rotated_to: Some(KeyId::generate()),
            grace_until: Some(at(102)),
            rate_limit: Some(RateLimit { requests: u64::MAX, per_seconds: 60 }),
            quota: Some(keyway_core::model::Quota { requests: 1000, period: keyway_core::model::QuotaPeriod::Month }),
            ai: ai_limits(),
        }),
    }
}

/// A key with every optional field empty.
pub fn bare_key(app: &App) -> ApiKey {
    ApiKey {
        name: None,
        env: KeyEnv::Live,
        prefix: "kw_live_abcd".into(),
        scopes: Box::default(),
        last_used_at: None,
        rare: keyway_core::model::Rare::default(),
        ..key(app)
    }
}

/// An API with every optional field set.
pub fn api(tenant: &Tenant, base_path: &str) -> Api {
    Api {
        id: ApiId::generate(),
        tenant_id: tenant.id.clone(),
        kind: ApiKind::Rest,
        name: "orders".into(),
        version: "v1".into(),
        base_path: base_path.into(),
        host: None,
        methods: vec!["GET".into(), "POST".into()],
        upstream: Upstream {
            targets: vec![
                Target { url: "http://127.0.0.1:9000/x".into(), weight: 3 },
                Target { url: "http://127.0.0.1:9001".into(), weight: 1 },
            ],
            strip_base_path: false,
            timeout_ms: Some(2500),
        },
        prompt: None,
        auth: vec![AuthMethod::ApiKey, AuthMethod::Jwt],
        key_locations: vec![KeyLocation::XApiKey, KeyLocation::Query],
        jwt_issuers: vec![keyway_core::ids::IssuerId::generate()],
        hmac: Some(keyway_core::model::HmacSettings { window_seconds: 120 }),
        requires_approval: true,
        visibility: Visibility::Public,
        required_scopes: vec!["orders:read".into()],
        scope_rules: vec![keyway_core::model::ScopeRule {
            method: Some("POST".into()),
            path: "/items".into(),
            scopes: vec!["orders:write".into()],
        }],
        limits: keyway_core::model::Limits {
            rate_limit: Some(RateLimit { requests: 100, per_seconds: 1 }),
            quota: Some(keyway_core::model::Quota { requests: 5, period: keyway_core::model::QuotaPeriod::Day }),
            key_rate_limit: None,
        },
        protocol: Protocol::Anthropic,
        status: ApiStatus::Deprecated,
        deprecated_at: Some(at(10)),
        sunset_at: Some(at(11)),
        retired_at: Some(at(12)),
        successor_api_id: Some(ApiId::generate()),
        created_at: at(4),
    }
}

/// AI limits with every field set.
pub fn ai_limits() -> AiLimits {
    AiLimits {
        allowed_models: vec!["gpt-4o".into(), "claude-sonnet".into()],
        budget: Some(Budget { usd: 12.75, period: BudgetPeriod::Month }),
        tokens_per_minute: Some(90_000),
    }
}

/// A `prompt` API: no upstream targets, a prompt with every field set.
pub fn prompt_api(tenant: &Tenant, base_path: &str) -> Api {
    Api {
        kind: ApiKind::Prompt,
        upstream: Upstream { targets: Vec::new(), strip_base_path: true, timeout_ms: None },
        prompt: Some(PromptSpec {
            model: "gpt-4o".into(),
            system: Some("You summarise.".into()),
            template: "Summarise {{text}}".into(),
            variables_schema: serde_json::json!({"type": "object", "required": ["text"]}),
            response_format: PromptFormat::Json,
        }),
        ..api(tenant, base_path)
    }
}

pub fn retired(mut api: Api) -> Api {
    api.status = ApiStatus::Retired;
    api
}

pub fn insert(record: Record) -> Change {
    Change::Insert(record)
}

/// A tenant, a user and an app, stored.
pub struct World {
    pub tenant: Tenant,
    pub user: User,
    pub app: App,
}

pub async fn world(store: &SqliteStore, slug: &str) -> World {
    let tenant = tenant(slug);
    let user = user(&tenant, &format!("owner@{slug}.test"));
    let app = app(&tenant, &user);
    store
        .apply(
            &[insert(Record::Tenant(tenant.clone())), insert(Record::User(user.clone())), insert(Record::App(app.clone()))],
            &[],
        )
        .await
        .unwrap();
    World { tenant, user, app }
}

/// A refused call with every optional field set.
pub fn call(time: Timestamp) -> CallLogRow {
    let mut trace = Trace::new();
    trace.pass(Stage::Route, "api orders v1");
    trace.fail(Stage::Credential, "no credential", Some("send x-api-key".into()));
    trace.close(Stage::Limits);
    CallLogRow {
        request_id: RequestId::at(time),
        time,
        tenant_id: Some(TenantId::generate()),
        api_id: Some(ApiId::generate()),
        app_id: Some(AppId::generate()),
        key_id: Some(KeyId::generate()),
        key_prefix: Some("kw_live_abcd".into()),
        method: "POST".into(),
        path: "/orders/v1/items".into(),
        status: 401,
        code: Some(ErrorCode::CredentialMissing),
        client_ip: "203.0.113.9".into(),
        latency_ms: 1.25,
        upstream_latency_ms: Some(0.5),
        model: Some("gpt-x".into()),
        provider: Some("openai".into()),
        tokens_estimated: false,
        token_details: None,
        prompt_tokens: Some(12),
        completion_tokens: Some(34),
        cost_usd: Some(0.0012),
        trace,
    }
}

/// An accepted call with every optional field empty.
pub fn bare_call(time: Timestamp) -> CallLogRow {
    CallLogRow { status: 200, latency_ms: 1.25, ..CallLogRow::arriving(time, "POST", "/orders/v1/items", "203.0.113.9") }
}

pub fn audit_entry(time: Timestamp, resource_id: &str) -> AuditEntry {
    AuditEntry {
        id: AuditId::generate(),
        time,
        actor: "adm_01root".into(),
        action: "key.revoke".into(),
        resource_type: "key".into(),
        resource_id: resource_id.into(),
        tenant_id: Some(TenantId::generate()),
        before: Some(serde_json::json!({"status": "active", "n": 1})),
        after: Some(serde_json::json!({"status": "revoked", "list": [1, 2, {"x": null}]})),
    }
}
