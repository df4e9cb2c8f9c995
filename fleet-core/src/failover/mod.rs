//! DNS failover (issue 15): a pool's failover hostname points at its active member; when that
//! member stops being healthy, the record moves to a ready standby, never flapping.
//!
//! ```text
//! heartbeats (last seen, HAProxy running, probe) -> health::healthy per member, with the
//!   time its health last changed
//! (policy, active, last move, members) -> decide::decide -> Stay | Hold | AllDown | Move
//! Move -> the record through a DNS provider (crate::dns) -> event log, notification
//! ```
//!
//! This module holds the pure parts: the health rule and the decision. Both take the time as
//! an argument, so every rule (detection window, hold time, fail-back) is tested without
//! waiting. Not yet built on them: the stored pool settings, the single decider across server
//! replicas, the routes and the agent's `--public-ip`.

pub mod decide;
pub mod health;

pub use decide::{decide, Decision, Failback, Member, Policy, State};
pub use health::{healthy, Observation};
