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
//! - `const: x` becomes `enum: [x]`; `oneOf` is read as `anyOf`;
//! - dropped: everything else (`additionalProperties`, `$schema`, `$ref`
//!   and `$defs` — references are NOT inlined —, `strict`, `examples`...).

use serde_json::{Map, Value};

const KEPT: &[&str] = &[
    "format",
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
                if let Some(alts) = v.as_array() {
                    out.insert("anyOf".into(), Value::Array(alts.iter().map(to_gemini).collect()));
                }
            }
            key if KEPT.contains(&key) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}
