//! Tests of `SqliteStore` through the `Store` trait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test harness fails loudly")]

mod admin_tokens;
mod ai_records;
mod atomicity;
mod audit;
mod calls;
mod certificates;
mod conflicts;
mod entities;
mod fixtures;
mod group_commit;
mod issuers;
mod load;
mod quota;
mod reopen;
mod subscriptions;
mod touch;
