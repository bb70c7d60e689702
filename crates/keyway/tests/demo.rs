//! The demo seeds a world whose printed curl lines give the promised
//! answers, and whose diagnose lines explain them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;
use keyway::admin_client::AdminClient;
use keyway::diagnose_cli::{self, Subject};

/// A hypothetical `GET path` with this key and these headers.
fn get(path: &str, key: Option<&String>, headers: Vec<(String, String)>) -> Subject {
    Subject::Hypothetical {
        key: key.cloned(),
        headers,
        method: "GET".into(),
        path: path.to_owned(),
        client_ip: None,
        client_cert_sha256: None,
        body: None,
    }
}

#[tokio::test]
async fn demo_lines_show_one_acceptance_and_each_named_refusal() {
    let mut c = config(temp_dir("demo"));
    c.admin.token = None;
    let (running, w) = keyway::demo::start(c).await.unwrap();
    let text = keyway::demo::instructions(&w);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}{}", w.gateway, w.path);
    let cases = [
        (&w.good_key, 200, None),
        (&w.unknown_key, 401, Some("key_unknown")),
        (&w.typo_key, 401, Some("credential_malformed")),
        (&w.revoked_key, 401, Some("key_revoked")),
        (&w.suspended_owner_key, 403, Some("key_owner_suspended")),
        (&w.other_tenant_key, 403, Some("tenant_mismatch")),
    ];
    let admin = AdminClient::new(&w.admin, &w.admin_token);
    for (key, status, code) in cases {
        assert!(text.contains(&format!("curl -si {url} -H 'Authorization: Bearer {key}'")), "demo prints the curl line");
        let resp = http.get(&url).bearer_auth(key).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.headers().get("x-keyway-error-code").and_then(|v| v.to_str().ok()), code);
        let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        if let Some(code) = code {
            assert!(text.contains(&format!("keyway diagnose --key {key} --method GET --path {}", w.path)));
            // The printed diagnose line, as the CLI would run it.
            let d = diagnose_cli::fetch(&admin, &get(&w.path, Some(key), vec![])).await.unwrap();
            let out = diagnose_cli::render_text(&d);
            assert!(out.contains(&format!("-> {status} {code}")), "{out}");
            assert!(out.contains("FAIL"), "{out}");
            assert!(!out.contains(key.as_str()), "diagnose output never shows the key");
            // And by request id, once the row is written.
            let mut replayed = None;
            for _ in 0..100 {
                if let Ok(d) = diagnose_cli::fetch(&admin, &Subject::Request(rid.clone())).await {
                    replayed = Some(d);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let out = diagnose_cli::render_text(&replayed.expect("request id diagnosable"));
            assert!(out.starts_with(&format!("request {rid} GET {}  -> {status} {code}", w.path)), "{out}");
        }
    }
    // The printed `keyway diagnose <id>` line names a real refused call.
    assert!(w.refused_request_id.starts_with("req_"), "{}", w.refused_request_id);
    assert!(text.contains(&format!("keyway diagnose {}\n", w.refused_request_id)), "{text}");
    assert!(!text.contains("req_..."), "{text}");
    let d = diagnose_cli::fetch(&admin, &Subject::Request(w.refused_request_id.clone())).await.unwrap();
    assert!(diagnose_cli::render_text(&d).contains("-> 403 key_owner_suspended"));
    // The owner-suspended story names who and why, for the operator.
    let d = diagnose_cli::fetch(&admin, &get(&w.path, Some(&w.suspended_owner_key), vec![])).await.unwrap();
    let out = diagnose_cli::render_text(&d);
    assert!(out.contains("ops@acme.test") && out.contains("offboarding"), "{out}");
    // A key in a header the API does not read: diagnose reproduces it.
    let d = diagnose_cli::fetch(&admin, &get(&w.path, None, vec![("api-key".into(), w.good_key.clone())])).await.unwrap();
    let out = diagnose_cli::render_text(&d);
    assert!(out.contains("-> 401 credential_in_wrong_place") && out.contains("header api-key"), "{out}");
    // The AI lines: the printed chat call answers from the demo model,
    // metered on its call-log row.
    let ai = format!("{}{}/v1/chat/completions", w.gateway, w.ai_base_path);
    assert!(text.contains(&format!("curl -s {ai} -H 'Authorization: Bearer {}'", w.good_key)), "{text}");
    let body = serde_json::json!({"model": w.ai_model, "messages": [{"role": "user", "content": "Hi"}]});
    let resp = http.post(&ai).bearer_auth(&w.good_key).json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let answer: serde_json::Value = resp.json().await.unwrap();
    assert!(answer["choices"][0]["message"]["content"].as_str().unwrap().contains("You said: Hi"), "{answer}");
    let mut row = serde_json::Value::Null;
    for _ in 0..100 {
        let v = admin.ok("GET", &format!("/admin/v1/logs?request_id={rid}"), None).await.unwrap();
        if let Some(r) = v["data"].as_array().and_then(|a| a.first()) {
            row = r.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(row["model"], w.ai_model.as_str(), "{row}");
    assert!(row["cost_usd"].as_f64().unwrap() > 0.0, "{row}");
    for (key, status, code) in [(&w.ai_budget_key, 429, "budget_exceeded"), (&w.ai_embed_only_key, 403, "model_not_allowed")] {
        assert!(text.contains(&format!("-H 'Authorization: Bearer {key}'")), "{text}");
        let resp = http.post(&ai).bearer_auth(key).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        let e: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(e["error"]["code"], code, "{e}");
    }
    running.shutdown().await;
}
