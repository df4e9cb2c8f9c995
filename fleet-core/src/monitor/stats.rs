//! Stats history: HAProxy's `show stat` rows from every heartbeat, turned into time series with
//! rates computed from counters, downsampled and kept for a bounded time.
//!
//! ```text
//! agent: show info + show stat -> StatsSample {pid, rows}           (once per raw bucket:
//!           sample_due())
//! server: previous counters + row -> Point (deltas over span_ms)    delta(): a reload (another
//!           worker pid, or a counter going down) restarts the counters from 0: the delta is the
//!           new counter, never negative
//!         -> raw tier: 10 s buckets (points of one bucket add up), kept 24 h
//!         -> rollup tier: 5 min buckets rolled up from the raw tier, kept 30 days
//! query:  points of one tier -> align(from, to, step) -> one value per step per series:
//!           rates = Σ deltas / Σ span (per second), gauges = the last (scur, qcur) or the
//!           mean (rtime), up_ratio = Σ up_ms / Σ span
//! ```
//!
//! Storage per series is bounded by construction: at most [`RAW_POINTS`] raw points and
//! [`ROLLUP_POINTS`] rollup points (see [`max_points_per_series`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The raw tier's bucket: 10 s.
pub const RAW_STEP_MS: i64 = 10_000;
/// How long raw points are kept: 24 h.
pub const RAW_KEEP_MS: i64 = 24 * 3_600_000;
/// The rollup tier's bucket: 5 min.
pub const ROLLUP_STEP_MS: i64 = 300_000;
/// How long rollup points are kept: 30 days.
pub const ROLLUP_KEEP_MS: i64 = 30 * 24 * 3_600_000;
/// Raw points one series holds at most (one per bucket of the kept window, plus the current).
pub const RAW_POINTS: i64 = RAW_KEEP_MS / RAW_STEP_MS + 1;
/// Rollup points one series holds at most.
pub const ROLLUP_POINTS: i64 = ROLLUP_KEEP_MS / ROLLUP_STEP_MS + 1;
/// The most steps a query answers per series.
pub const MAX_STEPS: i64 = 10_000;

/// The most points one series can hold in the store: [`RAW_POINTS`] + [`ROLLUP_POINTS`].
pub fn max_points_per_series() -> i64 {
    RAW_POINTS + ROLLUP_POINTS
}

/// What a `show stat` row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// `svname` FRONTEND (`type` 0).
    Frontend,
    /// `svname` BACKEND (`type` 1).
    Backend,
    /// A server (`type` 2).
    Server,
}

impl RowKind {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Frontend => "frontend",
            RowKind::Backend => "backend",
            RowKind::Server => "server",
        }
    }

    /// The kind named `name` ([`RowKind::as_str`]).
    pub fn parse(name: &str) -> Option<RowKind> {
        match name {
            "frontend" => Some(RowKind::Frontend),
            "backend" => Some(RowKind::Backend),
            "server" => Some(RowKind::Server),
            _ => None,
        }
    }
}

/// HAProxy's cumulative counters of a row (management.txt §9.1 field names in brackets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counters {
    /// Sessions (`stot`).
    pub sessions: i64,
    /// HTTP requests: `req_tot` for frontends and backends; for servers (which have none) the
    /// HTTP responses they gave (`hrsp_1xx` .. `hrsp_5xx` + `hrsp_other`).
    pub requests: i64,
    /// Bytes in (`bin`).
    pub bytes_in: i64,
    /// Bytes out (`bout`).
    pub bytes_out: i64,
    /// 4xx responses (`hrsp_4xx`).
    pub hrsp_4xx: i64,
    /// 5xx responses (`hrsp_5xx`).
    pub hrsp_5xx: i64,
}

impl Counters {
    fn fields(&self) -> [i64; 6] {
        [self.sessions, self.requests, self.bytes_in, self.bytes_out, self.hrsp_4xx, self.hrsp_5xx]
    }

