//! The hand-written OpenAPI 3.1 description of the admin API, served at
//! `GET /admin/v1/openapi.json`. A test checks it against the route table
//! in both directions.

use crate::error::AdminError;
use crate::state::AdminState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::LazyLock;

/// The document as written; [`render`] fills in `servers`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

static TEMPLATE: LazyLock<Result<Value, String>> =
    LazyLock::new(|| serde_json::from_str(OPENAPI_JSON).map_err(|e| format!("openapi.json does not parse: {e}")));

/// The `servers` of the document for an admin listener bound to `addr`:
/// that address; on an unspecified address (`0.0.0.0`, `::`), a `host`
/// variable defaulting to loopback; when unknown, `/` (this document's
/// own origin).
pub fn servers(addr: Option<SocketAddr>) -> Value {
    match addr {
        None => json!([{"url": "/", "description": "The origin this document was fetched from."}]),
        Some(a) if a.ip().is_unspecified() => {
            let host = if a.is_ipv4() { "127.0.0.1" } else { "[::1]" };
            json!([{
                "url": format!("http://{{host}}:{}", a.port()),
                "description": format!("The admin listener, bound to {a}: every address of this host."),
                "variables": {"host": {"default": host, "description": "Any address of this host."}},
            }])
        }
        Some(a @ SocketAddr::V6(v6)) if v6.scope_id() != 0 => {
            // RFC 6874: the zone of a link-local address is written %25<zone> in a URL.
            let url = format!("http://[{}%25{}]:{}", v6.ip(), v6.scope_id(), v6.port());
            json!([{"url": url, "description": description(a)}])
        }
        Some(a) => json!([{"url": format!("http://{a}"), "description": description(a)}]),
    }
}

fn description(a: SocketAddr) -> String {
    format!("The admin listener ({a}).")
}

/// The document served by an admin listener bound to `addr`.
pub fn render(addr: Option<SocketAddr>) -> Result<Value, AdminError> {
    let mut doc = TEMPLATE.as_ref().map_err(|e| AdminError::Internal(e.clone()))?.clone();
    doc["servers"] = servers(addr);
    Ok(doc)
}

