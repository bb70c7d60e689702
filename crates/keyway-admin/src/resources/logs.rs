//! The call log: `GET /admin/v1/logs`, newest first.

use super::{list, Filters, List};
use crate::error::AdminError;
use crate::extract::QueryPairs;
use crate::state::AdminState;
use axum::extract::State;
use axum::Json;
use keyway_core::records::{CallLogRow, LogQuery};
use keyway_core::ErrorCode;

const PARAMS: &[&str] = &["request_id", "key_id", "app_id", "tenant_id", "api_id", "code", "since", "until", "limit"];

/// `GET /admin/v1/logs?request_id=&key_id=&app_id=&tenant_id=&api_id=&code=&since=&until=&limit=`.
pub async fn list_calls(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<List<CallLogRow>>, AdminError> {
    let f = Filters::parse(pairs, PARAMS)?;
    let code = f.text("code");
    if let Some(c) = code.as_deref().filter(|c| ErrorCode::parse(c).is_none()) {
        return Err(AdminError::invalid("code", format!("{c} is not a Keyway error code")));
    }
    let query = LogQuery {
        request_id: f.text("request_id"),
        key_id: f.text("key_id"),
        app_id: f.text("app_id"),
        tenant_id: f.text("tenant_id"),
        api_id: f.text("api_id"),
        code,
        since: f.time("since")?,
        until: f.time("until")?,
        limit: f.limit()?,
    };
    Ok(list(state.calls(&query).await?))
}
