//! The hand-written OpenAPI 3.1 description of the admin API, served at
//! `GET /admin/v1/openapi.json`. A test checks it against the route table
//! in both directions.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /admin/v1/openapi.json`.
pub async fn document() -> Response {
    let mut res = OPENAPI_JSON.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::routes;
    use serde_json::Value;

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
