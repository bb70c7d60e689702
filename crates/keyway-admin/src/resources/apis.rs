//! APIs: `POST/GET /admin/v1/tenants/{id}/apis`, `GET/PATCH /admin/v1/apis/{id}`.
//! (Subscriptions come later, in their own module.)

use super::{api_kind, conflict_as, created, list, Created, List};
use crate::ai_fields::{self, PromptIn};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::input::{clearable_time, some, LimitsIn, ScopeRuleIn, UpstreamIn};
use crate::state::{now, AdminState, Write};
use crate::validate::{self, MAX_NAME};
use axum::extract::State;
use axum::Json;
use keyway_core::change::Record;
use keyway_core::ids::ApiId;
use keyway_core::model::{Api, ApiKind, ApiStatus, AuthMethod, HmacSettings, KeyLocation, Protocol, Visibility};
use keyway_core::Timestamp;
use serde::Deserialize;

/// Body of `POST /admin/v1/tenants/{id}/apis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApi {
    /// `rest` (default), `ai` or `prompt`.
    #[serde(default, deserialize_with = "some")]
    pub kind: Option<ApiKind>,
    /// Name, e.g. `orders`.
    pub name: String,
    /// Version label, e.g. `v1`.
    pub version: String,
    /// Path prefix, e.g. `/orders/v1`.
    pub base_path: String,
    /// Host it is served for (any host when absent or `null`).
    #[serde(default)]
    pub host: Option<String>,
    /// Allowed methods, of [`validate::HTTP_METHODS`] (all when absent or empty).
    #[serde(default, deserialize_with = "some")]
    pub methods: Option<Vec<String>>,
    /// Where traffic goes: required for `rest` APIs, refused for the others.
    #[serde(default, deserialize_with = "some")]
    pub upstream: Option<UpstreamIn>,
    /// The prompt: required for `prompt` APIs, refused for the others.
    #[serde(default, deserialize_with = "some")]
    pub prompt: Option<PromptIn>,
    /// Accepted authentication methods.
    pub auth: Vec<AuthMethod>,
    /// Places a key is accepted (default: bearer header and `x-api-key`).
    #[serde(default, deserialize_with = "some")]
    pub key_locations: Option<Vec<KeyLocation>>,
    /// The JWT issuers it trusts (default: every issuer of its tenant).
    #[serde(default, deserialize_with = "some")]
    pub jwt_issuers: Option<Vec<String>>,
    /// How HMAC request signatures are checked (default: a 300 s window).
    #[serde(default, deserialize_with = "some")]
    pub hmac: Option<HmacIn>,
    /// Refusal envelope protocol (default `openai` for `ai` APIs, else `rest`).
    #[serde(default, deserialize_with = "some")]
    pub protocol: Option<Protocol>,
    /// Whether subscriptions need approval (default false).
    #[serde(default, deserialize_with = "some")]
    pub requires_approval: Option<bool>,
    /// Who may call it.
    pub visibility: Visibility,
    /// Scopes every call needs.
    #[serde(default, deserialize_with = "some")]
    pub required_scopes: Option<Vec<String>>,
    /// Scopes particular routes need (method + path pattern).
    #[serde(default, deserialize_with = "some")]
    pub scope_rules: Option<Vec<ScopeRuleIn>>,
    /// Rate limit and quota across all callers.
    #[serde(default)]
    pub limits: LimitsIn,
}

/// An API's `hmac` settings as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacIn {
    /// How far `created` may be from server time, seconds.
    #[serde(deserialize_with = "crate::input::whole")]
    pub window_seconds: u64,
}

