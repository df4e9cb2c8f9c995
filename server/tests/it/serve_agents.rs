//! Agents over HTTP: enrolment (one-time secret, source networks), the desired-state long-poll
//! (answered at once when stale, within 100 ms of an apply, 304 when the wait ends), reports and
//! heartbeats in the cluster status, and graceful shutdown ending long-polls.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::serve_support::{start, start_on, Db, Server};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(enrolment, long_poll_answers_within_100ms_of_an_apply, deltas_only_to_agents_that_ask, long_polls_share_one_http2_connection, concurrent_heartbeats_are_each_recorded, reports_and_heartbeats);

async fn enroll(s: &Server, secret: &Value) -> crate::serve_support::Reply {
    let body = json!({"secret": secret, "hostname": "node1", "facts": {"haproxy": "2.6"}});
    s.send(s.request(Method::POST, "/api/v1/agent/enroll", None).json(&body)).await
}

async fn enrolment(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let path = format!("/api/v1/clusters/{id}/enrollments");

    let elsewhere = s.post(&path, &admin, json!({"name": "n1", "allowed_cidrs": ["10.0.0.0/8"]})).await.expect(201);
    let command = elsewhere["install_command"].as_str().unwrap();
    let secret = elsewhere["secret"].as_str().unwrap();
    assert!(command.starts_with("fleet-agent --server http://127.0.0.1:"), "{command}");
    assert!(command.contains(&format!("--enroll-secret {secret}")), "{command}");
    let refused = enroll(&s, &elsewhere["secret"]).await;
    assert_eq!(refused.status, 403, "the peer 127.0.0.1 is outside 10.0.0.0/8");

    let here = s.post(&path, &admin, json!({"name": "n1", "allowed_cidrs": ["127.0.0.0/8", "::1/128"]})).await.expect(201);
    let enrolled = enroll(&s, &here["secret"]).await.expect(201);
    assert_eq!(enrolled["cluster_id"], id);
    assert!(enrolled["token"].as_str().unwrap().starts_with("fg_"));
    let again = enroll(&s, &here["secret"]).await;
    assert_eq!(again.status, 401, "a secret works once");
    assert_eq!(enroll(&s, &json!("fe_nope")).await.status, 401);
    let bad_cidr = s.post(&path, &admin, json!({"name": "n2", "allowed_cidrs": ["10.0.0.0/99"]})).await;
    assert_eq!(bad_cidr.status, 422);
}

async fn long_poll_answers_within_100ms_of_an_apply(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "n1").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);

    // Nothing applied yet: the wait ends with 304.
    let started = Instant::now();
    assert_eq!(s.get("/api/v1/agent/desired?wait=1", &agent).await.status, 304);
    assert!(started.elapsed() >= Duration::from_millis(900));

    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    // An agent that knows nothing (or something else) is answered at once.
    let started = Instant::now();
    let v1 = s.get("/api/v1/agent/desired?wait=30", &agent).await.expect(200);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(v1["version"], 1);
    assert_eq!(crate::serve_support::desired_text(&v1), CONFIG);
    let sha1 = v1["sha256"].as_str().unwrap().to_string();
    assert_eq!(s.get(&format!("/api/v1/agent/desired?known={sha1}&wait=1"), &agent).await.status, 304);
    // The agents' routes ignore a parameter they do not know: a newer agent may ask more.
    assert_eq!(s.get(&format!("/api/v1/agent/desired?known={sha1}&wait=1&from_a_newer_agent=1"), &agent).await.status, 304);

    // Several rounds: a waiting agent is answered within 100 ms of each apply.
    let mut known = sha1;
    let mut worst = Duration::ZERO;
    for round in 2..=4 {
        let text = CONFIG.replace("10.0.0.1", &format!("10.0.0.{round}"));
        s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &text).await.expect(201);
        let poll = s.request(Method::GET, &format!("/api/v1/agent/desired?known={known}&wait=30"), Some(&agent)).send();
        let poll = tokio::spawn(async move {
            let response = poll.await.unwrap();
            let at = Instant::now();
            (response.status(), response.json::<Value>().await.unwrap(), at)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!poll.is_finished(), "the long-poll must wait for the apply");
        s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": round})).await.expect(200);
        let applied = Instant::now();
        let (status, state, answered) = poll.await.unwrap();
        eprintln!("round {round}: answered {:?} after the apply returned", answered.saturating_duration_since(applied));
        assert_eq!(status, 200);
        assert_eq!(state["version"], round);
        let latency = answered.saturating_duration_since(applied);
        worst = worst.max(latency);
        known = state["sha256"].as_str().unwrap().to_string();
    }
    eprintln!("worst apply -> long-poll answer: {worst:?}");
    assert!(worst < Duration::from_millis(100), "worst {worst:?}");
}

