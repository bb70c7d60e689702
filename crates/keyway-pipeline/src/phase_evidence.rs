//! The evidence the phases write into the trace when a stage passes:
//! what it saw, never a secret (no key, token, signature or HMAC secret).
//! Written on every request, so built by concatenation, not `format!`,
//! where it is hot.

use crate::snapshot::{ApiEntry, KeyEntry};
use crate::stages::signature;
use keyway_core::model::{App, KeyState, Tenant};
use keyway_core::{fmt_time, Timestamp};
use keyway_credentials::jwt::VerifiedToken;

/// `parts` concatenated into one string allocated once: evidence is
/// written on every request, and `format!` costs several times more.
pub(crate) fn joined(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `route` evidence: the API, its version and tenant, its lifecycle.
pub(crate) fn route_evidence(api: &ApiEntry, tenant_slug: &str) -> String {
    let mut evidence = joined(&["api ", &api.api.name, " ", &api.api.version, " (tenant ", tenant_slug, ")"]);
    lifecycle_note(api, &mut evidence);
    evidence
}

/// `key` phase evidence of a verified token: issuer, key, algorithm,
/// expiry and the app its subject is (never the token).
pub(crate) fn token_evidence(t: &VerifiedToken, app: &App) -> String {
    let exp = t.exp.map_or_else(|| "no exp".to_owned(), |e| format!("exp {e}"));
    let kid = t.kid.as_deref().unwrap_or("(none)");
    let subject = t.subject.as_deref().unwrap_or("");
    format!(
        "token of issuer {} verified ({}, kid {kid}, {exp}); {} {subject} is app {}",
        t.issuer,
        t.alg.name(),
        t.subject_claim,
        app.id
    )
}

/// `key` phase evidence of a verified signature: the HMAC key, its app,
/// what it covered, and whether its nonce was recorded (never the
/// signature or the secret).
pub(crate) fn signature_evidence(found: &signature::SignedIdentity, nonce_recorded: bool) -> String {
    let v = &found.verified;
    let nonce = if nonce_recorded { "nonce new, recorded" } else { "nonce not checked (diagnose)" };
    format!(
        "signature {} of HMAC key {} verified (created {}, covers {}; {nonce}); app {}",
        v.label,
        found.key.record.id,
        v.created,
        v.covered.join(" "),
        found.app.id
    )
}

/// `identity` evidence: the app, its tenant and its (active) owner.
pub(crate) fn identity_evidence(app: &App, tenant: &Tenant) -> String {
    joined(&[
        "app ",
        &app.name,
        " (",
        app.id.as_str(),
        "), tenant ",
        &tenant.slug,
        ", owner ",
        app.owner_user_id.as_str(),
        " active",
    ])
}

pub(crate) fn lifecycle_note(api: &ApiEntry, out: &mut String) {
    if api.api.status == keyway_core::model::ApiStatus::Deprecated {
        out.push_str(", deprecated");
        if let Some(s) = api.api.sunset_at {
            out.push_str(", sunset ");
            out.push_str(&fmt_time(&s));
        }
    }
}

pub(crate) fn key_evidence(entry: &KeyEntry, now: Timestamp) -> String {
    let k = &entry.key;
    let mut s = String::with_capacity(64);
    s.push_str("key ");
    s.push_str(k.id.as_str());
    match k.grace_until() {
        Some(g) if k.state_at(now) == KeyState::Rotating => {
            s.push_str(" rotated, in grace period until ");
            s.push_str(&fmt_time(&g));
        }
        _ => s.push_str(" active"),
    }
    match k.expires_at() {
        Some(e) => {
            s.push_str(", expires ");
            s.push_str(&fmt_time(&e));
        }
        None => s.push_str(", no expiry"),
    }
    s
}
