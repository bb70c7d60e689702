//! `GET /admin/v1/analytics/timeseries` and `GET /admin/v1/analytics/top`:
//! counts, errors, latency percentiles, tokens and cost from the rollups,
//! up to the call answered a moment ago.

use super::{list, Filters, List};
use crate::analytics::{self, Dimension, Metric, Point, Ranked};
use crate::error::AdminError;
use crate::extract::QueryPairs;
use crate::state::AdminState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyway_core::rollup::{Grain, Level, Merge, RollupQuery, OK};
use keyway_core::{ErrorCode, Timestamp};

const FILTERS: &[&str] = &["tenant_id", "api_id", "app_id", "key_id", "code", "since", "until"];
/// Longest step: 31 days.
pub const MAX_STEP: i64 = 31 * 86_400;
/// Default step: one hour.
pub const DEFAULT_STEP: i64 = 3600;
/// Default and largest `limit` of `top`.
pub const TOP_LIMITS: (usize, usize) = (10, 1000);

/// The filters and range both endpoints share.
struct Scope {
    since: i64,
    until: i64,
    tenant_id: Option<String>,
    api_id: Option<String>,
    app_id: Option<String>,
    key_id: Option<String>,
    code: Option<String>,
}

impl Scope {
    /// Reads the filters, and the range (default: the 24 hours up to now).
    fn parse(f: &Filters) -> Result<Scope, AdminError> {
        let code = f.text("code");
        if let Some(c) = code.as_deref().filter(|c| *c != OK && ErrorCode::parse(c).is_none()) {
            return Err(AdminError::invalid("code", format!("{c} is not a Keyway error code (or ok)")));
        }
        let until = f.time("until")?.unwrap_or_else(chrono::Utc::now);
        let since = f.time("since")?.unwrap_or(until - chrono::Duration::days(1));
        // An empty range (since at or after until) answers no data.
        Ok(Scope {
            since: secs(since),
            until: secs_up(until),
            tenant_id: f.text("tenant_id"),
            api_id: f.text("api_id"),
            app_id: f.text("app_id"),
            key_id: f.text("key_id"),
            code,
        })
    }

    /// The dimensions it filters on, and `by`.
    fn needs(&self, by: Option<Dimension>) -> Vec<Dimension> {
        let filters = [
            (Dimension::Tenant, &self.tenant_id),
            (Dimension::Api, &self.api_id),
            (Dimension::App, &self.app_id),
            (Dimension::Key, &self.key_id),
            (Dimension::Code, &self.code),
        ];
        filters.into_iter().filter(|(_, v)| v.is_some()).map(|(d, _)| d).chain(by).collect()
    }

    /// The rollups answering it at `level` over `[since, until)`: of the
    /// coarsest grain keeping every dimension it filters on and `merge.by`
    /// (so the fewest rows), merged per `merge` where they are read.
    fn query(&self, level: Level, since: i64, until: i64, metric: Metric, merge: Merge) -> RollupQuery {
        RollupQuery {
            grain: Grain::coarsest(&self.needs(merge.by), level),
            level,
            since,
            until,
            tenant_id: self.tenant_id.clone(),
            api_id: self.api_id.clone(),
            app_id: self.app_id.clone(),
            key_id: self.key_id.clone(),
            code: self.code.clone(),
            sketches: metric.needs_sketches(),
            merge: Some(merge),
        }
    }
}

fn secs(t: Timestamp) -> i64 {
    t.timestamp()
}

fn secs_up(t: Timestamp) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

fn metric(f: &Filters, default: Option<Metric>) -> Result<Metric, AdminError> {
    let names = Metric::NAMES.join(", ");
    match f.text("metric") {
        None => default.ok_or_else(|| AdminError::invalid("metric", format!("metric is required: one of {names}"))),
        Some(m) => Metric::parse(&m).ok_or_else(|| AdminError::invalid("metric", format!("metric must be one of {names}"))),
    }
}

