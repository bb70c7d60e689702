//! APIs: `POST/GET /admin/v1/tenants/{id}/apis`, `GET/PATCH /admin/v1/apis/{id}`.
//! (Subscriptions come later, in their own module.)

use super::{conflict_as, created, list, nullable, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::ApiId;
use keyway_core::model::{Api, ApiStatus, AuthMethod, KeyLocation, Protocol, ScopeRule, Upstream, Visibility};
use keyway_core::Timestamp;
use serde::Deserialize;

/// Most upstream targets of one API.
pub const MAX_TARGETS: usize = 64;
/// Longest upstream timeout accepted: one hour.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// Body of `POST /admin/v1/tenants/{id}/apis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApi {
    /// Name, e.g. `orders`.
    pub name: String,
    /// Version label, e.g. `v1`.
    pub version: String,
    /// Path prefix, e.g. `/orders/v1`.
    pub base_path: String,
    /// Host it is served for (any host when absent).
    pub host: Option<String>,
    /// Allowed methods, uppercase (all when absent or empty).
    pub methods: Option<Vec<String>>,
    /// Where traffic goes.
    pub upstream: Upstream,
    /// Accepted authentication methods.
    pub auth: Vec<AuthMethod>,
    /// Places a key is accepted (default: bearer header and `x-api-key`).
    pub key_locations: Option<Vec<KeyLocation>>,
    /// Refusal envelope protocol (default `rest`).
    pub protocol: Option<Protocol>,
    /// Whether subscriptions need approval (default false).
    pub requires_approval: Option<bool>,
    /// Who may call it.
    pub visibility: Visibility,
    /// Scopes every call needs.
    pub required_scopes: Option<Vec<String>>,
    /// Scopes particular routes need (method + path pattern).
    pub scope_rules: Option<Vec<ScopeRule>>,
    /// Rate limit and quota across all callers.
    #[serde(default)]
    pub limits: keyway_core::model::Limits,
}

/// Body of `PATCH /admin/v1/apis/{id}`. `sunset_at` and
/// `successor_api_id` may be `null` to clear them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchApi {
    /// New lifecycle status.
    pub status: Option<ApiStatus>,
    /// When it stops (announced in `Sunset` while deprecated).
    #[serde(default, deserialize_with = "nullable")]
    pub sunset_at: Option<Option<Timestamp>>,
    /// The API that replaces it (same tenant, not itself).
    #[serde(default, deserialize_with = "nullable")]
    pub successor_api_id: Option<Option<String>>,
    /// New upstream.
    pub upstream: Option<Upstream>,
    /// New allowed methods.
    pub methods: Option<Vec<String>>,
    /// New key locations.
    pub key_locations: Option<Vec<KeyLocation>>,
    /// New visibility.
    pub visibility: Option<Visibility>,
    /// New required scopes.
    pub required_scopes: Option<Vec<String>>,
    /// New route scope rules.
    pub scope_rules: Option<Vec<ScopeRule>>,
    /// New limits (replacing the old ones whole).
    pub limits: Option<keyway_core::model::Limits>,
    /// New approval rule.
    pub requires_approval: Option<bool>,
}

impl PatchApi {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.sunset_at.is_none()
            && self.successor_api_id.is_none()
            && self.upstream.is_none()
            && self.methods.is_none()
            && self.key_locations.is_none()
            && self.visibility.is_none()
            && self.required_scopes.is_none()
            && self.scope_rules.is_none()
            && self.limits.is_none()
            && self.requires_approval.is_none()
    }
}

/// `POST /admin/v1/tenants/{id}/apis`.
pub async fn create(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(tenant_id): PathId,
    JsonBody(req): JsonBody<CreateApi>,
) -> Result<Created<Api>, AdminError> {
    let auth = auth_methods(req.auth)?;
    let name = validate::text("name", &req.name, MAX_NAME)?;
    let version = validate::text("version", &req.version, MAX_NAME)?;
    let base_path = base_path(&req.base_path)?;
    let host = req.host.as_deref().map(host).transpose()?;
    let methods = methods(req.methods.unwrap_or_default())?;
    let upstream = upstream(req.upstream)?;
    let key_locations = key_locations(req.key_locations.unwrap_or_else(|| KeyLocation::DEFAULT.to_vec()), &auth)?;
    let required_scopes = validate::scopes("required_scopes", req.required_scopes.unwrap_or_default())?;
    let scope_rules = scope_rules(req.scope_rules.unwrap_or_default())?;
    validate::limits("limits", &req.limits, false)?;

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let api = Api {
        host,
        methods,
        auth,
        key_locations,
        requires_approval: req.requires_approval.unwrap_or(false),
        visibility: req.visibility,
        required_scopes,
        scope_rules,
        limits: req.limits,
        protocol: req.protocol.unwrap_or_default(),
        ..Api::new(&tenant.id, name, version, base_path, upstream, now())
    };
    let taken = route_taken(&api);
    ensure_route_free(&state, &api).await?;
    state
        .commit(&actor, vec![Write::insert("api.create", Record::Api(api.clone()))])
        .await
        .map_err(conflict_as("base_path", taken))?;
    Ok(created(api))
}

