//! Concurrent `apply` calls commit in groups, yet each keeps its own
//! result: one writer's failure undoes its own changes only.

use crate::fixtures::*;
use keyway_core::change::Record;
use keyway_core::records::AuditQuery;
use keyway_store::{Store, StoreError};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_keep_their_own_results() {
    let s = Arc::new(store());
    let w = world(&s, "acme").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = Arc::clone(&s);
        let k = bare_key(&w.app);
        tasks.push(tokio::spawn(async move {
            // Every third writer also inserts a tenant whose slug is taken.
            let mut changes = vec![insert(Record::Key(k.clone()))];
            if i % 3 == 0 {
                changes.push(insert(Record::Tenant(tenant("acme"))));
            }
            let result = s.apply(&changes, &[audit_entry(at(i), k.id.as_str())]).await;
            (i, k, result)
        }));
    }
    let mut written = 0;
    for task in tasks {
        let (i, k, result) = task.await.unwrap();
        let stored = s.key(&k.id).await.unwrap();
        if i % 3 == 0 {
            assert!(matches!(result, Err(StoreError::Conflict(_))), "writer {i}: {result:?}");
            assert_eq!(stored, None, "writer {i}'s key is rolled back with its failure");
        } else {
            assert!(result.is_ok(), "writer {i}: {result:?}");
            assert_eq!(stored.map(|x| x.id), Some(k.id), "writer {i}'s key is stored");
            written += 1;
        }
    }
    assert_eq!(written, 40);
    assert_eq!(s.keys_of_app(&w.app.id).await.unwrap().len(), 40);
    let audit = s.audit(&AuditQuery { limit: 1_000, ..Default::default() }).await.unwrap();
    assert_eq!(audit.len(), 40, "only the writers that succeeded left an audit entry");
    assert_eq!(s.tenants().await.unwrap().len(), 1);
}
