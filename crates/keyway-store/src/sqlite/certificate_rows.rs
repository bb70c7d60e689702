//! Row <-> struct mapping of the `client_certificates` table: client
//! certificates bound to apps by SHA-256 fingerprint, unique among live
//! bindings.

use super::codec::{Json, Time};
use super::rows::Table;
use keyway_core::certificates::ClientCertificate;
use keyway_core::ids::{AppId, CertificateId, TenantId};
use rusqlite::{params, Row, Statement};

/// The `client_certificates` table.
pub(crate) const CERTIFICATES: Table = Table {
    name: "client_certificates",
    cols: &["id", "app_id", "tenant_id", "sha256_fingerprint", "scopes", "created_at", "deleted_at"],
};

/// Reads a binding from a row of [`CERTIFICATES`] columns.
pub(crate) fn certificate(r: &Row<'_>) -> rusqlite::Result<ClientCertificate> {
    Ok(ClientCertificate {
        id: CertificateId(r.get::<_, String>(0)?.into()),
        app_id: AppId(r.get::<_, String>(1)?.into()),
        tenant_id: TenantId(r.get::<_, String>(2)?.into()),
        sha256_fingerprint: r.get(3)?,
        scopes: r.get::<_, Json<_>>(4)?.0,
        created_at: r.get::<_, Time>(5)?.0,
        deleted_at: r.get::<_, Option<Time>>(6)?.map(|t| t.0),
    })
}

/// Binds a binding to a [`CERTIFICATES`] insert or update and runs it.
pub(crate) fn write_certificate(stmt: &mut Statement<'_>, c: &ClientCertificate) -> rusqlite::Result<usize> {
    stmt.execute(params![
        c.id.as_str(),
        c.app_id.as_str(),
        c.tenant_id.as_str(),
        c.sha256_fingerprint,
        Json(&c.scopes),
        Time(c.created_at),
        c.deleted_at.map(Time),
    ])
}

/// The live binding of `sha256`, if any.
pub(crate) fn live_by_fingerprint(
    conn: &rusqlite::Connection,
    sha256: &str,
) -> Result<Option<ClientCertificate>, crate::StoreError> {
    use rusqlite::OptionalExtension;
    let sql = format!("{} WHERE sha256_fingerprint = ?1 AND deleted_at IS NULL", CERTIFICATES.select());
    let mut stmt = conn.prepare_cached(&sql).map_err(super::errors::sqlite_error)?;
    stmt.query_row([sha256], certificate).optional().map_err(super::errors::sqlite_error)
}
