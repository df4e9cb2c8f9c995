//! Integration tests of the HAProxy parser: one binary, one module per concern.

mod corpus;
mod roundtrip;
mod views;
