//! The immutable in-memory view the request path reads, behind an atomic
//! pointer swap. Admin writes patch it right after storage commits, so
//! the very next request sees them. Tables that grow with users are
//! [`Table`]s, so a patch copies one shard of the table it touches, not
//! the table; the small ones (APIs and their routes) are copied whole.

use crate::cert_index::CertIndex;
use crate::evidence_memo::Memo;
use crate::hmac_index::HmacIndex;
use crate::jwt_index::JwtIndex;
use crate::key_loader::KeyLoader;
use crate::key_table::KeyTable;
use crate::table::Table;
use crate::upstream_target::UpstreamTarget;
use arc_swap::ArcSwap;
use keyway_core::certificates::ClientCertificate;
use keyway_core::change::{Change, Record};
use keyway_core::hmac_keys::HmacKey;
use keyway_core::ids::{ApiId, AppId, KeyId, ModelId, ProviderId, TenantId, UserId};
use keyway_core::issuers::JwtIssuer;
use keyway_core::model::{Api, ApiKey, ApiStatus, App, Subscription, Tenant, User};
use keyway_core::providers::{AiModel, Provider};
use keyway_core::sealed::Sealer;
use keyway_core::Timestamp;
use keyway_credentials::jwt::RefreshPolicy;
// hashbrown's default hasher (foldhash), not SipHash: a lookup per stage on
// every request, keyed by ids this node made.
use hashbrown::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Usage of one key, updated per request with at most one atomic
/// compare-and-swap and flushed to storage periodically. Held inside the
/// key's entry: a new version of the key starts from the old one's
/// counters (a use noted on the old version in the microseconds after the
/// copy is lost, which `last_used_at`, flushed every few seconds anyway,
/// can afford).
///
/// One `i64` holds both facts: 0 is never used, `t > 0` a last use at `t`
/// (unix milliseconds) not flushed yet, `-t` a last use at `t` already
/// flushed.
#[derive(Debug, Default)]
pub struct KeyUsage {
    last_used_ms: AtomicI64,
}

impl KeyUsage {
    /// Notes a use at `now_ms` (unix milliseconds). A use no later than
    /// the one noted writes nothing.
    pub fn touch(&self, now_ms: i64) {
        let _ = self.last_used_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| (now_ms > v.abs()).then_some(now_ms));
    }

    /// The last use seen by this node (unix milliseconds), flushed or not.
    pub fn last_used_ms(&self) -> Option<i64> {
        let ms = self.last_used_ms.load(Ordering::Relaxed).abs();
        (ms > 0).then_some(ms)
    }

    /// A copy of these counters, for the next version of the key.
    pub fn carried(&self) -> KeyUsage {
        KeyUsage { last_used_ms: AtomicI64::new(self.last_used_ms.load(Ordering::Relaxed)) }
    }

    /// The last use not yet flushed, marking it flushed. A key unused
    /// since the last flush is only read, not written, so a flush over a
    /// million idle keys dirties no cache line.
    pub fn take_unflushed(&self) -> Option<i64> {
        self.last_used_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| (v > 0).then_some(-v)).ok()
    }
}

/// A key as the request path sees it.
#[derive(Debug)]
pub struct KeyEntry {
    /// The stored key.
    pub key: ApiKey,
    /// Its usage counters.
    pub usage: KeyUsage,
    /// What an admitted request of this key reuses (identity headers,
    /// trace evidence), made on the key's first admitted request (8 bytes
    /// for a key never used).
    in_use: std::sync::OnceLock<Box<InUse>>,
}

/// What requests of one key share once it is used.
#[derive(Debug)]
pub struct InUse {
    /// Identity header values sent upstream.
    pub headers: IdHeaders,
    /// `key` phase evidence while the key is simply active (not in a
    /// rotation's grace period, which names a time relative to now).
    pub key_evidence: std::sync::OnceLock<Arc<str>>,
    /// `identity` phase evidence, for the app and tenant it names.
    pub identity_evidence: Memo<(Arc<App>, Arc<Tenant>)>,
    /// What an AI call's `limits` evidence says of the key's, its app's
    /// and its tenant's AI limits (the estimate held is added per call).
    pub ai_limits_evidence: Memo<(Arc<App>, Arc<Tenant>)>,
}

/// `x-keyway-tenant-id`, `-app-id` and `-key-id` values of one key:
/// cloning one shares its bytes.
#[derive(Debug)]
pub struct IdHeaders {
    /// The key's tenant.
    pub tenant: http::HeaderValue,
    /// The key's app.
    pub app: http::HeaderValue,
    /// The key itself.
    pub key: http::HeaderValue,
}

