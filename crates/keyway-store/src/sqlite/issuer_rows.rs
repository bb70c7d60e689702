//! Row <-> struct mapping of the `jwt_issuers` table (migration 13). The
//! inline JWKS is kept whole in a column of this crate's own form (the
//! model's serialization leaves out secret key members).

use super::codec::{Json, Time};
use super::rows::Table;
use keyway_core::ids::{IssuerId, TenantId};
use keyway_core::issuers::JwtIssuer;
use rusqlite::{params, Row, Statement};

/// The `jwt_issuers` table.
pub(crate) const ISSUERS: Table = Table {
    name: "jwt_issuers",
    cols: &[
        "id",
        "tenant_id",
        "name",
        "issuer",
        "jwks_url",
        "jwks",
        "algorithms",
        "audiences",
        "leeway_seconds",
        "subject_claim",
        "scopes_claim",
        "created_at",
        "deleted_at",
    ],
};

/// Reads an issuer from a row of [`ISSUERS`] columns.
pub(crate) fn issuer(r: &Row<'_>) -> rusqlite::Result<JwtIssuer> {
    let jwks: Option<String> = r.get(5)?;
    let jwks = jwks
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(JwtIssuer {
        id: IssuerId(r.get::<_, String>(0)?.into()),
        tenant_id: TenantId(r.get::<_, String>(1)?.into()),
        name: r.get(2)?,
        issuer: r.get(3)?,
        jwks_url: r.get(4)?,
        jwks,
        algorithms: r.get::<_, Json<_>>(6)?.0,
        audiences: r.get::<_, Json<_>>(7)?.0,
        leeway_seconds: u64::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
        subject_claim: r.get(9)?,
        scopes_claim: r.get(10)?,
        created_at: r.get::<_, Time>(11)?.0,
        deleted_at: r.get::<_, Option<Time>>(12)?.map(|t| t.0),
    })
}

/// Binds an issuer to an [`ISSUERS`] insert or update and runs it.
pub(crate) fn write_issuer(stmt: &mut Statement<'_>, i: &JwtIssuer) -> rusqlite::Result<usize> {
    stmt.execute(params![
        i.id.as_str(),
        i.tenant_id.as_str(),
        i.name,
        i.issuer,
        i.jwks_url,
        i.jwks.as_ref().map(serde_json::Value::to_string),
        Json(&i.algorithms),
        Json(&i.audiences),
        i64::try_from(i.leeway_seconds).unwrap_or(i64::MAX),
        i.subject_claim,
        i.scopes_claim,
        Time(i.created_at),
        i.deleted_at.map(Time),
    ])
}
