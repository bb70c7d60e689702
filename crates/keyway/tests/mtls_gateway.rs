//! mTLS end to end: a node terminating TLS with a client CA, client
//! certificates made in the test (rcgen) and presented on real loopback
//! connections, bound to apps through the admin API. Every
//! `client_certificate_*` code with its body checked against the
//! disclosure rule; the same stages 4-7 as for keys; precedence beside
//! keys; a deleted binding and a rotated CA picked up without a restart;
//! diagnose by request id and hypothetical.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::mtls::{get, Answer, Ca, Leaf, TlsDir};
use common::{log_row, new_key, world, Node, World};
use serde_json::{json, Value};

/// A node with TLS (server cert from `server`, client CA `clients`), a
/// tenant world, and an mTLS API at `/m/v1` with `auth` and scopes
/// `orders:read` required.
struct Setup {
    node: Node,
    w: World,
    server: Ca,
    clients: Ca,
    tls: TlsDir,
}

async fn setup(auth: Value) -> Setup {
    let (server, clients) = (Ca::new("server CA"), Ca::new("client CA"));
    let tls = TlsDir::write(&common::temp_dir("mtls"), &server, Some(&clients));
    let node = Node::start_with(|c| tls.configure(c, true)).await;
    let w = world(&node, "acme", "/orders/v1").await;
    publish(&node, &w, auth, json!(["orders:read"])).await;
    Setup { node, w, server, clients, tls }
}

/// Publishes the tenant-visible API `/m/v1` with `auth` and `required_scopes`.
async fn publish(node: &Node, w: &World, auth: Value, required_scopes: Value) {
    let api = node
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/apis", w.tenant),
            json!({"name": "mtls", "version": "v1", "base_path": "/m/v1",
                   "upstream": {"targets": [{"url": node.upstream_url()}]}, "required_scopes": required_scopes,
                   "auth": auth, "requires_approval": false, "visibility": "tenant"}),
        )
        .await;
    assert_eq!(api["auth"], auth);
}

impl Setup {
    async fn call(&self, client: Option<&Leaf>) -> Answer {
        self.call_with(client, &[]).await
    }

    async fn call_with(&self, client: Option<&Leaf>, headers: &[(&str, &str)]) -> Answer {
        get(&self.node.gateway, &self.server, client, "/m/v1/items", headers).await
    }

    /// Binds `leaf` to the world's app with `orders:read`; the binding's id.
    async fn bind(&self, leaf: &Leaf) -> String {
        let b = self
            .node
            .ok(
                "POST",
                &format!("/admin/v1/apps/{}/certificates", self.w.app),
                json!({"sha256_fingerprint": leaf.sha256(), "scopes": ["orders:read"]}),
            )
            .await;
        b["id"].as_str().unwrap().to_owned()
    }
}

/// A body that names no app, tenant or binding: what a caller learns
/// before a binding is found.
fn names_nothing_stored(body: &Value, w: &World) {
    let text = body.to_string();
    for stored in [w.app.as_str(), w.tenant.as_str(), "acme-app", "crt_", "app_"] {
        assert!(!text.contains(stored), "the body shows {stored:?}: {text}");
    }
}