/// `hmac` settings within bounds.
fn hmac_settings(given: HmacIn) -> Result<HmacSettings, AdminError> {
    let (min, max) = (HmacSettings::MIN_WINDOW_SECONDS, HmacSettings::MAX_WINDOW_SECONDS);
    if !(min..=max).contains(&given.window_seconds) {
        return Err(AdminError::invalid(
            "hmac.window_seconds",
            format!(
                "hmac.window_seconds must be {min} to {max} (seconds either side of server time), not {}",
                given.window_seconds
            ),
        ));
    }
    Ok(HmacSettings { window_seconds: given.window_seconds })
}

/// Body of `PATCH /admin/v1/apis/{id}`. `sunset_at` and
/// `successor_api_id` may be `null` to clear them; no other field may be
/// `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchApi {
    /// New lifecycle status.
    #[serde(default, deserialize_with = "some")]
    pub status: Option<ApiStatus>,
    /// When it stops (announced in `Sunset` while deprecated).
    #[serde(default, deserialize_with = "clearable_time")]
    pub sunset_at: Option<Option<Timestamp>>,
    /// The API that replaces it (same tenant, not itself).
    #[serde(default, deserialize_with = "super::nullable")]
    pub successor_api_id: Option<Option<String>>,
    /// New upstream (`rest` APIs only).
    #[serde(default, deserialize_with = "some")]
    pub upstream: Option<UpstreamIn>,
    /// New prompt, replacing the old one whole (`prompt` APIs only).
    #[serde(default, deserialize_with = "some")]
    pub prompt: Option<PromptIn>,
    /// New allowed methods.
    #[serde(default, deserialize_with = "some")]
    pub methods: Option<Vec<String>>,
    /// New key locations.
    #[serde(default, deserialize_with = "some")]
    pub key_locations: Option<Vec<KeyLocation>>,
    /// New trusted JWT issuers (empty: every issuer of its tenant).
    #[serde(default, deserialize_with = "some")]
    pub jwt_issuers: Option<Vec<String>>,
    /// New HMAC settings; `null` returns to the defaults.
    #[serde(default, deserialize_with = "super::nullable")]
    pub hmac: Option<Option<HmacIn>>,
    /// New visibility.
    #[serde(default, deserialize_with = "some")]
    pub visibility: Option<Visibility>,
    /// New required scopes.
    #[serde(default, deserialize_with = "some")]
    pub required_scopes: Option<Vec<String>>,
    /// New route scope rules.
    #[serde(default, deserialize_with = "some")]
    pub scope_rules: Option<Vec<ScopeRuleIn>>,
    /// New limits (replacing the old ones whole).
    #[serde(default, deserialize_with = "some")]
    pub limits: Option<LimitsIn>,
    /// New approval rule.
    #[serde(default, deserialize_with = "some")]
    pub requires_approval: Option<bool>,
}

impl PatchApi {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.sunset_at.is_none()
            && self.successor_api_id.is_none()
            && self.upstream.is_none()
            && self.prompt.is_none()
            && self.methods.is_none()
            && self.key_locations.is_none()
            && self.jwt_issuers.is_none()
            && self.hmac.is_none()
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
    let base_path = validate::base_path(&req.base_path)?;
    let host = req.host.as_deref().map(validate::host).transpose()?;
    let methods = validate::methods("methods", req.methods.unwrap_or_default())?;
    let kind = req.kind.unwrap_or_default();
    let upstream = api_kind::upstream(kind, req.upstream)?;
    let prompt = api_kind::prompt(kind, req.prompt)?;
    let key_locations = key_locations(req.key_locations.unwrap_or_else(|| KeyLocation::DEFAULT.to_vec()))?;
    let required_scopes = validate::scopes("required_scopes", req.required_scopes.unwrap_or_default())?;
    let scope_rules = validate::scope_rules(req.scope_rules.unwrap_or_default())?;
    let limits = validate::limits("limits", req.limits, false)?;
    let hmac = req.hmac.map(hmac_settings).transpose()?;

