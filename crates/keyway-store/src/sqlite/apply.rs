//! `Store::apply`'s writes: every change and every audit entry of one
//! admin write, inside its group's transaction (see `group.rs`), with
//! constraint failures explained in the caller's terms.

use super::ai_rows;
use super::audit;
use super::certificate_rows;
use super::errors::{sqlite_error, violation, Violation};
use super::hmac_rows;
use super::issuer_rows;
use super::rows::{self, Table};
use crate::StoreError;
use keyway_core::change::{Change, Record};
use keyway_core::records::AuditEntry;
use rusqlite::{Connection, OptionalExtension};

/// Writes `changes` then inserts `audit` inside the caller's transaction
/// or savepoint, stopping at the first failure (the caller rolls back).
pub(crate) fn write_all(conn: &Connection, changes: &[Change], audit: &[AuditEntry]) -> Result<(), StoreError> {
    for change in changes {
        write(conn, change)?;
    }
    for entry in audit {
        audit::insert(conn, entry)?;
    }
    Ok(())
}

fn table(record: &Record) -> &'static Table {
    match record {
        Record::Tenant(_) => &rows::TENANTS,
        Record::User(_) => &rows::USERS,
        Record::App(_) => &rows::APPS,
        Record::Key(_) => &rows::KEYS,
        Record::Api(_) => &rows::APIS,
        Record::Subscription(_) => &rows::SUBSCRIPTIONS,
        Record::Provider(_) => &ai_rows::PROVIDERS,
        Record::Model(_) => &ai_rows::MODELS,
        Record::Issuer(_) => &issuer_rows::ISSUERS,
        Record::Certificate(_) => &certificate_rows::CERTIFICATES,
        Record::HmacKey(_) => &hmac_rows::HMAC_KEYS,
    }
}

fn id(record: &Record) -> &str {
    match record {
        Record::Tenant(t) => t.id.as_str(),
        Record::User(u) => u.id.as_str(),
        Record::App(a) => a.id.as_str(),
        Record::Key(k) => k.id.as_str(),
        Record::Api(a) => a.id.as_str(),
        Record::Subscription(s) => s.id.as_str(),
        Record::Provider(p) => p.id.as_str(),
        Record::Model(m) => m.id.as_str(),
        Record::Issuer(i) => i.id.as_str(),
        Record::Certificate(c) => c.id.as_str(),
        Record::HmacKey(k) => k.id.as_str(),
    }
}

fn write(tx: &Connection, change: &Change) -> Result<(), StoreError> {
    let record = change.record();
    let (sql, is_update) = match change {
        Change::Insert(_) => (table(record).insert(), false),
        Change::Update(_) => (table(record).update(), true),
    };
    let written = {
        let mut stmt = tx.prepare_cached(&sql).map_err(sqlite_error)?;
        match record {
            Record::Tenant(t) => rows::write_tenant(&mut stmt, t),
            Record::User(u) => rows::write_user(&mut stmt, u),
            Record::App(a) => rows::write_app(&mut stmt, a),
            Record::Key(k) => rows::write_key(&mut stmt, k),
            Record::Api(a) => rows::write_api(&mut stmt, a),
            Record::Subscription(s) => rows::write_subscription(&mut stmt, s),
            Record::Provider(p) => ai_rows::write_provider(&mut stmt, p),
            Record::Model(m) => ai_rows::write_model(&mut stmt, m),
            Record::Issuer(i) => issuer_rows::write_issuer(&mut stmt, i),
            Record::Certificate(c) => certificate_rows::write_certificate(&mut stmt, c),
            Record::HmacKey(k) => hmac_rows::write_hmac_key(&mut stmt, k),
        }
    };
    match written {
        Ok(0) if is_update => Err(StoreError::NotFound(format!("{} '{}' does not exist", record.kind(), id(record)))),
        Ok(_) => Ok(()),
        Err(e) => Err(explain(tx, record, e)),
    }
}

/// Maps a failed write of `record` to a [`StoreError`] that names the
/// field at fault.
fn explain(tx: &Connection, record: &Record, e: rusqlite::Error) -> StoreError {
    match violation(&e) {
        Some((Violation::Unique, message)) => StoreError::Conflict(unique_message(record, message)),
        Some((Violation::ForeignKey, _)) => match missing_reference(tx, record) {
            Ok(Some(err)) => err,
            Ok(None) => StoreError::Conflict(format!(
                "{} '{}' would break a reference between records (e.g. rows that belong to it)",
                record.kind(),
                id(record)
            )),
            Err(lookup) => lookup,
        },
        None => match e {
            rusqlite::Error::ToSqlConversionFailure(cause) => {
                StoreError::Backend(format!("cannot store {} '{}': {cause}", record.kind(), id(record)))
            }
            other => sqlite_error(other),
        },
    }
}

