//! The request path as one sequence of named phases over one per-request
//! [`Call`], the way pingora's `ProxyHttp` reads:
//!
//! | phase | what it decides | where |
//! |---|---|---|
//! | request | the request itself is well formed | [`crate::stages::request`] |
//! | route | which API serves host + path | [`crate::stages::route`] |
//! | credential | a credential is presented, in an accepted place and form | [`crate::stages::credential`] |
//! | key | it is a real, live key (or a verified JWT, or a bound TLS client certificate) | [`crate::stages::key`], [`crate::stages::token`], [`crate::stages::certificate`] |
//! | identity | its app, owner and tenant are in good standing | [`crate::stages::identity`] |
//! | authorization | that identity may make this call | [`crate::stages::authorization`] |
//! | limits | rates and quotas allow it | `keyway-gateway` (`limits.rs`) |
//! | upstream | the upstream answers | `keyway-gateway` (`handler.rs`, `proxy.rs`) |
//! | respond | the answer goes back, with Keyway's headers | `keyway-gateway` (`respond.rs`) |
//! | log | the call-log row is queued | `keyway-gateway` (`call_log.rs`) |
//!
//! [`Call::decide`] runs the phases that read only the snapshot (request
//! through authorization), so `diagnose` runs exactly what the gateway
//! runs; the gateway then runs limits, upstream and respond, and
//! [`Call::close`] is the one place the trace is closed, whatever phase
//! refused. The AI gateway's phases join this sequence: the model after
//! authorization (`model_not_allowed`), token limits and budget within
//! limits, the provider as the upstream.

use crate::hmac_index::HmacEntry;
use crate::phase_evidence::{identity_evidence, joined, key_evidence, route_evidence, signature_evidence, token_evidence};
use crate::snapshot::{ApiEntry, KeyEntry, Snapshot};
use crate::stages::certificate::PeerCert;
use crate::stages::{authorization, credential, identity, key, request, route, signature, token};
use http::HeaderMap;
use keyway_core::certificates::ClientCertificate;
use keyway_core::key_format::{KeyEnv, KeyHasher};
use keyway_core::model::{App, AuthMethod, KeyLocation, KeyState, Tenant};
use keyway_core::refusals::ScopeHolder;
use keyway_core::sealed::Sealer;
use keyway_core::text::Text;
use keyway_core::{ErrorCode, Refusal, Stage, Timestamp, Trace};
use keyway_credentials::jwt::VerifiedToken;
use std::net::IpAddr;
use std::sync::Arc;

mod mtls;

/// Gateway-wide settings the stages need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Which key environment this gateway accepts.
    pub environment: KeyEnv,
    /// Digests presented keys under the server secret.
    pub hasher: KeyHasher,
    /// Seals and opens AI provider credentials (key derived from the
    /// server secret under [`PROVIDER_CREDENTIALS`](keyway_core::sealed::PROVIDER_CREDENTIALS)).
    pub credentials: Sealer,
    /// Seals and opens apps' HMAC signing keys (derived like
    /// `credentials`, under [`HMAC_KEYS`](keyway_core::sealed::HMAC_KEYS)).
    pub hmac_keys: Sealer,
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
    /// The outcome of verifying this request's bearer JWT, when the
    /// gateway verified it already (refreshing a fetched key set on the
    /// way); `None`: stage 3 verifies with the keys held.
    pub token_check: Option<&'a token::Prechecked>,
    /// The TLS client certificate of the connection, as the listener
    /// judged it.
    pub client_cert: PeerCert<'a>,
    /// `http` or `https`, as the caller reached the gateway (a signature
    /// may cover `@scheme`).
    pub scheme: &'a str,
    /// The whole body, when the gateway read it (a signed request's, for
    /// its `Content-Digest`); empty otherwise.
    pub body: &'a [u8],
    /// The outcome of verifying this request's HMAC signature (nonce
    /// recorded), when the gateway verified it already; `None`: stage 3
    /// checks it afresh without a nonce (`diagnose`).
    pub signature_check: Option<&'a signature::Prechecked>,
}

/// A request that passed every stage.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The API it is for.
    pub api: Arc<ApiEntry>,
    /// The caller's key (`None`: it presented a verified JWT or signature).
    pub key: Option<Arc<KeyEntry>>,
    /// The caller's verified JWT, if that is what it presented.
    pub token: Option<Arc<VerifiedToken>>,
    /// The binding of the caller's TLS client certificate, when that
    /// was its credential.
    pub certificate: Option<Arc<ClientCertificate>>,
    /// The HMAC key of the caller's verified signature, if that is what
    /// it presented.
    pub hmac_key: Option<Arc<HmacEntry>>,
    /// The key's app.
    pub app: Arc<App>,
    /// The key's tenant.
    pub tenant: Arc<Tenant>,
    /// Where the key or token was found (stripped before forwarding);
    /// `None` for a signature (its headers are stripped too).
    pub location: Option<KeyLocation>,
}