    /// `self - earlier`, or `self` when any counter went down (the counters restarted at 0).
    fn since(&self, earlier: &Counters) -> Counters {
        if self.fields().iter().zip(earlier.fields()).any(|(now, before)| *now < before) {
            return *self;
        }
        Counters {
            sessions: self.sessions - earlier.sessions,
            requests: self.requests - earlier.requests,
            bytes_in: self.bytes_in - earlier.bytes_in,
            bytes_out: self.bytes_out - earlier.bytes_out,
            hrsp_4xx: self.hrsp_4xx - earlier.hrsp_4xx,
            hrsp_5xx: self.hrsp_5xx - earlier.hrsp_5xx,
        }
    }

    fn add(&mut self, other: &Counters) {
        self.sessions += other.sessions;
        self.requests += other.requests;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.hrsp_4xx += other.hrsp_4xx;
        self.hrsp_5xx += other.hrsp_5xx;
    }
}

/// One `show stat` row of a frontend, backend or server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatRow {
    /// The proxy (`pxname`).
    pub proxy: String,
    /// `FRONTEND`, `BACKEND` or the server's name (`svname`).
    pub name: String,
    /// `status`: `OPEN`, `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check` ...
    pub status: String,
    /// Last health check (`check_status`: `L4OK`, `L7STS`, `SOCKERR` ...); empty when none.
    #[serde(default)]
    pub check_status: String,
    /// Current sessions (`scur`).
    pub scur: i64,
    /// Queued requests (`qcur`).
    pub qcur: i64,
    /// Average response time over the last 1024 requests, ms (`rtime`).
    pub rtime: i64,
    /// Cumulative counters.
    pub counters: Counters,
}

impl StatRow {
    /// Frontend, backend or server.
    pub fn kind(&self) -> RowKind {
        match self.name.as_str() {
            "FRONTEND" => RowKind::Frontend,
            "BACKEND" => RowKind::Backend,
            _ => RowKind::Server,
        }
    }
}

/// What an agent sends with each heartbeat: the worker's process id (`show info` `Pid`: another
/// one after a reload) and its `show stat` rows (listeners left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsSample {
    /// The worker's pid.
    #[serde(default)]
    pub pid: Option<i64>,
    /// The rows.
    pub rows: Vec<StatRow>,
}

/// The sample of HAProxy's `show info` and `show stat` answers (CSV with a `# pxname,...`
/// header; columns found by name, so any HAProxy version's order works). Listener rows
/// (`type` 3) are left out; a missing column reads 0.
pub fn sample_from_show(info: &str, stat: &str) -> StatsSample {
    let pid = info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse().ok());
    let mut lines = stat.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else { return StatsSample { pid, rows: Vec::new() } };
    let columns: Vec<&str> = header.split(',').collect();
    let index = |name: &str| columns.iter().position(|c| *c == name);
    let at = |name: &str| index(name).unwrap_or(usize::MAX);
    let (px, sv, ty) = (at("pxname"), at("svname"), at("type"));
    let (status, check, scur, qcur, rtime) = (at("status"), at("check_status"), at("scur"), at("qcur"), at("rtime"));
    let (stot, req_tot, bin, bout) = (at("stot"), at("req_tot"), at("bin"), at("bout"));
    let responses = ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].map(at);
    let (h4, h5) = (at("hrsp_4xx"), at("hrsp_5xx"));
    let mut rows = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        let int = |i: usize| field(i).parse::<i64>().unwrap_or(0);
        if field(px).is_empty() || field(sv).is_empty() || field(ty) == "3" {
            continue;
        }
        let mut row = StatRow {
            proxy: field(px).to_string(),
            name: field(sv).to_string(),
            status: field(status).to_string(),
            check_status: field(check).trim_start_matches('*').to_string(),
            scur: int(scur),
            qcur: int(qcur),
            rtime: int(rtime),
            counters: Counters {
                sessions: int(stot),
                requests: 0,
                bytes_in: int(bin),
                bytes_out: int(bout),
                hrsp_4xx: int(h4),
                hrsp_5xx: int(h5),
            },
        };
        row.counters.requests = match row.kind() {
            RowKind::Server => responses.iter().map(|i| int(*i)).sum(),
            _ => int(req_tot),
        };
        rows.push(row);
    }
    StatsSample { pid, rows }
}

