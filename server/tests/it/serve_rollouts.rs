//! Staged rollouts over HTTP (both databases), agents played over the agent routes: the pinned
//! apply `{"version","strategy"}` answers `{rollout_id, state, agents:[{name,outcome}]}`; the
//! canary's long-poll gets the new version while the others keep the old one; a reload failure
//! halts the rollout; `?wait=` answers the final per-agent outcome of a good rollout; list,
//! read, pause, resume, abort; a bad strategy is a 422 naming the field; today's body without a
//! strategy still answers `desired_version`. Then the same through `fleet apply --canary ...`
//! and `fleet rollout ls|show|pause|resume|abort`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve_support::{start, Db, Server};

const CONFIG: &str = "frontend web\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 10.0.0.1:80\n";

crate::serve_tests!(staged_apply_halts_on_the_canary_and_waits_for_a_good_version);

async fn told(s: &Server, agent: &str) -> i64 {
    s.get("/api/v1/agent/desired?wait=0", agent).await.expect(200)["version"].as_i64().unwrap()
}

async fn report(s: &Server, agent: &str, version: i64, outcome: &str) {
    s.post("/api/v1/agent/report", agent, json!({"version": version, "outcome": outcome, "error": "cannot bind"})).await.expect(200);
}

async fn healthy(s: &Server, agents: &[String]) {
    for agent in agents {
        let facts = json!({"runtime": {"servers": {"app/s1": {"status": "UP"}}}});
        s.post("/api/v1/agent/heartbeat", agent, json!({"facts": facts, "heartbeat_seconds": 5})).await.expect(200);
    }
}