#[tokio::test]
async fn a_bound_certificate_reaches_the_upstream_as_its_app_with_its_fingerprint() {
    let s = setup(json!(["mtls"])).await;
    let leaf = s.clients.client("billing-sync", false);
    s.bind(&leaf).await;
    let a = s.call_with(Some(&leaf), &[("x-keyway-client-cert-sha256", "spoofed"), ("x-keyway-app-id", "app_spoofed")]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let echo = a.json();
    let headers = &echo["headers"];
    assert_eq!(headers["x-keyway-app-id"], s.w.app.as_str(), "{echo}");
    assert_eq!(headers["x-keyway-tenant-id"], s.w.tenant.as_str());
    assert_eq!(headers["x-keyway-client-cert-sha256"], leaf.sha256().as_str(), "the caller's own value is replaced");
    assert!(headers.get("x-keyway-key-id").is_none(), "no key: {echo}");
    let row = log_row(&s.node, a.header("x-request-id").unwrap()).await;
    assert_eq!((row["app_id"].as_str(), row["tenant_id"].as_str()), (Some(s.w.app.as_str()), Some(s.w.tenant.as_str())), "{row}");
    assert!(row["key_id"].is_null() && row["code"].is_null(), "{row}");
}

#[tokio::test]
async fn each_client_certificate_code_tells_the_caller_only_about_its_own_certificate() {
    let s = setup(json!(["mtls"])).await;
    // No certificate sent, though the listener asked for one.
    let body = s.call(None).await.refusal(401, "client_certificate_missing");
    assert!(body["detail"].as_str().unwrap().contains("none was presented"), "{body}");
    names_nothing_stored(&body, &s.w);

    // From a CA the gateway does not trust: its fingerprint and the reason.
    let stranger = Ca::new("stranger CA").client("mallory", false);
    let body = s.call(Some(&stranger)).await.refusal(401, "client_certificate_untrusted");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&stranger.sha256()) && detail.contains("not signed by a CA this gateway trusts"), "{body}");
    names_nothing_stored(&body, &s.w);

    // Trusted CA, expired; bound, even: the chain is judged first.
    let expired = s.clients.client("old", true);
    s.bind(&expired).await;
    let body = s.call(Some(&expired)).await.refusal(401, "client_certificate_untrusted");
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
    names_nothing_stored(&body, &s.w);

    // Trusted, valid, bound to nothing: the fingerprint, so the operator can bind it.
    let unbound = s.clients.client("new-service", false);
    let a = s.call(Some(&unbound)).await;
    let body = a.refusal(401, "client_certificate_unbound");
    assert!(body["detail"].as_str().unwrap().contains(&unbound.sha256()), "{body}");
    assert!(body["hint"].as_str().unwrap().contains("bind"), "{body}");
    names_nothing_stored(&body, &s.w);
    let d = s.node.ok("POST", "/admin/v1/diagnose", json!({"request_id": a.header("x-request-id").unwrap()})).await;
    assert_eq!(d["outcome"]["code"], "client_certificate_unbound", "{d}");
    let key_step = d["steps"].as_array().unwrap().iter().find(|st| st["stage"] == "key").unwrap().clone();
    assert_eq!(key_step["result"], "fail");
    assert!(key_step["fix"].as_str().unwrap().contains(&unbound.sha256()), "the operator's fix names the fingerprint: {d}");
}

#[tokio::test]
async fn a_listener_that_asks_for_no_certificate_is_named_as_the_operators_fix() {
    let server = Ca::new("server CA");
    let tls = TlsDir::write(&common::temp_dir("mtls-noca"), &server, None);
    let node = Node::start_with(|c| tls.configure(c, false)).await;
    let w = world(&node, "acme", "/orders/v1").await;
    publish(&node, &w, json!(["mtls"]), json!([])).await;
    let leaf = Ca::new("client CA").client("svc", false);
    let body = get(&node.gateway, &server, Some(&leaf), "/m/v1/items", &[]).await.refusal(401, "client_certificate_missing");
    assert!(body["detail"].as_str().unwrap().contains("does not ask for one"), "{body}");
    assert!(body["hint"].as_str().unwrap().contains("gateway.tls.client_ca_file"), "{body}");
    names_nothing_stored(&body, &w);
}

#[tokio::test]
async fn plain_http_to_an_mtls_api_is_told_the_listener_asks_for_no_certificate() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    publish(&node, &w, json!(["mtls"]), json!([])).await;
    let body = common::expect_refusal(node.get("/m/v1/items", &[]).await, 401, "client_certificate_missing").await;
    assert!(body["hint"].as_str().unwrap().contains("HTTPS"), "{body}");
    names_nothing_stored(&body, &w);
}

#[tokio::test]
async fn a_suspended_owner_is_key_owner_suspended_and_a_deleted_binding_unbinds_without_a_restart() {
    let s = setup(json!(["mtls"])).await;
    let leaf = s.clients.client("billing-sync", false);
    let crt = s.bind(&leaf).await;
    assert_eq!(s.call(Some(&leaf)).await.status, 200);
    s.node.ok("PATCH", &format!("/admin/v1/users/{}", s.w.user), json!({"status": "suspended", "reason": "offboarding"})).await;
    let body = s.call(Some(&leaf)).await.refusal(403, "key_owner_suspended");
    assert!(body["detail"].as_str().unwrap().contains("acme-app"), "after the proof the app is named: {body}");
    s.node.ok("PATCH", &format!("/admin/v1/users/{}", s.w.user), json!({"status": "active"})).await;
    assert_eq!(s.call(Some(&leaf)).await.status, 200);
    s.node.ok("DELETE", &format!("/admin/v1/certificates/{crt}"), Value::Null).await;
    s.call(Some(&leaf)).await.refusal(401, "client_certificate_unbound");
}

#[tokio::test]
async fn scopes_come_from_the_binding() {
    let s = setup(json!(["mtls"])).await;
    let leaf = s.clients.client("reader", false);
    s.node.ok("POST", &format!("/admin/v1/apps/{}/certificates", s.w.app), json!({"sha256_fingerprint": leaf.sha256()})).await;
    let body = s.call(Some(&leaf)).await.refusal(403, "scope_insufficient");
    assert!(body["detail"].as_str().unwrap().contains("orders:read"), "{body}");
}