/// Delta pushes (issue 20): an agent that sends `delta=true` with the digest of a version it
/// runs gets only the changed lines; without `delta` (an older agent), or with a digest the
/// server never made, every file.
async fn deltas_only_to_agents_that_ask(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "n1").await;
    let big: String = (0..2000).map(|i| format!("backend b{i}\n    server s{i} 10.0.{}.{}:80\n", i / 250, i % 250)).collect();
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &big).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    let v1 = s.get("/api/v1/agent/desired?wait=0&delta=true", &agent).await.expect(200);
    assert!(v1.get("delta").is_none(), "no known bundle: every file");
    let base = v1["sha256"].as_str().unwrap().to_string();
    let changed = big.replace("10.0.3.7:80", "10.0.3.8:80");
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &changed).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 2})).await.expect(200);

    let delta = s.get(&format!("/api/v1/agent/desired?known={base}&wait=0&delta=true"), &agent).await.expect(200);
    assert_eq!(delta["version"], 2);
    assert_eq!(delta["files"], json!([]));
    assert_eq!(delta["delta"]["base"], json!(base));
    assert_eq!(delta["delta"]["files"][0]["hunks"], json!([{"at": 1515, "remove": 1, "add": "    server s757 10.0.3.8:80\n"}]));
    let raw = serde_json::to_vec(&delta).unwrap().len();
    assert!(raw < 1000, "{raw} bytes for a one-line change");
    let state: fleet_core::wire::DesiredState = serde_json::from_value(delta).unwrap();
    let v1_state: fleet_core::wire::DesiredState = serde_json::from_value(v1).unwrap();
    let built = state.resolve(Some(&v1_state.bundle().unwrap())).unwrap();
    assert_eq!(built.bundle().unwrap().text(), changed);

    // Older agents (no `delta`), and unknown bases, get every file.
    for query in [format!("known={base}&wait=0"), "known=0000&wait=0&delta=true".to_string()] {
        let whole = s.get(&format!("/api/v1/agent/desired?{query}"), &agent).await.expect(200);
        assert!(whole.get("delta").is_none(), "{query}");
        assert_eq!(crate::serve_support::desired_text(&whole), changed);
    }
}