async fn wait_state(s: &Server, admin: &str, cluster: i64, rollout: &Value, state: &str) -> Value {
    let path = format!("/api/v1/clusters/{cluster}/rollouts/{}", rollout["rollout_id"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let current = s.get(&path, admin).await.expect(200);
        if current["state"] == state {
            return current;
        }
        assert!(Instant::now() < deadline, "not {state}: {current:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn outcomes(rollout: &Value) -> Vec<(String, String)> {
    rollout["agents"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap().to_string(), a["outcome"].as_str().unwrap().to_string())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

async fn staged_apply_halts_on_the_canary_and_waits_for_a_good_version(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let mut agents = Vec::new();
    for name in ["n1", "n2", "n3", "n4"] {
        agents.push(s.agent(&admin, id, name).await);
    }
    s.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, CONFIG).await.expect(201);
    let apply = format!("/api/v1/clusters/{id}/apply");
    // Today's body: every agent at once, answered with the desired version and the rollout.
    let first = s.post(&apply, &admin, json!({"version": 1})).await.expect(200);
    assert_eq!((first["desired_version"].as_i64(), first["state"].as_str(), first["stages"][0]["name"].as_str()), (Some(1), Some("running"), Some("all")));
    healthy(&s, &agents).await;
    for agent in &agents {
        assert_eq!(told(&s, agent).await, 1);
        report(&s, agent, 1, "applied").await;
    }
    wait_state(&s, &admin, id, &first, "succeeded").await;
    s.put_text(&format!("/api/v1/clusters/{id}/config?version=1"), &admin, &CONFIG.replace("10.0.0.1", "10.0.0.9")).await.expect(200);

    // The pinned form: canary 1, then batches of 50%.
    let strategy = json!({"canary": {"agents": 1}, "batches": {"percent": 50}, "max_failures": 0});
    let bad = s.post(&apply, &admin, json!({"version": 2, "strategy": strategy})).await.expect(200);
    assert_eq!(bad["state"], "running");
    assert_eq!(outcomes(&bad), pairs(&[("n1", "applying"), ("n2", "pending"), ("n3", "pending"), ("n4", "pending")]));
    assert_eq!(bad["stages"].as_array().unwrap().iter().map(|s| s["agents"].as_array().unwrap().len()).collect::<Vec<_>>(), [1, 2, 1]);
    let mut seen = Vec::new();
    for agent in &agents {
        seen.push(told(&s, agent).await);
    }
    assert_eq!(seen, [2, 1, 1, 1], "only the canary is told version 2");
    report(&s, &agents[0], 2, "reload_failed").await;
    let halted = wait_state(&s, &admin, id, &bad, "halted").await;
    assert_eq!(outcomes(&halted), pairs(&[("n1", "reload_failed"), ("n2", "pending"), ("n3", "pending"), ("n4", "pending")]));
    assert_eq!(halted["agents"][0]["error"], "cannot bind");
    for agent in &agents[1..] {
        assert_eq!(told(&s, agent).await, 1, "untouched");
    }

    // A good version with ?wait=: the answer is the final outcome of every agent.
    let players: Vec<tokio::task::JoinHandle<()>> = agents
        .iter()
        .map(|agent| {
            let (base, agent) = (s.base.clone(), agent.clone());
            tokio::spawn(async move { play_agent(&base, &agent).await })
        })
        .collect();
    let started = Instant::now();
    let good = s.post(&format!("{apply}?wait=60"), &admin, json!({"version": 2, "strategy": {"canary": {"agents": 1}, "batches": {"percent": 50}}})).await.expect(200);
    assert_eq!(good["state"], "succeeded", "{good:#}");
    assert_eq!(outcomes(&good), pairs(&[("n1", "applied"), ("n2", "applied"), ("n3", "applied"), ("n4", "applied")]));
    assert!(good["stages"].as_array().unwrap().iter().all(|s| s["state"] == "passed"));
    let ends: Vec<i64> = good["stages"].as_array().unwrap().iter().map(|s| s["ended_at"].as_i64().unwrap()).collect();
    let starts: Vec<i64> = good["stages"].as_array().unwrap().iter().map(|s| s["started_at"].as_i64().unwrap()).collect();
    assert!(starts[1] >= ends[0] && starts[2] >= ends[1], "a stage starts after the previous passed: {starts:?} {ends:?}");
    println!("staged rollout of 4 agents (canary 1, batches 50%): succeeded in {} ms", started.elapsed().as_millis());
    for player in players {
        player.abort();
    }

    let rollouts = s.get(&format!("/api/v1/clusters/{id}/rollouts"), &admin).await.expect(200);
    assert_eq!(rollouts.as_array().unwrap().len(), 3);
    assert_eq!(rollouts[0]["rollout_id"], good["rollout_id"]);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/rollouts?limit=1"), &admin).await.expect(200).as_array().unwrap().len(), 1);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/rollouts?limit=0"), &admin).await.expect(200).as_array().unwrap().len(), 1, "clamped");

    // Pause, resume, abort; refusals.
    let next = s.post(&apply, &admin, json!({"version": 1, "strategy": {"batches": {"size": 1}, "on_failure": "rollback"}})).await.expect(200);
    let rid = next["rollout_id"].as_i64().unwrap();
    let base = format!("/api/v1/clusters/{id}/rollouts/{rid}");
    assert_eq!(s.post(&format!("{base}/pause"), &admin, json!({})).await.expect(200)["state"], "paused");
    assert_eq!(s.post(&format!("{base}/pause"), &admin, json!({})).await.status, 409);
    assert_eq!(s.post(&format!("{base}/resume"), &admin, json!({})).await.expect(200)["state"], "running");
    assert_eq!(s.post(&format!("{base}/abort"), &admin, json!({})).await.expect(200)["state"], "aborted");
    assert_eq!(s.post(&format!("{base}/resume"), &admin, json!({})).await.status, 409);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/rollouts/12345"), &admin).await.status, 404);
    let refused = s.post(&apply, &admin, json!({"version": 2, "strategy": {"batches": {"size": 2, "percent": 10}}})).await;
    assert_eq!(refused.status, 422);
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("strategy.batches needs exactly one of size and percent"), "{}", refused.json());
    assert_eq!(s.post(&apply, &admin, json!({"version": 2, "strategy": "some"})).await.status, 422);
    assert_eq!(s.post(&format!("{apply}?wait=3601"), &admin, json!({"version": 2})).await.status, 422);
    assert_eq!(s.post("/api/v1/clusters/424242/apply?wait=3601", &admin, json!({"version": 2})).await.status, 404);

    // The client: a staged apply that waits, then the rollout commands.
    let owned = (s.base.clone(), admin.clone());
    let players: Vec<tokio::task::JoinHandle<()>> = agents
        .iter()
        .map(|agent| {
            let (base, agent) = (s.base.clone(), agent.clone());
            tokio::spawn(async move { play_agent(&base, &agent).await })
        })
        .collect();
    let run = tokio::task::spawn_blocking(move || fleet(&[("FLEET_SERVER", owned.0.as_str()), ("FLEET_TOKEN", owned.1.as_str())], &["apply", "edge", "1", "--canary", "1", "--batch-percent", "50", "--wait", "--timeout", "60"])).await.unwrap();
    assert_eq!(run.0, 0, "{}\n{}", run.1, run.2);
    assert!(run.1.contains("succeeded") && run.1.contains("canary passed, batch 1 passed, batch 2 passed"), "{}", run.1);
    assert!(run.2.contains("n4: applied"), "{}", run.2);
    for player in players {
        player.abort();
    }
    let env = [("FLEET_SERVER", s.base.as_str()), ("FLEET_TOKEN", admin.as_str())];
    let ls = fleet(&env, &["rollout", "ls", "edge"]);
    assert_eq!(ls.0, 0, "{}", ls.2);
    assert_eq!(ls.1.lines().count(), 6, "a header and 5 rollouts: {}", ls.1);
    let started = fleet(&env, &["apply", "edge", "2", "--batch-size", "1", "-o", "json"]);
    assert_eq!(started.0, 0, "{}", started.2);
    let rid = serde_json::from_str::<Value>(&started.1).unwrap()["rollout_id"].to_string();
    assert!(fleet(&env, &["rollout", "pause", "edge", &rid]).1.contains(": paused"));
    assert!(fleet(&env, &["rollout", "resume", "edge"]).1.contains(": running"), "the latest by default");
    let shown = fleet(&env, &["rollout", "show", "edge", &rid, "-o", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&shown.1).unwrap()["stages"].as_array().unwrap().len(), 4);
    assert!(fleet(&env, &["rollout", "abort", "edge"]).1.contains(": aborted"));
    let again = fleet(&env, &["rollout", "abort", "edge"]);
    assert_eq!(again.0, 1, "{}", again.2);
}