impl KeyEntry {
    /// The entry for `key`, with `usage`.
    pub fn new(key: ApiKey, usage: KeyUsage) -> Self {
        Self { key, usage, in_use: std::sync::OnceLock::new() }
    }

    /// The key's identity header values (ids are ASCII, so always valid).
    pub fn id_headers(&self) -> &IdHeaders {
        &self.in_use().headers
    }

    /// What requests of this key share, made on first use.
    pub fn in_use(&self) -> &InUse {
        self.in_use.get_or_init(|| {
            let value = |id: &str| {
                http::HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(id.as_bytes()))
                    .unwrap_or(http::HeaderValue::from_static(""))
            };
            Box::new(InUse {
                headers: IdHeaders {
                    tenant: value(self.key.tenant_id.as_str()),
                    app: value(self.key.app_id.as_str()),
                    key: value(self.key.id.as_str()),
                },
                key_evidence: std::sync::OnceLock::new(),
                identity_evidence: Memo::default(),
                ai_limits_evidence: Memo::default(),
            })
        })
    }
}

/// An API as the request path sees it, with its upstream plan.
#[derive(Debug)]
pub struct ApiEntry {
    /// The stored API.
    pub api: Api,
    /// Upstream targets, each repeated by its weight, for round robin.
    pub rotation: Vec<Arc<UpstreamTarget>>,
    cursor: AtomicUsize,
    /// `route` phase evidence, for the tenant it names.
    pub route_evidence: Memo<Arc<Tenant>>,
}

impl ApiEntry {
    /// Wraps an API, expanding its weighted targets.
    pub fn new(api: Api) -> Self {
        let rotation = api
            .upstream
            .targets
            .iter()
            .flat_map(|t| std::iter::repeat_n(Arc::new(UpstreamTarget::new(&t.url)), t.weight.max(1) as usize))
            .collect();
        Self { api, rotation, cursor: AtomicUsize::new(0), route_evidence: Memo::default() }
    }

    /// The next upstream target, weighted round robin.
    pub fn next_target(&self) -> Option<&Arc<UpstreamTarget>> {
        if self.rotation.is_empty() {
            return None;
        }
        let i = self.cursor.fetch_add(1, Ordering::Relaxed) % self.rotation.len();
        self.rotation.get(i)
    }
}

/// One tenant's live models by the name callers put in `model`.
type ModelNames = HashMap<String, Arc<AiModel>>;

/// Everything the stages read. Cloning is cheap (each table is shared),
/// and [`Snapshot::apply`] is the one way a version changes.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Tenants by id.
    pub tenants: Table<TenantId, Arc<Tenant>>,
    /// Users by id.
    pub users: Table<UserId, Arc<User>>,
    /// Apps by id.
    pub apps: Table<AppId, Arc<App>>,
    /// Keys by digest (the only lookup a presented key gets) and by id.
    pub keys: KeyTable,
    /// APIs by id.
    pub apis: Arc<HashMap<ApiId, Arc<ApiEntry>>>,
    /// APIs by base path, live ones before retired ones.
    pub routes: Arc<HashMap<String, Vec<Arc<ApiEntry>>>>,
    /// Subscriptions by (app, API).
    pub subscriptions: Table<(AppId, ApiId), Arc<Subscription>>,
    /// AI providers by id (few per tenant: a write copies the map).
    pub providers: Arc<HashMap<ProviderId, Arc<Provider>>>,
    /// AI models by id.
    pub models: Arc<HashMap<ModelId, Arc<AiModel>>>,
    /// Live AI models by tenant, then by the name callers put in `model`.
    model_names: Arc<HashMap<TenantId, Arc<ModelNames>>>,
    /// Trusted JWT issuers, the trust of each API, token subjects.
    pub jwt: JwtIndex,
    /// Live client certificate bindings by fingerprint.
    pub certificates: CertIndex,
    /// Apps' HMAC signing keys by id, secrets opened.
    pub hmac: HmacIndex,
    /// Increases with every change applied.
    pub revision: u64,
}

impl Snapshot {
    /// Builds a snapshot from whole tables.
    pub fn build(
        tenants: Vec<Tenant>,
        users: Vec<User>,
        apps: Vec<App>,
        keys: Vec<ApiKey>,
        apis: Vec<Api>,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        let mut loader = KeyLoader::default();
        for key in keys {
            loader.add(key);
        }
        Snapshot::from_parts(tenants, users, apps, loader.finish(), apis, subscriptions)
    }

