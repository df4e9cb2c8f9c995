//! Schedules (issue 18): cron expressions in a time zone that run a target on time, once per
//! run time however many server replicas tick, with their history.
//!
//! ```text
//! NewSchedule {name, cron, timezone, target, missed, concurrency, enabled}
//!   -> check -> Timetable (croner in a chrono-tz zone)      pure: next run times, preview, DST
//!   -> store: schedules.next_run_at = the first run time after now (NULL: disabled)
//! Engine::tick(now = the store's clock), on every replica every second:
//!   runs running -> Runner::poll (the job's state)          -> succeeded / failed
//!   due schedules (next_run_at <= now):
//!     plan::plan(timetable, missed policy, due, now)        pure: fire, missed, next
//!     store claim: UPDATE schedules SET next_run_at = next WHERE id AND next_run_at = due
//!       lost  -> another replica has it
//!       won   -> history: missed row; the run (running), or skipped (concurrency forbid while
//!                the previous run still runs)
//!     Runner::start(run) in its own task                    -> created (job id), or the end
//! ```
//!
//! Exactly once: the claim is one compare-and-set statement, atomic on SQLite (one writer) and
//! PostgreSQL (the row lock makes the second replica's update see the new value and change
//! nothing); the history's unique (schedule, run time) index guards it again.

pub mod engine;
pub mod plan;
pub mod spec;
pub mod targets;
pub mod timetable;

pub use engine::{Engine, Progress, Runner, TickReport};
pub use spec::{Concurrency, MissedRun, NewSchedule, Outcome, Schedule, ScheduleRun, Target};
pub use timetable::Timetable;

/// What a replica's claim of a run time came to ([`crate::Store::claim_schedule_time`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Another replica claimed it first, or the schedule changed meanwhile.
    Lost,
    /// Claimed; only history was written (run times missed, a run skipped).
    Recorded,
    /// Claimed: start this run.
    Start(ScheduleRun),
}
