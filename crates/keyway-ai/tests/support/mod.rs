//! Test-only support: mock providers and a plain HTTP client.
#![allow(dead_code, reason = "each test binary uses part of the support code")]

pub mod client;
pub mod fixtures;
pub mod mock;
