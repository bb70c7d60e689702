//! Synthetic traffic for the scale test: rows evenly spread over the
//! span, keys drawn with a skew (a few hot keys, a long tail), about 10%
//! refused with a spread of codes, log-normal-ish latencies, a real
//! decision trace per row.

use super::ScaleOptions;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::CallLogRow;
use keyway_core::{ErrorCode, Stage, Timestamp, Trace};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Refusals and how often (per 1000 calls).
const REFUSALS: &[(ErrorCode, u32)] = &[
    (ErrorCode::RateLimited, 30),
    (ErrorCode::KeyRevoked, 15),
    (ErrorCode::CredentialMissing, 15),
    (ErrorCode::KeyUnknown, 12),
    (ErrorCode::KeyOwnerSuspended, 10),
    (ErrorCode::SubscriptionRequired, 8),
    (ErrorCode::ScopeInsufficient, 4),
    (ErrorCode::RouteNotFound, 3),
    (ErrorCode::UpstreamTimeout, 2),
];

/// The generator, and what the measurements need to know of it.
pub struct Traffic {
    rng: StdRng,
    start: i64,
    step_ns: f64,
    keys: usize,
    /// Some request ids written (one per 10,000 rows), for lookups.
    pub sample_ids: Vec<String>,
}

impl Traffic {
    /// Rows ending now, spread over `opts.days`.
    pub fn new(opts: &ScaleOptions) -> Traffic {
        let span_ns = f64::from(opts.days) * 86_400e9;
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        Traffic {
            rng: StdRng::seed_from_u64(8),
            start: now - span_ns as i64,
            step_ns: span_ns / opts.rows.max(1) as f64,
            keys: opts.keys.max(1),
            sample_ids: Vec::new(),
        }
    }

    /// When row `i` arrives.
    pub fn time_of(&self, i: u64) -> Timestamp {
        chrono::DateTime::from_timestamp_nanos(self.start + (i as f64 * self.step_ns) as i64)
    }

    /// Key `k`'s id, app, tenant.
    pub fn key(k: usize) -> (String, String, String) {
        (format!("key_{k:05}"), format!("app_{:04}", k % 200), format!("ten_{:02}", k % 200 % 10))
    }

    /// Index of a key drawn with a skew: the first keys get most calls.
    pub fn draw_key(&mut self) -> usize {
        let u: f64 = self.rng.gen();
        ((u * u * u) * self.keys as f64) as usize
    }

    /// Rows `first .. first + n`.
    pub fn batch(&mut self, first: u64, n: u64) -> Vec<CallLogRow> {
        (first..first + n).map(|i| self.row(i)).collect()
    }

    fn row(&mut self, i: u64) -> CallLogRow {
        let time = self.time_of(i);
        let k = self.draw_key();
        let (key, app, tenant) = Traffic::key(k);
        let api = format!("api_{:02}", (k % 200 % 10) * 2 + self.rng.gen_range(0..2));
        let roll = self.rng.gen_range(0..1000);
        let mut acc = 0;
        let code = REFUSALS.iter().find(|(_, p)| {
            acc += p;
            roll < acc
        });
        let code = code.map(|(c, _)| *c);
        let stage = code.map_or(Stage::Limits, ErrorCode::stage);
        let knows_key = !matches!(code, Some(ErrorCode::CredentialMissing | ErrorCode::KeyUnknown | ErrorCode::RouteNotFound));
        let mut trace = Trace::new();
        trace.pass(Stage::Route, format!("api {api} (tenant {tenant})"));
        match code {
            Some(c) => trace.fail(stage, format!("{} for key {key}", c.as_str()), Some("see docs/errors.md".into())),
            None => trace.pass(Stage::Key, format!("key {key} active, no expiry")),
        }
        trace.close(stage);
        let upstream = matches!(code, None | Some(ErrorCode::UpstreamTimeout));
        let u: f64 = self.rng.gen_range(1e-6..1.0);
        let upstream_ms = 2.0 + 25.0 * -u.ln();
        let request_id = RequestId::at(time);
        if i.is_multiple_of(10_000) {
            self.sample_ids.push(request_id.0.clone());
        }
        CallLogRow {
            request_id,
            time,
            tenant_id: (code != Some(ErrorCode::RouteNotFound)).then_some(TenantId::from(tenant)),
            api_id: (code != Some(ErrorCode::RouteNotFound)).then_some(ApiId::from(api)),
            app_id: knows_key.then_some(AppId::from(app)),
            key_id: knows_key.then_some(KeyId::from(key)),
            key_prefix: Some("kw_live_abcd".into()),
            method: "GET".into(),
            path: "/orders/v1/items/42".into(),
            status: code.map_or(200, |c| c.status()),
            code,
            client_ip: "203.0.113.7".into(),
            latency_ms: if upstream { upstream_ms + 0.2 } else { 0.05 + self.rng.gen_range(0.0..0.3) },
            upstream_latency_ms: upstream.then_some(upstream_ms),
            model: None,
            provider: None,
            tokens_estimated: false,
            token_details: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            trace,
        }
    }
}
