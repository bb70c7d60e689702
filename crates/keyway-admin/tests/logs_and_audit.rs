//! The call log and the audit log, read through their filters.

mod common;

use chrono::{Duration, Utc};
use common::Harness;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use keyway_core::{ErrorCode, Stage, Trace};
use serde_json::Value;

fn row(minutes_ago: i64, key: &str, code: Option<ErrorCode>) -> CallLogRow {
    let mut trace = Trace::default();
    trace.pass(Stage::Route, "api orders v1 (tenant acme)".to_owned());
    let time = Utc::now() - Duration::minutes(minutes_ago);
    CallLogRow {
        request_id: RequestId::at(time),
        time,
        tenant_id: Some(TenantId::from("ten_a")),
        api_id: Some(ApiId::from("api_a")),
        app_id: Some(AppId::from("app_a")),
        key_id: Some(KeyId::from(key)),
        key_prefix: Some("kw_live_abcd".into()),
        method: "GET".into(),
        path: "/orders/v1/items".into(),
        status: if code.is_some() { 401 } else { 200 },
        code,
        client_ip: "203.0.113.9".into(),
        latency_ms: 2.5,
        upstream_latency_ms: code.is_none().then_some(1.25),
        model: None,
        provider: None,
        tokens_estimated: false,
        token_details: None,
        prompt_tokens: None,
        completion_tokens: None,
        cost_usd: None,
        trace,
    }
}

#[tokio::test]
async fn logs_are_filtered_and_carry_the_documented_fields() {
    let h = Harness::new().await;
    let rows = vec![
        row(30, "key_1", None),
        row(20, "key_2", Some(ErrorCode::KeyRevoked)),
        row(10, "key_1", Some(ErrorCode::KeyUnknown)),
    ];
    let rid = rows[1].request_id.to_string();
    h.state.store.insert_calls(&rows).await.unwrap();

    let all = h.ok("GET", "/admin/v1/logs", Value::Null).await;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    // Newest first.
    assert_eq!(data[0]["code"], "key_unknown");
    for field in [
        "request_id",
        "time",
        "tenant_id",
        "api_id",
        "app_id",
        "key_id",
        "key_prefix",
        "method",
        "path",
        "status",
        "code",
        "client_ip",
        "latency_ms",
        "upstream_latency_ms",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "trace",
    ] {
        assert!(data[0].get(field).is_some(), "{field} missing from {}", data[0]);
    }
    assert_eq!(data[0]["trace"][0]["stage"], "route");

    let count = |v: &Value| v["data"].as_array().unwrap().len();
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/logs?request_id={rid}"), Value::Null).await), 1);
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs?key_id=key_1", Value::Null).await), 2);
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs?code=key_revoked", Value::Null).await), 1);
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs?tenant_id=ten_a&app_id=app_a&api_id=api_a", Value::Null).await), 3);
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs?tenant_id=ten_b", Value::Null).await), 0);
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs?limit=2", Value::Null).await), 2);
    let since = (Utc::now() - Duration::minutes(25)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/logs?since={since}"), Value::Null).await), 2);
    let until = (Utc::now() - Duration::minutes(15)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/logs?until={until}"), Value::Null).await), 2);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/logs?since={since}&until={until}"), Value::Null).await), 1);
    // An empty value is refused rather than read as "no filter": a client
    // that meant to filter learns it sent nothing. Leave the filter out.
    let r = h.call("GET", "/admin/v1/logs?request_id=&key_id=&code=", None).await;
    assert_eq!(r.problem(400, "request_invalid")["param"], "request_id");
    assert_eq!(count(&h.ok("GET", "/admin/v1/logs", Value::Null).await), 3);
}

#[tokio::test]
async fn audit_is_filtered() {
    let h = Harness::new().await;
    let acme = h.world("acme", "/orders/v1").await;
    let globex = h.world("globex", "/billing/v1").await;
    let count = |v: &Value| v["data"].as_array().unwrap().len();

    let all = h.ok("GET", "/admin/v1/audit", Value::Null).await;
    assert_eq!(count(&all), 8);
    let e = &all["data"][0];
    for field in ["id", "time", "actor", "action", "resource_type", "resource_id", "tenant_id", "before", "after"] {
        assert!(e.get(field).is_some(), "{field} missing from {e}");
    }
    assert!(e["id"].as_str().unwrap().starts_with("aud_"));
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/audit?tenant_id={}", acme.tenant), Value::Null).await), 4);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/audit?resource_id={}", globex.app), Value::Null).await), 1);
    assert_eq!(count(&h.ok("GET", "/admin/v1/audit?resource_type=user", Value::Null).await), 2);
    let actor = e["actor"].as_str().unwrap();
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/audit?actor={actor}"), Value::Null).await), 8);
    assert_eq!(count(&h.ok("GET", "/admin/v1/audit?actor=adm_other", Value::Null).await), 0);
    assert_eq!(count(&h.ok("GET", "/admin/v1/audit?limit=3", Value::Null).await), 3);
    let future = (Utc::now() + Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/audit?since={future}"), Value::Null).await), 0);
    assert_eq!(count(&h.ok("GET", &format!("/admin/v1/audit?until={future}"), Value::Null).await), 8);
}
