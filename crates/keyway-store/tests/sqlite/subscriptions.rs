//! Subscriptions: round trip, one per (app, API), references checked.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::ids::SubscriptionId;
use keyway_core::model::{Subscription, SubscriptionStatus};
use keyway_store::{Store, StoreError};

/// A world with an API of its own tenant.
async fn world_with_api(s: &keyway_store::sqlite::SqliteStore) -> (World, keyway_core::model::Api) {
    let w = world(s, "acme").await;
    let a = api(&w.tenant, "/orders/v1");
    s.apply(&[insert(Record::Api(a.clone()))], &[]).await.unwrap();
    (w, a)
}

fn subscription(w: &World, api: &keyway_core::model::Api) -> Subscription {
    Subscription {
        id: SubscriptionId::generate(),
        api_id: api.id.clone(),
        app_id: w.app.id.clone(),
        tenant_id: w.tenant.id.clone(),
        status: SubscriptionStatus::Pending,
        requested_at: at(1_000),
        decided_at: None,
        decided_by: None,
        reason: None,
        created_at: at(1_000),
    }
}

#[tokio::test]
async fn subscriptions_round_trip_and_are_loaded() {
    let s = store();
    let (w, a) = world_with_api(&s).await;
    let mut sub = subscription(&w, &a);
    s.apply(&[insert(Record::Subscription(sub.clone()))], &[]).await.unwrap();
    assert_eq!(s.subscription(&sub.id).await.unwrap(), Some(sub.clone()));
    sub.status = SubscriptionStatus::Rejected;
    sub.decided_at = Some(at(2_000));
    sub.decided_by = Some("adm_1".into());
    sub.reason = Some("not a partner".into());
    s.apply(&[Change::Update(Record::Subscription(sub.clone()))], &[]).await.unwrap();
    assert_eq!(s.subscriptions_of_api(&a.id).await.unwrap(), vec![sub.clone()]);
    assert_eq!(s.subscriptions_of_app(&w.app.id).await.unwrap(), vec![sub.clone()]);
    assert_eq!(s.load_all().await.unwrap().subscriptions, vec![sub]);
}

#[tokio::test]
async fn one_subscription_per_app_and_api_and_references_must_exist() {
    let s = store();
    let (w, a) = world_with_api(&s).await;
    s.apply(&[insert(Record::Subscription(subscription(&w, &a)))], &[]).await.unwrap();
    let again = s.apply(&[insert(Record::Subscription(subscription(&w, &a)))], &[]).await.unwrap_err();
    assert!(matches!(&again, StoreError::Conflict(m) if m.contains("already has a subscription")), "{again}");

    let mut dangling = subscription(&w, &a);
    dangling.api_id = keyway_core::ids::ApiId::generate();
    let err = s.apply(&[insert(Record::Subscription(dangling))], &[]).await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound(m) if m.contains("API")), "{err}");
}
