//! Tenants, users, apps, keys and APIs as Keyway stores them.

pub use crate::hmac_keys::HmacSettings;
use crate::ids::{ApiId, AppId, IssuerId, KeyId, SubscriptionId, TenantId, UserId};
use crate::key_format::{KeyDigest, KeyEnv};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::model_ai::{AiLimits, ApiKind, Budget, BudgetPeriod, PromptFormat, PromptSpec};

/// Whether a tenant may act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// In good standing.
    Active,
    /// Suspended by an operator: its keys and APIs are refused.
    Suspended,
}

/// Whether a user or app may act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalStatus {
    /// In good standing.
    Active,
    /// Suspended: keys it owns get `key_owner_suspended`.
    Suspended,
    /// Soft-deleted: keys it owns get `key_owner_deleted`.
    Deleted,
}

impl PrincipalStatus {
    /// `active`, `suspended` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalStatus::Active => "active",
            PrincipalStatus::Suspended => "suspended",
            PrincipalStatus::Deleted => "deleted",
        }
    }
}

/// A user's role within its tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Full control of the tenant.
    Owner,
    /// Manages apps, keys, APIs and users.
    Admin,
    /// Manages own apps and keys.
    Developer,
    /// Reads only.
    Viewer,
}

/// Who changed a status, when, and why: the evidence `diagnose` shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// When the status last changed.
    pub changed_at: Option<Timestamp>,
    /// Who changed it (an admin token id or user id).
    pub changed_by: Option<String>,
    /// The reason given, if any.
    pub reason: Option<String>,
}

/// A period quota: at most `requests` per UTC calendar day or month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed per period.
    pub requests: u64,
    /// `day` or `month` (UTC calendar).
    pub period: QuotaPeriod,
}

/// The period of a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

/// Limits set on a tenant, an app or an API: a request rate for the whole
/// of it, a period quota, and (apps only) a default rate for each of its
/// keys that has none of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Requests per period across the whole tenant, app or API.
    pub rate_limit: Option<RateLimit>,
    /// Requests per day or month across the whole tenant, app or API.
    pub quota: Option<Quota>,
    /// Apps only: the rate limit of each key that sets none itself.
    pub key_rate_limit: Option<RateLimit>,
}

/// A tenant (team).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Id, `ten_…`.
    pub id: TenantId,
    /// Unique, URL-safe short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Standing.
    pub status: TenantStatus,
    /// Last status change.
    #[serde(default)]
    pub status_change: StatusChange,
    /// Rate limit and quota of the whole tenant.
    #[serde(default)]
    pub limits: Limits,
    /// AI limits of the whole tenant (models, budget, tokens per minute);
    /// serialized as the tenant's own fields, unset ones left out.
    #[serde(default, flatten)]
    pub ai: AiLimits,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A user of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id, `usr_…`.
    pub id: UserId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Email, unique within the tenant.
    pub email: String,
    /// Role in the tenant.
    pub role: Role,
    /// Standing.
    pub status: PrincipalStatus,
    /// Last status change.
    #[serde(default)]
    pub status_change: StatusChange,
    /// argon2id hash of the console password, if one was set. Never serialized.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An application: the thing that holds keys and calls APIs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// Id, `app_…`.
    pub id: AppId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Display name (may appear in caller-facing hints).
    pub name: String,
    /// The user answerable for it.
    pub owner_user_id: UserId,
    /// Standing.
    pub status: PrincipalStatus,
    /// Last status change.
    #[serde(default)]
    pub status_change: StatusChange,
    /// Rate limit and quota of the whole app, and its keys' default rate.
    #[serde(default)]
    pub limits: Limits,
    /// AI limits of the whole app (models, budget, tokens per minute);
    /// serialized as the app's own fields, unset ones left out.
    #[serde(default, flatten)]
    pub ai: AiLimits,
    /// Subjects of verified JWTs that are this app (unique per tenant).
    #[serde(default)]
    pub token_subjects: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A per-key request rate limit (enforced by the limits stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per period.
    pub requests: u64,
    /// Period length in seconds.
    pub per_seconds: u64,
}

