//! The AI fields of request bodies: the AI limits of keys, apps and
//! tenants (`allowed_models`, `budget`, `tokens_per_minute`) and the
//! prompt of a `prompt` API. As in [`crate::validate`], each check returns
//! the cleaned value or a 400 naming the field, and accepts exactly what
//! `openapi.json` accepts (`AllowedModels`, `BudgetInput`,
//! `TokensPerMinute`, `PromptInput`).

use crate::error::AdminError;
use crate::input::some;
use crate::validate::is_blank_or_control;
use keyway_core::model::{AiLimits, Budget, BudgetPeriod, PromptFormat, PromptSpec};
use serde::{Deserialize, Deserializer};

/// Most names in `allowed_models`.
pub const MAX_ALLOWED_MODELS: usize = 256;
/// Longest name in `allowed_models`, in characters.
pub const MAX_ALLOWED_MODEL_LEN: usize = 256;
/// Largest budget, in US dollars.
pub const MAX_BUDGET_USD: f64 = 1e9;
/// Largest `tokens_per_minute`.
pub const MAX_TOKENS_PER_MINUTE: u64 = 1_000_000_000_000;
/// Longest prompt `template` or `system` text, in characters.
pub const MAX_PROMPT_TEXT: usize = 100_000;
/// Longest prompt `model` name, in characters (as a model's own name).
pub const MAX_PROMPT_MODEL: usize = crate::validate_ai::MAX_MODEL_NAME;

/// A budget as a request gives it.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetIn {
    /// US dollars per period: above 0, at most [`MAX_BUDGET_USD`].
    pub usd: f64,
    /// `day` or `month`.
    pub period: BudgetPeriod,
}

/// A `tokens_per_minute` that may be `null` (none): absent is `None`,
/// `null` is `Some(None)`. Use with `#[serde(default)]`.
pub fn clearable_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    crate::input::nullable_whole(d).map(Some)
}

/// Adds the three AI limit fields to a request body struct (create or
/// PATCH of keys, apps and tenants), and [`AiFields`] for them. Each may
/// be left out (unchanged; none on create); `budget` and
/// `tokens_per_minute` may be `null` (none).
macro_rules! with_ai_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Model names it may call; empty: every model.
            #[serde(default, deserialize_with = "crate::input::some")]
            pub allowed_models: Option<Vec<String>>,
            /// AI spend budget per day or month; `null`: none.
            #[serde(default, deserialize_with = "crate::resources::nullable")]
            pub budget: Option<Option<$crate::ai_fields::BudgetIn>>,
            /// Prompt plus completion tokens per minute; `null`: none.
            #[serde(default, deserialize_with = "crate::ai_fields::clearable_whole")]
            pub tokens_per_minute: Option<Option<u64>>,
        }

        impl $crate::ai_fields::AiFields for $name {
            fn ai_fields(&mut self) -> $crate::ai_fields::AiFieldsIn {
                $crate::ai_fields::AiFieldsIn {
                    allowed_models: self.allowed_models.take(),
                    budget: self.budget.take(),
                    tokens_per_minute: self.tokens_per_minute.take(),
                }
            }

            fn sets_ai(&self) -> bool {
                self.allowed_models.is_some() || self.budget.is_some() || self.tokens_per_minute.is_some()
            }
        }
    };
}
pub(crate) use with_ai_fields;

/// The AI fields of a body as sent.
#[derive(Debug, Default)]
pub struct AiFieldsIn {
    /// New allowed models, if given.
    pub allowed_models: Option<Vec<String>>,
    /// New budget (`Some(None)`: none), if given.
    pub budget: Option<Option<BudgetIn>>,
    /// New token rate (`Some(None)`: none), if given.
    pub tokens_per_minute: Option<Option<u64>>,
}

/// A body that carries the AI fields (see [`with_ai_fields`]).
pub trait AiFields {
    /// Takes the AI fields out of the body.
    fn ai_fields(&mut self) -> AiFieldsIn;
    /// Whether the body gives any AI field.
    fn sets_ai(&self) -> bool;
}