    /// Builds a snapshot from whole tables and keys already in a
    /// [`KeyTable`] (see [`KeyLoader`], which start-up feeds as storage
    /// reads the keys).
    pub fn from_parts(
        tenants: Vec<Tenant>,
        users: Vec<User>,
        apps: Vec<App>,
        keys: KeyTable,
        apis: Vec<Api>,
        subscriptions: Vec<Subscription>,
    ) -> Self {
        let mut s = Snapshot {
            subscriptions: subscriptions.into_iter().map(|x| ((x.app_id.clone(), x.api_id.clone()), Arc::new(x))).collect(),
            tenants: tenants.into_iter().map(|t| (t.id.clone(), Arc::new(t))).collect(),
            users: users.into_iter().map(|u| (u.id.clone(), Arc::new(u))).collect(),
            apps: apps.into_iter().map(|a| (a.id.clone(), Arc::new(a))).collect(),
            keys,
            ..Default::default()
        };
        s.apis = Arc::new(apis.into_iter().map(|a| (a.id.clone(), Arc::new(ApiEntry::new(a)))).collect());
        s.rebuild_routes();
        s
    }

    /// The same snapshot with these AI providers and models.
    pub fn with_ai(mut self, providers: Vec<Provider>, models: Vec<AiModel>) -> Self {
        self.providers = Arc::new(providers.into_iter().map(|p| (p.id.clone(), Arc::new(p))).collect());
        self.models = Arc::new(models.into_iter().map(|m| (m.id.clone(), Arc::new(m))).collect());
        let mut names: HashMap<TenantId, HashMap<String, Arc<AiModel>>> = HashMap::new();
        for m in self.models.values().filter(|m| m.deleted_at.is_none()) {
            names.entry(m.tenant_id.clone()).or_default().insert(m.name.clone(), m.clone());
        }
        self.model_names = Arc::new(names.into_iter().map(|(t, m)| (t, Arc::new(m))).collect());
        self
    }

    /// The same snapshot with these trusted JWT issuers, fetched key sets
    /// refreshed as `refresh` says.
    pub fn with_issuers(mut self, issuers: Vec<JwtIssuer>, refresh: RefreshPolicy) -> Self {
        let apps = self.apps.values().map(|a| &**a);
        let apis = self.apis.values().map(|e| &e.api);
        self.jwt = JwtIndex::build(issuers, apps, apis, refresh);
        self
    }

    /// The same snapshot with these client certificate bindings.
    pub fn with_certificates(mut self, bindings: Vec<ClientCertificate>) -> Self {
        self.certificates = CertIndex::build(bindings);
        self
    }

    /// The same snapshot with these HMAC signing keys, their secrets
    /// opened (once, here) with `sealer`.
    pub fn with_hmac_keys(mut self, keys: Vec<HmacKey>, sealer: Sealer) -> Self {
        self.hmac = HmacIndex::build(keys, sealer);
        self
    }

    /// The live model of `tenant` that callers name `name`.
    pub fn model_named(&self, tenant: &TenantId, name: &str) -> Option<&Arc<AiModel>> {
        self.model_names.get(tenant)?.get(name)
    }

    /// The live models of `tenant`, in no particular order.
    pub fn models_of(&self, tenant: &TenantId) -> impl Iterator<Item = &Arc<AiModel>> {
        self.model_names.get(tenant).into_iter().flat_map(|m| m.values())
    }

    /// Keeps [`Snapshot::model_named`] in step with a model written:
    /// its old name (if renamed or deleted) out, its name in while live.
    fn index_model(&mut self, m: &Arc<AiModel>) {
        let old = self.models.get(&m.id).cloned();
        let names = Arc::make_mut(&mut self.model_names);
        let tenant = Arc::make_mut(names.entry(m.tenant_id.clone()).or_default());
        if let Some(old) = old {
            tenant.remove(&old.name);
        }
        if m.deleted_at.is_none() {
            tenant.insert(m.name.clone(), m.clone());
        }
    }

    /// `key` with its app and tenant ids pointing at the app's and the
    /// tenant's own text, so a million keys of one app hold one copy.
    fn shared_ids(&self, mut key: ApiKey) -> ApiKey {
        if let Some(app) = self.apps.get(&key.app_id) {
            key.app_id = app.id.clone();
        }
        if let Some(tenant) = self.tenants.get(&key.tenant_id) {
            key.tenant_id = tenant.id.clone();
        }
        key
    }

