//! Tenants, users, apps, keys and APIs as Keyway stores them.

use crate::ids::{ApiId, AppId, KeyId, SubscriptionId, TenantId, UserId};
use crate::key_format::{KeyDigest, KeyEnv};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

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
/// (24): at a million keys that keeps each key in a smaller allocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(skip)]
    pub digest: KeyDigest,
    /// Scopes granted.
    pub scopes: Box<[String]>,
    /// Client IP allow list (CIDRs); empty means any.
    pub allowed_ips: Box<[ipnet::IpNet]>,
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
    #[serde(default)]
    pub quota: Option<Quota>,
    /// Last time a request used it (flushed periodically).
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
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
        if self.revoked_at.is_some() {
            return KeyState::Revoked;
        }
        if self.rotated_to.is_some() {
            return match self.grace_until {
                Some(g) if now < g => KeyState::Rotating,
                _ => KeyState::Rotated,
            };
        }
        match self.expires_at {
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
    /// Where traffic goes.
    pub upstream: Upstream,
    /// Accepted authentication methods.
    pub auth: Vec<AuthMethod>,
    /// Places an API key is accepted.
    pub key_locations: Vec<KeyLocation>,
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
        k.expires_at = Some(now);
        assert_eq!(k.state_at(now), KeyState::Expired);
        k.rotated_to = Some(KeyId::generate());
        k.grace_until = Some(now + Duration::seconds(5));
        assert_eq!(k.state_at(now), KeyState::Rotating);
        assert_eq!(k.state_at(now + Duration::seconds(5)), KeyState::Rotated);
        k.revoked_at = Some(now);
        assert_eq!(k.state_at(now), KeyState::Revoked);
    }
}
