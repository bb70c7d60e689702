//! `keyway diagnose`: asks the admin API why a request was (or would be)
//! refused and prints the stages as in `errors.md`.

use crate::admin_client::AdminClient;
use serde_json::{json, Value};
use std::fmt::Write;

/// What to diagnose.
#[derive(Clone, Debug)]
pub enum Subject {
    /// A request that happened, by its `x-request-id`.
    Request(String),
    /// A call that could happen now.
    Hypothetical {
        /// The key to try as `Authorization: Bearer` (sent only to the
        /// admin API, never printed), if any.
        key: Option<String>,
        /// Headers to send as the caller would (`name: value`), e.g. to
        /// reproduce a key sent in the wrong header.
        headers: Vec<(String, String)>,
        /// HTTP method.
        method: String,
        /// Path, e.g. `/orders/v1/items`.
        path: String,
        /// Client IP to assume.
        client_ip: Option<String>,
        /// SHA-256 of a TLS client certificate the call presents (assumed
        /// trusted by the listener).
        client_cert_sha256: Option<String>,
        /// The body, for a signed request's `Content-Digest`.
        body: Option<String>,
    },
}

/// Calls `POST /admin/v1/diagnose` and returns its JSON.
pub async fn fetch(client: &AdminClient, subject: &Subject) -> anyhow::Result<Value> {
    let body = match subject {
        Subject::Request(id) => json!({ "request_id": id }),
        Subject::Hypothetical { key, headers, method, path, client_ip, client_cert_sha256, body } => {
            let mut b = json!({ "method": method, "path": path });
            if let Some(k) = key {
                b["key"] = json!(k);
            }
            if !headers.is_empty() {
                let map: serde_json::Map<String, Value> = headers.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
                b["headers"] = Value::Object(map);
            }
            if let Some(ip) = client_ip {
                b["client_ip"] = json!(ip);
            }
            if let Some(sha256) = client_cert_sha256 {
                b["client_cert_sha256"] = json!(sha256);
            }
            if let Some(text) = body {
                b["body"] = json!(text);
            }
            b
        }
    };
    client.ok("POST", "/admin/v1/diagnose", Some(&body)).await
}

/// Renders a diagnosis as text, one line per stage.
pub fn render_text(d: &Value) -> String {
    let mut out = String::new();
    let status = d["outcome"]["status"].as_u64().unwrap_or(0);
    let code = d["outcome"]["code"].as_str().unwrap_or("accepted");
    let req = &d["request"];
    let method = req["method"].as_str().unwrap_or("?");
    let path = req["path"].as_str().unwrap_or("?");
    let head = match req["request_id"].as_str() {
        Some(id) => format!("request {id}"),
        None => "hypothetical".to_owned(),
    };
    let _ = writeln!(out, "{head} {method} {path}  -> {status} {code}");
    if let Some(t) = req["time"].as_str() {
        let _ = writeln!(out, "   at {t}");
    }
    for (i, step) in d["steps"].as_array().into_iter().flatten().enumerate() {
        let result = match step["result"].as_str().unwrap_or("") {
            "pass" => "pass",
            "fail" => "FAIL",
            _ => "not reached",
        };
        let evidence = step["evidence"].as_str().unwrap_or("");
        let stage = step["stage"].as_str().unwrap_or("?");
        let line = format!("{:>2} {stage:<14} {result:<5} {evidence}", i + 1);
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(fix) = step["fix"].as_str() {
            let _ = writeln!(out, "   {:<14} fix   {fix}", "");
        }
    }
    if let Some(changes) = d["changes_since"].as_array().filter(|c| !c.is_empty()) {
        let _ = writeln!(out, "since then:");
        for c in changes {
            let _ = writeln!(
                out,
                "   {} {} {} by {}",
                c["time"].as_str().unwrap_or("?"),
                c["action"].as_str().unwrap_or("?"),
                c["resource_id"].as_str().unwrap_or("?"),
                c["actor"].as_str().unwrap_or("?")
            );
        }
    }
    if let Some(now) = d["now"].as_object() {
        if let (Some(s), Some(c)) = (now.get("status"), now.get("code")) {
            let _ = writeln!(out, "replayed now: -> {} {}", s, c.as_str().unwrap_or("accepted"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_errors_md_layout() {
        let d = json!({
            "outcome": {"status": 403, "code": "key_owner_suspended"},
            "request": {"request_id": "req_1", "method": "GET", "path": "/orders/v1/items"},
            "steps": [
                {"stage": "route", "result": "pass", "evidence": "api orders v1 (tenant acme)"},
                {"stage": "identity", "result": "fail", "evidence": "app billing-sync suspended", "fix": "reactivate it"},
                {"stage": "authorization", "result": "not_reached", "evidence": ""}
            ]
        });
        let text = render_text(&d);
        assert!(text.starts_with("request req_1 GET /orders/v1/items  -> 403 key_owner_suspended\n"), "{text}");
        assert!(text.contains(" 1 route          pass  api orders v1 (tenant acme)"), "{text}");
        assert!(text.contains(" 2 identity       FAIL  app billing-sync suspended"), "{text}");
        assert!(text.contains("fix   reactivate it"), "{text}");
        assert!(text.contains(" 3 authorization  not reached"), "{text}");
    }
}