    /// The live (not retired) version named as `api`'s successor, if any.
    pub fn successor(&self, api: &Api) -> Option<&Arc<ApiEntry>> {
        api.successor_api_id.as_ref().and_then(|id| self.apis.get(id)).filter(|s| s.api.status != ApiStatus::Retired)
    }

    /// A key by id.
    pub fn key_by_id(&self, id: &KeyId) -> Option<&Arc<KeyEntry>> {
        self.keys.by_id(id)
    }

    /// Applies one change: copies the one shard (or small table) it
    /// touches; versions already handed out do not change.
    pub fn apply(&mut self, change: &Change) {
        match change.record() {
            Record::Tenant(t) => {
                self.tenants.insert(t.id.clone(), Arc::new(t.clone()));
            }
            Record::User(u) => {
                self.users.insert(u.id.clone(), Arc::new(u.clone()));
            }
            Record::App(a) => {
                self.jwt.apply_app(self.apps.get(&a.id).map(|o| &**o), a);
                self.apps.insert(a.id.clone(), Arc::new(a.clone()));
            }
            Record::Key(k) => {
                // Keep usage counters across versions of the same key.
                let usage = self.keys.by_id(&k.id).map(|old| old.usage.carried()).unwrap_or_default();
                let key = self.shared_ids(k.clone());
                self.keys.insert(Arc::new(KeyEntry::new(key, usage)));
            }
            Record::Api(a) => {
                Arc::make_mut(&mut self.apis).insert(a.id.clone(), Arc::new(ApiEntry::new(a.clone())));
                self.rebuild_routes();
                self.jwt.rebuild_trust(self.apis.values().map(|e| &e.api));
            }
            Record::Subscription(x) => {
                self.subscriptions.insert((x.app_id.clone(), x.api_id.clone()), Arc::new(x.clone()));
            }
            Record::Provider(p) => {
                Arc::make_mut(&mut self.providers).insert(p.id.clone(), Arc::new(p.clone()));
            }
            Record::Model(m) => {
                let m = Arc::new(m.clone());
                self.index_model(&m);
                Arc::make_mut(&mut self.models).insert(m.id.clone(), m);
            }
            Record::Issuer(i) => self.jwt.apply_issuer(i, self.apis.values().map(|e| &e.api)),
            Record::Certificate(c) => self.certificates.apply(c),
            Record::HmacKey(k) => self.hmac.apply(k),
        }
        self.revision += 1;
    }

    fn rebuild_routes(&mut self) {
        let mut routes: HashMap<String, Vec<Arc<ApiEntry>>> = HashMap::new();
        for entry in self.apis.values() {
            routes.entry(normalize_base_path(&entry.api.base_path)).or_default().push(entry.clone());
        }
        for list in routes.values_mut() {
            // Live versions first; among retired ones, the latest retired.
            list.sort_by_key(|e| (e.api.status == ApiStatus::Retired, std::cmp::Reverse(e.api.retired_at)));
        }
        self.routes = Arc::new(routes);
    }

    /// Collects key uses not yet flushed to storage.
    pub fn unflushed_usage(&self) -> Vec<(KeyId, Timestamp)> {
        self.keys
            .values()
            .filter_map(|e| {
                let ms = e.usage.take_unflushed()?;
                Some((e.key.id.clone(), chrono::DateTime::from_timestamp_millis(ms)?))
            })
            .collect()
    }
}

