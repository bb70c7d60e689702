//! What each kind of API takes: a `rest` API needs an `upstream`; `ai`
//! and `prompt` APIs have none (stored with no targets); only a `prompt`
//! API has (and needs) a `prompt`. An `ai` API answers refusals in
//! OpenAI's envelope unless told otherwise.

use crate::ai_fields::{self, PromptIn};
use crate::error::AdminError;
use crate::input::UpstreamIn;
use crate::validate;
use keyway_core::model::{ApiKind, PromptSpec, Protocol, Upstream};

/// The upstream of a new API of `kind`, checked.
pub fn upstream(kind: ApiKind, given: Option<UpstreamIn>) -> Result<Upstream, AdminError> {
    match (kind.has_upstream(), given) {
        (true, Some(u)) => validate::upstream(u),
        (true, None) => Err(AdminError::invalid(
            "upstream",
            "a rest API needs upstream, e.g. {\"targets\": [{\"url\": \"http://orders.internal:8080\"}]}",
        )),
        (false, Some(_)) => Err(AdminError::invalid("upstream", no_upstream(kind))),
        (false, None) => Ok(Upstream { targets: Vec::new(), strip_base_path: true, timeout_ms: None }),
    }
}

/// Why an API of `kind` takes no `upstream`: a 400 naming `upstream` on
/// create (the body is at fault), a 409 on PATCH (the stored kind is).
pub fn no_upstream(kind: ApiKind) -> String {
    format!("an API of kind {} has no upstream (it is served by Keyway's AI gateway): leave upstream out", kind.as_str())
}

/// The prompt of a new API of `kind`, checked: required for `prompt`,
/// refused for the other kinds.
pub fn prompt(kind: ApiKind, given: Option<PromptIn>) -> Result<Option<PromptSpec>, AdminError> {
    match (kind, given) {
        (ApiKind::Prompt, Some(p)) => ai_fields::prompt(p).map(Some),
        (ApiKind::Prompt, None) => {
            Err(AdminError::invalid("prompt", "a prompt API needs prompt: {\"model\", \"template\", \"variables_schema\"}"))
        }
        (_, Some(_)) => Err(AdminError::invalid("prompt", not_a_prompt_api(kind))),
        (_, None) => Ok(None),
    }
}

/// Why an API of `kind` takes no `prompt` (400 on create, 409 on PATCH).
pub fn not_a_prompt_api(kind: ApiKind) -> String {
    format!("prompt is for APIs of kind prompt; this one is {}", kind.as_str())
}

/// The refusal envelope of a new API of `kind`: the one given, else
/// `openai` for `ai` APIs and `rest` for the others.
pub fn protocol(kind: ApiKind, given: Option<Protocol>) -> Protocol {
    given.unwrap_or(if kind == ApiKind::Ai { Protocol::Openai } else { Protocol::Rest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_in() -> PromptIn {
        PromptIn {
            model: "gpt-4o".into(),
            system: None,
            template: "Hi {{name}}".into(),
            variables_schema: serde_json::json!({"type": "object"}),
            response_format: None,
        }
    }

    #[test]
    fn only_rest_apis_take_an_upstream_and_only_prompt_apis_a_prompt() {
        let up = || Some(UpstreamIn { targets: Vec::new(), strip_base_path: true, timeout_ms: None });
        assert!(upstream(ApiKind::Rest, None).is_err());
        assert!(upstream(ApiKind::Ai, up()).is_err() && upstream(ApiKind::Prompt, up()).is_err());
        assert_eq!(upstream(ApiKind::Ai, None).map(|u| u.targets.len()).ok(), Some(0));
        assert!(prompt(ApiKind::Prompt, None).is_err());
        assert!(prompt(ApiKind::Rest, Some(prompt_in())).is_err() && prompt(ApiKind::Ai, Some(prompt_in())).is_err());
        assert!(prompt(ApiKind::Prompt, Some(prompt_in())).is_ok_and(|p| p.is_some()));
        assert_eq!(protocol(ApiKind::Ai, None), Protocol::Openai);
        assert_eq!(protocol(ApiKind::Ai, Some(Protocol::Anthropic)), Protocol::Anthropic);
        assert_eq!(protocol(ApiKind::Prompt, None), Protocol::Rest);
    }
}
