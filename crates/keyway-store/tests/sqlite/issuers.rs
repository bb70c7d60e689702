//! Trusted JWT issuers: stored whole (the inline JWKS with its secret
//! members, which only the model's serialization leaves out), read by id
//! and by tenant, names unique per tenant among live records.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{IssuerId, TenantId};
use keyway_core::issuers::JwtIssuer;
use keyway_store::{Store, StoreError};
use serde_json::json;

fn issuer(tenant: &TenantId, name: &str) -> JwtIssuer {
    JwtIssuer {
        id: IssuerId::generate(),
        tenant_id: tenant.clone(),
        name: name.into(),
        issuer: "https://idp.acme.test".into(),
        jwks_url: None,
        jwks: Some(json!({"keys": [{"kty": "oct", "kid": "h1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}]})),
        algorithms: vec!["HS256".into(), "RS256".into()],
        audiences: vec!["orders".into()],
        leeway_seconds: 30,
        subject_claim: "client_id".into(),
        scopes_claim: "scp".into(),
        created_at: at(0),
        deleted_at: None,
    }
}

#[tokio::test]
async fn issuers_round_trip_by_id_tenant_and_load() {
    let s = store();
    let (a, b) = (tenant("a"), tenant("b"));
    s.apply(&[Change::Insert(Record::Tenant(a.clone())), Change::Insert(Record::Tenant(b.clone()))], &[]).await.unwrap();
    let mine = issuer(&a.id, "okta");
    let by_url = JwtIssuer { jwks_url: Some("https://idp.b.test/jwks".into()), jwks: None, ..issuer(&b.id, "auth0") };
    s.apply(&[Change::Insert(Record::Issuer(mine.clone())), Change::Insert(Record::Issuer(by_url.clone()))], &[]).await.unwrap();
    assert_eq!(s.issuer(&mine.id).await.unwrap(), Some(mine.clone()), "the inline key set comes back whole");
    assert_eq!(s.issuer(&IssuerId::generate()).await.unwrap(), None);
    assert_eq!(s.issuers_of_tenant(&a.id).await.unwrap(), vec![mine.clone()]);
    assert_eq!(s.issuers_of_tenant(&b.id).await.unwrap(), vec![by_url.clone()]);
    assert_eq!(s.load_all().await.unwrap().issuers, vec![mine, by_url]);
}

#[tokio::test]
async fn issuer_names_are_unique_per_tenant_among_live_records() {
    let s = store();
    let a = tenant("a");
    s.apply(&[Change::Insert(Record::Tenant(a.clone()))], &[]).await.unwrap();
    let first = issuer(&a.id, "okta");
    s.apply(&[Change::Insert(Record::Issuer(first.clone()))], &[]).await.unwrap();
    let clash = s.apply(&[Change::Insert(Record::Issuer(issuer(&a.id, "okta")))], &[]).await.unwrap_err();
    assert!(matches!(&clash, StoreError::Conflict(m) if m.contains("issuer name 'okta' is taken")), "{clash:?}");
    s.apply(&[Change::Update(Record::Issuer(JwtIssuer { deleted_at: Some(at(3)), ..first }))], &[]).await.unwrap();
    s.apply(&[Change::Insert(Record::Issuer(issuer(&a.id, "okta")))], &[]).await.unwrap();
    let missing = s.apply(&[Change::Insert(Record::Issuer(issuer(&TenantId::generate(), "x")))], &[]).await;
    assert!(matches!(missing, Err(StoreError::NotFound(m)) if m.contains("tenant")));
}