/// True for a status that serves: `UP`, `OPEN`, `no check`, `UP n/m` while going down.
pub fn is_up(status: &str) -> bool {
    status.starts_with("UP") || status == "OPEN" || status == "no check"
}

/// What the store keeps of a series' last sample, to compute the next deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// When it was taken (ms).
    pub at: i64,
    /// The worker's pid then.
    pub pid: Option<i64>,
    /// Its counters.
    pub counters: Counters,
}

/// One stored point: what happened over `span_ms` before the sample, in the bucket `at`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Point {
    /// The bucket's start (ms; a multiple of the tier's step).
    pub at: i64,
    /// The time the deltas cover (ms); 0 for a series' first sample (no rate yet).
    pub span_ms: i64,
    /// The ms of `span_ms` the row was up ([`is_up`]).
    pub up_ms: i64,
    /// Counter increases over `span_ms`.
    pub deltas: Counters,
    /// Current sessions (raw: as sampled; rollup: the peak).
    pub scur: i64,
    /// Queued requests (raw: as sampled; rollup: the peak).
    pub qcur: i64,
    /// Mean response time, ms.
    pub rtime: i64,
}

/// Whether a heartbeat sent now should carry a stats sample, the last one having gone
/// `since_last` ago (none: never) with heartbeats every `interval`: once per raw bucket
/// ([`RAW_STEP_MS`]), with half an interval of slack so that a heartbeat ticking a little early
/// still samples (every other heartbeat at the default 5 s). Two samples of one bucket add up
/// into one point ([`merge`]): a sample in every 5 s heartbeat doubled what a server writes for
/// a fleet (at 10,000 agents the stats rows were most of it) for gauges only 5 s fresher.
pub fn sample_due(since_last: Option<std::time::Duration>, interval: std::time::Duration) -> bool {
    since_last.is_none_or(|since| since + interval / 2 >= std::time::Duration::from_millis(RAW_STEP_MS.unsigned_abs()))
}

/// The raw point of `row` sampled at `at` by worker `pid`, after `last` (none: the series'
/// first sample, which carries gauges but no deltas). A reload (another `pid`, or any counter
/// lower than before) restarts HAProxy's counters at 0: the deltas are then the new counters.
/// A sample not after `last` (a clock step back) covers nothing.
pub fn delta(last: Option<&Last>, row: &StatRow, pid: Option<i64>, at: i64) -> Point {
    let bucket = at - at.rem_euclid(RAW_STEP_MS);
    let (span_ms, deltas) = match last {
        Some(last) if at > last.at => {
            let restarted = pid.is_some() && last.pid.is_some() && pid != last.pid;
            let deltas = if restarted { row.counters } else { row.counters.since(&last.counters) };
            (at - last.at, deltas)
        }
        _ => (0, Counters::default()),
    };
    let up_ms = if is_up(&row.status) { span_ms } else { 0 };
    Point { at: bucket, span_ms, up_ms, deltas, scur: row.scur, qcur: row.qcur, rtime: row.rtime }
}

/// Adds `point` into `into`, the point of the same bucket (several samples in one bucket):
/// deltas and spans add up, gauges take the later sample.
pub fn merge(into: &mut Point, point: &Point) {
    into.span_ms += point.span_ms;
    into.up_ms += point.up_ms;
    into.deltas.add(&point.deltas);
    into.scur = point.scur;
    into.qcur = point.qcur;
    into.rtime = point.rtime;
}

