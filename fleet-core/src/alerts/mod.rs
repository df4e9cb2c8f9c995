//! Alerts (issue 17): rules with thresholds over what the fleet reports, evaluated on a clock,
//! notified through webhooks (generic JSON, Slack-compatible) and e-mail, deduplicated, resolved
//! and silenced.
//!
//! ```text
//! rule {condition, scope, for_seconds, channels, silenced_until}
//! Snapshot (agents with their heartbeats, certificates, recent failover/VIP events) at `now`
//!   -> evaluate::findings(condition, scope, snapshot)   pure: one Finding per subject
//!   -> store reconcile (one row per rule + subject while it lasts; a unique index makes one
//!      replica win each transition):
//!        new finding           -> pending (firing at once when for_seconds = 0)
//!        pending for_seconds   -> firing     -> notify "firing"
//!        finding gone          -> resolved   -> notify "resolved" (a pending one is dropped)
//!        event condition       -> event      -> notify once
//!   -> Evaluator: channels (crate::notify) -> delivery outcome on the alert
//! ```
//!
//! A silenced rule keeps its alerts' state (they are listed, marked silenced) but sends nothing
//! until the silence ends.

pub mod evaluate;
pub mod evaluator;
pub mod rule;

pub use evaluate::{findings, Finding, Snapshot};
pub use rule::{AlertRule, Channel, Condition, NewAlertRule};
