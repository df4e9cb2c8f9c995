//! Has a rollout finished? The one rule `fleet apply --wait` (and anything else that watches an
//! apply) follows.
//!
//! ```text
//! apply version V -> Convergence::new(V, agents now)          agents already running V: applied
//!   agent reports (event stream: audit `agent.report` of V)  -> applied | failed, per agent
//!   status reads (every agent's applied version)             -> applied when it runs V
//!   finished() when every agent is applied or failed; succeeded() when all applied (and >= 1)
//! ```
//!
//! An agent's stored `last_outcome` does not say which version it was about, so a failure counts
//! only when a report of version V says so; a success shows in the agent's applied version too.

use serde::Serialize;

use crate::model::{Agent, ApplyOutcome};

/// Where one agent stands in a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentProgress {
    /// It has not reported the version yet.
    Waiting,
    /// It runs the version (`applied` or `applied_runtime`).
    Applied {
        /// How it applied it, when its report was seen.
        outcome: Option<ApplyOutcome>,
    },
    /// It reported a failure for the version; the old configuration keeps running there.
    Failed {
        /// What failed.
        outcome: ApplyOutcome,
        /// HAProxy's or the node's message.
        error: Option<String>,
    },
}

/// One agent of the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRollout {
    /// The agent's id.
    pub id: i64,
    /// Its name in the cluster.
    pub name: String,
    /// Where it stands.
    #[serde(flatten)]
    pub progress: AgentProgress,
}

/// The rollout of one version to a cluster's agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Convergence {
    /// The version being rolled out.
    pub version: i64,
    /// Every agent of the cluster, by name.
    pub agents: Vec<AgentRollout>,
}

impl Convergence {
    /// The rollout of `version` to `agents` (the cluster's status right after the apply).
    pub fn new(version: i64, agents: &[Agent]) -> Convergence {
        let mut rollout = Convergence { version, agents: Vec::new() };
        rollout.observe_status(agents);
        rollout
    }

    /// Takes a fresh status read: new agents join the rollout, agents running the version are
    /// applied, revoked agents leave it.
    pub fn observe_status(&mut self, agents: &[Agent]) {
        self.agents.retain(|known| agents.iter().any(|a| a.id == known.id));
        for agent in agents {
            let index = match self.agents.iter().position(|known| known.id == agent.id) {
                Some(index) => index,
                None => {
                    self.agents.push(AgentRollout { id: agent.id, name: agent.name.clone(), progress: AgentProgress::Waiting });
                    self.agents.len() - 1
                }
            };
            let entry = &mut self.agents[index];
            if agent.applied_version == Some(self.version) && !matches!(entry.progress, AgentProgress::Applied { .. }) {
                entry.progress = AgentProgress::Applied { outcome: None };
            }
        }
        self.agents.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Takes an agent's report: only a report about this rollout's version counts. Returns true
    /// when it changed the agent's progress.
    pub fn observe_report(&mut self, agent_id: i64, version: i64, outcome: ApplyOutcome, error: Option<String>) -> bool {
        if version != self.version {
            return false;
        }
        let Some(entry) = self.agents.iter_mut().find(|a| a.id == agent_id) else { return false };
        let progress = if outcome.runs_version() {
            AgentProgress::Applied { outcome: Some(outcome) }
        } else {
            AgentProgress::Failed { outcome, error }
        };
        let changed = entry.progress != progress;
        entry.progress = progress;
        changed
    }

    /// Every agent applied the version or failed it.
    pub fn finished(&self) -> bool {
        self.agents.iter().all(|a| a.progress != AgentProgress::Waiting)
    }

    /// At least one agent, and every agent applied the version.
    pub fn succeeded(&self) -> bool {
        !self.agents.is_empty() && self.agents.iter().all(|a| matches!(a.progress, AgentProgress::Applied { .. }))
    }

    /// How many agents applied the version.
    pub fn applied(&self) -> usize {
        self.agents.iter().filter(|a| matches!(a.progress, AgentProgress::Applied { .. })).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: i64, name: &str, applied: Option<i64>, outcome: Option<ApplyOutcome>) -> Agent {
        Agent {
            id,
            cluster_id: 1,
            name: name.into(),
            hostname: format!("{name}.test"),
            facts: serde_json::Value::Null,
            last_seen_at: None,
            state: Default::default(),
            heartbeat_ms: None,
            drift: None,
            applied_version: applied,
            last_outcome: outcome,
            last_error: None,
            last_diagnostics: Vec::new(),
            keepalived: None,
            interfaces: Vec::new(),
            created_at: 0,
        }
    }

    #[test]
    fn an_old_failure_does_not_fail_a_new_rollout() {
        let agents = [agent(1, "b", Some(2), Some(ApplyOutcome::Rejected)), agent(2, "a", Some(3), Some(ApplyOutcome::Applied))];
        let mut rollout = Convergence::new(3, &agents);
        assert_eq!(rollout.agents[0].name, "a", "sorted by name");
        assert_eq!(rollout.agents[0].progress, AgentProgress::Applied { outcome: None }, "already runs 3");
        assert_eq!(rollout.agents[1].progress, AgentProgress::Waiting, "its rejection was about another version");
        assert!(!rollout.finished());
        assert!(!rollout.observe_report(1, 2, ApplyOutcome::Rejected, None), "a report of another version");
        assert!(rollout.observe_report(1, 3, ApplyOutcome::AppliedRuntime, None));
        assert!(rollout.finished() && rollout.succeeded());
        assert_eq!(rollout.applied(), 2);
    }

    #[test]
    fn a_failure_finishes_without_success() {
        let mut rollout = Convergence::new(4, &[agent(1, "a", Some(3), None), agent(2, "b", Some(3), None)]);
        assert!(rollout.observe_report(1, 4, ApplyOutcome::ReloadFailed, Some("bind failed".into())));
        assert!(!rollout.finished());
        rollout.observe_status(&[agent(1, "a", Some(3), None), agent(2, "b", Some(4), None)]);
        assert!(rollout.finished() && !rollout.succeeded());
        assert_eq!(rollout.agents[0].progress, AgentProgress::Failed { outcome: ApplyOutcome::ReloadFailed, error: Some("bind failed".into()) });
    }

    #[test]
    fn no_agents_is_no_success_and_agents_come_and_go() {
        let mut rollout = Convergence::new(1, &[]);
        assert!(rollout.finished() && !rollout.succeeded(), "nothing applied it");
        rollout.observe_status(&[agent(5, "new", None, None)]);
        assert!(!rollout.finished());
        rollout.observe_status(&[]);
        assert!(rollout.agents.is_empty(), "a revoked agent leaves the rollout");
    }
}
