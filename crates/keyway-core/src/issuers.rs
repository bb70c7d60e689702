//! Trusted JWT issuers of a tenant as stored
//! (`POST /admin/v1/tenants/{id}/issuers`): an identity provider whose
//! tokens the tenant's APIs accept, its key set (inline or by URL), and
//! how its claims map onto Keyway's identity.
//!
//! An inline key set may hold symmetric (`oct`) keys, which are secrets:
//! the serialized form (admin reads, audit entries) shows every key with
//! its secret and private members removed; storage keeps the whole set in
//! a column of its own.

use crate::ids::{IssuerId, TenantId};
use crate::Timestamp;
use serde::{Deserialize, Serialize, Serializer};

/// The members of a JWK that are secret (RFC 7518 6.2.2, 6.3.2, 6.4.1).
const SECRET_MEMBERS: [&str; 7] = ["k", "d", "p", "q", "dp", "dq", "qi"];

/// A trusted issuer of a tenant.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct JwtIssuer {
    /// Id, `iss_…`.
    pub id: IssuerId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Display name, unique within the tenant.
    pub name: String,
    /// The exact `iss` its tokens carry.
    pub issuer: String,
    /// Where its JWKS is published (exclusive with `jwks`).
    pub jwks_url: Option<String>,
    /// An inline JWKS `{"keys": [..]}` (exclusive with `jwks_url`);
    /// serialized without secret members.
    #[serde(serialize_with = "public_jwks")]
    pub jwks: Option<serde_json::Value>,
    /// Allowed `alg` names.
    pub algorithms: Vec<String>,
    /// Accepted `aud` values; empty accepts any.
    pub audiences: Vec<String>,
    /// Clock leeway for `exp`, `nbf`, `iat`, seconds.
    pub leeway_seconds: u64,
    /// The claim naming the app.
    pub subject_claim: String,
    /// The claim holding the scopes.
    pub scopes_claim: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it was deleted (kept for the audit trail).
    pub deleted_at: Option<Timestamp>,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("jwks_url", &self.jwks_url)
            .field("jwks", &self.jwks.as_ref().map(redacted_jwks))
            .field("algorithms", &self.algorithms)
            .field("audiences", &self.audiences)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("deleted_at", &self.deleted_at)
            .finish_non_exhaustive()
    }
}

/// `jwks` with every key's secret and private members removed.
pub fn redacted_jwks(jwks: &serde_json::Value) -> serde_json::Value {
    let mut out = jwks.clone();
    if let Some(keys) = out.get_mut("keys").and_then(serde_json::Value::as_array_mut) {
        for key in keys.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            for member in SECRET_MEMBERS {
                key.remove(member);
            }
        }
    }
    out
}

fn public_jwks<S: Serializer>(jwks: &Option<serde_json::Value>, s: S) -> Result<S::Ok, S::Error> {
    jwks.as_ref().map(redacted_jwks).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialized_issuers_never_show_a_symmetric_or_private_key() {
        let issuer = JwtIssuer {
            id: IssuerId::generate(),
            tenant_id: TenantId::generate(),
            name: "idp".into(),
            issuer: "https://idp.test".into(),
            jwks_url: None,
            jwks: Some(
                json!({"keys": [{"kty": "oct", "kid": "h1", "k": "c2VjcmV0LXNlY3JldA"}, {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB", "d": "cHJpdmF0ZQ"}]}),
            ),
            algorithms: vec!["HS256".into()],
            audiences: Vec::new(),
            leeway_seconds: 60,
            subject_claim: "sub".into(),
            scopes_claim: "scope".into(),
            created_at: chrono::Utc::now(),
            deleted_at: None,
        };
        let text = serde_json::to_string(&issuer).unwrap();
        assert!(!text.contains("c2VjcmV0LXNlY3JldA") && !text.contains("cHJpdmF0ZQ"), "{text}");
        assert!(text.contains("\"kid\":\"h1\"") && text.contains("\"n\":\"AQAB\""), "{text}");
        let debug = format!("{issuer:?}");
        assert!(!debug.contains("c2VjcmV0LXNlY3JldA") && !debug.contains("cHJpdmF0ZQ"), "{debug}");
        assert!(issuer.jwks.unwrap()["keys"][0]["k"].is_string(), "the record itself keeps the key");
    }
}
