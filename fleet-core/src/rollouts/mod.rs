//! Staged rollouts (issue 20): an apply reaches a cluster's agents stage by stage — a canary,
//! then batches — and stops itself when agents fail.
//!
//! ```text
//! POST /clusters/{id}/apply {version, strategy}
//!   -> strategy::Strategy::check, stage_sizes          pure
//!   -> Store::start_rollout: desired version = V, rollout row (running, first stage told)
//! Driver::tick (fleet serve, every replica, every 500 ms):
//!   running rollouts -> observations of their agents (reports, heartbeats)
//!   -> machine::Rollout::step(observe, now)              pure: stage started / passed, failures,
//!                                                               halted / rolled_back / succeeded
//!   -> Store::save_rollout: compare-and-set on the revision, audit each event (and, for a
//!      rollback, desired version = previous), in one transaction
//!   -> DesiredWatch::changed when agents are told another version
//! GET /agent/desired (long-poll) -> gate::version_for(gate, desired, agent)
//! ```
//!
//! Everything lives in the database, so a restarted server goes on where the rollout stood,
//! and two replicas never both advance one rollout (the revision compare-and-set: the loser's
//! step is dropped and taken again from the new state at its next tick).

#[cfg(feature = "store")]
pub mod driver;
pub mod gate;
pub mod machine;
pub mod strategy;

#[cfg(feature = "store")]
pub use driver::Driver;
pub use gate::{version_for, Gate};
pub use machine::{AgentOutcome, ControlError, Event, Observation, Rollout, RolloutAgent, RolloutState, Stage, StageState, UNHEALTHY_GRACE_MS};
pub use strategy::{Batches, Canary, OnFailure, Strategy, StrategyError, StrategyName, StrategySpec};
