//! Node truth and drift in the store (issue 17), on SQLite and PostgreSQL: the state follows
//! each agent's own heartbeat interval on the injected clock, drift is kept with its first time
//! and audited once per change.

use fleet_core::monitor::stats::{self, Counters, StatRow, StatsSample, Tier};
use fleet_core::monitor::{DriftFile, DriftReport, NodeState};
use fleet_core::{ClusterSettings, StatsQuery};

use crate::support::{beat, Harness, SAMPLE, T0};

crate::store_tests!(
    node_state_follows_each_agents_interval,
    drift_is_kept_since_its_start_and_audited,
    stats_rates_survive_reloads_and_roll_up,
    a_sample_older_than_the_last_is_not_counted,
    stats_storage_stays_bounded_over_30_days,
);

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

    s.heartbeat(agent, beat(None, Some(2))).await.unwrap();
    let status = s.status(cluster).await.unwrap();
    assert_eq!((status.agents[0].state, status.agents[0].heartbeat_ms), (NodeState::Online, Some(2_000)));
    h.clock.advance(6_000);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Online, "3 intervals of 2 s");
    h.clock.advance(1);
    assert_eq!(s.status(cluster).await.unwrap().agents[0].state, NodeState::Offline);
    // A heartbeat without an interval keeps the stored one.
    s.heartbeat(agent, beat(None, None)).await.unwrap();
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
    // What the agent's drift is after a heartbeat with `report`.
    let record = |report: DriftReport| async move {
        s.heartbeat(agent, fleet_core::wire::Heartbeat { drift: Some(report), ..Default::default() }).await.unwrap();
        s.status(cluster).await.unwrap().agents[0].drift.clone()
    };
    assert_eq!(record(DriftReport::default()).await, None);
    assert!(actions().await.is_empty());

    h.clock.advance(1_000);
    let edited = DriftReport { files: vec![file("-a\n+b\n")], restored: vec![] };
    record(edited.clone()).await;
    h.clock.advance(1_000);
    record(edited).await;
    let drift = s.status(cluster).await.unwrap().agents[0].drift.clone().unwrap();
    assert_eq!(drift.since, T0 + 1_000, "since the first report");
    assert_eq!(drift.files, vec![file("-a\n+b\n")]);
    assert_eq!(actions().await, ["agent.drift"], "one entry for the same files");

    // An agent's oversized diff is bounded by the store too.
    let huge = DriftReport { files: vec![file(&"+x\n".repeat(100_000))], restored: vec![] };
    record(huge).await;
    let stored = s.status(cluster).await.unwrap().agents[0].drift.clone().unwrap();
    assert!(stored.files[0].diff.len() <= fleet_core::monitor::MAX_DRIFT_DIFF_BYTES);
    assert!(stored.files[0].diff.ends_with(fleet_core::monitor::drift::TRUNCATED));

    let enforced = DriftReport { files: vec![], restored: vec![file("-a\n+b\n")] };
    assert_eq!(record(enforced).await, None);
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

fn stat_row(proxy: &str, name: &str, requests: i64) -> StatRow {
    StatRow {
        proxy: proxy.into(),
        name: name.into(),
        status: if name == "FRONTEND" { "OPEN".into() } else { "UP".into() },
        check_status: String::new(),
        scur: 2,
        qcur: 0,
        rtime: 7,
        counters: Counters { sessions: requests, requests, bytes_in: requests * 100, bytes_out: requests * 1_000, hrsp_4xx: 0, hrsp_5xx: 0 },
    }
}

fn sample(pid: i64, requests: i64) -> StatsSample {
    StatsSample { pid: Some(pid), rows: vec![stat_row("fe", "FRONTEND", requests), stat_row("app", "s1", requests / 2)] }
}

