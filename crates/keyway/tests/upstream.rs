//! The upstream hop: balancing, bodies, timeouts, unreachable targets,
//! body limits, trusted proxies and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

async fn api(node: &Node, tenant: &str, base: &str, upstream: Value) {
    node.ok(
        "POST",
        &format!("/admin/v1/tenants/{tenant}/apis"),
        json!({"name": base.trim_start_matches('/'), "version": "v1", "base_path": base, "upstream": upstream,
               "auth": ["api_key"], "requires_approval": false, "visibility": "tenant"}),
    )
    .await;
}

#[tokio::test]
async fn weighted_round_robin_over_targets() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let second = keyway::echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    api(
        &node,
        &w.tenant,
        "/rr",
        json!({"targets": [{"url": node.upstream_url(), "weight": 1}, {"url": format!("http://{second}"), "weight": 3}]}),
    )
    .await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let mut hits: HashMap<String, u32> = HashMap::new();
    for _ in 0..40 {
        let echo: Value = node.get_bearer("/rr/x", &key).await.json().await.unwrap();
        *hits.entry(echo["headers"]["host"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(hits.get(&node.upstream.to_string()), Some(&10), "{hits:?}");
    assert_eq!(hits.get(&second.to_string()), Some(&30), "{hits:?}");
}

#[tokio::test]
async fn request_bodies_stream_through_and_oversized_ones_are_refused() {
    let node = Node::start_with(|c| c.gateway.max_body_bytes = 64 * 1024).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let body = vec![b'x'; 60 * 1024];
    let resp = node.http.post(format!("{}/orders/v1/upload", node.gateway)).bearer_auth(&key).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body_bytes"], 60 * 1024);

    let big = vec![b'x'; 65 * 1024];
    let resp = node.http.post(format!("{}/orders/v1/upload", node.gateway)).bearer_auth(&key).body(big).send().await.unwrap();
    expect_refusal(resp, 413, "payload_too_large").await;
}

#[tokio::test]
async fn unreachable_upstream_is_upstream_unavailable() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // The listener is dropped: connections to it are refused.
    api(&node, &w.tenant, "/down", json!({"targets": [{"url": format!("http://{closed}")}]})).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let body = expect_refusal(node.get_bearer("/down/x", &key).await, 502, "upstream_unavailable").await;
    assert!(!body.to_string().contains(&closed.port().to_string()), "upstream address is the operator's: {body}");
}

#[tokio::test]
async fn silent_upstream_is_upstream_timeout() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    api(&node, &w.tenant, "/slow", json!({"targets": [{"url": format!("http://{addr}")}], "timeout_ms": 300})).await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let started = std::time::Instant::now();
    expect_refusal(node.get_bearer("/slow/x", &key).await, 504, "upstream_timeout").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn client_ip_comes_from_trusted_proxies_only() {
    let node = Node::start_with(|c| c.gateway.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    let resp =
        node.get("/orders/v1/x", &[("authorization", &format!("Bearer {key}")), ("x-forwarded-for", "198.51.100.7")]).await;
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let echo: Value = resp.json().await.unwrap();
    // The chain grows by the peer that connected to the gateway.
    assert_eq!(echo["headers"]["x-forwarded-for"], "198.51.100.7, 127.0.0.1");
    let mut row = Value::Null;
    for _ in 0..100 {
        let v = node.ok("GET", &format!("/admin/v1/logs?request_id={rid}"), Value::Null).await;
        if let Some(r) = v["data"].as_array().and_then(|a| a.first()) {
            row = r.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(row["client_ip"], "198.51.100.7");
}

#[tokio::test]
async fn metrics_count_refusals_by_code() {
    let node = Node::start().await;
    let w = world(&node, "acme", "/orders/v1").await;
    let (_, key) = new_key(&node, &w.app, json!({})).await;
    node.get("/orders/v1/x", &[]).await;
    assert_eq!(node.get_bearer("/orders/v1/x", &key).await.status(), 200);
    let text = node.http.get(format!("{}/metrics", node.admin)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("keyway_gateway_requests_total{code=\"credential_missing\"}"), "{text}");
    assert!(text.contains("keyway_gateway_requests_total{code=\"ok\"}"), "{text}");
}