/// One request as it walks the phases: what each has learned so far,
/// and the trace. Later phases read what earlier ones found, also when a
/// later one refuses (the log row and the envelope need the API and the
/// key).
#[derive(Debug, Default)]
pub struct Call {
    /// One entry per phase passed; closed by [`Call::close`].
    pub trace: Trace,
    /// The API, once routed.
    pub api: Option<Arc<ApiEntry>>,
    /// The presented key's display prefix, once well formed.
    pub key_prefix: Option<String>,
    /// The verified key, once verified.
    pub key: Option<Arc<KeyEntry>>,
    /// The app of the credential when it is not a key (a verified token's
    /// subject, a signature's HMAC key, a certificate's binding), once
    /// known (a key's app is its key's).
    pub credential_app: Option<Arc<App>>,
    /// The HMAC key of a verified signature, once known.
    pub hmac_key: Option<Arc<HmacEntry>>,
    /// The binding of the client certificate that was the credential,
    /// once found.
    pub certificate: Option<Arc<ClientCertificate>>,
}

impl Call {
    /// A request about to walk the phases.
    pub fn new() -> Self {
        Self { trace: Trace::new(), ..Self::default() }
    }

    /// Runs the phases that read only the snapshot, in order: request,
    /// route, credential, key, identity, authorization. Each passing phase
    /// records its evidence; the first refusal stops the walk.
    pub fn decide(&mut self, snapshot: &Snapshot, settings: &Settings, input: &CallInput<'_>) -> Result<Admitted, Refusal> {
        self.request(input)?;
        let api = self.route(snapshot, input)?;
        if api.api.auth.contains(&AuthMethod::Hmac) {
            if signature::signed(input.headers) {
                return self.decide_signature(snapshot, api, input);
            }
            if !api.api.auth.iter().any(|m| matches!(m, AuthMethod::ApiKey | AuthMethod::Jwt | AuthMethod::Mtls)) {
                return Err(signature::missing());
            }
        }
        if let Some(token) = self.bearer_token(&api, input)? {
            return self.decide_token(snapshot, api, token, input);
        }
        let auth = &api.api.auth;
        if auth.contains(&AuthMethod::Mtls) && !auth.contains(&AuthMethod::ApiKey) {
            return self.decide_certificate(snapshot, api, input);
        }
        let presented = match self.credential(&api, settings, input) {
            // No key: a certificate alone may authenticate.
            Err(r) if r.code == ErrorCode::CredentialMissing && auth.contains(&AuthMethod::Mtls) => {
                return self.decide_certificate(snapshot, api, input)
            }
            other => other?,
        };
        let entry = self.key(snapshot, settings, &presented, input.now)?;
        let who = self.identity(snapshot, &entry, &api)?;
        self.authorization(snapshot, ScopeHolder::Key(&entry.key), &who.app, &api, input)?;
        let location = Some(presented.location);
        Ok(Admitted {
            api,
            key: Some(entry),
            token: None,
            certificate: None,
            hmac_key: None,
            app: who.app,
            tenant: who.tenant,
            location,
        })
    }

    /// Phases credential through authorization for a bearer JWT.
    fn decide_token(
        &mut self,
        snapshot: &Snapshot,
        api: Arc<ApiEntry>,
        token: &str,
        input: &CallInput<'_>,
    ) -> Result<Admitted, Refusal> {
        let now = u64::try_from(input.now.timestamp()).unwrap_or(0);
        let found = token::verify(snapshot, &api, token, now, input.token_check)?;
        let t = &found.token;
        self.credential_app = Some(found.app.clone());
        self.trace.pass(Stage::Key, token_evidence(t, &found.app));
        let who = identity::check_app(snapshot, found.app, &api)?;
        self.trace.pass(Stage::Identity, identity_evidence(&who.app, &who.tenant));
        let holder = ScopeHolder::Token { issuer: &t.issuer, scopes: &t.scopes };
        self.authorization(snapshot, holder, &who.app, &api, input)?;
        let location = Some(KeyLocation::AuthorizationBearer);
        let token = Some(found.token);
        Ok(Admitted { api, key: None, token, certificate: None, hmac_key: None, app: who.app, tenant: who.tenant, location })
    }

