//! The gate is never stricter than HAProxy: with a `haproxy -c` configured, its verdict decides
//! imports, replaces and commits when the offline check finds errors (issue 10, acceptance 2).

use std::path::PathBuf;
use std::sync::Arc;

use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::{ClusterSettings, EditOp, Error, ManualClock, Store, StoreOptions};

use crate::support::{options, TempDir, T0};

/// `name` acting as an operator (configurations without privileged directives need no more).
fn op(name: &str) -> fleet_core::Actor<'_> {
    fleet_core::Actor::new(name, fleet_core::Role::Operator)
}

/// What the offline check cannot know: which section line 18 belongs to depends on whether
/// HAProxy's environment defines `FLEET_DEBUG_PORT`. Unset (HAProxy 2.6 accepts), `server`
/// belongs to `backend app`; set, to `frontend debug`, which HAProxy refuses. The offline check
/// sees the `frontend debug` header last and calls it an error.
pub(crate) const ENV_DEPENDENT: &str = "\
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend www
    bind 127.0.0.1:18080
    default_backend app

backend app
    balance roundrobin
.if defined(FLEET_DEBUG_PORT)
frontend debug
    bind 127.0.0.1:18081
    default_backend app
.endif
    server s1 127.0.0.1:8080
";

fn haproxy() -> Option<PathBuf> {
    let bin = std::env::var_os("FLEET_HAPROXY_CHECK_BIN")
        .or_else(|| std::env::var_os("FLEET_HAPROXY_BIN"))
        .map_or_else(|| PathBuf::from("/usr/sbin/haproxy"), PathBuf::from);
    bin.exists().then_some(bin).or_else(|| {
        eprintln!("skipped: haproxy is not installed (set FLEET_HAPROXY_BIN)");
        None
    })
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
    let offline = haproxy_parse::check(ENV_DEPENDENT).diagnostics;
    let flagged = offline.iter().find(|d| d.is_error()).cloned();
    eprintln!("offline check on the environment-dependent config: {offline:?}");

    let dir = TempDir::new();
    let (plain, id) = store(&dir, None).await;
    let without = plain.import(op("alice"), id, ENV_DEPENDENT, "v1").await;
    if flagged.is_some() {
        assert!(matches!(without, Err(Error::Invalid { .. })), "without haproxy the offline error refuses: {without:?}");
    }
    plain.close().await;

    let dir = TempDir::new();
    let (s, id) = store(&dir, Some(HaproxyChecker::new(&bin))).await;
    let committed = s.import(op("alice"), id, ENV_DEPENDENT, "v1").await.unwrap();
    assert_eq!(committed.version.number, 1);
    assert_eq!(s.version(id, 1).await.unwrap().text, ENV_DEPENDENT, "stored byte for byte");
    assert!(committed.warnings.iter().all(|d| !d.is_error()), "{:?}", committed.warnings);
    if let Some(flagged) = flagged {
        let warning = committed.warnings.iter().find(|d| d.position == flagged.position).unwrap();
        assert_eq!(warning.message, format!("{} (haproxy -c accepts the configuration)", flagged.message));
    }
    // Whole-text replace and a transaction's commit pass the same gate.
    let replaced = s.replace(op("alice"), id, 1, &ENV_DEPENDENT.replace("roundrobin", "leastconn"), "v2").await.unwrap();
    assert_eq!(replaced.version.number, 2);
    let tx = s.begin("alice", id, 2).await.unwrap();
    s.stage("alice", tx.id, vec![EditOp::ReplaceText { text: ENV_DEPENDENT.into() }]).await.unwrap();
    assert_eq!(s.commit(op("alice"), tx.id, "v3").await.unwrap().version.number, 3);
    s.close().await;
}

#[tokio::test]
async fn haproxy_rejecting_refuses_with_its_diagnostics() {
    let Some(bin) = haproxy() else { return };
    let dir = TempDir::new();
    let (s, id) = store(&dir, Some(HaproxyChecker::new(&bin))).await;
    // Both refuse an unknown keyword (line 13).
    let bad = ENV_DEPENDENT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
    match s.import(op("alice"), id, &bad, "bad").await {
        Err(Error::Invalid { message, diagnostics }) => {
            assert!(message.starts_with("haproxy -c rejected the configuration: first at line 13, column 5: "), "{message}");
            let first = &diagnostics[0];
            assert!(first.is_error() && first.message.starts_with("haproxy: unknown keyword 'frobnicate'"), "{diagnostics:?}");
            assert_eq!((first.position.line, first.position.column), (13, 5));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(s.versions(id).await.unwrap().is_empty());
    s.close().await;

    // The same text HAProxy accepted above, checked by a HAProxy whose environment defines
    // FLEET_DEBUG_PORT: now HAProxy refuses line 18 too, and its verdict still decides.
    let dir = TempDir::new();
    let wrapper = dir.path().join("haproxy-debug-port");
    std::fs::write(&wrapper, format!("#!/bin/sh\nFLEET_DEBUG_PORT=1 exec {} \"$@\"\n", bin.display())).unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (s, id) = store(&dir, Some(HaproxyChecker::new(&wrapper))).await;
    match s.import(op("alice"), id, ENV_DEPENDENT, "v1").await {
        Err(Error::Invalid { diagnostics, .. }) => {
            let first = &diagnostics[0];
            assert!(first.is_error() && first.message.contains("has no backend capability"), "{diagnostics:?}");
            assert_eq!((first.position.line, first.position.column), (18, 5));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    s.close().await;
}
