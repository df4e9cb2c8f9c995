//! Deleting clusters and pools (refused while agents are enrolled unless forced, nothing left
//! behind) and decommissioning agents (a tombstone answers their token), on SQLite and
//! PostgreSQL.

use fleet_core::alerts::{Condition, NewAlertRule};
use fleet_core::runtime::{RuntimeRequest, ServerAction};
use fleet_core::wire::{CLUSTER_DELETED, DECOMMISSIONED};
use fleet_core::{ClusterSettings, Error};
use sqlx::{Connection, Row};

use crate::support::{Harness, SAMPLE};

crate::store_tests!(forced_cluster_delete_leaves_nothing, pools_go_with_their_clusters_when_forced, decommissioned_tokens_hear_their_tombstone);

fn op(name: &str) -> fleet_core::Actor<'_> {
    fleet_core::Actor::new(name, fleet_core::Role::Operator)
}

/// Rows of `table` where `column` is `id`.
async fn rows(h: &Harness, table: &str, column: &str, id: i64) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&h.url).await.unwrap();
    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1")).bind(id).fetch_one(&mut conn).await.unwrap();
    row.get::<i64, _>("n")
}

/// A cluster in `pool` with a version, an open transaction, a pending enrolment, an enrolled
/// agent `name` (its token returned), a runtime action and an alert rule limited to it.
async fn busy_cluster(h: &Harness, pool: i64, cluster: &str, name: &str) -> (i64, String) {
    let s = &h.store;
    let id = s.create_cluster("admin", cluster, pool, ClusterSettings::default()).await.unwrap().id;
    s.import(op("alice"), id, SAMPLE, "v1").await.unwrap();
    s.apply("alice", id, 1).await.unwrap();
    s.begin("alice", id, 1).await.unwrap();
    s.create_enrolment("alice", id, "spare", vec![], 60_000).await.unwrap();
    let (_, secret) = s.create_enrolment("alice", id, name, vec![], 60_000).await.unwrap();
    let (_, token) = s.enrol(&secret, None, "lb.example", serde_json::json!({})).await.unwrap();
    let request = RuntimeRequest { backend: "app".into(), server: "s1".into(), action: ServerAction::Drain, value: None };
    s.queue_runtime_action("alice", id, request).await.unwrap();
    let rule = NewAlertRule { name: format!("{cluster}-offline"), condition: Condition::AgentOffline, cluster_id: Some(id), for_seconds: 0, channels: Vec::new(), enabled: true };
    s.create_alert_rule("admin", &rule).await.unwrap();
    (id, token)
}

/// Every table that holds rows of a cluster is empty of `id`'s.
async fn nothing_left(h: &Harness, id: i64) {
    for table in ["config_versions", "version_files", "transactions", "enrolments", "agents", "runtime_actions", "vips", "certificates", "certificate_deployments", "stats_series"] {
        assert_eq!(rows(h, table, "cluster_id", id).await, 0, "{table} of cluster {id}");
    }
    let rules = h.store.alert_rules().await.unwrap();
    assert!(rules.iter().all(|r| r.rule.cluster_id != Some(id)), "alert rules bound to cluster {id}: {rules:?}");
}

async fn forced_cluster_delete_leaves_nothing(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let (id, token) = busy_cluster(&h, pool.id, "edge", "web-1").await;
    let fleet_wide = NewAlertRule { name: "any-offline".into(), condition: Condition::AgentOffline, cluster_id: None, for_seconds: 0, channels: Vec::new(), enabled: true };
    s.create_alert_rule("admin", &fleet_wide).await.unwrap();
    let refused = s.delete_cluster("admin", id, false).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Conflict(m) if m.contains("cluster edge still has 1 enrolled agent(s) (web-1)") && m.contains("force=true")),
        "{refused}"
    );
    assert_eq!(s.cluster(id).await.unwrap().name, "edge", "refused: nothing removed");
    assert_eq!(s.agent_by_token(&token).await.unwrap().name, "web-1");

    s.delete_cluster("admin", id, true).await.unwrap();
    assert!(matches!(s.cluster(id).await, Err(Error::NotFound(_))));
    nothing_left(&h, id).await;
    assert_eq!(s.alert_rules().await.unwrap().len(), 1, "the fleet-wide rule stays");
    // The agent's token is revoked: its calls hear the tombstone (HAProxy left running).
    match s.agent_by_token(&token).await {
        Err(Error::Decommissioned(d)) => {
            assert_eq!((d.agent.as_str(), d.cluster_id, d.reason.as_str(), d.stop_haproxy, d.by.as_str()), ("web-1", id, CLUSTER_DELETED, false, "admin"));
        }
        other => panic!("{other:?}"),
    }
    let audit = s.audit_log(Some(id), 50).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "cluster.delete").expect("audited");
    assert_eq!(entry.details["revoked_agents"], serde_json::json!(["web-1"]));
    assert_eq!(entry.details["force"], true);
    // A cluster without agents needs no force.
    let quiet = s.create_cluster("admin", "quiet", pool.id, ClusterSettings::default()).await.unwrap().id;
    s.import(op("alice"), quiet, SAMPLE, "v1").await.unwrap();
    s.delete_cluster("admin", quiet, false).await.unwrap();
    nothing_left(&h, quiet).await;
    assert!(matches!(s.delete_cluster("admin", quiet, true).await, Err(Error::NotFound(_))));
}