/// `GET /admin/v1/tenants/{id}/catalog`: the APIs apps of this tenant can
/// use or subscribe to: the tenant's own (any visibility) and every other
/// tenant's `public` ones; retired versions left out. Oldest first.
pub async fn catalog(State(state): State<AdminState>, PathId(tenant_id): PathId) -> Result<Json<List<Api>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    let snapshot = state.snapshot.load();
    let mut apis: Vec<Api> = snapshot
        .apis
        .values()
        .map(|e| &e.api)
        .filter(|a| a.status != ApiStatus::Retired && (a.tenant_id == tenant.id || a.visibility == Visibility::Public))
        .cloned()
        .collect();
    apis.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(list(apis))
}

/// `GET /admin/v1/tenants/{id}/apis`.
pub async fn list_of_tenant(State(state): State<AdminState>, PathId(tenant_id): PathId) -> Result<Json<List<Api>>, AdminError> {
    let tenant = super::tenant(&state, &tenant_id).await?;
    Ok(list(state.store.apis_of_tenant(&tenant.id).await?))
}

/// `GET /admin/v1/apis/{id}`.
pub async fn get(State(state): State<AdminState>, PathId(id): PathId) -> Result<Json<Api>, AdminError> {
    Ok(Json(super::api(&state, &id).await?))
}

/// `PATCH /admin/v1/apis/{id}`: lifecycle, successor, upstream and access
/// settings.
pub async fn patch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(id): PathId,
    JsonBody(req): JsonBody<PatchApi>,
) -> Result<Json<Api>, AdminError> {
    if req.is_empty() {
        return Err(AdminError::RequestInvalid { detail: "nothing to change".into(), param: None });
    }
    let upstream_new = req.upstream.map(upstream).transpose()?;
    let methods_new = req.methods.map(methods).transpose()?;
    let scopes_new = req.required_scopes.map(|s| validate::scopes("required_scopes", s)).transpose()?;
    let rules_new = req.scope_rules.map(scope_rules).transpose()?;
    if let Some(l) = &req.limits {
        validate::limits("limits", l, false)?;
    }

    let t = now();
    let _write = state.begin_write().await;
    let before = super::api(&state, &id).await?;
    let mut after = before.clone();
    let mut action = "api.update";

    if let Some(status) = req.status.filter(|s| *s != before.status) {
        after.status = status;
        match status {
            ApiStatus::Published => {
                after.deprecated_at = None;
                after.retired_at = None;
                action = "api.publish";
            }
            ApiStatus::Deprecated => {
                after.deprecated_at = before.deprecated_at.or(Some(t));
                after.retired_at = None;
                action = "api.deprecate";
            }
            ApiStatus::Retired => {
                after.retired_at = Some(t);
                action = "api.retire";
            }
        }
        if before.status == ApiStatus::Retired {
            // Back in service: its route must still be free.
            ensure_route_free(&state, &after).await?;
        }
    }
    if let Some(sunset) = req.sunset_at {
        after.sunset_at = sunset;
    }
    if let Some(successor) = req.successor_api_id {
        after.successor_api_id = match successor {
            Some(s) => Some(successor_of(&state, &before, &s).await?),
            None => None,
        };
    }
    if let Some(u) = upstream_new {
        after.upstream = u;
    }
    if let Some(m) = methods_new {
        after.methods = m;
    }
    if let Some(locations) = req.key_locations {
        after.key_locations = key_locations(locations, &after.auth)?;
    }
    if let Some(v) = req.visibility {
        after.visibility = v;
    }
    if let Some(s) = scopes_new {
        after.required_scopes = s;
    }
    if let Some(r) = rules_new {
        after.scope_rules = r;
    }
    if let Some(l) = req.limits {
        after.limits = l;
    }
    if let Some(r) = req.requires_approval {
        after.requires_approval = r;
    }
    if after == before {
        return Ok(Json(before));
    }
    let taken = route_taken(&after);
    state
        .commit(&actor, vec![Write::update(action, Record::Api(before), Record::Api(after.clone()))])
        .await
        .map_err(conflict_as("base_path", taken))?;
    Ok(Json(after))
}