/// `/orders/v1/` and `/orders/v1` are the same base path; `/` stays `/`.
pub fn normalize_base_path(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// The current snapshot behind an atomic pointer.
#[derive(Debug, Default)]
pub struct SnapshotHandle {
    current: ArcSwap<Snapshot>,
    writer: Mutex<()>,
    /// Changes waiting for the next [`SnapshotHandle::apply`] to publish.
    pending: Mutex<Vec<Change>>,
}

impl SnapshotHandle {
    /// A handle holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self { current: ArcSwap::from_pointee(snapshot), writer: Mutex::new(()), pending: Mutex::default() }
    }

    /// The current snapshot: lock-free, for the request path.
    pub fn load(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces the whole snapshot (start-up, full reload).
    pub fn replace(&self, snapshot: Snapshot) {
        let _guard = self.writer.lock();
        self.current.store(Arc::new(snapshot));
    }

    /// Applies committed changes and publishes the result; returns once a
    /// published version holds them.
    ///
    /// Writers are serialized so no change is lost between load and
    /// store, and group themselves: changes queue first, and whoever holds
    /// the writer lock next applies everything queued in one new version.
    /// So concurrent writers (key creates committed in one storage group)
    /// copy a table's list of shards once between them, not once each. A
    /// writer that finds the queue empty once it has the lock had its
    /// changes published by the writer before it.
    pub fn apply(&self, changes: &[Change]) {
        lock(&self.pending).extend_from_slice(changes);
        let _guard = lock(&self.writer);
        let queued = std::mem::take(&mut *lock(&self.pending));
        if queued.is_empty() {
            return;
        }
        let mut next = Snapshot::clone(&self.current.load());
        for c in &queued {
            next.apply(c);
        }
        self.current.store(Arc::new(next));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while applying leaves the published version whole: go on.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::{KeyUsage, Snapshot};
    use keyway_core::change::{Change, Record};
    use keyway_core::ids::{ModelId, ProviderId, TenantId};
    use keyway_core::providers::{AiModel, Provider, ProviderKind};

    /// A live model of `tenant` named `name`, with no targets.
    fn model(tenant: &TenantId, name: &str) -> AiModel {
        AiModel {
            id: ModelId::generate(),
            tenant_id: tenant.clone(),
            name: name.into(),
            targets: Vec::new(),
            fallbacks: Vec::new(),
            timeout_ms: None,
            price: None,
            created_at: chrono::Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn providers_and_models_are_applied_without_touching_older_versions() {
        let tenant = TenantId::generate();
        let now = chrono::Utc::now();
        let p = Provider {
            id: ProviderId::generate(),
            tenant_id: tenant.clone(),
            name: "openai".into(),
            kind: ProviderKind::OpenAi,
            base_url: None,
            preset: None,
            api_version: None,
            credentials: Vec::new(),
            created_at: now,
            deleted_at: None,
        };
        let m = model(&tenant, "gpt-4o");
        let before = Snapshot::default().with_ai(vec![p.clone()], Vec::new());
        let mut after = before.clone();
        after.apply(&Change::Insert(Record::Model(m.clone())));
        after.apply(&Change::Update(Record::Provider(Provider { deleted_at: Some(now), ..p.clone() })));
        assert_eq!(after.models.get(&m.id).map(|x| x.name.as_str()), Some("gpt-4o"));
        assert!(after.providers[&p.id].deleted_at.is_some());
        assert!(before.models.is_empty() && before.providers[&p.id].deleted_at.is_none(), "older versions unchanged");
    }

    #[test]
    fn models_are_found_by_name_within_their_tenant_through_renames_and_deletes() {
        let (t1, t2) = (TenantId::generate(), TenantId::generate());
        let now = chrono::Utc::now();
        let (a, b) = (model(&t1, "fast"), model(&t2, "fast"));
        let mut s = Snapshot::default().with_ai(Vec::new(), vec![a.clone(), b.clone()]);
        assert_eq!(s.model_named(&t1, "fast").map(|m| &m.id), Some(&a.id));
        assert_eq!(s.model_named(&t2, "fast").map(|m| &m.id), Some(&b.id), "same name, other tenant: its own model");
        s.apply(&Change::Update(Record::Model(AiModel { name: "quick".into(), ..a.clone() })));
        assert!(s.model_named(&t1, "fast").is_none(), "the old name is gone after a rename");
        assert_eq!(s.model_named(&t1, "quick").map(|m| &m.id), Some(&a.id));
        s.apply(&Change::Update(Record::Model(AiModel { name: "quick".into(), deleted_at: Some(now), ..a })));
        assert!(s.model_named(&t1, "quick").is_none() && s.models_of(&t1).next().is_none(), "a deleted model is not offered");
        assert_eq!(s.models_of(&t2).count(), 1);
    }

    #[test]
    fn usage_is_flushed_once_per_new_use() {
        let u = KeyUsage::default();
        assert_eq!((u.last_used_ms(), u.take_unflushed()), (None, None));
        u.touch(1_000);
        u.touch(900); // older: ignored
        assert_eq!(u.last_used_ms(), Some(1_000));
        assert_eq!(u.take_unflushed(), Some(1_000));
        assert_eq!((u.last_used_ms(), u.take_unflushed()), (Some(1_000), None));
        u.touch(1_000); // the same instant again: still flushed
        assert_eq!(u.take_unflushed(), None);
        u.touch(2_000);
        let next = u.carried();
        assert_eq!((next.take_unflushed(), next.last_used_ms()), (Some(2_000), Some(2_000)));
    }
}
