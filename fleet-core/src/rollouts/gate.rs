//! Which version each agent is told: the one rule the long-poll (`GET /api/v1/agent/desired`)
//! follows during a staged rollout.
//!
//! ```text
//! the cluster's latest rollout, while running, paused, halted or aborted, and staged
//!   -> Gate {version, previous, told}
//! version_for(gate, agent) = version    when the agent is told (its stage started, no rollback)
//!                          = previous   otherwise (also agents enrolled after the rollout began)
//! no gate (no rollout, "all", succeeded, rolled back) -> the cluster's desired version
//! ```
//!
//! `previous` may be none (nothing was applied before): such an agent is told nothing.

use std::collections::BTreeSet;

use super::machine::{Rollout, RolloutState};

/// What a governing rollout says about the cluster's agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// The rollout's version (the cluster's desired version).
    pub version: i64,
    /// What agents not told keep.
    pub previous: Option<i64>,
    /// Agents told the rollout's version.
    pub told: BTreeSet<i64>,
}

impl Gate {
    /// The gate of a cluster's latest rollout, if it governs: a staged rollout that did not
    /// succeed or roll back. A one-stage rollout (`"all"`) tells every agent at once, as an
    /// apply always did, so it never gates.
    pub fn of(latest: &Rollout) -> Option<Gate> {
        let governs = matches!(latest.state, RolloutState::Running | RolloutState::Paused | RolloutState::Halted | RolloutState::Aborted);
        (governs && !latest.strategy.is_all()).then(|| Gate { version: latest.version, previous: latest.previous_version, told: latest.told().collect() })
    }
}

/// The version agent `agent_id` is told: the cluster's `desired` version without a gate, else
/// the rollout's version when the agent was told it, else the previous one.
pub fn version_for(gate: Option<&Gate>, desired: Option<i64>, agent_id: i64) -> Option<i64> {
    match gate {
        None => desired,
        Some(gate) if gate.told.contains(&agent_id) => Some(gate.version),
        Some(gate) => gate.previous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollouts::strategy::{Batches, Canary, Strategy};
    use crate::rollouts::machine::AgentOutcome;

    #[test]
    fn agents_outside_started_stages_keep_the_previous_version() {
        let strategy = Strategy { canary: Some(Canary { agents: 1 }), batches: Some(Batches { percent: Some(50), ..Batches::default() }), ..Strategy::default() };
        let agents = [(1, "a".to_string()), (2, "b".to_string()), (3, "c".to_string())];
        let mut rollout = Rollout::new(9, 1, 5, Some(4), strategy, &agents, "admin", 0);
        let gate = Gate::of(&rollout).unwrap();
        assert_eq!(version_for(Some(&gate), Some(5), 1), Some(5), "the canary");
        assert_eq!(version_for(Some(&gate), Some(5), 2), Some(4));
        assert_eq!(version_for(Some(&gate), Some(5), 99), Some(4), "an agent enrolled since");
        rollout.agents[0].outcome = AgentOutcome::RolledBack;
        rollout.state = RolloutState::RolledBack;
        assert!(Gate::of(&rollout).is_none(), "a rollback moved the cluster's desired version back");
        rollout.state = RolloutState::Halted;
        assert_eq!(version_for(Gate::of(&rollout).as_ref(), Some(5), 1), Some(4));
        rollout.state = RolloutState::Succeeded;
        assert_eq!(version_for(Gate::of(&rollout).as_ref(), Some(5), 3), Some(5));
        let all = Rollout::new(10, 1, 5, Some(4), Strategy::default(), &agents, "admin", 0);
        assert!(Gate::of(&all).is_none());
        assert_eq!(version_for(None, Some(5), 2), Some(5));
    }
}