async fn successor_of(state: &AdminState, api: &Api, id: &str) -> Result<ApiId, AdminError> {
    if id == api.id.as_str() {
        return Err(AdminError::reference("successor_api_id", "an API cannot be its own successor"));
    }
    match state.store.api(&ApiId::from(id)).await? {
        Some(s) if s.tenant_id == api.tenant_id => Ok(s.id),
        _ => Err(AdminError::reference("successor_api_id", format!("no API {id} in this tenant"))),
    }
}

fn route_taken(api: &Api) -> String {
    match &api.host {
        Some(h) => format!("an API is already served at {} on host {h}", api.base_path),
        None => format!("an API is already served at {}", api.base_path),
    }
}

/// Refuses a second live (non-retired) API on the same host and base path:
/// the route stage could serve only one of them.
async fn ensure_route_free(state: &AdminState, api: &Api) -> Result<(), AdminError> {
    for tenant in state.store.tenants().await? {
        let clash = state.store.apis_of_tenant(&tenant.id).await?.into_iter().any(|other| {
            other.id != api.id && other.status != ApiStatus::Retired && other.host == api.host && other.base_path == api.base_path
        });
        if clash {
            return Err(AdminError::exists("base_path", route_taken(api)));
        }
    }
    Ok(())
}

/// Only `api_key` is implemented so far; the others are refused with what
/// brings them.
fn auth_methods(methods: Vec<AuthMethod>) -> Result<Vec<AuthMethod>, AdminError> {
    if methods.is_empty() {
        return Err(AdminError::invalid("auth", "auth must name at least one method, e.g. [\"api_key\"]"));
    }
    let mut out = Vec::with_capacity(methods.len());
    for (i, m) in methods.into_iter().enumerate() {
        let coming = match m {
            AuthMethod::ApiKey => None,
            AuthMethod::Jwt => Some(("jwt", "JWT bearer tokens arrive with token issuers (POST /admin/v1/tenants/{id}/issuers)")),
            AuthMethod::Hmac => {
                Some(("hmac", "HMAC request signatures arrive with app HMAC secrets (POST /admin/v1/apps/{id}/hmac-secrets)"))
            }
            AuthMethod::Mtls => {
                Some(("mtls", "mutual TLS arrives with app certificates (POST /admin/v1/apps/{id}/certificates)"))
            }
        };
        if let Some((name, what)) = coming {
            return Err(AdminError::AuthMethodUnsupported {
                detail: format!("auth method {name} is not available yet: {what}, planned in the credentials-beyond-API-keys work; use api_key for now"),
                param: Some(format!("auth[{i}]")),
            });
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// `/orders/v1/` becomes `/orders/v1`; `/` stays `/`.
fn base_path(p: &str) -> Result<String, AdminError> {
    let bad = |why: &str| AdminError::invalid("base_path", format!("base_path {why}, e.g. /orders/v1"));
    if !p.starts_with('/') {
        return Err(bad("must start with /"));
    }
    if p.len() > 512 {
        return Err(bad("is longer than 512 characters"));
    }
    if p.contains(['?', '#']) {
        return Err(bad("must not hold a query (?) or fragment (#)"));
    }
    if p.contains("//") {
        return Err(bad("must not hold an empty segment (//)"));
    }
    if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not hold spaces or control characters"));
    }
    if p.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(bad("must not hold . or .. segments"));
    }
    Ok(keyway_pipeline::snapshot::normalize_base_path(p))
}

/// A host name, lowercased; no port, no scheme.
fn host(h: &str) -> Result<String, AdminError> {
    let h = h.trim().to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(h)
    } else {
        Err(AdminError::invalid("host", "host must be a host name without scheme or port, e.g. api.example.com"))
    }
}

/// Uppercase HTTP method tokens, duplicates dropped.
/// Most scope rules per API.
pub const MAX_SCOPE_RULES: usize = 200;

/// Validates route scope rules: method (if any) a valid HTTP method, path
/// starting with `/` whose `**` (if any) is the last segment, scopes valid.
fn scope_rules(rules: Vec<ScopeRule>) -> Result<Vec<ScopeRule>, AdminError> {
    if rules.len() > MAX_SCOPE_RULES {
        return Err(AdminError::invalid("scope_rules", format!("at most {MAX_SCOPE_RULES} scope rules")));
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let method = match r.method {
                Some(m) => Some(
                    methods(vec![m])
                        .map_err(|_| AdminError::invalid(format!("scope_rules[{i}].method"), "not an HTTP method"))?
                        .remove(0),
                ),
                None => None,
            };
            let path = r.path.trim().to_owned();
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            let double_star_inside = segments.iter().rev().skip(1).any(|s| *s == "**");
            if !path.starts_with('/') || path.contains(['?', '#']) || double_star_inside {
                return Err(AdminError::invalid(
                    format!("scope_rules[{i}].path"),
                    "a path pattern starts with /, has no ? or #, and uses ** only as its last segment",
                ));
            }
            let scopes = validate::scopes(&format!("scope_rules[{i}].scopes"), r.scopes)?;
            if scopes.is_empty() {
                return Err(AdminError::invalid(format!("scope_rules[{i}].scopes"), "a scope rule names at least one scope"));
            }
            Ok(ScopeRule { method, path, scopes })
        })
        .collect()
}

