//! Row <-> struct mapping of the `hmac_keys` table (migration 14): the
//! sealed secret as hex in a column of its own (the model's
//! serialization leaves it out).

use super::codec::{Json, Time};
use super::rows::Table;
use keyway_core::hmac_keys::HmacKey;
use keyway_core::ids::{AppId, HmacKeyId, TenantId};
use rusqlite::{params, Row, Statement};

/// The `hmac_keys` table.
pub(crate) const HMAC_KEYS: Table = Table {
    name: "hmac_keys",
    cols: &["id", "app_id", "tenant_id", "scopes", "sealed", "created_at", "revoked_at", "revoked_by"],
};

/// Reads an HMAC key from a row of [`HMAC_KEYS`] columns.
pub(crate) fn hmac_key(r: &Row<'_>) -> rusqlite::Result<HmacKey> {
    let sealed = hex::decode(r.get::<_, String>(4)?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(HmacKey {
        id: HmacKeyId(r.get::<_, String>(0)?.into()),
        app_id: AppId(r.get::<_, String>(1)?.into()),
        tenant_id: TenantId(r.get::<_, String>(2)?.into()),
        scopes: r.get::<_, Json<_>>(3)?.0,
        sealed,
        created_at: r.get::<_, Time>(5)?.0,
        revoked_at: r.get::<_, Option<Time>>(6)?.map(|t| t.0),
        revoked_by: r.get(7)?,
    })
}

/// Binds an HMAC key to an [`HMAC_KEYS`] insert or update and runs it.
pub(crate) fn write_hmac_key(stmt: &mut Statement<'_>, k: &HmacKey) -> rusqlite::Result<usize> {
    stmt.execute(params![
        k.id.as_str(),
        k.app_id.as_str(),
        k.tenant_id.as_str(),
        Json(&k.scopes),
        hex::encode(&k.sealed),
        Time(k.created_at),
        k.revoked_at.map(Time),
        k.revoked_by,
    ])
}