async fn stats_rates_survive_reloads_and_roll_up(h: Harness) {
    let s = &h.store;
    let (cluster, agent) = agent(&h).await;
    // 50 requests per 10 s heartbeat = 5/s, for 20 minutes, with a reload (new worker, counters
    // back at 0) after 10 minutes.
    let mut requests = 0;
    for i in 0..120 {
        if i == 60 {
            requests = 0;
        }
        requests += 50;
        let pid = if i < 60 { 100 } else { 200 };
        s.heartbeat(agent, fleet_core::wire::Heartbeat { stats: Some(sample(pid, requests)), ..Default::default() }).await.unwrap();
        h.clock.advance(10_000);
    }
    let q = StatsQuery { from: Some(T0), to: Some(T0 + 1_200_000), step_ms: Some(60_000), proxy: Some("fe".into()), ..StatsQuery::default() };
    let answer = s.stats(cluster, &q).await.unwrap();
    assert_eq!((answer.tier, answer.step_seconds, answer.timestamps.len()), (Tier::Raw, 60, 20));
    assert_eq!(answer.series.len(), 1);
    let fe = &answer.series[0];
    assert_eq!((fe.agent.as_str(), fe.server.as_str(), fe.status.as_str()), ("node-1", "FRONTEND", "OPEN"));
    // The first minute has one sample without a span; every other minute is exactly 5/s,
    // including the one with the reload.
    for (i, rate) in fe.values.request_rate.iter().enumerate().skip(1) {
        assert_eq!(*rate, Some(5.0), "minute {i}: {:?}", fe.values.request_rate);
    }
    assert_eq!(fe.values.bytes_out_rate[5], Some(5_000.0));
    assert_eq!(fe.values.up_ratio[5], Some(1.0));
    // Server rows, filtered by name.
    let s1 = s.stats(cluster, &StatsQuery { proxy: Some("app".into()), server: Some("s1".into()), ..q.clone() }).await.unwrap();
    assert_eq!((s1.series.len(), s1.series[0].values.request_rate[3]), (1, Some(2.5)));

    // Compaction rolls the complete 5 min buckets up, with the same rates.
    h.clock.advance(stats::RAW_KEEP_MS);
    let done = s.compact_stats().await.unwrap();
    assert!(done.rolled >= 8 && done.raw_deleted >= 240, "{done:?}");
    let old = s.stats(cluster, &StatsQuery { step_ms: Some(300_000), ..q.clone() }).await.unwrap();
    assert_eq!(old.series.len(), 1, "{old:?} {done:?}");
    assert_eq!(old.tier, Tier::Rollup);
    assert_eq!(&old.series[0].values.request_rate[1..], &[Some(5.0); 3]);
    assert_eq!(s.compact_stats().await.unwrap().rolled, 0, "each bucket is rolled up once");

    assert!(matches!(s.stats(cluster, &StatsQuery { from: Some(T0), to: Some(T0), ..StatsQuery::default() }).await, Err(fleet_core::Error::Invalid { .. })));
    assert!(matches!(s.stats(987_654, &q).await, Err(fleet_core::Error::NotFound(_))));
}

/// A sample written after a newer one of its series (two requests of one agent stamped in one
/// order and written in the other, the server's clock stepped back) adds nothing, and the next
/// delta is from the newest sample: nothing is counted twice. A sample of the same time again
/// (a retried request) adds nothing either.
async fn a_sample_older_than_the_last_is_not_counted(h: Harness) {
    let s = &h.store;
    let (_, agent) = agent(&h).await;
    let beat = |requests| fleet_core::wire::Heartbeat { stats: Some(sample(100, requests)), ..Default::default() };
    s.heartbeat(agent, beat(100)).await.unwrap();
    h.clock.set(T0 + 20_000);
    s.heartbeat(agent, beat(300)).await.unwrap();
    h.clock.set(T0 + 10_000);
    s.heartbeat(agent, beat(200)).await.unwrap();
    h.clock.set(T0 + 20_000);
    s.heartbeat(agent, beat(300)).await.unwrap();
    h.clock.set(T0 + 30_000);
    s.heartbeat(agent, beat(400)).await.unwrap();

    sqlx::any::install_default_drivers();
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&h.url).await.unwrap();
    let (last_at, last_requests): (i64, i64) =
        sqlx::query_as("SELECT last_at, last_requests FROM stats_series WHERE proxy = 'fe'").fetch_one(&db).await.unwrap();
    assert_eq!((last_at, last_requests), (T0 + 30_000, 400));
    let points: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT p.at, p.requests, p.span_ms FROM stats_points p JOIN stats_series s ON s.id = p.series_id WHERE s.proxy = 'fe' ORDER BY p.at",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(points, [(T0, 0, 0), (T0 + 20_000, 200, 20_000), (T0 + 30_000, 100, 10_000)], "100 -> 300 -> 400, each counted once");
}

/// The README's bound for 100 agents × 200 servers (+ 10 frontends and backends each), bytes.
const README_BOUND_BYTES: f64 = 70e9;

