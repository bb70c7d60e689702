//! Phase limits of an AI call: the key's, the app's and the tenant's
//! spend budgets and tokens-per-minute limits, checked against an
//! estimate of the call and held in the metering ledger until the call
//! settles (`budget_exceeded`, `token_rate_limited`).
//!
//! The estimate: the prompt's text at four characters a token, plus the
//! caller's `max_tokens` (or [`DEFAULT_OUTPUT_ESTIMATE`] when it sets
//! none), priced at the model's price. Completion replaces it with what
//! the provider reported.

use super::metering::Pricing;
use chrono::{DateTime, Utc};
use keyway_ai::{ChatRequest, Usage};
use keyway_core::model::{AiLimits, BudgetPeriod};
use keyway_core::refusals::{BudgetUsed, TokensUsed};
use keyway_core::text::Text;
use keyway_core::Refusal;
use keyway_limits::{Amounts, Level, LimitKey, Meter, MeterCheck, MeterLimit, MeterRefusal, Period, Reservation};
use keyway_pipeline::Admitted;
use std::fmt::Write as _;
use std::sync::Arc;

/// Completion tokens assumed for a call that sets no `max_tokens`.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 256;

/// The levels whose AI limits apply to `admitted`, key first (none for
/// a caller with a token): each with its subject id and its limits.
pub fn levels(admitted: &Admitted) -> Vec<(Level, &str, &AiLimits)> {
    let key = admitted.key.as_ref().map(|k| (Level::Key, k.key.id.as_str(), k.key.ai_limits()));
    key.into_iter()
        .chain([
            (Level::App, admitted.app.id.as_str(), &admitted.app.ai),
            (Level::Tenant, admitted.tenant.id.as_str(), &admitted.tenant.ai),
        ])
        .collect()
}

/// The ledger checks of `admitted`'s levels that set AI limits.
pub fn checks(admitted: &Admitted) -> Vec<MeterCheck> {
    let mut out = Vec::new();
    for (level, id, limits) in levels(admitted) {
        if let Some(b) = limits.budget {
            let period = match b.period {
                BudgetPeriod::Day => Period::Day,
                BudgetPeriod::Month => Period::Month,
            };
            let micro_usd = (b.usd * 1e6).round().max(0.0) as u64;
            out.push(MeterCheck { key: LimitKey::new(level, id), limit: MeterLimit::Budget { micro_usd, period } });
        }
        if let Some(n) = limits.tokens_per_minute {
            out.push(MeterCheck { key: LimitKey::new(level, id), limit: MeterLimit::TokensPerMinute(n) });
        }
    }
    out
}

/// The estimate of a chat call.
pub fn estimate(req: &ChatRequest, pricing: &Pricing) -> Amounts {
    let input = super::estimate_input(req);
    let output = req.max_tokens.unwrap_or(DEFAULT_OUTPUT_ESTIMATE).saturating_mul(u64::from(req.n.unwrap_or(1).max(1)));
    let usage = Usage { input_tokens: input, output_tokens: output, ..Usage::default() };
    amounts(pricing, &usage)
}

/// What `usage` amounts to in the ledger.
pub fn amounts(pricing: &Pricing, usage: &Usage) -> Amounts {
    Amounts { micro_usd: (pricing.cost(usage) * 1e6).round().max(0.0) as u64, tokens: usage.total_tokens() }
}

/// Holds `estimate` at every level, or the refusal of the first that
/// cannot take it.
pub fn reserve(meter: &dyn Meter, checks: &[MeterCheck], estimate: Amounts, now: DateTime<Utc>) -> Result<Reservation, Refusal> {
    meter.reserve(checks, estimate, now).map_err(|r| refusal(&r, estimate, now))
}

fn refusal(r: &MeterRefusal, estimate: Amounts, now: DateTime<Utc>) -> Refusal {
    let (level, whose) = (r.key.level.as_str(), crate::limits::who(r.key.level));
    match r.limit {
        MeterLimit::Budget { micro_usd, period } => Refusal::budget_exceeded(BudgetUsed {
            level,
            whose,
            subject: &r.key.subject,
            budget_usd: micro_usd as f64 / 1e6,
            spent_usd: r.used as f64 / 1e6,
            held_usd: r.held as f64 / 1e6,
            period: period.as_str(),
            resets_at: r.resets_at,
            now,
        }),
        MeterLimit::TokensPerMinute(n) => Refusal::token_rate_limited(TokensUsed {
            level,
            whose,
            subject: &r.key.subject,
            per_minute: n,
            used: r.used.saturating_add(r.held),
            asked: estimate.tokens,
            retry_after_s: (r.resets_at - now).num_seconds().max(1).unsigned_abs(),
        }),
    }
}

/// What the trace's limits entry says of the AI limits checked: the
/// limits, described once per key for the app and tenant it has (see
/// [`InUse::ai_limits_evidence`](keyway_pipeline::snapshot::InUse::ai_limits_evidence)), then the
/// estimate held.
pub fn evidence(admitted: &Admitted, checks: &[MeterCheck], estimate: Amounts) -> Text {
    if checks.is_empty() {
        return Text::Static("no AI budget or token limit set");
    }
    // Described once per key; a call by token (no key) describes them each time.
    let limits = match &admitted.key {
        Some(key) => key.in_use().ai_limits_evidence.get(
            |(app, tenant)| Arc::ptr_eq(app, &admitted.app) && Arc::ptr_eq(tenant, &admitted.tenant),
            || ((admitted.app.clone(), admitted.tenant.clone()), limits_text(checks)),
        ),
        None => Text::Owned(limits_text(checks)),
    };
    let mut out = String::with_capacity(limits.len() + 64);
    out.push_str(&limits);
    let _ = write!(out, "; held an estimate of {} tokens, $", estimate.tokens);
    push_usd(&mut out, estimate.micro_usd);
    Text::Owned(out)
}

/// The AI limits of `checks`, for the trace.
fn limits_text(checks: &[MeterCheck]) -> String {
    let what: Vec<String> = checks
        .iter()
        .map(|c| match c.limit {
            MeterLimit::Budget { micro_usd, period } => {
                format!("{} budget ${:.2}/{}", c.key.level.as_str(), micro_usd as f64 / 1e6, period.as_str())
            }
            MeterLimit::TokensPerMinute(n) => format!("{} {n} tokens/min", c.key.level.as_str()),
        })
        .collect();
    what.join(", ")
}

/// Appends `micro_usd` as dollars with six decimals: what `{:.6}` prints of
/// `micro_usd as f64 / 1e6`, from integers (the same up to 10^15
/// micro-dollars, where the float's error stays far below half a
/// micro-dollar; beyond, the float is formatted).
fn push_usd(out: &mut String, micro_usd: u64) {
    let _ = if micro_usd > 1_000_000_000_000_000 {
        write!(out, "{:.6}", micro_usd as f64 / 1e6)
    } else {
        write!(out, "{}.{:06}", micro_usd / 1_000_000, micro_usd % 1_000_000)
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollars_print_as_the_float_did() {
        for micro in [0, 1, 9, 10, 999_999, 1_000_000, 1_234_567, 40_000_123, 999_999_999_999, 1_000_000_000_000_000, u64::MAX] {
            let mut out = String::new();
            super::push_usd(&mut out, micro);
            assert_eq!(out, format!("{:.6}", micro as f64 / 1e6), "{micro}");
        }
    }
}