/// A stored API key. The secret itself is never stored: only its digest.
///
/// The gateway holds every key in memory, so text fields are boxed
/// slices (16 bytes, no spare capacity) rather than `String`s and `Vec`s
/// (24), and the fields most keys never set (IP rules, expiry,
/// revocation, rotation, per-key and AI limits) live in one optional box,
/// [`KeyRare`] (8 bytes when unset, instead of about 200 inline): at a million
/// keys that keeps each key in a 192-byte allocation instead of nearly 400. Read
/// them through the accessors ([`ApiKey::revoked_at`], ...), set them
/// through [`ApiKey::rare_mut`]. Serialized exactly as if the rare fields
/// were the key's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ApiKeyFields", into = "ApiKeyFields")]
pub struct ApiKey {
    /// Id, `key_…`.
    pub id: KeyId,
    /// The app that owns it.
    pub app_id: AppId,
    /// The app's tenant (denormalized for fast checks).
    pub tenant_id: TenantId,
    /// Optional label.
    pub name: Option<Box<str>>,
    /// Display prefix, e.g. `kw_live_7Hq2`.
    pub prefix: Box<str>,
    /// Environment.
    pub env: KeyEnv,
    /// HMAC-SHA256 digest of the key text under the server secret.
    pub digest: KeyDigest,
    /// Scopes granted.
    pub scopes: Box<[String]>,
    /// Last time a request used it (flushed periodically).
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// The rarely set fields; unset, all read as none.
    pub rare: Rare,
}

/// The fields of an [`ApiKey`] that most keys never set, boxed together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRare {
    /// Client IP allow list (CIDRs); empty means any.
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Why it was revoked.
    pub revoked_reason: Option<Box<str>>,
    /// Who revoked it.
    pub revoked_by: Option<Box<str>>,
    /// The key that replaced it by rotation.
    pub rotated_to: Option<KeyId>,
    /// End of the rotation grace period.
    pub grace_until: Option<Timestamp>,
    /// Optional per-key rate limit (else the app's `key_rate_limit`).
    pub rate_limit: Option<RateLimit>,
    /// Optional per-key period quota.
    pub quota: Option<Quota>,
    /// AI limits of the key (models, budget, tokens per minute).
    pub ai: AiLimits,
}

/// What an unset [`Rare`] reads as.
static NO_RARE: KeyRare = KeyRare {
    allowed_ips: Vec::new(),
    expires_at: None,
    revoked_at: None,
    revoked_reason: None,
    revoked_by: None,
    rotated_to: None,
    grace_until: None,
    rate_limit: None,
    quota: None,
    ai: AiLimits::NONE,
};

/// An optional [`KeyRare`] box; no box and a box of nothing compare equal.
#[derive(Clone, Debug, Default)]
pub struct Rare(Option<Box<KeyRare>>);

impl Rare {
    /// The fields, all none when there is no box.
    pub fn get(&self) -> &KeyRare {
        self.0.as_deref().unwrap_or(&NO_RARE)
    }

    /// `rare` boxed, or no box when nothing in it is set.
    pub fn of(rare: KeyRare) -> Self {
        Rare(if rare == NO_RARE { None } else { Some(Box::new(rare)) })
    }
}

