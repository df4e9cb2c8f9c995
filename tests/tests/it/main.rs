//! Integration tests against real binaries: one binary, one module per concern.
//!
//! Tests that need root or `ip netns` print why they skip and pass without checking.

mod keepalived_vrrp;
mod netns;
