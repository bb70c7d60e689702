//! `keyway tools seed-bench`: fills the embedded store directly with a
//! tenant, a user, an app, an API and N keys, for load tests. Run it
//! while no node is serving that data directory.

use crate::app;
use crate::config::Config;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{ApiId, AppId, KeyId, SubscriptionId, TenantId, UserId};
use keyway_core::key_format::{self, KeyEnv};
use keyway_core::model::{
    Api, ApiKey, ApiStatus, App, AuthMethod, KeyLocation, PrincipalStatus, Protocol, RateLimit, Role, StatusChange, Subscription,
    SubscriptionStatus, Target, Tenant, TenantStatus, Upstream, User, Visibility,
};
use keyway_store::Store;

/// Seeds the store; returns one usable key. With `policies`, every
/// authorization and limits check has work to do: the API is private and
/// needs scope `bench`, the app holds an approved subscription, and each
/// key has that scope, a loopback IP allow list and a (generous) rate
/// limit — so a bench can compare the cost of stages 5 and 6.
pub async fn seed_bench(config: &Config, keys: usize, upstream: &str, base_path: &str, policies: bool) -> anyhow::Result<String> {
    let store = app::open_store(config)?;
    let hasher = app::key_hasher(config)?;
    let now = chrono::Utc::now();
    let tenant = Tenant {
        id: TenantId::generate(),
        slug: format!("bench-{}", &TenantId::generate().as_str()[20..]),
        name: "Bench".into(),
        status: TenantStatus::Active,
        status_change: StatusChange::default(),
        limits: keyway_core::model::Limits::default(),
        created_at: now,
    };
    let user = User {
        id: UserId::generate(),
        tenant_id: tenant.id.clone(),
        email: "bench@keyway.test".into(),
        role: Role::Owner,
        status: PrincipalStatus::Active,
        status_change: StatusChange::default(),
        password_hash: None,
        created_at: now,
    };
    let app = App {
        id: AppId::generate(),
        tenant_id: tenant.id.clone(),
        name: "bench".into(),
        owner_user_id: user.id.clone(),
        status: PrincipalStatus::Active,
        status_change: StatusChange::default(),
        limits: keyway_core::model::Limits::default(),
        created_at: now,
    };
    let api = Api {
        id: ApiId::generate(),
        tenant_id: tenant.id.clone(),
        name: "bench".into(),
        version: "v1".into(),
        base_path: base_path.into(),
        host: None,
        methods: vec![],
        upstream: Upstream { targets: vec![Target { url: upstream.into(), weight: 1 }], strip_base_path: true, timeout_ms: None },
        auth: vec![AuthMethod::ApiKey],
        key_locations: KeyLocation::DEFAULT.to_vec(),
        requires_approval: false,
        visibility: if policies { Visibility::Private } else { Visibility::Tenant },
        required_scopes: if policies { vec!["bench".into()] } else { vec![] },
        scope_rules: vec![],
        limits: keyway_core::model::Limits::default(),
        protocol: Protocol::Rest,
        status: ApiStatus::Published,
        deprecated_at: None,
        sunset_at: None,
        retired_at: None,
        successor_api_id: None,
        created_at: now,
    };
    store
        .apply(
            &[
                Change::Insert(Record::Tenant(tenant.clone())),
                Change::Insert(Record::User(user)),
                Change::Insert(Record::App(app.clone())),
                Change::Insert(Record::Api(api.clone())),
            ],
            &[],
        )
        .await?;
    if policies {
        let sub = Subscription {
            id: SubscriptionId::generate(),
            api_id: api.id.clone(),
            app_id: app.id.clone(),
            tenant_id: tenant.id.clone(),
            status: SubscriptionStatus::Approved,
            requested_at: now,
            decided_at: Some(now),
            decided_by: Some("seed-bench".into()),
            reason: None,
            created_at: now,
        };
        store.apply(&[Change::Insert(Record::Subscription(sub))], &[]).await?;
    }
    let scopes: Vec<String> = if policies { vec!["bench".into()] } else { vec![] };
    let allowed_ips: Vec<ipnet::IpNet> = if policies { vec!["127.0.0.0/8".parse()?] } else { vec![] };
    let rate_limit = policies.then_some(RateLimit { requests: 1_000_000_000, per_seconds: 1 });
    let mut last = String::new();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..keys.max(1) {
        let text = key_format::generate(KeyEnv::Live);
        let prefix = text[..12].to_owned();
        batch.push(Change::Insert(Record::Key(ApiKey {
            id: KeyId::generate(),
            app_id: app.id.clone(),
            tenant_id: tenant.id.clone(),
            name: None,
            prefix,
            env: KeyEnv::Live,
            digest: hasher.digest(&text),
            scopes: scopes.clone(),
            allowed_ips: allowed_ips.clone(),
            expires_at: None,
            revoked_at: None,
            revoked_reason: None,
            revoked_by: None,
            rotated_to: None,
            grace_until: None,
            rate_limit,
            quota: None,
            last_used_at: None,
            created_at: now,
        })));
        last = text;
        if batch.len() == 10_000 || i + 1 == keys.max(1) {
            store.apply(&batch, &[]).await?;
            batch.clear();
        }
    }
    Ok(last)
}
