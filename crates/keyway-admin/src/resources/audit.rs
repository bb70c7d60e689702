//! The audit log: `GET /admin/v1/audit`, newest first.

use super::{list, Filters, List};
use crate::error::AdminError;
use crate::extract::QueryPairs;
use crate::state::AdminState;
use axum::extract::State;
use axum::Json;
use keyway_core::records::{AuditEntry, AuditQuery};

const PARAMS: &[&str] = &["resource_id", "resource_type", "tenant_id", "actor", "since", "until", "limit"];

/// The values of `resource_type`: the kinds of record the audit log holds.
pub const RESOURCE_TYPES: &[&str] = &["tenant", "user", "app", "key", "api", "subscription", "provider", "model"];

/// `GET /admin/v1/audit?resource_id=&resource_type=&tenant_id=&actor=&since=&until=&limit=`.
pub async fn list_entries(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<List<AuditEntry>>, AdminError> {
    let f = Filters::parse(pairs, PARAMS)?;
    let query = AuditQuery {
        resource_id: f.text("resource_id"),
        resource_ids: Vec::new(),
        resource_type: f.one_of("resource_type", RESOURCE_TYPES)?,
        tenant_id: f.text("tenant_id"),
        actor: f.text("actor"),
        since: f.time("since")?,
        until: f.time("until")?,
        limit: f.limit()?,
    };
    Ok(list(state.store.audit(&query).await?))
}