impl PartialEq for Rare {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Rare {}

/// [`ApiKey`] as it is serialized: every field its own.
#[derive(Serialize, Deserialize)]
struct ApiKeyFields {
    id: KeyId,
    app_id: AppId,
    tenant_id: TenantId,
    name: Option<Box<str>>,
    prefix: Box<str>,
    env: KeyEnv,
    #[serde(skip)]
    digest: KeyDigest,
    scopes: Box<[String]>,
    allowed_ips: Box<[ipnet::IpNet]>,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    revoked_reason: Option<Box<str>>,
    revoked_by: Option<Box<str>>,
    rotated_to: Option<KeyId>,
    grace_until: Option<Timestamp>,
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    quota: Option<Quota>,
    #[serde(default, flatten)]
    ai: AiLimits,
    last_used_at: Option<Timestamp>,
    created_at: Timestamp,
}

impl From<ApiKeyFields> for ApiKey {
    fn from(f: ApiKeyFields) -> Self {
        ApiKey {
            id: f.id,
            app_id: f.app_id,
            tenant_id: f.tenant_id,
            name: f.name,
            prefix: f.prefix,
            env: f.env,
            digest: f.digest,
            scopes: f.scopes,
            last_used_at: f.last_used_at,
            created_at: f.created_at,
            rare: Rare::of(KeyRare {
                allowed_ips: f.allowed_ips.into_vec(),
                expires_at: f.expires_at,
                revoked_at: f.revoked_at,
                revoked_reason: f.revoked_reason,
                revoked_by: f.revoked_by,
                rotated_to: f.rotated_to,
                grace_until: f.grace_until,
                rate_limit: f.rate_limit,
                quota: f.quota,
                ai: f.ai,
            }),
        }
    }
}

impl From<ApiKey> for ApiKeyFields {
    fn from(k: ApiKey) -> Self {
        let r = k.rare.0.map(|b| *b).unwrap_or_default();
        ApiKeyFields {
            id: k.id,
            app_id: k.app_id,
            tenant_id: k.tenant_id,
            name: k.name,
            prefix: k.prefix,
            env: k.env,
            digest: k.digest,
            scopes: k.scopes,
            allowed_ips: r.allowed_ips.into_boxed_slice(),
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            revoked_reason: r.revoked_reason,
            revoked_by: r.revoked_by,
            rotated_to: r.rotated_to,
            grace_until: r.grace_until,
            rate_limit: r.rate_limit,
            quota: r.quota,
            ai: r.ai,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
        }
    }
}

impl ApiKey {
    /// The rarely set fields (all none when unset).
    pub fn rare(&self) -> &KeyRare {
        self.rare.get()
    }

    /// The rarely set fields, to change; boxed on first use.
    pub fn rare_mut(&mut self) -> &mut KeyRare {
        self.rare.0.get_or_insert_with(Box::default)
    }

    /// Sets every rarely set field at once (no box when all are unset).
    pub fn set_rare(&mut self, rare: KeyRare) {
        self.rare = Rare::of(rare);
    }

    /// Client IP allow list (CIDRs); empty means any.
    pub fn allowed_ips(&self) -> &[ipnet::IpNet] {
        &self.rare().allowed_ips
    }

    /// When it stops working, if ever.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.rare().expires_at
    }

    /// When it was revoked, if it was.
    pub fn revoked_at(&self) -> Option<Timestamp> {
        self.rare().revoked_at
    }

    /// Why it was revoked.
    pub fn revoked_reason(&self) -> Option<&str> {
        self.rare().revoked_reason.as_deref()
    }

    /// Who revoked it.
    pub fn revoked_by(&self) -> Option<&str> {
        self.rare().revoked_by.as_deref()
    }

    /// The key that replaced it by rotation.
    pub fn rotated_to(&self) -> Option<&KeyId> {
        self.rare().rotated_to.as_ref()
    }

    /// End of the rotation grace period.
    pub fn grace_until(&self) -> Option<Timestamp> {
        self.rare().grace_until
    }

    /// Optional per-key rate limit (else the app's `key_rate_limit`).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rare().rate_limit
    }

    /// Optional per-key period quota.
    pub fn quota(&self) -> Option<Quota> {
        self.rare().quota
    }

    /// The key's AI limits (all unset when it has none).
    pub fn ai_limits(&self) -> &AiLimits {
        &self.rare().ai
    }
}

/// What state a key is in at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Works.
    Active,
    /// Replaced by rotation but inside its grace period: still works.
    Rotating,
    /// Replaced by rotation, grace ended.
    Rotated,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl ApiKey {
    /// The key's state at `now`, in the order the key stage checks them:
    /// revoked, then rotated, then expired.
    pub fn state_at(&self, now: Timestamp) -> KeyState {
        let r = self.rare();
        if r.revoked_at.is_some() {
            return KeyState::Revoked;
        }
        if r.rotated_to.is_some() {
            return match r.grace_until {
                Some(g) if now < g => KeyState::Rotating,
                _ => KeyState::Rotated,
            };
        }
        match r.expires_at {
            Some(e) if now >= e => KeyState::Expired,
            _ => KeyState::Active,
        }
    }
}

/// Where a key may be presented to an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    /// `Authorization: Bearer <key>`.
    AuthorizationBearer,
    /// `x-api-key: <key>`.
    XApiKey,
    /// `?api_key=<key>` (opt-in: query strings end up in logs).
    Query,
}

