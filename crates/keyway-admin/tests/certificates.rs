//! Client certificate bindings: fingerprints normalised (case, colons),
//! refused with 400 unless 64 hex digits, unique among live bindings
//! (409), listed per app, soft-deleted, audited, and applied to the
//! gateway's snapshot at once; APIs accept `auth` with `mtls`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::{api_body, id, Harness};
use serde_json::json;

/// `AB:CD:…` as `openssl x509 -fingerprint -sha256` prints it.
fn openssl_form(hex: &str) -> String {
    hex.to_ascii_uppercase().as_bytes().chunks(2).map(|p| String::from_utf8_lossy(p).into_owned()).collect::<Vec<_>>().join(":")
}

#[tokio::test]
async fn bindings_are_normalised_listed_deleted_audited_and_in_the_snapshot() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let hex = "3f".repeat(16) + &"a0".repeat(16);
    let path = format!("/admin/v1/apps/{}/certificates", w.app);
    let r = h.call("POST", &path, Some(json!({"sha256_fingerprint": openssl_form(&hex), "scopes": ["orders:read"]}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let crt = id(&r.json);
    assert!(crt.starts_with("crt_"), "{crt}");
    assert_eq!(r.json["sha256_fingerprint"], hex, "lowercase hex without colons");
    assert_eq!((r.json["app_id"].as_str(), r.json["tenant_id"].as_str()), (Some(w.app.as_str()), Some(w.tenant.as_str())));
    assert_eq!(r.json["scopes"], json!(["orders:read"]));
    assert!(r.json["created_at"].is_string() && r.json["deleted_at"].is_null());
    assert_eq!(h.state.snapshot.load().certificates.bound(&hex).map(|b| b.id.to_string()), Some(crt.clone()));

    let listed = h.call("GET", &path, None).await;
    assert_eq!(listed.json["data"], json!([r.json]));
    assert_eq!(h.call("GET", &format!("/admin/v1/certificates/{crt}"), None).await.json, r.json);

    let gone = h.call("DELETE", &format!("/admin/v1/certificates/{crt}"), None).await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert!(gone.json["deleted_at"].is_string());
    assert!(h.state.snapshot.load().certificates.bound(&hex).is_none(), "unbound from the next request on");
    h.call("DELETE", &format!("/admin/v1/certificates/{crt}"), None).await.problem(409, "invalid_state");
    let again = h.call("POST", &path, Some(json!({"sha256_fingerprint": hex}))).await;
    assert_eq!(again.status, 201, "a deleted binding frees its fingerprint: {}", again.text);
    assert_eq!(again.json["scopes"], json!([]));
    assert_eq!(h.call("GET", &path, None).await.json["data"].as_array().unwrap().len(), 2, "deleted ones are listed too");

    let audit = h.call("GET", &format!("/admin/v1/audit?resource_id={crt}"), None).await;
    let actions: Vec<&str> = audit.json["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["certificate.delete", "certificate.create"]);
}

#[tokio::test]
async fn a_fingerprint_binds_one_app_and_bad_ones_are_400_without_a_write() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let other = h.world("globex", "/globex/v1").await;
    let hex = "c4".repeat(32);
    h.ok("POST", &format!("/admin/v1/apps/{}/certificates", w.app), json!({"sha256_fingerprint": hex})).await;
    let before = h.fingerprint().await;
    let clash = h
        .call(
            "POST",
            &format!("/admin/v1/apps/{}/certificates", other.app),
            Some(json!({"sha256_fingerprint": hex.to_uppercase()})),
        )
        .await;
    let p = clash.problem(409, "already_exists");
    assert_eq!(p["param"], "sha256_fingerprint");
    for (bad, why) in [
        ("c4".repeat(31), "62 hex digits"),
        ("c4".repeat(33), "66 hex digits"),
        (format!("{}zz", "c4".repeat(31)), "'z' is not a hex digit"),
        (String::new(), "0 hex digits"),
        ("sha256:".to_owned() + &hex, "'s' is not a hex digit"),
        (format!("c4::{}", &hex[2..]), "a colon must sit between two hex digits"),
        (format!(" {hex}"), "' ' is not a hex digit"),
    ] {
        let r = h.call("POST", &format!("/admin/v1/apps/{}/certificates", w.app), Some(json!({"sha256_fingerprint": bad}))).await;
        let p = r.problem(400, "request_invalid");
        assert_eq!(p["param"], "sha256_fingerprint");
        assert!(p["detail"].as_str().unwrap().contains(why), "{bad}: {}", p["detail"]);
    }
    for body in [
        json!({}),
        json!({"sha256_fingerprint": 7}),
        json!({"sha256_fingerprint": hex, "pem": "x"}),
        json!({"sha256_fingerprint": null}),
    ] {
        let r = h.call("POST", &format!("/admin/v1/apps/{}/certificates", w.app), Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    h.call("POST", "/admin/v1/apps/app_nope/certificates", Some(json!({"sha256_fingerprint": "ab".repeat(32)})))
        .await
        .problem(404, "resource_not_found");
    h.call("GET", "/admin/v1/certificates/crt_nope", None).await.problem(404, "resource_not_found");
    h.call("DELETE", "/admin/v1/certificates/crt_nope", None).await.problem(404, "resource_not_found");
    assert_eq!(h.fingerprint().await, before, "refusals write nothing");

    h.ok("DELETE", &format!("/admin/v1/apps/{}", other.app), json!(null)).await;
    let deleted_app = h
        .call("POST", &format!("/admin/v1/apps/{}/certificates", other.app), Some(json!({"sha256_fingerprint": "ab".repeat(32)})))
        .await;
    deleted_app.problem(409, "invalid_state");
}

#[tokio::test]
async fn apis_accept_mtls_alone_or_beside_other_kinds() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    for (i, auth) in [json!(["mtls"]), json!(["api_key", "mtls"]), json!(["jwt", "mtls"])].into_iter().enumerate() {
        let mut body = api_body(&format!("/m{i}/v1"));
        body["auth"] = auth.clone();
        let r = h.call("POST", &format!("/admin/v1/tenants/{}/apis", w.tenant), Some(body)).await;
        assert_eq!(r.status, 201, "{auth}: {}", r.text);
        assert_eq!(r.json["auth"], auth);
    }
}
