//! Runs the stages in order over one request and records the trace.

use crate::snapshot::{ApiEntry, KeyEntry, Snapshot};
use crate::stages::{credential, identity, key, route};
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

/// Walks route, credential, key and identity for `input`. On a refusal
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

fn run(snapshot: &Snapshot, settings: &Settings, input: &CallInput<'_>, d: &mut Decision) -> Result<Admitted, Refusal> {
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
