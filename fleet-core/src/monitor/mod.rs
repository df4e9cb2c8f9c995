//! Observability of the fleet: what every node really runs and how it is doing.
//!
//! ```text
//! heartbeat (every --heartbeat-seconds, the interval in it)
//!   -> node::node_state(last_seen_at, interval, now)   online | offline (3 intervals missed)
//!   -> drift::DriftReport (the agent's check of its managed files against what it applied)
//!        -> drift::transition(stored, report, now)     the stored drift and its audit entries
//! ```
//!
//! The rules live here, with an injected clock; the store keeps what they decide (the agent's
//! row: `last_seen_at`, `heartbeat_ms`, `drift`, `drift_since`), so an alert evaluator reads node
//! state and drift from the store and asks these functions, never a second copy of the rule.

pub mod drift;
pub mod node;
pub mod stats;

pub use drift::{Drift, DriftFile, DriftPolicy, DriftReport, MAX_DRIFT_DIFF_BYTES};
pub use node::{node_state, NodeState, NodeSummary, DEFAULT_HEARTBEAT_MS, OFFLINE_AFTER_INTERVALS};
