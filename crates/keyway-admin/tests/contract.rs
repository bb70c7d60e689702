//! The OpenAPI document and the server agree: every string pattern and
//! length bound of `openapi.json` accepts exactly what the server's check
//! accepts (over a corpus of near misses), and the forms JSON Schema
//! forbids (null where not nullable, arrays for objects, one-member objects
//! for enums, empty query values) are refused with a 400 naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test helpers fail loudly")]

mod common;

use common::Harness;
use keyway_admin::validate::{self, MAX_NAME, MAX_REASON};
use keyway_admin::{diagnose, input, validate_ai};
use regex_automata::meta::Regex;
use serde_json::{json, Value};
use std::net::IpAddr;

fn doc() -> Value {
    serde_json::from_str(keyway_admin::openapi::OPENAPI_JSON).unwrap()
}

/// A string schema of the document, `$ref`s and `allOf`s followed.
struct StringSchema {
    pattern: Regex,
    source: String,
    min: usize,
    max: usize,
}

impl StringSchema {
    fn at(doc: &Value, pointer: &str) -> Self {
        let mut s = doc.pointer(pointer).unwrap_or_else(|| panic!("no schema at {pointer}")).clone();
        loop {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                s = doc.pointer(r.trim_start_matches('#')).unwrap().clone();
            } else if let Some(first) = s.get("allOf").and_then(|a| a.get(0)) {
                s = first.clone();
            } else {
                break;
            }
        }
        assert_eq!(s["type"], "string", "{pointer} is not a string schema: {s}");
        let source = s["pattern"].as_str().unwrap_or_else(|| panic!("{pointer} has no pattern")).to_owned();
        let pattern = Regex::new(&source).unwrap_or_else(|e| panic!("{pointer}: {e}"));
        let len = |k: &str| s.get(k).and_then(Value::as_u64).map(|n| usize::try_from(n).unwrap());
        StringSchema { pattern, source, min: len("minLength").unwrap_or(0), max: len("maxLength").unwrap_or(usize::MAX) }
    }

    fn schema(name: &str) -> Self {
        Self::at(&doc(), &format!("/components/schemas/{name}"))
    }

    fn accepts(&self, s: &str) -> bool {
        let n = s.chars().count();
        self.min <= n && n <= self.max && self.pattern.is_match(s)
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

/// `count` strings of up to `max_parts` tokens each, plus every token alone.
fn corpus(tokens: &[&str], max_parts: usize, count: usize) -> Vec<String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<String> = tokens.iter().map(|t| (*t).to_owned()).collect();
    out.push(String::new());
    for _ in 0..count {
        let parts = 1 + rng.below(max_parts);
        out.push((0..parts).map(|_| tokens[rng.below(tokens.len())]).collect());
    }
    out
}

/// Characters the text patterns single out, and some they do not.
const CHARS: &[&str] = &[
    "a", "Z", "0", "-", "_", ":", "@", ".", "/", "*", "?", "#", "%", "é", "日", "😀", " ", "\t", "\n", "\r", "\u{0}", "\u{1f}",
    "\u{7f}", "\u{85}", "\u{9f}", "\u{a0}", "\u{1680}", "\u{2000}", "\u{200a}", "\u{200b}", "\u{2028}", "\u{2029}", "\u{202f}",
    "\u{205f}", "\u{3000}", "\u{feff}", "\u{180e}", "\u{fffd}",
];

#[track_caller]
fn agree(schema: &StringSchema, corpus: &[String], server: impl Fn(&str) -> bool) {
    let mut accepted = 0;
    for s in corpus {
        let (doc, srv) = (schema.accepts(s), server(s));
        assert_eq!(doc, srv, "{s:?}: the document says {doc}, the server says {srv} (pattern {})", schema.source);
        accepted += usize::from(srv);
    }
    assert!(
        accepted > 0 && accepted < corpus.len(),
        "the corpus must hold accepted and refused values ({accepted}/{})",
        corpus.len()
    );
}

fn lengths_around(max: usize) -> Vec<String> {
    let mut out = Vec::new();
    for n in [max - 1, max, max + 1] {
        for c in ["a", "é", "😀"] {
            out.push(c.repeat(n));
            out.push(format!(" {}", c.repeat(n.saturating_sub(1))));
            out.push(format!("{} ", c.repeat(n.saturating_sub(1))));
        }
    }
    out
}

#[test]
fn names_and_reasons() {
    let mut names = corpus(CHARS, 6, 20_000);
    names.extend(lengths_around(MAX_NAME));
    agree(&StringSchema::schema("Name"), &names, |s| validate::text("name", s, MAX_NAME).is_ok());
    let mut reasons = corpus(CHARS, 6, 5_000);
    reasons.extend(lengths_around(MAX_REASON));
    agree(&StringSchema::schema("Reason"), &reasons, |s| validate::text("reason", s, MAX_REASON).is_ok());
}

