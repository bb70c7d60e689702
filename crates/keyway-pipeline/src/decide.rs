//! Runs the stages in order over one request and records the trace.

use crate::snapshot::{ApiEntry, KeyEntry, Snapshot};
use crate::stages::{authorization, credential, identity, key, request, route};
use http::HeaderMap;
use keyway_core::key_format::{KeyEnv, KeyHasher};
use keyway_core::model::{App, AuthMethod, KeyLocation, KeyState, Tenant};
use keyway_core::{fmt_time, Refusal, Stage, Timestamp, Trace};
use std::net::IpAddr;
use std::sync::Arc;

/// Gateway-wide settings the stages need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Which key environment this gateway accepts.
    pub environment: KeyEnv,
    /// Digests presented keys under the server secret.
    pub hasher: KeyHasher,
}

/// The parts of a request the stages read.
#[derive(Debug, Clone, Copy)]
pub struct CallInput<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// `Host` without port, if any.
    pub host: Option<&'a str>,
    /// Path, without query string.
    pub path: &'a str,
    /// Raw query string, if any.
    pub query: Option<&'a str>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Client IP as the gateway sees it.
    pub client_ip: IpAddr,
    /// Now.
    pub now: Timestamp,
}

/// A request that passed every stage.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The API it is for.
    pub api: Arc<ApiEntry>,
    /// The caller's key.
    pub key: Arc<KeyEntry>,
    /// The key's app.
    pub app: Arc<App>,
    /// The key's tenant.
    pub tenant: Arc<Tenant>,
    /// Where the key was found (stripped before forwarding).
    pub location: KeyLocation,
}

/// The outcome of the stages for one request.
#[derive(Debug)]
pub struct Decision {
    /// One entry per stage reached, then `not_reached` ones.
    pub trace: Trace,
    /// Admitted, or the first refusal.
    pub outcome: Result<Admitted, Refusal>,
    /// The API, once routed (also on refusal, for its protocol and log).
    pub api: Option<Arc<ApiEntry>>,
    /// The presented key's display prefix, once well formed.
    pub key_prefix: Option<String>,
    /// The verified key, once verified (also on later refusals).
    pub key: Option<Arc<KeyEntry>>,
}

/// Walks route, credential, key, identity and authorization for `input`. On a refusal
/// the trace is closed with `not_reached` entries up to the upstream
/// stage; on admission the gateway adds the upstream entry itself.
pub fn decide(snapshot: &Snapshot, settings: &Settings, input: &CallInput<'_>) -> Decision {
    let mut d =
        Decision { trace: Trace::new(), outcome: Err(Refusal::internal("undecided")), api: None, key_prefix: None, key: None };
    d.outcome = run(snapshot, settings, input, &mut d);
    if let Err(r) = &d.outcome {
        d.trace.fail(r.code.stage(), r.evidence.clone(), r.fix.clone());
        d.trace.close(Stage::Upstream);
    }
    d
}

impl Decision {
    /// The decision for a request refused before routing (by a check of
    /// the request itself), with its trace closed.
    pub fn refused_before_routing(refusal: Refusal) -> Self {
        let mut trace = Trace::new();
        trace.fail(refusal.code.stage(), refusal.evidence.clone(), refusal.fix.clone());
        Decision { trace, outcome: Err(refusal), api: None, key_prefix: None, key: None }
    }
}

fn run(snapshot: &Snapshot, settings: &Settings, input: &CallInput<'_>, d: &mut Decision) -> Result<Admitted, Refusal> {
    // the request itself
    request::check_path(input.path)?;

    // 1. route
    let api = route::check(snapshot, input.host, input.method, input.path)?;
    d.api = Some(api.clone());
    let tenant_slug = snapshot.tenants.get(&api.api.tenant_id).map_or("?", |t| t.slug.as_str());
    d.trace
        .pass(Stage::Route, format!("api {} {} (tenant {tenant_slug}){}", api.api.name, api.api.version, lifecycle_note(&api)));

    // 2. credential
    let accepted: &[KeyLocation] = if api.api.auth.contains(&AuthMethod::ApiKey) { &api.api.key_locations } else { &[] };
    let presented = credential::check(input.headers, input.query, accepted, settings.environment)?;
    let prefix = presented.key.display_prefix().to_owned();
    d.trace.pass(Stage::Credential, format!("{}, key {prefix}...", presented.location.describe()));
    d.key_prefix = Some(prefix);

    // 3. key
    let entry = key::lookup(snapshot, &settings.hasher, &presented.key)?;
    d.key = Some(entry.clone());
    key::check_live(snapshot, &entry, input.now)?;
    d.trace.pass(Stage::Key, key_evidence(&entry, input.now));

    // 4. identity
    let who = identity::check(snapshot, &entry, &api)?;
    d.trace.pass(
        Stage::Identity,
        format!("app {} ({}), tenant {}, owner {} active", who.app.name, who.app.id, who.tenant.slug, who.app.owner_user_id),
    );

    // 5. authorization
    let call = authorization::Call { method: input.method, path: input.path, client_ip: input.client_ip };
    let evidence = authorization::check(snapshot, &entry, &who.app, &api, call)?;
    d.trace.pass(Stage::Authorization, evidence);

    Ok(Admitted { api, key: entry, app: who.app, tenant: who.tenant, location: presented.location })
}

