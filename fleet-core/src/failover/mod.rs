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
//! The health rule and the decision are pure: both take the time as an argument, so every rule
//! (detection window, hold time, fail-back) is tested without waiting. The settings, the moves
//! and the timeline are the store's (`store/failover.rs`); [`decider::Decider`] is the server
//! task that runs them for the pools whose lease it holds.

pub mod decide;
#[cfg(feature = "store")]
pub mod decider;
pub mod health;
pub mod probe;
#[cfg(feature = "store")]
pub mod settings;

pub use decide::{decide, Decision, Failback, Member, Memory, Policy, State};
pub use health::{healthy, Observation};
pub use probe::{Probe, ProbeReport, ProbeTarget};
