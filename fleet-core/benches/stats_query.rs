//! The stats history query (issue 17: "a query of 24 h for one server answers in under 50 ms"):
//! a SQLite store holding one agent's frontend, backend and 200 servers with a full day of raw
//! 10 s points and 30 days of 5 min rollups per series (the most retention keeps: 202 series x
//! 17,282 points, ~3.5 million points), then `Store::stats` for one server over the last 24 h at
//! a 10 s step (8,640 steps), and over 30 days at 5 min, median and worst of 20.
//!
//! Exits non-zero when the 24 h query's median takes 50 ms or more.
//!
//! Run: `cargo bench -p fleet-core --bench stats_query` (after `--`: `--servers N`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_core::monitor::stats::{Counters, StatRow, StatsSample, ROLLUP_KEEP_MS, RAW_KEEP_MS};
use fleet_core::{ClusterSettings, ManualClock, StatsQuery, Store, StoreOptions};

const LIMIT: Duration = Duration::from_millis(50);
/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200_000;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("stats_query: {e}");
            ExitCode::from(2)
        }
    }
}

fn servers() -> Result<usize, String> {
    let mut servers = 200;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--servers" {
            servers = args.next().and_then(|v| v.parse().ok()).ok_or("--servers needs a number")?;
        }
    }
    Ok(servers)
}

fn row(proxy: &str, name: &str) -> StatRow {
    StatRow { proxy: proxy.into(), name: name.into(), status: "UP".into(), counters: Counters::default(), ..StatRow::default() }
}

/// Median and worst of `runs` timings.
async fn timings<F: std::future::Future<Output = Result<usize, String>>>(runs: usize, mut f: impl FnMut() -> F) -> Result<(Duration, Duration, usize), String> {
    let mut times = Vec::with_capacity(runs);
    let mut values = 0;
    for _ in 0..runs {
        let start = Instant::now();
        values = f().await?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[runs / 2], times[runs - 1], values))
}

fn run() -> Result<bool, String> {
    let servers = servers()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("fleet-bench-stats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let e = |e: fleet_core::Error| e.to_string();
        let db = dir.join("fleet.db");
        let clock = Arc::new(ManualClock::new(NOW - 1_000));
        let store = Store::open_sqlite(&db, StoreOptions { clock: clock.clone(), ..StoreOptions::default() }).await.map_err(e)?;
        let pool = store.create_pool("bench", "p", "").await.map_err(e)?;
        let cluster = store.create_cluster("bench", "c", pool.id, ClusterSettings::default()).await.map_err(e)?.id;
        let (_, secret) = store.create_enrolment("bench", cluster, "node1", vec![], 60_000).await.map_err(e)?;
        let (agent, _) = store.enrol(&secret, None, "node1", serde_json::json!({})).await.map_err(e)?;
        let mut rows = vec![row("fe", "FRONTEND"), row("app", "BACKEND")];
        rows.extend((0..servers).map(|i| row("app", &format!("s{i}"))));
        let sample = StatsSample { pid: Some(1), rows };
        store.heartbeat(agent.id, fleet_core::wire::Heartbeat { stats: Some(sample), ..Default::default() }).await.map_err(e)?;

        // The points retention keeps, written directly (what 30 days of heartbeats and
        // compaction leave): a day of raw points and 30 days of rollups per series.
        let fill = Instant::now();
        let direct = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.map_err(|e| e.to_string())?;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM stats_series").fetch_all(&direct).await.map_err(|e| e.to_string())?;
        for id in &ids {
            for (tier, step, span) in [(0, 10_000, RAW_KEEP_MS), (1, 300_000, ROLLUP_KEEP_MS)] {
                sqlx::query(
                    "WITH RECURSIVE t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < ?1) \
                     INSERT OR REPLACE INTO stats_points (series_id, tier, at, span_ms, up_ms, sessions, requests, bytes_in, bytes_out, \
                     hrsp_4xx, hrsp_5xx, scur, qcur, rtime) \
                     SELECT ?2, ?3, ?4 + n * ?5, ?5, ?5, 50 + n % 7, 60 + n % 11, 5000 + n, 90000 + n, n % 3, n % 2, n % 40, 0, 12 FROM t",
                )
                .bind(span / step - 1)
                .bind(id)
                .bind(tier)
                .bind(NOW - span)
                .bind(step)
                .execute(&direct)
                .await
                .map_err(|e| e.to_string())?;
            }
        }
        let points: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_points").fetch_one(&direct).await.map_err(|e| e.to_string())?;
        direct.close().await;
        clock.set(NOW);
        println!("stats_query: {} series, {points} points written in {:.1?}", ids.len(), fill.elapsed());

        let day = StatsQuery {
            from: Some(NOW - RAW_KEEP_MS),
            to: Some(NOW),
            step_ms: Some(10_000),
            proxy: Some("app".into()),
            server: Some(format!("s{}", servers / 2)),
        };
        let month = StatsQuery { from: Some(NOW - ROLLUP_KEEP_MS), step_ms: Some(300_000), ..day.clone() };
        let (median, worst, steps) = timings(20, || async {
            let answer = store.stats(cluster, &day).await.map_err(e)?;
            Ok(answer.series[0].values.request_rate.iter().filter(|v| v.is_some()).count())
        })
        .await?;
        println!("stats_query: 24 h of one server at 10 s ({steps} values): median {median:.2?}, worst {worst:.2?}");
        let (m_median, m_worst, m_steps) = timings(20, || async {
            let answer = store.stats(cluster, &month).await.map_err(e)?;
            Ok(answer.series[0].values.request_rate.iter().filter(|v| v.is_some()).count())
        })
        .await?;
        println!("stats_query: 30 days of one server at 5 min ({m_steps} values): median {m_median:.2?}, worst {m_worst:.2?}");
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        println!("stats_query: database file {:.1} MB ({:.1} B per point, everything included)", size as f64 / 1e6, size as f64 / points as f64);
        if steps < 8_000 {
            return Err(format!("only {steps} of 8,640 steps have a value"));
        }
        Ok(median < LIMIT)
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(false) = result {
        eprintln!("stats_query: the 24 h query's median reached {LIMIT:?}");
    }
    result
}