fn lifecycle_note(api: &ApiEntry) -> String {
    match api.api.sunset_at {
        Some(s) if api.api.status == keyway_core::model::ApiStatus::Deprecated => {
            format!(", deprecated, sunset {}", fmt_time(&s))
        }
        _ if api.api.status == keyway_core::model::ApiStatus::Deprecated => ", deprecated".to_owned(),
        _ => String::new(),
    }
}

fn key_evidence(entry: &KeyEntry, now: Timestamp) -> String {
    let k = &entry.key;
    let mut s = format!("key {} active", k.id);
    if k.state_at(now) == KeyState::Rotating {
        if let Some(g) = k.grace_until {
            s = format!("key {} rotated, in grace period until {}", k.id, fmt_time(&g));
        }
    }
    match k.expires_at {
        Some(e) => s.push_str(&format!(", expires {}", fmt_time(&e))),
        None => s.push_str(", no expiry"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use chrono::Utc;
    use keyway_core::change::{Change, Record};
    use keyway_core::ids::{ApiId, SubscriptionId};
    use keyway_core::key_format::{self, KeyEnv};
    use keyway_core::model::*;
    use keyway_core::{ErrorCode, StepResult};

    struct Fixture {
        snapshot: Snapshot,
        settings: Settings,
        key: String,
        tenant: Tenant,
        user: User,
        app: App,
        api: Api,
        stored: ApiKey,
    }

    fn fixture() -> Fixture {
        let now = Utc::now();
        let settings = Settings { environment: KeyEnv::Live, hasher: KeyHasher::new(b"test secret for the pipeline") };
        let tenant = Tenant::new("acme", "Acme", now);
        let user = User::new(&tenant.id, "ops@acme.test", Role::Owner, now);
        let app = App::new(&tenant.id, "billing-sync", &user.id, now);
        let targets = vec![Target { url: "http://127.0.0.1:1".into(), weight: 1 }];
        let api = Api::new(
            &tenant.id,
            "orders",
            "v1",
            "/orders/v1",
            Upstream { targets, strip_base_path: true, timeout_ms: None },
            now,
        );
        let key = key_format::generate(KeyEnv::Live);
        let stored = ApiKey::new(&app.id, &tenant.id, KeyEnv::Live, &key[..12], settings.hasher.digest(&key), now);
        let subscription = Subscription {
            id: SubscriptionId::generate(),
            api_id: api.id.clone(),
            app_id: app.id.clone(),
            tenant_id: tenant.id.clone(),
            status: SubscriptionStatus::Approved,
            requested_at: now,
            decided_at: Some(now),
            decided_by: Some("adm_test".into()),
            reason: None,
            created_at: now,
        };
        let snapshot = Snapshot::build(
            vec![tenant.clone()],
            vec![user.clone()],
            vec![app.clone()],
            vec![stored.clone()],
            vec![api.clone()],
            vec![subscription],
        );
        Fixture { snapshot, settings, key, tenant, user, app, api, stored }
    }

    fn run(f: &Fixture, path: &str, authorization: Option<&str>) -> Decision {
        let mut headers = HeaderMap::new();
        if let Some(a) = authorization {
            headers.insert("authorization", a.parse().unwrap());
        }
        let input = CallInput {
            method: "GET",
            host: None,
            path,
            query: None,
            headers: &headers,
            client_ip: "127.0.0.1".parse().unwrap(),
            now: Utc::now(),
        };
        decide(&f.snapshot, &f.settings, &input)
    }

    fn code(d: &Decision) -> Option<ErrorCode> {
        d.outcome.as_ref().err().map(|r| r.code)
    }

    #[test]
    fn a_good_key_passes_every_stage_in_order() {
        let f = fixture();
        let d = run(&f, "/orders/v1/items", Some(&format!("Bearer {}", f.key)));
        let a = d.outcome.as_ref().unwrap();
        assert_eq!(a.app.id, f.app.id);
        assert_eq!(a.location, KeyLocation::AuthorizationBearer);
        let stages: Vec<_> = d.trace.entries.iter().map(|e| (e.stage, e.result)).collect();
        assert_eq!(
            stages,
            [
                (Stage::Route, StepResult::Pass),
                (Stage::Credential, StepResult::Pass),
                (Stage::Key, StepResult::Pass),
                (Stage::Identity, StepResult::Pass),
                (Stage::Authorization, StepResult::Pass)
            ]
        );
        assert!(!format!("{:?}", d.trace).contains(&f.key), "the trace never holds the key");
    }

    #[test]
    fn the_earliest_failing_stage_decides() {
        let mut f = fixture();
        // Break everything at once: revoked key, suspended owner, suspended tenant, retired API.
        let mut k = f.stored.clone();
        k.revoked_at = Some(Utc::now());
        let mut u = f.user.clone();
        u.status = PrincipalStatus::Suspended;
        let mut t = f.tenant.clone();
        t.status = TenantStatus::Suspended;
        for r in [Record::Key(k), Record::User(u), Record::Tenant(t)] {
            f.snapshot.apply(&Change::Update(r));
        }
        let bearer = format!("Bearer {}", f.key);
        assert_eq!(code(&run(&f, "/orders/v1/x", Some(&bearer))), Some(ErrorCode::KeyRevoked));
        assert_eq!(code(&run(&f, "/orders/v1/x", None)), Some(ErrorCode::CredentialMissing));
        let mut api = f.api.clone();
        api.status = ApiStatus::Retired;
        f.snapshot.apply(&Change::Update(Record::Api(api)));
        let d = run(&f, "/orders/v1/x", Some(&bearer));
        assert_eq!(code(&d), Some(ErrorCode::ApiRetired));
        let results: Vec<_> = d.trace.entries.iter().map(|e| e.result).collect();
        assert_eq!(results[0], StepResult::Fail);
        assert!(results[1..].iter().all(|r| *r == StepResult::NotReached));
        assert_eq!(d.trace.entries.len(), Stage::ALL.len());
    }

    #[test]
    fn identity_checks_app_then_owner_then_tenant() {
        let mut f = fixture();
        let bearer = format!("Bearer {}", f.key);
        let mut t = f.tenant.clone();
        t.status = TenantStatus::Suspended;
        f.snapshot.apply(&Change::Update(Record::Tenant(t)));
        assert_eq!(code(&run(&f, "/orders/v1/x", Some(&bearer))), Some(ErrorCode::TenantSuspended));
        let mut u = f.user.clone();
        u.status = PrincipalStatus::Deleted;
        f.snapshot.apply(&Change::Update(Record::User(u)));
        assert_eq!(code(&run(&f, "/orders/v1/x", Some(&bearer))), Some(ErrorCode::KeyOwnerDeleted));
        let mut a = f.app.clone();
        a.status = PrincipalStatus::Suspended;
        f.snapshot.apply(&Change::Update(Record::App(a)));
        let d = run(&f, "/orders/v1/x", Some(&bearer));
        assert_eq!(code(&d), Some(ErrorCode::KeyOwnerSuspended));
        assert!(d.key.is_some(), "a refused but proven key is still known, for the call log");
    }

    #[test]
    fn longest_base_path_wins_on_segment_boundaries() {
        let mut f = fixture();
        let mut inner = f.api.clone();
        inner.id = ApiId::generate();
        inner.name = "inner".into();
        inner.base_path = "/orders/v1/admin".into();
        f.snapshot.apply(&Change::Insert(Record::Api(inner)));
        let bearer = format!("Bearer {}", f.key);
        let d = run(&f, "/orders/v1/admin/users", Some(&bearer));
        assert_eq!(d.api.as_ref().unwrap().api.name, "inner");
        let d = run(&f, "/orders/v1/administrator", Some(&bearer));
        assert_eq!(d.api.as_ref().unwrap().api.name, "orders");
        assert_eq!(code(&run(&f, "/orders", Some(&bearer))), Some(ErrorCode::RouteNotFound));
    }
}