fn methods(list: Vec<String>) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, m) in list.into_iter().enumerate() {
        if m.is_empty() || m.len() > 20 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(AdminError::invalid(
                format!("methods[{i}]"),
                format!("{m:?} is not an uppercase HTTP method such as GET or POST"),
            ));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Where keys are accepted; must not be empty when `api_key` is accepted.
fn key_locations(list: Vec<KeyLocation>, auth: &[AuthMethod]) -> Result<Vec<KeyLocation>, AdminError> {
    if list.is_empty() && auth.contains(&AuthMethod::ApiKey) {
        return Err(AdminError::invalid("key_locations", "key_locations must not be empty when auth includes api_key"));
    }
    let mut out: Vec<KeyLocation> = Vec::with_capacity(list.len());
    for l in list {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// Targets: at least one, each an `http://` or `https://` URL with a host,
/// no credentials, query or fragment; weights 1 to 1000.
fn upstream(u: Upstream) -> Result<Upstream, AdminError> {
    if u.targets.is_empty() {
        return Err(AdminError::invalid("upstream.targets", "upstream.targets must hold at least one target"));
    }
    if u.targets.len() > MAX_TARGETS {
        return Err(AdminError::invalid("upstream.targets", format!("at most {MAX_TARGETS} targets")));
    }
    for (i, t) in u.targets.iter().enumerate() {
        target_url(&t.url).map_err(|why| {
            AdminError::invalid(
                format!("upstream.targets[{i}].url"),
                format!("{:?} {why}, e.g. http://orders.internal:8080", t.url),
            )
        })?;
        if !(1..=1000).contains(&t.weight) {
            return Err(AdminError::invalid(format!("upstream.targets[{i}].weight"), "weight must be 1 to 1000"));
        }
    }
    if let Some(ms) = u.timeout_ms {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            return Err(AdminError::invalid("upstream.timeout_ms", format!("upstream.timeout_ms must be 1 to {MAX_TIMEOUT_MS}")));
        }
    }
    Ok(u)
}

fn target_url(url: &str) -> Result<(), &'static str> {
    let uri: http::Uri = url.parse().map_err(|_| "is not a valid URL")?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://"),
    }
    let Some(authority) = uri.authority() else {
        return Err("has no host");
    };
    if authority.host().is_empty() {
        return Err("has no host");
    }
    if authority.as_str().contains('@') {
        return Err("must not hold credentials");
    }
    if uri.query().is_some() || url.contains('#') {
        return Err("must not hold a query or fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_checked_and_normalized() {
        assert_eq!(base_path("/orders/v1/").ok().as_deref(), Some("/orders/v1"));
        assert_eq!(base_path("/").ok().as_deref(), Some("/"));
        for bad in ["orders", "/a//b", "/a?x=1", "/a#f", "/a b", "/a/../b", ""] {
            assert!(base_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn target_urls() {
        assert!(target_url("http://orders.internal:8080").is_ok());
        assert!(target_url("https://10.0.0.1/prefix").is_ok());
        for bad in ["ftp://x", "orders.internal", "http://", "http://u:p@x", "http://x/?q=1", "http://x/#f", "/x"] {
            assert!(target_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_and_methods() {
        assert_eq!(host("API.Example.com").ok().as_deref(), Some("api.example.com"));
        for bad in ["", "a..b", "a:80", "http://a", "-a.b", "a b"] {
            assert!(host(bad).is_err(), "{bad}");
        }
        assert!(methods(vec!["GET".into(), "POST".into()]).is_ok());
        assert!(methods(vec!["get".into()]).is_err());
    }

    #[test]
    fn only_api_keys_are_supported_for_now() {
        assert!(auth_methods(vec![AuthMethod::ApiKey]).is_ok());
        for m in [AuthMethod::Jwt, AuthMethod::Hmac, AuthMethod::Mtls] {
            let e = auth_methods(vec![AuthMethod::ApiKey, m]).unwrap_err();
            assert_eq!(e.code(), "auth_method_unsupported");
            assert!(e.to_string().contains("not available yet"));
        }
        assert_eq!(auth_methods(vec![]).unwrap_err().code(), "request_invalid");
    }
}
