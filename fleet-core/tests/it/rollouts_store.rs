//! Staged rollouts in the store (both databases) with the test clock and the real driver: a
//! canary then batches of 50% with soak and pause, resumed by a new server (another store on
//! the same database) halfway; a failed canary halts with the other agents told the previous
//! version; the rollback policy sets the desired version back; pause, resume and abort; two
//! replicas ticking together start each stage once.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::rollouts::{AgentOutcome, Driver, RolloutState, StageState, Strategy, StrategySpec, UNHEALTHY_GRACE_MS};
use fleet_core::{Actor, AgentReport, ApplyOutcome, AuditFilter, ClusterSettings, Control, DesiredWatch, Error, Role, Store};

use crate::support::{Harness, SAMPLE};

crate::store_tests!(
    canary_then_batches_soak_pause_and_a_restarted_server_goes_on,
    a_failed_canary_halts_and_rollback_restores_the_previous_version,
    pause_resume_abort_and_two_replicas_start_each_stage_once,
    servers_going_down_in_a_heartbeat_halt_the_soaking_stage,
);

struct Fleet {
    cluster: i64,
    agents: Vec<i64>,
    v1: String,
}

/// A cluster with 4 agents running version 1 and a version 2 committed.
async fn fleet(h: &Harness) -> Fleet {
    let s = &h.store;
    let pool = s.create_pool("alice", "p", "").await.unwrap();
    let cluster = s.create_cluster("alice", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    let mut agents = Vec::new();
    for name in ["n1", "n2", "n3", "n4"] {
        let (_, secret) = s.create_enrolment("alice", cluster, name, vec![], 60_000).await.unwrap();
        agents.push(s.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id);
    }
    let admin = Actor::new("alice", Role::Admin);
    let v1 = s.import(admin, cluster, SAMPLE, "v1").await.unwrap().version.digest;
    s.apply("alice", cluster, 1).await.unwrap();
    for id in &agents {
        s.report(*id, &AgentReport::applied(1)).await.unwrap();
    }
    s.import(admin, cluster, &SAMPLE.replace("app1", "app9"), "v2").await.unwrap();
    Fleet { cluster, agents, v1 }
}

/// Every agent heartbeats with HAProxy answering and its servers up.
async fn beat(s: &Store, agents: &[i64]) {
    let facts = serde_json::json!({"runtime": {"servers": {"app/app1": {"status": "UP"}, "app/app2": {"status": "UP"}}}});
    for id in agents {
        s.heartbeat(*id, crate::support::beat(Some(facts.clone()), Some(5))).await.unwrap();
    }
}

fn strategy(json: &str) -> Strategy {
    serde_json::from_str::<StrategySpec>(json).unwrap().strategy()
}

/// The version agent `id` is told (known: version 1's digest; none: nothing news).
async fn told(watch: &DesiredWatch, cluster: i64, id: i64, v1: &str) -> i64 {
    match watch.wait(cluster, id, Some(v1), Duration::from_millis(20)).await.unwrap() {
        Some(state) => state.version,
        None => 1,
    }
}

async fn canary_then_batches_soak_pause_and_a_restarted_server_goes_on(h: Harness) {
    let f = fleet(&h).await;
    let s = &h.store;
    let watch = Arc::new(DesiredWatch::start(s.clone(), &h.url).await.unwrap());
    let driver = Driver::new(s.clone(), watch.clone());
    let spec = strategy(r#"{"canary":{"agents":1},"batches":{"percent":50,"pause_seconds":5},"soak_seconds":10}"#);
    let (_, rollout) = watch.start_rollout("alice", f.cluster, 2, &spec).await.unwrap();
    assert_eq!(rollout.stages.iter().map(|s| s.agents.clone()).collect::<Vec<_>>(), vec![vec!["n1"], vec!["n2", "n3"], vec!["n4"]]);
    assert_eq!(s.cluster(f.cluster).await.unwrap().desired_version, Some(2));
    let mut seen = Vec::new();
    for id in &f.agents {
        seen.push(told(&watch, f.cluster, *id, &f.v1).await);
    }
    assert_eq!(seen, vec![2, 1, 1, 1], "only the canary is told version 2");

    beat(s, &f.agents).await;
    driver.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().agents[0].outcome, AgentOutcome::Applying);
    s.report(f.agents[0], &AgentReport { outcome: ApplyOutcome::AppliedRuntime, ..AgentReport::applied(2) }).await.unwrap();
    driver.tick().await.unwrap();
    let r = s.rollout(f.cluster, rollout.rollout_id).await.unwrap();
    assert_eq!((r.agents[0].outcome, r.stages[0].soak_started_at), (AgentOutcome::AppliedRuntime, Some(s.now())));
    h.clock.advance(9_000);
    beat(s, &f.agents).await;
    driver.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().stages[0].state, StageState::Started, "still soaking");
    h.clock.advance(1_000);
    driver.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().stages[0].state, StageState::Passed);
    h.clock.advance(4_000);
    driver.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().stages[1].state, StageState::Pending, "pausing");

    // The server stops; another one on the same database goes on where it stood.
    drop(driver);
    drop(watch);
    let s2 = h.replica(2).await;
    let watch = Arc::new(DesiredWatch::start(s2.clone(), &h.url).await.unwrap());
    let driver = Driver::new(s2.clone(), watch.clone());
    h.clock.advance(1_000);
    beat(&s2, &f.agents).await;
    driver.tick().await.unwrap();
    assert_eq!(told(&watch, f.cluster, f.agents[1], &f.v1).await, 2, "batch 1 started after the pause");
    assert_eq!(told(&watch, f.cluster, f.agents[3], &f.v1).await, 1);
    for id in &f.agents[1..3] {
        s2.report(*id, &AgentReport::applied(2)).await.unwrap();
    }
    driver.tick().await.unwrap();
    h.clock.advance(10_000);
    beat(&s2, &f.agents).await;
    driver.tick().await.unwrap();
    h.clock.advance(5_000);
    beat(&s2, &f.agents).await;
    driver.tick().await.unwrap();
    assert_eq!(told(&watch, f.cluster, f.agents[3], &f.v1).await, 2);
    s2.report(f.agents[3], &AgentReport::applied(2)).await.unwrap();
    driver.tick().await.unwrap();
    h.clock.advance(10_000);
    beat(&s2, &f.agents).await;
    driver.tick().await.unwrap();
    let r = s2.rollout(f.cluster, rollout.rollout_id).await.unwrap();
    assert_eq!(r.state, RolloutState::Succeeded);
    assert!(r.agents.iter().all(|a| a.outcome.is_applied()));
    assert_eq!(driver.tick().await.unwrap().looked, 0, "nothing runs any more");
    let log = s2.audit_entries(&AuditFilter { cluster_id: Some(f.cluster), action: Some("rollout.".into()), limit: 200, ..AuditFilter::default() }).await.unwrap();
    let mut actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["rollout.abort", "rollout.stage_passed", "rollout.stage_passed", "rollout.stage_passed", "rollout.stage_started", "rollout.stage_started", "rollout.succeeded"]);
    let listed = s2.rollouts(f.cluster, 10).await.unwrap();
    assert_eq!(listed.len(), 2, "the first apply (all) and this one");
    assert_eq!((listed[0].rollout_id, listed[1].strategy.is_all()), (rollout.rollout_id, true));
}

