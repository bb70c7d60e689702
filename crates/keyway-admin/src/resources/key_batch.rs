//! `POST /admin/v1/apps/{id}/keys:batch`: up to [`MAX_BATCH`] keys of one
//! app in one request and one transaction, all or nothing.
//!
//! Each item is the body of a single create (`POST /admin/v1/apps/{id}/keys`)
//! and is validated as that one is; a refusal names the item
//! (`param: keys[3].scopes[0]`) and nothing is written. The answer lists
//! each new key as a single create answers it, key text shown this once,
//! in the order of the request.

use super::keys::{usable_app, CreateKey, KeySpec, KeyView, NewKey, Standing};
use super::{created, Created, List};
use crate::error::AdminError;
use crate::extract::{Actor, JsonBody, PathId};
use crate::state::{now, AdminState, Write};
use axum::extract::State;
use keyway_core::change::Record;
use serde::Deserialize;

/// Most keys one batch may create.
pub const MAX_BATCH: usize = 1_000;

/// Body of `POST /admin/v1/apps/{id}/keys:batch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKeys {
    /// The keys to create, each as the body of a single create.
    pub keys: Vec<CreateKey>,
}

/// `POST /admin/v1/apps/{id}/keys:batch`.
pub async fn create_batch(
    State(state): State<AdminState>,
    actor: Actor,
    PathId(app_id): PathId,
    JsonBody(req): JsonBody<CreateKeys>,
) -> Result<Created<List<NewKey>>, AdminError> {
    let count = req.keys.len();
    if !(1..=MAX_BATCH).contains(&count) {
        return Err(AdminError::invalid("keys", format!("keys must hold 1 to {MAX_BATCH} keys; this batch holds {count}")));
    }
    let t = now();
    let specs = req
        .keys
        .into_iter()
        .enumerate()
        .map(|(i, item)| KeySpec::validate(item).map_err(|e| e.in_item("keys", i)))
        .collect::<Result<Vec<_>, _>>()?;

    let _write = state.begin_insert().await;
    let app = usable_app(&state, &app_id).await?;
    let standing = Standing::current(&state, &app).await?;
    let minted = specs.into_iter().map(|spec| spec.mint(&state, &app, t)).collect::<Result<Vec<_>, _>>()?;
    let writes = minted.iter().map(|(record, _)| Write::insert("key.create", Record::Key(record.clone()))).collect();
    state.commit(&actor, writes).await?;
    let data = minted.into_iter().map(|(record, key)| NewKey { meta: KeyView::of(&record, t, &standing), key }).collect();
    Ok(created(List { data }))
}
