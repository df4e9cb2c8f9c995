//! The gate is never stricter than HAProxy: with a `haproxy -c` configured, its verdict decides
//! imports, replaces and commits when the offline check finds errors (issue 10, acceptance 2).

use std::sync::Arc;

use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::{ClusterSettings, EditOp, Error, ManualClock, Store, StoreOptions};

use crate::support::{options, TempDir, T0};

/// `name` acting as an operator (configurations without privileged directives need no more).
fn op(name: &str) -> fleet_core::Actor<'_> {
    fleet_core::Actor::new(name, fleet_core::Role::Operator)
}

/// What the offline check cannot know: the files the node's HAProxy loads besides this one.
/// `default_backend api` names a backend defined in another file (`API_FILE`, loaded with
/// `-f` as `haproxy -f haproxy.cfg -f conf.d/` would): the offline check, seeing this text alone,
/// says line 9 names no backend; HAProxy 2.6 with both files accepts it, without the other file
/// refuses it.
pub(crate) const SPLIT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n    default_backend api\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:8080\n";

/// The other file, with its own defaults (HAProxy reads it first).
pub(crate) const API_FILE: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend api\n    server a1 127.0.0.1:8081\n";

use fleet_tests::haproxy_check_bin as haproxy;

/// A checker whose HAProxy also loads `API_FILE`, written into `dir`.
fn checker_with_api_file(bin: &std::path::Path, dir: &TempDir) -> HaproxyChecker {
    let api = dir.path().join("api.cfg");
    std::fs::write(&api, API_FILE).unwrap();
    HaproxyChecker::new(bin).with_args(["-f".to_string(), api.display().to_string()])
}

async fn store(dir: &TempDir, checker: Option<HaproxyChecker>) -> (Store, i64) {
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let options = StoreOptions { haproxy: checker, ..options(Arc::new(ManualClock::new(T0)), 1) };
    let store = Store::open(&url, options).await.unwrap();
    let pool = store.create_pool("admin", "prod", "").await.unwrap();
    let cluster = store.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap();
    (store, cluster.id)
}

#[tokio::test]
async fn haproxy_accepting_overrules_an_offline_error() {
    let Some(bin) = haproxy() else { return };
    let offline = haproxy_parse::check(SPLIT).diagnostics;
    let flagged = offline.iter().find(|d| d.is_error()).cloned().expect("the offline check flags line 9");
    assert_eq!((flagged.position.line, flagged.position.column), (9, 21), "{offline:?}");

    let dir = TempDir::new();
    let (plain, id) = store(&dir, None).await;
    let without = plain.import(op("alice"), id, SPLIT, "v1").await;
    assert!(matches!(without, Err(Error::Invalid { .. })), "without haproxy the offline error refuses: {without:?}");
    plain.close().await;

    let dir = TempDir::new();
    let (s, id) = store(&dir, Some(checker_with_api_file(&bin, &dir))).await;
    let committed = s.import(op("alice"), id, SPLIT, "v1").await.unwrap();
    assert_eq!(committed.version.number, 1);
    assert_eq!(s.version(id, 1).await.unwrap().text, SPLIT, "stored byte for byte");
    assert!(committed.warnings.iter().all(|d| !d.is_error()), "{:?}", committed.warnings);
    let warning = committed.warnings.iter().find(|d| d.position == flagged.position).unwrap();
    assert_eq!(warning.message, format!("{} (haproxy -c accepts the configuration)", flagged.message));
    // Whole-text replace and a transaction's commit pass the same gate.
    let replaced = s.replace(op("alice"), id, 1, &SPLIT.replace("roundrobin", "leastconn"), "v2").await.unwrap();
    assert_eq!(replaced.version.number, 2);
    let tx = s.begin("alice", id, 2).await.unwrap();
    s.stage("alice", tx.id, vec![EditOp::ReplaceText { text: SPLIT.into() }]).await.unwrap();
    assert_eq!(s.commit(op("alice"), tx.id, "v3").await.unwrap().version.number, 3);
    s.close().await;
}

#[tokio::test]
async fn haproxy_rejecting_refuses_with_its_diagnostics() {
    let Some(bin) = haproxy() else { return };
    let dir = TempDir::new();
    let (s, id) = store(&dir, Some(checker_with_api_file(&bin, &dir))).await;
    // Both refuse an unknown keyword (line 13).
    let bad = SPLIT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
    match s.import(op("alice"), id, &bad, "bad").await {
        Err(Error::Invalid { message, diagnostics }) => {
            assert!(message.starts_with("haproxy -c rejected the configuration: first at haproxy.cfg:13:5: "), "{message}");
            let first = &diagnostics[0];
            assert!(first.is_error() && first.message.starts_with("haproxy: unknown keyword 'frobnicate'"), "{diagnostics:?}");
            assert_eq!((first.position.line, first.position.column), (13, 5));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(s.versions(id).await.unwrap().is_empty());
    s.close().await;

    // The same text HAProxy accepted above, checked by a HAProxy that does not load the other
    // file: now HAProxy refuses it too, at the frontend, and its verdict still decides.
    let dir = TempDir::new();
    let (s, id) = store(&dir, Some(HaproxyChecker::new(&bin))).await;
    match s.import(op("alice"), id, SPLIT, "v1").await {
        Err(Error::Invalid { diagnostics, .. }) => {
            let first = &diagnostics[0];
            assert!(first.is_error() && first.message.contains("unable to find required default_backend: 'api'"), "{diagnostics:?}");
            assert_eq!((first.position.line, first.position.column), (7, 10));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    s.close().await;
}
