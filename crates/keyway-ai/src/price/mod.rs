//! What an answer costs: [`Price`] (USD per million tokens), [`cost`], and
//! the built-in [`PriceTable`] kept as data in `prices.toml`.
//!
//! Pricing follows the canonical [`Usage`], whose `input_tokens` include
//! cached reads and cache writes and whose `output_tokens` include
//! reasoning. Each token is priced exactly once:
//!
//! ```text
//! uncached  = input - cached_input - cache_write     at input_per_mtok
//! cached    = cached_input                           at cached_input_per_mtok (else input)
//! written   = cache_write                            at cache_write_per_mtok  (else input)
//! visible   = output - reasoning                     at output_per_mtok
//! reasoning = reasoning                              at reasoning_per_mtok    (else output)
//! ```

mod table;

use serde::{Deserialize, Serialize};

use crate::canonical::Usage;

pub use table::{PriceError, PriceTable, BUILTIN_PRICES};

/// A model's prices in USD per million tokens, in Keyway's admin shape
/// (`input_per_mtok`, `output_per_mtok`, optional `cached_input_per_mtok`
/// and `cache_write_per_mtok`), plus an optional `reasoning_per_mtok`
/// that the admin shape may omit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    /// An uncached prompt token.
    pub input_per_mtok: f64,
    /// A generated token (reasoning included unless `reasoning_per_mtok` is set).
    pub output_per_mtok: f64,
    /// A prompt token read from the cache; `None` prices it as input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
    /// A prompt token written to the cache; `None` prices it as input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_mtok: Option<f64>,
    /// A reasoning token; `None` prices it as output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_per_mtok: Option<f64>,
}

/// The cost in USD of `usage` at `price` (see the module docs: cached and
/// cache-write tokens are NOT also charged at the input price). Counts
/// that do not add up (more cached than input tokens, more reasoning than
/// output tokens) are clamped rather than charged twice or negatively.
pub fn cost(price: &Price, usage: &Usage) -> f64 {
    let uncached = usage.uncached_input_tokens();
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    let written = usage.cache_write_tokens.min(usage.input_tokens.saturating_sub(cached));
    let reasoning = usage.reasoning_tokens.min(usage.output_tokens);
    let visible = usage.output_tokens - reasoning;
    let at = |tokens: u64, per_mtok: f64| tokens as f64 * per_mtok;
    let total = at(uncached, price.input_per_mtok)
        + at(cached, price.cached_input_per_mtok.unwrap_or(price.input_per_mtok))
        + at(written, price.cache_write_per_mtok.unwrap_or(price.input_per_mtok))
        + at(visible, price.output_per_mtok)
        + at(reasoning, price.reasoning_per_mtok.unwrap_or(price.output_per_mtok));
    total / 1_000_000.0
}
