//! The audit log: written inside `apply`'s transaction, read newest first.

use super::codec::{Json, Time};
use super::errors::{sqlite_error, violation, Violation};
use super::query::{effective_limit, Filter};
use crate::StoreError;
use keyway_core::ids::{AuditId, TenantId};
use keyway_core::records::{AuditEntry, AuditQuery};
use rusqlite::{params, params_from_iter, Connection, Row};

const COLUMNS: &str = "id, time, actor, action, resource_type, resource_id, tenant_id, before_json, after_json";

/// Inserts one entry (the caller owns the transaction).
pub(crate) fn insert(conn: &Connection, e: &AuditEntry) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("INSERT INTO audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"))
        .map_err(sqlite_error)?;
    stmt.execute(params![
        e.id.as_str(),
        Time(e.time),
        e.actor,
        e.action,
        e.resource_type,
        e.resource_id,
        e.tenant_id.as_ref().map(TenantId::as_str),
        e.before.as_ref().map(Json),
        e.after.as_ref().map(Json),
    ])
    .map_err(|err| match violation(&err) {
        Some((Violation::Unique, _)) => StoreError::Conflict(format!("audit entry id '{}' already exists", e.id)),
        _ => sqlite_error(err),
    })?;
    Ok(())
}

fn entry(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(r.get(0)?),
        time: r.get::<_, Time>(1)?.0,
        actor: r.get(2)?,
        action: r.get(3)?,
        resource_type: r.get(4)?,
        resource_id: r.get(5)?,
        tenant_id: r.get::<_, Option<String>>(6)?.map(TenantId::from),
        before: r.get::<_, Option<Json<_>>>(7)?.map(|j| j.0),
        after: r.get::<_, Option<Json<_>>>(8)?.map(|j| j.0),
    })
}

/// Entries matching every filter given in `q` (`resource_id` and
/// `resource_ids` both apply when both are set), newest first (ties: last
/// written first).
pub(crate) fn query(conn: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let mut filter = Filter::default();
    filter.eq("resource_id", q.resource_id.as_deref());
    filter.any_of("resource_id", &q.resource_ids);
    filter.eq("resource_type", q.resource_type.as_deref());
    filter.eq("tenant_id", q.tenant_id.as_deref());
    filter.eq("actor", q.actor.as_deref());
    filter.time_range("time", q.since, q.until)?;
    let (sql, params) =
        filter.build(&format!("SELECT {COLUMNS} FROM audit_log"), "time DESC, rowid DESC", effective_limit(q.limit));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params_from_iter(params), entry).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}
