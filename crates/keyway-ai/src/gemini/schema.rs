//! JSON Schema -> Gemini's `Schema` (an OpenAPI 3.0 subset).
//!
//! Gemini's `parameters` and `responseSchema` refuse keywords outside its
//! subset with `400 Invalid JSON payload received. Unknown name ...`, and
//! OpenAI callers routinely send them (`additionalProperties: false` is
//! required by OpenAI strict mode). So schemas are rewritten:
//!
//! - kept: `type`, `format`, `title`, `description`, `nullable`, `enum`,
//!   `items`, `properties`, `required`, `anyOf`, `minItems`, `maxItems`,
//!   `minProperties`, `maxProperties`, `minLength`, `maxLength`, `pattern`,
//!   `minimum`, `maximum`, `default`, `example`, `propertyOrdering`;
//! - `type: ["string", "null"]` becomes `type: "string", nullable: true`
//!   (a type list of several non-null types keeps only the first);
//! - `const: x` becomes `enum: [x]`; `oneOf` is read as `anyOf`; a
//!   `{"type": "null"}` alternative becomes `nullable: true`, and an
//!   `anyOf` left with one alternative is merged into the schema (the
//!   shape Pydantic gives `Optional[T]`);
//! - `enum` is kept on strings only (Gemini refuses it elsewhere): a
//!   schema with `enum` and no `type` gets `type: "string"` (values
//!   stringified), and `enum` on another type is dropped;
//! - `format` is kept only when Gemini accepts it (`enum`, `date-time`,
//!   `int32`, `int64`, `float`, `double`; it refuses e.g. `uri`, `email`);
//! - dropped: everything else (`additionalProperties`, `$schema`, `$ref`
//!   and `$defs` — references are NOT inlined —, `strict`, `examples`...).

use serde_json::{Map, Value};

const FORMATS: &[&str] = &["enum", "date-time", "int32", "int64", "float", "double"];

const KEPT: &[&str] = &[
    "title",
    "description",
    "nullable",
    "enum",
    "required",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
    "example",
    "propertyOrdering",
];

/// Rewrites a JSON Schema into Gemini's subset (see the module docs).
/// Non-object input is returned unchanged.
pub(crate) fn to_gemini(schema: &Value) -> Value {
    let Some(m) = schema.as_object() else { return schema.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "type" => match v {
                Value::Array(types) => {
                    let mut first = None;
                    for t in types {
                        match t.as_str() {
                            Some("null") => {
                                out.insert("nullable".into(), Value::Bool(true));
                            }
                            Some(_) if first.is_none() => first = Some(t.clone()),
                            _ => {}
                        }
                    }
                    if let Some(t) = first {
                        out.insert("type".into(), t);
                    }
                }
                _ => {
                    out.insert("type".into(), v.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), Value::Array(vec![v.clone()]));
            }
            "items" => {
                out.insert("items".into(), to_gemini(v));
            }
            "properties" => {
                if let Some(props) = v.as_object() {
                    let props = props.iter().map(|(name, s)| (name.clone(), to_gemini(s))).collect();
                    out.insert("properties".into(), Value::Object(props));
                }
            }
            "anyOf" | "oneOf" => {
                let Some(alts) = v.as_array() else { continue };
                let is_null = |a: &&Value| a.get("type").and_then(Value::as_str) == Some("null");
                if alts.iter().any(|a| is_null(&a)) {
                    out.insert("nullable".into(), Value::Bool(true));
                }
                let mut rest: Vec<Value> = alts.iter().filter(|a| !is_null(a)).map(to_gemini).collect();
                match rest.pop() {
                    Some(Value::Object(only)) if rest.is_empty() => {
                        for (k, v) in only {
                            out.entry(k).or_insert(v);
                        }
                    }
                    Some(last) => {
                        rest.push(last);
                        out.insert("anyOf".into(), Value::Array(rest));
                    }
                    None => {}
                }
            }
            "format" if v.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert(k.clone(), v.clone());
            }
            "format" => {}
            key if KEPT.contains(&key) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    // Gemini takes `enum` on strings only ("enum only allowed for STRING type").
    if out.contains_key("enum") {
        match out.get("type").and_then(Value::as_str) {
            None => {
                out.insert("type".into(), Value::String("string".into()));
            }
            Some("string") => {}
            Some(_) => {
                out.remove("enum");
            }
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            for v in values.iter_mut().filter(|v| !v.is_string()) {
                *v = Value::String(v.to_string());
            }
        }
    }
    Value::Object(out)
}