#[test]
fn model_names_api_keys_and_base_urls() {
    let mut names = corpus(CHARS, 4, 20_000);
    names.extend(lengths_around(validate_ai::MAX_MODEL_NAME));
    agree(&StringSchema::schema("ModelName"), &names, |s| validate_ai::model_name("name", s).is_ok());
    let mut allowed = corpus(CHARS, 4, 20_000);
    allowed.extend(lengths_around(keyway_admin::ai_fields::MAX_ALLOWED_MODEL_LEN));
    agree(&StringSchema::at(&doc(), "/components/schemas/AllowedModels/items"), &allowed, |s| {
        keyway_admin::ai_fields::allowed_models(vec![s.to_owned()]).is_ok()
    });
    let mut keys = corpus(CHARS, 4, 20_000);
    keys.extend(lengths_around(validate_ai::MAX_API_KEY));
    agree(&StringSchema::schema("ApiKey"), &keys, |s| validate_ai::api_key("api_key", s).is_ok());
    let urls = corpus(&["https://", "http://", "api.openai.com", "/v1", "/", ":443", "?q", "#f", "u@", " ", "é"], 5, 5_000);
    agree(&StringSchema::schema("TargetUrl"), &urls, |s| validate_ai::base_url("base_url", s).is_ok());
}

#[test]
fn scopes_emails_and_slugs() {
    let mut scopes = corpus(CHARS, 5, 20_000);
    scopes.extend(lengths_around(validate::MAX_SCOPE_LEN));
    agree(&StringSchema::schema("Scope"), &scopes, |s| validate::scope("s", s).is_ok());
    let mut emails = corpus(&[CHARS, &["@", "@", "ops", "acme.test"]].concat(), 6, 20_000);
    emails.extend(lengths_around(validate::MAX_EMAIL).into_iter().map(|s| format!("a@{s}")));
    agree(&StringSchema::schema("Email"), &emails, |s| validate::email(s).is_ok());
    let mut slugs = corpus(&["a", "z", "0", "9", "-", "A", "_", " ", "é"], 6, 10_000);
    slugs.extend(lengths_around(validate::MAX_SLUG));
    agree(&StringSchema::schema("Slug"), &slugs, |s| validate::slug(s).is_ok());
}

const IP_TOKENS: &[&str] = &[
    "0",
    "1",
    "9",
    "25",
    "255",
    "256",
    "01",
    "00",
    "ff",
    "FFFF",
    "0000",
    "00000",
    "abcd",
    "g",
    ".",
    ":",
    "::",
    ":::",
    "/",
    "/0",
    "/8",
    "/32",
    "/33",
    "/64",
    "/128",
    "/129",
    "/08",
    "/+8",
    "1.2.3.4",
    "255.255.255.255",
    "%eth0",
    " ",
];

