//! Which operation of the unified AI API a request asks for, from its
//! method and its path past the API's base path, and the envelope its
//! refusals use.

use http::Method;
use keyway_ai::WireFormat;
use keyway_core::model::{Api, Protocol};
use keyway_core::refusals::NoRoute;
use keyway_core::Refusal;

/// An operation of an `ai` API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST B/v1/chat/completions`, OpenAI's format.
    Chat,
    /// `POST B/v1/messages`, Anthropic's format.
    Messages,
    /// `POST B/v1/embeddings`, OpenAI's format.
    Embeddings,
    /// `GET B/v1/models`: the models this key may use.
    Models,
}

impl Operation {
    /// The operation at `path` (the whole request path) of `api`, or the
    /// refusal for a path or method it does not serve.
    pub fn of(api: &Api, method: &Method, path: &str) -> Result<Self, Refusal> {
        let base = api.base_path.trim_end_matches('/');
        let rest = path.strip_prefix(base).unwrap_or(path);
        let (op, allowed) = match rest.trim_end_matches('/') {
            "/v1/chat/completions" | "/chat/completions" => (Self::Chat, Method::POST),
            "/v1/messages" | "/messages" => (Self::Messages, Method::POST),
            "/v1/embeddings" | "/embeddings" => (Self::Embeddings, Method::POST),
            "/v1/models" | "/models" => (Self::Models, Method::GET),
            _ => return Err(Refusal::route_not_found(path, NoRoute::NoApi)),
        };
        if *method != allowed && !(allowed == Method::GET && *method == Method::HEAD) {
            return Err(Refusal::operation_method_not_allowed(method.as_str(), path, allowed.as_str()));
        }
        Ok(op)
    }

    /// The envelope of refusals on this operation's path: Anthropic's on
    /// `/v1/messages`, OpenAI's elsewhere.
    pub fn protocol(self) -> Protocol {
        match self {
            Self::Messages => Protocol::Anthropic,
            _ => Protocol::Openai,
        }
    }

    /// The wire format the caller speaks.
    pub fn caller_format(self) -> WireFormat {
        match self {
            Self::Messages => WireFormat::Anthropic,
            _ => WireFormat::OpenAi,
        }
    }

    /// The protocol a path of an `ai` API refuses in, before the
    /// operation is known to be valid (an unknown path: OpenAI's).
    pub fn protocol_of_path(path: &str) -> Protocol {
        if path.trim_end_matches('/').ends_with("/messages") {
            Protocol::Anthropic
        } else {
            Protocol::Openai
        }
    }
}
