//! Fleet scale benchmark (issue 20): N simulated agents (default 1,000) against one `fleet serve`
//! on loopback, every one enrolled for real, heartbeating every 5 s and holding a long-poll; one
//! apply must reach all of them.
//!
//! ```text
//! enrol N agents (N tokens) -> heartbeats every 5 s per agent, all the run long
//! small config (2.5 KB), R rounds:   N long-polls held -> import (one line changed) -> apply
//!                                    -> every agent has read and verified the new version
//! 5 MB bundle (config + 5 MB map):   the agents run it already (their `known`), R rounds of a
//!                                    one-line change of the map, answered as a delta
//!   each agent then posts its apply report, as fleet-agent does -> the rollout succeeds
//! burst: one heartbeat from every agent at once -> heartbeat write throughput
//! ```
//!
//! `cargo bench -p fleet-server --bench fleet_scale`. Environment: FLEET_BENCH_AGENTS (1000),
//! FLEET_BENCH_ROUNDS (3 per case), FLEET_BENCH_DATABASE (an empty PostgreSQL database URL to
//! run on instead of SQLite), FLEET_BENCH_MAX_P99_MS (1000: small config) and
//! FLEET_BENCH_MAX_DELTA_P99_MS (2000: the 5 MB bundle), FLEET_BENCH_MAX_RSS_MIB (1024), over
//! which the run fails; FLEET_BENCH_HEARTBEAT=agent (heartbeats carry what fleet-agent's do:
//! interfaces, a served certificate, drift and rule hits, and on every other one a stats sample
//! of 10 rows; by default facts only), FLEET_BENCH_HTTP=2 (each agent on its own HTTP/2
//! connection, as fleet-agent over https; by default HTTP/1.1, as over http), FLEET_BENCH_LOG (the
//! server's RUST_LOG, `warn` by default: `fleet_core::store::batch=debug` logs each batch). Figures: p50/p99/max from the apply request to each agent having read
//! and verified the whole new version (sha256 of every file and the bundle digest), the answer's
//! bytes per agent beside the unified diff of the change, the server's CPU seconds from the
//! apply until the last agent had it (heartbeats and reports included), its peak RSS (VmHWM)
//! and its RSS per waiting agent, apply reports (latency per report, and from the apply to the
//! rollout having every agent's report: `succeeded`), and heartbeat throughput. Agents spread over 127.0.0.x source addresses,
//! 2,000 per address, so ephemeral ports never run out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_core::bundle::Bundle;
use fleet_core::wire::DesiredState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};

const AGENTS_PER_SOURCE: usize = 2000;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// Lines of the 5 MB map (`hostNNNNNN.example.com appNN`, 29 bytes each).
const MAP_LINES: usize = 175_000;

