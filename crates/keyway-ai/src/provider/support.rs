//! What a provider's format cannot carry (after what Keyway emulates:
//! JSON mode toward Anthropic, see [`crate::json_mode`]). A request asking for it is not
//! sent there with the ask silently dropped (an answer the caller did not
//! ask for): the gateway skips such targets, and refuses the call
//! (`request_invalid` naming the parameter) when none is left.

use super::ProviderKind;
use crate::canonical::{ChatRequest, ResponseFormat};

/// A parameter of the request that a provider kind cannot honour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The caller's parameter, as the caller's format names it.
    pub param: &'static str,
    /// Why, and what to do instead.
    pub reason: &'static str,
}

impl ProviderKind {
    /// Whether this kind has no JSON mode of its own, so a JSON
    /// `response_format` is sent as [`crate::json_mode`]'s forced tool.
    pub fn emulates_json_mode(self) -> bool {
        self == ProviderKind::Anthropic
    }

    /// The first parameter of `req` this kind cannot honour, if any.
    /// Parameters a provider may ignore without changing what the answer
    /// is (`seed`, `user`, `logit_bias`...) are dropped, not refused.
    pub fn unsupported(self, req: &ChatRequest) -> Option<Unsupported> {
        match self {
            ProviderKind::Anthropic => {
                if req.n.is_some_and(|n| n > 1) {
                    return Some(Unsupported {
                        param: "n",
                        reason: "Anthropic models answer with one choice: send n = 1, or several requests",
                    });
                }
                // JSON mode is emulated with a forced tool (`json_mode`), which
                // would stop the model from calling the caller's own tools.
                let json = matches!(req.response_format, Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. }));
                if json && self.emulates_json_mode() && !crate::json_mode::emulable(req) {
                    return Some(Unsupported {
                        param: "response_format",
                        reason: "Anthropic models have no JSON mode, and Keyway's (a forced tool) cannot be combined with tools of your own: drop one of the two",
                    });
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> ChatRequest {
        crate::openai::parse_request(body.as_bytes()).expect("a valid request")
    }

    #[test]
    fn anthropic_refuses_several_choices_and_json_mode_with_tools_and_others_take_them() {
        let several = request(r#"{"model":"m","n":3,"messages":[{"role":"user","content":"hi"}]}"#);
        let json_mode = request(
            r#"{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#,
        );
        let emulated =
            request(r#"{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}"#);
        assert_eq!(ProviderKind::Anthropic.unsupported(&emulated), None, "JSON mode alone is emulated");
        let plain = request(
            r#"{"model":"m","n":1,"seed":7,"response_format":{"type":"text"},"messages":[{"role":"user","content":"hi"}]}"#,
        );
        assert_eq!(ProviderKind::Anthropic.unsupported(&several).map(|u| u.param), Some("n"));
        assert_eq!(ProviderKind::Anthropic.unsupported(&json_mode).map(|u| u.param), Some("response_format"));
        assert_eq!(ProviderKind::Anthropic.unsupported(&plain), None);
        for kind in [ProviderKind::OpenAi, ProviderKind::Gemini, ProviderKind::Mistral] {
            assert_eq!(kind.unsupported(&several), None, "{kind:?}");
            assert_eq!(kind.unsupported(&json_mode), None, "{kind:?}");
        }
    }
}
