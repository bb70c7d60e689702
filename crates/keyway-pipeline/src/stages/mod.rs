//! One module per stage of `errors.md`, in check order. Each stage reads
//! the request, what earlier stages learned and the snapshot, and either
//! passes (with evidence for the trace) or returns a `Refusal`.
//! [`request`] runs first: it checks the request itself (stage 7's
//! `request_malformed`), before anything is routed.

pub mod authorization;
pub mod certificate;
pub mod credential;
pub mod identity;
pub mod key;
pub mod request;
pub mod route;
pub mod signature;
pub mod token;
