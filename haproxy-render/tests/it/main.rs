//! Integration tests of the renderers: one binary, one module per concern.

// Test helpers outside `#[test]` functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod corpus;
mod haproxy_check;
mod properties;
