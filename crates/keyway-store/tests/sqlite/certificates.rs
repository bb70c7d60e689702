//! Client certificate bindings: read by id, by app, by live fingerprint
//! and at load; a fingerprint binds at most one live binding, and a
//! binding names an app of its own tenant.

use crate::fixtures::*;
use keyway_core::certificates::ClientCertificate;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{AppId, CertificateId};
use keyway_core::model::App;
use keyway_store::{Store, StoreError};

fn binding(app: &App, fingerprint: &str) -> ClientCertificate {
    ClientCertificate {
        id: CertificateId::generate(),
        app_id: app.id.clone(),
        tenant_id: app.tenant_id.clone(),
        sha256_fingerprint: fingerprint.into(),
        scopes: vec!["orders:read".into()],
        created_at: at(5),
        deleted_at: None,
    }
}

#[tokio::test]
async fn bindings_round_trip_and_fingerprints_are_unique_among_live_ones() {
    let s = store();
    let t = tenant("acme");
    let u = user(&t, "ops@acme.test");
    let a = app(&t, &u);
    s.apply(&[insert(Record::Tenant(t.clone())), insert(Record::User(u)), insert(Record::App(a.clone()))], &[]).await.unwrap();
    let fp = "ab".repeat(32);
    let first = binding(&a, &fp);
    s.apply(&[Change::Insert(Record::Certificate(first.clone()))], &[]).await.unwrap();
    assert_eq!(s.certificate(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.certificates_of_app(&a.id).await.unwrap(), vec![first.clone()]);
    assert_eq!(s.certificate_by_fingerprint(&fp).await.unwrap(), Some(first.clone()));
    assert_eq!(s.load_all().await.unwrap().certificates, vec![first.clone()]);

    let clash = s.apply(&[Change::Insert(Record::Certificate(binding(&a, &fp)))], &[]).await.unwrap_err();
    assert!(matches!(&clash, StoreError::Conflict(m) if m.contains("already bound")), "{clash:?}");

    let deleted = ClientCertificate { deleted_at: Some(at(9)), ..first };
    s.apply(&[Change::Update(Record::Certificate(deleted.clone()))], &[]).await.unwrap();
    assert_eq!(s.certificate_by_fingerprint(&fp).await.unwrap(), None, "a deleted binding binds nothing");
    let again = binding(&a, &fp);
    s.apply(&[Change::Insert(Record::Certificate(again.clone()))], &[]).await.unwrap();
    assert_eq!(s.certificates_of_app(&a.id).await.unwrap().len(), 2);

    let stray = ClientCertificate { app_id: AppId::generate(), ..binding(&a, &"cd".repeat(32)) };
    let missing = s.apply(&[Change::Insert(Record::Certificate(stray))], &[]).await.unwrap_err();
    assert!(matches!(&missing, StoreError::NotFound(m) if m.contains("does not exist")), "{missing:?}");
}
