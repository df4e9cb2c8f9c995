//! 1,000 certificates in one cluster on one agent with real HAProxy (issue 13, "Benchmark"):
//! HAProxy's start time with them, and the time a renewal of one of them takes to be served
//! through the runtime API (`set ssl cert`, no reload).
//!
//! The certificates (ECDSA P-256, made with rcgen's [`fleet_tests::pki::TestPki`]) go into the
//! bundle in one transaction with a crt-list naming each, except the renewed one, which goes
//! through the certificate store (`POST /api/v1/certificates`, `.../deploy` with its crt-list
//! line): one deploy is one new version holding every file, so 1,000 deploys would measure the
//! store's version history rather than HAProxy. Figures printed:
//! - `haproxy -c` on the same files, run here directly (the parse and load of every
//!   certificate, what a start costs before binding);
//! - apply -> served: from the apply request until the node serves the last certificate by SNI
//!   (the agent's check, the reload into the new release and the handshake);
//! - replace -> served: from `PUT /api/v1/certificates/{id}` (a new revision for the same name,
//!   with a new key) through the apply of its rollout version until a handshake with that name
//!   gets the new certificate; the master's reload counter (`show proc`) must not move.
//!
//! FLEET_BENCH_CERTS certificates (default 1,000); FLEET_BENCH_RENEWALS renewals (default 5).
//! Uses the debug binaries when there is no release build of `fleet` and `fleet-agent`.
//!
//!   cargo bench -p fleet-tests --bench cert_apply

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/agent_harness.rs"]
mod agent_harness;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent_harness::{bring_up, config, free_port, prerequisites};
use fleet_tests::pki::{Leaf, TestPki};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn name(i: usize) -> String {
    format!("site{i:05}.bench.test")
}

/// The leaf certificate a handshake with SNI `sni` on loopback `port` gets, PEM without blanks;
/// empty when there is none.
fn served_pem(port: u16, sni: &str) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", sni])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let text = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let Some(start) = text.find("-----BEGIN CERTIFICATE-----") else { return String::new() };
    let end = text[start..].find("-----END CERTIFICATE-----").map_or(text.len(), |e| start + e);
    squeeze(&text[start..end])
}

fn squeeze(pem: &str) -> String {
    let end = pem.find("-----END CERTIFICATE-----").unwrap_or(pem.len());
    pem[..end].split_whitespace().collect()
}