impl KeyLocation {
    /// The default accepted places.
    pub const DEFAULT: [KeyLocation; 2] = [KeyLocation::AuthorizationBearer, KeyLocation::XApiKey];

    /// How the place is written for a human.
    pub fn describe(self) -> &'static str {
        match self {
            KeyLocation::AuthorizationBearer => "Authorization: Bearer <key>",
            KeyLocation::XApiKey => "x-api-key: <key>",
            KeyLocation::Query => "query parameter api_key=<key>",
        }
    }
}

/// The authentication methods an API accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Keyway API keys.
    ApiKey,
    /// JWT bearer tokens from a configured issuer.
    Jwt,
    /// HMAC request signatures.
    Hmac,
    /// Mutual TLS client certificates.
    Mtls,
}

/// Who may call an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only apps of the owning tenant.
    Private,
    /// All apps of the owning tenant, without subscription.
    Tenant,
    /// Listed for every tenant; needs a subscription.
    Public,
}

/// Where an API is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiStatus {
    /// Serves.
    Published,
    /// Serves, with `Deprecation` and `Sunset` headers.
    Deprecated,
    /// Answers 410 `api_retired`.
    Retired,
}

/// The wire protocol of an API, which decides the refusal envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Plain REST: RFC 9457 problem+json.
    #[default]
    Rest,
    /// OpenAI-compatible: `{"error": {...}}`.
    Openai,
    /// Anthropic-compatible: `{"type": "error", ...}`.
    Anthropic,
}

/// One upstream target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Base URL, `http://host:port[/prefix]`.
    pub url: String,
    /// Relative share of traffic (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// Where an API's traffic goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Targets, balanced by weighted round robin.
    pub targets: Vec<Target>,
    /// Remove the API's base path before forwarding (default true).
    #[serde(default = "default_true")]
    pub strip_base_path: bool,
    /// Per-API upstream timeout in milliseconds (default from config).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn default_true() -> bool {
    true
}

/// Scopes a route of an API needs, on top of the API's own.
///
/// `path` is relative to the API's base path. `*` matches within one
/// segment, `**` matches any rest of the path (segments included);
/// `method` absent means any method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRule {
    /// HTTP method, upper case; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Path pattern relative to the base path, e.g. `/items/*`.
    pub path: String,
    /// Scopes required when the rule matches.
    pub scopes: Vec<String>,
}

/// A published API version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    /// Id, `api_…`.
    pub id: ApiId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// `rest` (proxies to `upstream`), `ai` or `prompt` (no upstream).
    #[serde(default)]
    pub kind: ApiKind,
    /// Name, e.g. `orders`.
    pub name: String,
    /// Version label, e.g. `v1`.
    pub version: String,
    /// Path prefix it is served under, e.g. `/orders/v1`.
    pub base_path: String,
    /// Optional host it is served for (any host when absent).
    pub host: Option<String>,
    /// Methods allowed (all when empty).
    pub methods: Vec<String>,
    /// Where traffic goes (`rest` APIs; no targets for the other kinds).
    pub upstream: Upstream,
    /// The prompt of a `prompt` API (none for the other kinds).
    #[serde(default)]
    pub prompt: Option<PromptSpec>,
    /// Accepted authentication methods.
    pub auth: Vec<AuthMethod>,
    /// Places an API key is accepted.
    pub key_locations: Vec<KeyLocation>,
    /// The JWT issuers it trusts (`auth` with `jwt`); empty: every issuer
    /// of its tenant.
    #[serde(default)]
    pub jwt_issuers: Vec<IssuerId>,
    /// How HMAC request signatures are checked (`auth` with `hmac`);
    /// `None`: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacSettings>,
    /// Whether subscriptions need approval.
    pub requires_approval: bool,
    /// Who may call it.
    pub visibility: Visibility,
    /// Scopes every call needs.
    pub required_scopes: Vec<String>,
    /// Scopes particular routes need, on top of `required_scopes`.
    #[serde(default)]
    pub scope_rules: Vec<ScopeRule>,
    /// Rate limit and quota across all callers of the API.
    #[serde(default)]
    pub limits: Limits,
    /// Refusal envelope protocol.
    pub protocol: Protocol,
    /// Lifecycle status.
    pub status: ApiStatus,
    /// When it was deprecated.
    pub deprecated_at: Option<Timestamp>,
    /// When it stops (deprecated APIs announce it in `Sunset`).
    pub sunset_at: Option<Timestamp>,
    /// When it was retired.
    pub retired_at: Option<Timestamp>,
    /// The version that replaces it.
    pub successor_api_id: Option<ApiId>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Where a subscription stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    /// Waiting for an admin of the API's tenant.
    Pending,
    /// The app may call the API.
    Approved,
    /// Refused by an admin.
    Rejected,
    /// Approved once, withdrawn since.
    Revoked,
}

