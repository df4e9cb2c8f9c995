//! Optimistic concurrency under real contention: 8 tasks commit on the same base at once, in one
//! store and across two stores (two server replicas) on one database. Exactly one wins.

use std::sync::Arc;

use fleet_core::{EditOp, Error, Store};
use tokio::sync::Barrier;

use crate::support::{Harness, SAMPLE};

/// `name` acting as an operator (configurations without privileged directives need no more).
fn op(name: &str) -> fleet_core::Actor<'_> {
    fleet_core::Actor::new(name, fleet_core::Role::Operator)
}

crate::store_tests!(eight_concurrent_commits_one_wins, eight_concurrent_replaces_across_two_replicas);

const TASKS: usize = 8;

async fn setup(h: &Harness) -> i64 {
    let pool = h.store.create_pool("admin", "p", "").await.unwrap();
    let id = h.store.create_cluster("admin", "c", pool.id, Default::default()).await.unwrap().id;
    h.store.import(op("admin"), id, SAMPLE, "v1").await.unwrap();
    id
}

fn tally(results: Vec<Result<i64, Error>>) -> (Vec<i64>, usize) {
    let mut won = Vec::new();
    let mut outdated = 0;
    for result in results {
        match result {
            Ok(number) => won.push(number),
            Err(Error::Outdated { base: 1, latest: 2 }) => outdated += 1,
            Err(other) => panic!("a losing commit must be outdated, got {other:?}"),
        }
    }
    (won, outdated)
}

async fn eight_concurrent_commits_one_wins(h: Harness) {
    let id = setup(&h).await;
    let mut transactions = Vec::new();
    for i in 0..TASKS {
        let tx = h.store.begin(&format!("user{i}"), id, 1).await.unwrap();
        let op = EditOp::UpdateServer {
            backend: "app".into(),
            name: "app1".into(),
            address: None,
            weight: Some(i as u32 + 1),
            backup: None,
            disabled: None,
            params: None,
        };
        h.store.stage(&format!("user{i}"), tx.id, vec![op]).await.unwrap();
        transactions.push(tx.id);
    }
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for (i, tx) in transactions.into_iter().enumerate() {
        let (store, barrier) = (h.store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.commit(op(&format!("user{i}")), tx, "race").await.map(|c| c.version.number)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let (won, outdated) = tally(results);
    assert_eq!((won, outdated), (vec![2], TASKS - 1));
    let versions = h.store.versions(id).await.unwrap();
    assert_eq!(versions.len(), 2);
    let open = h.store.open_transactions(id).await.unwrap();
    assert!(open.is_empty(), "losers must be closed: {open:?}");
    let commits = h.store.audit_log(Some(id), 100).await.unwrap().iter().filter(|e| e.action == "transaction.commit").count();
    assert_eq!(commits, 1, "the losers' audit entries were rolled back with them");
}

async fn eight_concurrent_replaces_across_two_replicas(h: Harness) {
    let id = setup(&h).await;
    let replica: Store = h.replica(2).await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let store = if i % 2 == 0 { h.store.clone() } else { replica.clone() };
        let barrier = barrier.clone();
        let text = SAMPLE.replace("maxconn 4096", &format!("maxconn {}", 1000 + i));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.replace(op(&format!("user{i}")), id, 1, &text, "race").await.map(|c| c.version.number)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let (won, outdated) = tally(results);
    assert_eq!((won, outdated), (vec![2], TASKS - 1));
    let latest = replica.latest_version(id).await.unwrap().unwrap();
    assert_eq!(latest.info.number, 2);
    assert_eq!(h.store.versions(id).await.unwrap().len(), 2);
    // The chain goes on from either replica.
    replica.replace(op("x"), id, 2, SAMPLE, "next").await.unwrap();
    assert_eq!(h.store.latest_version(id).await.unwrap().unwrap().info.number, 3);
}