/// The AI fields of a body, checked: what to change in stored AI limits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AiPatch {
    allowed_models: Option<Vec<String>>,
    budget: Option<Option<Budget>>,
    tokens_per_minute: Option<Option<u64>>,
}

impl AiPatch {
    /// Checks the AI fields of `body`; the error names the field at fault.
    pub fn of(body: &mut impl AiFields) -> Result<Self, AdminError> {
        let f = body.ai_fields();
        Ok(AiPatch {
            allowed_models: f.allowed_models.map(allowed_models).transpose()?,
            budget: f.budget.map(|b| b.map(budget).transpose()).transpose()?,
            tokens_per_minute: f.tokens_per_minute.map(|t| t.map(tokens_per_minute).transpose()).transpose()?,
        })
    }

    /// `base` with the given fields replaced.
    pub fn applied_to(self, base: &AiLimits) -> AiLimits {
        AiLimits {
            allowed_models: self.allowed_models.unwrap_or_else(|| base.allowed_models.clone()),
            budget: self.budget.unwrap_or(base.budget),
            tokens_per_minute: self.tokens_per_minute.unwrap_or(base.tokens_per_minute),
        }
    }

    /// The limits of a new key, app or tenant: the given fields, the rest none.
    pub fn new_limits(self) -> AiLimits {
        self.applied_to(&AiLimits::NONE)
    }
}

