//! Integration tests against real binaries: one binary, one module per concern.
//!
//! Tests that need root or `ip netns` print why they skip and pass without checking.

// Helpers outside `#[test]` functions are test code too: a failed setup step should stop the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod acme_pebble;
mod alerts;
mod agent_adopt;
mod agent_apply;
mod agent_bundles;
mod agent_certificates;
mod agent_delta;
mod agent_demo;
mod agent_harness;
mod agent_jobs;
mod agent_lifecycle;
mod agent_observe;
mod agent_privileged;
mod agent_rollouts;
mod agent_runtime;
mod agent_tls;
mod agent_upgrade;
mod browser;
mod bundle_acceptance;
mod client_e2e;
mod dataplane_maps;
mod dataplane_runtime;
mod dns_failover;
mod failover_probe;
mod agent_systemd;
mod keepalived_vrrp;
mod netns;
mod packages;
mod rules_traffic;
mod ui_browser;
mod vip_lab;
