//! `Snapshot::apply` against `Snapshot::build`: random sequences of every
//! kind of change give the same state as a fresh build from the records
//! they leave; versions held by in-flight requests never change; a
//! revocation is in the very next version loaded.

use keyway_core::change::{Change, Record};
use keyway_core::ids::{ApiId, AppId, SubscriptionId, TenantId};
use keyway_core::key_format::KeyEnv;
use keyway_core::model::{
    Api, ApiKey, ApiStatus, App, KeyState, PrincipalStatus, Role, Subscription, SubscriptionStatus, Tenant, TenantStatus,
    Upstream, User,
};
use keyway_pipeline::{Snapshot, SnapshotHandle};
use std::collections::BTreeMap;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

/// Picks from a list.
trait Pick {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T>;
}

impl Pick for Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// The records a sequence of changes leaves, latest version of each, in
/// the order they were first inserted (what storage would load).
#[derive(Default, Clone)]
struct Records {
    order: Vec<(&'static str, String)>,
    latest: BTreeMap<(&'static str, String), Record>,
}

impl Records {
    fn write(&mut self, change: &Change) {
        let r = change.record().clone();
        let id = (r.kind(), id_of(&r));
        if let Change::Insert(_) = change {
            self.order.push(id.clone());
        }
        self.latest.insert(id, r);
    }

    fn of<T: Clone>(&self, pick: impl Fn(&Record) -> Option<&T>) -> Vec<T> {
        self.order.iter().filter_map(|id| self.latest.get(id)).filter_map(&pick).cloned().collect()
    }

    fn build(&self) -> Snapshot {
        Snapshot::build(
            self.of(|r| if let Record::Tenant(x) = r { Some(x) } else { None }),
            self.of(|r| if let Record::User(x) = r { Some(x) } else { None }),
            self.of(|r| if let Record::App(x) = r { Some(x) } else { None }),
            self.of(|r| if let Record::Key(x) = r { Some(x) } else { None }),
            self.of(|r| if let Record::Api(x) = r { Some(x) } else { None }),
            self.of(|r| if let Record::Subscription(x) = r { Some(x) } else { None }),
        )
    }
}

fn id_of(r: &Record) -> String {
    match r {
        Record::Tenant(x) => x.id.to_string(),
        Record::User(x) => x.id.to_string(),
        Record::App(x) => x.id.to_string(),
        Record::Key(x) => x.id.to_string(),
        Record::Api(x) => x.id.to_string(),
        Record::Subscription(x) => x.id.to_string(),
        Record::Provider(x) => x.id.to_string(),
        Record::Model(x) => x.id.to_string(),
        Record::Issuer(x) => x.id.to_string(),
        Record::Certificate(x) => x.id.to_string(),
        Record::HmacKey(x) => x.id.to_string(),
    }
}

/// One random change that the admin API could make (and one it never
/// does: a key whose digest changes), valid against `records`.
fn random_change(rng: &mut Rng, records: &Records, step: usize) -> Change {
    let now = chrono::Utc::now();
    let tenants = records.of(|r| if let Record::Tenant(x) = r { Some(x) } else { None });
    let users = records.of(|r| if let Record::User(x) = r { Some(x) } else { None });
    let apps = records.of(|r| if let Record::App(x) = r { Some(x) } else { None });
    let keys = records.of(|r| if let Record::Key(x) = r { Some(x) } else { None });
    let apis = records.of(|r| if let Record::Api(x) = r { Some(x) } else { None });
    let subs = records.of(|r| if let Record::Subscription(x) = r { Some(x) } else { None });
    loop {
        match rng.below(13) {
            0 => return Change::Insert(Record::Tenant(Tenant::new(format!("t{step}"), "T", now))),
            1 => {
                if let Some(t) = rng.pick(&tenants) {
                    let mut t = t.clone();
                    t.status = if t.status == TenantStatus::Active { TenantStatus::Suspended } else { TenantStatus::Active };
                    return Change::Update(Record::Tenant(t));
                }
            }
            2 => {
                if let Some(t) = rng.pick(&tenants) {
                    return Change::Insert(Record::User(User::new(&t.id, format!("u{step}@x.test"), Role::Owner, now)));
                }
            }
            3 => {
                if let Some(u) = rng.pick(&users) {
                    let mut u = u.clone();
                    u.status = [PrincipalStatus::Active, PrincipalStatus::Suspended, PrincipalStatus::Deleted][rng.below(3)];
                    return Change::Update(Record::User(u));
                }
            }
            4 => {
                if let Some(u) = rng.pick(&users) {
                    return Change::Insert(Record::App(App::new(&u.tenant_id, format!("a{step}"), &u.id, now)));
                }
            }
            5 => {
                if let Some(a) = rng.pick(&apps) {
                    let mut a = a.clone();
                    a.name = format!("renamed{step}");
                    return Change::Update(Record::App(a));
                }
            }
            6 | 7 => {
                if let Some(a) = rng.pick(&apps) {
                    let key = ApiKey::new(&a.id, &a.tenant_id, KeyEnv::Live, "kw_live_abcd", rng.digest(), now);
                    return Change::Insert(Record::Key(key));
                }
            }
            8 => {
                if let Some(k) = rng.pick(&keys) {
                    let mut k = k.clone();
                    k.rare_mut().revoked_at = Some(now);
                    k.rare_mut().revoked_reason = Some(format!("step {step}").into());
                    return Change::Update(Record::Key(k));
                }
            }
            9 => {
                if let Some(k) = rng.pick(&keys) {
                    let mut k = k.clone();
                    k.digest = rng.digest();
                    return Change::Update(Record::Key(k));
                }
            }
            10 => {
                if let Some(t) = rng.pick(&tenants) {
                    let upstream = Upstream { targets: vec![], strip_base_path: true, timeout_ms: None };
                    return Change::Insert(Record::Api(Api::new(&t.id, "api", "v1", format!("/p{step}"), upstream, now)));
                }
            }
            11 => {
                if let Some(a) = rng.pick(&apis) {
                    let mut a = a.clone();
                    a.status = [ApiStatus::Published, ApiStatus::Deprecated, ApiStatus::Retired][rng.below(3)];
                    a.retired_at = (a.status == ApiStatus::Retired).then_some(now);
                    return Change::Update(Record::Api(a));
                }
            }
            _ => {
                if let Some(s) = rng.pick(&subs) {
                    let mut s = s.clone();
                    s.status = [SubscriptionStatus::Approved, SubscriptionStatus::Rejected][rng.below(2)];
                    return Change::Update(Record::Subscription(s));
                }
                if let (Some(app), Some(api)) = (rng.pick(&apps), rng.pick(&apis)) {
                    if !subs.iter().any(|s| s.app_id == app.id && s.api_id == api.id) {
                        return Change::Insert(Record::Subscription(subscription(&app.id, &api.id, &app.tenant_id)));
                    }
                }
            }
        }
    }
}

fn subscription(app: &AppId, api: &ApiId, tenant: &TenantId) -> Subscription {
    let now = chrono::Utc::now();
    Subscription {
        id: SubscriptionId::generate(),
        api_id: api.clone(),
        app_id: app.clone(),
        tenant_id: tenant.clone(),
        status: SubscriptionStatus::Pending,
        requested_at: now,
        decided_at: None,
        decided_by: None,
        reason: None,
        created_at: now,
    }
}

/// Every table of `got` holds what `want`'s does, and nothing more.
fn assert_same(got: &Snapshot, want: &Snapshot, context: &str) {
    assert_eq!(got.tenants, want.tenants, "tenants, {context}");
    assert_eq!(got.users, want.users, "users, {context}");
    assert_eq!(got.apps, want.apps, "apps, {context}");
    assert_eq!(got.subscriptions, want.subscriptions, "subscriptions, {context}");
    assert_eq!(got.keys.len(), want.keys.len(), "keys, {context}");
    assert_eq!(got.keys.values().count(), got.keys.len(), "keys by id, {context}");
    for entry in want.keys.values() {
        assert_eq!(got.keys.get(&entry.key.digest).map(|e| &e.key), Some(&entry.key), "key {}, {context}", entry.key.id);
        assert_eq!(got.key_by_id(&entry.key.id).map(|e| &e.key), Some(&entry.key), "key {} by id, {context}", entry.key.id);
    }
    let apis = |s: &Snapshot| s.apis.iter().map(|(id, e)| (id.clone(), e.api.clone())).collect::<BTreeMap<_, _>>();
    assert_eq!(apis(got), apis(want), "apis, {context}");
    let routes = |s: &Snapshot| {
        s.routes
            .iter()
            .map(|(p, l)| (p.clone(), l.iter().map(|e| e.api.id.clone()).collect::<Vec<_>>()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(routes(got), routes(want), "routes, {context}");
}

#[test]
fn applying_random_changes_gives_what_a_fresh_build_gives() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut records = Records::default();
        let mut applied = Snapshot::default();
        for step in 0..400 {
            let change = random_change(&mut rng, &records, step);
            records.write(&change);
            applied.apply(&change);
            if step % 50 == 49 {
                assert_same(&applied, &records.build(), &format!("seed {seed}, step {step}"));
            }
        }
        assert_eq!(applied.revision, 400);
    }
}

#[test]
fn versions_held_by_requests_do_not_change_under_later_writes() {
    let mut rng = Rng(42);
    let mut records = Records::default();
    let handle = SnapshotHandle::new(Snapshot::default());
    let mut held: Vec<(std::sync::Arc<Snapshot>, Records)> = Vec::new();
    for step in 0..600 {
        let change = random_change(&mut rng, &records, step);
        records.write(&change);
        handle.apply(std::slice::from_ref(&change));
        if step % 60 == 0 {
            held.push((handle.load(), records.clone()));
        }
    }
    for (i, (version, then)) in held.iter().enumerate() {
        assert_same(version, &then.build(), &format!("version {i} held since step {}", i * 60));
    }
    assert_same(&handle.load(), &records.build(), "latest");
}

#[test]
fn a_revocation_is_in_the_next_version_loaded_and_keeps_the_key_usage() {
    let now = chrono::Utc::now();
    let tenant = Tenant::new("t", "T", now);
    let user = User::new(&tenant.id, "u@x.test", Role::Owner, now);
    let app = App::new(&tenant.id, "a", &user.id, now);
    let mut rng = Rng(7);
    let keys: Vec<ApiKey> =
        (0..5_000).map(|_| ApiKey::new(&app.id, &tenant.id, KeyEnv::Live, "kw_live_abcd", rng.digest(), now)).collect();
    let target = keys[1234].clone();
    let handle = SnapshotHandle::new(Snapshot::build(vec![tenant], vec![user], vec![app], keys, vec![], vec![]));
    let in_flight = handle.load();
    in_flight.keys.get(&target.digest).unwrap().usage.touch(now.timestamp_millis());

    let mut revoked = target.clone();
    revoked.rare_mut().revoked_at = Some(now);
    handle.apply(&[Change::Update(Record::Key(revoked))]);

    let next = handle.load();
    let entry = next.keys.get(&target.digest).map(|e| (e.key.state_at(now), e.usage.last_used_ms()));
    assert_eq!(entry, Some((KeyState::Revoked, Some(now.timestamp_millis()))));
    assert_eq!(next.key_by_id(&target.id).map(|e| e.key.revoked_at()), Some(Some(now)));
    assert_eq!(in_flight.keys.get(&target.digest).map(|e| e.key.state_at(now)), Some(KeyState::Active));
    assert_eq!(next.keys.len(), 5_000);
}

#[test]
fn concurrent_applies_each_return_with_their_own_change_published() {
    let now = chrono::Utc::now();
    let tenant = Tenant::new("t", "T", now);
    let user = User::new(&tenant.id, "u@x.test", Role::Owner, now);
    let app = App::new(&tenant.id, "a", &user.id, now);
    let handle = std::sync::Arc::new(SnapshotHandle::new(Snapshot::build(
        vec![tenant.clone()],
        vec![user],
        vec![app.clone()],
        vec![],
        vec![],
        vec![],
    )));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (handle, app, tenant) = (handle.clone(), app.clone(), tenant.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(100 + t);
                for _ in 0..200 {
                    let key = ApiKey::new(&app.id, &tenant.id, KeyEnv::Live, "kw_live_abcd", rng.digest(), now);
                    handle.apply(&[Change::Insert(Record::Key(key.clone()))]);
                    // Once apply returns, the key is in the version loaded.
                    assert!(handle.load().keys.get(&key.digest).is_some(), "a create returned before it was published");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(handle.load().keys.len(), 1_600);
}