/// The rollup of `points` (one series, any order) into buckets of `step` ms: deltas, spans
/// and up time add up, `scur`/`qcur` keep the peak, `rtime` the mean of the points.
pub fn rollup(points: &[Point], step: i64) -> Vec<Point> {
    let mut buckets: BTreeMap<i64, (Point, i64, i64)> = BTreeMap::new();
    for p in points {
        let at = p.at - p.at.rem_euclid(step);
        let (acc, rtime_sum, n) = buckets.entry(at).or_insert((Point { at, ..Point::default() }, 0, 0));
        acc.span_ms += p.span_ms;
        acc.up_ms += p.up_ms;
        acc.deltas.add(&p.deltas);
        acc.scur = acc.scur.max(p.scur);
        acc.qcur = acc.qcur.max(p.qcur);
        *rtime_sum += p.rtime;
        *n += 1;
    }
    buckets.into_values().map(|(mut p, sum, n)| {
        p.rtime = if n > 0 { sum / n } else { 0 };
        p
    }).collect()
}

/// Which tier answers a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 10 s points, the last 24 h.
    Raw,
    /// 5 min points, the last 30 days.
    Rollup,
}

impl Tier {
    /// Its number in the store.
    pub fn code(self) -> i16 {
        match self {
            Tier::Raw => 0,
            Tier::Rollup => 1,
        }
    }

    /// Its bucket, ms.
    pub fn step_ms(self) -> i64 {
        match self {
            Tier::Raw => RAW_STEP_MS,
            Tier::Rollup => ROLLUP_STEP_MS,
        }
    }
}

/// A query's window, decided from what was asked at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first step's start (ms, a multiple of `step_ms`).
    pub from: i64,
    /// The end (exclusive).
    pub to: i64,
    /// The step (ms, a multiple of the tier's step).
    pub step_ms: i64,
    /// The tier read.
    pub tier: Tier,
}

/// Why a query is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// `from` is not before `to`.
    #[error("from must be before to")]
    Empty,
    /// The step is not positive.
    #[error("step must be at least 1 second")]
    Step,
    /// Too many steps.
    #[error("{steps} steps per series is more than {max}: ask a larger step")]
    TooManySteps {
        /// Asked.
        steps: i64,
        /// Allowed ([`MAX_STEPS`]).
        max: i64,
    },
}

/// The window of a query for `from`..`to` (ms; default: the last hour before `now`) by `step`
/// (ms; default: about 300 steps): the raw tier when the window starts within its 24 h and the
/// step is under 5 min, else the rollup tier; the step rounded up to a multiple of the tier's
/// step, `from` down to a multiple of the step.
pub fn window(from: Option<i64>, to: Option<i64>, step_ms: Option<i64>, now: i64) -> Result<Window, WindowError> {
    // Any i64 may come from a query string: saturating arithmetic, never an overflow.
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to.saturating_sub(3_600_000));
    if from >= to {
        return Err(WindowError::Empty);
    }
    if step_ms.is_some_and(|s| s < 1_000) {
        return Err(WindowError::Step);
    }
    let span = to.saturating_sub(from);
    let wanted = step_ms.unwrap_or((span / 300).max(1));
    let tier = if from >= now.saturating_sub(RAW_KEEP_MS) && wanted < ROLLUP_STEP_MS { Tier::Raw } else { Tier::Rollup };
    let unit = tier.step_ms();
    let step = wanted.div_euclid(unit).saturating_add(i64::from(wanted.rem_euclid(unit) != 0)).max(1).saturating_mul(unit);
    let from = from.saturating_sub(from.rem_euclid(step));
    let span = to.saturating_sub(from);
    let steps = span.div_euclid(step).saturating_add(i64::from(span.rem_euclid(step) != 0));
    if steps > MAX_STEPS {
        return Err(WindowError::TooManySteps { steps, max: MAX_STEPS });
    }
    Ok(Window { from, to, step_ms: step, tier })
}

