//! Node truth: an agent is `online` while its heartbeats arrive, `offline` once
//! [`OFFLINE_AFTER_INTERVALS`] of its own heartbeat intervals pass without one.

use serde::{Deserialize, Serialize};

/// Heartbeat intervals without a heartbeat after which an agent is offline.
pub const OFFLINE_AFTER_INTERVALS: i64 = 3;

/// The interval assumed for agents that do not report theirs (fleet-agent's default
/// `--heartbeat-seconds 5`, older agents), in ms.
pub const DEFAULT_HEARTBEAT_MS: i64 = 5_000;

/// Whether an agent is alive, as its heartbeats say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// A heartbeat (or report) arrived within the last 3 heartbeat intervals.
    Online,
    /// None did (or the agent never spoke).
    #[default]
    Offline,
}

impl NodeState {
    /// `online` or `offline`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Online => "online",
            NodeState::Offline => "offline",
        }
    }
}

/// The state of an agent last heard from at `last_seen_at` (ms), heartbeating every
/// `heartbeat_ms` (none or not positive: [`DEFAULT_HEARTBEAT_MS`]), at `now_ms`: online while
/// `now - last_seen_at <= 3 × interval`. A `last_seen_at` in the future (clocks of several
/// server replicas) counts as just seen.
pub fn node_state(last_seen_at: Option<i64>, heartbeat_ms: Option<i64>, now_ms: i64) -> NodeState {
    let interval = heartbeat_ms.filter(|ms| *ms > 0).unwrap_or(DEFAULT_HEARTBEAT_MS);
    match last_seen_at {
        Some(at) if now_ms.saturating_sub(at) <= interval.saturating_mul(OFFLINE_AFTER_INTERVALS) => NodeState::Online,
        _ => NodeState::Offline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, ManualClock};

    #[test]
    fn offline_after_three_missed_intervals_of_the_agents_own_interval() {
        let clock = ManualClock::new(1_000_000);
        let seen = Some(clock.now_ms());
        assert_eq!(node_state(seen, Some(1_000), clock.now_ms()), NodeState::Online);
        clock.advance(3_000);
        assert_eq!(node_state(seen, Some(1_000), clock.now_ms()), NodeState::Online, "exactly 3 intervals");
        clock.advance(1);
        assert_eq!(node_state(seen, Some(1_000), clock.now_ms()), NodeState::Offline);
        // A slower agent has more time.
        assert_eq!(node_state(seen, Some(10_000), clock.now_ms()), NodeState::Online);
        // Unknown interval: the agent's default.
        assert_eq!(node_state(seen, None, clock.now_ms()), NodeState::Online);
        assert_eq!(node_state(seen, Some(0), 1_000_000 + 15_001), NodeState::Offline);
        assert_eq!(node_state(None, Some(1_000), clock.now_ms()), NodeState::Offline, "never seen");
        assert_eq!(node_state(Some(2_000_000), Some(1_000), clock.now_ms()), NodeState::Online, "seen in the future");
    }
}

/// What the fleet overview shows of a node: its measured state and what it runs, without the
/// heavy parts of [`crate::Agent`] (runtime summary, drift diffs, diagnostics, interfaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSummary {
    /// The agent's id.
    pub id: i64,
    /// Its cluster.
    pub cluster_id: i64,
    /// Its name in the cluster.
    pub name: String,
    /// The node's hostname.
    pub hostname: String,
    /// Online or offline as of the read ([`node_state`]).
    pub state: NodeState,
    /// Last heartbeat or report, Unix ms.
    pub last_seen_at: Option<i64>,
    /// The version it runs.
    pub applied_version: Option<i64>,
    /// How its last apply went.
    pub last_outcome: Option<crate::ApplyOutcome>,
    /// HAProxy's message when the last apply failed.
    pub last_error: Option<String>,
    /// `haproxy -v` as the agent reported it.
    pub haproxy_version: Option<String>,
    /// How many managed files differ on the node from what it applied (0: no drift).
    pub drifted_files: usize,
}

impl From<&crate::Agent> for NodeSummary {
    fn from(agent: &crate::Agent) -> NodeSummary {
        NodeSummary {
            id: agent.id,
            cluster_id: agent.cluster_id,
            name: agent.name.clone(),
            hostname: agent.hostname.clone(),
            state: agent.state,
            last_seen_at: agent.last_seen_at,
            applied_version: agent.applied_version,
            last_outcome: agent.last_outcome,
            last_error: agent.last_error.clone(),
            haproxy_version: agent.facts.get("haproxy_version").and_then(|v| v.as_str()).map(str::to_string),
            drifted_files: agent.drift.as_ref().map_or(0, |d| d.files.len()),
        }
    }
}