/// HTTP/2 with prior knowledge (h2c, as a proxy in front speaks it): several agents' long-polls
/// wait at once on one connection and are all answered by one apply.
async fn long_polls_share_one_http2_connection(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    let h2 = reqwest::Client::builder().http2_prior_knowledge().pool_max_idle_per_host(1).build().unwrap();
    let health = h2.get(format!("{}/api/v1/health", s.base)).send().await.unwrap();
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    let mut polls = Vec::new();
    for n in 0..6 {
        let agent = s.agent(&admin, id, &format!("n{n}")).await;
        let poll = h2.get(format!("{}/api/v1/agent/desired?wait=30", s.base)).bearer_auth(agent).send();
        polls.push(tokio::spawn(async move {
            let response = poll.await.unwrap();
            (response.version(), response.status(), response.json::<Value>().await.unwrap())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(polls.iter().all(|p| !p.is_finished()), "nothing applied yet: every long-poll waits");
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    for poll in polls {
        let (version, status, state) = tokio::time::timeout(Duration::from_secs(5), poll).await.unwrap().unwrap();
        assert_eq!((version, status.as_u16(), state["version"].as_i64()), (reqwest::Version::HTTP_2, 200, Some(1)));
    }
}

/// Heartbeats are written in batches (issue 20): 40 agents heartbeating at once are each
/// answered 200 and each recorded with its own facts and interval.
async fn concurrent_heartbeats_are_each_recorded(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let mut agents = Vec::new();
    for n in 0..40 {
        agents.push(s.agent(&admin, id, &format!("n{n}")).await);
    }
    let mut beats = Vec::new();
    for (n, agent) in agents.iter().enumerate() {
        let body = json!({"facts": {"node": n}, "heartbeat_seconds": 2 + n % 3});
        let request = s.request(Method::POST, "/api/v1/agent/heartbeat", Some(agent)).json(&body).send();
        beats.push(tokio::spawn(async move { request.await.unwrap().status().as_u16() }));
    }
    for beat in beats {
        assert_eq!(beat.await.unwrap(), 200);
    }
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    let listed = status["agents"].as_array().unwrap();
    assert_eq!(listed.len(), 40);
    for agent in listed {
        let n: usize = agent["name"].as_str().unwrap()[1..].parse().unwrap();
        assert_eq!(agent["facts"]["node"], json!(n), "{agent}");
        assert_eq!(agent["heartbeat_ms"], json!((2 + n % 3) * 1000), "{agent}");
    }
}

async fn reports_and_heartbeats(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "n1").await;
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    s.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);

    // The answer carries the cluster's drift setting; the status the agent's interval and state.
    let answer = s.post("/api/v1/agent/heartbeat", &agent, json!({"facts": {"haproxy": "2.6.12"}, "heartbeat_seconds": 2})).await.expect(200);
    assert_eq!(answer, json!({"drift": "report", "failover_probe": null}));
    let report = json!({"version": 1, "outcome": "rejected", "error": "[ALERT] parsing [haproxy.cfg:3]"});
    s.post("/api/v1/agent/report", &agent, report).await.expect(200);
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    assert_eq!(status["desired_version"], 1);
    let me = &status["agents"][0];
    assert_eq!(me["name"], "n1");
    assert_eq!(me["last_outcome"], "rejected");
    assert_eq!(me["last_error"], "[ALERT] parsing [haproxy.cfg:3]");
    assert_eq!(me["facts"]["haproxy"], "2.6.12");
    assert!(me["applied_version"].is_null());
    assert_eq!((me["state"].as_str(), me["heartbeat_ms"].as_i64()), (Some("online"), Some(2_000)));
    assert!(me["last_seen_at"].as_str().is_some_and(|t| t.ends_with('Z')), "RFC 3339: {me}");
    assert!(me["drift"].is_null());

    let recorded = s.post("/api/v1/agent/report", &agent, json!({"version": 1, "outcome": "applied"})).await.expect(200);
    assert_eq!((recorded["name"].as_str(), recorded["applied_version"].as_i64(), recorded["last_outcome"].as_str()), (Some("n1"), Some(1), Some("applied")));
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    assert_eq!(status["agents"][0]["applied_version"], 1);

    // `Prefer: return=minimal` (fleet-agent's): recorded alike, answered 204 without the agent.
    let minimal = s
        .request(Method::POST, "/api/v1/agent/report", Some(&agent))
        .header("prefer", "handling=lenient, Return=Minimal")
        .json(&json!({"version": 1, "outcome": "reload_failed", "error": "cannot bind"}))
        .send()
        .await
        .unwrap();
    assert_eq!(minimal.status(), 204);
    assert_eq!(minimal.headers().get("preference-applied").and_then(|v| v.to_str().ok()), Some("return=minimal"));
    assert_eq!(minimal.text().await.unwrap(), "");
    let status = s.get(&format!("/api/v1/clusters/{id}/status"), &admin).await.expect(200);
    assert_eq!((status["agents"][0]["last_outcome"].as_str(), status["agents"][0]["last_error"].as_str()), (Some("reload_failed"), Some("cannot bind")));
    let minimal_unknown = s.request(Method::POST, "/api/v1/agent/report", Some(&agent)).header("prefer", "return=minimal").json(&json!({"version": 9, "outcome": "applied"})).send().await.unwrap();
    assert_eq!(minimal_unknown.status(), 404, "errors are answered as without the preference");
    let unknown = s.post("/api/v1/agent/report", &agent, json!({"version": 9, "outcome": "applied"})).await;
    assert_eq!(unknown.status, 404);
    let bad = s.post("/api/v1/agent/report", &agent, json!({"version": 1, "outcome": "exploded"})).await;
    assert_eq!(bad.status, 422);
}

/// SIGTERM ends waiting long-polls with 304 and the process exits 0 well within its grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits() {
    let mut s = start_on(None, &[]);
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let agent = s.agent(&admin, id, "n1").await;
    let poll = s.request(Method::GET, "/api/v1/agent/desired?wait=60", Some(&agent)).send();
    let poll = tokio::spawn(poll);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let killed = std::process::Command::new("kill").args(["-TERM", &s.process.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let response = poll.await.unwrap().unwrap();
    assert_eq!(response.status(), 304);
    let status = loop {
        if let Some(status) = s.process.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "fleet serve did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "exited after {:?}", started.elapsed());
}

/// Two replicas on one PostgreSQL database: an apply on one answers a long-poll held by the other
/// (LISTEN/NOTIFY), within 100 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_wake_each_others_agents() {
    let Some(a) = start(Db::Postgres).await else { return };
    let b = start_on(a.database.clone(), &[]);
    let admin = a.admin().await;
    let id = a.cluster(&admin, "edge").await;
    let agent = a.agent(&admin, id, "n1").await;
    a.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    a.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 1})).await.expect(200);
    let v1 = b.get("/api/v1/agent/desired?wait=0", &agent).await.expect(200);
    let known = v1["sha256"].as_str().unwrap().to_string();

    a.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, &CONFIG.replace("10.0.0.1", "10.0.0.2")).await.expect(201);
    let poll = b.request(Method::GET, &format!("/api/v1/agent/desired?known={known}&wait=30"), Some(&agent)).send();
    let poll = tokio::spawn(async move {
        let response = poll.await.unwrap();
        let at = Instant::now();
        (response.status(), response.json::<Value>().await.unwrap(), at)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    a.post(&format!("/api/v1/clusters/{id}/apply"), &admin, json!({"version": 2})).await.expect(200);
    let applied = Instant::now();
    let (status, state, answered) = poll.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(state["version"], 2);
    let latency = answered.saturating_duration_since(applied);
    eprintln!("cross-replica apply -> long-poll answer: {latency:?}");
    assert!(latency < Duration::from_millis(100), "{latency:?}");
}