/// One series, aligned on a window's steps (`null` where no point fell).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Aligned {
    /// Sessions per second (`stot` increase / time).
    pub session_rate: Vec<Option<f64>>,
    /// HTTP requests per second (`req_tot`; servers: responses).
    pub request_rate: Vec<Option<f64>>,
    /// Bytes in per second (`bin`).
    pub bytes_in_rate: Vec<Option<f64>>,
    /// Bytes out per second (`bout`).
    pub bytes_out_rate: Vec<Option<f64>>,
    /// 4xx responses per second (`hrsp_4xx`).
    pub hrsp_4xx_rate: Vec<Option<f64>>,
    /// 5xx responses per second (`hrsp_5xx`).
    pub hrsp_5xx_rate: Vec<Option<f64>>,
    /// Current sessions (`scur`; the last sample of the step, the peak on the rollup tier).
    pub scur: Vec<Option<i64>>,
    /// Queued requests (`qcur`, the same way).
    pub qcur: Vec<Option<i64>>,
    /// Mean response time, ms (`rtime`).
    pub rtime_ms: Vec<Option<i64>>,
    /// Share of the time the row was up (`UP`, `OPEN`, `no check`), 0..1.
    pub up_ratio: Vec<Option<f64>>,
}

/// Aligns one series' points (any order) on `window`: each step adds up the points whose
/// bucket starts in it; rates are Σ deltas / Σ span (per second; `null` when the span is 0),
/// gauges the last point's (the peak on the rollup tier), `rtime` the mean.
pub fn align(points: &[Point], window: &Window) -> Aligned {
    let steps = window.timestamps().len();
    let mut sorted: Vec<&Point> = points.iter().filter(|p| p.at >= window.from && p.at < window.to).collect();
    sorted.sort_by_key(|p| p.at);
    let mut acc: Vec<Option<(Point, i64, i64)>> = vec![None; steps];
    for p in sorted {
        let Ok(i) = usize::try_from(p.at.saturating_sub(window.from) / window.step_ms) else { continue };
        let Some(slot) = acc.get_mut(i) else { continue };
        let (a, rtime_sum, n) = slot.get_or_insert((Point::default(), 0, 0));
        a.span_ms += p.span_ms;
        a.up_ms += p.up_ms;
        a.deltas.add(&p.deltas);
        (a.scur, a.qcur) = match window.tier {
            Tier::Raw => (p.scur, p.qcur),
            Tier::Rollup => (a.scur.max(p.scur), a.qcur.max(p.qcur)),
        };
        *rtime_sum += p.rtime;
        *n += 1;
    }
    let mut out = Aligned::default();
    for slot in acc {
        let rate = |v: i64, span: i64| (span > 0).then(|| v as f64 * 1_000.0 / span as f64);
        match slot {
            None => {
                for v in [&mut out.session_rate, &mut out.request_rate, &mut out.bytes_in_rate, &mut out.bytes_out_rate, &mut out.hrsp_4xx_rate, &mut out.hrsp_5xx_rate, &mut out.up_ratio] {
                    v.push(None);
                }
                out.scur.push(None);
                out.qcur.push(None);
                out.rtime_ms.push(None);
            }
            Some((p, rtime_sum, n)) => {
                out.session_rate.push(rate(p.deltas.sessions, p.span_ms));
                out.request_rate.push(rate(p.deltas.requests, p.span_ms));
                out.bytes_in_rate.push(rate(p.deltas.bytes_in, p.span_ms));
                out.bytes_out_rate.push(rate(p.deltas.bytes_out, p.span_ms));
                out.hrsp_4xx_rate.push(rate(p.deltas.hrsp_4xx, p.span_ms));
                out.hrsp_5xx_rate.push(rate(p.deltas.hrsp_5xx, p.span_ms));
                out.up_ratio.push((p.span_ms > 0).then(|| p.up_ms as f64 / p.span_ms as f64));
                out.scur.push(Some(p.scur));
                out.qcur.push(Some(p.qcur));
                out.rtime_ms.push(Some(if n > 0 { rtime_sum / n } else { 0 }));
            }
        }
    }
    out
}

