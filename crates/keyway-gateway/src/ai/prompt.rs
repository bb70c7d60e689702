//! Prompt APIs (`kind: prompt`): one prompt published as a REST endpoint.
//! `POST <base_path>` with `{"variables": {..}}`: the variables are checked
//! against the API's JSON Schema (`request_invalid` naming the field),
//! put into the template's `{{name}}` places, and sent as one chat call to
//! the prompt's model, through the same phases as any AI call (model,
//! budgets and token limits, providers and fallbacks, metering). The
//! answer: `{output, model, usage: {prompt_tokens, completion_tokens},
//! request_id}`, `output` parsed as JSON when the prompt asks for JSON.

use keyway_ai::{ContentPart, Message, ResponseFormat, Role};
use keyway_core::model::{PromptFormat, PromptSpec};
use keyway_core::Refusal;
use serde_json::{Map, Value};

/// The variables of a prompt call's body, checked against `spec`'s schema.
pub fn variables(spec: &PromptSpec, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Refusal::request_invalid(None, format_args!("not JSON: {e}")))?;
    let Value::Object(mut top) = v else {
        return Err(Refusal::request_invalid(None, "the body must be a JSON object {\"variables\": {...}}"));
    };
    let vars = match top.remove("variables") {
        Some(Value::Object(m)) => m,
        Some(_) => return Err(Refusal::request_invalid(Some("variables"), "`variables` must be an object")),
        None => return Err(Refusal::request_invalid(Some("variables"), "`variables` is required")),
    };
    let validator = jsonschema::validator_for(&spec.variables_schema)
        .map_err(|e| Refusal::internal(format!("the prompt API's variables_schema does not compile: {e}")))?;
    let instance = Value::Object(vars);
    if let Some(err) = validator.iter_errors(&instance).next() {
        let pointer = err.instance_path().to_string();
        let param =
            std::iter::once("variables").chain(pointer.split('/').filter(|s| !s.is_empty())).collect::<Vec<_>>().join(".");
        return Err(Refusal::request_invalid(Some(&param), format_args!("{param}: {err}")));
    }
    let Value::Object(vars) = instance else { return Ok(Map::new()) };
    Ok(vars)
}

/// `template` with every `{{ name }}` replaced by the variable `name`:
/// strings as they are, other values as JSON; an unknown name by nothing.
pub fn render(template: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else { break };
        out.push_str(&rest[..open]);
        let name = rest[open + 2..open + 2 + close].trim();
        match vars.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The chat request a prompt call makes.
pub fn chat_request(spec: &PromptSpec, vars: &Map<String, Value>) -> keyway_ai::ChatRequest {
    keyway_ai::ChatRequest {
        model: spec.model.clone(),
        system: spec.system.iter().map(|s| ContentPart::Text(s.clone())).collect(),
        messages: vec![Message::text(Role::User, render(&spec.template, vars))],
        response_format: (spec.response_format == PromptFormat::Json).then_some(ResponseFormat::JsonObject),
        ..Default::default()
    }
}

/// The prompt's `output`: the model's text, or that text as JSON.
pub fn output(spec: &PromptSpec, text: String) -> Result<Value, String> {
    match spec.response_format {
        PromptFormat::Text => Ok(Value::String(text)),
        PromptFormat::Json => {
            let trimmed = strip_fence(text.trim());
            serde_json::from_str(trimmed).map_err(|e| format!("the model's answer is not JSON ({e}): {:.200}", text))
        }
    }
}

/// A model's JSON wrapped in a Markdown code fence, unwrapped.
fn strip_fence(text: &str) -> &str {
    let Some(inner) = text.strip_prefix("```") else { return text };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(schema: Value, format: PromptFormat) -> PromptSpec {
        PromptSpec {
            model: "fast".into(),
            system: Some("You translate.".into()),
            template: "Translate {{ text }} into {{lang}}. Tone: {{tone}}{{missing}}.".into(),
            variables_schema: schema,
            response_format: format,
        }
    }

    #[test]
    fn variables_fill_the_template() {
        let vars = json!({"text": "hello", "lang": "French", "tone": {"formal": true}});
        let out = render(&spec(json!({}), PromptFormat::Text).template, vars.as_object().unwrap());
        assert_eq!(out, "Translate hello into French. Tone: {\"formal\":true}.");
        assert_eq!(render("no places {{", &Map::new()), "no places {{");
    }

    #[test]
    fn variables_are_checked_against_the_schema_and_the_field_is_named() {
        let s = spec(
            json!({"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 5}}}),
            PromptFormat::Text,
        );
        assert!(variables(&s, br#"{"variables": {"text": "hi"}}"#).is_ok());
        let r = variables(&s, br#"{"variables": {"text": "far too long"}}"#).unwrap_err();
        assert_eq!((r.code.as_str(), r.param.as_deref()), ("request_invalid", Some("variables.text")));
        let r = variables(&s, br#"{"variables": {}}"#).unwrap_err();
        assert_eq!(r.param.as_deref(), Some("variables"));
        assert_eq!(variables(&s, br#"{"vars": {}}"#).unwrap_err().param.as_deref(), Some("variables"));
        assert!(variables(&s, b"not json").is_err());
    }

    #[test]
    fn json_output_is_parsed_fenced_or_not() {
        let s = spec(json!({}), PromptFormat::Json);
        assert_eq!(output(&s, "{\"a\": 1}".into()).unwrap(), json!({"a": 1}));
        assert_eq!(output(&s, "```json\n{\"a\": 2}\n```".into()).unwrap(), json!({"a": 2}));
        assert!(output(&s, "sure! here".into()).is_err());
        assert_eq!(output(&spec(json!({}), PromptFormat::Text), "x".into()).unwrap(), json!("x"));
    }
}
