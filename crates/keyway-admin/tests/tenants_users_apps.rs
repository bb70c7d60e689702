//! Tenants, users and apps: happy paths, snapshot updates, audit rows.

mod common;

use common::{id, Harness};
use keyway_core::ids::{AppId, TenantId, UserId};
use keyway_core::model::{PrincipalStatus, TenantStatus};
use serde_json::{json, Value};

#[tokio::test]
async fn tenants_create_list_get_patch() {
    let h = Harness::new().await;
    let r = h.call("POST", "/admin/v1/tenants", Some(json!({"slug": "acme", "name": "Acme Corp"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.json;
    let tid = id(&t);
    assert!(tid.starts_with("ten_"));
    assert_eq!((t["slug"].clone(), t["name"].clone(), t["status"].clone()), (json!("acme"), json!("Acme Corp"), json!("active")));
    assert!(chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).is_ok());
    // The snapshot sees it at once.
    assert!(h.state.snapshot.load().tenants.contains_key(&TenantId::from(tid.as_str())));

    h.ok("POST", "/admin/v1/tenants", json!({"slug": "globex", "name": "Globex"})).await;
    let all = h.ok("GET", "/admin/v1/tenants", Value::Null).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    assert_eq!(h.ok("GET", &format!("/admin/v1/tenants/{tid}"), Value::Null).await, t);

    let p = h.ok("PATCH", &format!("/admin/v1/tenants/{tid}"), json!({"status": "suspended", "reason": "unpaid invoices"})).await;
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["status_change"]["reason"], "unpaid invoices");
    assert!(p["status_change"]["changed_by"].as_str().unwrap().starts_with("adm_"));
    assert!(p["status_change"]["changed_at"].is_string());
    let snap = h.state.snapshot.load();
    assert_eq!(snap.tenants.get(&TenantId::from(tid.as_str())).unwrap().status, TenantStatus::Suspended);

    let p = h.ok("PATCH", &format!("/admin/v1/tenants/{tid}"), json!({"status": "active", "name": "Acme Inc"})).await;
    assert_eq!((p["status"].clone(), p["name"].clone()), (json!("active"), json!("Acme Inc")));

    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={tid}"), Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.activate", "tenant.suspend", "tenant.create"]);
    let suspend = &audit["data"][1];
    assert_eq!(suspend["before"]["status"], "active");
    assert_eq!(suspend["after"]["status"], "suspended");
    assert_eq!(suspend["resource_type"], "tenant");
    assert_eq!(suspend["tenant_id"], tid.as_str());
}

