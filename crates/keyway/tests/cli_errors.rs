//! The CLI reports errors as `error: ...` and their causes, one per line,
//! and exits 1; never a Rust backtrace, whatever `RUST_BACKTRACE` says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness code")]

use std::process::Command;

#[test]
fn a_failing_command_prints_error_and_causes_without_a_backtrace() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_keyway"))
        .args(["diagnose", "req_01jf0000000000000000000000", "--admin-url", &format!("http://127.0.0.1:{port}"), "--token", "t"])
        .env("RUST_BACKTRACE", "full")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: diagnose failed\n"), "{err}");
    assert!(err.contains("caused by: cannot reach the admin API"), "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
}
