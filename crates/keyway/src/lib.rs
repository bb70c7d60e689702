//! The `keyway` binary's library: configuration, node assembly, the demo
//! and the CLI's commands. `main.rs` only parses arguments and calls in.

pub mod admin_client;
pub mod app;
pub mod config;
pub mod demo;
pub mod demo_model;
pub mod diagnose_cli;
pub mod echo;
pub mod export;
pub mod gateway_listener;
pub mod scale;
pub mod secret;
pub mod seed;
pub mod telemetry;
