//! Whole heartbeats, as fleet-agent sends them, written in batches ([`fleet_core::Store::heartbeat`]):
//! every part of each lands as if it had been written alone, on SQLite and PostgreSQL.

use fleet_core::monitor::stats::{Counters, StatRow, StatsSample};
use fleet_core::monitor::{DriftFile, DriftReport};
use fleet_core::rules::RuleHits;
use fleet_core::secrets::KeyFile;
use fleet_core::vip::{KeepalivedReport, NewVip, NodeInterface};
use fleet_core::wire::{Heartbeat, ServedCertificate};
use fleet_core::{Actor, AuditFilter, Error, Role};

use crate::support::{Harness, TempDir};

crate::store_tests!(whole_heartbeats_at_once_write_every_part, a_heartbeat_the_database_refuses_fails_alone);

const AGENTS: usize = 30;

fn row(proxy: &str, name: &str, requests: i64) -> StatRow {
    StatRow {
        proxy: proxy.into(),
        name: name.into(),
        status: "UP".into(),
        check_status: String::new(),
        scur: 1,
        qcur: 0,
        rtime: 3,
        counters: Counters { requests, sessions: requests, ..Counters::default() },
    }
}

/// Agent `n`'s heartbeat: its facts, a stats sample (a row given twice counts once), the
/// certificates HAProxy serves, a rule's hits, its interfaces (even agents hold the VIP's
/// address) and, for every third agent, a drifted file.
fn whole(n: usize, requests: i64, certificate: &str, tracked: u64) -> Heartbeat {
    let address = if n.is_multiple_of(2) { "198.18.0.50/24" } else { "192.0.2.9/24" };
    let cert = |filename: &str| ServedCertificate { filename: filename.into(), sha1: format!("{n:02x}ab"), serial: "0a".into() };
    Heartbeat {
        facts: Some(serde_json::json!({"n": n})),
        heartbeat_seconds: Some(5),
        stats: Some(StatsSample { pid: Some(7), rows: vec![row("fe", "FRONTEND", requests), row("app", "BACKEND", 1), row("fe", "FRONTEND", 999)] }),
        certificates: Some(vec![cert(certificate), cert(certificate)]),
        rule_hits: Some(vec![RuleHits { rule: "rl".into(), tracked, over_limit: 0, max_rate: 1 }]),
        interfaces: Some(vec![NodeInterface { name: "eth0".into(), up: true, addresses: vec![address.into()] }]),
        drift: Some(DriftReport {
            files: if n.is_multiple_of(3) { vec![DriftFile { path: "haproxy.cfg".into(), diff: "-a\n+b\n".into() }] } else { vec![] },
            restored: vec![],
        }),
        ..Heartbeat::default()
    }
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// 30 agents each send two whole heartbeats at the same moment (a retried request), so that
/// they share batches and an agent can be twice in one: each part ends as the second one left
/// it, and the stats counters carry on from it.
async fn whole_heartbeats_at_once_write_every_part(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let cluster = s.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap().id;
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let (_, secret) = s.create_enrolment("admin", cluster, &format!("n{n:02}"), vec![], 60_000).await.unwrap();
        agents.push(s.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id);
    }
    // The VIP's nodes have reported keepalived (what track_haproxy needs).
    let keepalived: KeepalivedReport = serde_json::from_value(serde_json::json!({"running": true,
        "track_file": "/var/lib/fleet-agent/keepalived/haproxy.track", "notify_fifo": "/var/lib/fleet-agent/keepalived/notify.fifo"}))
    .unwrap();
    for agent in &agents[..2] {
        s.heartbeat(*agent, Heartbeat { keepalived: Some(keepalived.clone()), ..Heartbeat::default() }).await.unwrap();
    }
    let dir = TempDir::new();
    let ring = s.keyring(&KeyFile::new(dir.path().join("secret.key"))).await.unwrap();
    let vip: NewVip = serde_json::from_value(serde_json::json!({"name": "web", "addresses": ["198.18.0.50/24"], "vrid": 51, "interface": "eth0",
        "nodes": [{"agent": "n00", "priority": 150}, {"agent": "n01", "priority": 100}]}))
    .unwrap();
    s.create_vip(Actor::new("admin", Role::Admin), &ring, cluster, &vip).await.unwrap();

    let mut joins = Vec::new();
    for (n, agent) in agents.iter().copied().enumerate() {
        let s = s.clone();
        joins.push(tokio::spawn(async move {
            let (first, second) = tokio::join!(s.heartbeat(agent, whole(n, 10, "/etc/haproxy/a.pem", 1)), s.heartbeat(agent, whole(n, 30, "/etc/haproxy/c.pem", 5)));
            (first.unwrap(), second.unwrap())
        }));
    }
    for join in joins {
        let (first, second) = join.await.unwrap();
        assert_eq!(first, second, "the answer is the cluster's");
    }
    // A sample 10 s later: its deltas are from the second sample's counters.
    h.clock.advance(10_000);
    for agent in &agents {
        s.heartbeat(*agent, Heartbeat { stats: Some(StatsSample { pid: Some(7), rows: vec![row("fe", "FRONTEND", 50)] }), ..Heartbeat::default() }).await.unwrap();
    }

    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&h.url).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM stats_series").await, 2 * AGENTS as i64, "fe and app per agent, the repeated row counts once");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM stats_series WHERE proxy = 'fe' AND last_requests = 50").await, AGENTS as i64);
    let fe_requests = "SELECT CAST(SUM(p.requests) AS BIGINT) FROM stats_points p JOIN stats_series s ON s.id = p.series_id WHERE s.proxy = 'fe'";
    assert_eq!(count(&db, fe_requests).await, 20 * AGENTS as i64, "50 - 30 per agent: nothing counted twice, nothing lost");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM served_certificates WHERE filename = '/etc/haproxy/c.pem'").await, AGENTS as i64);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM served_certificates").await, AGENTS as i64, "each agent's list replaced whole, a file named twice kept once");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM rule_hits WHERE rule = 'rl' AND tracked = 5").await, AGENTS as i64);
    db.close().await;

    let status = s.status(cluster).await.unwrap();
    for agent in &status.agents {
        let n: usize = agent.name[1..].parse().unwrap();
        assert_eq!(agent.facts["n"], n, "{}", agent.name);
        assert_eq!(agent.heartbeat_ms, Some(5_000), "{}", agent.name);
        assert_eq!(agent.interfaces.len(), 1, "{}", agent.name);
        assert_eq!(agent.drift.is_some(), n.is_multiple_of(3), "{}", agent.name);
        assert_eq!(agent.keepalived.is_some(), n < 2, "{}: kept from the first heartbeat", agent.name);
    }
    let mut holders = status.vips[0].holders.clone();
    holders.sort();
    let expected: Vec<String> = (0..AGENTS).filter(|n| n.is_multiple_of(2)).map(|n| format!("n{n:02}")).collect();
    assert_eq!(holders, expected, "the agents whose interfaces carry the address");
    assert_eq!(status.vips[0].transitions.len(), 15, "one acquisition each, though each reported twice");
    let drifts = s.audit_entries(&AuditFilter { cluster_id: Some(cluster), action: Some("agent.drift".into()), limit: 100, ..AuditFilter::default() }).await.unwrap();
    assert_eq!(drifts.len(), AGENTS / 3, "one entry per drifted agent: its second report found the drift already recorded");
}

