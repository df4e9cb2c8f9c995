//! What a due schedule does at `now`: pure decisions, no database (the store applies them under
//! its claim, see [`crate::schedules`]).
//!
//! ```text
//! due = stored next_run_at <= now
//! latest = the last run time in [due, now]
//! latest on time (now - latest < GRACE_MS)   -> run latest; the times before it were missed
//! latest late (no server ran the schedule):
//!     missed skip                            -> run nothing; every time from due was missed
//!     missed run_once                        -> run latest once (catch_up); those before missed
//! next_run_at = the first run time after now
//! then, under the claim: a run while the previous one runs -> skipped (concurrency forbid)
//! ```

use super::spec::{Concurrency, MissedRun};
use super::timetable::Timetable;

/// A run time seen this long after it passed is late: no server ran the schedule then.
pub const GRACE_MS: i64 = 60_000;

/// Missed run times are counted up to this many (a `missed` row says "or more" beyond).
pub const MAX_COUNTED: usize = 1000;

/// The run to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// The run time it is for.
    pub scheduled_for: i64,
    /// A late run (missed-run policy `run_once`).
    pub catch_up: bool,
}

/// Run times nobody ran, recorded as one `missed` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    /// How many, up to [`MAX_COUNTED`].
    pub count: usize,
    /// The first of them.
    pub first: i64,
    /// The last of them.
    pub last: i64,
}

/// What one due schedule does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The run to start, if any.
    pub fire: Option<Fire>,
    /// Run times missed, if any.
    pub missed: Option<Missed>,
    /// The next run time after now (`None`: the expression has none left).
    pub next_run_at: Option<i64>,
}

/// Decides what a schedule whose stored next run time `due` (a run time, `<= now`) does at
/// `now`.
pub fn plan(table: &Timetable, policy: MissedRun, due: i64, now: i64) -> Due {
    let latest = table.last_until(due, now);
    let on_time = now - latest < GRACE_MS;
    let fire = (on_time || policy == MissedRun::RunOnce).then_some(Fire { scheduled_for: latest, catch_up: !on_time });
    let missed_until = match fire {
        Some(_) if latest == due => None,
        Some(_) => Some(table.last_until(due, latest - 1)),
        None => Some(latest),
    };
    let missed = missed_until.map(|last| Missed { count: table.count(due, last, MAX_COUNTED), first: due, last });
    Due { fire, missed, next_run_at: table.next_after(now) }
}

/// Whether a run starts given the concurrency policy and whether the previous run still runs.
pub fn admit(concurrency: Concurrency, previous_running: bool) -> bool {
    concurrency == Concurrency::Allow || !previous_running
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    fn at(text: &str) -> i64 {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn an_on_time_run_starts_and_the_next_is_set() {
        let every = Timetable::new("*/1 * * * *", "UTC").unwrap();
        let due = at("2026-12-01T12:01:00Z");
        for policy in [MissedRun::Skip, MissedRun::RunOnce] {
            let plan = plan(&every, policy, due, at("2026-12-01T12:01:00.400Z"));
            assert_eq!(plan.fire, Some(Fire { scheduled_for: due, catch_up: false }));
            assert_eq!(plan.missed, None);
            assert_eq!(plan.next_run_at, Some(at("2026-12-01T12:02:00Z")));
        }
        // 59 s late is still on time; the next run time has not come.
        let plan = plan(&every, MissedRun::Skip, due, at("2026-12-01T12:01:59Z"));
        assert_eq!(plan.fire.map(|f| f.scheduled_for), Some(due));
    }

    #[test]
    fn after_downtime_skip_records_the_missed_times_and_runs_none() {
        let hourly = Timetable::new("0 * * * *", "UTC").unwrap();
        // Down from 09:30 to 12:20: 10:00, 11:00 and 12:00 passed; 12:00 is 20 minutes late.
        let plan = plan(&hourly, MissedRun::Skip, at("2026-12-01T10:00:00Z"), at("2026-12-01T12:20:00Z"));
        assert_eq!(plan.fire, None);
        assert_eq!(plan.missed, Some(Missed { count: 3, first: at("2026-12-01T10:00:00Z"), last: at("2026-12-01T12:00:00Z") }));
        assert_eq!(plan.next_run_at, Some(at("2026-12-01T13:00:00Z")));
    }

    #[test]
    fn after_downtime_run_once_runs_the_latest_once() {
        let hourly = Timetable::new("0 * * * *", "UTC").unwrap();
        let plan = plan(&hourly, MissedRun::RunOnce, at("2026-12-01T10:00:00Z"), at("2026-12-01T12:20:00Z"));
        assert_eq!(plan.fire, Some(Fire { scheduled_for: at("2026-12-01T12:00:00Z"), catch_up: true }));
        assert_eq!(plan.missed, Some(Missed { count: 2, first: at("2026-12-01T10:00:00Z"), last: at("2026-12-01T11:00:00Z") }));
        assert_eq!(plan.next_run_at, Some(at("2026-12-01T13:00:00Z")));
        // A single late time: run once, nothing else missed.
        let plan = super::plan(&hourly, MissedRun::RunOnce, at("2026-12-01T12:00:00Z"), at("2026-12-01T12:20:00Z"));
        assert_eq!(plan.fire, Some(Fire { scheduled_for: at("2026-12-01T12:00:00Z"), catch_up: true }));
        assert_eq!(plan.missed, None);
        let plan = super::plan(&hourly, MissedRun::Skip, at("2026-12-01T12:00:00Z"), at("2026-12-01T12:20:00Z"));
        assert_eq!((plan.fire, plan.missed.map(|m| m.count)), (None, Some(1)));
        // A month down, every minute: counted up to the cap, found without a search per minute.
        let every = Timetable::new("*/1 * * * *", "UTC").unwrap();
        let plan = super::plan(&every, MissedRun::RunOnce, at("2026-11-01T00:00:00Z"), at("2026-12-01T12:20:30Z"));
        assert_eq!(plan.fire, Some(Fire { scheduled_for: at("2026-12-01T12:20:00Z"), catch_up: false }));
        assert_eq!(plan.missed, Some(Missed { count: MAX_COUNTED, first: at("2026-11-01T00:00:00Z"), last: at("2026-12-01T12:19:00Z") }));
    }

    #[test]
    fn a_short_outage_runs_the_current_time_and_records_the_earlier_ones() {
        let every = Timetable::new("*/1 * * * *", "UTC").unwrap();
        // Down for three minutes: 12:01 and 12:02 missed, 12:03 seen 10 s late runs.
        let plan = plan(&every, MissedRun::Skip, at("2026-12-01T12:01:00Z"), at("2026-12-01T12:03:10Z"));
        assert_eq!(plan.fire, Some(Fire { scheduled_for: at("2026-12-01T12:03:00Z"), catch_up: false }));
        assert_eq!(plan.missed, Some(Missed { count: 2, first: at("2026-12-01T12:01:00Z"), last: at("2026-12-01T12:02:00Z") }));
    }

    #[test]
    fn concurrency_forbid_skips_while_the_previous_runs() {
        assert!(admit(Concurrency::Forbid, false));
        assert!(!admit(Concurrency::Forbid, true));
        assert!(admit(Concurrency::Allow, true));
        assert!(admit(Concurrency::Allow, false));
    }
}
