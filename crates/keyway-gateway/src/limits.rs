//! Stage 6, limits: request rates at four levels (key, app, tenant, API)
//! and period quotas at the same levels, checked after authorization and
//! before the upstream.
//!
//! A key's own rate limit overrides its app's default for keys
//! (`key_rate_limit`). Rates are checked first, then quotas; a request
//! refused anywhere is counted nowhere. Counters live in memory
//! ([`keyway_limits`]); quota counters are flushed to storage so a restart
//! does not reset them.

use chrono::{DateTime, Utc};
use keyway_core::model::{self, QuotaPeriod};
use keyway_core::refusals::{QuotaUsed, RateUsed};
use keyway_core::text::Text;
use keyway_core::Refusal;
use keyway_limits::{
    headers, Level, LimitKey, Measure, Meter, MeterUsage, Period, Quota, QuotaKey, QuotaLimiter, QuotaUsage, RateLimit,
    RateLimiter,
};
use keyway_pipeline::Admitted;
use keyway_store::{QuotaUsageRow, Store};
use std::sync::Arc;

/// The limiters the gateway checks against.
pub struct Limiters {
    /// Request rates.
    pub rates: Arc<dyn RateLimiter>,
    /// Period quotas.
    pub quotas: Arc<dyn QuotaLimiter>,
    /// The AI metering ledger: spend budgets and tokens per minute.
    pub meter: Arc<dyn Meter>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

/// What a request that passed the limits stage carries on.
#[derive(Debug, Default)]
pub struct Passed {
    /// `RateLimit-Policy` / `RateLimit` of the most restrictive level.
    pub headers: Vec<(&'static str, String)>,
    /// Trace evidence.
    pub evidence: Text,
}

fn rate(r: &model::RateLimit) -> RateLimit {
    RateLimit::new(r.requests, r.per_seconds)
}

fn quota(q: &model::Quota) -> Quota {
    Quota {
        requests: q.requests,
        period: match q.period {
            QuotaPeriod::Day => Period::Day,
            QuotaPeriod::Month => Period::Month,
        },
    }
}

impl Limiters {
    /// Checks and counts one admitted request.
    pub fn check(&self, a: &Admitted, now: DateTime<Utc>) -> Result<Passed, Refusal> {
        let (app, tenant, api) = (&a.app.limits, &a.tenant.limits, &a.api.api.limits);
        // Each level: its subject, its rate (a key's own, else its app's
        // default for keys) and its quota. A caller with a token has no
        // key level.
        let key_level = match &a.key {
            Some(k) => {
                let key = &k.key;
                (key.id.as_str(), key.rare().rate_limit.as_ref().or(app.key_rate_limit.as_ref()), key.rare().quota.as_ref())
            }
            None => ("", None, None),
        };
        let levels: [(Level, &str, Option<&model::RateLimit>, Option<&model::Quota>); 4] = [
            (Level::Key, key_level.0, key_level.1, key_level.2),
            (Level::App, a.app.id.as_str(), app.rate_limit.as_ref(), app.quota.as_ref()),
            (Level::Tenant, a.tenant.id.as_str(), tenant.rate_limit.as_ref(), tenant.quota.as_ref()),
            (Level::Api, a.api.api.id.as_str(), api.rate_limit.as_ref(), api.quota.as_ref()),
        ];
        let rates: Vec<(LimitKey, RateLimit)> =
            levels.iter().filter_map(|(l, id, r, _)| r.map(|r| (LimitKey::new(*l, *id), rate(r)))).collect();
        let quotas: Vec<(QuotaKey, Quota)> =
            levels.iter().filter_map(|(l, id, _, q)| q.map(|q| (LimitKey::new(*l, *id), quota(q)))).collect();
        if rates.is_empty() && quotas.is_empty() {
            return Ok(Passed { headers: Vec::new(), evidence: Text::Static("no limits set") });
        }

        let decisions = match self.rates.check_all(&rates) {
            Ok(d) => d,
            Err(refused) => {
                let level = refused.key.level;
                let d = &refused.decision;
                let headers = headers::rate_limit_headers(&[(level, *d)]).into_iter().map(|(n, v)| (name_static(n), v)).collect();
                return Err(Refusal::rate_limited(RateUsed {
                    level: level.as_str(),
                    whose: who(level),
                    subject: &refused.key.subject,
                    requests: d.limit.requests,
                    per_seconds: d.limit.per_seconds,
                    retry_after_s: d.retry_after_ms.div_ceil(1000),
                    headers,
                }));
            }
        };
        if let Err(refused) = self.quotas.try_consume_all(&quotas, now) {
            // Give back the rate capacity this refused request took.
            for (k, l) in &rates {
                self.rates.refund(k, *l);
            }
            let level = refused.key.level;
            let d = &refused.decision;
            return Err(Refusal::quota_exceeded(QuotaUsed {
                level: level.as_str(),
                whose: who(level),
                subject: &refused.key.subject,
                requests: d.limit.requests,
                period: d.limit.period.as_str(),
                used: d.used,
                resets_at: d.resets_at,
                now,
            }));
        }
        let levels: Vec<(Level, keyway_limits::RateDecision)> = rates.iter().map(|(k, _)| k.level).zip(decisions).collect();
        let headers = headers::rate_limit_headers(&levels).into_iter().map(|(n, v)| (name_static(n), v)).collect();
        let mut evidence: Vec<String> = levels
            .iter()
            .map(|(l, d)| format!("{} rate {}/{}s, {} left", l.as_str(), d.limit.requests, d.limit.per_seconds, d.remaining))
            .collect();
        evidence.extend(quotas.iter().map(|(k, q)| format!("{} quota {}/{}", k.level.as_str(), q.requests, q.period.as_str())));
        Ok(Passed { headers, evidence: evidence.join("; ").into() })
    }