/// Waits until `sni` on `port` is served `leaf`'s certificate.
fn wait_cert(port: u16, sni: &str, leaf: &Leaf, since: Instant) {
    let expected = squeeze(&leaf.cert_pem);
    while served_pem(port, sni) != expected {
        assert!(since.elapsed() < Duration::from_secs(120), "{sni}: the expected certificate is not served");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let count = env("FLEET_BENCH_CERTS", 1_000).max(2);
    let renewals = env("FLEET_BENCH_RENEWALS", 5).max(1);
    let (server, agent, cluster, port, dir) = bring_up("cert-bench", &haproxy, &fleet, &agent_bin);
    let managed = agent.config.parent().unwrap().display().to_string();
    let tls = free_port();

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let started = Instant::now();
    let pki = TestPki::new("Bench", now - DAY_MS, now + 90 * DAY_MS);
    let leaves: Vec<Leaf> = (0..count).map(|i| pki.leaf(&[&name(i)], now - DAY_MS, now + 60 * DAY_MS)).collect();
    let made = started.elapsed();
    let chain = pki.chain_pem();
    let combined = |leaf: &Leaf| format!("{}{chain}{}", leaf.cert_pem, leaf.key_pem);

    // Certificates 1.. straight into the bundle, with their crt-list lines (absolute, as the
    // store writes them); certificate 0 through the store, whose deploy adds its line.
    let text = config(port, "certs", &format!("    bind 127.0.0.1:{tls} ssl crt-list lists/sites.txt\n"));
    let list: String = (1..count).map(|i| format!("{managed}/certs/{}.pem\n", name(i))).collect();
    let files: Vec<(String, String)> = (1..count).map(|i| (format!("certs/{}.pem", name(i)), combined(&leaves[i]))).collect();
    let mut ops: Vec<(&str, &str, &[u8])> = vec![("haproxy.cfg", "config", text.as_bytes()), ("lists/sites.txt", "crt-list", list.as_bytes())];
    ops.extend(files.iter().map(|(path, pem)| (path.as_str(), "certificate", pem.as_bytes())));
    let committing = Instant::now();
    server.commit_files(cluster, &ops);
    let committed = committing.elapsed();
    let stored = server.post(
        "/api/v1/certificates",
        &json!({"name": name(0), "certificate": format!("{}{chain}", leaves[0].cert_pem), "private_key": leaves[0].key_pem}),
    );
    let id = stored["id"].as_i64().unwrap();
    let deployed = server.post(
        &format!("/api/v1/certificates/{id}/deploy"),
        &json!({"cluster_id": cluster, "path": format!("certs/{}.pem", name(0)), "crt_list": {"path": "lists/sites.txt", "options": ""}}),
    );
    let version = deployed["version"].as_i64().unwrap();
    println!(
        "certificate benchmark: {count} ECDSA P-256 certificates (made in {:.0} ms), one crt-list, {renewals} renewals",
        ms(made)
    );

    // `haproxy -c` on the same files, outside the agent.
    let check_dir = dir.join("check");
    std::fs::create_dir_all(check_dir.join("certs")).unwrap();
    for (i, leaf) in leaves.iter().enumerate() {
        std::fs::write(check_dir.join(format!("certs/{}.pem", name(i))), combined(leaf)).unwrap();
    }
    let check_list: String = (0..count).map(|i| format!("{}/certs/{}.pem\n", check_dir.display(), name(i))).collect();
    std::fs::write(check_dir.join("sites.txt"), check_list).unwrap();
    let check_config = config(free_port(), "check", &format!("    bind 127.0.0.1:{} ssl crt-list {}/sites.txt\n", free_port(), check_dir.display()));
    std::fs::write(check_dir.join("haproxy.cfg"), check_config).unwrap();
    let checking = Instant::now();
    let status = Command::new(&haproxy).arg("-c").arg("-q").arg("-f").arg(check_dir.join("haproxy.cfg")).status().unwrap();
    let check = checking.elapsed();
    assert!(status.success(), "haproxy -c refused {count} certificates");

    let applying = Instant::now();
    server.apply(cluster, version);
    wait_cert(tls, &name(count - 1), &leaves[count - 1], applying);
    let served = applying.elapsed();
    wait_cert(tls, &name(0), &leaves[0], applying);
    server.wait_status(cluster, "the certificates applied", |a| a["applied_version"] == json!(version));
    let reloads = agent.reloads();

    let mut renewed = Vec::with_capacity(renewals);
    let mut puts = Vec::with_capacity(renewals);
    for _ in 0..renewals {
        let leaf = pki.leaf(&[&name(0)], now - DAY_MS, now + 60 * DAY_MS);
        let replacing = Instant::now();
        let body = json!({"certificate": format!("{}{chain}", leaf.cert_pem), "private_key": leaf.key_pem});
        let answer = server.request(reqwest::Method::PUT, &format!("/api/v1/certificates/{id}")).json(&body).send().unwrap();
        assert!(answer.status().is_success(), "PUT certificate: {}", answer.status());
        let replaced: serde_json::Value = answer.json().unwrap();
        let version = replaced["rollouts"][0]["version"].as_i64().unwrap_or_else(|| panic!("no rollout: {replaced}"));
        puts.push(replacing.elapsed());
        server.apply(cluster, version);
        wait_cert(tls, &name(0), &leaf, replacing);
        renewed.push(replacing.elapsed());
        server.wait_status(cluster, "the renewal applied", |a| a["applied_version"] == json!(version));
    }
    assert_eq!(server.agent_status(cluster)["last_outcome"], json!("applied_runtime"), "a renewal goes through the runtime API");
    assert_eq!(agent.reloads(), reloads, "no reload for a renewal");

    renewed.sort();
    puts.sort();
    println!("commit of {} certificate files      {:>8.1} ms", count - 1, ms(committed));
    println!("haproxy -c, {count} certificates        {:>8.1} ms", ms(check));
    println!("apply -> served, {count} certificates   {:>8.1} ms  (reload)", ms(served));
    println!(
        "replace -> served, one renewal      p50={:>6.1} ms  max={:>6.1} ms  n={}  (runtime API, reloads unchanged: {reloads})",
        ms(renewed[(renewed.len() - 1) / 2]),
        ms(renewed[renewed.len() - 1]),
        renewed.len()
    );
    println!("  of which the PUT (new revision + version)  p50={:>6.1} ms", ms(puts[(puts.len() - 1) / 2]));
    // The agent stops its HAProxy first; the folder holds ~40 MB of releases.
    drop(agent);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
