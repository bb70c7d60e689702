//! [`PriceTable`]: model name -> [`Price`], parsed from TOML.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::{cost, Price};
use crate::canonical::Usage;

/// The built-in table's TOML text (`crates/keyway-ai/prices.toml`).
pub const BUILTIN_PRICES: &str = include_str!("../../prices.toml");

/// Why a price table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Not TOML, or not the table's shape (unknown field, missing
    /// `input`/`output`, a string where a number belongs...).
    #[error("price table is malformed: {0}")]
    Toml(String),
    /// A price that is negative, infinite or NaN.
    #[error("price table entry `{model}`: `{field}` must be a finite non-negative number")]
    Invalid {
        /// The model whose entry is bad.
        model: String,
        /// The bad field.
        field: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    checked: String,
    #[serde(default)]
    models: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    input: f64,
    output: f64,
    cached_input: Option<f64>,
    cache_write: Option<f64>,
    reasoning: Option<f64>,
}

/// Prices by model name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTable {
    checked: String,
    models: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in table ([`BUILTIN_PRICES`]), parsed once. The embedded
    /// file is tested to parse; were it ever broken, this is an empty table
    /// (every lookup `None`) rather than a panic.
    pub fn builtin() -> &'static Self {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| Self::parse(BUILTIN_PRICES).unwrap_or_default())
    }

    /// Parses a table: a top-level `checked = "YYYY-MM"` and one
    /// `[models."name"]` table per model with `input` and `output` and
    /// optionally `cached_input`, `cache_write`, `reasoning` (USD per
    /// million tokens). Unknown fields are refused.
    pub fn parse(text: &str) -> Result<Self, PriceError> {
        let file: File = toml::from_str(text).map_err(|e| PriceError::Toml(e.message().to_owned()))?;
        let mut models = BTreeMap::new();
        for (name, e) in file.models {
            let fields = [
                ("input", Some(e.input)),
                ("output", Some(e.output)),
                ("cached_input", e.cached_input),
                ("cache_write", e.cache_write),
                ("reasoning", e.reasoning),
            ];
            if let Some((field, _)) = fields.iter().find(|(_, v)| v.is_some_and(|v| !v.is_finite() || v < 0.0)) {
                return Err(PriceError::Invalid { model: name, field });
            }
            let price = Price {
                input_per_mtok: e.input,
                output_per_mtok: e.output,
                cached_input_per_mtok: e.cached_input,
                cache_write_per_mtok: e.cache_write,
                reasoning_per_mtok: e.reasoning,
            };
            models.insert(name, price);
        }
        Ok(Self { checked: file.checked, models })
    }

    /// When the figures were last checked (`YYYY-MM`), as the file says.
    pub fn checked(&self) -> &str {
        &self.checked
    }

    /// How many models the table prices.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table prices no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Every (model, price), by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The price of `model`: the exact name, else the name without one
    /// version suffix (`-YYYY-MM-DD`, `-YYYYMMDD`, `@YYYYMMDD`, a 4-digit
    /// `-NNNN` such as Mistral's `-2411`, or `-latest`). Nothing looser: a
    /// family prefix never matches (`gpt-4o-mini` is not `gpt-4o`), and
    /// `-preview-...` names are not stripped (previews were priced apart).
    pub fn lookup(&self, model: &str) -> Option<&Price> {
        self.models.get(model).or_else(|| strip_version(model).and_then(|base| self.models.get(base)))
    }

    /// [`cost`] of `usage` at `model`'s price; `None` for an unknown model.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.lookup(model).map(|p| cost(p, usage))
    }
}

/// `model` without a trailing version suffix, if it has one.
fn strip_version(model: &str) -> Option<&str> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(base) = model.strip_suffix("-latest") {
        return Some(base);
    }
    if let Some((base, date)) = model.rsplit_once('@') {
        return digits(date, 8).then_some(base);
    }
    // -YYYY-MM-DD
    let cut = model.len().saturating_sub(11);
    if let (true, Some(base), Some(tail)) = (model.len() > 11, model.get(..cut), model.get(cut..)) {
        let t = tail.as_bytes();
        if t[0] == b'-'
            && t[5] == b'-'
            && t[8] == b'-'
            && digits(&tail[1..5], 4)
            && digits(&tail[6..8], 2)
            && digits(&tail[9..], 2)
        {
            return Some(base);
        }
    }
    let (base, tail) = model.rsplit_once('-')?;
    (digits(tail, 8) || digits(tail, 4)).then_some(base).filter(|b| !b.is_empty())
}
