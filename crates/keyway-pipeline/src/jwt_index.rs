//! The JWT side of the snapshot: every trusted issuer built once into a
//! verifying [`Issuer`] (its keys decoded, a `jwks_url` issuer's
//! [`JwksCache`](keyway_credentials::jwt::JwksCache) kept across
//! versions), the issuers each tenant and each API trusts, and which app
//! a verified token's subject is, per tenant.
//!
//! An issuer is rebuilt only when its own record changes, so a fetched key
//! set survives every other admin write.

use hashbrown::HashMap;
use keyway_core::ids::{ApiId, AppId, IssuerId, TenantId};
use keyway_core::issuers::JwtIssuer;
use keyway_core::model::{Api, App, PrincipalStatus};
use keyway_credentials::jwt::{Issuer, IssuerConfig, IssuerError, RefreshPolicy, TrustedIssuers};
use std::sync::Arc;

/// One stored issuer and what it built into.
#[derive(Debug)]
pub struct IssuerEntry {
    /// The stored record.
    pub record: JwtIssuer,
    /// The verifier, or why the record does not build one (the admin API
    /// refuses such records; one from older storage is skipped).
    pub built: Result<Arc<Issuer>, IssuerError>,
}

/// The configuration `keyway-credentials` builds an issuer from.
pub fn config_of(record: &JwtIssuer) -> IssuerConfig {
    IssuerConfig {
        issuer: record.issuer.clone(),
        jwks_url: record.jwks_url.clone(),
        jwks: record.jwks.clone(),
        algorithms: record.algorithms.clone(),
        audiences: record.audiences.clone(),
        leeway_seconds: record.leeway_seconds,
        subject_claim: record.subject_claim.clone(),
        scopes_claim: record.scopes_claim.clone(),
        require_exp: true,
    }
}

/// Issuers, trust sets and token subjects, shared between versions.
#[derive(Clone, Debug, Default)]
pub struct JwtIndex {
    /// How fetched key sets are refreshed (for issuers built from now on).
    refresh: RefreshPolicy,
    /// Every issuer by id, deleted ones included.
    issuers: Arc<HashMap<IssuerId, Arc<IssuerEntry>>>,
    /// The live issuers of each tenant: the trust of an API that names none.
    by_tenant: Arc<HashMap<TenantId, Arc<TrustedIssuers>>>,
    /// The trust of each API that names its `jwt_issuers`.
    by_api: Arc<HashMap<ApiId, Arc<TrustedIssuers>>>,
    /// Per tenant, the app each token subject is.
    subjects: Arc<HashMap<TenantId, Arc<HashMap<String, AppId>>>>,
}

