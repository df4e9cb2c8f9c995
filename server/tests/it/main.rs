//! Integration tests of the `fleet` binary: one test binary, one module per concern. They run
//! the real executable (`CARGO_BIN_EXE_fleet`) and look at its output and exit status.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client_cli;
mod client_site;
mod client_site_resources;
mod config_cli;
mod config_corpus;
mod config_snapshots;
mod keepalived_cli;
mod support;
mod serve_accounts;
mod serve_agents;
mod serve_api;
mod serve_backup;
mod serve_cancel;
mod serve_certificates;
mod serve_dataplane;
mod serve_events;
mod serve_cli;
mod serve_files;
mod serve_keepalived_adopt;
mod serve_gate;
mod serve_limits;
mod serve_names;
mod serve_metrics;
mod serve_openapi;
mod serve_privileged;
mod serve_rbac;
mod serve_renewals;
mod serve_rollouts;
mod serve_schedules;
mod serve_support;
mod serve_tls;
mod serve_ui;
mod serve_vips;
