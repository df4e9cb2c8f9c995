//! Integration tests of the HAProxy parser: one binary, one module per concern.

// Test helpers outside #[test] functions may fail loudly; clippy.toml covers only the tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod check;
mod corpus;
mod differential;
mod differential_files;
mod false_alarms;
mod fuzz_regressions;
mod keyword_tables;
mod keepalived;
mod keepalived_corpus;
mod keepalived_props;
mod model_props;
mod quoting_props;
mod roundtrip;
mod views;
