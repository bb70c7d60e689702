//! The call log: batched inserts from the gateway, filtered reads for the
//! admin API and diagnose, and retention.

use super::codec::{clamp_count, encode_time, Time};
use super::enums::Enum;
use super::errors::sqlite_error;
use super::query::{effective_limit, Filter};
use crate::StoreError;
use keyway_core::ids::{ApiId, AppId, KeyId, RequestId, TenantId};
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_core::Timestamp;
use rusqlite::{params, params_from_iter, Connection, Row, TransactionBehavior};

const COLUMNS: &str = "request_id, time, tenant_id, api_id, app_id, key_id, key_prefix, method, path, status, code, \
                       client_ip, latency_ms, upstream_latency_ms, model, prompt_tokens, completion_tokens, cost_usd, trace";

/// Inserts `rows` in one transaction with one cached statement.
pub(crate) fn insert(conn: &mut Connection, rows: &[CallLogRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
    {
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO call_log ({COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ))
            .map_err(sqlite_error)?;
        for r in rows {
            stmt.execute(params![
                r.request_id.as_str(),
                Time(r.time),
                r.tenant_id.as_ref().map(TenantId::as_str),
                r.api_id.as_ref().map(ApiId::as_str),
                r.app_id.as_ref().map(AppId::as_str),
                r.key_id.as_ref().map(KeyId::as_str),
                r.key_prefix,
                r.method,
                r.path,
                r.status,
                r.code.map(Enum),
                r.client_ip,
                r.latency_ms,
                r.upstream_latency_ms,
                r.model,
                r.prompt_tokens.map(clamp_count),
                r.completion_tokens.map(clamp_count),
                r.cost_usd,
                super::trace_codec::encode(&r.trace),
            ])
            .map_err(|e| match e {
                rusqlite::Error::ToSqlConversionFailure(cause) => {
                    StoreError::Backend(format!("cannot store call {}: {cause}", r.request_id))
                }
                other => sqlite_error(other),
            })?;
        }
    }
    tx.commit().map_err(sqlite_error)
}

fn row(r: &Row<'_>) -> rusqlite::Result<CallLogRow> {
    Ok(CallLogRow {
        request_id: RequestId(r.get(0)?),
        time: r.get::<_, Time>(1)?.0,
        tenant_id: r.get::<_, Option<String>>(2)?.map(TenantId),
        api_id: r.get::<_, Option<String>>(3)?.map(ApiId),
        app_id: r.get::<_, Option<String>>(4)?.map(AppId),
        key_id: r.get::<_, Option<String>>(5)?.map(KeyId),
        key_prefix: r.get(6)?,
        method: r.get(7)?,
        path: r.get(8)?,
        status: r.get(9)?,
        code: r.get::<_, Option<Enum<_>>>(10)?.map(|c| c.0),
        client_ip: r.get(11)?,
        // SQLite stores NaN as NULL; give it back as NaN.
        latency_ms: r.get::<_, Option<f64>>(12)?.unwrap_or(f64::NAN),
        upstream_latency_ms: r.get(13)?,
        model: r.get(14)?,
        prompt_tokens: r.get(15)?,
        completion_tokens: r.get(16)?,
        cost_usd: r.get(17)?,
        trace: {
            let text: String = r.get(18)?;
            super::trace_codec::decode(&text)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(18, rusqlite::types::Type::Text, Box::new(e)))?
        },
    })
}

/// Rows matching `q`, newest first (ties: last inserted first).
pub(crate) fn query(conn: &Connection, q: &LogQuery) -> Result<Vec<CallLogRow>, StoreError> {
    let mut filter = Filter::default();
    filter.eq("request_id", q.request_id.as_deref());
    filter.eq("key_id", q.key_id.as_deref());
    filter.eq("app_id", q.app_id.as_deref());
    filter.eq("tenant_id", q.tenant_id.as_deref());
    filter.eq("api_id", q.api_id.as_deref());
    filter.eq("code", q.code.as_deref());
    filter.time_range("time", q.since, q.until)?;
    let (sql, params) = filter.build(&format!("SELECT {COLUMNS} FROM call_log"), "time DESC, id DESC", effective_limit(q.limit));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), row).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Deletes rows with `time < before`; returns how many.
pub(crate) fn purge(conn: &Connection, before: Timestamp) -> Result<u64, StoreError> {
    let before = encode_time(&before).map_err(|e| StoreError::Backend(e.to_string()))?;
    let n = conn.execute("DELETE FROM call_log WHERE time < ?1", [before]).map_err(sqlite_error)?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}
