//! Integration tests for keyway-ai: fixtures in the providers' real shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test harness fails loudly")]

mod anthropic;
mod garbage;
mod gemini;
mod gemini_stream;
mod openai;
mod outbound;
mod price;
mod provider;
mod stream;
mod translate;
mod upstream;
mod upstream_native;

#[path = "../support/mod.rs"]
mod support;

use serde_json::Value;

/// Parses bytes as JSON (test helper).
pub fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}
