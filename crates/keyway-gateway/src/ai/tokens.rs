//! Counting tokens locally, for the answers a provider sent without
//! usage (some OpenAI-compatible servers, a stream cut off before its
//! usage event): OpenAI's `o200k_base` BPE (`tiktoken-rs`), loaded on
//! first use. Rows counted this way are flagged `tokens_estimated`: other
//! providers' tokenizers differ, so the count is close, not exact.

use keyway_ai::{ChatRequest, Usage};

/// Tokens of `text`.
pub fn count(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    tiktoken_rs::o200k_base_singleton().encode_ordinary(text).len() as u64
}

/// The prompt's text: system parts, then each message's text.
pub fn prompt_text(req: &ChatRequest) -> String {
    let mut out = String::new();
    for part in req.system.iter().filter_map(|p| p.as_text()) {
        out.push_str(part);
        out.push('\n');
    }
    for m in &req.messages {
        out.push_str(&m.joined_text());
        out.push('\n');
    }
    out
}

/// The usage of a call whose provider reported none.
pub fn local_usage(prompt: &str, output: &str) -> Usage {
    Usage { input_tokens: count(prompt), output_tokens: count(output), ..Usage::default() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_tokens_as_openais_tokenizer_does() {
        assert_eq!(super::count(""), 0);
        // "Hello, world!" is four o200k tokens: "Hello" "," " world" "!".
        assert_eq!(super::count("Hello, world!"), 4);
        assert!(super::count(&"tokens ".repeat(100)) >= 100);
    }
}