async fn pools_go_with_their_clusters_when_forced(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let (a, token_a) = busy_cluster(&h, pool.id, "edge-a", "a-1").await;
    let (b, token_b) = busy_cluster(&h, pool.id, "edge-b", "b-1").await;
    let other = s.create_pool("admin", "other", "").await.unwrap();
    let (kept, token_kept) = busy_cluster(&h, other.id, "elsewhere", "c-1").await;
    let refused = s.delete_pool("admin", pool.id, false).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Conflict(m) if m.contains("pool prod still has 2 cluster(s) (edge-a, edge-b) with 2 enrolled agent(s)")),
        "{refused}"
    );
    s.delete_pool("admin", pool.id, true).await.unwrap();
    assert!(matches!(s.pool_by_id(pool.id).await, Err(Error::NotFound(_))));
    for (id, token) in [(a, &token_a), (b, &token_b)] {
        nothing_left(&h, id).await;
        assert!(matches!(s.agent_by_token(token).await, Err(Error::Decommissioned(d)) if d.reason == CLUSTER_DELETED));
    }
    assert_eq!(rows(&h, "clusters", "pool_id", pool.id).await, 0);
    assert_eq!(rows(&h, "pool_failover", "pool_id", pool.id).await, 0);
    // The other pool is untouched.
    assert_eq!(s.cluster(kept).await.unwrap().name, "elsewhere");
    assert_eq!(s.agent_by_token(&token_kept).await.unwrap().name, "c-1");
    let audit = s.audit_log(None, 100).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "pool.delete").expect("audited");
    assert_eq!(entry.details["clusters"], serde_json::json!(["edge-a", "edge-b"]));
    assert_eq!(audit.iter().filter(|e| e.action == "cluster.delete").count(), 2);
    // An empty pool needs no force.
    let empty = s.create_pool("admin", "empty", "").await.unwrap();
    s.delete_pool("admin", empty.id, false).await.unwrap();
}

async fn decommissioned_tokens_hear_their_tombstone(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let (id, token) = busy_cluster(&h, pool.id, "edge", "web-1").await;
    let (_, secret) = s.create_enrolment("alice", id, "web-2", vec![], 60_000).await.unwrap();
    let (second, token_2) = s.enrol(&secret, None, "lb2.example", serde_json::json!({})).await.unwrap();
    let first = s.agent_by_token(&token).await.unwrap();
    assert!(matches!(s.decommission_agent("admin", id + 1, first.id, true).await, Err(Error::NotFound(_))), "another cluster's agent");

    let done = s.decommission_agent("admin", id, first.id, true).await.unwrap();
    assert_eq!((done.agent.as_str(), done.reason.as_str(), done.stop_haproxy), ("web-1", DECOMMISSIONED, true));
    match s.agent_by_token(&token).await {
        Err(Error::Decommissioned(d)) => assert_eq!(*d, done),
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.decommission_agent("admin", id, first.id, true).await, Err(Error::NotFound(_))), "once");
    let status = s.status(id).await.unwrap();
    assert_eq!(status.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["web-2"]);
    // Without stopping HAProxy.
    let kept = s.decommission_agent("admin", id, second.id, false).await.unwrap();
    assert!(matches!(s.agent_by_token(&token_2).await, Err(Error::Decommissioned(d)) if !d.stop_haproxy && *d == kept));
    assert!(matches!(s.agent_by_token("fg_never-issued").await, Err(Error::Unauthorized)));
    let audit = s.audit_log(Some(id), 50).await.unwrap();
    let entries: Vec<_> = audit.iter().filter(|e| e.action == "agent.decommission").collect();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().any(|e| e.details["name"] == "web-1" && e.details["stop_haproxy"] == true));
    // No agent left: the cluster goes without force; the tombstones stay.
    s.delete_cluster("admin", id, false).await.unwrap();
    assert!(matches!(s.agent_by_token(&token).await, Err(Error::Decommissioned(d)) if d.reason == DECOMMISSIONED));
}