    /// Phases credential through authorization for an HMAC-signed
    /// request: no other credential beside it, the signature verified
    /// (by the gateway already, or afresh without a nonce), the key live,
    /// then its app's identity and the key's scopes.
    fn decide_signature(&mut self, snapshot: &Snapshot, api: Arc<ApiEntry>, input: &CallInput<'_>) -> Result<Admitted, Refusal> {
        signature::present(input.headers, input.query)?;
        self.trace.pass(Stage::Credential, Text::Static("Signature-Input and Signature, RFC 9421"));
        let checked = match input.signature_check {
            Some(outcome) => outcome.clone(),
            None => {
                let now = u64::try_from(input.now.timestamp()).unwrap_or(0);
                let request = signature::request(
                    input.method,
                    input.scheme,
                    input.host,
                    input.path,
                    input.query,
                    input.headers,
                    input.body,
                );
                signature::check(snapshot, &api, &request, now)
            }
        };
        let verified = checked.map_err(|r| self.proven_signature_refusal(snapshot, input, r))?;
        let found = signature::identify(snapshot, verified).map_err(|r| self.proven_signature_refusal(snapshot, input, r))?;
        self.credential_app = Some(found.app.clone());
        self.hmac_key = Some(found.key.clone());
        self.trace.pass(Stage::Key, signature_evidence(&found, input.signature_check.is_some()));
        let who = identity::check_app(snapshot, found.app, &api)?;
        self.trace.pass(Stage::Identity, identity_evidence(&who.app, &who.tenant));
        let record = &found.key.record;
        let holder = ScopeHolder::HmacKey { id: record.id.as_str(), scopes: &record.scopes };
        self.authorization(snapshot, holder, &who.app, &api, input)?;
        let hmac_key = Some(found.key);
        Ok(Admitted {
            api,
            key: None,
            token: None,
            certificate: None,
            hmac_key,
            app: who.app,
            tenant: who.tenant,
            location: None,
        })
    }

