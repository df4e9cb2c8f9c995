//! fleet-core integration tests: one binary (STYLE 12), modules per concern.
//!
//! The store suite runs twice, on SQLite (a temp file) and on PostgreSQL
//! (`FLEET_TEST_POSTGRES_URL`, a fresh database per test; `./scripts/test` starts a server and
//! sets it; without it the PostgreSQL variants print a skip message).

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod accounts;
mod alerts_store;
mod backup;
mod acme_store;
mod bundle_references;
mod bundles;
mod certificates;
mod concurrency;
mod corpus;
mod diff_order;
mod dns_cloudflare;
mod dns_powerdns;
mod dns_rfc2136;
mod dns_store;
mod disk_full;
mod edit_table;
mod edits;
mod lifecycle_store;
mod failover_store;
mod gate;
mod heartbeats_store;
mod jobs_store;
mod monitor_store;
mod op_props;
mod privileged_store;
mod renewals;
mod rollouts_store;
mod runtime_store;
mod rules_store;
mod schedules_store;
mod sealed_bundles;
mod sealed_store;
mod store_suite;