/// `GET /admin/v1/openapi.json`.
pub async fn document(State(state): State<AdminState>) -> Result<Response, AdminError> {
    let doc = render(state.admin_addr)?;
    let mut res = doc.to_string().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::routes;

    fn doc() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json parses")
    }

    #[test]
    fn is_openapi_3_1() {
        let d = doc();
        assert!(d["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
        assert!(d["info"]["title"].is_string());
    }

    #[test]
    fn every_route_is_documented() {
        let d = doc();
        for (method, path) in routes() {
            let op = &d["paths"][path][method.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{method} {path} is served but not in openapi.json");
            assert!(op["operationId"].is_string(), "{method} {path} has no operationId");
            assert!(op["responses"].is_object(), "{method} {path} has no responses");
        }
    }

    #[test]
    fn every_documented_operation_is_served() {
        let served = routes();
        let d = doc();
        let paths = d["paths"].as_object().expect("paths is an object");
        for (path, item) in paths {
            for (method, _) in item.as_object().expect("path item is an object") {
                if method == "parameters" {
                    continue;
                }
                let found = served.iter().any(|(m, p)| *p == path && m.as_str().eq_ignore_ascii_case(method));
                assert!(found, "{method} {path} is documented but not served");
            }
        }
    }

    /// Every operation, with its method and path.
    fn operations(d: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in d["paths"].as_object().expect("paths is an object") {
            for (method, op) in item.as_object().expect("path item is an object") {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
        out
    }

    fn response_ref(op: &Value, status: &str) -> Option<String> {
        op["responses"][status]["$ref"].as_str().map(|r| r.trim_start_matches("#/components/responses/").to_owned())
    }

    #[test]
    fn every_operation_behind_the_token_documents_401() {
        let d = doc();
        for (method, path, op) in operations(&d) {
            let public = crate::PUBLIC_PATHS.contains(&path.as_str());
            assert_eq!(op["security"] == json!([]), public, "{method} {path}: security must be [] exactly on public paths");
            if !public {
                assert_eq!(response_ref(&op, "401").as_deref(), Some("Unauthorized"), "{method} {path} does not document 401");
            }
        }
        let unauthorized = &d["components"]["responses"]["Unauthorized"];
        assert_eq!(unauthorized["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
        assert_eq!(unauthorized["headers"]["WWW-Authenticate"]["required"], true);
    }

    #[test]
    fn every_status_an_operation_can_answer_is_documented() {
        let d = doc();
        for (method, path, op) in operations(&d) {
            if crate::PUBLIC_PATHS.contains(&path.as_str()) {
                continue;
            }
            let has_body = op["requestBody"].is_object();
            let has_id = path.contains("{id}");
            let has_query = op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let mut expected = vec![("503", "StorageUnavailable")];
            if has_body || has_id || has_query {
                expected.push(("400", "RequestInvalid"));
            }
            if has_body {
                expected.push(("413", "PayloadTooLarge"));
            }
            if has_id {
                expected.push(("404", "NotFound"));
            }
            for (status, name) in expected {
                assert_eq!(response_ref(&op, status).as_deref(), Some(name), "{method} {path} does not document {status}");
            }
            for status in op["responses"].as_object().expect("responses").keys() {
                assert!(
                    ["200", "201", "400", "401", "404", "409", "413", "422", "503"].contains(&status.as_str()),
                    "{method} {path} documents {status}, which it never answers"
                );
            }
        }
    }

    fn schema<'a>(d: &'a Value, name: &str) -> &'a Value {
        &d["components"]["schemas"][name]
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array().expect("an array").iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn enums_are_the_servers() {
        use crate::resources::audit::RESOURCE_TYPES;
        use crate::resources::keys::EffectiveStatus;
        use crate::validate::HTTP_METHODS;
        let d = doc();
        assert_eq!(strings(&schema(&d, "HttpMethod")["enum"]), HTTP_METHODS);
        let kinds: Vec<&str> = keyway_core::providers::ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(strings(&schema(&d, "ProviderKind")["enum"]), kinds);
        let presets: Vec<&str> = keyway_ai::provider::PRESETS.iter().map(|p| p.name).collect();
        assert_eq!(strings(&schema(&d, "ProviderPreset")["enum"]), presets);
        let logs = &d["paths"]["/admin/v1/logs"]["get"]["parameters"];
        let code = logs.as_array().and_then(|ps| ps.iter().find(|p| p["name"] == "code")).expect("a code parameter");
        let codes: Vec<&str> = keyway_core::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(strings(&code["schema"]["enum"]), codes, "the code filter lists every error code (keyway-core/src/codes.rs)");
        let audit = &d["paths"]["/admin/v1/audit"]["get"]["parameters"];
        let kind = audit.as_array().and_then(|ps| ps.iter().find(|p| p["name"] == "resource_type")).expect("resource_type");
        assert_eq!(strings(&kind["schema"]["enum"]), RESOURCE_TYPES);
        let key = &schema(&d, "Key")["properties"];
        let effective: Vec<Value> = EffectiveStatus::ALL.iter().map(|e| json!(e)).collect();
        assert_eq!(key["effective_status"]["enum"], json!(effective));
        let mut refusals: Vec<Value> = vec![Value::Null];
        for code in EffectiveStatus::ALL.iter().filter_map(|e| e.refusal_code()) {
            if !refusals.contains(&json!(code.as_str())) {
                refusals.push(json!(code.as_str()));
            }
        }
        let documented = key["refusal_code"]["enum"].as_array().expect("refusal_code enum");
        assert_eq!(documented.len(), refusals.len());
        assert!(refusals.iter().all(|r| documented.contains(r)), "{documented:?} vs {refusals:?}");
    }

    #[test]
    fn bounds_are_the_servers() {
        use crate::ai_fields as fields;
        use crate::resources::key_batch::MAX_BATCH;
        use crate::resources::keys::MAX_GRACE_SECONDS;
        use crate::resources::users::{MAX_PASSWORD, MIN_PASSWORD};
        use crate::resources::MAX_LIMIT;
        use crate::validate::*;
        use crate::validate_ai as ai;
        let d = doc();
        let n = |v: &Value| v.as_u64().expect("a number");
        let s = |name: &str| schema(&d, name).clone();
        let checks: Vec<(&str, u64, u64)> = vec![
            ("Name.maxLength", n(&s("Name")["maxLength"]), MAX_NAME as u64),
            ("Reason.maxLength", n(&s("Reason")["maxLength"]), MAX_REASON as u64),
            ("Scope.maxLength", n(&s("Scope")["maxLength"]), MAX_SCOPE_LEN as u64),
            ("Scopes.maxItems", n(&s("Scopes")["maxItems"]), MAX_SCOPES as u64),
            ("Email.maxLength", n(&s("Email")["maxLength"]), MAX_EMAIL as u64),
            ("Slug.maxLength", n(&s("Slug")["maxLength"]), MAX_SLUG as u64),
            ("BasePath.maxLength", n(&s("BasePath")["maxLength"]), MAX_BASE_PATH as u64),
            ("Host.maxLength", n(&s("Host")["maxLength"]), MAX_HOST as u64),
            ("TargetUrl.maxLength", n(&s("TargetUrl")["maxLength"]), MAX_URL as u64),
            ("RateLimit.requests", n(&s("RateLimit")["properties"]["requests"]["maximum"]), MAX_REQUESTS),
            ("RateLimit.per_seconds", n(&s("RateLimit")["properties"]["per_seconds"]["maximum"]), MAX_RATE_PERIOD_SECONDS),
            ("Quota.requests", n(&s("Quota")["properties"]["requests"]["maximum"]), MAX_REQUESTS),
            ("KeyRotate.grace_seconds", n(&s("KeyRotate")["properties"]["grace_seconds"]["maximum"]), MAX_GRACE_SECONDS),
            ("TargetInput.weight", n(&s("TargetInput")["properties"]["weight"]["maximum"]), MAX_WEIGHT),
            ("UpstreamInput.timeout_ms", n(&s("UpstreamInput")["properties"]["timeout_ms"]["maximum"]), MAX_TIMEOUT_MS),
            ("UpstreamInput.targets", n(&s("UpstreamInput")["properties"]["targets"]["maxItems"]), MAX_TARGETS as u64),
            ("ApiCreate.scope_rules", n(&s("ApiCreate")["properties"]["scope_rules"]["maxItems"]), MAX_SCOPE_RULES as u64),
            ("ApiPatch.scope_rules", n(&s("ApiPatch")["properties"]["scope_rules"]["maxItems"]), MAX_SCOPE_RULES as u64),
            ("KeyBatchCreate.keys", n(&s("KeyBatchCreate")["properties"]["keys"]["maxItems"]), MAX_BATCH as u64),
            ("KeyCreate.allowed_ips", n(&s("KeyCreate")["properties"]["allowed_ips"]["maxItems"]), MAX_ALLOWED_IPS as u64),
            ("UserCreate.password.minLength", n(&s("UserCreate")["properties"]["password"]["minLength"]), MIN_PASSWORD as u64),
            ("UserCreate.password.maxLength", n(&s("UserCreate")["properties"]["password"]["maxLength"]), MAX_PASSWORD as u64),
            ("ApiKey.maxLength", n(&s("ApiKey")["maxLength"]), ai::MAX_API_KEY as u64),
            ("ModelName.maxLength", n(&s("ModelName")["maxLength"]), ai::MAX_MODEL_NAME as u64),
            (
                "ProviderCreate.credentials",
                n(&s("ProviderCreate")["properties"]["credentials"]["maxItems"]),
                ai::MAX_CREDENTIALS as u64,
            ),
            (
                "ProviderPatch.credentials",
                n(&s("ProviderPatch")["properties"]["credentials"]["maxItems"]),
                ai::MAX_CREDENTIALS as u64,
            ),
            ("ModelCreate.targets", n(&s("ModelCreate")["properties"]["targets"]["maxItems"]), ai::MAX_MODEL_TARGETS as u64),
            ("ModelPatch.targets", n(&s("ModelPatch")["properties"]["targets"]["maxItems"]), ai::MAX_MODEL_TARGETS as u64),
            ("ModelCreate.fallbacks", n(&s("ModelCreate")["properties"]["fallbacks"]["maxItems"]), ai::MAX_FALLBACKS as u64),
            ("ModelCreate.timeout_ms", n(&s("ModelCreate")["properties"]["timeout_ms"]["maximum"]), ai::MAX_MODEL_TIMEOUT_MS),
            ("ModelPatch.timeout_ms", n(&s("ModelPatch")["properties"]["timeout_ms"]["maximum"]), ai::MAX_MODEL_TIMEOUT_MS),
            ("ModelTargetInput.weight", n(&s("ModelTargetInput")["properties"]["weight"]["maximum"]), MAX_WEIGHT),
            ("AllowedModels.maxItems", n(&s("AllowedModels")["maxItems"]), fields::MAX_ALLOWED_MODELS as u64),
            ("AllowedModels.items.maxLength", n(&s("AllowedModels")["items"]["maxLength"]), fields::MAX_ALLOWED_MODEL_LEN as u64),
            ("TokensPerMinute.maximum", n(&s("TokensPerMinute")["maximum"]), fields::MAX_TOKENS_PER_MINUTE),
            ("PromptInput.template", n(&s("PromptInput")["properties"]["template"]["maxLength"]), fields::MAX_PROMPT_TEXT as u64),
            ("PromptInput.system", n(&s("PromptInput")["properties"]["system"]["maxLength"]), fields::MAX_PROMPT_TEXT as u64),
        ];
        let usd = s("Budget")["properties"]["usd"]["maximum"].as_f64();
        assert_eq!(usd, Some(fields::MAX_BUDGET_USD), "Budget.usd.maximum");
        assert_eq!(s("AllowedModels")["items"]["pattern"], s("ModelName")["pattern"], "model names read alike");
        for (what, documented, served) in checks {
            assert_eq!(documented, served, "{what}");
        }
        for p in ["/admin/v1/logs", "/admin/v1/audit"] {
            let ps = d["paths"][p]["get"]["parameters"].as_array().expect("parameters").clone();
            let limit = ps.iter().find(|p| p["name"] == "limit").expect("limit");
            assert_eq!(n(&limit["schema"]["maximum"]), MAX_LIMIT as u64, "{p} limit");
        }
    }

    #[test]
    fn servers_follow_the_listen_address() {
        let at = |a: &str| servers(Some(a.parse().expect("an address")));
        assert_eq!(at("127.0.0.1:9081")[0]["url"], "http://127.0.0.1:9081");
        assert_eq!(at("10.1.2.3:1")[0]["url"], "http://10.1.2.3:1");
        assert_eq!(at("[2001:db8::1]:9081")[0]["url"], "http://[2001:db8::1]:9081");
        assert_eq!(at("[fe80::1%3]:9081")[0]["url"], "http://[fe80::1%253]:9081");
        let any = at("[::]:9081");
        assert_eq!(any[0]["url"], "http://{host}:9081");
        assert_eq!(any[0]["variables"]["host"]["default"], "[::1]");
        assert_eq!(servers(None)[0]["url"], "/");
        let rendered = render(Some("127.0.0.1:1".parse().expect("an address"))).expect("renders");
        assert_eq!(rendered["servers"][0]["url"], "http://127.0.0.1:1");
        assert_eq!(rendered["paths"], doc()["paths"], "only servers changes");
    }

    #[test]
    fn every_reference_resolves() {
        let d = doc();
        let mut refs = Vec::new();
        collect_refs(&d, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(d.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        if let Some(s) = v.as_str() {
                            out.push(s.to_owned());
                        }
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
