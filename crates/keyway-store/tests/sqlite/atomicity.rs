//! `apply` writes everything or nothing.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::records::AuditQuery;
use keyway_store::{Store, StoreError};

async fn audit_count(s: &keyway_store::sqlite::SqliteStore) -> usize {
    s.audit(&AuditQuery::default()).await.unwrap().len()
}

#[tokio::test]
async fn a_conflict_in_the_second_change_writes_nothing() {
    let s = store();
    world(&s, "acme").await;
    let fresh = tenant("fresh");
    let clash = tenant("acme");
    let result = s
        .apply(&[insert(Record::Tenant(fresh.clone())), insert(Record::Tenant(clash))], &[audit_entry(at(0), fresh.id.as_str())])
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(s.tenant(&fresh.id).await.unwrap(), None);
    assert_eq!(s.tenants().await.unwrap().len(), 1);
    assert_eq!(audit_count(&s).await, 0);
}

#[tokio::test]
async fn a_missing_row_in_the_second_change_writes_nothing() {
    let s = store();
    let w = world(&s, "acme").await;
    let k = bare_key(&w.app);
    let result = s
        .apply(
            &[insert(Record::Key(k.clone())), Change::Update(Record::Tenant(tenant("ghost")))],
            &[audit_entry(at(0), k.id.as_str())],
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert_eq!(s.key(&k.id).await.unwrap(), None);
    assert_eq!(audit_count(&s).await, 0);
}

#[tokio::test]
async fn a_failing_audit_insert_undoes_the_changes() {
    let s = store();
    let w = world(&s, "acme").await;
    let first = audit_entry(at(0), "x");
    s.apply(&[], std::slice::from_ref(&first)).await.unwrap();
    let mut renamed = w.tenant.clone();
    renamed.name = "Renamed".into();
    let mut reused = audit_entry(at(1), "y");
    reused.id = first.id.clone();
    let result = s.apply(&[Change::Update(Record::Tenant(renamed))], &[reused]).await;
    assert!(matches!(result, Err(StoreError::Conflict(ref m)) if m.contains("audit entry id")), "{result:?}");
    assert_eq!(s.tenant(&w.tenant.id).await.unwrap(), Some(w.tenant.clone()));
    assert_eq!(audit_count(&s).await, 1);
}

#[tokio::test]
async fn a_successful_batch_writes_changes_and_audit_together() {
    let s = store();
    let t = tenant("acme");
    let u = user(&t, "o@acme.test");
    let entry = audit_entry(at(0), t.id.as_str());
    s.apply(&[insert(Record::Tenant(t.clone())), insert(Record::User(u.clone()))], std::slice::from_ref(&entry)).await.unwrap();
    assert_eq!(s.user(&u.id).await.unwrap(), Some(u));
    assert_eq!(s.audit(&AuditQuery::default()).await.unwrap(), vec![entry]);
}
