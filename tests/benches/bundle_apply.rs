//! Commit -> served on one agent with real HAProxy (issue 11, "Benchmark"): a change of only a
//! map, applied through the runtime API (no reload), against a change of the config that needs a
//! reload. Each run commits a version (transaction with `put_file` ops), applies it and polls the
//! frontend on new connections until the new answer is served; prints p50 / p99 / max of both,
//! from the commit request and from the apply request (the commit runs the server's gate).
//!
//! The config carries FLEET_BUNDLE_BENCH_BACKENDS extra backends of 2 servers (default 1,000),
//! so the reload has real work to do; FLEET_BUNDLE_BENCH_RUNS runs of each kind (default 30).
//! Uses the debug binaries when there is no release build of `fleet` and `fleet-agent`.
//!
//!   cargo bench -p fleet-tests --bench bundle_apply

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/agent_harness.rs"]
mod agent_harness;

use std::time::{Duration, Instant};

use agent_harness::{bring_up, bundle_config, free_port, prerequisites, probe, Server};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Commits the bundle, applies it and waits until `expected` is served: the time from the
/// commit and the time from the apply request.
fn commit_to_served(server: &Server, cluster: i64, port: u16, files: &[(&str, &str, &[u8])], expected: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let version = server.commit_files(cluster, files);
    let applied = Instant::now();
    server.apply(cluster, version);
    while probe(port).as_deref() != Ok(expected) {
        assert!(started.elapsed() < Duration::from_secs(120), "{expected:?} not served");
        std::thread::sleep(Duration::from_millis(1));
    }
    (started.elapsed(), applied.elapsed())
}

fn figures(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<28} n={:<4} p50={:>8.1} ms  p99={:>8.1} ms  max={:>8.1} ms",
        times.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn main() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (runs, backends) = (env("FLEET_BUNDLE_BENCH_RUNS", 30).max(1), env("FLEET_BUNDLE_BENCH_BACKENDS", 1_000));
    let (server, _agent, cluster, port, _dir) = bring_up("bundle-bench", &haproxy, &fleet, &agent_bin);
    let tls = free_port();
    let pem = fleet_tests::self_signed_pem_for("bench.test").unwrap();
    // Backends only: the generated frontend would bind fixed ports.
    let large = fleet_tests::large_config(backends, 2);
    let extra_backends = large.split_once("    default_backend be_app00000\n").map_or("", |(_, b)| b).to_string();
    let config = |body: &str| format!("{}{extra_backends}", bundle_config(port, tls, body, ""));
    let base = config("v");
    let first = server.commit_files(
        cluster,
        &[("haproxy.cfg", "config", base.as_bytes()), ("maps/hosts.map", "map", b"test m0\n"), ("certs/site.pem", "certificate", &pem)],
    );
    server.apply(cluster, first);
    agent_harness::wait_served(port, "v m0", Duration::from_secs(60));
    server.wait_status(cluster, "the first bundle", |a| a["applied_version"] == json!(first));
    println!("bundle apply benchmark: {backends} extra backends ({} KiB config), {runs} runs of each", base.len() / 1024);

    let mut runtime = Vec::with_capacity(runs);
    let mut runtime_apply = Vec::with_capacity(runs);
    for i in 1..=runs {
        let map = format!("test m{i}\n");
        let (commit, apply) = commit_to_served(&server, cluster, port, &[("maps/hosts.map", "map", map.as_bytes())], &format!("v m{i}"));
        runtime.push(commit);
        runtime_apply.push(apply);
    }
    let outcome = server.agent_status(cluster)["last_outcome"].clone();
    assert_eq!(outcome, json!("applied_runtime"), "map-only changes go through the runtime API");
    let mut reload = Vec::with_capacity(runs);
    let mut reload_apply = Vec::with_capacity(runs);
    for i in 1..=runs {
        let text = config(&format!("r{i}"));
        let (commit, apply) = commit_to_served(&server, cluster, port, &[("haproxy.cfg", "config", text.as_bytes())], &format!("r{i} m{runs}"));
        reload.push(commit);
        reload_apply.push(apply);
    }
    figures("commit -> served, map only", runtime);
    figures("commit -> served, reload", reload);
    figures("apply -> served, map only", runtime_apply);
    figures("apply -> served, reload", reload_apply);
}
