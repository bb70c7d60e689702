//! `keyway tools seed-bench`: fills the embedded store directly with a
//! tenant, a user, an app, an API and N keys, for load tests. Run it
//! while no node is serving that data directory.

use crate::app;
use crate::config::Config;
use keyway_core::change::{Change, Record};
use keyway_core::ids::TenantId;
use keyway_core::key_format::{self, KeyEnv};
use keyway_core::model::{Api, ApiKey, App, RateLimit, Role, Subscription, Target, Tenant, Upstream, User, Visibility};
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
    let tenant = Tenant::new(format!("bench-{}", &TenantId::generate().as_str()[20..]), "Bench", now);
    let user = User::new(&tenant.id, "bench@keyway.test", Role::Owner, now);
    let app = App::new(&tenant.id, "bench", &user.id, now);
    let targets = vec![Target { url: upstream.into(), weight: 1 }];
    let mut api =
        Api::new(&tenant.id, "bench", "v1", base_path, Upstream { targets, strip_base_path: true, timeout_ms: None }, now);
    api.visibility = if policies { Visibility::Private } else { Visibility::Tenant };
    if policies {
        api.required_scopes = vec!["bench".into()];
    }
    let mut setup = vec![
        Change::Insert(Record::Tenant(tenant.clone())),
        Change::Insert(Record::User(user)),
        Change::Insert(Record::App(app.clone())),
        Change::Insert(Record::Api(api.clone())),
    ];
    if policies {
        setup.push(Change::Insert(Record::Subscription(Subscription::approved(&api, &app, "seed-bench", now))));
    }
    store.apply(&setup, &[]).await?;

    let mut last = String::new();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..keys.max(1) {
        let text = key_format::generate(KeyEnv::Live);
        let mut key = ApiKey::new(&app.id, &tenant.id, KeyEnv::Live, &text[..12], hasher.digest(&text), now);
        if policies {
            key.scopes = Box::new(["bench".into()]);
            key.rare_mut().allowed_ips = vec!["127.0.0.0/8".parse()?];
            key.rare_mut().rate_limit = Some(RateLimit { requests: 1_000_000_000, per_seconds: 1 });
        }
        batch.push(Change::Insert(Record::Key(key)));
        last = text;
        if batch.len() == 10_000 || i + 1 == keys.max(1) {
            store.apply(&batch, &[]).await?;
            batch.clear();
        }
    }
    Ok(last)
}