/// `allowed_models`: at most [`MAX_ALLOWED_MODELS`] names of 1 to
/// [`MAX_ALLOWED_MODEL_LEN`] characters without whitespace or control
/// characters; duplicates dropped, order kept.
pub fn allowed_models(names: Vec<String>) -> Result<Vec<String>, AdminError> {
    if names.len() > MAX_ALLOWED_MODELS {
        return Err(AdminError::invalid(
            "allowed_models",
            format!("allowed_models holds at most {MAX_ALLOWED_MODELS} model names; this one holds {}", names.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let n = name.chars().count();
        if n == 0 || n > MAX_ALLOWED_MODEL_LEN || name.chars().any(is_blank_or_control) {
            return Err(AdminError::invalid(
                format!("allowed_models[{i}]"),
                format!("a model name is 1 to {MAX_ALLOWED_MODEL_LEN} characters without whitespace, e.g. gpt-4o"),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// A budget: `usd` finite, above 0, at most [`MAX_BUDGET_USD`].
pub fn budget(b: BudgetIn) -> Result<Budget, AdminError> {
    if !(b.usd.is_finite() && b.usd > 0.0 && b.usd <= MAX_BUDGET_USD) {
        return Err(AdminError::invalid("budget.usd", "budget.usd must be a number above 0 and at most 1000000000"));
    }
    Ok(Budget { usd: b.usd, period: b.period })
}

/// `tokens_per_minute`: 1 to [`MAX_TOKENS_PER_MINUTE`].
pub fn tokens_per_minute(n: u64) -> Result<u64, AdminError> {
    if (1..=MAX_TOKENS_PER_MINUTE).contains(&n) {
        Ok(n)
    } else {
        Err(AdminError::invalid("tokens_per_minute", format!("tokens_per_minute must be 1 to {MAX_TOKENS_PER_MINUTE}")))
    }
}

/// A prompt as a request gives it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptIn {
    /// A model name of the API's tenant.
    pub model: String,
    /// The system message.
    #[serde(default, deserialize_with = "some")]
    pub system: Option<String>,
    /// The user message, with `{{name}}` placeholders.
    pub template: String,
    /// A JSON Schema (an object) for the request's `variables`.
    pub variables_schema: serde_json::Value,
    /// `text` (default) or `json`.
    #[serde(default, deserialize_with = "some")]
    pub response_format: Option<PromptFormat>,
}

/// A prompt: `model` a model name (see [`crate::validate_ai::model_name`]),
/// `template` 1 to [`MAX_PROMPT_TEXT`] characters, `system` at most that,
/// `variables_schema` a JSON Schema object that compiles (the gateway
/// checks every call's variables against it).
pub fn prompt(p: PromptIn) -> Result<PromptSpec, AdminError> {
    let model = crate::validate_ai::model_name("prompt.model", &p.model)?;
    let template_len = p.template.chars().count();
    if template_len == 0 || template_len > MAX_PROMPT_TEXT {
        return Err(AdminError::invalid("prompt.template", format!("prompt.template must be 1 to {MAX_PROMPT_TEXT} characters")));
    }
    if p.system.as_ref().is_some_and(|s| s.chars().count() > MAX_PROMPT_TEXT) {
        return Err(AdminError::invalid("prompt.system", format!("prompt.system is longer than {MAX_PROMPT_TEXT} characters")));
    }
    if !p.variables_schema.is_object() {
        return Err(AdminError::invalid(
            "prompt.variables_schema",
            "prompt.variables_schema must be a JSON Schema object, e.g. {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}}",
        ));
    }
    if let Err(e) = jsonschema::validator_for(&p.variables_schema) {
        return Err(AdminError::invalid(
            "prompt.variables_schema",
            format!("prompt.variables_schema is not a valid JSON Schema: {e}"),
        ));
    }
    Ok(PromptSpec {
        model,
        system: p.system,
        template: p.template,
        variables_schema: p.variables_schema,
        response_format: p.response_format.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Param {
        fn param(self) -> Option<String>;
    }

    impl Param for AdminError {
        fn param(self) -> Option<String> {
            match self {
                AdminError::RequestInvalid { param, .. } => param,
                _ => None,
            }
        }
    }

    #[test]
    fn allowed_models_are_checked_and_deduplicated() {
        assert_eq!(allowed_models(vec!["a".into(), "b".into(), "a".into()]).ok(), Some(vec!["a".into(), "b".into()]));
        assert_eq!(allowed_models(vec![]).ok(), Some(vec![]));
        for (bad, param) in [
            (vec!["ok".into(), String::new()], "allowed_models[1]"),
            (vec!["a b".into()], "allowed_models[0]"),
            (vec!["x".repeat(257)], "allowed_models[0]"),
            (vec!["m".into(); 257], "allowed_models"),
        ] {
            assert_eq!(allowed_models(bad).unwrap_err().param().as_deref(), Some(param));
        }
        assert!(allowed_models(vec!["x".repeat(256)]).is_ok());
    }

    #[test]
    fn budgets_and_token_rates_have_bounds() {
        let b = |usd| budget(BudgetIn { usd, period: BudgetPeriod::Day });
        assert!(b(0.01).is_ok() && b(1e9).is_ok());
        for bad in [0.0, -1.0, 1e9 + 1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(b(bad).unwrap_err().param().as_deref(), Some("budget.usd"), "{bad}");
        }
        assert!(tokens_per_minute(1).is_ok() && tokens_per_minute(MAX_TOKENS_PER_MINUTE).is_ok());
        assert!(tokens_per_minute(0).is_err() && tokens_per_minute(MAX_TOKENS_PER_MINUTE + 1).is_err());
    }

    #[test]
    fn prompts_need_a_model_a_template_and_an_object_schema() {
        let p = |model: &str, template: &str, schema: serde_json::Value| {
            prompt(PromptIn {
                model: model.into(),
                system: None,
                template: template.into(),
                variables_schema: schema,
                response_format: None,
            })
        };
        let ok = p("gpt-4o", "Hi {{name}}", serde_json::json!({"type": "object"})).unwrap();
        assert_eq!(ok.response_format, PromptFormat::Text);
        assert_eq!(p("", "t", serde_json::json!({})).unwrap_err().param().as_deref(), Some("prompt.model"));
        assert_eq!(p("m", "", serde_json::json!({})).unwrap_err().param().as_deref(), Some("prompt.template"));
        for bad in [
            serde_json::json!([]),
            serde_json::json!("object"),
            serde_json::json!(true),
            serde_json::Value::Null,
            serde_json::json!({"type": "no-such-type"}),
            serde_json::json!({"properties": {"x": {"minLength": -1}}}),
        ] {
            assert_eq!(p("m", "t", bad).unwrap_err().param().as_deref(), Some("prompt.variables_schema"));
        }
    }
}