#[test]
fn ip_addresses_and_allow_list_entries() {
    let mut ips = corpus(IP_TOKENS, 12, 100_000);
    ips.extend(
        ["::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "1:2:3:4:5:6::1.2.3.4"].map(String::from),
    );
    agree(&StringSchema::schema("IpAddress"), &ips, |s| s.parse::<IpAddr>().is_ok());
    let mut entries = ips.clone();
    entries.extend(ips.iter().flat_map(|ip| ["/0", "/32", "/33", "/128", "/129"].map(|p| format!("{ip}{p}"))));
    agree(&StringSchema::schema("AllowedIp"), &entries, |s| validate::allowed_ip("ip", s).is_ok());
}

const PATH_TOKENS: &[&str] =
    &["/", "/", "/", "a", "v1", ".", "..", "...", ".a", "*", "**", "***", "?", "#", "%2F", " ", "\t", "é", "\u{a0}", "\u{0}"];

#[test]
fn base_paths_and_scope_rule_paths() {
    let mut paths = corpus(PATH_TOKENS, 8, 50_000);
    paths.extend(lengths_around(validate::MAX_BASE_PATH).into_iter().map(|s| format!("/{s}")));
    agree(&StringSchema::schema("BasePath"), &paths, |s| validate::base_path(s).is_ok());
    let paths = corpus(PATH_TOKENS, 8, 50_000);
    agree(&StringSchema::schema("ScopeRulePath"), &paths, |s| validate::scope_rule_path("p", s).is_ok());
}

#[test]
fn hosts_and_upstream_urls() {
    let mut hosts = corpus(&["a", "Z", "0", "-", ".", "ab", "x-y", "_", " ", "é", ":80"], 8, 30_000);
    hosts.extend(["a".repeat(63), "a".repeat(64), format!("{}.b", "a".repeat(63)), "a.".repeat(126) + "a"]);
    hosts.extend(lengths_around(validate::MAX_HOST).into_iter().map(|s| s.replace(' ', "a")));
    agree(&StringSchema::schema("Host"), &hosts, |s| validate::host(s).is_ok());

    let tokens = [
        "http://",
        "https://",
        "HTTP://",
        "ftp://",
        "//",
        "orders.internal",
        "10.0.0.1",
        "x",
        "-",
        "_",
        "[::1]",
        "[::g]",
        "[1.2.3.4]",
        "[",
        "]",
        ":",
        ":80",
        ":0",
        ":080",
        ":65535",
        ":65536",
        "/",
        "/p",
        "/a%20b",
        "?q",
        "#f",
        "@",
        "u:p@",
        " ",
        "é",
        "\"",
        "~",
        "'",
        "(",
        "!",
        "$",
        "&",
        ";",
        "=",
        ",",
        "+",
    ];
    let mut urls = corpus(&tokens, 7, 100_000);
    urls.extend(lengths_around(validate::MAX_URL).into_iter().map(|s| format!("http://x/{}", s.replace(' ', "a"))));
    agree(&StringSchema::schema("TargetUrl"), &urls, |s| validate::target_url(s).is_ok());
}

#[test]
fn diagnose_header_names_and_values() {
    let ascii: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
    let ascii: Vec<&str> = ascii.iter().map(String::as_str).chain(["é", "\u{85}", "\u{fffd}"]).collect();
    let strings = corpus(&ascii, 4, 20_000);
    let d = doc();
    let names = StringSchema::at(&d, "/components/schemas/DiagnoseCall/properties/headers/propertyNames");
    agree(&names, &strings, |s| diagnose::header_name(s).is_ok());
    agree(&StringSchema::schema("HeaderText"), &strings, |s| diagnose::header_value("v", s).is_ok());
}

#[test]
fn date_times_the_server_reads_match_the_pattern() {
    // The pattern pins the shape and the year range; `format: date-time`
    // adds real calendar dates and leap-second placement, which the
    // server checks too (see input.rs for those cases). So everything the
    // server reads matches the pattern, and every pattern match that is a
    // real date at a valid time is read.
    let schema = StringSchema::schema("DateTime");
    let parts: [&[&str]; 10] = [
        &["0000", "0001", "2024", "2025", "9998", "9999", "202"],
        &["-01", "-02", "-04", "-12", "-00", "-13", "/01"],
        &["-01", "-28", "-29", "-30", "-31", "-00", "-32"],
        &["T", "t", " ", ""],
        &["00", "12", "23", "24"],
        &[":00", ":59", ":60"],
        &[":00", ":59", ":60", ":61", ""],
        &["", ".5", ".123456789012", "."],
        &["Z", "z", "+01:00", "-23:59", "+24:00", "+01:60", "", "+0100", "-00:00", "+00:01", "-00:01"],
        &["", " ", "Z"],
    ];
    let mut rng = Rng(7);
    let mut read = 0;
    for _ in 0..200_000 {
        let s: String = parts.iter().map(|p| p[rng.below(p.len())]).collect();
        if input::parse_time(&s).is_ok() {
            read += 1;
            assert!(schema.accepts(&s), "{s:?} is read by the server but the pattern refuses it");
        }
    }
    assert!(read > 500, "{read}");
    for s in ["2025-01-31T12:00:00Z", "0001-01-01t00:00:00z", "9998-12-31T23:59:59.999+23:59", "2016-12-31T23:59:60Z"] {
        assert!(schema.accepts(s) && input::parse_time(s).is_ok(), "{s}");
    }
    for s in ["0000-01-01T00:00:00Z", "9999-01-01T00:00:00Z", "2025-01-31 12:00:00Z", "2025-01-31T12:00:00+24:00"] {
        assert!(!schema.accepts(s) && input::parse_time(s).is_err(), "{s}");
    }
}

// ---- over HTTP ----

#[tokio::test]
async fn null_is_refused_where_the_document_does_not_allow_it() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let before = h.fingerprint().await;
    let cases = [
        ("PATCH", format!("/admin/v1/tenants/{}", w.tenant), json!({"name": null}), "name"),
        ("PATCH", format!("/admin/v1/tenants/{}", w.tenant), json!({"status": null}), "status"),
        ("PATCH", format!("/admin/v1/tenants/{}", w.tenant), json!({"limits": null}), "limits"),
        ("PATCH", format!("/admin/v1/users/{}", w.user), json!({"role": null}), "role"),
        ("PATCH", format!("/admin/v1/apps/{}", w.app), json!({"owner_user_id": null}), "owner_user_id"),
        ("PATCH", format!("/admin/v1/apps/{}", w.app), json!({"name": null}), "name"),
        ("PATCH", format!("/admin/v1/apis/{}", w.api), json!({"methods": null}), "methods"),
        ("PATCH", format!("/admin/v1/apis/{}", w.api), json!({"upstream": null}), "upstream"),
        ("PATCH", format!("/admin/v1/apis/{}", w.api), json!({"requires_approval": null}), "requires_approval"),
        (
            "POST",
            format!("/admin/v1/tenants/{}/users", w.tenant),
            json!({"email": "a@b.c", "role": "admin", "password": null}),
            "password",
        ),
        ("POST", "/admin/v1/diagnose".to_owned(), json!({"path": "/x", "key": null}), "key"),
        ("POST", "/admin/v1/diagnose".to_owned(), json!({"path": "/x", "headers": null}), "headers"),
    ];
    for (method, path, body, param) in cases {
        let r = h.call(method, &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{method} {path} {body}");
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn objects_enums_and_members_are_read_only_in_their_json_schema_form() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let before = h.fingerprint().await;
    let api = format!("/admin/v1/apis/{}", w.api);
    let cases = [
        ("POST", "/admin/v1/tenants".to_owned(), json!({"slug": "x", "name": "x", "limits": [null, null]}), "limits"),
        ("PATCH", format!("/admin/v1/tenants/{}", w.tenant), json!({"status": {"active": null}}), "status"),
        ("PATCH", api.clone(), json!({"upstream": [[{"url": "http://x"}]]}), "upstream"),
        ("PATCH", api.clone(), json!({"upstream": {"targets": [["http://x", 1]]}}), "upstream.targets[0]"),
        ("PATCH", api.clone(), json!({"key_locations": [{"query": null}]}), "key_locations[0]"),
        ("PATCH", api.clone(), json!({"scope_rules": [["/x", ["s"]]]}), "scope_rules[0]"),
        ("PATCH", api.clone(), json!({"limits": {"rate_limit": [1, 1]}}), "limits.rate_limit"),
        ("PATCH", api.clone(), json!({"limits": {"key_rate_limit": {"requests": 1, "per_seconds": 1}}}), "limits.key_rate_limit"),
    ];
    for (method, path, body, param) in cases {
        let r = h.call(method, &path, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{method} {path} {body}");
    }
    // A member given twice is refused, at any depth.
    for (path, body, param) in [
        ("/admin/v1/tenants".to_owned(), r#"{"slug": "x", "name": "a", "name": "b"}"#, "name"),
        (api.clone(), r#"{"limits": {"quota": null, "quota": null}}"#, "limits.quota"),
    ] {
        let method = if path.ends_with("tenants") { "POST" } else { "PATCH" };
        let r = h.raw(method, &path, Some("application/json"), body).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    assert_eq!(h.fingerprint().await, before);
}

#[tokio::test]
async fn limits_read_from_a_tenant_or_api_can_be_sent_back() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    for path in [format!("/admin/v1/tenants/{}", w.tenant), format!("/admin/v1/apis/{}", w.api)] {
        let read = h.ok("GET", &path, Value::Null).await;
        assert_eq!(read["limits"]["key_rate_limit"], Value::Null);
        let mut limits = read["limits"].clone();
        limits["quota"] = json!({"requests": 1.0, "period": "month"});
        let p = h.ok("PATCH", &path, json!({"limits": limits})).await;
        assert_eq!(p["limits"], json!({"rate_limit": null, "quota": {"requests": 1, "period": "month"}, "key_rate_limit": null}));
    }
}

#[tokio::test]
async fn methods_are_an_enum_of_http_methods() {
    let h = Harness::new().await;
    let w = h.world("acme", "/orders/v1").await;
    let before = h.fingerprint().await;
    let api = format!("/admin/v1/apis/{}", w.api);
    for (body, param) in [
        (json!({"methods": ["XICQWXYCOUDZI"]}), "methods[0]"),
        (json!({"methods": ["GET", "TRACE"]}), "methods[1]"),
        (json!({"methods": ["CONNECT"]}), "methods[0]"),
        (json!({"methods": ["get"]}), "methods[0]"),
        (json!({"scope_rules": [{"method": "post", "path": "/x", "scopes": ["s"]}]}), "scope_rules[0].method"),
    ] {
        let r = h.call("PATCH", &api, Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{body}");
    }
    let r = h.call("PATCH", &api, Some(json!({"methods": ["get"]}))).await;
    assert!(r.json["detail"].as_str().unwrap().contains("case-sensitive"), "{}", r.text);
    assert_eq!(h.fingerprint().await, before);
    let all = json!(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "GET"]);
    let p = h.ok("PATCH", &api, json!({"methods": all, "scope_rules": [{"method": null, "path": "/x", "scopes": ["s"]}]})).await;
    assert_eq!(p["methods"], json!(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]));
    assert_eq!(p["scope_rules"][0]["method"], Value::Null);
}

#[tokio::test]
async fn empty_and_unknown_query_values_are_refused() {
    let h = Harness::new().await;
    for (path, param) in [
        ("/admin/v1/logs?until=", "until"),
        ("/admin/v1/logs?since=", "since"),
        ("/admin/v1/logs?limit=", "limit"),
        ("/admin/v1/logs?key_id=", "key_id"),
        ("/admin/v1/logs?code=", "code"),
        ("/admin/v1/logs?limit=1.0", "limit"),
        ("/admin/v1/logs?since=2025-01-01T00:00:00%2B24:00", "since"),
        ("/admin/v1/logs?since=9999-01-01T00:00:00Z", "since"),
        ("/admin/v1/audit?until=", "until"),
        ("/admin/v1/audit?actor=", "actor"),
        ("/admin/v1/audit?resource_type=widget", "resource_type"),
    ] {
        let r = h.call("GET", path, None).await;
        assert_eq!(r.problem(400, "request_invalid")["param"], param, "{path}");
    }
    for path in [
        "/admin/v1/logs?since=2025-01-01T00:00:00%2B01:00&until=2025-01-02t00:00:00z&code=key_revoked&limit=1000",
        "/admin/v1/audit?resource_type=subscription&since=2016-12-31T23:59:60Z",
    ] {
        assert_eq!(h.call("GET", path, None).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn diagnose_takes_a_request_id_alone_or_a_call() {
    let h = Harness::new().await;
    for (body, param) in [
        (json!({"request_id": "req_x", "method": "GET"}), Some("method")),
        (json!({"request_id": "req_x", "headers": {}}), Some("headers")),
        (json!({}), Some("path")),
        (json!({"key": "kw_live_x"}), Some("path")),
        (json!({"path": "x"}), Some("path")),
        (json!({"path": "/x", "method": "G E T"}), Some("method")),
        (json!({"path": "/x", "client_ip": "01.2.3.4"}), Some("client_ip")),
        (json!({"path": "/x", "headers": {"bad name": "v"}}), Some("headers.bad name")),
        (json!({"path": "/x", "headers": {"x-a": "line\nbreak"}}), Some("headers.x-a")),
        (json!({"path": "/x", "key": "a\u{1}b"}), Some("key")),
    ] {
        let r = h.call("POST", "/admin/v1/diagnose", Some(body.clone())).await;
        assert_eq!(r.problem(400, "request_invalid")["param"].as_str(), param, "{body}");
    }
    h.call("POST", "/admin/v1/diagnose", Some(json!({"request_id": "req_nope"}))).await.problem(404, "resource_not_found");
    let ok = h.ok("POST", "/admin/v1/diagnose", json!({"path": "/x", "method": "get", "headers": {"X-Tab": "a\tb é"}})).await;
    assert_eq!(ok["request"]["method"], "GET");
}

/// The `servers` of the document served by an admin listener bound to `addr`.
async fn served_servers(h: &Harness, addr: Option<&str>) -> Value {
    let state = match addr {
        Some(a) => h.state.clone().with_admin_addr(a.parse().unwrap()),
        None => h.state.clone(),
    };
    let bound = Harness { app: keyway_admin::router(state.clone()), state, token: h.token.clone() };
    bound.get_with("/admin/v1/openapi.json", &[]).await.json["servers"].clone()
}

#[tokio::test]
async fn the_document_names_the_address_the_admin_listener_is_bound_to() {
    let h = Harness::new().await;
    assert_eq!(served_servers(&h, Some("127.0.0.1:19081")).await[0]["url"], "http://127.0.0.1:19081");
    assert_eq!(served_servers(&h, Some("[::1]:9081")).await[0]["url"], "http://[::1]:9081");
    let any = served_servers(&h, Some("0.0.0.0:7000")).await;
    assert_eq!(any[0]["url"], "http://{host}:7000");
    assert_eq!(any[0]["variables"]["host"]["default"], "127.0.0.1");
    assert_eq!(served_servers(&h, None).await[0]["url"], "/");
}
