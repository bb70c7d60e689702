//! Export of the call log and of traces, end to end against real servers
//! on loopback: OTLP/HTTP spans of an accepted and a refused call (decoded
//! with the OTLP protobuf types), the JSON-lines file after a graceful
//! shutdown, and the JSON-lines endpoint being down, then up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::receiver::{closed_addr, Received, Receiver};
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use prost::Message;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &Span, key: &str) -> Option<Any> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.clone()).and_then(|v| v.value)
}

fn text(span: &Span, key: &str) -> Option<String> {
    match attr(span, key) {
        Some(Any::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// Every span received, with the `service.name` of its resource.
fn decode(received: &[Received]) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for r in received {
        assert_eq!(r.path, "/v1/traces");
        assert_eq!(r.content_type.as_deref(), Some("application/x-protobuf"));
        let req = ExportTraceServiceRequest::decode(r.body.as_ref()).unwrap();
        for rs in req.resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value);
            let service = match service {
                Some(Any::StringValue(s)) => s,
                other => panic!("service.name {other:?}"),
            };
            for ss in rs.scope_spans {
                out.extend(ss.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
    }
    out
}

fn request_ids(spans: &[(String, Span)]) -> HashSet<String> {
    spans.iter().filter(|(_, s)| s.name == "keyway.request").filter_map(|(_, s)| text(s, "keyway.request_id")).collect()
}

/// The root span of `request_id` and its children, in start order.
fn trace_of(spans: &[(String, Span)], request_id: &str) -> (Span, Vec<Span>) {
    let root = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "keyway.request" && text(s, "keyway.request_id").as_deref() == Some(request_id))
        .unwrap()
        .clone();
    let mut children: Vec<Span> = spans.iter().map(|(_, s)| s).filter(|s| s.parent_span_id == root.span_id).cloned().collect();
    children.sort_by_key(|s| s.start_time_unix_nano);
    (root, children)
}

#[tokio::test]
async fn otlp_spans_of_an_accepted_call_and_of_a_refused_one() {
    let collector = Receiver::start("127.0.0.1:0".parse().unwrap()).await;
    let node = Node::start_with(|c| c.export.otlp.endpoint = Some(collector.url())).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (key_id, key) = new_key(&node, &w.app, json!({})).await;
    let (revoked_id, revoked) = new_key(&node, &w.app, json!({})).await;
    node.ok("POST", &format!("/admin/v1/keys/{revoked_id}/revoke"), json!({"reason": "test"})).await;

    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let ok = node.get("/orders/v1/items?x=1", &[("authorization", &format!("Bearer {key}")), ("traceparent", &caller)]).await;
    assert_eq!(ok.status(), 200);
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    let echo: Value = ok.json().await.unwrap();
    // The upstream is told the gateway's span, in the caller's trace.
    let forwarded = echo["headers"]["traceparent"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = forwarded.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", CALLER_TRACE, "01"), "{forwarded}");
    assert_ne!(parts[2], CALLER_SPAN);

    let refused = node.get_bearer("/orders/v1/items", &revoked).await;
    assert_eq!(refused.status(), 401);
    let refused_id = refused.headers()["x-request-id"].to_str().unwrap().to_owned();

    let got = collector
        .wait_until(Duration::from_secs(10), |r| {
            let ids = request_ids(&decode(r));
            ids.contains(&ok_id) && ids.contains(&refused_id)
        })
        .await;
    let spans = decode(&got);
    assert!(spans.iter().all(|(service, _)| service == "keyway"));

    // The accepted call: a server span under the caller's, a child per stage.
    let (root, children) = trace_of(&spans, &ok_id);
    assert_eq!(hex(&root.trace_id), CALLER_TRACE);
    assert_eq!(hex(&root.parent_span_id), CALLER_SPAN);
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(text(&root, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(text(&root, "url.path").as_deref(), Some("/orders/v1/items"));
    assert_eq!(attr(&root, "http.response.status_code"), Some(Any::IntValue(200)));
    assert_eq!(text(&root, "keyway.key.id"), Some(key_id.clone()));
    assert_eq!(text(&root, "keyway.app.id"), Some(w.app.clone()));
    assert_eq!(text(&root, "keyway.tenant.id"), Some(w.tenant.clone()));
    assert_eq!(text(&root, "keyway.api.id"), Some(w.api.clone()));
    assert_eq!(text(&root, "keyway.refusal.code"), None);
    assert_ne!(root.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));
    let names: Vec<&str> = children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "keyway.route",
            "keyway.credential",
            "keyway.key",
            "keyway.identity",
            "keyway.authorization",
            "keyway.limits",
            "keyway.upstream"
        ]
    );
    let mut from = root.start_time_unix_nano;
    for s in &children {
        assert_eq!(s.trace_id, root.trace_id);
        assert!(s.start_time_unix_nano >= from && s.end_time_unix_nano >= s.start_time_unix_nano, "{}", s.name);
        assert!(s.end_time_unix_nano <= root.end_time_unix_nano, "{} ends after the request", s.name);
        assert_ne!(s.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32), "{}", s.name);
        from = s.end_time_unix_nano;
    }
    let upstream = children.last().unwrap();
    assert_eq!(upstream.kind, SpanKind::Client as i32);
    assert_eq!(hex(&upstream.span_id), parts[2], "the forwarded traceparent names the upstream span");
    assert!(upstream.end_time_unix_nano > upstream.start_time_unix_nano);

    // The refused call: a new trace, the key stage failed, nothing after it.
    let (root, children) = trace_of(&spans, &refused_id);
    assert!(root.parent_span_id.is_empty(), "no caller trace: a root span");
    assert_ne!(hex(&root.trace_id), CALLER_TRACE);
    assert_eq!(text(&root, "keyway.refusal.code").as_deref(), Some("key_revoked"));
    assert_eq!(attr(&root, "http.response.status_code"), Some(Any::IntValue(401)));
    let names: Vec<&str> = children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["keyway.route", "keyway.credential", "keyway.key"]);
    let failed = children.last().unwrap();
    let status = failed.status.clone().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "key_revoked");
    assert_eq!(text(failed, "keyway.stage.result").as_deref(), Some("fail"));

    // No secret in any span.
    for (_, s) in &spans {
        let all = format!("{s:?}");
        assert!(!all.contains(&key) && !all.contains(&revoked), "a key in span {}", s.name);
    }
}

