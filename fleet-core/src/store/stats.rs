//! Stats history in the database ([`crate::monitor::stats`] decides; this reads and writes):
//! each heartbeat's sample becomes one raw point per row (points of one 10 s bucket add up, as
//! [`stats::merge`] does), compaction rolls complete 5 min buckets up (as [`stats::rollup`]
//! does) and deletes what is past its tier's retention, queries align one tier's points.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::rows::{bind_rows, fetch_in, rows, statements};
use super::heartbeats::Part;
use super::{Backend, Store};
use crate::error::{Error, Result};
use crate::monitor::stats::{self, Counters, Last, Point, RowKind, SeriesValues, StatsAnswer, StatsSample, Tier};

/// The most rows one sample may carry (a bound on what one heartbeat writes).
pub const MAX_SAMPLE_ROWS: usize = 20_000;
/// The most series one query answers (narrow it with `proxy=` and `server=`).
pub const MAX_QUERY_SERIES: usize = 1_000;

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Rollup points written (or rewritten).
    pub rolled: u64,
    /// Raw points deleted (older than 24 h).
    pub raw_deleted: u64,
    /// Rollup points deleted (older than 30 days).
    pub rollup_deleted: u64,
}

/// What a stats query asks (`GET /api/v1/clusters/{id}/stats`), times in Unix ms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    /// Start (default: an hour before `to`).
    pub from: Option<i64>,
    /// End, exclusive (default: now).
    pub to: Option<i64>,
    /// Step, ms (default: about 300 steps).
    pub step_ms: Option<i64>,
    /// Only this proxy.
    pub proxy: Option<String>,
    /// Only this row (`FRONTEND`, `BACKEND` or a server's name).
    pub server: Option<String>,
}

const POINT_COLUMNS: &str = "span_ms, up_ms, sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx, scur, qcur, rtime";

/// The SQL that packs a series' points in a window into one text, `at,span_ms,...;...` (the
/// columns of [`POINT_COLUMNS`] after `at`): decoding 8,640 rows of 12 values one by one through
/// sqlx's `Any` driver costs ~100 ms, one text of them a few ms.
fn packed_points_sql(backend: Backend) -> String {
    let columns = format!("at, {POINT_COLUMNS}");
    let select = "FROM stats_points WHERE series_id = $1 AND tier = $2 AND at >= $3 AND at < $4";
    match backend {
        Backend::Sqlite => {
            let joined = columns.split(", ").collect::<Vec<_>>().join(" || ',' || ");
            format!("SELECT group_concat({joined}, ';') AS points {select}")
        }
        Backend::Postgres => format!("SELECT string_agg(concat_ws(',', {columns}), ';') AS points {select}"),
    }
}

/// The points of a packed text ([`packed_points_sql`]), sorted by time.
fn unpack_points(text: &str) -> Result<Vec<Point>> {
    let mut points = Vec::new();
    for record in text.split(';').filter(|r| !r.is_empty()) {
        let mut values = [0i64; 12];
        let mut fields = record.split(',');
        for value in &mut values {
            *value = fields.next().and_then(|f| f.parse().ok()).ok_or_else(|| Error::Corrupt(format!("stats point {record:?}")))?;
        }
        let [at, span_ms, up_ms, sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx, scur, qcur, rtime] = values;
        points.push(Point { at, span_ms, up_ms, deltas: Counters { sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx }, scur, qcur, rtime });
    }
    points.sort_by_key(|p| p.at);
    Ok(points)
}

/// Refuses a sample of more than [`MAX_SAMPLE_ROWS`] rows (invalid).
pub(super) fn check_sample(sample: &StatsSample) -> Result<()> {
    if sample.rows.len() > MAX_SAMPLE_ROWS {
        return Err(Error::invalid(format!("a stats sample holds at most {MAX_SAMPLE_ROWS} rows")));
    }
    Ok(())
}

/// A stored series as [`known_series_sql`] packs it: id, agent id, proxy, name, then its last
/// sample's time, pid and counters (as [`Counters`] orders them).
type KnownSeries = (i64, i64, String, String, i64, Option<i64>, i64, i64, i64, i64, i64, i64);

/// The SQL that reads the series of the agents `one_of` names ([`super::rows::in_list`]) as
/// one JSON array of [`KnownSeries`]: a batch's 10,000 rows one by one through sqlx's `Any`
/// driver (on SQLite, each a hop from its connection's thread) cost more than writing them.
fn known_series_sql(backend: Backend, one_of: &str) -> String {
    let columns = "id, agent_id, proxy, name, last_at, last_pid, last_sessions, last_requests, last_bytes_in, last_bytes_out, last_hrsp_4xx, last_hrsp_5xx";
    let from = format!("FROM stats_series WHERE agent_id {one_of}");
    match backend {
        Backend::Sqlite => format!("SELECT json_group_array(json_array({columns})) AS series {from}"),
        Backend::Postgres => format!("SELECT CAST(json_agg(json_build_array({columns})) AS TEXT) AS series {from}"),
    }
}