#[tokio::test]
async fn beside_keys_a_key_wins_a_certificate_alone_authenticates_and_neither_names_every_kind() {
    let s = setup(json!(["api_key", "mtls"])).await;
    let leaf = s.clients.client("billing-sync", false);
    s.bind(&leaf).await;
    let (key_id, secret) = new_key(&s.node, &s.w.app, json!({"scopes": ["orders:read"]})).await;
    let bearer = format!("Bearer {secret}");

    let by_cert = s.call(Some(&leaf)).await;
    assert_eq!(by_cert.status, 200, "{}", by_cert.text);
    assert_eq!(by_cert.json()["headers"]["x-keyway-client-cert-sha256"], leaf.sha256().as_str());

    let both = s.call_with(Some(&leaf), &[("authorization", &bearer)]).await;
    assert_eq!(both.status, 200, "{}", both.text);
    let echo = both.json();
    assert_eq!(echo["headers"]["x-keyway-key-id"], key_id.as_str(), "the key wins: {echo}");
    assert!(echo["headers"].get("x-keyway-client-cert-sha256").is_none(), "{echo}");

    let body = s.call(None).await.refusal(401, "credential_missing");
    let hint = body["hint"].as_str().unwrap();
    assert!(hint.contains("Authorization: Bearer <key>") && hint.contains("a TLS client certificate"), "{body}");
    // A key sent wrong is the key's refusal, not the certificate's.
    s.call_with(Some(&leaf), &[("authorization", "Bearer kw_live_short")]).await.refusal(401, "credential_malformed");
}

#[tokio::test]
async fn a_rotated_client_ca_is_picked_up_without_a_restart() {
    let s = setup(json!(["mtls"])).await;
    let next = Ca::new("next client CA");
    let leaf = next.client("billing-sync", false);
    s.bind(&leaf).await;
    s.call(Some(&leaf)).await.refusal(401, "client_certificate_untrusted");
    std::fs::write(s.tls.dir.join("clients.pem"), format!("{}{}", s.clients.cert.pem(), next.cert.pem())).unwrap();
    // The listener reads its files again every 5 s.
    let mut last = None;
    for _ in 0..60 {
        let a = s.call(Some(&leaf)).await;
        if a.status == 200 {
            return;
        }
        last = Some(a);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the new CA was not picked up: {last:?}");
}

#[tokio::test]
async fn diagnose_walks_a_certificate_call_by_fingerprint() {
    let s = setup(json!(["mtls"])).await;
    let leaf = s.clients.client("billing-sync", false);
    let crt = s.bind(&leaf).await;
    let colons = leaf
        .sha256()
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let d = s.node.ok("POST", "/admin/v1/diagnose", json!({"path": "/m/v1/items", "client_cert_sha256": colons})).await;
    assert_eq!(d["outcome"]["status"], 200, "{d}");
    assert_eq!(
        (d["request"]["app_id"].as_str(), d["request"]["certificate_id"].as_str()),
        (Some(s.w.app.as_str()), Some(crt.as_str()))
    );
    let none = s.node.ok("POST", "/admin/v1/diagnose", json!({"path": "/m/v1/items"})).await;
    assert_eq!(none["outcome"]["code"], "client_certificate_missing", "{none}");
    let (status, bad) =
        s.node.admin("POST", "/admin/v1/diagnose", json!({"path": "/m/v1/items", "client_cert_sha256": "abc"})).await;
    assert_eq!((status, bad["param"].as_str()), (400, Some("client_cert_sha256")), "{bad}");

    // By request id, after the binding is deleted: the change is in the story.
    let a = s.call(Some(&leaf)).await;
    assert_eq!(a.status, 200);
    s.node.ok("DELETE", &format!("/admin/v1/certificates/{crt}"), Value::Null).await;
    let rid = a.header("x-request-id").unwrap();
    log_row(&s.node, rid).await;
    let d = s.node.ok("POST", "/admin/v1/diagnose", json!({"request_id": rid})).await;
    let actions: Vec<&str> = d["changes_since"].as_array().unwrap().iter().filter_map(|c| c["action"].as_str()).collect();
    assert!(actions.contains(&"certificate.delete"), "{d}");
    // The CLI's hypothetical form sends the fingerprint.
    let client = keyway::admin_client::AdminClient::new(&s.node.admin, common::ADMIN_TOKEN);
    let subject = keyway::diagnose_cli::Subject::Hypothetical {
        key: None,
        headers: Vec::new(),
        method: "GET".into(),
        path: "/m/v1/items".into(),
        client_ip: None,
        client_cert_sha256: Some(leaf.sha256()),
        body: None,
    };
    let answer = keyway::diagnose_cli::fetch(&client, &subject).await.unwrap();
    assert_eq!(answer["outcome"]["code"], "client_certificate_unbound", "{answer}");
    assert!(keyway::diagnose_cli::render_text(&answer).contains("client_certificate_unbound"));
}
