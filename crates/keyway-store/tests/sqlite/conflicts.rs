//! Unique fields, references and updates of missing rows map to
//! `Conflict` and `NotFound` with messages that name the field.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::model::ApiStatus;
use keyway_store::{Store, StoreError};

fn conflict(result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(m)) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn not_found(result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::NotFound(m)) => m,
        other => panic!("expected not found, got {other:?}"),
    }
}

#[tokio::test]
async fn duplicate_tenant_slug() {
    let s = store();
    world(&s, "acme").await;
    let m = conflict(s.apply(&[insert(Record::Tenant(tenant("acme")))], &[]).await);
    assert_eq!(m, "tenant slug 'acme' is taken");
}

#[tokio::test]
async fn duplicate_ids() {
    let s = store();
    let w = world(&s, "acme").await;
    let mut t = tenant("other");
    t.id = w.tenant.id.clone();
    let m = conflict(s.apply(&[insert(Record::Tenant(t))], &[]).await);
    assert_eq!(m, format!("tenant id '{}' already exists", w.tenant.id));

    let mut u = user(&w.tenant, "x@acme.test");
    u.id = w.user.id.clone();
    let m = conflict(s.apply(&[insert(Record::User(u))], &[]).await);
    assert_eq!(m, format!("user id '{}' already exists", w.user.id));
}

#[tokio::test]
async fn user_email_is_unique_per_tenant_ignoring_case() {
    let s = store();
    let w = world(&s, "acme").await;
    let other = world(&s, "globex").await;
    let m = conflict(s.apply(&[insert(Record::User(user(&w.tenant, "OWNER@Acme.Test")))], &[]).await);
    assert!(m.contains("email 'OWNER@Acme.Test'") && m.contains(w.tenant.id.as_str()), "{m}");
    // The same address in another tenant is fine.
    s.apply(&[insert(Record::User(user(&other.tenant, "owner@acme.test")))], &[]).await.unwrap();
}

#[tokio::test]
async fn duplicate_key_digest() {
    let s = store();
    let w = world(&s, "acme").await;
    let k = bare_key(&w.app);
    let mut twin = bare_key(&w.app);
    twin.digest = k.digest;
    s.apply(&[insert(Record::Key(k))], &[]).await.unwrap();
    let m = conflict(s.apply(&[insert(Record::Key(twin))], &[]).await);
    assert!(m.contains("digest"), "{m}");
}

#[tokio::test]
async fn api_base_path_is_unique_per_host_among_live_apis() {
    let s = store();
    let w = world(&s, "acme").await;
    let first = api(&w.tenant, "/orders/v1");
    s.apply(&[insert(Record::Api(first.clone()))], &[]).await.unwrap();

    let m = conflict(s.apply(&[insert(Record::Api(api(&w.tenant, "/orders/v1")))], &[]).await);
    assert_eq!(m, "API base path '/orders/v1' (any host) is taken by an API that is not retired");

    // Another host is another route.
    let mut hosted = api(&w.tenant, "/orders/v1");
    hosted.host = Some("a.test".into());
    s.apply(&[insert(Record::Api(hosted.clone()))], &[]).await.unwrap();
    let mut hosted_again = hosted.clone();
    hosted_again.id = keyway_core::ids::ApiId::generate();
    let m = conflict(s.apply(&[insert(Record::Api(hosted_again))], &[]).await);
    assert!(m.contains("on host 'a.test'"), "{m}");

    // Retired APIs keep their path without holding it, any number of them.
    s.apply(&[insert(Record::Api(retired(api(&w.tenant, "/orders/v1"))))], &[]).await.unwrap();
    s.apply(&[insert(Record::Api(retired(api(&w.tenant, "/orders/v1"))))], &[]).await.unwrap();

    // Retiring the live one frees the path...
    s.apply(&[Change::Update(Record::Api(retired(first.clone())))], &[]).await.unwrap();
    let successor = api(&w.tenant, "/orders/v1");
    s.apply(&[insert(Record::Api(successor))], &[]).await.unwrap();
    // ...and un-retiring it clashes with the successor.
    let mut revived = first;
    revived.status = ApiStatus::Published;
    let m = conflict(s.apply(&[Change::Update(Record::Api(revived))], &[]).await);
    assert!(m.contains("base path '/orders/v1'"), "{m}");
    assert_eq!(s.apis_of_tenant(&w.tenant.id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn updating_a_missing_row_is_not_found() {
    let s = store();
    let w = world(&s, "acme").await;
    let ghost_tenant = tenant("ghost");
    let m = not_found(s.apply(&[Change::Update(Record::Tenant(ghost_tenant.clone()))], &[]).await);
    assert_eq!(m, format!("tenant '{}' does not exist", ghost_tenant.id));
    not_found(s.apply(&[Change::Update(Record::User(user(&w.tenant, "g@acme.test")))], &[]).await);
    not_found(s.apply(&[Change::Update(Record::App(app(&w.tenant, &w.user)))], &[]).await);
    not_found(s.apply(&[Change::Update(Record::Key(key(&w.app)))], &[]).await);
    not_found(s.apply(&[Change::Update(Record::Api(api(&w.tenant, "/x")))], &[]).await);
}

#[tokio::test]
async fn references_to_missing_rows_are_not_found() {
    let s = store();
    let w = world(&s, "acme").await;
    let ghost = tenant("ghost");

    let m = not_found(s.apply(&[insert(Record::User(user(&ghost, "a@b.test")))], &[]).await);
    assert!(m.contains(&format!("tenant '{}' does not exist", ghost.id)), "{m}");
    let m = not_found(s.apply(&[insert(Record::App(app(&ghost, &w.user)))], &[]).await);
    assert!(m.contains(&format!("tenant '{}' does not exist", ghost.id)), "{m}");
    let m = not_found(s.apply(&[insert(Record::Api(api(&ghost, "/g")))], &[]).await);
    assert!(m.contains(&format!("tenant '{}' does not exist", ghost.id)), "{m}");

    let ghost_user = user(&w.tenant, "nobody@acme.test");
    let m = not_found(s.apply(&[insert(Record::App(app(&w.tenant, &ghost_user)))], &[]).await);
    assert!(m.contains(&format!("owner user '{}' does not exist", ghost_user.id)), "{m}");

    let ghost_app = app(&w.tenant, &w.user);
    let m = not_found(s.apply(&[insert(Record::Key(key(&ghost_app)))], &[]).await);
    assert!(m.contains(&format!("app '{}' does not exist", ghost_app.id)), "{m}");
}

#[tokio::test]
async fn references_across_tenants_conflict() {
    let s = store();
    let w = world(&s, "acme").await;
    let other = world(&s, "globex").await;

    let mut k = key(&w.app);
    k.tenant_id = other.tenant.id.clone();
    let m = conflict(s.apply(&[insert(Record::Key(k))], &[]).await);
    assert!(m.contains(&format!("belongs to tenant '{}'", w.tenant.id)), "{m}");

    let m = conflict(s.apply(&[insert(Record::App(app(&w.tenant, &other.user)))], &[]).await);
    assert!(m.contains(&format!("owner user '{}' belongs to tenant '{}'", other.user.id, other.tenant.id)), "{m}");
}