struct Server {
    child: Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> Server {
    let dir = std::env::temp_dir().join(format!("fleet-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleet"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(&dir);
    if let Ok(url) = std::env::var("FLEET_BENCH_DATABASE") {
        command.args(["--database", &url]);
    }
    let mut child = command
        .env("FLEET_ADMIN_PASSWORD", "bench-password")
        .env("RUST_LOG", std::env::var("FLEET_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(base) = line.strip_prefix("listening on ") {
                let _ = tx.send(base.to_string());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(60)).expect("fleet serve did not start");
    Server { child, base, dir }
}

/// The 2.5 KB config of round `round`: one line (server s0's weight) differs between rounds.
fn small_config(round: usize) -> String {
    let mut text = String::from(
        "global\n    maxconn 20000\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    balance roundrobin\n",
    );
    for i in 0..50 {
        let weight = if i == 0 { 1 + round } else { 1 + i % 10 };
        text.push_str(&format!("    server s{i} 10.0.0.{i}:80 check weight {weight}\n"));
    }
    text
}

/// The 5 MB map of round `round`: one line (a host in the middle) differs between rounds.
fn big_map(round: usize) -> Vec<u8> {
    let mut text = String::with_capacity(MAP_LINES * 30);
    for i in 0..MAP_LINES {
        let app = if i == MAP_LINES / 2 { 50 + round % 50 } else { i % 50 };
        text.push_str(&format!("host{i:06}.example.com app{app:02}\n"));
    }
    text.into_bytes()
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The process's user + system CPU time (`/proc/<pid>/stat` fields 14 and 15, USER_HZ = 100).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Value {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A verified bundle, its digest (computed once: it hashes every file) and its version number.
struct Held {
    bundle: Bundle,
    digest: String,
    version: i64,
}

impl Held {
    fn new(bundle: Bundle, version: i64) -> Arc<Held> {
        let digest = bundle.digest();
        Arc::new(Held { bundle, digest, version })
    }
}

/// Answers already resolved, by the sha256 of their body: agents given the same bytes share
/// the verified bundle (10,000 copies of a 5 MB bundle would not fit), and the first one to
/// see a body verifies it while the others wait.
#[derive(Default)]
struct Resolved(Mutex<HashMap<[u8; 32], Arc<OnceCell<Result<Arc<Held>, String>>>>>);

impl Resolved {
    async fn resolve(&self, body: &[u8], base: &Bundle) -> Result<Arc<Held>, String> {
        let key: [u8; 32] = Sha256::digest(body).into();
        let cell = self.0.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(|| async {
            let state: DesiredState = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let state = state.resolve(Some(base)).map_err(|e| e.to_string())?;
            state.bundle().map(|bundle| Held::new(bundle, state.version)).map_err(|e| e.to_string())
        })
        .await
        .clone()
    }
}

/// What one agent read: when it had the new version verified, how many body bytes it took,
/// the bundle, how many delta answers it refused (then asking for every file), and how long
/// its apply report took to be recorded.
struct Answer {
    at: Instant,
    bytes: usize,
    bundle: Arc<Held>,
    refused: u32,
    report: Duration,
}

/// One long-poll of an agent that runs `base`, until it has news; then its apply report.
async fn poll(client: reqwest::Client, base_url: String, token: String, base: Arc<Held>, resolved: Arc<Resolved>) -> Answer {
    let known = &base.digest;
    let mut refused = 0;
    loop {
        let delta = if refused == 0 { "true" } else { "false" };
        let response = client
            .get(format!("{base_url}/api/v1/agent/desired"))
            .query(&[("known", known.as_str()), ("wait", "60"), ("delta", delta)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            continue;
        }
        assert_eq!(response.status(), 200);
        let body_bytes = response.bytes().await.unwrap();
        match resolved.resolve(&body_bytes, &base.bundle).await {
            Ok(bundle) => {
                let at = Instant::now();
                // As fleet-agent reports: it asks for no agent back (the rollout's success
                // shows every report was recorded).
                let body = json!({"version": bundle.version, "outcome": "applied"});
                let report = client
                    .post(format!("{base_url}/api/v1/agent/report"))
                    .bearer_auth(&token)
                    .header("prefer", fleet_core::wire::RETURN_MINIMAL)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(report.status(), 204, "report not recorded: {}", report.text().await.unwrap_or_default());
                return Answer { at, bytes: body_bytes.len(), bundle, refused, report: at.elapsed() };
            }
            Err(error) => {
                eprintln!("agent refused an answer ({error}); asking for every file");
                refused += 1;
            }
        }
    }
}

struct Heartbeats {
    latencies_us: Mutex<Vec<u32>>,
    failed: AtomicU64,
    /// `FLEET_BENCH_HEARTBEAT=agent`: heartbeats carry what fleet-agent sends ([`heartbeat_head`]).
    agent_like: bool,
    started: Instant,
    /// The stats sample of the second it was taken in (seconds since `started`), serialized: every
    /// agent sends the same counters in the same second, so that is done once a second, not per
    /// heartbeat (building each body as a `Value` made malloc a third of the bench's CPU, which
    /// the server's two cores share).
    sample: Mutex<(u64, Arc<str>)>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        let agent_like = std::env::var("FLEET_BENCH_HEARTBEAT").is_ok_and(|v| v == "agent");
        Heartbeats { latencies_us: Mutex::default(), failed: AtomicU64::default(), agent_like, started: Instant::now(), sample: Mutex::new((u64::MAX, Arc::from(""))) }
    }
}

impl Heartbeats {
    /// Agent `n`'s heartbeat body now: its [`heartbeat_head`], and with agent-like heartbeats
    /// a stats sample on alternate 5 s ticks of each agent, half the fleet at a time (fleet-agent
    /// samples once per 10 s bucket, `stats::sample_due`: every other heartbeat).
    fn body(&self, head: &str, n: usize) -> String {
        let second = self.started.elapsed().as_secs();
        let mut body = String::with_capacity(head.len() + 2_000);
        body.push_str(head);
        if self.agent_like && (second / HEARTBEAT_EVERY.as_secs() + n as u64).is_multiple_of(2) {
            let sample = {
                let mut cached = self.sample.lock().unwrap();
                if cached.0 != second {
                    *cached = (second, Arc::from(stats_sample(second as i64).to_string()));
                }
                cached.1.clone()
            };
            body.push_str(",\"stats\":");
            body.push_str(&sample);
        }
        body.push('}');
        body
    }
}

/// Servers per backend in an agent-like heartbeat's stats sample ([`stats_sample`]).
const SAMPLE_SERVERS: usize = 8;

/// Agent `n`'s heartbeat body but its stats sample, serialized once per agent, without the
/// object's closing brace ([`Heartbeats::body`] adds the sample and the brace). By default its
/// facts only; with `FLEET_BENCH_HEARTBEAT=agent`, what fleet-agent sends beside them on a node
/// without keepalived: its interfaces (`ip -j addr`), the certificate HAProxy serves, its drift
/// check (clean) and its rule hits (no rate-limit rule).
fn heartbeat_head(n: usize, agent_like: bool) -> String {
    let mut body = json!({"facts": {"haproxy_version": "2.6.12", "node": n}, "heartbeat_seconds": HEARTBEAT_EVERY.as_secs()});
    if agent_like {
        body["interfaces"] = json!([{"name": "lo", "up": true, "addresses": ["127.0.0.1/8", "::1/128"]},
            {"name": "eth0", "up": true, "addresses": [format!("10.{}.{}.{}/16", n / 65_536 % 256, n / 256 % 256, n % 256)]}]);
        body["certificates"] = json!([{"filename": "/etc/haproxy/certs/site.pem", "sha1": "8A3C6F2D9B1E4A7C5D0F3E6B9A2C5D8E1F4A7B0C", "serial": "04A1B2C3D4E5F6"}]);
        body["drift"] = json!({"files": []});
        body["rule_hits"] = json!([]);
    }
    let mut head = body.to_string();
    head.pop();
    head
}

/// A stats sample of one frontend, one backend and its servers, `grown` seconds into the run:
/// counters that grow, so every sample adds a point to each series.
fn stats_sample(grown: i64) -> Value {
    let row = |proxy: &str, name: &str| {
        json!({"proxy": proxy, "name": name, "status": "UP", "check_status": "L4OK", "scur": 1, "qcur": 0, "rtime": 2,
            "counters": {"sessions": grown * 10, "requests": grown * 12, "bytes_in": grown * 4_000, "bytes_out": grown * 90_000, "hrsp_4xx": grown, "hrsp_5xx": 0}})
    };
    let mut rows = vec![row("www", "FRONTEND"), row("app", "BACKEND")];
    rows.extend((1..=SAMPLE_SERVERS).map(|s| row("app", &format!("s{s}"))));
    json!({"pid": 4_242, "rows": rows})
}

async fn heartbeat(client: &reqwest::Client, url: &str, token: &str, head: &str, n: usize, stats: &Heartbeats) {
    let body = stats.body(head, n);
    let started = Instant::now();
    let sent = client.post(url).bearer_auth(token).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
    match sent {
        Ok(response) if response.status().is_success() => {
            let _ = response.bytes().await;
            stats.latencies_us.lock().unwrap().push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
        failed => {
            // The first few say why.
            if stats.failed.fetch_add(1, Ordering::Relaxed) < 3 {
                match failed {
                    Ok(response) => eprintln!("heartbeat failed: {} {}", response.status(), response.text().await.unwrap_or_default()),
                    Err(error) => eprintln!("heartbeat failed: {error:?}"),
                }
            }
        }
    }
}

struct Fleet {
    base: String,
    pid: u32,
    admin: String,
    cluster: i64,
    tokens: Arc<Vec<String>>,
    /// The admin's client (HTTP/1.1).
    admin_client: reqwest::Client,
    transport: Transport,
    resolved: Arc<Resolved>,
    /// The server's largest VmRSS seen while every long-poll was held (KiB).
    rss_waiting: AtomicU64,
}

/// One case's figures.
struct Case {
    name: &'static str,
    latencies: Vec<Duration>,
    /// Per report, from its request to its answer.
    reports: Vec<Duration>,
    /// Per round, from the apply request to the rollout `succeeded` (every report recorded).
    settled: Vec<Duration>,
    bytes_per_agent: f64,
    diff_bytes: usize,
    cpu_per_apply: f64,
    refused: u32,
}

impl Fleet {
    fn admin_client(&self) -> &reqwest::Client {
        &self.admin_client
    }

    async fn connected(&self) -> usize {
        let metrics = self.admin_client().get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("fleet_agents_connected "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
    }

    /// Applies `version` to every agent at once; the rollout's id.
    async fn apply(&self, version: i64) -> i64 {
        let url = format!("{}/api/v1/clusters/{}/apply", self.base, self.cluster);
        let rollout = call(self.admin_client(), reqwest::Method::POST, url, &self.admin, Some(json!({"version": version}))).await;
        rollout["rollout_id"].as_i64().unwrap()
    }

    /// Waits until rollout `id` has succeeded (the server's driver saw every agent's report).
    async fn succeeded(&self, id: i64) {
        let url = format!("{}/api/v1/clusters/{}/rollouts/{id}", self.base, self.cluster);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let rollout = call(self.admin_client(), reqwest::Method::GET, url.clone(), &self.admin, None).await;
            match rollout["state"].as_str() {
                Some("succeeded") => return,
                Some("running") => {}
                other => panic!("rollout {id} ended {other:?}: {}", rollout["reason"]),
            }
            assert!(Instant::now() < deadline, "rollout {id} still running after 120 s");
            // Its driver steps it every 500 ms, and the answer lists every agent (1 MB at
            // 10,000): asking more often would only load the server being measured.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The whole desired bundle, as an agent that knows nothing gets it.
    async fn desired_bundle(&self) -> Arc<Held> {
        let url = format!("{}/api/v1/agent/desired?wait=0", self.base);
        let body = self.transport.poll(0).get(url).bearer_auth(&self.tokens[0]).send().await.unwrap().bytes().await.unwrap();
        let state: DesiredState = serde_json::from_slice(&body).unwrap();
        Held::new(state.bundle().unwrap(), state.version)
    }

    /// One round: every agent long-polls on `bases[i]`, then `change` commits the next version
    /// (returning its number), which is applied; returns each agent's answer.
    /// Also: the server's CPU seconds, the time until the rollout succeeded, and until the
    /// apply request was answered (the rollout started).
    async fn round<F: std::future::Future<Output = i64>>(&self, bases: &[Arc<Held>], change: F) -> (Vec<Answer>, Instant, f64, Duration, Duration) {
        let agents = self.tokens.len();
        let mut polls = Vec::with_capacity(agents);
        for (i, base) in bases.iter().enumerate() {
            let client = self.transport.poll(i).clone();
            polls.push(tokio::spawn(poll(client, self.base.clone(), self.tokens[i].clone(), base.clone(), self.resolved.clone())));
        }
        let version = change.await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let connected = self.connected().await;
            if connected >= agents {
                break;
            }
            assert!(Instant::now() < deadline, "only {connected} of {agents} agents connected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.rss_waiting.fetch_max(proc_status_kib(self.pid, "VmRSS:"), Ordering::Relaxed);
        let cpu_before = cpu_seconds(self.pid);
        let applied_at = Instant::now();
        let rollout = self.apply(version).await;
        let answered = applied_at.elapsed();
        let mut answers = Vec::with_capacity(agents);
        for poll in polls {
            answers.push(poll.await.unwrap());
        }
        let cpu = cpu_seconds(self.pid) - cpu_before;
        self.succeeded(rollout).await;
        (answers, applied_at, cpu, applied_at.elapsed(), answered)
    }

    async fn case<C, F>(&self, name: &'static str, rounds: usize, mut bases: Vec<Arc<Held>>, change: C) -> Case
    where
        C: Fn(usize) -> F,
        F: std::future::Future<Output = i64>,
    {
        let (mut latencies, mut reports, mut settled) = (Vec::new(), Vec::new(), Vec::new());
        let (mut bytes, mut answers_total, mut cpu_total, mut refused, mut diff_bytes) = (0usize, 0usize, 0.0, 0, 0);
        for round in 1..=rounds {
            let (answers, applied_at, cpu, round_settled, answered) = self.round(&bases, change(round)).await;
            let before = bases[0].clone();
            let mut round_latencies: Vec<Duration> = answers.iter().map(|a| a.at.duration_since(applied_at)).collect();
            round_latencies.sort();
            let after = answers[0].bundle.clone();
            assert!(answers.iter().all(|a| a.bundle.digest == after.digest), "agents disagree on the new version");
            diff_bytes = unified_bytes(&before.bundle, &after.bundle);
            let round_bytes: usize = answers.iter().map(|a| a.bytes).sum();
            let mut round_reports: Vec<Duration> = answers.iter().map(|a| a.report).collect();
            round_reports.sort();
            println!(
                "{name} round {round}: p50 {} ms  p99 {} ms  max {} ms; {:.0} B per agent (diff {diff_bytes} B); server CPU {cpu:.2} s; \
                 apply answered after {} ms; reports p99 {} ms, rollout succeeded after {} ms",
                ms(percentile(&round_latencies, 50.0)),
                ms(percentile(&round_latencies, 99.0)),
                ms(round_latencies[round_latencies.len() - 1]),
                round_bytes as f64 / answers.len() as f64,
                ms(answered),
                ms(percentile(&round_reports, 99.0)),
                ms(round_settled),
            );
            reports.extend(round_reports);
            settled.push(round_settled);
            bytes += round_bytes;
            answers_total += answers.len();
            cpu_total += cpu;
            refused += answers.iter().map(|a| a.refused).sum::<u32>();
            latencies.extend(round_latencies);
            bases = answers.into_iter().map(|a| a.bundle).collect();
        }
        latencies.sort();
        reports.sort();
        settled.sort();
        Case { name, latencies, reports, settled, bytes_per_agent: bytes as f64 / answers_total as f64, diff_bytes, cpu_per_apply: cpu_total / rounds as f64, refused }
    }
}

/// Bytes of the unified diffs (3 lines of context) of every file that differs.
fn unified_bytes(before: &Bundle, after: &Bundle) -> usize {
    let mut total = 0;
    for file in after.files() {
        let old = before.file(&file.path).map(|f| f.content.as_slice()).unwrap_or_default();
        if old != file.content.as_slice() {
            let a = String::from_utf8_lossy(old);
            let b = String::from_utf8_lossy(&file.content);
            total += fleet_core::diff::unified(&a, &b, &format!("a/{}", file.path), &format!("b/{}", file.path)).len();
        }
    }
    total
}

/// How the simulated agents reach the server: `FLEET_BENCH_HTTP` (1 or 2).
enum Transport {
    /// `1` (the default): HTTP/1.1, as fleet-agent speaks over `http://`. Long-polls on one
    /// client per source address (a connection per agent); heartbeats and reports on another
    /// (a pool of at most 256 idle connections per source, shared by its agents).
    Http1 { polls: Vec<reqwest::Client>, beats: Vec<reqwest::Client> },
    /// `2`: HTTP/2 (prior knowledge), as fleet-agent negotiates over `https://` (ALPN): a
    /// client, so one connection, per agent, carrying its long-poll, heartbeats and reports.
    Http2 { agents: Vec<reqwest::Client> },
}

impl Transport {
    fn new(agents: usize, version: u8) -> Transport {
        let sources = agents.div_ceil(AGENTS_PER_SOURCE);
        let client = |source: usize, idle: usize, h2: bool| {
            let builder = reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + source as u8)))
                .pool_max_idle_per_host(idle)
                .pool_idle_timeout(Duration::from_secs(300))
                .timeout(Duration::from_secs(120))
                // Plain HTTP: no root store to load 10,000 times.
                .tls_built_in_root_certs(false);
            if h2 { builder.http2_prior_knowledge() } else { builder }.build().unwrap()
        };
        match version {
            2 => Transport::Http2 { agents: (0..agents).map(|n| client(n / AGENTS_PER_SOURCE, 1, true)).collect() },
            _ => Transport::Http1 {
                polls: (0..sources).map(|s| client(s, AGENTS_PER_SOURCE + 16, false)).collect(),
                beats: (0..sources).map(|s| client(s, 256, false)).collect(),
            },
        }
    }

    /// The client agent `n` long-polls with.
    fn poll(&self, n: usize) -> &reqwest::Client {
        match self {
            Transport::Http1 { polls, .. } => &polls[n / AGENTS_PER_SOURCE],
            Transport::Http2 { agents } => &agents[n],
        }
    }

    /// The client agent `n` sends its heartbeats with.
    fn beat(&self, n: usize) -> &reqwest::Client {
        match self {
            Transport::Http1 { beats, .. } => &beats[n / AGENTS_PER_SOURCE],
            Transport::Http2 { agents } => &agents[n],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Transport::Http1 { .. } => "HTTP/1.1",
            Transport::Http2 { .. } => "HTTP/2, a connection per agent",
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run(agents: usize, rounds: usize, database: &str) {
    let server = start();
    let base = server.base.clone();
    let pid = server.child.id();
    let transport = Transport::new(agents, env_or("FLEET_BENCH_HTTP", 1));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "bench-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = login["token"].as_str().unwrap().to_string();
    let post = reqwest::Method::POST;
    let pool = call(&client, post.clone(), format!("{base}/api/v1/pools"), &admin, Some(json!({"name": "bench"}))).await;
    let cluster = call(&client, post.clone(), format!("{base}/api/v1/clusters"), &admin, Some(json!({"name": "bench", "pool_id": pool["id"]}))).await;
    let id = cluster["id"].as_i64().unwrap();
    let import = |text: String| {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let done = client
                .post(format!("{base}/api/v1/clusters/{id}/import"))
                .bearer_auth(&admin)
                .header("content-type", "text/plain")
                .body(text)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
            done.json::<Value>().await.unwrap()["version"].as_i64().unwrap()
        }
    };
    let first = import(small_config(0)).await;

    // Enrol every agent for real (32 at a time).
    let started = Instant::now();
    let mut tokens = Vec::with_capacity(agents);
    for chunk in (0..agents).collect::<Vec<_>>().chunks(32) {
        let mut joins = Vec::new();
        for &n in chunk {
            let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
            joins.push(tokio::spawn(async move {
                let enrolment = call(&client, reqwest::Method::POST, format!("{base}/api/v1/clusters/{id}/enrollments"), &admin, Some(json!({"name": format!("agent-{n}")}))).await;
                let body = json!({"secret": enrolment["secret"], "hostname": format!("node-{n}")});
                let enrolled: Value = client.post(format!("{base}/api/v1/agent/enroll")).json(&body).send().await.unwrap().json().await.unwrap();
                enrolled["token"].as_str().unwrap().to_string()
            }));
        }
        for join in joins {
            tokens.push(join.await.unwrap());
        }
    }
    println!("enrolled {agents} agents in {:.1?}", started.elapsed());
    let fleet = Fleet { base: base.clone(), pid, admin: admin.clone(), cluster: id, tokens: Arc::new(tokens), admin_client: client.clone(), transport, resolved: Arc::default(), rss_waiting: AtomicU64::new(0) };

    // Heartbeats: every agent every 5 s, spread over the interval, all the run long.
    let beating = Arc::new(Heartbeats::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut beaters = Vec::with_capacity(agents);
    for (n, token) in fleet.tokens.iter().enumerate() {
        let (client, base, token, stats, mut stopped) = (fleet.transport.beat(n).clone(), base.clone(), token.clone(), beating.clone(), stopped.clone());
        let offset = HEARTBEAT_EVERY.mul_f64(n as f64 / agents as f64);
        beaters.push(tokio::spawn(async move {
            let (url, head) = (format!("{base}/api/v1/agent/heartbeat"), heartbeat_head(n, stats.agent_like));
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, HEARTBEAT_EVERY);
            loop {
                tokio::select! {
                    _ = tick.tick() => heartbeat(&client, &url, &token, &head, n, &stats).await,
                    _ = stopped.changed() => return,
                }
            }
        }));
    }
    let beats_started = Instant::now();
    // Every agent heard from once before the first round: enrolling 10,000 takes longer than 3
    // heartbeat intervals, and an agent not heard from since is offline, which fails a rollout.
    let deadline = Instant::now() + Duration::from_secs(120);
    while beating.latencies_us.lock().unwrap().len() < agents {
        assert!(Instant::now() < deadline, "not every agent's first heartbeat was answered within 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_idle = proc_status_kib(pid, "VmRSS:");
    fleet.apply(first).await;

    // Small config: every agent runs version 1 (as every agent of the fleet does after its
    // first poll), then R one-line changes.
    let v1 = fleet.desired_bundle().await;
    let bases = vec![v1; agents];
    let small = fleet.case("small config (2.5 KB)", rounds, bases, |round| import(small_config(round))).await;

    // The 5 MB bundle: the config plus a 5 MB map. The agents run it already (applied while no
    // agent polls), then R one-line changes of the map reach them as deltas.
    let put_map = |base_version: i64, round: usize| {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let done = client
                .put(format!("{base}/api/v1/clusters/{id}/files/maps/hosts.map?version={base_version}&kind=map"))
                .bearer_auth(&admin)
                .body(big_map(round))
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
            done.json::<Value>().await.unwrap()["version"].as_i64().unwrap()
        }
    };
    let big = put_map(first + rounds as i64, 0).await;
    fleet.apply(big).await;
    let v_big = fleet.desired_bundle().await;
    println!("5 MB bundle: {} files, {} bytes", v_big.bundle.files().len(), v_big.bundle.size());
    let bases = vec![v_big; agents];
    let delta = fleet.case("5 MB bundle, one-line change", rounds, bases, |round| put_map(big + round as i64 - 1, round)).await;

    // Heartbeats: the steady rate, then one from every agent at once.
    let _ = stop.send(true);
    for beater in beaters {
        let _ = beater.await;
    }
    let steady_seconds = beats_started.elapsed().as_secs_f64();
    let mut steady: Vec<u32> = std::mem::take(&mut *beating.latencies_us.lock().unwrap());
    steady.sort_unstable();
    let steady_failed = beating.failed.swap(0, Ordering::Relaxed);
    let burst = Arc::new(Heartbeats::default());
    let gate = Arc::new(Semaphore::new(512));
    let burst_cpu = cpu_seconds(pid);
    let burst_started = Instant::now();
    let mut joins = Vec::with_capacity(agents);
    for (n, token) in fleet.tokens.iter().enumerate() {
        let (client, base, token, stats, gate) = (fleet.transport.beat(n).clone(), base.clone(), token.clone(), burst.clone(), gate.clone());
        joins.push(tokio::spawn(async move {
            let (url, head) = (format!("{base}/api/v1/agent/heartbeat"), heartbeat_head(n, stats.agent_like));
            let _permit = gate.acquire().await.unwrap();
            heartbeat(&client, &url, &token, &head, n, &stats).await;
        }));
    }
    for join in joins {
        join.await.unwrap();
    }
    let burst_seconds = burst_started.elapsed().as_secs_f64();
    let burst_cpu = cpu_seconds(pid) - burst_cpu;
    let burst_failed = burst.failed.load(Ordering::Relaxed);
    let mut burst_latencies: Vec<u32> = std::mem::take(&mut *burst.latencies_us.lock().unwrap());
    burst_latencies.sort_unstable();

    let hwm = proc_status_kib(pid, "VmHWM:");
    let per_waiting = fleet.rss_waiting.load(Ordering::Relaxed).saturating_sub(rss_idle) as f64 / agents as f64;
    let us_pct = |v: &[u32], p: f64| v.get(((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1)) - 1).copied().unwrap_or(0) as f64 / 1000.0;

    println!();
    println!("fleet_scale: {agents} agents, {database}, {}, {rounds} rounds per case", fleet.transport.name());
    println!("| figure | {} | {} |", small.name, delta.name);
    println!("|---|---|---|");
    let row = |label: &str, f: &dyn Fn(&Case) -> String| println!("| {label} | {} | {} |", f(&small), f(&delta));
    row("p50 commit->all agents (ms)", &|c| ms(percentile(&c.latencies, 50.0)));
    row("p99 commit->all agents (ms)", &|c| ms(percentile(&c.latencies, 99.0)));
    row("max commit->all agents (ms)", &|c| ms(c.latencies[c.latencies.len() - 1]));
    row("bytes per agent per change (answer body)", &|c| format!("{:.0}", c.bytes_per_agent));
    row("unified diff of the change (bytes)", &|c| c.diff_bytes.to_string());
    row("bytes per agent / diff", &|c| format!("{:.2}", c.bytes_per_agent / c.diff_bytes.max(1) as f64));
    row("server CPU per apply (s, heartbeats and reports included)", &|c| format!("{:.2}", c.cpu_per_apply));
    row("apply report, p50 / p99 per report (ms)", &|c| format!("{} / {}", ms(percentile(&c.reports, 50.0)), ms(percentile(&c.reports, 99.0))));
    row("commit->rollout succeeded (every report recorded; ms, worst round)", &|c| ms(c.settled[c.settled.len() - 1]));
    row("answers refused by agents (delta fallback)", &|c| c.refused.to_string());
    println!("| server peak RSS (VmHWM) | {:.1} MiB | |", hwm as f64 / 1024.0);
    println!("| server RSS per waiting agent | {per_waiting:.1} KiB | |");
    println!(
        "| heartbeats, steady (every 5 s per agent) | {} in {steady_seconds:.0} s = {:.0}/s, p50 {:.1} ms p99 {:.1} ms, {steady_failed} failed | |",
        steady.len(),
        steady.len() as f64 / steady_seconds,
        us_pct(&steady, 50.0),
        us_pct(&steady, 99.0)
    );
    println!(
        "| heartbeat write throughput (burst, 512 in flight) | {} in {burst_seconds:.2} s = {:.0}/s, p99 {:.1} ms, {burst_failed} failed | |",
        burst_latencies.len(),
        burst_latencies.len() as f64 / burst_seconds,
        us_pct(&burst_latencies, 99.0)
    );
    println!("| server CPU per heartbeat (burst) | {:.0} µs | |", burst_cpu * 1e6 / burst_latencies.len().max(1) as f64);
    println!();
    let p99_small = percentile(&small.latencies, 99.0);
    let p99_delta = percentile(&delta.latencies, 99.0);
    println!("p99 commit->all agents (small config): {} ms", p99_small.as_millis());
    println!("p99 commit->all agents (5 MB bundle, one-line change): {} ms", p99_delta.as_millis());

    let max_small = Duration::from_millis(env_or("FLEET_BENCH_MAX_P99_MS", 1000));
    let max_delta = Duration::from_millis(env_or("FLEET_BENCH_MAX_DELTA_P99_MS", 2000));
    let max_rss: u64 = env_or("FLEET_BENCH_MAX_RSS_MIB", 1024);
    assert!(p99_small <= max_small, "small config: p99 {p99_small:?} is above {max_small:?} (FLEET_BENCH_MAX_P99_MS)");
    assert!(p99_delta <= max_delta, "5 MB bundle: p99 {p99_delta:?} is above {max_delta:?} (FLEET_BENCH_MAX_DELTA_P99_MS)");
    assert!(hwm / 1024 <= max_rss, "server peak RSS {} MiB is above {max_rss} MiB (FLEET_BENCH_MAX_RSS_MIB)", hwm / 1024);
    assert_eq!(small.refused + delta.refused, 0, "agents refused answers");
    assert_eq!(steady_failed + burst_failed, 0, "heartbeats failed");
    assert!(
        delta.bytes_per_agent <= 2.0 * delta.diff_bytes as f64,
        "5 MB bundle: {:.0} bytes per agent for a {}-byte diff",
        delta.bytes_per_agent,
        delta.diff_bytes
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: both run once.
    let agents: usize = env_or("FLEET_BENCH_AGENTS", 1000);
    let rounds: usize = env_or("FLEET_BENCH_ROUNDS", 3);
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    // A long-poll and a heartbeat connection per agent at most, plus the server's ends when the
    // limit is shared (it is per process: the server raises its own).
    assert!(limit as usize > agents + 600, "open-file limit {limit} is too low for {agents} agents");
    let database = if std::env::var_os("FLEET_BENCH_DATABASE").is_some() { "PostgreSQL" } else { "SQLite" };
    let heartbeats = if std::env::var("FLEET_BENCH_HEARTBEAT").is_ok_and(|v| v == "agent") { "agent-like heartbeats" } else { "heartbeats with facts only" };
    println!("fleet_scale bench: {agents} agents, {rounds} rounds per case, {database}, {heartbeats}, fd limit {limit}");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(agents, rounds, database));
}