/// Plays an agent until aborted: polls its desired state, reports each new version applied,
/// heartbeats with HAProxy up.
async fn play_agent(base: &str, token: &str) {
    let http = reqwest::Client::new();
    let mut known = String::new();
    loop {
        let answer = http.get(format!("{base}/api/v1/agent/desired?wait=1&known={known}")).bearer_auth(token).send().await;
        if let Ok(answer) = answer {
            if answer.status() == 200 {
                let state: Value = answer.json().await.unwrap_or_default();
                known = state["sha256"].as_str().unwrap_or_default().to_string();
                let version = state["version"].as_i64().unwrap_or_default();
                let _ = http.post(format!("{base}/api/v1/agent/report")).bearer_auth(token).json(&json!({"version": version, "outcome": "applied"})).send().await;
            }
        }
        let facts = json!({"runtime": {"servers": {"app/s1": {"status": "UP"}}}});
        let _ = http.post(format!("{base}/api/v1/agent/heartbeat")).bearer_auth(token).json(&json!({"facts": facts, "heartbeat_seconds": 5})).send().await;
    }
}

/// `fleet ARGS` with `env`: (exit code, stdout, stderr).
fn fleet(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let home = crate::support::Scratch::new();
    let output = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .env_remove("FLEET_PASSWORD")
        .env("FLEET_CONFIG_DIR", home.path().join("config"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}