impl JwtIndex {
    /// An index of `issuers`, `apps`' subjects and `apis`' trust, building
    /// fetched key sets with `refresh`.
    pub fn build<'a>(
        issuers: Vec<JwtIssuer>,
        apps: impl Iterator<Item = &'a App>,
        apis: impl Iterator<Item = &'a Api>,
        refresh: RefreshPolicy,
    ) -> Self {
        let mut index = JwtIndex { refresh, ..JwtIndex::default() };
        index.issuers = Arc::new(issuers.into_iter().map(|r| (r.id.clone(), index.entry(r))).collect());
        let mut subjects: HashMap<TenantId, HashMap<String, AppId>> = HashMap::new();
        for app in apps.filter(|a| a.status != PrincipalStatus::Deleted) {
            let tenant = subjects.entry(app.tenant_id.clone()).or_default();
            for s in &app.token_subjects {
                tenant.insert(s.clone(), app.id.clone());
            }
        }
        index.subjects = Arc::new(subjects.into_iter().map(|(t, m)| (t, Arc::new(m))).collect());
        index.rebuild_trust(apis);
        index
    }

    fn entry(&self, record: JwtIssuer) -> Arc<IssuerEntry> {
        let built = Issuer::with_refresh_policy(&config_of(&record), self.refresh).map(Arc::new);
        if let Err(e) = &built {
            tracing::warn!(issuer = %record.id, error = %e, "a stored JWT issuer does not build; its tokens are refused");
        }
        Arc::new(IssuerEntry { record, built })
    }

    /// An issuer by id.
    pub fn issuer(&self, id: &IssuerId) -> Option<&Arc<IssuerEntry>> {
        self.issuers.get(id)
    }

    /// The issuers `api` trusts: its `jwt_issuers`, else its tenant's.
    pub fn trusted_by(&self, api: &Api) -> Option<&Arc<TrustedIssuers>> {
        if api.jwt_issuers.is_empty() {
            self.by_tenant.get(&api.tenant_id)
        } else {
            self.by_api.get(&api.id)
        }
    }

    /// The app of `tenant` whose `token_subjects` hold `subject`.
    pub fn app_of_subject(&self, tenant: &TenantId, subject: &str) -> Option<&AppId> {
        self.subjects.get(tenant)?.get(subject)
    }

    /// Applies an issuer written: rebuilt alone, trust sets recomputed.
    pub fn apply_issuer<'a>(&mut self, record: &JwtIssuer, apis: impl Iterator<Item = &'a Api>) {
        let entry = self.entry(record.clone());
        Arc::make_mut(&mut self.issuers).insert(record.id.clone(), entry);
        self.rebuild_trust(apis);
    }

    /// Applies an app written (`old`: its previous version): its old
    /// subjects out, its new ones in (none for a deleted app, whose
    /// subjects are free again).
    pub fn apply_app(&mut self, old: Option<&App>, app: &App) {
        let deleted = |a: &App| a.status == PrincipalStatus::Deleted;
        let before = old.map(|o| (o.token_subjects.as_slice(), deleted(o))).unwrap_or((&[], false));
        // Most app writes touch no subject: the index (copied per tenant
        // on a change) is left alone.
        if before == (app.token_subjects.as_slice(), deleted(app)) || (before.0.is_empty() && app.token_subjects.is_empty()) {
            return;
        }
        let subjects = Arc::make_mut(&mut self.subjects);
        let tenant = Arc::make_mut(subjects.entry(app.tenant_id.clone()).or_default());
        for s in old.map(|o| o.token_subjects.as_slice()).unwrap_or_default() {
            if tenant.get(s) == Some(&app.id) {
                tenant.remove(s);
            }
        }
        if app.status == PrincipalStatus::Deleted {
            return;
        }
        for s in &app.token_subjects {
            tenant.insert(s.clone(), app.id.clone());
        }
    }

    /// Recomputes every trust set from the issuers held and `apis`.
    pub fn rebuild_trust<'a>(&mut self, apis: impl Iterator<Item = &'a Api>) {
        let live = |e: &&Arc<IssuerEntry>| e.record.deleted_at.is_none();
        let mut by_tenant: HashMap<TenantId, Vec<Arc<Issuer>>> = HashMap::new();
        for e in self.issuers.values().filter(live) {
            if let Ok(built) = &e.built {
                by_tenant.entry(e.record.tenant_id.clone()).or_default().push(built.clone());
            }
        }
        let mut by_api = HashMap::new();
        for api in apis.filter(|a| !a.jwt_issuers.is_empty()) {
            let named = api.jwt_issuers.iter().filter_map(|id| self.issuers.get(id)).filter(live);
            let same_tenant = named.filter(|e| e.record.tenant_id == api.tenant_id);
            let built = same_tenant.filter_map(|e| e.built.as_ref().ok().cloned());
            by_api.insert(api.id.clone(), Arc::new(TrustedIssuers::new(built)));
        }
        self.by_tenant = Arc::new(by_tenant.into_iter().map(|(t, i)| (t, Arc::new(TrustedIssuers::new(i)))).collect());
        self.by_api = Arc::new(by_api);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use keyway_core::change::{Change, Record};
    use keyway_core::ids::UserId;
    use keyway_core::model::Upstream;

    fn issuer(tenant: &TenantId) -> JwtIssuer {
        JwtIssuer {
            id: IssuerId::generate(),
            tenant_id: tenant.clone(),
            name: "idp".into(),
            issuer: "https://idp.test".into(),
            jwks_url: Some("https://idp.test/jwks".into()),
            jwks: None,
            algorithms: vec!["ES256".into()],
            audiences: Vec::new(),
            leeway_seconds: 60,
            subject_claim: "sub".into(),
            scopes_claim: "scope".into(),
            created_at: chrono::Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn an_issuer_and_its_fetched_keys_survive_every_write_but_its_own() {
        let now = chrono::Utc::now();
        let tenant = TenantId::generate();
        let record = issuer(&tenant);
        let mut s = Snapshot::default().with_issuers(vec![record.clone()], RefreshPolicy::default());
        let built = |s: &Snapshot| s.jwt.issuer(&record.id).unwrap().built.clone().unwrap();
        let first = built(&s);
        let app = App { token_subjects: vec!["svc".into()], ..App::new(&tenant, "a", &UserId::generate(), now) };
        let api = Api::new(
            &tenant,
            "orders",
            "v1",
            "/orders/v1",
            Upstream { targets: Vec::new(), strip_base_path: true, timeout_ms: None },
            now,
        );
        s.apply(&Change::Insert(Record::App(app.clone())));
        s.apply(&Change::Insert(Record::Api(api.clone())));
        assert!(Arc::ptr_eq(&first, &built(&s)), "other writes keep the built issuer (and its JWKS cache)");
        assert!(s.jwt.trusted_by(&api).unwrap().get("https://idp.test").is_some_and(|i| Arc::ptr_eq(i, &first)));
        assert_eq!(s.jwt.app_of_subject(&tenant, "svc"), Some(&app.id));
        s.apply(&Change::Update(Record::Issuer(JwtIssuer { leeway_seconds: 5, ..record.clone() })));
        assert!(!Arc::ptr_eq(&first, &built(&s)), "its own write rebuilds it");
        s.apply(&Change::Update(Record::App(App { token_subjects: vec!["svc-2".into()], ..app.clone() })));
        assert_eq!((s.jwt.app_of_subject(&tenant, "svc"), s.jwt.app_of_subject(&tenant, "svc-2")), (None, Some(&app.id)));
        let named = Api { jwt_issuers: vec![IssuerId::generate()], ..api };
        s.apply(&Change::Update(Record::Api(named.clone())));
        assert!(
            s.jwt.trusted_by(&named).unwrap().get("https://idp.test").is_none(),
            "an API naming other issuers does not trust the tenant's"
        );
    }
}