fn whole(f: &Filters, name: &str, default: i64, range: (i64, i64)) -> Result<i64, AdminError> {
    match f.text(name) {
        None => Ok(default),
        Some(v) => Some(v.as_str())
            .filter(|v| v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| (range.0..=range.1).contains(n))
            .ok_or_else(|| AdminError::invalid(name, format!("{name} must be a whole number from {} to {}", range.0, range.1))),
    }
}

fn floor(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

/// `GET /admin/v1/analytics/timeseries?metric=&by=&step=&since=&until=&tenant_id=&api_id=&app_id=&key_id=&code=`.
pub async fn timeseries(State(state): State<AdminState>, QueryPairs(pairs): QueryPairs) -> Result<Response, AdminError> {
    let mut known = vec!["metric", "by", "step"];
    known.extend_from_slice(FILTERS);
    let f = Filters::parse(pairs, &known)?;
    let metric = metric(&f, None)?;
    let by = f.one_of("by", Dimension::NAMES)?.as_deref().and_then(Dimension::parse);
    let step = whole(&f, "step", DEFAULT_STEP, (60, MAX_STEP))?;
    if step % 60 != 0 {
        return Err(AdminError::invalid("step", "step must be a whole number of minutes, in seconds (60, 300, 3600, ...)"));
    }
    let scope = Scope::parse(&f)?;
    // Whole steps from the epoch, so each bucket is whole rollups.
    // Buckets without calls are left out, so the cost is the rollups
    // read (bounded by their retention), not the number of steps.
    if scope.since >= scope.until {
        return Ok(list(Vec::<Point>::new()).into_response());
    }
    let (since, until) = (floor(scope.since, step), floor(scope.until + step - 1, step));
    let merge = Merge { step, by };
    let rows = state.rollups(&scope.query(analytics::level_for_step(step), since, until, metric, merge)).await?;
    let points = analytics::timeseries(&rows, step, by, metric);
    drop(rows);
    Ok(sized_json(&List { data: points }))
}

/// `list` as JSON, the same bytes as [`Json`] writes, into a buffer sized
/// for the points up front: a series of ~84,000 points is ~6 MB, which
/// [`Json`]'s buffer reaches by doubling from 128 bytes (copying it each
/// time, onto fresh pages).
fn sized_json(list: &List<Point>) -> Response {
    let mut body = Vec::with_capacity(64 + list.data.len() * 80);
    match serde_json::to_writer(&mut body, list) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => AdminError::Internal(e.to_string()).into_response(),
    }
}

/// `GET /admin/v1/analytics/top?dimension=&metric=&limit=&since=&until=&tenant_id=&api_id=&app_id=&key_id=&code=`.
pub async fn top(State(state): State<AdminState>, QueryPairs(pairs): QueryPairs) -> Result<Json<List<Ranked>>, AdminError> {
    let mut known = vec!["dimension", "metric", "limit"];
    known.extend_from_slice(FILTERS);
    let f = Filters::parse(pairs, &known)?;
    let dimension = f.one_of("dimension", Dimension::NAMES)?.as_deref().and_then(Dimension::parse).ok_or_else(|| {
        AdminError::invalid("dimension", format!("dimension is required: one of {}", Dimension::NAMES.join(", ")))
    })?;
    let metric = metric(&f, Some(Metric::Requests))?;
    let (default, max) = TOP_LIMITS;
    let limit = whole(&f, "limit", default as i64, (1, max as i64))?;
    let scope = Scope::parse(&f)?;
    // Whole minutes; days and hours where they fit.
    if scope.since >= scope.until {
        return Ok(list(Vec::new()));
    }
    let (since, until) = (floor(scope.since, 60), floor(scope.until + 59, 60));
    let mut rows = Vec::new();
    let merge = Merge { step: i64::MAX, by: Some(dimension) };
    for (level, lo, hi) in analytics::cover(since, until) {
        rows.extend(state.rollups(&scope.query(level, lo, hi, metric, merge)).await?);
    }
    Ok(list(analytics::top(&rows, dimension, metric, usize::try_from(limit).unwrap_or(default))))
}