#[tokio::test]
async fn users_create_list_get_patch_delete() {
    let h = Harness::new().await;
    let tid = id(&h.ok("POST", "/admin/v1/tenants", json!({"slug": "acme", "name": "Acme"})).await);
    let r = h
        .call(
            "POST",
            &format!("/admin/v1/tenants/{tid}/users"),
            Some(json!({"email": "Alice@Acme.test", "role": "owner", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let u = r.json;
    let uid = id(&u);
    assert!(uid.starts_with("usr_"));
    assert_eq!(
        (u["email"].clone(), u["role"].clone(), u["status"].clone()),
        (json!("alice@acme.test"), json!("owner"), json!("active"))
    );
    assert!(!r.text.contains("correct horse") && !r.text.contains("argon2"), "{}", r.text);
    // The hash is stored, and it is argon2id.
    let stored = h.state.store.user(&UserId::from(uid.as_str())).await.unwrap().unwrap();
    assert!(stored.password_hash.as_deref().unwrap().starts_with("$argon2id$"));
    assert!(h.state.snapshot.load().users.contains_key(&UserId::from(uid.as_str())));

    h.ok("POST", &format!("/admin/v1/tenants/{tid}/users"), json!({"email": "bob@acme.test", "role": "viewer"})).await;
    let list = h.ok("GET", &format!("/admin/v1/tenants/{tid}/users"), Value::Null).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert_eq!(h.ok("GET", &format!("/admin/v1/users/{uid}"), Value::Null).await, u);

    let p = h.ok("PATCH", &format!("/admin/v1/users/{uid}"), json!({"status": "suspended", "reason": "offboarding"})).await;
    assert_eq!(p["status"], "suspended");
    assert_eq!(p["status_change"]["reason"], "offboarding");
    assert_eq!(h.state.snapshot.load().users.get(&UserId::from(uid.as_str())).unwrap().status, PrincipalStatus::Suspended);
    let p = h.ok("PATCH", &format!("/admin/v1/users/{uid}"), json!({"status": "active", "role": "admin"})).await;
    assert_eq!((p["status"].clone(), p["role"].clone()), (json!("active"), json!("admin")));

    let d = h.call("DELETE", &format!("/admin/v1/users/{uid}"), None).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.json["status"], "deleted");
    assert!(d.json["status_change"]["changed_at"].is_string());
    assert_eq!(h.state.snapshot.load().users.get(&UserId::from(uid.as_str())).unwrap().status, PrincipalStatus::Deleted);
    // Still readable, still deleted.
    assert_eq!(h.ok("GET", &format!("/admin/v1/users/{uid}"), Value::Null).await["status"], "deleted");
    // Deleted users cannot be changed or deleted again.
    h.call("PATCH", &format!("/admin/v1/users/{uid}"), Some(json!({"status": "active"}))).await.problem(409, "invalid_state");
    h.call("DELETE", &format!("/admin/v1/users/{uid}"), None).await.problem(409, "invalid_state");

    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_id={uid}"), Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.delete", "user.activate", "user.suspend", "user.create"]);
    // The password never reaches the audit log.
    let all = h.ok("GET", "/admin/v1/audit?limit=1000", Value::Null).await.to_string();
    assert!(!all.contains("correct horse") && !all.contains("argon2") && !all.contains("password"), "{all}");
}

#[tokio::test]
async fn apps_create_list_get_patch_delete() {
    let h = Harness::new().await;
    let tid = id(&h.ok("POST", "/admin/v1/tenants", json!({"slug": "acme", "name": "Acme"})).await);
    let alice =
        id(&h.ok("POST", &format!("/admin/v1/tenants/{tid}/users"), json!({"email": "a@acme.test", "role": "owner"})).await);
    let bob =
        id(&h.ok("POST", &format!("/admin/v1/tenants/{tid}/users"), json!({"email": "b@acme.test", "role": "developer"})).await);

    let r = h
        .call("POST", &format!("/admin/v1/tenants/{tid}/apps"), Some(json!({"name": "storefront", "owner_user_id": alice})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = r.json;
    let aid = id(&a);
    assert!(aid.starts_with("app_"));
    assert_eq!(
        (a["name"].clone(), a["owner_user_id"].clone(), a["status"].clone()),
        (json!("storefront"), json!(alice), json!("active"))
    );
    assert_eq!(a["tenant_id"], tid.as_str());
    assert!(h.state.snapshot.load().apps.contains_key(&AppId::from(aid.as_str())));

    let list = h.ok("GET", &format!("/admin/v1/tenants/{tid}/apps"), Value::Null).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(h.ok("GET", &format!("/admin/v1/apps/{aid}"), Value::Null).await, a);

    let p = h
        .ok("PATCH", &format!("/admin/v1/apps/{aid}"), json!({"status": "suspended", "owner_user_id": bob, "reason": "audit"}))
        .await;
    assert_eq!((p["status"].clone(), p["owner_user_id"].clone()), (json!("suspended"), json!(bob)));
    let snap = h.state.snapshot.load();
    let app = snap.apps.get(&AppId::from(aid.as_str())).unwrap();
    assert_eq!((app.status, app.owner_user_id.as_str()), (PrincipalStatus::Suspended, bob.as_str()));

    let p = h.ok("PATCH", &format!("/admin/v1/apps/{aid}"), json!({"status": "active", "name": "shop"})).await;
    assert_eq!((p["status"].clone(), p["name"].clone()), (json!("active"), json!("shop")));

    let d = h.ok("DELETE", &format!("/admin/v1/apps/{aid}"), Value::Null).await;
    assert_eq!(d["status"], "deleted");
    assert_eq!(h.state.snapshot.load().apps.get(&AppId::from(aid.as_str())).unwrap().status, PrincipalStatus::Deleted);
    h.call("PATCH", &format!("/admin/v1/apps/{aid}"), Some(json!({"status": "active"}))).await.problem(409, "invalid_state");
    h.call("DELETE", &format!("/admin/v1/apps/{aid}"), None).await.problem(409, "invalid_state");
    h.call("POST", &format!("/admin/v1/apps/{aid}/keys"), Some(json!({}))).await.problem(409, "invalid_state");

    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_type=app&tenant_id={tid}"), Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["app.delete", "app.activate", "app.suspend", "app.create"]);
}

#[tokio::test]
async fn app_owners_must_be_live_users_of_the_same_tenant() {
    let h = Harness::new().await;
    let acme = h.world("acme", "/orders/v1").await;
    let globex = h.world("globex", "/billing/v1").await;
    let before = h.fingerprint().await;
    let path = format!("/admin/v1/tenants/{}/apps", acme.tenant);
    for owner in [globex.user.as_str(), "usr_nope"] {
        let r = h.call("POST", &path, Some(json!({"name": "x", "owner_user_id": owner}))).await;
        assert_eq!(r.problem(422, "reference_invalid")["param"], "owner_user_id");
        // Nothing about the other tenant's user leaks.
        assert!(!r.text.contains("globex"), "{}", r.text);
    }
    let r = h.call("PATCH", &format!("/admin/v1/apps/{}", acme.app), Some(json!({"owner_user_id": globex.user}))).await;
    r.problem(422, "reference_invalid");
    assert_eq!(h.fingerprint().await, before);

    // A deleted user cannot own a new app.
    h.ok("DELETE", &format!("/admin/v1/users/{}", acme.user), Value::Null).await;
    let before = h.fingerprint().await;
    let r = h.call("POST", &path, Some(json!({"name": "x", "owner_user_id": acme.user}))).await;
    r.problem(422, "reference_invalid");
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn missing_parents_are_404() {
    let h = Harness::new().await;
    let before = h.fingerprint().await;
    h.call("POST", "/admin/v1/tenants/ten_nope/users", Some(json!({"email": "a@b.c", "role": "owner"})))
        .await
        .problem(404, "resource_not_found");
    h.call("POST", "/admin/v1/tenants/ten_nope/apps", Some(json!({"name": "a", "owner_user_id": "usr_x"})))
        .await
        .problem(404, "resource_not_found");
    h.call("POST", "/admin/v1/tenants/ten_nope/apis", Some(common::api_body("/x"))).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/tenants/ten_nope/users", None).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/tenants/ten_nope/apps", None).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/tenants/ten_nope/apis", None).await.problem(404, "resource_not_found");
    h.call("PATCH", "/admin/v1/tenants/ten_nope", Some(json!({"status": "suspended"}))).await.problem(404, "resource_not_found");
    h.call("PATCH", "/admin/v1/users/usr_nope", Some(json!({"status": "suspended"}))).await.problem(404, "resource_not_found");
    h.call("DELETE", "/admin/v1/users/usr_nope", None).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/users/usr_nope", None).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/apps/app_nope", None).await.problem(404, "resource_not_found");
    h.call("PATCH", "/admin/v1/apps/app_nope", Some(json!({"status": "suspended"}))).await.problem(404, "resource_not_found");
    h.call("DELETE", "/admin/v1/apps/app_nope", None).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/apps/app_nope/keys", None).await.problem(404, "resource_not_found");
    h.call("POST", "/admin/v1/apps/app_nope/keys", Some(json!({}))).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/keys/key_nope", None).await.problem(404, "resource_not_found");
    h.call("POST", "/admin/v1/keys/key_nope/rotate", Some(json!({"grace_seconds": 0}))).await.problem(404, "resource_not_found");
    h.call("POST", "/admin/v1/keys/key_nope/revoke", Some(json!({"reason": "x"}))).await.problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/apis/api_nope", None).await.problem(404, "resource_not_found");
    h.call("PATCH", "/admin/v1/apis/api_nope", Some(json!({"status": "retired"}))).await.problem(404, "resource_not_found");
    assert_eq!(h.fingerprint().await, before);
}