    /// Phase credential for an API that accepts `jwt`: a bearer JWT, told
    /// from a key by its shape; for an API that accepts only `jwt`, its
    /// absence is refused here. `None`: the key path decides.
    fn bearer_token<'i>(&mut self, api: &ApiEntry, input: &CallInput<'i>) -> Result<Option<&'i str>, Refusal> {
        let auth = &api.api.auth;
        if !auth.contains(&AuthMethod::Jwt) {
            return Ok(None);
        }
        match token::present(input.headers, input.query)? {
            Some(t) => {
                self.trace.pass(Stage::Credential, Text::Static("Authorization: Bearer, a JWT"));
                Ok(Some(t))
            }
            None if auth.contains(&AuthMethod::ApiKey) || auth.contains(&AuthMethod::Mtls) => Ok(None),
            None => Err(token::missing(input.headers)),
        }
    }

    /// A signature refused after its HMAC verified (window, nonce) names
    /// its key and app for the operator (evidence, call-log row); one
    /// refused before says nothing more.
    fn proven_signature_refusal(&mut self, snapshot: &Snapshot, input: &CallInput<'_>, r: Refusal) -> Refusal {
        if !r.code.caller_proven() {
            return r;
        }
        let Some(key) = signature::named_key(snapshot, input.headers) else { return r };
        self.credential_app = snapshot.apps.get(&key.record.app_id).cloned();
        r.noting(format_args!("HMAC key {} of app {}", key.record.id, key.record.app_id))
    }

    /// Closes the trace: the refusing phase's entry (from the refusal's
    /// code, evidence and fix), then `not_reached` for every later stage.
    /// The one place a trace is finished.
    pub fn close(&mut self, refusal: Option<&Refusal>) {
        if let Some(r) = refusal {
            self.trace.fail(r.code.stage(), r.evidence.clone(), r.fix.clone());
            self.trace.close(Stage::Upstream);
        }
    }

    /// Phase request: the request itself.
    fn request(&mut self, input: &CallInput<'_>) -> Result<(), Refusal> {
        request::check_path(input.path)
    }

    /// Phase route.
    fn route(&mut self, snapshot: &Snapshot, input: &CallInput<'_>) -> Result<Arc<ApiEntry>, Refusal> {
        let api = route::check(snapshot, input.host, input.method, input.path)?;
        self.api = Some(api.clone());
        let evidence = match snapshot.tenants.get(&api.api.tenant_id) {
            Some(tenant) => {
                api.route_evidence.get(|held| Arc::ptr_eq(held, tenant), || (tenant.clone(), route_evidence(&api, &tenant.slug)))
            }
            None => route_evidence(&api, "?").into(),
        };
        self.trace.pass(Stage::Route, evidence);
        Ok(api)
    }

    /// Phase credential.
    fn credential<'i>(
        &mut self,
        api: &ApiEntry,
        settings: &Settings,
        input: &CallInput<'i>,
    ) -> Result<credential::Presented<'i>, Refusal> {
        let accepted: &[KeyLocation] = if api.api.auth.contains(&AuthMethod::ApiKey) { &api.api.key_locations } else { &[] };
        let presented = credential::check(input.headers, input.query, accepted, settings.environment)?;
        let prefix = presented.key.display_prefix().to_owned();
        self.trace.pass(Stage::Credential, joined(&[presented.location.describe(), ", key ", &prefix, "..."]));
        self.key_prefix = Some(prefix);
        Ok(presented)
    }

    /// Phase key.
    fn key(
        &mut self,
        snapshot: &Snapshot,
        settings: &Settings,
        presented: &credential::Presented<'_>,
        now: Timestamp,
    ) -> Result<Arc<KeyEntry>, Refusal> {
        let entry = key::lookup(snapshot, &settings.hasher, &presented.key)?;
        self.key = Some(entry.clone());
        key::check_live(snapshot, &entry, now)?;
        let evidence: Text = if entry.key.state_at(now) == KeyState::Rotating {
            key_evidence(&entry, now).into()
        } else {
            Text::Shared(entry.in_use().key_evidence.get_or_init(|| key_evidence(&entry, now).into()).clone())
        };
        self.trace.pass(Stage::Key, evidence);
        Ok(entry)
    }

    /// Phase identity.
    fn identity(&mut self, snapshot: &Snapshot, entry: &KeyEntry, api: &Arc<ApiEntry>) -> Result<identity::Identity, Refusal> {
        let who = identity::check(snapshot, entry, api)?;
        let evidence = entry.in_use().identity_evidence.get(
            |(app, tenant)| Arc::ptr_eq(app, &who.app) && Arc::ptr_eq(tenant, &who.tenant),
            || ((who.app.clone(), who.tenant.clone()), identity_evidence(&who.app, &who.tenant)),
        );
        self.trace.pass(Stage::Identity, evidence);
        Ok(who)
    }

    /// Phase authorization.
    fn authorization(
        &mut self,
        snapshot: &Snapshot,
        holder: ScopeHolder<'_>,
        app: &App,
        api: &Arc<ApiEntry>,
        input: &CallInput<'_>,
    ) -> Result<(), Refusal> {
        let call = authorization::Call { method: input.method, path: input.path, client_ip: input.client_ip };
        let evidence = authorization::check(snapshot, holder, app, api, call)?;
        self.trace.pass(Stage::Authorization, evidence);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use chrono::Utc;
    use keyway_core::change::{Change, Record};
    use keyway_core::ids::ApiId;
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
        let secret = b"test secret for the pipeline";
        let settings = Settings {
            environment: KeyEnv::Live,
            hasher: KeyHasher::new(secret),
            credentials: Sealer::derive(secret, keyway_core::sealed::PROVIDER_CREDENTIALS),
            hmac_keys: Sealer::derive(secret, keyway_core::sealed::HMAC_KEYS),
        };
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
        let subscription = Subscription::approved(&api, &app, "adm_test", now);
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

    /// A call's outcome and what it learned, after the trace is closed.
    struct Decision {
        outcome: Result<Admitted, Refusal>,
        trace: Trace,
        api: Option<Arc<ApiEntry>>,
        key: Option<Arc<KeyEntry>>,
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
            token_check: None,
            client_cert: PeerCert::NotAsked,
            scheme: "http",
            body: &[],
            signature_check: None,
        };
        let mut call = Call::new();
        let outcome = call.decide(&f.snapshot, &f.settings, &input);
        call.close(outcome.as_ref().err());
        Decision { outcome, trace: call.trace, api: call.api, key: call.key }
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
        assert_eq!(a.location, Some(KeyLocation::AuthorizationBearer));
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
    fn shared_evidence_follows_renames_of_what_it_names() {
        let mut f = fixture();
        let bearer = format!("Bearer {}", f.key);
        let evidence = |f: &Fixture| -> Vec<String> {
            run(f, "/orders/v1/items", Some(&bearer)).trace.entries.iter().map(|e| e.evidence.to_string()).collect()
        };
        let first = evidence(&f);
        assert_eq!(first, evidence(&f), "the same request says the same");
        assert!(first[0].contains("(tenant acme)") && first[3].contains("app billing-sync"), "{first:?}");
        assert!(first[2].ends_with("active, no expiry"), "{first:?}");
        f.snapshot.apply(&Change::Update(Record::App(App { name: "billing-v2".into(), ..f.app.clone() })));
        f.snapshot.apply(&Change::Update(Record::Tenant(Tenant { slug: "acme-eu".into(), ..f.tenant.clone() })));
        let after = evidence(&f);
        assert!(after[0].contains("(tenant acme-eu)"), "{after:?}");
        assert!(after[3].contains("app billing-v2") && after[3].contains("tenant acme-eu"), "{after:?}");
    }

    #[test]
    fn the_earliest_failing_stage_decides() {
        let mut f = fixture();
        // Break everything at once: revoked key, suspended owner, suspended tenant, retired API.
        let mut k = f.stored.clone();
        k.rare_mut().revoked_at = Some(Utc::now());
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
