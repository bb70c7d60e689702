//! Every counter is exported from the start, at zero, so dashboards and
//! alerts see 0 rather than a missing series. Its own test binary: the
//! metrics recorder is per process, and other tests would move the counters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

mod common;

use common::*;

#[tokio::test]
async fn every_counter_is_exported_from_the_start_at_zero() {
    let node = Node::start().await;
    let text =
        node.http.get(format!("{}/metrics", node.admin)).bearer_auth(ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    for series in [
        "keyway_call_log_dropped_total",
        "keyway_call_log_failed_total",
        "keyway_gateway_requests_total{code=\"credential_ambiguous\"}",
        "keyway_gateway_requests_total{code=\"request_timeout\"}",
        "keyway_listener_accept_errors_total{listener=\"gateway\"}",
        "keyway_listener_accept_errors_total{listener=\"admin\"}",
        "keyway_listener_connections_refused_total{listener=\"gateway\"}",
        "keyway_listener_timeouts_total{listener=\"gateway\",timeout=\"header_read\"}",
    ] {
        assert!(text.lines().any(|l| l == format!("{series} 0")), "{series} missing or not 0 in:\n{text}");
    }
}
