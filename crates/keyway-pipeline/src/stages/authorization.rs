//! Stage 5, authorization: may this app make this call now? Its
//! subscription to the API (unless the API is open to its whole tenant),
//! the scopes the API and the matched route need (held by the key or
//! granted by the token), and the key's client IP allow list — in the catalog's order.

use crate::snapshot::{ApiEntry, Snapshot};
use keyway_core::model::{App, ScopeRule, SubscriptionStatus, Visibility};
use keyway_core::refusals::ScopeHolder;
use keyway_core::text::Text;
use keyway_core::Refusal;
use std::net::IpAddr;

/// What the authorization stage needs about the call.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Request path (with the API's base path).
    pub path: &'a str,
    /// Client IP as the gateway sees it.
    pub client_ip: IpAddr,
}

/// Checks subscription, scopes and IP (a key's allow list; a token has
/// none) of the credential `holder`; on success returns the evidence.
pub fn check(snapshot: &Snapshot, holder: ScopeHolder<'_>, app: &App, api: &ApiEntry, call: Call<'_>) -> Result<Text, Refusal> {
    let a = &api.api;
    let mut evidence = Evidence::default();

    // Subscription: every API but a `tenant` one needs an approved one.
    if a.visibility == Visibility::Tenant {
        evidence.add_const("open to its tenant's apps, no subscription needed");
    } else {
        let approver = snapshot.tenants.get(&a.tenant_id).map_or("?", |t| t.slug.as_str());
        match snapshot.subscriptions.get(&(app.id.clone(), a.id.clone())) {
            None => return Err(Refusal::subscription_required(app, a)),
            Some(s) => match s.status {
                SubscriptionStatus::Approved => evidence.add(&["subscription ", s.id.as_str(), " approved"]),
                SubscriptionStatus::Pending => return Err(Refusal::subscription_pending(app, a, s, approver)),
                SubscriptionStatus::Rejected | SubscriptionStatus::Revoked => {
                    return Err(Refusal::subscription_rejected(app, a, s, approver));
                }
            },
        }
    }

    // Scopes: the API's own, plus those of every matching route rule.
    let relative = relative_path(call.path, &a.base_path);
    let mut needed: Vec<&str> = a.required_scopes.iter().map(String::as_str).collect();
    for rule in a.scope_rules.iter().filter(|r| rule_matches(r, call.method, relative)) {
        needed.extend(rule.scopes.iter().map(String::as_str));
    }
    needed.sort_unstable();
    needed.dedup();
    let has: &[String] = match holder {
        ScopeHolder::Key(key) => &key.scopes,
        ScopeHolder::Token { scopes, .. } | ScopeHolder::HmacKey { scopes, .. } => scopes,
    };
    let missing: Vec<&str> = needed.iter().copied().filter(|n| !has.iter().any(|h| h == n)).collect();
    if !missing.is_empty() {
        return Err(Refusal::scope_insufficient(call.method, relative, &needed, &missing, holder, app));
    }
    if !needed.is_empty() {
        evidence.add(&["scopes ", &needed.join(", "), " held"]);
    }

    // Client IP allow list (of a key).
    let ScopeHolder::Key(key) = holder else { return Ok(evidence.0) };
    let allowed = key.allowed_ips();
    if !allowed.is_empty() {
        if !allowed.iter().any(|net| net.contains(&call.client_ip)) {
            return Err(Refusal::ip_not_allowed(key, call.client_ip));
        }
        evidence.add(&["client ip ", &call.client_ip.to_string(), " allowed"]);
    }
    Ok(evidence.0)
}

/// The stage's evidence, clauses joined by "; ", written without
/// `format!`; a lone constant clause (the common case) stays a constant.
#[derive(Default)]
struct Evidence(Text);

impl Evidence {
    fn add_const(&mut self, clause: &'static str) {
        if self.0.is_empty() {
            self.0 = Text::Static(clause);
        } else {
            self.add(&[clause]);
        }
    }

    fn add(&mut self, parts: &[&str]) {
        let mut text = String::from(std::mem::take(&mut self.0));
        if !text.is_empty() {
            text.push_str("; ");
        }
        for p in parts {
            text.push_str(p);
        }
        self.0 = Text::Owned(text);
    }
}

/// The path below the API's base path (`/` at the base itself).
fn relative_path<'a>(path: &'a str, base: &str) -> &'a str {
    match path.strip_prefix(base.trim_end_matches('/')) {
        Some("") | None => "/",
        Some(rest) => rest,
    }
}

/// Whether a scope rule applies: method (if set) and path pattern, where
/// a `*` segment matches one segment and a `**` segment the whole rest.
pub fn rule_matches(rule: &ScopeRule, method: &str, path: &str) -> bool {
    if rule.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
        return false;
    }
    let mut pattern = rule.path.trim_matches('/').split('/').filter(|s| !s.is_empty());
    let mut segments = path.trim_matches('/').split('/').filter(|s| !s.is_empty());
    loop {
        match (pattern.next(), segments.next()) {
            (None, None) => return true,
            (Some("**"), _) => return true,
            (Some("*"), Some(_)) => {}
            (Some(p), Some(s)) if p == s => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(method: Option<&str>, path: &str) -> ScopeRule {
        ScopeRule { method: method.map(str::to_owned), path: path.into(), scopes: vec!["s".into()] }
    }

    #[test]
    fn patterns_match_by_segment() {
        assert!(rule_matches(&rule(Some("GET"), "/items/*"), "GET", "/items/42"));
        assert!(rule_matches(&rule(Some("GET"), "/items/*"), "get", "/items/42/"));
        assert!(!rule_matches(&rule(Some("GET"), "/items/*"), "GET", "/items/42/notes"));
        assert!(!rule_matches(&rule(Some("GET"), "/items/*"), "GET", "/items"));
        assert!(!rule_matches(&rule(Some("GET"), "/items/*"), "POST", "/items/42"));
        assert!(rule_matches(&rule(None, "/items/**"), "DELETE", "/items/42/notes/7"));
        assert!(rule_matches(&rule(Some("POST"), "/items"), "POST", "/items"));
        assert!(!rule_matches(&rule(Some("POST"), "/items"), "POST", "/itemsx"));
        assert!(rule_matches(&rule(None, "/**"), "GET", "/"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("/orders/v1/items/3", "/orders/v1"), "/items/3");
        assert_eq!(relative_path("/orders/v1", "/orders/v1/"), "/");
        assert_eq!(relative_path("/x", "/"), "/x");
    }
}
