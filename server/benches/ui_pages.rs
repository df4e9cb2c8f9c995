//! Web UI render times (issue 16: "pages render server-side in under 50 ms for a cluster with a
//! 20,000-backend configuration, and the overview of 1,000 agents in under 100 ms").
//!
//! One `fleet serve` (this build, SQLite in a scratch folder) holds a cluster `big` whose
//! version is a generated 20,000 backends x 10 servers configuration, and 1,000 enrolled agents
//! in 20 other clusters, each having sent a heartbeat with a runtime summary of 50 servers. A
//! session logged in through the login form then reads each page 15 times; the median, p90 and
//! max of each are printed, and the run fails when a median is over its bound (50 ms a page,
//! 100 ms the overview). Times are measured by the client over loopback: they include HTTP.
//!
//! `cargo bench -p fleet-server --bench ui_pages` (the release build of the server takes minutes
//! on two cores; `scripts/suites.d/70-server-load.sh` runs it with `FLEET_SERVER_LOAD_BENCH=1`).
//! FLEET_BENCH_UI_BACKENDS changes the 20,000.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use fleet_tests::{large_config, FleetServe};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

const PASSWORD: &str = "bench-password";

struct Session {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

async fn api_token(client: &reqwest::Client, base: &str) -> String {
    let reply: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["token"].as_str().unwrap().to_string()
}

/// Logs in through the UI's form (the double-submit token, then the session cookie).
async fn ui_session(base: &str) -> Session {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let form = client.get(format!("{base}/ui/login")).send().await.unwrap();
    let login_cookie = form.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let token = login_cookie.split_once('=').unwrap().1.to_string();
    let signed = client
        .post(format!("{base}/ui/login"))
        .header("cookie", &login_cookie)
        .form(&[("csrf", token.as_str()), ("username", "admin"), ("password", PASSWORD), ("next", "/ui/")])
        .send()
        .await
        .unwrap();
    let cookie = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("fleet_session="))
        .expect("a session cookie");
    Session { client, base: base.to_string(), cookie }
}

fn runtime_of(servers: usize) -> Value {
    let servers: serde_json::Map<String, Value> =
        (0..servers).map(|i| (format!("app/s{i:02}"), json!({"status": if i % 10 == 0 { "DOWN" } else { "UP" }, "weight": 1, "sessions": i}))).collect();
    json!({"version": "2.6.12", "proxies": {}, "servers": servers})
}

