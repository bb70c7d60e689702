//! The AI side of the model: what kind an API is (REST, the unified AI
//! API, a published prompt), a prompt API's prompt, and the AI limits of
//! keys, apps and tenants. Re-exported from [`crate::model`].

use serde::{Deserialize, Serialize};

/// What an API does with its traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// Proxies to its `upstream` targets.
    #[default]
    Rest,
    /// The unified AI API over the models of its tenant; no upstream.
    Ai,
    /// One prompt published as a REST endpoint; no upstream.
    Prompt,
}

impl ApiKind {
    /// `rest`, `ai` or `prompt`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Rest => "rest",
            ApiKind::Ai => "ai",
            ApiKind::Prompt => "prompt",
        }
    }

    /// Whether APIs of this kind proxy to upstream targets (only `rest`).
    pub fn has_upstream(self) -> bool {
        self == ApiKind::Rest
    }
}

/// What a prompt API answers: the model's text, or its text parsed as JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFormat {
    /// `output` is the model's text.
    #[default]
    Text,
    /// The model is asked for JSON, and `output` is that JSON value.
    Json,
}

/// The prompt a `prompt` API publishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// The model name (of the API's tenant) the prompt is sent to.
    pub model: String,
    /// The system message, if any.
    #[serde(default)]
    pub system: Option<String>,
    /// The user message; `{{name}}` is replaced by the variable `name`.
    pub template: String,
    /// JSON Schema (an object) the request's `variables` must satisfy.
    pub variables_schema: serde_json::Value,
    /// `text` (default) or `json`.
    #[serde(default)]
    pub response_format: PromptFormat,
}

/// The period of an AI spend budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

/// An AI spend budget: at most `usd` dollars of model cost per period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// US dollars allowed per period: finite and above 0 (the admin API
    /// refuses anything else, so the equality below is an equivalence).
    pub usd: f64,
    /// `day` or `month` (UTC calendar).
    pub period: BudgetPeriod,
}

// `usd` is never NaN (validated on the way in), so `==` is reflexive.
impl Eq for Budget {}

/// The AI limits of a key, an app or a tenant. All unset (the default)
/// means no AI limit at this level; unset fields are left out when
/// serialized.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AiLimits {
    /// Model names it may call; empty means every model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_models: Vec<String>,
    /// Spend budget per day or month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Prompt plus completion tokens per minute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
}

impl AiLimits {
    /// No AI limit: every model, no budget, no token rate.
    pub const NONE: AiLimits = AiLimits { allowed_models: Vec::new(), budget: None, tokens_per_minute: None };

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.allowed_models.is_empty() && self.budget.is_none() && self.tokens_per_minute.is_none()
    }

    /// Whether `model` is allowed (every model when the list is empty).
    pub fn allows_model(&self, model: &str) -> bool {
        self.allowed_models.is_empty() || self.allowed_models.iter().any(|m| m == model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_limits_serialize_to_nothing_and_read_back() {
        assert_eq!(serde_json::to_value(AiLimits::default()).unwrap(), json!({}));
        let set = AiLimits {
            allowed_models: vec!["gpt-4o".into()],
            budget: Some(Budget { usd: 12.5, period: BudgetPeriod::Month }),
            tokens_per_minute: Some(1000),
        };
        let v = serde_json::to_value(&set).unwrap();
        assert_eq!(
            v,
            json!({"allowed_models": ["gpt-4o"], "budget": {"usd": 12.5, "period": "month"}, "tokens_per_minute": 1000})
        );
        assert_eq!(serde_json::from_value::<AiLimits>(v).unwrap(), set);
        assert!(set.allows_model("gpt-4o") && !set.allows_model("gpt-4o-mini"));
        assert!(AiLimits::NONE.allows_model("anything") && AiLimits::NONE.is_empty());
    }

    #[test]
    fn kinds_and_prompts_use_snake_case_with_defaults() {
        assert_eq!(serde_json::to_value(ApiKind::Prompt).unwrap(), json!("prompt"));
        assert_eq!(ApiKind::default(), ApiKind::Rest);
        let p: PromptSpec =
            serde_json::from_value(json!({"model": "m", "template": "Hi {{name}}", "variables_schema": {"type": "object"}}))
                .unwrap();
        assert_eq!((p.response_format, p.system), (PromptFormat::Text, None));
        assert!(!ApiKind::Ai.has_upstream() && ApiKind::Rest.has_upstream());
    }
}
