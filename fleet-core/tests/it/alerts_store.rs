//! Alert evaluation in the store (both databases), with the test clock: a condition held for
//! `for_seconds` fires once and resolves once, whichever of two replicas evaluates; a pending
//! alert whose condition ends is dropped unnotified; events notify once and only after the
//! rule was made; a silenced rule changes state but notifies nothing.

use fleet_core::alerts::NewAlertRule;
use fleet_core::{Actor, AgentReport, ApplyOutcome, Role};

use crate::support::Harness;

crate::store_tests!(alerts_fire_once_resolve_once_across_replicas);

fn rule(value: serde_json::Value) -> NewAlertRule {
    serde_json::from_value(value).unwrap()
}

async fn alerts_fire_once_resolve_once_across_replicas(h: Harness) {
    let pool = h.store.create_pool("admin", "edge", "").await.unwrap();
    let cluster = h.store.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap();
    let version = h.store.import(Actor::new("admin", Role::Admin), cluster.id, "defaults\n    mode http\n", "first").await.unwrap().version.number;
    let (_, secret) = h.store.create_enrolment("admin", cluster.id, "node-a", vec![], 86_400_000).await.unwrap();
    let agent = h.store.enrol(&secret, None, "node-a", serde_json::json!({})).await.unwrap().0;
    // The agent's interval (1 s) comes with its heartbeats.
    h.store.heartbeat(agent.id, None, Some(1)).await.unwrap();
    let offline = h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "offline", "condition": {"kind": "agent_offline"}, "for_seconds": 10}))).await.unwrap();
    let failed = h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "failed", "condition": {"kind": "apply_failed"}}))).await.unwrap();
    assert!(h.store.create_alert_rule("admin", &rule(serde_json::json!({"name": "offline", "condition": {"kind": "apply_failed"}}))).await.is_err(), "a taken name");
    let other = h.replica(9).await;
    let tick_both = || async { (h.store.alert_tick().await.unwrap(), other.alert_tick().await.unwrap()) };

    // A failed apply fires at once (for_seconds 0), notified by exactly one replica.
    h.store.report(agent.id, &AgentReport::failed(version, ApplyOutcome::Rejected, "bad line")).await.unwrap();
    let (a, b) = tick_both().await;
    let fired: Vec<_> = a.iter().chain(&b).filter(|n| n.rule.id == failed.id).collect();
    assert_eq!(fired.len(), 1, "{a:?} {b:?}");
    assert_eq!((fired[0].transition, fired[0].alert.state.as_str()), ("firing", "firing"));
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty(), "nothing new while it lasts");

    // Offline after 3 s without heartbeat: pending, then firing after for_seconds (10 s).
    h.clock.advance(4_000);
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap().len(), 1);
    h.clock.advance(10_000);
    let (a, b) = tick_both().await;
    let fired: Vec<_> = a.iter().chain(&b).collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!((fired[0].rule.id, fired[0].transition), (offline.id, "firing"));
    assert!(fired[0].alert.summary.contains("node-a") && fired[0].alert.summary.contains("offline"), "{:?}", fired[0].alert);

    // The agent comes back and applies: both resolve, once.
    h.store.heartbeat(agent.id, None, None).await.unwrap();
    h.store.report(agent.id, &AgentReport::applied(version)).await.unwrap();
    let (a, b) = tick_both().await;
    let mut resolved: Vec<_> = a.iter().chain(&b).map(|n| (n.rule.id, n.transition)).collect();
    resolved.sort();
    let mut expected = vec![(offline.id, "resolved"), (failed.id, "resolved")];
    expected.sort();
    assert_eq!(resolved, expected);
    assert_eq!(h.store.alerts(Some("open"), 10).await.unwrap(), vec![]);

    // A pending alert whose condition ends is dropped, never notified.
    h.clock.advance(4_000);
    tick_both().await;
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap().len(), 1);
    h.store.heartbeat(agent.id, None, None).await.unwrap();
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(h.store.alerts(Some("pending"), 10).await.unwrap(), vec![]);

    // Silenced: the transition happens, nothing is notified, the alert says so.
    h.store.silence_alert_rule("admin", failed.id, 600).await.unwrap();
    h.store.report(agent.id, &AgentReport::failed(version, ApplyOutcome::ReloadFailed, "reload")).await.unwrap();
    let (a, b) = tick_both().await;
    assert!(a.is_empty() && b.is_empty());
    let firing = h.store.alerts(Some("firing"), 10).await.unwrap();
    assert_eq!((firing.len(), firing[0].silenced, firing[0].notified.as_deref()), (1, true, Some("silenced")));
    assert!(h.store.silence_alert_rule("admin", failed.id, 31 * 86_400).await.is_err(), "at most 30 days");

    // Deleting a rule deletes its alerts.
    h.store.delete_alert_rule("admin", failed.id).await.unwrap();
    assert!(h.store.alerts(None, 100).await.unwrap().iter().all(|a| a.rule_id != failed.id));
    assert!(h.store.alerts(Some("burning"), 10).await.is_err());
}