impl SubscriptionStatus {
    /// `pending`, `approved`, `rejected` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Approved => "approved",
            SubscriptionStatus::Rejected => "rejected",
            SubscriptionStatus::Revoked => "revoked",
        }
    }
}

/// An app's subscription to an API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Id, `sub_…`.
    pub id: SubscriptionId,
    /// The API subscribed to.
    pub api_id: ApiId,
    /// The subscribing app.
    pub app_id: AppId,
    /// The app's tenant.
    pub tenant_id: TenantId,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// When it was (last) asked for.
    pub requested_at: Timestamp,
    /// When it was approved, rejected or revoked.
    pub decided_at: Option<Timestamp>,
    /// Who decided (admin token or user id).
    pub decided_by: Option<String>,
    /// The reason given for a rejection or revocation.
    pub reason: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn key() -> ApiKey {
        ApiKey::new(&AppId::generate(), &TenantId::generate(), KeyEnv::Live, "kw_live_abcd", [0; 32], Utc::now())
    }

    #[test]
    fn key_state_follows_check_order() {
        let now = Utc::now();
        let mut k = key();
        assert_eq!(k.state_at(now), KeyState::Active);
        k.rare_mut().expires_at = Some(now);
        assert_eq!(k.state_at(now), KeyState::Expired);
        k.rare_mut().rotated_to = Some(KeyId::generate());
        k.rare_mut().grace_until = Some(now + Duration::seconds(5));
        assert_eq!(k.state_at(now), KeyState::Rotating);
        assert_eq!(k.state_at(now + Duration::seconds(5)), KeyState::Rotated);
        k.rare_mut().revoked_at = Some(now);
        assert_eq!(k.state_at(now), KeyState::Revoked);
    }

    #[test]
    fn rare_fields_box_only_when_set_and_serialize_flat() {
        let mut k = key();
        assert!(k.rare.0.is_none());
        let unset = k.clone();
        k.rare_mut();
        assert_eq!(k, unset, "an empty box equals no box");
        k.rare_mut().revoked_reason = Some("leaked".into());
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["revoked_reason"], "leaked");
        assert!(json["revoked_at"].is_null());
        assert_eq!(json["allowed_ips"], serde_json::json!([]));
        let back: ApiKey = serde_json::from_value(json).unwrap();
        assert_eq!(back.revoked_reason(), Some("leaked"));
        let plain: ApiKey = serde_json::from_value(serde_json::to_value(&unset).unwrap()).unwrap();
        assert!(plain.rare.0.is_none(), "nothing set: no box");
        assert!(Rare::of(KeyRare { ai: AiLimits::NONE, ..KeyRare::default() }).0.is_none(), "no AI limits: no box");
        let ai = AiLimits { tokens_per_minute: Some(10), ..AiLimits::default() };
        let boxed = Rare::of(KeyRare { ai: ai.clone(), ..KeyRare::default() });
        assert!(boxed.0.is_some());
        k.set_rare(KeyRare { ai, ..KeyRare::default() });
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["tokens_per_minute"], 10, "AI limits serialize flat too");
        assert_eq!(serde_json::from_value::<ApiKey>(json).unwrap().ai_limits().tokens_per_minute, Some(10));
        assert!(std::mem::size_of::<ApiKey>() <= 168, "ApiKey is {} bytes", std::mem::size_of::<ApiKey>());
        assert!(std::mem::size_of::<KeyRare>() <= 208, "KeyRare is {} bytes", std::mem::size_of::<KeyRare>());
    }
}
