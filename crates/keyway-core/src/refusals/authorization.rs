//! Stage 5, authorization: `subscription_required`,
//! `subscription_pending`, `subscription_rejected`, `scope_insufficient`,
//! `ip_not_allowed`.

use crate::model::{Api, ApiKey, App, Subscription};
use crate::{fmt_time, ErrorCode, Refusal};
use std::net::IpAddr;

/// What holds the scopes of a call.
#[derive(Debug, Clone, Copy)]
pub enum ScopeHolder<'a> {
    /// An API key.
    Key(&'a ApiKey),
    /// A verified JWT: its issuer and the scopes its scopes claim grants.
    Token {
        /// The token's `iss`.
        issuer: &'a str,
        /// Its scopes.
        scopes: &'a [String],
    },
    /// A bound TLS client certificate: its fingerprint and the scopes its
    /// binding grants.
    Certificate {
        /// SHA-256 of the certificate, lowercase hex.
        sha256: &'a str,
        /// The binding's scopes.
        scopes: &'a [String],
    },
    /// An HMAC signing key (its signature verified): its id and scopes.
    HmacKey {
        /// The key's id, `hk_…` (the signature's `keyid`).
        id: &'a str,
        /// Its scopes.
        scopes: &'a [String],
    },
}

impl ScopeHolder<'_> {
    /// The scopes the credential holds.
    pub fn scopes(&self) -> &[String] {
        match self {
            ScopeHolder::Key(key) => &key.scopes,
            ScopeHolder::Token { scopes, .. } | ScopeHolder::Certificate { scopes, .. } | ScopeHolder::HmacKey { scopes, .. } => {
                scopes
            }
        }
    }
}

impl Refusal {
    /// `subscription_required`: `app` has no subscription to `api`.
    pub fn subscription_required(app: &App, api: &Api) -> Self {
        Self::new(
            ErrorCode::SubscriptionRequired,
            format!("App {} is not subscribed to API {} {}.", app.name, api.name, api.version),
            format!("no subscription of app {} ({}) to api {} {} ({})", app.name, app.id, api.name, api.version, api.id),
        )
        .hint("Subscribe the app to this API in the developer portal, then retry.")
        .fix(format!("POST /admin/v1/apis/{}/subscriptions {{\"app_id\":\"{}\"}}", api.id, app.id))
    }

    /// `subscription_pending`: `sub` awaits approval by an admin of tenant `approver`.
    pub fn subscription_pending(app: &App, api: &Api, sub: &Subscription, approver: &str) -> Self {
        let since = fmt_time(&sub.requested_at);
        Self::new(
            ErrorCode::SubscriptionPending,
            format!("The subscription of app {} to API {} {} awaits approval since {since}.", app.name, api.name, api.version),
            format!("subscription {} pending since {since}, approver: any admin of tenant {approver}", sub.id),
        )
        .hint("Wait for the API's owners to approve the subscription.")
        .fix(format!("an admin of tenant {approver} approves it: POST /admin/v1/subscriptions/{}/approve", sub.id))
    }

    /// `subscription_rejected`: `sub` was rejected or revoked.
    pub fn subscription_rejected(app: &App, api: &Api, sub: &Subscription, approver: &str) -> Self {
        let what = sub.status.as_str();
        let reason = sub.reason.as_deref().unwrap_or("no reason given");
        let when = sub.decided_at.map(|t| format!(" at {}", fmt_time(&t))).unwrap_or_default();
        let by = sub.decided_by.as_deref().unwrap_or("?");
        Self::new(
            ErrorCode::SubscriptionRejected,
            format!("The subscription of app {} to API {} {} was {what}{when}: {reason}.", app.name, api.name, api.version),
            format!("subscription {} {what}{when} by {by}: {reason:?}", sub.id),
        )
        .hint("Contact the API's owners, or ask for the subscription again.")
        .fix(format!("an admin of tenant {approver} approves subscription {} again", sub.id))
    }

    /// `scope_insufficient`: `method path` needs `needed`; the credential
    /// (`holder`: a key, or a verified token) lacks `missing`.
    pub fn scope_insufficient(
        method: &str,
        path: &str,
        needed: &[&str],
        missing: &[&str],
        holder: ScopeHolder<'_>,
        app: &App,
    ) -> Self {
        let needed = needed.join(", ");
        let missing = missing.join(", ");
        let list = |scopes: &[String]| if scopes.is_empty() { "none".to_owned() } else { scopes.join(", ") };
        match holder {
            ScopeHolder::Key(key) => {
                let has = list(&key.scopes);
                Self::new(
                    ErrorCode::ScopeInsufficient,
                    format!("{method} {path} needs scopes {needed}; key {}... has {has}.", key.prefix),
                    format!("missing {missing}; needed {needed}; key {} has {has}", key.id),
                )
                .hint(format!("Use a key with the scopes {missing}."))
                .fix(format!("issue a key with scopes {needed} for app {}", app.name))
            }
            ScopeHolder::Token { issuer, scopes } => {
                let has = list(scopes);
                Self::new(
                    ErrorCode::ScopeInsufficient,
                    format!("{method} {path} needs scopes {needed}; the token has {has}."),
                    format!("missing {missing}; needed {needed}; token of issuer {issuer} for app {} has {has}", app.id),
                )
                .hint(format!("Request a token with the scopes {missing}."))
                .fix(format!("have issuer {issuer} grant scopes {needed} to app {}", app.name))
            }
            ScopeHolder::Certificate { sha256, scopes } => {
                let has = list(scopes);
                Self::new(
                    ErrorCode::ScopeInsufficient,
                    format!("{method} {path} needs scopes {needed}; the client certificate's binding has {has}."),
                    format!("missing {missing}; needed {needed}; certificate sha256 {sha256} of app {} has {has}", app.id),
                )
                .hint(format!("Ask the API's operator to bind your certificate with the scopes {missing}."))
                .fix(format!(
                    "bind the certificate to app {} again with scopes {needed} (POST /admin/v1/apps/{}/certificates)",
                    app.name, app.id
                ))
            }
            ScopeHolder::HmacKey { id, scopes } => {
                let has = list(scopes);
                Self::new(
                    ErrorCode::ScopeInsufficient,
                    format!("{method} {path} needs scopes {needed}; HMAC key {id} has {has}."),
                    format!("missing {missing}; needed {needed}; HMAC key {id} of app {} has {has}", app.id),
                )
                .hint(format!("Sign with an HMAC key that has the scopes {missing}."))
                .fix(format!(
                    "create an HMAC key with scopes {needed} for app {} (POST /admin/v1/apps/{}/hmac-keys)",
                    app.name, app.id
                ))
            }
        }
    }

    /// `ip_not_allowed`: `client_ip` is outside `key`'s allow list.
    pub fn ip_not_allowed(key: &ApiKey, client_ip: IpAddr) -> Self {
        let list: Vec<String> = key.allowed_ips().iter().map(ToString::to_string).collect();
        Self::new(
            ErrorCode::IpNotAllowed,
            format!("Key {}... may not be used from {client_ip} (the client IP as the gateway saw it).", key.prefix),
            format!("client ip {client_ip} not in key {} allow list [{}]", key.id, list.join(", ")),
        )
        .hint("Call from an allowed network, or ask for the key's allow list to include this IP. Behind a proxy, the gateway must trust it to see your address.")
        .fix(format!("add {client_ip} to key {} allowed_ips, or list the caller's proxy in gateway.trusted_proxies", key.id))
    }
}
