//! Every field of every entity survives insert -> read and update -> read.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{ApiId, AppId, KeyId, TenantId, UserId};
use keyway_core::model::{ApiStatus, PrincipalStatus, Role, TenantStatus};
use keyway_store::Store;

#[tokio::test]
async fn ping_answers() {
    store().ping().await.unwrap();
}

#[tokio::test]
async fn entities_round_trip_through_every_reader() {
    let s = store();
    let w = world(&s, "acme").await;
    let full = key(&w.app);
    let bare = bare_key(&w.app);
    let mut hosted = api(&w.tenant, "/orders/v1");
    hosted.host = Some("api.acme.test".into());
    let mut plain = api(&w.tenant, "/plain/v1");
    plain.deprecated_at = None;
    plain.sunset_at = None;
    plain.retired_at = None;
    plain.successor_api_id = None;
    plain.methods = vec![];
    let mut user_without_password = user(&w.tenant, "nopass@acme.test");
    user_without_password.password_hash = None;
    user_without_password.status_change = Default::default();
    s.apply(
        &[
            insert(Record::Key(full.clone())),
            insert(Record::Key(bare.clone())),
            insert(Record::Api(hosted.clone())),
            insert(Record::Api(plain.clone())),
            insert(Record::User(user_without_password.clone())),
        ],
        &[],
    )
    .await
    .unwrap();

    assert_eq!(s.tenant(&w.tenant.id).await.unwrap(), Some(w.tenant.clone()));
    assert_eq!(s.tenants().await.unwrap(), vec![w.tenant.clone()]);
    assert_eq!(s.user(&w.user.id).await.unwrap(), Some(w.user.clone()));
    assert_eq!(s.user(&user_without_password.id).await.unwrap(), Some(user_without_password.clone()));
    assert_eq!(s.app(&w.app.id).await.unwrap(), Some(w.app.clone()));
    assert_eq!(s.apps_of_tenant(&w.tenant.id).await.unwrap(), vec![w.app.clone()]);
    assert_eq!(s.key(&full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(s.key(&bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(s.api(&hosted.id).await.unwrap(), Some(hosted.clone()));
    assert_eq!(s.api(&plain.id).await.unwrap(), Some(plain.clone()));

    let dump = s.load_all().await.unwrap();
    assert_eq!(dump.tenants, vec![w.tenant.clone()]);
    assert_eq!(dump.users, vec![w.user.clone(), user_without_password.clone()]);
    assert_eq!(dump.apps, vec![w.app.clone()]);
    assert_eq!(dump.keys, vec![full.clone(), bare.clone()]);
    assert_eq!(dump.apis, vec![hosted.clone(), plain.clone()]);

    // The secrets' stand-ins, which serde skips, are stored all the same.
    assert_eq!(dump.keys[0].digest, full.digest);
    assert!(dump.users[0].password_hash.is_some());
}

#[tokio::test]
async fn missing_ids_read_as_none() {
    let s = store();
    assert_eq!(s.tenant(&TenantId::generate()).await.unwrap(), None);
    assert_eq!(s.user(&UserId::generate()).await.unwrap(), None);
    assert_eq!(s.app(&AppId::generate()).await.unwrap(), None);
    assert_eq!(s.key(&KeyId::generate()).await.unwrap(), None);
    assert_eq!(s.api(&ApiId::generate()).await.unwrap(), None);
    assert!(s.keys_of_app(&AppId::generate()).await.unwrap().is_empty());
}

#[tokio::test]
async fn updates_replace_every_field() {
    let s = store();
    let w = world(&s, "acme").await;
    let k = bare_key(&w.app);
    let a = api(&w.tenant, "/orders/v1");
    s.apply(&[insert(Record::Key(k.clone())), insert(Record::Api(a.clone()))], &[]).await.unwrap();

    let mut t2 = w.tenant.clone();
    t2.slug = "acme-2".into();
    t2.name = "Acme Two".into();
    t2.status = TenantStatus::Active;
    t2.status_change = changed(50);
    let mut u2 = w.user.clone();
    u2.email = "new@acme.test".into();
    u2.role = Role::Owner;
    u2.status = PrincipalStatus::Active;
    u2.password_hash = None;
    let mut app2 = w.app.clone();
    app2.name = "renamed".into();
    app2.status = PrincipalStatus::Active;
    let mut k2 = key(&w.app);
    k2.id = k.id.clone();
    let mut a2 = api(&w.tenant, "/orders/v2");
    a2.id = a.id.clone();
    a2.host = Some("h.test".into());
    a2.status = ApiStatus::Published;
    s.apply(
        &[
            Change::Update(Record::Tenant(t2.clone())),
            Change::Update(Record::User(u2.clone())),
            Change::Update(Record::App(app2.clone())),
            Change::Update(Record::Key(k2.clone())),
            Change::Update(Record::Api(a2.clone())),
        ],
        &[],
    )
    .await
    .unwrap();

    assert_eq!(s.tenant(&t2.id).await.unwrap(), Some(t2));
    assert_eq!(s.user(&u2.id).await.unwrap(), Some(u2));
    assert_eq!(s.app(&app2.id).await.unwrap(), Some(app2));
    assert_eq!(s.key(&k2.id).await.unwrap(), Some(k2));
    assert_eq!(s.api(&a2.id).await.unwrap(), Some(a2));
}

#[tokio::test]
async fn lists_are_per_parent_and_oldest_first() {
    let s = store();
    let w = world(&s, "acme").await;
    let other = world(&s, "globex").await;
    let mut newer = bare_key(&w.app);
    newer.created_at = at(5_000);
    let mut older = bare_key(&w.app);
    older.created_at = at(1_000);
    let elsewhere = bare_key(&other.app);
    let mut late_user = user(&w.tenant, "late@acme.test");
    late_user.created_at = at(9_000);
    let mut early_user = user(&w.tenant, "early@acme.test");
    early_user.created_at = at(-9_000);
    let mut api_new = api(&w.tenant, "/b");
    api_new.created_at = at(7_000);
    let mut api_old = api(&w.tenant, "/a");
    api_old.created_at = at(6_000);
    s.apply(
        &[
            insert(Record::Key(newer.clone())),
            insert(Record::Key(older.clone())),
            insert(Record::Key(elsewhere)),
            insert(Record::User(late_user.clone())),
            insert(Record::User(early_user.clone())),
            insert(Record::Api(api_new.clone())),
            insert(Record::Api(api_old.clone())),
            insert(Record::Api(api(&other.tenant, "/c"))),
        ],
        &[],
    )
    .await
    .unwrap();

    assert_eq!(s.keys_of_app(&w.app.id).await.unwrap(), vec![older, newer]);
    assert_eq!(s.users_of_tenant(&w.tenant.id).await.unwrap(), vec![early_user, w.user.clone(), late_user]);
    assert_eq!(s.apis_of_tenant(&w.tenant.id).await.unwrap(), vec![api_old, api_new]);
    assert_eq!(s.apps_of_tenant(&other.tenant.id).await.unwrap(), vec![other.app.clone()]);
    let slugs: Vec<_> = s.tenants().await.unwrap().into_iter().map(|t| t.slug).collect();
    assert_eq!(slugs.len(), 2);
}

#[tokio::test]
async fn a_time_with_no_fixed_width_form_is_refused_not_mangled() {
    let s = store();
    let w = world(&s, "acme").await;
    let mut k = bare_key(&w.app);
    k.rare_mut().expires_at = Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 10_000, 1, 1, 0, 0, 0).unwrap());
    let err = s.apply(&[insert(Record::Key(k.clone()))], &[]).await.unwrap_err();
    assert!(matches!(err, keyway_store::StoreError::Backend(ref m) if m.contains("storable range")), "{err}");
    assert_eq!(s.key(&k.id).await.unwrap(), None);
}