/// On PostgreSQL a text with a NUL byte is refused: that heartbeat fails, and the ones that
/// shared its batch are written again one by one and succeed. SQLite stores the byte.
async fn a_heartbeat_the_database_refuses_fails_alone(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "prod", "").await.unwrap();
    let cluster = s.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap().id;
    let mut agents = Vec::new();
    for n in 0..20 {
        let (_, secret) = s.create_enrolment("admin", cluster, &format!("n{n:02}"), vec![], 60_000).await.unwrap();
        agents.push(s.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id);
    }
    // Sent at once, so that they share batches.
    let joins: Vec<_> = agents
        .iter()
        .enumerate()
        .map(|(n, agent)| {
            let proxy = if n == 7 { "fe\0" } else { "fe" };
            let beat = Heartbeat {
                facts: Some(serde_json::json!({"beat": n})),
                stats: Some(StatsSample { pid: None, rows: vec![row(proxy, "FRONTEND", 1)] }),
                ..Heartbeat::default()
            };
            let (s, agent) = (s.clone(), *agent);
            tokio::spawn(async move { s.heartbeat(agent, beat).await })
        })
        .collect();
    let postgres = h.url.starts_with("postgres");
    for (n, join) in joins.into_iter().enumerate() {
        match (n, join.await.unwrap()) {
            (7, Err(Error::Storage(_))) if postgres => {}
            (n, Ok(_)) if !(postgres && n == 7) => {}
            (n, other) => panic!("heartbeat {n}: {other:?}"),
        }
    }
    let status = s.status(cluster).await.unwrap();
    let beaten = status.agents.iter().filter(|a| a.facts.get("beat").is_some()).count();
    assert_eq!(beaten, if postgres { 19 } else { 20 }, "every other heartbeat was written");
}

/// On PostgreSQL the tables every heartbeat updates leave half of each page free, so that
/// those updates stay HOT (no new index entries); opening the database again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_tables_leave_room_for_updates_on_postgresql() {
    let Some(h) = crate::support::harness(crate::support::Db::Postgres).await else { return };
    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&h.url).await.unwrap();
    let options = "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = $1";
    for table in ["agents", "served_certificates", "stats_series"] {
        let set: Option<String> = sqlx::query_scalar(options).bind(table).fetch_one(&db).await.unwrap();
        assert_eq!(set.as_deref(), Some("fillfactor=50"), "{table}");
    }
    let untouched: Option<String> = sqlx::query_scalar(options).bind("stats_points").fetch_one(&db).await.unwrap();
    assert_eq!(untouched, None, "points are inserted, not updated");
    let _replica = h.replica(2).await;
    let set: Option<String> = sqlx::query_scalar(options).bind("stats_series").fetch_one(&db).await.unwrap();
    assert_eq!(set.as_deref(), Some("fillfactor=50"));
}
