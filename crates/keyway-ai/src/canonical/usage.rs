//! [`Usage`]: token accounting, normalised across providers.
//!
//! The providers count differently, so the mapping is exact and tested:
//!
//! | canonical | OpenAI | Anthropic |
//! |---|---|---|
//! | `input_tokens` (all prompt tokens) | `prompt_tokens` | `input_tokens + cache_read_input_tokens + cache_creation_input_tokens` |
//! | `cached_input_tokens` | `prompt_tokens_details.cached_tokens` | `cache_read_input_tokens` |
//! | `cache_write_tokens` | — (0) | `cache_creation_input_tokens` |
//! | `output_tokens` (reasoning included) | `completion_tokens` | `output_tokens` |
//! | `reasoning_tokens` | `completion_tokens_details.reasoning_tokens` | — (0) |
//!
//! OpenAI's `prompt_tokens` already *includes* the cached tokens and
//! `completion_tokens` already includes the reasoning tokens. Anthropic's
//! `input_tokens` *excludes* both cache reads and cache writes, so the
//! canonical input is the sum of the three; rendering back to Anthropic
//! subtracts them again (saturating at 0).

/// Token counts for one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Every prompt token, cached reads and cache writes included.
    pub input_tokens: u64,
    /// Every generated token, reasoning included.
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the prompt cache.
    pub cached_input_tokens: u64,
    /// Of `input_tokens`, those written to the prompt cache (Anthropic).
    pub cache_write_tokens: u64,
    /// Of `output_tokens`, hidden reasoning (OpenAI o-series).
    pub reasoning_tokens: u64,
}

impl Usage {
    /// `input_tokens + output_tokens`.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Anthropic's `input_tokens`: the prompt tokens that were neither read
    /// from nor written to the cache.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens.saturating_sub(self.cached_input_tokens).saturating_sub(self.cache_write_tokens)
    }
}