    /// Writes changed quota counters and AI meter counts to storage (and
    /// keeps them for a retry if that fails). Meter counts share the
    /// quota table, their measure (`usd_day`, `usd_month`,
    /// `tokens_minute`) in its `period` column.
    pub async fn flush_counters(&self, store: &dyn Store) {
        let dirty = self.quotas.take_dirty();
        let metered = self.meter.take_dirty();
        if dirty.is_empty() && metered.is_empty() {
            return;
        }
        let mut rows: Vec<QuotaUsageRow> = dirty
            .iter()
            .map(|u| QuotaUsageRow {
                level: u.level.as_str().to_owned(),
                subject: u.subject.clone(),
                period: u.period.as_str().to_owned(),
                period_start: u.period_start,
                used: u.used,
            })
            .collect();
        rows.extend(metered.iter().map(|m| QuotaUsageRow {
            level: m.key.level.as_str().to_owned(),
            subject: m.key.subject.clone(),
            period: m.measure.as_str().to_owned(),
            period_start: m.window_start,
            used: m.used,
        }));
        if let Err(e) = store.save_quota_usage(&rows).await {
            tracing::warn!(error = %e, rows = rows.len(), "could not save quota and meter counters; will retry");
            self.quotas.load_usage(dirty);
            self.meter.load_usage(metered);
        }
    }

    /// Loads the current periods' quota counters and AI meter counts
    /// from storage.
    pub async fn load_counters(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<usize, keyway_store::StoreError> {
        let since = Period::Month.start(now);
        let rows = store.quota_usage(since).await?;
        let metered: Vec<MeterUsage> = rows
            .iter()
            .filter_map(|r| {
                let measure = Measure::parse(&r.period)?;
                // Only the current window of each measure still counts.
                (r.period_start >= measure.window_start(now)).then_some(())?;
                Some(MeterUsage {
                    key: LimitKey::new(r.level.parse().ok()?, r.subject.clone()),
                    measure,
                    window_start: r.period_start,
                    used: r.used,
                })
            })
            .collect();
        let n_metered = metered.len();
        self.meter.load_usage(metered);
        let usage: Vec<QuotaUsage> = rows
            .into_iter()
            .filter_map(|r| {
                Some(QuotaUsage {
                    level: r.level.parse().ok()?,
                    subject: r.subject,
                    period: match r.period.as_str() {
                        "day" => Period::Day,
                        "month" => Period::Month,
                        _ => return None,
                    },
                    period_start: r.period_start,
                    used: r.used,
                })
            })
            .collect();
        let n = usage.len();
        self.quotas.load_usage(usage);
        Ok(n + n_metered)
    }
}

/// Caller-facing owner of a level's limit.
pub(crate) fn who(level: Level) -> &'static str {
    match level {
        Level::Key => "key's",
        Level::App => "app's",
        Level::Tenant => "team's",
        Level::Api => "API's",
    }
}

/// Header names as the lowercase statics `Refusal` carries.
fn name_static(name: &str) -> &'static str {
    match name {
        "RateLimit-Policy" => "ratelimit-policy",
        "RateLimit" => "ratelimit",
        _ => "retry-after",
    }
}
