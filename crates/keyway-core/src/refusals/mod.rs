//! One constructor per refusal code, grouped by the stage of `errors.md`
//! that returns it. Each takes the typed facts the stage saw (the key, the
//! app, the API, the limit...) and writes the caller's text, the
//! operator's evidence and the fix in one place, so the same failure reads
//! the same wherever it is detected and a new code cannot be raised
//! without its words. [`Refusal`](crate::Refusal) cannot be built any
//! other way outside this crate.
//!
//! Caller text of codes returned before the caller proved it holds a real
//! secret (stages request, route and credential, and `key_unknown`)
//! describes only the request itself, never stored state: the disclosure
//! rule of `errors.md`.

mod ai;
mod authorization;
mod certificate;
mod credential;
mod identity;
mod key;
mod limits;
mod request;
mod route;
mod signature;
mod token;
mod upstream;

pub use ai::{CredentialRejected, ModelListOf};
pub use authorization::ScopeHolder;
pub use certificate::NoCertificate;
pub use credential::CredentialProblem;
pub use identity::{OwnerGone, OwnerSuspended, TenantSuspended};
pub use limits::{BudgetUsed, QuotaUsed, RateUsed, TokensUsed};
pub use request::Malformed;
pub use route::NoRoute;
pub use signature::{SignatureMismatch, SignedTime};
pub use token::FutureClaim;
pub use upstream::BodyTimeout;

use crate::fmt_time;
use crate::model::StatusChange;

/// Something a stage saw that reads as text: an error, a fault, a
/// format problem. Typed where it was detected, rendered into evidence.
pub trait Seen: std::fmt::Display + std::fmt::Debug {}

impl<T: std::fmt::Display + std::fmt::Debug + ?Sized> Seen for T {}

/// " since T" for caller text (no actor, no reason: those are the operator's).
fn since(change: &StatusChange) -> String {
    change.changed_at.map(|t| format!(" since {}", fmt_time(&t))).unwrap_or_default()
}

/// " at T by X: \"reason\"" for operator evidence.
fn story(change: &StatusChange) -> String {
    let mut s = String::new();
    if let Some(t) = change.changed_at {
        s.push_str(&format!(" at {}", fmt_time(&t)));
    }
    if let Some(by) = &change.changed_by {
        s.push_str(&format!(" by {by}"));
    }
    if let Some(r) = &change.reason {
        s.push_str(&format!(": {r:?}"));
    }
    s
}
