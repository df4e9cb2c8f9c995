//! Node truth and drift in the store (issue 17), on SQLite and PostgreSQL: the state follows
//! each agent's own heartbeat interval on the injected clock, drift is kept with its first time
//! and audited once per change.

use fleet_core::monitor::{DriftFile, DriftReport, NodeState};
use fleet_core::ClusterSettings;

use crate::support::{Harness, SAMPLE, T0};

crate::store_tests!(node_state_follows_each_agents_interval, drift_is_kept_since_its_start_and_audited);

async fn agent(h: &Harness) -> (i64, i64) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let id = s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    s.import(fleet_core::Actor::new("alice", fleet_core::Role::Operator), id, SAMPLE, "v1").await.unwrap();
    let (_, secret) = s.create_enrolment("alice", id, "node-1", vec![], 60_000).await.unwrap();
    let (agent, _) = s.enrol(&secret, None, "lb1", serde_json::json!({})).await.unwrap();
    (id, agent.id)
}

async fn node_state_follows_each_agents_interval(h: Harness) {
    let s = &h.store;
    let (cluster, agent) = agent(&h).await;
    // Enrolment counts as seen; no interval reported yet: 5 s assumed.
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Online);
    h.clock.advance(15_001);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Offline);

    s.heartbeat(agent, None, Some(2)).await.unwrap();
    let status = s.status(cluster).await.unwrap();
    assert_eq!((status.agents[0].state, status.agents[0].heartbeat_ms), (NodeState::Online, Some(2_000)));
    h.clock.advance(6_000);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Online, "3 intervals of 2 s");
    h.clock.advance(1);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Offline);
    // A heartbeat without an interval keeps the stored one.
    s.heartbeat(agent, None, None).await.unwrap();
    let json = serde_json::to_value(&s.status(cluster).await.unwrap().agents[0]).unwrap();
    assert_eq!(json["state"], "online");
    assert_eq!(json["heartbeat_ms"], 2_000);
    assert_eq!(json["last_seen_at"], fleet_core::clock::rfc3339(T0 + 21_002), "RFC 3339 in the API");
    assert_eq!(json["drift"], serde_json::Value::Null);
}

async fn drift_is_kept_since_its_start_and_audited(h: Harness) {
    let s = &h.store;
    let (cluster, agent) = agent(&h).await;
    let file = |diff: &str| DriftFile { path: "haproxy.cfg".into(), diff: diff.into() };
    let actions = || async {
        let log = s.audit_log(Some(cluster), 100).await.unwrap();
        log.iter().filter(|e| e.action.starts_with("agent.drift")).map(|e| e.action.clone()).collect::<Vec<_>>()
    };
    assert_eq!(s.record_drift(agent, DriftReport::default()).await.unwrap(), None);
    assert!(actions().await.is_empty());

    h.clock.advance(1_000);
    let edited = DriftReport { files: vec![file("-a\n+b\n")], restored: vec![] };
    s.record_drift(agent, edited.clone()).await.unwrap();
    h.clock.advance(1_000);
    s.record_drift(agent, edited).await.unwrap();
    let drift = s.status(cluster).await.unwrap().agents[0].drift.clone().unwrap();
    assert_eq!(drift.since, T0 + 1_000, "since the first report");
    assert_eq!(drift.files, vec![file("-a\n+b\n")]);
    assert_eq!(actions().await, ["agent.drift"], "one entry for the same files");

    // An agent's oversized diff is bounded by the store too.
    let huge = DriftReport { files: vec![file(&"+x\n".repeat(100_000))], restored: vec![] };
    s.record_drift(agent, huge).await.unwrap();
    let stored = s.status(cluster).await.unwrap().agents[0].drift.clone().unwrap();
    assert!(stored.files[0].diff.len() <= fleet_core::monitor::MAX_DRIFT_DIFF_BYTES);
    assert!(stored.files[0].diff.ends_with(fleet_core::monitor::drift::TRUNCATED));

    let enforced = DriftReport { files: vec![], restored: vec![file("-a\n+b\n")] };
    assert_eq!(s.record_drift(agent, enforced).await.unwrap(), None);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].drift, None);
    let mut got = actions().await;
    got.sort();
    assert_eq!(got, ["agent.drift", "agent.drift.enforce", "agent.drift.resolved"]);
    let log = s.audit_log(Some(cluster), 100).await.unwrap();
    let enforce = log.iter().find(|e| e.action == "agent.drift.enforce").unwrap();
    assert_eq!(enforce.actor, "agent:node-1");
    assert_eq!(enforce.details["restored"][0]["path"], "haproxy.cfg");
    assert_eq!(enforce.details["agent_id"], agent);
}