/// A series as a batch leaves it: the last sample's values, to write.
struct Series {
    id: i64,
    /// Not stored yet: its cluster and kind (an `INSERT`; else an `UPDATE`).
    new: Option<(i64, &'static str)>,
    /// Written to by this batch.
    touched: bool,
    status: String,
    check_status: String,
    last: Last,
}

/// Writes the stats `samples` of a batch of heartbeats in `tx`, each taken at its heartbeat's
/// time: per row, the deltas since the series' last sample ([`stats::delta`]: a reload restarts
/// the counters, never a negative rate) added into the raw point of its 10 s bucket
/// ([`stats::merge`]). A row twice in one sample counts once (its first); a sample older than
/// its series' last one is skipped. Statements: one read of the agents' series ([`fetch_in`]),
/// then multi-row statements ([`statements`]) that `INSERT` new series, `UPDATE ... FROM
/// (rows)` known ones and upsert points.
pub(super) async fn write(store: &Store, tx: &mut super::Tx, samples: &[Part<'_, StatsSample>]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let agents = samples.iter().map(|s| s.agent_id);
    let mut series: HashMap<(i64, String, String), Series> = HashMap::new();
    for packed in fetch_in(store.backend(), tx, agents, |one_of| known_series_sql(store.backend(), one_of)).await? {
        let packed: Option<String> = packed.try_get("series")?;
        let rows: Vec<KnownSeries> = serde_json::from_str(packed.as_deref().unwrap_or("[]")).map_err(|e| Error::Corrupt(format!("stats series: {e}")))?;
        for (id, agent_id, proxy, name, at, pid, sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx) in rows {
            let last = Last { at, pid, counters: Counters { sessions, requests, bytes_in, bytes_out, hrsp_4xx, hrsp_5xx } };
            let known = Series { id, new: None, touched: false, status: String::new(), check_status: String::new(), last };
            series.insert((agent_id, proxy, name), known);
        }
    }
    // Points in the order they were first made, merged by (series, bucket).
    let mut points: Vec<(i64, Point)> = Vec::new();
    let mut point_at: HashMap<(i64, i64), usize> = HashMap::new();
    for sample in samples {
        let mut seen = HashSet::new();
        for row in sample.value.rows.iter().filter(|r| seen.insert((&r.proxy, &r.name))) {
            let (entry, known) = match series.entry((sample.agent_id, row.proxy.clone(), row.name.clone())) {
                Entry::Occupied(entry) => (entry.into_mut(), true),
                Entry::Vacant(entry) => (entry.insert(Series {
                    id: store.new_id()?,
                    new: Some((sample.agent.cluster_id, row.kind().as_str())),
                    touched: false,
                    status: String::new(),
                    check_status: String::new(),
                    last: Last { at: 0, pid: None, counters: Counters::default() },
                }), false),
            };
            // A sample older than the series' last one (two requests of an agent written in
            // the other order than they were stamped, the clock stepped back) adds nothing;
            // taking it as the last would count its span again. One of the same time (a
            // retried request) adds nothing either, and the next delta is from it.
            if known && sample.at < entry.last.at {
                continue;
            }
            let point = stats::delta(known.then_some(&entry.last), row, sample.value.pid, sample.at);
            entry.touched = true;
            entry.status.clone_from(&row.status);
            entry.check_status.clone_from(&row.check_status);
            entry.last = Last { at: sample.at, pid: sample.value.pid, counters: row.counters };
            match point_at.entry((entry.id, point.at)) {
                Entry::Occupied(at) => stats::merge(&mut points[*at.get()].1, &point),
                Entry::Vacant(at) => {
                    at.insert(points.len());
                    points.push((entry.id, point));
                }
            }
        }
    }
    // In id order (and points by series and time): SQLite then walks each B-tree once, in
    // order; 1,000 updates at random places of a 100,000-row table took 19 ms, sorted 6 ms.
    let (mut fresh, mut known): (Vec<_>, Vec<_>) = series.iter().filter(|(_, s)| s.touched).partition(|(_, s)| s.new.is_some());
    fresh.sort_unstable_by_key(|(_, s)| s.id);
    known.sort_unstable_by_key(|(_, s)| s.id);
    points.sort_unstable_by_key(|(series_id, p)| (*series_id, p.at));
    let backend = store.backend();
    for chunk in statements(backend, &fresh) {
        let types = ["BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"];
        let sql = format!(
            "INSERT INTO stats_series (id, cluster_id, agent_id, proxy, name, kind, status, check_status, last_at, last_pid, \
             last_sessions, last_requests, last_bytes_in, last_bytes_out, last_hrsp_4xx, last_hrsp_5xx) {}",
            rows(backend, chunk.len(), &types)
        );
        let cells = chunk.iter().map(|((agent_id, proxy, name), s)| {
            let (c, (cluster_id, kind)) = (&s.last.counters, s.new.unwrap_or_default());
            let (id, at, pid, status, check_status) = (s.id, s.last.at, s.last.pid, s.status.as_str(), s.check_status.as_str());
            (id, cluster_id, *agent_id, proxy.as_str(), name.as_str(), kind, status, check_status, at, pid, c.sessions, c.requests, c.bytes_in, c.bytes_out, c.hrsp_4xx, c.hrsp_5xx)
        });
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    for chunk in statements(backend, &known) {
        let types = ["BIGINT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"];
        let sql = format!(
            "UPDATE stats_series SET status = v.column2, check_status = v.column3, last_at = v.column4, last_pid = v.column5, \
             last_sessions = v.column6, last_requests = v.column7, last_bytes_in = v.column8, last_bytes_out = v.column9, \
             last_hrsp_4xx = v.column10, last_hrsp_5xx = v.column11 FROM ({}) AS v WHERE stats_series.id = v.column1",
            rows(backend, chunk.len(), &types)
        );
        let cells = chunk.iter().map(|(_, s)| {
            let c = &s.last.counters;
            (s.id, s.status.as_str(), s.check_status.as_str(), s.last.at, s.last.pid, c.sessions, c.requests, c.bytes_in, c.bytes_out, c.hrsp_4xx, c.hrsp_5xx)
        });
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    let raw = Tier::Raw.code();
    for chunk in statements(backend, &points) {
        let types = ["BIGINT", "SMALLINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"];
        let sql = format!(
            "INSERT INTO stats_points (series_id, tier, at, {POINT_COLUMNS}) {} ON CONFLICT (series_id, tier, at) DO UPDATE SET \
             span_ms = stats_points.span_ms + excluded.span_ms, up_ms = stats_points.up_ms + excluded.up_ms, \
             sessions = stats_points.sessions + excluded.sessions, requests = stats_points.requests + excluded.requests, \
             bytes_in = stats_points.bytes_in + excluded.bytes_in, bytes_out = stats_points.bytes_out + excluded.bytes_out, \
             hrsp_4xx = stats_points.hrsp_4xx + excluded.hrsp_4xx, hrsp_5xx = stats_points.hrsp_5xx + excluded.hrsp_5xx, \
             scur = excluded.scur, qcur = excluded.qcur, rtime = excluded.rtime",
            rows(backend, chunk.len(), &types)
        );
        let cells = chunk.iter().map(|(series_id, p)| {
            let d = &p.deltas;
            (*series_id, raw, p.at, p.span_ms, p.up_ms, d.sessions, d.requests, d.bytes_in, d.bytes_out, d.hrsp_4xx, d.hrsp_5xx, p.scur, p.qcur, p.rtime)
        });
        bind_rows(backend, sqlx::query(&sql), cells.collect())?.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// One compaction pass at now ([`stats::compaction`]): raw points of the complete 5 min
    /// buckets not rolled up yet become rollup points (sums, peaks and the mean rtime, as
    /// [`stats::rollup`]), then raw points older than 24 h, rollup points older than 30 days and
    /// series without a sample for 30 days are deleted. Idempotent: replicas may run it at once.
    pub async fn compact_stats(&self) -> Result<Compacted> {
        let now = self.now();
        let rolled_until: Option<i64> = sqlx::query("SELECT rolled_until FROM stats_compaction WHERE id = 1")
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.try_get("rolled_until"))
            .transpose()?;
        let (from, to, raw_before, rollup_before) = stats::compaction(rolled_until, now);
        let (step, rollup) = (stats::ROLLUP_STEP_MS, Tier::Rollup.code());
        let mut done = Compacted::default();
        let mut tx = self.write_tx().await?;
        if from < to {
            done.rolled = sqlx::query(&format!(
                "INSERT INTO stats_points (series_id, tier, at, {POINT_COLUMNS}) \
                 SELECT series_id, {rollup}, at - (at % {step}), SUM(span_ms), SUM(up_ms), SUM(sessions), SUM(requests), SUM(bytes_in), \
                 SUM(bytes_out), SUM(hrsp_4xx), SUM(hrsp_5xx), MAX(scur), MAX(qcur), CAST(AVG(rtime) AS BIGINT) \
                 FROM stats_points WHERE tier = $1 AND at >= $2 AND at < $3 GROUP BY series_id, at - (at % {step}) \
                 ON CONFLICT (series_id, tier, at) DO UPDATE SET span_ms = excluded.span_ms, up_ms = excluded.up_ms, \
                 sessions = excluded.sessions, requests = excluded.requests, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, \
                 hrsp_4xx = excluded.hrsp_4xx, hrsp_5xx = excluded.hrsp_5xx, scur = excluded.scur, qcur = excluded.qcur, rtime = excluded.rtime"
            ))
            .bind(Tier::Raw.code())
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "INSERT INTO stats_compaction (id, rolled_until) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET rolled_until = excluded.rolled_until",
            )
            .bind(to)
            .execute(&mut *tx)
            .await?;
        }
        // Through the primary key (series_id, tier, at), one range per series.
        let expired = "DELETE FROM stats_points WHERE series_id IN (SELECT id FROM stats_series) AND tier = $1 AND at < $2";
        done.raw_deleted = sqlx::query(expired)
            .bind(Tier::Raw.code())
            .bind(raw_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        done.rollup_deleted = sqlx::query(expired)
            .bind(Tier::Rollup.code())
            .bind(rollup_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM stats_series WHERE last_at < $1").bind(rollup_before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// A cluster's stats history ([`stats::window`] picks the tier and step; [`stats::align`]
    /// aligns each series): [`Error::NotFound`] for an unknown cluster, [`Error::Invalid`] for a
    /// window that is empty, too fine (more than 10,000 steps) or matches more than
    /// [`MAX_QUERY_SERIES`] series.
    pub async fn stats(&self, cluster_id: i64, query: &StatsQuery) -> Result<StatsAnswer> {
        self.cluster(cluster_id).await?;
        let window = stats::window(query.from, query.to, query.step_ms, self.now()).map_err(|e| Error::invalid(e.to_string()))?;
        let filter = "s.cluster_id = $1 AND ($2 = '' OR s.proxy = $2) AND ($3 = '' OR s.name = $3)";
        let (proxy, server) = (query.proxy.clone().unwrap_or_default(), query.server.clone().unwrap_or_default());
        let series = sqlx::query(&format!(
            "SELECT s.id, a.name AS agent, s.proxy, s.name, s.kind, s.status, s.check_status FROM stats_series s \
             JOIN agents a ON a.id = s.agent_id WHERE {filter} ORDER BY a.name, s.proxy, s.kind, s.name"
        ))
        .bind(cluster_id)
        .bind(&proxy)
        .bind(&server)
        .fetch_all(self.pool())
        .await?;
        if series.len() > MAX_QUERY_SERIES {
            return Err(Error::invalid(format!(
                "{} series match: at most {MAX_QUERY_SERIES} per query (narrow it with proxy= and server=)",
                series.len()
            )));
        }
        // One primary-key range per series: (series_id, tier, at).
        let mut points: HashMap<i64, Vec<Point>> = HashMap::new();
        let select = packed_points_sql(self.backend());
        for row in &series {
            let id: i64 = row.try_get("id")?;
            let packed = sqlx::query(&select)
                .bind(id)
                .bind(window.tier.code())
                .bind(window.from)
                .bind(window.to)
                .fetch_one(self.pool())
                .await?;
            let text: Option<String> = packed.try_get("points")?;
            points.insert(id, unpack_points(text.as_deref().unwrap_or(""))?);
        }
        let mut out = Vec::with_capacity(series.len());
        for row in &series {
            let id: i64 = row.try_get("id")?;
            let kind: String = row.try_get("kind")?;
            out.push(SeriesValues {
                agent: row.try_get("agent")?,
                proxy: row.try_get("proxy")?,
                server: row.try_get("name")?,
                kind: RowKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("stats series kind {kind:?}")))?,
                status: row.try_get("status")?,
                check_status: row.try_get("check_status")?,
                values: stats::align(points.get(&id).map_or(&[][..], Vec::as_slice), &window),
            });
        }
        Ok(StatsAnswer {
            tier: window.tier,
            from: window.from,
            to: window.to,
            step_seconds: window.step_ms / 1_000,
            timestamps: window.timestamps(),
            series: out,
        })
    }
}
