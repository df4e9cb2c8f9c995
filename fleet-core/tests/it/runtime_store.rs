//! Queued runtime actions on both databases: who sees them, results, expiry, validation.

use fleet_core::runtime::{ActionOutcome, RuntimeRequest, ServerAction, ACTION_TTL_MS};
use fleet_core::{ClusterSettings, Error};

use crate::support::Harness;

crate::store_tests!(actions_reach_each_agent_once, bad_actions_and_foreign_results_are_refused);

async fn cluster(h: &Harness, name: &str) -> i64 {
    let pool = h.store.create_pool("alice", &format!("{name}-pool"), "").await.unwrap();
    h.store.create_cluster("alice", name, pool.id, ClusterSettings::default()).await.unwrap().id
}

async fn agent(h: &Harness, cluster: i64, name: &str) -> i64 {
    let (_, secret) = h.store.create_enrolment("alice", cluster, name, vec![], 60_000).await.unwrap();
    h.store.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id
}

fn drain(server: &str) -> RuntimeRequest {
    RuntimeRequest { backend: "app".into(), server: server.into(), action: ServerAction::Drain, value: None }
}

async fn actions_reach_each_agent_once(h: Harness) {
    let s = &h.store;
    let id = cluster(&h, "rt").await;
    let a1 = agent(&h, id, "n1").await;
    h.clock.advance(10);
    let first = s.queue_runtime_action("alice", id, drain("s1")).await.unwrap();
    h.clock.advance(10);
    let second = s.queue_runtime_action("alice", id, RuntimeRequest { action: ServerAction::Weight, value: Some(5), ..drain("s2") }).await.unwrap();
    // An agent enrolled after an action never replays it.
    h.clock.advance(10);
    let a2 = agent(&h, id, "n2").await;
    let pending: Vec<i64> = s.pending_runtime_actions(a1).await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(pending, vec![first.id, second.id], "oldest first");
    assert!(s.pending_runtime_actions(a2).await.unwrap().is_empty());

    let ok = ActionOutcome { action_id: first.id, ok: true, output: String::new() };
    s.record_runtime_results(a1, std::slice::from_ref(&ok)).await.unwrap();
    // A repeated result is ignored: the first one counts.
    s.record_runtime_results(a1, &[ActionOutcome { ok: false, output: "late".into(), ..ok }]).await.unwrap();
    let pending: Vec<i64> = s.pending_runtime_actions(a1).await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(pending, vec![second.id]);
    let action = s.runtime_action(id, first.id).await.unwrap();
    assert_eq!(action.results.len(), 1);
    assert_eq!((action.results[0].agent.as_str(), action.results[0].ok), ("n1", true));
    assert_eq!(action.request, drain("s1"));

    // Old actions expire for agents that did not run them.
    h.clock.advance(ACTION_TTL_MS + 1);
    assert!(s.pending_runtime_actions(a1).await.unwrap().is_empty());
}

async fn bad_actions_and_foreign_results_are_refused(h: Harness) {
    let s = &h.store;
    let id = cluster(&h, "rt1").await;
    let other = cluster(&h, "rt2").await;
    let stranger = agent(&h, other, "x").await;
    assert!(matches!(
        s.queue_runtime_action("alice", id, RuntimeRequest { action: ServerAction::Weight, value: None, ..drain("s1") }).await,
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(s.queue_runtime_action("alice", id, drain("s1\nshutdown")).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.queue_runtime_action("alice", 12345, drain("s1")).await, Err(Error::NotFound(_))));
    let action = s.queue_runtime_action("alice", id, drain("s1")).await.unwrap();
    let result = ActionOutcome { action_id: action.id, ok: true, output: String::new() };
    assert!(matches!(s.record_runtime_results(stranger, &[result]).await, Err(Error::NotFound(_))));
    assert!(matches!(s.runtime_action(other, action.id).await, Err(Error::NotFound(_))));
}