/// One series of a stats answer: which row of which agent, its latest status, its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesValues {
    /// The agent (node) name.
    pub agent: String,
    /// The proxy (`pxname`).
    pub proxy: String,
    /// `FRONTEND`, `BACKEND` or the server's name (`svname`).
    pub server: String,
    /// Frontend, backend or server.
    pub kind: RowKind,
    /// The latest `status`.
    pub status: String,
    /// The latest `check_status` (servers with checks).
    pub check_status: String,
    /// One value per step (`timestamps`).
    #[serde(flatten)]
    pub values: Aligned,
}

/// The answer of `GET /api/v1/clusters/{id}/stats`: series aligned on common steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsAnswer {
    /// The tier read: `raw` (10 s points, 24 h) or `rollup` (5 min points, 30 days).
    pub tier: Tier,
    /// The first step's start (RFC 3339, UTC).
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: i64,
    /// The window's end, exclusive (RFC 3339, UTC).
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: i64,
    /// The step, seconds.
    pub step_seconds: i64,
    /// Each step's start, Unix ms (the index of every value array).
    pub timestamps: Vec<i64>,
    /// The series, by agent, proxy and server.
    pub series: Vec<SeriesValues>,
}

impl Window {
    /// Each step's start.
    pub fn timestamps(&self) -> Vec<i64> {
        (0..=MAX_STEPS)
            .map_while(|i| i.checked_mul(self.step_ms).and_then(|d| self.from.checked_add(d)))
            .take_while(|t| *t < self.to)
            .collect()
    }
}

