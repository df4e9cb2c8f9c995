//! Load benchmark: N simulated agents (default 1,000) long-poll one `fleet serve` on loopback;
//! one apply must reach every one of them. Prints p50/p99/max from the apply to each agent's
//! answer, and the server's peak resident memory (VmHWM).
//!
//! `cargo bench -p fleet-server --bench long_poll` (env: FLEET_BENCH_AGENTS, FLEET_BENCH_ROUNDS,
//! FLEET_BENCH_MAX_P99_MS: the run fails when the p99 over all rounds is above it, default 1000;
//! FLEET_BENCH_DATABASE: an empty PostgreSQL database URL to run on instead of SQLite).
//! The server runs on SQLite in a scratch folder by default. Every agent is enrolled for real and holds its
//! own keep-alive connection (one shared client whose pool keeps up to N idle connections), so
//! each round is N concurrent long-polls on N connections, not a connection per request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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
    let dir = std::env::temp_dir().join(format!("fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleet"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(&dir);
    if let Ok(url) = std::env::var("FLEET_BENCH_DATABASE") {
        command.args(["--database", &url]);
    }
    let mut child = command
        .env("FLEET_ADMIN_PASSWORD", "bench-password")
        .env("RUST_LOG", "warn")
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

fn config(round: usize) -> String {
    let mut text = String::from(
        "global\n    maxconn 20000\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    balance roundrobin\n",
    );
    for i in 0..50 {
        text.push_str(&format!("    server s{i} 10.0.{round}.{i}:80 check weight {}\n", 1 + i % 10));
    }
    text
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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

async fn run(agents: usize, rounds: usize, max_p99: Duration) {
    let server = start();
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(agents + 16)
        .pool_idle_timeout(Duration::from_secs(300))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "bench-password"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let admin = login["token"].as_str().unwrap().to_string();
    let post = reqwest::Method::POST;
    let pool = call(&client, post.clone(), format!("{base}/api/v1/pools"), &admin, Some(json!({"name": "bench"}))).await;
    let cluster = call(&client, post.clone(), format!("{base}/api/v1/clusters"), &admin, Some(json!({"name": "bench", "pool_id": pool["id"]}))).await;
    let id = cluster["id"].as_i64().unwrap();
    let import = |round: usize| {
        client
            .post(format!("{base}/api/v1/clusters/{id}/import"))
            .bearer_auth(&admin)
            .header("content-type", "text/plain")
            .body(config(round))
            .send()
    };
    import(0).await.unwrap().error_for_status().unwrap();
    call(&client, post.clone(), format!("{base}/api/v1/clusters/{id}/apply"), &admin, Some(json!({"version": 1}))).await;

    // Enrol every agent for real (a few at a time).
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
    let tokens = Arc::new(tokens);

    // Every agent learns version 1 first.
    let mut known = Vec::with_capacity(agents);
    for token in tokens.iter() {
        let state = call(&client, reqwest::Method::GET, format!("{base}/api/v1/agent/desired?wait=0"), token, None).await;
        known.push(state["sha256"].as_str().unwrap().to_string());
    }

    let mut all = Vec::new();
    for round in 1..=rounds {
        import(round).await.unwrap().error_for_status().unwrap();
        let mut polls = Vec::with_capacity(agents);
        for (token, sha) in tokens.iter().zip(&known) {
            let url = format!("{base}/api/v1/agent/desired?known={sha}&wait=60");
            let request = client.get(url).bearer_auth(token).send();
            polls.push(tokio::spawn(async move {
                let response = request.await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                (status, body, Instant::now())
            }));
        }
        // Wait until the server holds every long-poll.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
            let connected = metrics
                .lines()
                .find_map(|l| l.strip_prefix("fleet_agents_connected "))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if connected >= agents {
                break;
            }
            assert!(Instant::now() < deadline, "only {connected} of {agents} agents connected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let applied_at = Instant::now();
        call(&client, post.clone(), format!("{base}/api/v1/clusters/{id}/apply"), &admin, Some(json!({"version": round + 1}))).await;
        let apply_returned = applied_at.elapsed();
        let mut latencies = Vec::with_capacity(agents);
        known.clear();
        for poll in polls {
            let (status, body, at) = poll.await.unwrap();
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["version"].as_i64(), Some(round as i64 + 1));
            latencies.push(at.duration_since(applied_at));
            known.push(body["sha256"].as_str().unwrap().to_string());
        }
        latencies.sort();
        println!(
            "round {round}: apply returned in {apply_returned:.1?}; {agents} agents answered: p50 {:.1?}  p99 {:.1?}  max {:.1?}",
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies[latencies.len() - 1]
        );
        all.extend(latencies);
    }
    all.sort();
    println!(
        "all rounds ({} answers): p50 {:.1?}  p99 {:.1?}  max {:.1?}",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all[all.len() - 1]
    );
    match vm_hwm_kib(server.child.id()) {
        Some(kib) => println!("server peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak RSS: /proc not readable"),
    }
    let p99 = percentile(&all, 99.0);
    assert!(p99 <= max_p99, "p99 {p99:?} is above the limit {max_p99:?} (FLEET_BENCH_MAX_P99_MS)");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: both run once.
    let agents: usize = std::env::var("FLEET_BENCH_AGENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rounds: usize = std::env::var("FLEET_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let max_p99 = std::env::var("FLEET_BENCH_MAX_P99_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    assert!(limit as usize > agents + 200, "open-file limit {limit} is too low for {agents} agents");
    let database = if std::env::var_os("FLEET_BENCH_DATABASE").is_some() { "PostgreSQL" } else { "SQLite" };
    println!("long_poll bench: {agents} agents, {rounds} rounds, {database}, fd limit {limit}");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(agents, rounds, Duration::from_millis(max_p99)));
}