/// A conflict message for a UNIQUE failure; `message` is SQLite's
/// (`UNIQUE constraint failed: tenants.slug` or `... index 'apis_route_uq'`).
fn unique_message(record: &Record, message: &str) -> String {
    let on = |needle: &str| message.contains(needle);
    match record {
        Record::Tenant(t) if on("tenants.slug") || on("tenants_slug_uq") => format!("tenant slug '{}' is taken", t.slug),
        Record::User(u) if on("users_email_uq") => {
            format!("user email '{}' is taken in tenant '{}'", u.email, u.tenant_id)
        }
        Record::Key(k) if on("api_keys.digest") || on("api_keys_digest_uq") => {
            format!("key digest is taken: another key has the same secret (key '{}')", k.id)
        }
        Record::Api(a) if on("apis_route_uq") => match &a.host {
            Some(host) => format!("API base path '{}' on host '{host}' is taken by an API that is not retired", a.base_path),
            None => format!("API base path '{}' (any host) is taken by an API that is not retired", a.base_path),
        },
        Record::Subscription(s) if on("subscriptions.app_id") => {
            format!("app '{}' already has a subscription to API '{}'", s.app_id, s.api_id)
        }
        Record::Provider(p) if on("ai_providers.name") || on("ai_providers_name_uq") => {
            format!("provider name '{}' is taken in tenant '{}'", p.name, p.tenant_id)
        }
        Record::Model(m) if on("ai_models.name") || on("ai_models_name_uq") => {
            format!("model name '{}' is taken in tenant '{}'", m.name, m.tenant_id)
        }
        Record::Issuer(i) if on("jwt_issuers.name") || on("jwt_issuers_name_uq") => {
            format!("issuer name '{}' is taken in tenant '{}'", i.name, i.tenant_id)
        }
        Record::Certificate(c) if on("client_certificates_fingerprint_uq") || on("client_certificates.sha256_fingerprint") => {
            format!("certificate sha256 '{}' is already bound (a live binding)", c.sha256_fingerprint)
        }
        _ if on(".id") || on("_id_tenant_uq") => format!("{} id '{}' already exists", record.kind(), id(record)),
        _ => format!("{} '{}' clashes with an existing row ({message})", record.kind(), id(record)),
    }
}

fn exists(tx: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool, StoreError> {
    tx.query_row(sql, params, |_| Ok(())).optional().map(|row| row.is_some()).map_err(sqlite_error)
}

/// After a FOREIGN KEY failure: the reference of `record` that points
/// nowhere (not found) or at another tenant's row (conflict), if any.
fn missing_reference(tx: &Connection, record: &Record) -> Result<Option<StoreError>, StoreError> {
    let kind = record.kind();
    let tenant_exists = |tenant: &str| exists(tx, "SELECT 1 FROM tenants WHERE id = ?1", [tenant]);
    let no_tenant = |tenant: &str| StoreError::NotFound(format!("tenant '{tenant}' does not exist ({kind} '{}')", id(record)));
    match record {
        Record::Tenant(_) => Ok(None),
        Record::User(u) => Ok((!tenant_exists(u.tenant_id.as_str())?).then(|| no_tenant(u.tenant_id.as_str()))),
        Record::Api(a) => Ok((!tenant_exists(a.tenant_id.as_str())?).then(|| no_tenant(a.tenant_id.as_str()))),
        Record::Provider(p) => Ok((!tenant_exists(p.tenant_id.as_str())?).then(|| no_tenant(p.tenant_id.as_str()))),
        Record::Model(m) => Ok((!tenant_exists(m.tenant_id.as_str())?).then(|| no_tenant(m.tenant_id.as_str()))),
        Record::Issuer(i) => Ok((!tenant_exists(i.tenant_id.as_str())?).then(|| no_tenant(i.tenant_id.as_str()))),
        Record::Subscription(s) => {
            if !exists(tx, "SELECT 1 FROM apis WHERE id = ?1", [s.api_id.as_str()])? {
                return Ok(Some(StoreError::NotFound(format!("API '{}' does not exist (subscription '{}')", s.api_id, s.id))));
            }
            if !exists(tx, "SELECT 1 FROM apps WHERE id = ?1", [s.app_id.as_str()])? {
                return Ok(Some(StoreError::NotFound(format!("app '{}' does not exist (subscription '{}')", s.app_id, s.id))));
            }
            Ok((!tenant_exists(s.tenant_id.as_str())?).then(|| no_tenant(s.tenant_id.as_str())))
        }
        Record::App(a) => {
            if !tenant_exists(a.tenant_id.as_str())? {
                return Ok(Some(no_tenant(a.tenant_id.as_str())));
            }
            let owner_tenant: Option<String> = tx
                .query_row("SELECT tenant_id FROM users WHERE id = ?1", [a.owner_user_id.as_str()], |r| r.get(0))
                .optional()
                .map_err(sqlite_error)?;
            Ok(match owner_tenant {
                None => Some(StoreError::NotFound(format!("owner user '{}' does not exist (app '{}')", a.owner_user_id, a.id))),
                Some(t) if t != a.tenant_id.as_str() => Some(StoreError::Conflict(format!(
                    "owner user '{}' belongs to tenant '{t}', not to the app's tenant '{}'",
                    a.owner_user_id, a.tenant_id
                ))),
                Some(_) => None,
            })
        }
        Record::Certificate(c) => app_of_tenant(tx, c.app_id.as_str(), c.tenant_id.as_str(), "certificate", c.id.as_str()),
        Record::Key(k) => app_of_tenant(tx, k.app_id.as_str(), k.tenant_id.as_str(), "key", k.id.as_str()),
        Record::HmacKey(k) => app_of_tenant(tx, k.app_id.as_str(), k.tenant_id.as_str(), "HMAC key", k.id.as_str()),
    }
}

/// After a FOREIGN KEY failure of a credential (`what` `id`) of app
/// `app` in `tenant`: the app missing (not found) or of another tenant
/// (conflict).
fn app_of_tenant(tx: &Connection, app: &str, tenant: &str, what: &str, id: &str) -> Result<Option<StoreError>, StoreError> {
    let app_tenant: Option<String> =
        tx.query_row("SELECT tenant_id FROM apps WHERE id = ?1", [app], |r| r.get(0)).optional().map_err(sqlite_error)?;
    Ok(match app_tenant {
        None => Some(StoreError::NotFound(format!("app '{app}' does not exist ({what} '{id}')"))),
        Some(t) if t != tenant => Some(StoreError::Conflict(format!(
            "{what} '{id}' names tenant '{tenant}' but its app '{app}' belongs to tenant '{t}'"
        ))),
        Some(_) => None,
    })
}
