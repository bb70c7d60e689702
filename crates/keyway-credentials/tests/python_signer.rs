//! The Python signer printed in `docs/hmac.md` signs requests this
//! crate verifies: the snippet is run as printed, by `python3`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use http::{HeaderMap, HeaderName, HeaderValue};
use keyway_credentials::http_signature::{HmacKey, MemoryNonceStore, SignatureVerifier, SignedRequest};
use std::collections::HashMap;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hmac.md"));
const SECRET: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// The code block after the `python-signer` marker.
fn snippet() -> &'static str {
    let after = DOC.split("<!-- python-signer -->").nth(1).expect("marker in the doc");
    let start = after.find("```python\n").expect("python block") + "```python\n".len();
    let len = after[start..].find("```").expect("block end");
    &after[start..start + len]
}

/// Runs the snippet's `sign(...)` with these arguments; its headers.
fn python_sign(method: &str, authority: &str, path: &str, query: Option<&str>, body: &[u8]) -> HeaderMap {
    let call = format!(
        "import json\nh = sign({method:?}, {authority:?}, {path:?}, {query}, bytes.fromhex({body:?}), 'hk_1', {SECRET:?})\nprint(json.dumps(h))\n",
        query = query.map(|q| format!("{q:?}")).unwrap_or_else(|| "None".into()),
        body = body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    );
    let out = Command::new("python3").arg("-c").arg(format!("{}{call}", snippet())).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let headers: HashMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(), HeaderValue::from_str(&value).unwrap());
    }
    map
}

fn keys() -> HashMap<String, HmacKey> {
    [("hk_1".to_owned(), HmacKey::from_base64(SECRET).unwrap())].into()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn a_post_with_query_and_body_signed_in_python_verifies() {
    let body = br#"{"item": 7}"#;
    let headers = python_sign("POST", "api.example.test", "/orders", Some("dry_run=1"), body);
    let request = SignedRequest {
        method: "POST",
        scheme: "https",
        authority: "api.example.test",
        path: "/orders",
        query: Some("dry_run=1"),
        headers: &headers,
        body,
    };
    let store = MemoryNonceStore::new(10);
    let verified = SignatureVerifier::default().verify(&request, &keys(), &store, now()).await.unwrap();
    assert_eq!(verified.covered, vec!["@method", "@authority", "@path", "@query", "content-digest"]);
    // The same body changed after signing fails.
    let tampered = SignedRequest { body: br#"{"item": 8}"#, ..request };
    assert!(SignatureVerifier::default().check_without_nonce(&tampered, &keys(), now()).is_err());
}

#[tokio::test]
async fn a_bare_get_signed_in_python_verifies() {
    let headers = python_sign("GET", "api.example.test", "/orders/7", None, b"");
    let request = SignedRequest {
        method: "GET",
        scheme: "https",
        authority: "api.example.test",
        path: "/orders/7",
        query: None,
        headers: &headers,
        body: b"",
    };
    let store = MemoryNonceStore::new(10);
    let verified = SignatureVerifier::default().verify(&request, &keys(), &store, now()).await.unwrap();
    assert_eq!(verified.covered, vec!["@method", "@authority", "@path"]);
}