#[tokio::test]
async fn otlp_off_by_default_leaves_the_callers_traceparent_alone() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let echo: Value = node
        .get("/orders/v1/items", &[("authorization", &format!("Bearer {key}")), ("traceparent", &caller)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(echo["headers"]["traceparent"], caller.as_str());
}

/// Makes `n` calls, every `refused_every`th without a key (refused, 401);
/// returns their request ids.
async fn calls(node: &Node, key: &str, n: usize, refused_every: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let resp = if i % refused_every == 0 {
            node.get("/orders/v1/items", &[]).await
        } else {
            node.get_bearer("/orders/v1/items", key).await
        };
        ids.push(resp.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    ids
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn json_lines_file_holds_every_call_after_a_graceful_shutdown() {
    let dir = temp_dir("export-file");
    let file = dir.join("calls.ndjson");
    let path = file.clone();
    let mut node = Node::start_with(move |c| {
        c.export.log.file = Some(path);
        // Rows wait for shutdown (or a flush): the drain is what is tested.
        c.call_log.flush_interval_ms = 3_600_000;
    })
    .await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let mut ids = calls(&node, &key, 30, 3).await;
    // The admin API's call-log row and the exported line are the same object.
    let admin = node.ok("GET", &format!("/admin/v1/logs?request_id={}", ids[1]), Value::Null).await;
    let admin_row = admin["data"][0].clone();
    let mut exported = Vec::new();
    for _ in 0..200 {
        exported = lines(&std::fs::read_to_string(&file).unwrap_or_default());
        if exported.iter().any(|r| r["request_id"] == ids[1].as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(exported.iter().find(|r| r["request_id"] == ids[1].as_str()), Some(&admin_row));

    for _ in 0..20 {
        let resp = node.get_bearer("/orders/v1/items", &key).await;
        ids.push(resp.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    node.stop().await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&key), "a key in the exported call log");
    let rows = lines(&text);
    assert_eq!(rows.len(), ids.len(), "one line per call, none twice");
    let got: HashSet<&str> = rows.iter().map(|r| r["request_id"].as_str().unwrap()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect());
    let by_id: HashMap<&str, &Value> = rows.iter().map(|r| (r["request_id"].as_str().unwrap(), r)).collect();
    assert_eq!(by_id[ids[0].as_str()]["code"], "credential_missing");
    assert_eq!(by_id[ids[0].as_str()]["status"], 401);
    assert_eq!(by_id[ids[2].as_str()]["status"], 200);
    assert_eq!(by_id[ids[2].as_str()]["key_prefix"], &key[..12]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn json_lines_file_is_reopened_on_sighup() {
    let dir = temp_dir("export-hup");
    let file = dir.join("calls.ndjson");
    let path = file.clone();
    let mut node = Node::start_with(move |c| c.export.log.file = Some(path)).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let mut ids = calls(&node, &key, 10, 5).await;
    for _ in 0..200 {
        if lines(&std::fs::read_to_string(&file).unwrap_or_default()).len() == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What logrotate does: move the file, then SIGHUP.
    let rotated = dir.join("calls.ndjson.1");
    std::fs::rename(&file, &rotated).unwrap();
    let hup = std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(hup.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    ids.extend(calls(&node, &key, 10, 5).await);
    node.stop().await;
    let old = lines(&std::fs::read_to_string(&rotated).unwrap());
    let new = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(old.len(), 10, "the rotated file keeps what was written before SIGHUP");
    assert_eq!(new.len(), 10, "the new file has every call since");
    let got: HashSet<&str> = old.iter().chain(&new).map(|r| r["request_id"].as_str().unwrap()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect());
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn metric(node: &Node, name: &str) -> f64 {
    let text =
        node.http.get(format!("{}/metrics", node.admin)).bearer_auth(ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn json_lines_endpoint_down_then_up_gets_every_call() {
    let addr = closed_addr();
    let node = Node::start_with(|c| c.export.log.url = Some(format!("http://{addr}/ingest"))).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let mut ids: HashSet<String> = calls(&node, &key, 40, 4).await.into_iter().collect();
    // Down: the exporter retries (and counts it) while calls keep being served.
    let retries = r#"keyway_export_retries_total{sink="log_http"}"#;
    for _ in 0..200 {
        if metric(&node, retries).await > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(metric(&node, retries).await > 0.0, "no retry counted while the endpoint is down");
    let resp = node.get_bearer("/orders/v1/items", &key).await;
    assert_eq!(resp.status(), 200);
    ids.insert(resp.headers()["x-request-id"].to_str().unwrap().to_owned());

    // Up: everything held arrives, in order, as newline-delimited JSON.
    let endpoint = Receiver::start(addr).await;
    let got = endpoint
        .wait_until(Duration::from_secs(20), |r| {
            let seen: HashSet<String> = r
                .iter()
                .flat_map(|r| lines(std::str::from_utf8(&r.body).unwrap()))
                .map(|v| v["request_id"].as_str().unwrap().to_owned())
                .collect();
            ids.is_subset(&seen)
        })
        .await;
    assert!(!got.is_empty());
    for r in &got {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/ingest"));
        assert_eq!(r.content_type.as_deref(), Some("application/x-ndjson"));
        assert!(r.body.ends_with(b"\n"));
    }
    let rows: Vec<Value> = got.iter().flat_map(|r| lines(std::str::from_utf8(&r.body).unwrap())).collect();
    let seen: HashSet<String> = rows.iter().map(|v| v["request_id"].as_str().unwrap().to_owned()).collect();
    assert!(ids.is_subset(&seen), "{} of {} calls arrived", ids.intersection(&seen).count(), ids.len());
    assert_eq!(rows.len(), seen.len(), "no row sent twice");
    assert_eq!(metric(&node, r#"keyway_export_dropped_total{sink="log_http"}"#).await, 0.0);
    assert!(rows.iter().any(|r| r["code"] == "credential_missing"));
}