/// What compaction does at `now`: roll raw points of complete 5 min buckets from `rolled_until`
/// on (the first time: every raw point) into the rollup tier, then delete raw points older than
/// 24 h — never one not rolled up yet, however long compaction did not run — and rollup points
/// older than 30 days. Returns `(rollup_from, rollup_to, raw_before, rollup_before)`;
/// `rollup_to` is the new `rolled_until`.
pub fn compaction(rolled_until: Option<i64>, now: i64) -> (i64, i64, i64, i64) {
    let complete = now - now.rem_euclid(ROLLUP_STEP_MS);
    let from = rolled_until.unwrap_or(i64::MIN).min(complete);
    (from, complete, (now - RAW_KEEP_MS).min(complete), now - ROLLUP_KEEP_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_due_once_per_raw_bucket() {
        let s = std::time::Duration::from_secs;
        assert!(sample_due(None, s(5)), "the first heartbeat samples");
        assert!(!sample_due(Some(s(5)), s(5)), "every other heartbeat at 5 s");
        assert!(sample_due(Some(s(10)), s(5)));
        assert!(sample_due(Some(std::time::Duration::from_millis(9_900)), s(5)), "a heartbeat ticking early still samples");
        assert!(!sample_due(Some(s(8)), s(1)), "every tenth at 1 s");
        assert!(sample_due(Some(std::time::Duration::from_millis(9_500)), s(1)));
        assert!(sample_due(Some(s(30)), s(30)), "every heartbeat at 30 s");
    }
    use crate::{Clock, ManualClock};

    fn row(status: &str, sessions: i64, requests: i64) -> StatRow {
        StatRow {
            proxy: "fe".into(),
            name: "FRONTEND".into(),
            status: status.into(),
            scur: 3,
            counters: Counters { sessions, requests, bytes_in: requests * 100, ..Counters::default() },
            ..StatRow::default()
        }
    }

    #[test]
    fn show_stat_rows_are_read_by_column_name() {
        let info = "Name: HAProxy\nPid: 4242\nUptime_sec: 9\n";
        let stat = "# pxname,svname,qcur,scur,stot,bin,bout,status,type,rate,check_status,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot,rtime\n\
            fe,FRONTEND,,2,40,1000,2000,OPEN,0,5,,0,30,0,4,1,0,35,\n\
            fe,sock-1,,0,0,0,0,OPEN,3,,,,,,,,,,\n\
            app,s1,1,1,20,10,20,UP,2,1,*L7OK,0,18,0,1,1,0,,12\n\
            app,BACKEND,0,1,20,10,20,UP,1,1,,0,18,0,1,1,0,20,12\n";
        let sample = sample_from_show(info, stat);
        assert_eq!(sample.pid, Some(4242));
        assert_eq!(sample.rows.len(), 3, "the listener is left out");
        let fe = &sample.rows[0];
        assert_eq!((fe.kind(), fe.scur, fe.counters.requests, fe.counters.hrsp_4xx, fe.counters.bytes_out), (RowKind::Frontend, 2, 35, 4, 2000));
        let s1 = &sample.rows[1];
        assert_eq!((s1.kind(), s1.check_status.as_str(), s1.qcur, s1.rtime), (RowKind::Server, "L7OK", 1, 12));
        assert_eq!(s1.counters.requests, 20, "a server's requests are its responses");
        assert_eq!(sample_from_show("", "garbage"), StatsSample::default());
    }

    #[test]
    fn rates_come_from_counters_and_survive_a_reload() {
        let clock = ManualClock::new(1_000_000);
        let first = delta(None, &row("OPEN", 100, 1_000), Some(1), clock.now_ms());
        assert_eq!((first.span_ms, first.deltas), (0, Counters::default()), "no rate from one sample");
        let last = Last { at: clock.now_ms(), pid: Some(1), counters: row("OPEN", 100, 1_000).counters };
        clock.advance(10_000);
        let p = delta(Some(&last), &row("OPEN", 150, 1_500), Some(1), clock.now_ms());
        assert_eq!((p.span_ms, p.deltas.sessions, p.deltas.requests, p.up_ms), (10_000, 50, 500, 10_000));
        // A reload: another worker whose counters restarted (and already passed the old ones).
        let reloaded = delta(Some(&last), &row("OPEN", 400, 4_000), Some(2), clock.now_ms());
        assert_eq!(reloaded.deltas.requests, 4_000, "the new worker's counters, not 4000 - 1000");
        // Same pid reported (older agents send none) but a counter went down.
        let reset = delta(Some(&Last { pid: None, ..last }), &row("OPEN", 10, 20), None, clock.now_ms());
        assert_eq!(reset.deltas.requests, 20);
        assert!(reset.deltas.fields().iter().all(|v| *v >= 0));
        // A clock step back covers nothing.
        let back = delta(Some(&last), &row("OPEN", 150, 1_500), Some(1), last.at - 1);
        assert_eq!(back.span_ms, 0);
        let down = delta(Some(&last), &row("DOWN", 150, 1_500), Some(1), clock.now_ms());
        assert_eq!(down.up_ms, 0);
    }

    #[test]
    fn rollups_and_alignment_keep_rates_exact() {
        // 1 request per 10 s sample = 0.1/s for 10 min, then DOWN for 5 min.
        let points: Vec<Point> = (0..90)
            .map(|i| Point {
                at: i * RAW_STEP_MS,
                span_ms: RAW_STEP_MS,
                up_ms: if i < 60 { RAW_STEP_MS } else { 0 },
                deltas: Counters { requests: 1, ..Counters::default() },
                scur: i,
                qcur: 0,
                rtime: 10,
            })
            .collect();
        let rolled = rollup(&points, ROLLUP_STEP_MS);
        assert_eq!(rolled.len(), 3);
        assert_eq!((rolled[0].span_ms, rolled[0].deltas.requests, rolled[0].scur), (300_000, 30, 29));
        let window = Window { from: 0, to: 900_000, step_ms: ROLLUP_STEP_MS, tier: Tier::Rollup };
        let aligned = align(&rolled, &window);
        assert_eq!(aligned.request_rate, vec![Some(0.1), Some(0.1), Some(0.1)]);
        assert_eq!(aligned.up_ratio, vec![Some(1.0), Some(1.0), Some(0.0)]);
        let raw = Window { from: 0, to: 60_000, step_ms: 20_000, tier: Tier::Raw };
        let aligned = align(&points, &raw);
        assert_eq!(aligned.request_rate, vec![Some(0.1); 3]);
        assert_eq!(aligned.scur, vec![Some(1), Some(3), Some(5)], "the last sample of each step");
        let gap = Window { from: 2_000_000, to: 2_020_000, step_ms: 10_000, tier: Tier::Raw };
        assert_eq!(align(&points, &gap).request_rate, vec![None, None]);
        let mut into = points[0];
        merge(&mut into, &points[1]);
        assert_eq!((into.span_ms, into.deltas.requests, into.scur), (20_000, 2, 1));
    }

    #[test]
    fn windows_pick_the_tier_and_bound_the_steps() {
        let now = 100 * 24 * 3_600_000;
        let w = window(None, None, None, now).unwrap();
        assert_eq!((w.tier, w.step_ms, w.to - w.from <= 3_600_000 + w.step_ms), (Tier::Raw, 20_000, true));
        let day = window(Some(now - RAW_KEEP_MS), Some(now), Some(10_000), now).unwrap();
        assert_eq!((day.tier, day.step_ms), (Tier::Raw, 10_000));
        let old = window(Some(now - 2 * RAW_KEEP_MS), Some(now), Some(10_000), now).unwrap();
        assert_eq!((old.tier, old.step_ms), (Tier::Rollup, ROLLUP_STEP_MS));
        let odd = window(Some(now - 60_000), Some(now), Some(15_000), now).unwrap();
        assert_eq!((odd.step_ms, odd.from % odd.step_ms), (20_000, 0));
        assert_eq!(window(Some(now), Some(now), None, now), Err(WindowError::Empty));
        assert_eq!(window(None, None, Some(0), now), Err(WindowError::Step));
        assert!(matches!(window(Some(0), Some(now), Some(1_000), now), Err(WindowError::TooManySteps { .. })));
        // Whatever a query string holds: no overflow.
        assert!(window(Some(i64::MIN), Some(i64::MAX), Some(i64::MAX), now).is_ok());
        assert!(window(Some(i64::MIN), Some(i64::MAX), None, now).is_ok_and(|w| w.timestamps().len() <= 301));
        assert!(window(None, Some(i64::MIN + 1), None, now).is_ok());
        let exact = window(Some(now - 100_000), Some(now), Some(10_000), now).unwrap();
        assert_eq!(exact.timestamps().len(), 10);
    }

    #[test]
    fn compaction_rolls_complete_buckets_and_keeps_bounded_windows() {
        let clock = ManualClock::new(30 * 24 * 3_600_000 + 123_456);
        let now = clock.now_ms();
        let (from, to, raw_before, rollup_before) = compaction(None, now);
        assert_eq!(to % ROLLUP_STEP_MS, 0);
        assert!(to <= now && now - to < ROLLUP_STEP_MS, "only complete buckets");
        assert_eq!(from, i64::MIN, "the first run rolls up every raw point");
        assert_eq!((raw_before, rollup_before), (now - RAW_KEEP_MS, now - ROLLUP_KEEP_MS));
        // Compaction stopped for two days: nothing older than what it rolls up is deleted.
        let (_, to, raw_before, _) = compaction(Some(now - 2 * RAW_KEEP_MS), now);
        assert!(raw_before <= to);
        clock.advance(ROLLUP_STEP_MS);
        let (again, next, _, _) = compaction(Some(to), clock.now_ms());
        assert_eq!((again, next), (to, to + ROLLUP_STEP_MS), "each bucket rolled once");
        assert_eq!(max_points_per_series(), 8_641 + 8_641);
    }
}
