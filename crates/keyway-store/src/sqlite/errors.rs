//! Turning SQLite errors into [`StoreError`]s.

use crate::StoreError;
use rusqlite::ffi;

/// What kind of constraint a statement broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A UNIQUE index or primary key.
    Unique,
    /// A FOREIGN KEY.
    ForeignKey,
}

/// The constraint `e` reports breaking, with SQLite's message
/// (`UNIQUE constraint failed: tenants.slug`).
pub(crate) fn violation(e: &rusqlite::Error) -> Option<(Violation, &str)> {
    let rusqlite::Error::SqliteFailure(err, message) = e else {
        return None;
    };
    let kind = match err.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Violation::Unique,
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Violation::ForeignKey,
        _ => return None,
    };
    Some((kind, message.as_deref().unwrap_or("")))
}

/// Any SQLite error, where no more specific mapping applies: constraint
/// violations become conflicts, everything else a backend failure.
pub(crate) fn sqlite_error(e: rusqlite::Error) -> StoreError {
    sqlite_error_ref(&e)
}

/// [`sqlite_error`] of a borrowed error, for one error that several
/// callers share (a group commit that failed).
pub(crate) fn sqlite_error_ref(e: &rusqlite::Error) -> StoreError {
    match violation(e) {
        Some((_, message)) => StoreError::Conflict(message.to_owned()),
        None => StoreError::Backend(format!("sqlite: {e}")),
    }
}
