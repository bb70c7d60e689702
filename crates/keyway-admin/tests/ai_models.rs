//! AI models: targets and fallbacks resolved to live providers of the
//! tenant by id or name, bounds checked, names unique per tenant, and
//! GET / list / PATCH / DELETE.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use common::{id, Harness};
use serde_json::{json, Value};

struct Ai {
    tenant: String,
    main: String,
    spare: String,
}

async fn setup(h: &Harness, slug: &str) -> Ai {
    let tenant = id(&h.ok("POST", "/admin/v1/tenants", json!({"slug": slug, "name": slug})).await);
    let provider = |name: &str| json!({"name": name, "kind": "openai", "credentials": [{"api_key": "sk-test-0123456789"}]});
    let main = id(&h.ok("POST", &format!("/admin/v1/tenants/{tenant}/providers"), provider("main")).await);
    let spare = id(&h.ok("POST", &format!("/admin/v1/tenants/{tenant}/providers"), provider("spare")).await);
    Ai { tenant, main, spare }
}

#[tokio::test]
async fn models_name_providers_by_name_or_id_and_read_back() {
    let h = Harness::new().await;
    let ai = setup(&h, "acme").await;
    let body = json!({
        "name": "gpt-4o",
        "targets": [{"provider": "main", "model": "gpt-4o-2024-08-06", "weight": 3}, {"provider": ai.spare, "model": "gpt-4o"}],
        "fallbacks": [{"provider": "spare", "model": "gpt-4o-mini"}],
        "timeout_ms": 30000,
        "price": {"input_per_mtok": 2.5, "output_per_mtok": 10, "cached_input_per_mtok": 1.25}
    });
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/models", ai.tenant), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let m = &r.json;
    let mid = id(m);
    assert!(mid.starts_with("mdl_"));
    assert_eq!(m["name"], "gpt-4o");
    assert_eq!(m["status"], "active");
    assert_eq!(
        m["targets"],
        json!([
            {"provider_id": ai.main, "model": "gpt-4o-2024-08-06", "weight": 3},
            {"provider_id": ai.spare, "model": "gpt-4o", "weight": 1},
        ])
    );
    assert_eq!(m["fallbacks"], json!([{"provider_id": ai.spare, "model": "gpt-4o-mini"}]));
    assert_eq!(m["timeout_ms"], 30000);
    assert_eq!(m["price"], json!({"input_per_mtok": 2.5, "output_per_mtok": 10.0, "cached_input_per_mtok": 1.25}));
    assert_eq!(h.ok("GET", &format!("/admin/v1/models/{mid}"), Value::Null).await, *m);
    let all = h.ok("GET", &format!("/admin/v1/tenants/{}/models", ai.tenant), Value::Null).await;
    assert_eq!(all["data"], json!([m]));
    let snap = h.state.snapshot.load();
    assert_eq!(snap.models.values().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["gpt-4o"]);

    // The bare minimum: no fallbacks, the gateway's timeout, the built-in prices.
    let bare = h
        .ok(
            "POST",
            &format!("/admin/v1/tenants/{}/models", ai.tenant),
            json!({"name": "m2", "targets": [{"provider": "main", "model": "x"}]}),
        )
        .await;
    assert_eq!(
        (bare["fallbacks"].clone(), bare["timeout_ms"].clone(), bare["price"].clone()),
        (json!([]), Value::Null, Value::Null)
    );
    let audit = h.ok("GET", &format!("/admin/v1/audit?resource_type=model&tenant_id={}", ai.tenant), Value::Null).await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_models_are_refused_with_the_field_named() {
    let h = Harness::new().await;
    let ai = setup(&h, "acme").await;
    let other = setup(&h, "other").await;
    let path = format!("/admin/v1/tenants/{}/models", ai.tenant);
    let t = json!([{"provider": "main", "model": "x"}]);
    let before = h.fingerprint().await;
    let many: Vec<Value> = (0..17).map(|_| json!({"provider": "main", "model": "x"})).collect();
    let invalid = [
        (json!({"name": "m", "targets": []}), "targets"),
        (json!({"name": "m"}), "targets"),
        (json!({"name": "m", "targets": many.clone()}), "targets"),
        (json!({"name": "m", "targets": t, "fallbacks": many}), "fallbacks"),
        (json!({"name": "has space", "targets": t}), "name"),
        (json!({"name": "", "targets": t}), "name"),
        (json!({"name": "a".repeat(201), "targets": t}), "name"),
        (json!({"name": "m", "targets": [{"provider": "main", "model": ""}]}), "targets[0].model"),
        (json!({"name": "m", "targets": [{"provider": "main", "model": "x", "weight": 0}]}), "targets[0].weight"),
        (json!({"name": "m", "targets": [{"provider": "main", "model": "x", "weight": 1001}]}), "targets[0].weight"),
        (json!({"name": "m", "targets": [{"provider": "main", "model": "x", "weight": 1.5}]}), "targets[0].weight"),
        (json!({"name": "m", "targets": [{"provider": "main", "model": "x", "extra": 1}]}), "targets[0].extra"),
        (
            json!({"name": "m", "targets": t, "fallbacks": [{"provider": "main", "model": "x", "weight": 2}]}),
            "fallbacks[0].weight",
        ),
        (json!({"name": "m", "targets": t, "timeout_ms": 0}), "timeout_ms"),
        (json!({"name": "m", "targets": t, "timeout_ms": 600_001}), "timeout_ms"),
        (json!({"name": "m", "targets": t, "price": {"input_per_mtok": -1, "output_per_mtok": 1}}), "price.input_per_mtok"),
        (
            json!({"name": "m", "targets": t, "price": {"input_per_mtok": 1, "output_per_mtok": 1, "cached_input_per_mtok": -0.5}}),
            "price.cached_input_per_mtok",
        ),
        (json!({"name": "m", "targets": t, "price": {"input_per_mtok": 1}}), "price.output_per_mtok"),
        (json!({"name": "m", "targets": t, "price": {"input_per_mtok": 1, "output_per_mtok": 1, "euro": 1}}), "price.euro"),
        (json!({"name": "m", "targets": t, "unknown": true}), "unknown"),
    ];
    for (body, param) in invalid {
        let r = h.call("POST", &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    let unknown = [
        (json!({"name": "m", "targets": [{"provider": "nope", "model": "x"}]}), "targets[0].provider"),
        (json!({"name": "m", "targets": [{"provider": other.main, "model": "x"}]}), "targets[0].provider"),
        (json!({"name": "m", "targets": [t[0].clone(), {"provider": "prv_nope", "model": "x"}]}), "targets[1].provider"),
        (json!({"name": "m", "targets": t, "fallbacks": [{"provider": "nope", "model": "x"}]}), "fallbacks[0].provider"),
    ];
    for (body, param) in unknown {
        let r = h.call("POST", &path, Some(body.clone())).await;
        let p = r.problem(422, "reference_invalid");
        assert_eq!(p["param"], param, "{body}");
        assert!(p["detail"].as_str().unwrap().contains(param), "{p}");
    }
    h.call("POST", "/admin/v1/tenants/ten_nope/models", Some(json!({"name": "m", "targets": t})))
        .await
        .problem(404, "resource_not_found");
    assert_eq!(h.fingerprint().await, before, "nothing written");

    // Bounds that are allowed.
    let edge = json!({"name": "m", "targets": [{"provider": "main", "model": "x", "weight": 1000}], "timeout_ms": 600_000,
                      "price": {"input_per_mtok": 0, "output_per_mtok": 0}});
    h.ok("POST", &path, edge).await;
}

#[tokio::test]
async fn names_are_unique_per_tenant_and_deleted_providers_cannot_be_targeted() {
    let h = Harness::new().await;
    let (a, b) = (setup(&h, "a").await, setup(&h, "b").await);
    let body = json!({"name": "gpt-4o", "targets": [{"provider": "main", "model": "gpt-4o"}]});
    let first = id(&h.ok("POST", &format!("/admin/v1/tenants/{}/models", a.tenant), body.clone()).await);
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/models", a.tenant), Some(body.clone())).await;
    let p = r.problem(409, "already_exists");
    assert_eq!(p["param"], "name");
    assert!(p["detail"].as_str().unwrap().contains("gpt-4o"));
    h.ok("POST", &format!("/admin/v1/tenants/{}/models", b.tenant), body.clone()).await;
    h.ok("DELETE", &format!("/admin/v1/models/{first}"), Value::Null).await;
    h.ok("POST", &format!("/admin/v1/tenants/{}/models", a.tenant), body).await;

    let spare_only = json!({"name": "s", "targets": [{"provider": "spare", "model": "x"}]});
    h.ok("DELETE", &format!("/admin/v1/providers/{}", a.spare), Value::Null).await;
    let r = h.call("POST", &format!("/admin/v1/tenants/{}/models", a.tenant), Some(spare_only)).await;
    assert_eq!(r.problem(422, "reference_invalid")["param"], "targets[0].provider");
}

#[tokio::test]
async fn patch_replaces_and_delete_is_soft() {
    let h = Harness::new().await;
    let ai = setup(&h, "acme").await;
    let path = format!("/admin/v1/tenants/{}/models", ai.tenant);
    let m = h
        .ok(
            "POST",
            &path,
            json!({"name": "gpt-4o", "targets": [{"provider": "main", "model": "a"}], "fallbacks": [{"provider": "spare", "model": "b"}],
                   "timeout_ms": 1000, "price": {"input_per_mtok": 1, "output_per_mtok": 2}}),
        )
        .await;
    let mid = id(&m);
    let one = format!("/admin/v1/models/{mid}");
    let p = h
        .ok(
            "PATCH",
            &one,
            json!({"name": "gpt-4o-prod", "targets": [{"provider": ai.spare, "model": "c", "weight": 5}], "fallbacks": []}),
        )
        .await;
    assert_eq!(p["name"], "gpt-4o-prod");
    assert_eq!(p["targets"], json!([{"provider_id": ai.spare, "model": "c", "weight": 5}]));
    assert_eq!((p["fallbacks"].clone(), p["timeout_ms"].clone()), (json!([]), json!(1000)), "fallbacks replaced, timeout kept");
    let p = h.ok("PATCH", &one, json!({"timeout_ms": null, "price": null})).await;
    assert_eq!((p["timeout_ms"].clone(), p["price"].clone()), (Value::Null, Value::Null));
    let p = h.ok("PATCH", &one, json!({"price": {"input_per_mtok": 3, "output_per_mtok": 4}, "timeout_ms": 2000})).await;
    assert_eq!((p["price"]["input_per_mtok"].clone(), p["timeout_ms"].clone()), (json!(3.0), json!(2000)));
    assert_eq!(h.ok("GET", &one, Value::Null).await, p);

    h.ok("POST", &path, json!({"name": "taken", "targets": [{"provider": "main", "model": "a"}]})).await;
    let cases = [
        (json!({"name": "taken"}), 409, "already_exists", json!("name")),
        (json!({"targets": [{"provider": "nope", "model": "a"}]}), 422, "reference_invalid", json!("targets[0].provider")),
        (json!({"targets": []}), 400, "request_invalid", json!("targets")),
        (json!({"targets": null}), 400, "request_invalid", json!("targets")),
        (json!({"timeout_ms": 600_001}), 400, "request_invalid", json!("timeout_ms")),
        (json!({"tenant_id": "x"}), 400, "request_invalid", json!("tenant_id")),
        (json!({}), 400, "request_invalid", Value::Null),
    ];
    for (body, status, code, param) in cases {
        let r = h.call("PATCH", &one, Some(body.clone())).await;
        assert_eq!(r.problem(status, code).get("param").cloned().unwrap_or(Value::Null), param, "{body}");
    }

    let d = h.ok("DELETE", &one, Value::Null).await;
    assert_eq!(d["status"], "deleted");
    assert!(d["deleted_at"].is_string());
    assert_eq!(h.ok("GET", &one, Value::Null).await["status"], "deleted", "a deleted model still answers");
    h.call("DELETE", &one, None).await.problem(409, "invalid_state");
    h.call("PATCH", &one, Some(json!({"name": "x"}))).await.problem(409, "invalid_state");
    h.call("GET", "/admin/v1/models/mdl_nope", None).await.problem(404, "resource_not_found");
    let actions: Vec<String> = h.ok("GET", &format!("/admin/v1/audit?resource_id={mid}"), Value::Null).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["model.delete", "model.update", "model.update", "model.update", "model.create"]);
}
