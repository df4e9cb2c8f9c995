//! Invariants checked by the fuzz targets, one module per target.
//!
//! ```text
//! fuzz_targets/<target>.rs --calls--> src/<invariant>.rs <--#[path]-- haproxy-parse/tests/it/fuzz_regressions.rs
//! ```
//!
//! The targets are thin wrappers; the checks live here so that the regression test replays the
//! saved inputs under `regressions/<target>/` through exactly the same code, on stable Rust,
//! as part of `cargo test`.

pub mod edit;
pub mod roundtrip;
