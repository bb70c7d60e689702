//! Reading tenants, users, apps, keys and APIs: by id, by parent, and all
//! of them at once for the gateway's snapshot.

use super::errors::sqlite_error;
use super::rows::{self, Table};
use crate::{KeySink, StateDump, StoreError};
use rusqlite::{Connection, OptionalExtension, Params, Row};

/// The row of `table` with this id, if any.
pub(crate) fn by_id<T>(
    conn: &Connection,
    table: &Table,
    id: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{} WHERE id = ?1", table.select())).map_err(sqlite_error)?;
    stmt.query_row([id], read).optional().map_err(sqlite_error)
}

/// Rows of `table` whose `column` equals `value`, oldest first.
pub(crate) fn by_parent<T>(
    conn: &Connection,
    table: &Table,
    column: &str,
    value: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let sql = format!("{} WHERE {column} = ?1 ORDER BY created_at, id", table.select());
    many(conn, &sql, [value], read)
}

/// Every row of `table`, oldest first.
pub(crate) fn all<T>(conn: &Connection, table: &Table, read: fn(&Row<'_>) -> rusqlite::Result<T>) -> Result<Vec<T>, StoreError> {
    many(conn, &format!("{} ORDER BY created_at, id", table.select()), [], read)
}

fn many<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params, read).map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

/// Every row of the entity tables, from one consistent read
/// snapshot, in storage (rowid) order.
pub(crate) fn load_all(conn: &mut Connection) -> Result<StateDump, StoreError> {
    let mut keys = Vec::new();
    let dump = load_all_streaming(conn, &mut keys)?;
    Ok(StateDump { keys, ..dump })
}

/// [`load_all`] with each key handed to `sink` as its row is decoded.
pub(crate) fn load_all_streaming(conn: &mut Connection, sink: &mut dyn KeySink) -> Result<StateDump, StoreError> {
    let tx = conn.transaction().map_err(sqlite_error)?;
    let scan = |table: &Table| format!("{} ORDER BY rowid", table.select());
    let dump = StateDump {
        tenants: many(&tx, &scan(&rows::TENANTS), [], rows::tenant)?,
        users: many(&tx, &scan(&rows::USERS), [], rows::user)?,
        apps: many(&tx, &scan(&rows::APPS), [], rows::app)?,
        keys: Vec::new(),
        apis: many(&tx, &scan(&rows::APIS), [], rows::api)?,
        subscriptions: many(&tx, &scan(&rows::SUBSCRIPTIONS), [], rows::subscription)?,
        providers: many(&tx, &scan(&super::ai_rows::PROVIDERS), [], super::ai_rows::provider)?,
        models: many(&tx, &scan(&super::ai_rows::MODELS), [], super::ai_rows::model)?,
        issuers: many(&tx, &scan(&super::issuer_rows::ISSUERS), [], super::issuer_rows::issuer)?,
        certificates: many(&tx, &scan(&super::certificate_rows::CERTIFICATES), [], super::certificate_rows::certificate)?,
        hmac_keys: many(&tx, &scan(&super::hmac_rows::HMAC_KEYS), [], super::hmac_rows::hmac_key)?,
    };
    let count: i64 = tx.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0)).map_err(sqlite_error)?;
    sink.expect(usize::try_from(count).unwrap_or(0));
    {
        let mut stmt = tx.prepare(&scan(&rows::KEYS)).map_err(sqlite_error)?;
        let mut found = stmt.query([]).map_err(sqlite_error)?;
        while let Some(row) = found.next().map_err(sqlite_error)? {
            sink.key(rows::key(row).map_err(sqlite_error)?);
        }
    }
    tx.commit().map_err(sqlite_error)?;
    Ok(dump)
}
