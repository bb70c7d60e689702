//! The audit log: round trip, filters, order, limits.

use crate::fixtures::*;
use keyway_core::ids::TenantId;
use keyway_core::records::{AuditEntry, AuditQuery};
use keyway_store::sqlite::SqliteStore;
use keyway_store::Store;

async fn ids(s: &SqliteStore, query: AuditQuery) -> Vec<String> {
    s.audit(&query).await.unwrap().into_iter().map(|e| e.id.0).collect()
}

#[tokio::test]
async fn entries_round_trip_newest_first() {
    let s = store();
    let old = audit_entry(at(0), "key_a");
    let mut bare = audit_entry(at(5), "ten_b");
    bare.tenant_id = None;
    bare.before = None;
    bare.after = Some(serde_json::Value::Null);
    s.apply(&[], &[old.clone(), bare.clone()]).await.unwrap();
    assert_eq!(s.audit(&AuditQuery::default()).await.unwrap(), vec![bare, old]);
}

#[tokio::test]
async fn each_filter_selects_its_entries() {
    let s = store();
    let tenant = TenantId::generate();
    let mut e: Vec<AuditEntry> = (0..5).map(|i| audit_entry(at(i * 1000), &format!("res_{i}"))).collect();
    e[1].resource_type = "app".into();
    e[2].actor = "usr_someone".into();
    e[3].tenant_id = Some(tenant.clone());
    e[4].resource_id = "res_0".into();
    s.apply(&[], &e).await.unwrap();
    let id = |i: usize| e[i].id.0.clone();
    let q = AuditQuery::default;

    assert_eq!(ids(&s, AuditQuery { resource_id: Some("res_0".into()), ..q() }).await, vec![id(4), id(0)]);
    assert_eq!(
        ids(&s, AuditQuery { resource_ids: vec!["res_1".into(), "res_3".into(), "nope".into()], ..q() }).await,
        vec![id(3), id(1)]
    );
    assert_eq!(ids(&s, AuditQuery { resource_type: Some("app".into()), ..q() }).await, vec![id(1)]);
    assert_eq!(ids(&s, AuditQuery { tenant_id: Some(tenant.to_string()), ..q() }).await, vec![id(3)]);
    assert_eq!(ids(&s, AuditQuery { actor: Some("usr_someone".into()), ..q() }).await, vec![id(2)]);
    assert_eq!(ids(&s, AuditQuery { since: Some(e[1].time), until: Some(e[3].time), ..q() }).await, vec![id(2), id(1)]);
    assert_eq!(ids(&s, AuditQuery { limit: 2, ..q() }).await, vec![id(4), id(3)]);
    assert_eq!(
        ids(&s, AuditQuery { resource_ids: vec!["res_0".into(), "res_2".into()], since: Some(e[2].time), ..q() }).await,
        vec![id(4), id(2)]
    );
}

#[tokio::test]
async fn limit_defaults_to_100_and_caps_at_1000() {
    let s = store();
    let e: Vec<AuditEntry> = (0..1100).map(|i| audit_entry(at(i), "r")).collect();
    s.apply(&[], &e).await.unwrap();
    assert_eq!(s.audit(&AuditQuery::default()).await.unwrap().len(), 100);
    assert_eq!(s.audit(&AuditQuery { limit: 5000, ..Default::default() }).await.unwrap().len(), 1000);
}
