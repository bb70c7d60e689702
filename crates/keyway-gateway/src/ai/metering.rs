//! What an AI call used and cost, written once on its call-log row.
//!
//! Tokens come from the provider's usage (a stream's final usage event
//! included). The cost is priced at the model's own price when the admin
//! API set one, else at the built-in price table's for the provider's
//! model; it is charged to the model the caller named. A streamed call's
//! row waits for the stream to end, or to be dropped when the client goes
//! away: [`Settlement`] records it once, whichever of the two sides
//! (the finished row, the final usage) comes last.

use crate::call_log::CallLogSender;
use keyway_ai::price::{cost, PriceTable};
use keyway_ai::Usage;
use keyway_core::providers::AiModel;
use keyway_core::records::CallLogRow;
use keyway_limits::{Amounts, Meter, Reservation};
use std::sync::{Arc, Mutex};

/// What admission held in the ledger for one call: settled with the real
/// amounts, or released when dropped unsettled (the call failed, or was
/// refused after admission).
pub struct Held {
    meter: Arc<dyn Meter>,
    reservation: Option<Reservation>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("reservation", &self.reservation).finish_non_exhaustive()
    }
}

impl Held {
    /// `reservation`, held in `meter`.
    pub fn new(meter: Arc<dyn Meter>, reservation: Reservation) -> Self {
        Self { meter, reservation: Some(reservation) }
    }

    /// Replaces the estimate with what the call used.
    pub fn settle(mut self, actual: Amounts) {
        if let Some(r) = self.reservation.take() {
            self.meter.settle(r, actual, chrono::Utc::now());
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(r) = self.reservation.take() {
            self.meter.settle(r, Amounts::default(), chrono::Utc::now());
        }
    }
}

/// How a call is priced: the caller's model name, and the price.
#[derive(Debug, Clone)]
pub struct Pricing {
    /// The model the caller named (what the row and analytics show).
    pub model: String,
    /// The provider's name, for the row.
    pub provider: String,
    /// USD per million tokens, when known.
    pub price: Option<keyway_ai::price::Price>,
}

impl Pricing {
    /// The pricing of a call to `model`, answered by `provider_model`.
    pub fn new(model: &AiModel, provider: &str, provider_model: &str) -> Self {
        let price = model.price.or_else(|| PriceTable::builtin().lookup(provider_model).copied());
        Self { model: model.name.clone(), provider: provider.to_owned(), price }
    }

    /// The cost of `usage` in USD (0 for a model without a known price).
    pub fn cost(&self, usage: &Usage) -> f64 {
        self.price.map_or(0.0, |p| cost(&p, usage))
    }

    /// Writes the model, provider, tokens and cost onto `row`;
    /// `estimated`: the tokens were counted locally.
    pub fn fill(&self, row: &mut CallLogRow, usage: &Usage, estimated: bool) {
        row.tokens_estimated = estimated;
        row.model = Some(self.model.clone());
        row.provider = Some(self.provider.clone());
        row.prompt_tokens = Some(usage.input_tokens);
        row.completion_tokens = Some(usage.output_tokens);
        row.token_details = Some(keyway_core::records::TokenDetails {
            cached_input_tokens: usage.cached_input_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            reasoning_tokens: usage.reasoning_tokens,
        });
        row.cost_usd = Some(self.cost(usage));
    }
}

/// A streamed call's settlement: the ledger settled as soon as the usage
/// is known, and the call-log row recorded when both the row is finished
/// and the usage is known; each once.
#[derive(Debug)]
pub struct Settlement {
    pricing: Pricing,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    row: Option<(CallLogRow, CallLogSender)>,
    usage: Option<(Usage, bool)>,
    held: Option<Held>,
    settled: bool,
}

impl Settlement {
    /// A settlement priced by `pricing`, settling `held`.
    pub fn new(pricing: Pricing, held: Held) -> Self {
        Self { pricing, state: Mutex::new(State { held: Some(held), ..State::default() }) }
    }

    /// The request path finished the row (status, latency, trace).
    pub fn row_ready(&self, row: CallLogRow, log: CallLogSender) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.row = Some((row, log));
        self.settle_if_complete(&mut s);
    }

    /// The stream ended (or was dropped) having used `usage` (`estimated`:
    /// counted locally). Later calls change nothing: settlement is
    /// idempotent.
    pub fn usage_known(&self, usage: Usage, estimated: bool) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.usage.is_none() {
            s.usage = Some((usage, estimated));
            if let Some(held) = s.held.take() {
                held.settle(super::admission::amounts(&self.pricing, &usage));
            }
        }
        self.settle_if_complete(&mut s);
    }

    fn settle_if_complete(&self, s: &mut State) {
        if s.settled || s.usage.is_none() || s.row.is_none() {
            return;
        }
        let (Some((mut row, log)), Some((usage, estimated))) = (s.row.take(), s.usage) else { return };
        s.settled = true;
        self.pricing.fill(&mut row, &usage, estimated);
        log.record(row);
    }
}
