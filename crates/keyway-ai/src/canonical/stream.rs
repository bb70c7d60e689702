//! [`StreamEvent`]: the canonical streaming vocabulary.
//!
//! A well-formed stream is `Start`, then deltas, then `Finish` per choice,
//! then at most one `Usage`, then `Done`. Decoders emit events in the order
//! the provider sent them; encoders accept them in that order.

use super::error::ApiError;
use super::response::FinishReason;
use super::usage::Usage;

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer begins.
    Start {
        /// Provider-assigned id.
        id: String,
        /// The model that answers.
        model: String,
    },
    /// More text for choice `index`.
    TextDelta {
        /// Choice index (always 0 for Anthropic).
        index: u32,
        /// The new text.
        text: String,
    },
    /// Choice `index` starts its `tool_index`-th tool call.
    ToolCallStart {
        /// Choice index.
        index: u32,
        /// Ordinal of the call within the choice: 0, 1, ...
        tool_index: u32,
        /// Provider-assigned call id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// More argument JSON text for a tool call already started.
    ToolCallArgsDelta {
        /// Choice index.
        index: u32,
        /// Ordinal of the call within the choice.
        tool_index: u32,
        /// A fragment of the arguments' JSON text (not valid JSON alone).
        json: String,
    },
    /// Choice `index` is complete.
    Finish {
        /// Choice index.
        index: u32,
        /// Why it stopped.
        reason: FinishReason,
    },
    /// Token accounting for the whole answer.
    Usage(Usage),
    /// The provider reported an error mid-stream.
    Error(ApiError),
    /// The stream is over.
    Done,
}