    let _write = state.begin_write().await;
    let tenant = super::tenant(&state, &tenant_id).await?;
    let jwt_issuers = super::issuers::trusted_ids(&state, &tenant.id, &req.jwt_issuers.unwrap_or_default()).await?;
    let api = Api {
        host,
        jwt_issuers,
        hmac,
        methods,
        auth,
        key_locations,
        requires_approval: req.requires_approval.unwrap_or(false),
        visibility: req.visibility,
        required_scopes,
        scope_rules,
        limits,
        protocol: api_kind::protocol(kind, req.protocol),
        kind,
        prompt,
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
    let upstream_new = req.upstream.map(validate::upstream).transpose()?;
    let prompt_new = req.prompt.map(ai_fields::prompt).transpose()?;
    let methods_new = req.methods.map(|m| validate::methods("methods", m)).transpose()?;
    let scopes_new = req.required_scopes.map(|s| validate::scopes("required_scopes", s)).transpose()?;
    let rules_new = req.scope_rules.map(validate::scope_rules).transpose()?;
    let limits_new = req.limits.map(|l| validate::limits("limits", l, false)).transpose()?;
    let locations_new = req.key_locations.map(key_locations).transpose()?;
    let hmac_new = req.hmac.map(|h| h.map(hmac_settings).transpose()).transpose()?;

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
        if !before.kind.has_upstream() {
            return Err(AdminError::InvalidState(api_kind::no_upstream(before.kind)));
        }
        after.upstream = u;
    }
    if let Some(p) = prompt_new {
        if before.kind != ApiKind::Prompt {
            return Err(AdminError::InvalidState(api_kind::not_a_prompt_api(before.kind)));
        }
        after.prompt = Some(p);
    }
    if let Some(m) = methods_new {
        after.methods = m;
    }
    if let Some(locations) = locations_new {
        after.key_locations = locations;
    }
    if let Some(ids) = &req.jwt_issuers {
        after.jwt_issuers = super::issuers::trusted_ids(&state, &before.tenant_id, ids).await?;
    }
    if let Some(h) = hmac_new {
        after.hmac = h;
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
    if let Some(l) = limits_new {
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

/// The API's accepted credential kinds, each once, in the order given:
/// every kind (`api_key`, `jwt`, `hmac`, `mtls`) is implemented, so the
/// only refusal is an empty list.
fn auth_methods(methods: Vec<AuthMethod>) -> Result<Vec<AuthMethod>, AdminError> {
    if methods.is_empty() {
        return Err(AdminError::invalid("auth", "auth must name at least one method, e.g. [\"api_key\"]"));
    }
    let mut out = Vec::with_capacity(methods.len());
    for m in methods {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Where keys are accepted; never empty (left out: the default places),
/// also for an API that accepts only `jwt`, whose keys would go there if
/// it ever accepts `api_key`.
fn key_locations(list: Vec<KeyLocation>) -> Result<Vec<KeyLocation>, AdminError> {
    if list.is_empty() {
        return Err(AdminError::invalid("key_locations", "key_locations must not be empty; leave it out for the default places"));
    }
    let mut out: Vec<KeyLocation> = Vec::with_capacity(list.len());
    for l in list {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_accepted_each_once_in_order() {
        assert!(auth_methods(vec![AuthMethod::ApiKey]).is_ok());
        assert_eq!(auth_methods(vec![AuthMethod::Mtls, AuthMethod::ApiKey]).unwrap(), [AuthMethod::Mtls, AuthMethod::ApiKey]);
        assert_eq!(
            auth_methods(vec![AuthMethod::Jwt, AuthMethod::ApiKey, AuthMethod::Jwt]).unwrap(),
            [AuthMethod::Jwt, AuthMethod::ApiKey]
        );
        assert_eq!(auth_methods(vec![AuthMethod::Hmac, AuthMethod::Mtls]).unwrap(), [AuthMethod::Hmac, AuthMethod::Mtls]);
        assert_eq!(auth_methods(vec![]).unwrap_err().code(), "request_invalid");
    }
}