/// 1,000 agents in 20 clusters, each with one heartbeat carrying a runtime summary.
async fn enrol_agents(client: &reqwest::Client, base: &str, admin: &str, pool: i64) {
    let heartbeat = json!({"facts": {"haproxy_version": "2.6.12", "runtime": runtime_of(50)}});
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..20 {
        let cluster: Value = client
            .post(format!("{base}/api/v1/clusters"))
            .bearer_auth(admin)
            .json(&json!({"name": format!("c{c:02}"), "pool_id": pool}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = cluster["id"].as_i64().unwrap();
        for a in 0..50 {
            let (base, client, admin, heartbeat) = (base.to_string(), client.clone(), admin.to_string(), heartbeat.clone());
            tasks.spawn(async move {
                let enrolment: Value = client
                    .post(format!("{base}/api/v1/clusters/{id}/enrollments"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("n{a:02}")}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let body = json!({"secret": enrolment["secret"], "hostname": "node", "facts": {}});
                let enrolled: Value = client.post(format!("{base}/api/v1/agent/enroll")).json(&body).send().await.unwrap().json().await.unwrap();
                let token = enrolled["token"].as_str().expect("enrolled").to_string();
                let status = client.post(format!("{base}/api/v1/agent/heartbeat")).bearer_auth(&token).json(&heartbeat).send().await.unwrap().status();
                assert!(status.is_success(), "{status}");
            });
            while tasks.len() >= 8 {
                tasks.join_next().await.unwrap().unwrap();
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// Reads `path` `runs` times; returns the sorted times and the last body's size.
async fn time_page(session: &Session, path: &str, runs: usize, must_contain: &str) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let response = session.client.get(format!("{}{path}", session.base)).header("cookie", &session.cookie).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        times.push(started.elapsed());
        assert_eq!(status, 200, "{path}: {}", &text[..text.len().min(500)]);
        assert!(text.contains(must_contain), "{path} lacks {must_contain:?}");
        size = text.len();
    }
    times.sort();
    (times, size)
}

fn main() {
    let backends: usize = std::env::var("FLEET_BENCH_UI_BACKENDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let server = FleetServe::start(Path::new(env!("CARGO_BIN_EXE_fleet")), "127.0.0.1:0", None, PASSWORD, ["--grace-seconds", "1"]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let failures = runtime.block_on(async {
        let base = server.base.clone();
        let client = reqwest::Client::new();
        let admin = api_token(&client, &base).await;
        let pool: Value = client.post(format!("{base}/api/v1/pools")).bearer_auth(&admin).json(&json!({"name": "edge"})).send().await.unwrap().json().await.unwrap();
        let pool = pool["id"].as_i64().unwrap();
        let big: Value = client
            .post(format!("{base}/api/v1/clusters"))
            .bearer_auth(&admin)
            .json(&json!({"name": "big", "pool_id": pool}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let big = big["id"].as_i64().unwrap();
        let text = large_config(backends, 10);
        let lines = text.lines().count();
        let started = Instant::now();
        let status = client.post(format!("{base}/api/v1/clusters/{big}/import")).bearer_auth(&admin).header("content-type", "text/plain").body(text.clone()).send().await.unwrap().status();
        assert!(status.is_success(), "import: {status}");
        let edited = text.replacen("weight 10 ", "weight 11 ", 1);
        let status = client.put(format!("{base}/api/v1/clusters/{big}/config?version=1")).bearer_auth(&admin).header("content-type", "text/plain").body(edited).send().await.unwrap().status();
        assert!(status.is_success(), "replace: {status}");
        eprintln!("cluster big: {backends} backends x 10 servers, {lines} lines, {} MB, 2 versions stored in {:?}", text.len() / 1_000_000, started.elapsed());
        let started = Instant::now();
        enrol_agents(&client, &base, &admin, pool).await;
        eprintln!("1,000 agents in 20 clusters enrolled, each with a heartbeat of 50 servers, in {:?}", started.elapsed());

        let session = ui_session(&base).await;
        let middle = lines / 500 / 2;
        let pages = [
            ("/ui/".to_string(), 100, "1000 agents"),
            ("/ui/clusters/big".to_string(), 50, "data-n=\"500\""),
            (format!("/ui/clusters/big?file=haproxy.cfg&page={middle}"), 50, "data-n="),
            ("/ui/clusters/big/backends".to_string(), 50, "data-server="),
            (format!("/ui/clusters/big/backends?page={}", backends / 50 / 2), 50, "data-server="),
            ("/ui/clusters/big/versions".to_string(), 50, "Compare"),
            ("/ui/clusters/big/diff?from=1&to=2".to_string(), 50, "weight 11"),
            ("/ui/clusters/c07".to_string(), 50, "n49"),
        ];
        let mut failures = Vec::new();
        println!("{:<48} {:>9} {:>9} {:>9} {:>9}  bound", "page", "median", "p90", "max", "KB");
        for (path, bound_ms, must) in &pages {
            // The first read of a version parses it into the document cache; the figures are the
            // steady state an operator clicking around sees.
            time_page(&session, path, 1, must).await;
            let (times, size) = time_page(&session, path, 15, must).await;
            let median = times[times.len() / 2];
            let p90 = times[times.len() * 9 / 10];
            println!("{path:<48} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>9} {bound_ms} ms", ms(median), ms(p90), ms(times[times.len() - 1]), size / 1024);
            if median > Duration::from_millis(*bound_ms) {
                failures.push(format!("{path}: median {median:?} over {bound_ms} ms"));
            }
        }
        failures
    });
    drop(server);
    if !failures.is_empty() {
        eprintln!("ui_pages: {}", failures.join("; "));
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