async fn a_failed_canary_halts_and_rollback_restores_the_previous_version(h: Harness) {
    let f = fleet(&h).await;
    let s = &h.store;
    let watch = Arc::new(DesiredWatch::start(s.clone(), &h.url).await.unwrap());
    let driver = Driver::new(s.clone(), watch.clone());
    beat(s, &f.agents).await;
    let (_, halted) = watch.start_rollout("alice", f.cluster, 2, &strategy(r#"{"canary":{"agents":1},"batches":{"percent":50},"max_failures":0}"#)).await.unwrap();
    s.report(f.agents[0], &AgentReport { outcome: ApplyOutcome::ReloadFailed, error: Some("cannot bind".into()), ..AgentReport::applied(2) }).await.unwrap();
    driver.tick().await.unwrap();
    let r = s.rollout(f.cluster, halted.rollout_id).await.unwrap();
    assert_eq!(r.state, RolloutState::Halted);
    assert!(r.reason.as_deref().unwrap().contains("1 agents failed version 2 (max_failures 0) in stage canary"), "{:?}", r.reason);
    assert_eq!((r.agents[0].outcome, r.agents[0].error.as_deref()), (AgentOutcome::ReloadFailed, Some("cannot bind")));
    assert!(r.agents[1..].iter().all(|a| a.outcome == AgentOutcome::Pending));
    for id in &f.agents[1..] {
        assert_eq!(told(&watch, f.cluster, *id, &f.v1).await, 1, "untouched");
    }
    h.clock.advance(60_000);
    beat(s, &f.agents).await;
    assert_eq!(driver.tick().await.unwrap().looked, 0, "a halted rollout stays halted");
    assert_eq!(s.rollout(f.cluster, halted.rollout_id).await.unwrap().state, RolloutState::Halted);

    // Rollback policy: the canary applies, a batch agent rejects; everyone goes back to 1.
    let (_, rb) = watch.start_rollout("alice", f.cluster, 2, &strategy(r#"{"canary":{"agents":1},"batches":{"size":3},"on_failure":"rollback"}"#)).await.unwrap();
    assert_eq!(rb.previous_version, Some(1), "what the halted rollout's agents not told kept, not its failed version");
    assert_eq!(told(&watch, f.cluster, f.agents[1], &f.v1).await, 1);
    s.report(f.agents[0], &AgentReport::applied(2)).await.unwrap();
    driver.tick().await.unwrap();
    driver.tick().await.unwrap();
    assert_eq!(told(&watch, f.cluster, f.agents[2], &f.v1).await, 2);
    s.report(f.agents[2], &AgentReport { outcome: ApplyOutcome::Rejected, ..AgentReport::applied(2) }).await.unwrap();
    driver.tick().await.unwrap();
    let r = s.rollout(f.cluster, rb.rollout_id).await.unwrap();
    assert_eq!(r.state, RolloutState::RolledBack);
    assert_eq!(r.agents.iter().map(|a| a.outcome).collect::<Vec<_>>(), [AgentOutcome::RolledBack, AgentOutcome::RolledBack, AgentOutcome::Rejected, AgentOutcome::RolledBack]);
    assert_eq!(s.cluster(f.cluster).await.unwrap().desired_version, Some(1));
    let agent0 = watch.wait(f.cluster, f.agents[0], None, Duration::from_millis(20)).await.unwrap().unwrap();
    assert_eq!(agent0.version, 1, "the canary is told version 1 again");
    let log = s.audit_entries(&AuditFilter { cluster_id: Some(f.cluster), action: Some("rollout.rolled_back".into()), limit: 10, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(log.len(), 1);
}

async fn pause_resume_abort_and_two_replicas_start_each_stage_once(h: Harness) {
    let f = fleet(&h).await;
    let s = &h.store;
    let watch = Arc::new(DesiredWatch::start(s.clone(), &h.url).await.unwrap());
    let s2 = h.replica(3).await;
    let watch2 = Arc::new(DesiredWatch::start(s2.clone(), &h.url).await.unwrap());
    let (one, two) = (Driver::new(s.clone(), watch.clone()), Driver::new(s2.clone(), watch2));
    beat(s, &f.agents).await;
    let (_, r) = watch.start_rollout("alice", f.cluster, 2, &strategy(r#"{"batches":{"size":1}}"#)).await.unwrap();
    assert_eq!(r.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["batch 1", "batch 2", "batch 3", "batch 4"]);

    let paused = watch.control_rollout("bob", f.cluster, r.rollout_id, Control::Pause).await.unwrap();
    assert_eq!(paused.state, RolloutState::Paused);
    assert!(matches!(watch.control_rollout("bob", f.cluster, r.rollout_id, Control::Pause).await, Err(Error::Conflict(m)) if m.contains("is paused, not running")));
    s.report(f.agents[0], &AgentReport::applied(2)).await.unwrap();
    one.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, r.rollout_id).await.unwrap().agents[0].outcome, AgentOutcome::Applying, "paused: nothing moves");
    watch.control_rollout("bob", f.cluster, r.rollout_id, Control::Resume).await.unwrap();

    // Both replicas tick together, many times: each stage starts once.
    for id in &f.agents {
        s.report(*id, &AgentReport::applied(2)).await.unwrap();
    }
    for _ in 0..6 {
        let (a, b) = tokio::join!(one.tick(), two.tick());
        a.unwrap();
        b.unwrap();
        if s.rollout(f.cluster, r.rollout_id).await.unwrap().stages[2].state == StageState::Passed {
            break;
        }
    }
    let log = s.audit_entries(&AuditFilter { cluster_id: Some(f.cluster), action: Some("rollout.stage_started".into()), limit: 100, ..AuditFilter::default() }).await.unwrap();
    let r2 = s.rollout(f.cluster, r.rollout_id).await.unwrap();
    let started = r2.stages.iter().filter(|s| s.state != StageState::Pending).count() - 1;
    assert_eq!(log.len(), started, "one audit entry per stage started after the first: {r2:?}");

    let aborted = watch.control_rollout("carol", f.cluster, r.rollout_id, Control::Abort).await;
    match aborted {
        Ok(a) => {
            assert_eq!((a.state, a.reason.as_deref()), (RolloutState::Aborted, Some("aborted by carol")));
            assert!(matches!(watch.control_rollout("bob", f.cluster, r.rollout_id, Control::Abort).await, Err(Error::Conflict(_))));
        }
        Err(e) => assert_eq!(r2.state, RolloutState::Succeeded, "{e}"),
    }
    // A new apply supersedes a running rollout.
    let (_, r3) = watch.start_rollout("alice", f.cluster, 1, &strategy(r#"{"canary":{"agents":1}}"#)).await.unwrap();
    let (_, r4) = watch.start_rollout("alice", f.cluster, 2, &Strategy::default()).await.unwrap();
    let r3 = s.rollout(f.cluster, r3.rollout_id).await.unwrap();
    assert_eq!((r3.state, r3.reason.as_deref()), (RolloutState::Aborted, Some("superseded by the apply of version 2")));
    assert_eq!(r4.state, RolloutState::Running);
    assert!(matches!(s.rollout(f.cluster + 1, r4.rollout_id).await, Err(Error::NotFound(_))));
    assert!(matches!(s.start_rollout("alice", f.cluster, 2, &strategy(r#"{"canary":{"agents":0}}"#)).await, Err(Error::Invalid { message, .. }) if message == "strategy.canary.agents must be at least 1"));
}

/// The health a stage soaks on comes from each heartbeat's facts as written (the summary the
/// heartbeat writer keeps beside them): servers going down halt the stage; an agent whose
/// facts were never summed (enrolled, no heartbeat since) is read from its facts.
async fn servers_going_down_in_a_heartbeat_halt_the_soaking_stage(h: Harness) {
    let f = fleet(&h).await;
    let s = &h.store;
    let watch = Arc::new(DesiredWatch::start(s.clone(), &h.url).await.unwrap());
    let driver = Driver::new(s.clone(), watch.clone());
    beat(s, &f.agents).await;
    let spec = strategy(r#"{"canary":{"agents":1},"batches":{"size":3},"soak_seconds":10,"min_server_up_ratio":0.9}"#);
    let (_, rollout) = watch.start_rollout("alice", f.cluster, 2, &spec).await.unwrap();
    s.report(f.agents[0], &AgentReport::applied(2)).await.unwrap();
    driver.tick().await.unwrap();
    assert!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().stages[0].soak_started_at.is_some(), "soaking");
    h.clock.advance(2_000);
    let half = serde_json::json!({"runtime": {"servers": {"app/app1": {"status": "UP"}, "app/app2": {"status": "DOWN 1/2"}}}});
    s.heartbeat(f.agents[0], crate::support::beat(Some(half.clone()), Some(5))).await.unwrap();
    driver.tick().await.unwrap();
    assert_eq!(s.rollout(f.cluster, rollout.rollout_id).await.unwrap().stages[0].soak_started_at, None, "the soak starts again");
    h.clock.advance(UNHEALTHY_GRACE_MS);
    s.heartbeat(f.agents[0], crate::support::beat(Some(half), Some(5))).await.unwrap();
    driver.tick().await.unwrap();
    let r = s.rollout(f.cluster, rollout.rollout_id).await.unwrap();
    assert_eq!((r.state, r.agents[0].outcome), (RolloutState::Halted, AgentOutcome::Unhealthy), "{:?}", r.reason);
    assert_eq!(r.agents[0].error.as_deref(), Some("50% of its servers are up, below 90%"));

    // Facts without a summary (written by an enrolment): read from the facts themselves.
    let (_, secret) = s.create_enrolment("alice", f.cluster, "n1", vec![], 60_000).await.unwrap();
    s.enrol(&secret, None, "host", serde_json::json!({"runtime": {"servers": {"app/app1": {"status": "UP"}}}})).await.unwrap();
    let (_, again) = watch.start_rollout("alice", f.cluster, 2, &spec).await.unwrap();
    s.report(f.agents[0], &AgentReport::applied(2)).await.unwrap();
    driver.tick().await.unwrap();
    h.clock.advance(10_000);
    driver.tick().await.unwrap();
    let r = s.rollout(f.cluster, again.rollout_id).await.unwrap();
    assert_eq!((r.state, r.stages[0].state), (RolloutState::Running, StageState::Passed), "{:?}", r.reason);
}