/// Fills one series' raw tier for `count` 10 s buckets from `start`, in one statement.
async fn fill(pool: &sqlx::AnyPool, series: i64, start: i64, count: i64) {
    sqlx::query(
        "WITH RECURSIVE t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < $2) \
         INSERT INTO stats_points (series_id, tier, at, span_ms, up_ms, sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx, scur, qcur, rtime) \
         SELECT CAST($1 AS BIGINT), 0, CAST($3 AS BIGINT) + n * 10000, 10000, 10000, 50, 50, 5000, 50000, 1, 0, 3, 0, 12 FROM t",
    )
    .bind(series)
    .bind(count - 1)
    .bind(start)
    .execute(pool)
    .await
    .unwrap();
}

async fn stats_storage_stays_bounded_over_30_days(h: Harness) {
    let s = &h.store;
    let (cluster, agent) = agent(&h).await;
    s.heartbeat(agent, fleet_core::wire::Heartbeat { stats: Some(sample(1, 0)), ..Default::default() }).await.unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&h.url).await.unwrap();
    let series: Vec<i64> = sqlx::query_scalar("SELECT id FROM stats_series ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(series.len(), 2);
    let day = 24 * 3_600_000;
    let bound = stats::max_points_per_series();
    // 31 days of 10 s heartbeats, a day at a time (the raw rows of a day written in one
    // statement, as the heartbeats would), compacted as the server does.
    for d in 0..31 {
        for id in &series {
            fill(&pool, *id, T0 + d * day + 10_000, 8_640).await;
        }
        h.clock.set(T0 + (d + 1) * day);
        s.heartbeat(agent, fleet_core::wire::Heartbeat { stats: Some(sample(1, 0)), ..Default::default() }).await.unwrap();
        s.compact_stats().await.unwrap();
        for id in &series {
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_points WHERE series_id = $1").bind(id).fetch_one(&pool).await.unwrap();
            assert!(rows <= bound, "day {d}: {rows} points for one series, more than {bound}");
        }
    }
    let now = T0 + 31 * day;
    let oldest: i64 = sqlx::query_scalar("SELECT MIN(at) FROM stats_points WHERE tier = 1").fetch_one(&pool).await.unwrap();
    assert!(oldest >= now - stats::ROLLUP_KEEP_MS, "rollups older than 30 days are gone");
    let oldest_raw: i64 = sqlx::query_scalar("SELECT MIN(at) FROM stats_points WHERE tier = 0").fetch_one(&pool).await.unwrap();
    assert!(oldest_raw >= now - stats::RAW_KEEP_MS, "raw points older than 24 h are gone");
    // Day 10 from the rollup tier: 50 requests per 10 s is 5/s (its second hour: the first
    // holds the day's keep-alive sample, whose span is the whole day before).
    let q = StatsQuery { from: Some(T0 + 10 * day + 3_600_000), to: Some(T0 + 10 * day + 7_200_000), step_ms: Some(3_600_000), proxy: Some("fe".into()), ..StatsQuery::default() };
    let answer = s.stats(cluster, &q).await.unwrap();
    assert_eq!((answer.tier, answer.series[0].values.request_rate.clone()), (Tier::Rollup, vec![Some(5.0)]));

    // Bytes per point as stored (table and its indexes), and what that makes for the fleet.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_points").fetch_one(&pool).await.unwrap();
    let bytes: Option<i64> = if h.url.starts_with("postgres") {
        // What autovacuum leaves for reuse is not data: measure after reclaiming it.
        sqlx::query("VACUUM FULL stats_points").execute(&pool).await.unwrap();
        sqlx::query_scalar("SELECT CAST(pg_total_relation_size('stats_points') AS BIGINT)").fetch_one(&pool).await.ok()
    } else {
        sqlx::query_scalar("SELECT CAST(SUM(pgsize) AS BIGINT) FROM dbstat WHERE name IN ('stats_points', 'sqlite_autoindex_stats_points_1')")
            .fetch_one(&pool)
            .await
            .ok()
    };
    if let Some(bytes) = bytes {
        let per_row = bytes as f64 / rows as f64;
        let fleet = 100.0 * 210.0 * bound as f64 * per_row;
        eprintln!("{rows} points in {bytes} bytes: {per_row:.1} B/point; 100 agents x 210 rows: at most {:.1} GB", fleet / 1e9);
        assert!(fleet < README_BOUND_BYTES, "{fleet} bytes for the fleet");
    }
}
