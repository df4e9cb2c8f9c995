//! A rollout's state machine: pure, fed with what the store observed of the agents and the
//! time, so it is tested without a database or agents.
//!
//! ```text
//! running --every stage passed-------------------------------> succeeded
//!    |  \--failures > max_failures, on_failure halt----------> halted      (frozen where it is)
//!    |   \-failures > max_failures, on_failure rollback------> rolled_back (previous version)
//!    |<-> paused (pause / resume: no stage starts, none passes)
//!    \----abort (running or paused)---------------------------> aborted     (frozen where it is)
//!
//! a stage: pending --(previous passed + pause)--> started: its agents are told the version
//!   each agent: told -> applied | applied_runtime (its applied version, or its report)
//!                    -> rejected | reload_failed | node_error | refused_by_node_policy
//!                       (a report of the version made after it was told)
//!                    -> unreachable (offline while told) / unhealthy (HAProxy down or the
//!                       server-up ratio below the threshold for UNHEALTHY_GRACE_MS)
//!   every agent applied and healthy (or failed within the allowance) -> soak starts;
//!   soak_seconds later, all still healthy -> passed
//! ```

use serde::{Deserialize, Serialize};

use super::strategy::{OnFailure, Strategy};
use crate::model::ApplyOutcome;

/// How long an applied agent may look unhealthy (HAProxy not answering, servers down) before
/// it counts as failed: a reload briefly hides HAProxy's runtime API from the heartbeat.
pub const UNHEALTHY_GRACE_MS: i64 = 15_000;

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    /// Stages start and pass as their agents apply the version.
    Running,
    /// Held by an operator: no stage starts or passes until resumed.
    Paused,
    /// Every stage passed.
    Succeeded,
    /// Stopped by failures: no further stage starts.
    Halted,
    /// Stopped by failures; every agent it moved was told the previous version again.
    RolledBack,
    /// Stopped by an operator (or superseded by another apply).
    Aborted,
}

impl RolloutState {
    /// The name stored in the database and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Paused => "paused",
            RolloutState::Succeeded => "succeeded",
            RolloutState::Halted => "halted",
            RolloutState::RolledBack => "rolled_back",
            RolloutState::Aborted => "aborted",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<RolloutState> {
        [RolloutState::Running, RolloutState::Paused, RolloutState::Succeeded, RolloutState::Halted, RolloutState::RolledBack, RolloutState::Aborted]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Succeeded, halted, rolled back or aborted: nothing moves any more.
    pub fn is_final(self) -> bool {
        !matches!(self, RolloutState::Running | RolloutState::Paused)
    }
}

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// Not started.
    Pending,
    /// Its agents were told the version.
    Started,
    /// Every agent applied and stayed healthy for the soak time.
    Passed,
    /// The failures beyond the allowance happened here.
    Failed,
}

/// One agent's outcome in a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentOutcome {
    /// Its stage has not started: it keeps its version.
    Pending,
    /// Told the version; no report of it yet.
    Applying,
    /// Runs the version (reloaded).
    Applied,
    /// Runs the version (through the runtime API, no reload).
    AppliedRuntime,
    /// `haproxy -c` refused the version on the node.
    Rejected,
    /// The reload failed; the node went back to its old configuration.
    ReloadFailed,
    /// The node failed (disk, permissions).
    NodeError,
    /// The node's own policy refused a privileged directive.
    RefusedByNodePolicy,
    /// Offline (no heartbeat for 3 intervals) while told the version.
    Unreachable,
    /// Applied, but HAProxy stopped answering or the server-up ratio fell below the threshold.
    Unhealthy,
    /// Told the previous version again by a rollback.
    RolledBack,
    /// Decommissioned during the rollout.
    Removed,
}

impl AgentOutcome {
    /// A failure counted against `max_failures`.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            AgentOutcome::Rejected
                | AgentOutcome::ReloadFailed
                | AgentOutcome::NodeError
                | AgentOutcome::RefusedByNodePolicy
                | AgentOutcome::Unreachable
                | AgentOutcome::Unhealthy
        )
    }

    /// Runs the rollout's version.
    pub fn is_applied(self) -> bool {
        matches!(self, AgentOutcome::Applied | AgentOutcome::AppliedRuntime)
    }

    fn from_report(outcome: ApplyOutcome) -> AgentOutcome {
        match outcome {
            ApplyOutcome::Applied => AgentOutcome::Applied,
            ApplyOutcome::AppliedRuntime => AgentOutcome::AppliedRuntime,
            ApplyOutcome::Rejected => AgentOutcome::Rejected,
            ApplyOutcome::ReloadFailed => AgentOutcome::ReloadFailed,
            ApplyOutcome::NodeError => AgentOutcome::NodeError,
            ApplyOutcome::RefusedByNodePolicy => AgentOutcome::RefusedByNodePolicy,
        }
    }
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    /// `canary`, `batch 1`, `batch 2` ... (`all` for a one-stage rollout).
    pub name: String,
    /// Where it stands.
    pub state: StageState,
    /// Its agents' names.
    pub agents: Vec<String>,
    /// When it may start (the end of the pause after the previous stage), Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// When its agents were told the version, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// When every agent was applied and healthy (the soak's start), Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_started_at: Option<i64>,
    /// When it passed or failed, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// One agent of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutAgent {
    /// The agent's id.
    pub id: i64,
    /// Its name in the cluster.
    pub name: String,
    /// Its stage (index into `stages`).
    pub stage: usize,
    /// How it went.
    pub outcome: AgentOutcome,
    /// HAProxy's or the node's message for a failure, or what looked unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was told the version, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told_at: Option<i64>,
    /// Since when it has looked unhealthy, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_since: Option<i64>,
}

/// A rollout of one version to a cluster's agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollout {
    /// Its id.
    pub rollout_id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// The version rolled out.
    pub version: i64,
    /// The cluster's desired version before (what agents not yet told keep; none: nothing was
    /// applied before).
    pub previous_version: Option<i64>,
    /// Where it stands.
    pub state: RolloutState,
    /// Why it stopped (halted, rolled back, aborted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The strategy.
    pub strategy: Strategy,
    /// Its stages in order.
    pub stages: Vec<Stage>,
    /// Every agent of the cluster when it started, by stage then name.
    pub agents: Vec<RolloutAgent>,
    /// Who applied.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last change.
    pub updated_at: i64,
    /// Unix ms of the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Bumped by every change: a replica saves its step only when nobody saved since it read
    /// (compare-and-set), so two replicas never both advance a rollout.
    pub revision: i64,
}

/// What the store knows of one agent right now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// The version it runs.
    pub applied_version: Option<i64>,
    /// Its last apply report: version, outcome, error, Unix ms.
    pub last_report: Option<(i64, ApplyOutcome, Option<String>, i64)>,
    /// Heartbeats arrive ([`crate::monitor::node_state`]).
    pub online: bool,
    /// Its last heartbeat carried HAProxy's runtime summary.
    pub haproxy_running: bool,
    /// Share of its HAProxy servers up in its last heartbeat (none: no servers, or unknown).
    pub server_up_ratio: Option<f64>,
}

/// What a step did, for the audit log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A stage's agents were told the version (the desired states change).
    StageStarted(usize),
    /// A stage passed.
    StagePassed(usize),
    /// An agent applied the version.
    AgentApplied(String, AgentOutcome),
    /// An agent failed.
    AgentFailed(String, AgentOutcome, Option<String>),
    /// An agent left the cluster.
    AgentRemoved(String),
    /// The rollout reached a final state (or was paused / resumed).
    State(RolloutState, Option<String>),
}

impl Event {
    /// The audit action and details.
    pub fn audit(&self, rollout: &Rollout) -> (&'static str, serde_json::Value) {
        use serde_json::json;
        let id = rollout.rollout_id;
        match self {
            Event::StageStarted(i) => ("rollout.stage_started", json!({"rollout_id": id, "stage": rollout.stages[*i].name, "agents": rollout.stages[*i].agents})),
            Event::StagePassed(i) => ("rollout.stage_passed", json!({"rollout_id": id, "stage": rollout.stages[*i].name})),
            Event::AgentApplied(name, outcome) => ("rollout.agent_applied", json!({"rollout_id": id, "agent": name, "outcome": outcome})),
            Event::AgentFailed(name, outcome, error) => ("rollout.agent_failed", json!({"rollout_id": id, "agent": name, "outcome": outcome, "error": error})),
            Event::AgentRemoved(name) => ("rollout.agent_removed", json!({"rollout_id": id, "agent": name})),
            Event::State(state, reason) => (state_action(*state), json!({"rollout_id": id, "reason": reason})),
        }
    }

    /// It changes which version some agent is told.
    pub fn moves_agents(&self) -> bool {
        matches!(self, Event::StageStarted(_) | Event::State(RolloutState::RolledBack, _))
    }
}

fn state_action(state: RolloutState) -> &'static str {
    match state {
        RolloutState::Running => "rollout.resume",
        RolloutState::Paused => "rollout.pause",
        RolloutState::Succeeded => "rollout.succeeded",
        RolloutState::Halted => "rollout.halted",
        RolloutState::RolledBack => "rollout.rolled_back",
        RolloutState::Aborted => "rollout.abort",
    }
}

/// Why an operator's request does not apply to the rollout as it stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Pausing or resuming a rollout in another state.
    #[error("rollout {id} is {state}, not {wanted}")]
    NotIn {
        /// The rollout.
        id: i64,
        /// Its state.
        state: &'static str,
        /// The state the request needs.
        wanted: &'static str,
    },
}

impl Rollout {
    /// A new rollout of `version` over `agents` (id, name), in name order, split into stages by
    /// `strategy`; the first stage starts at once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(rollout_id: i64, cluster_id: i64, version: i64, previous_version: Option<i64>, strategy: Strategy, agents: &[(i64, String)], created_by: &str, now: i64) -> Rollout {
        let mut sorted: Vec<&(i64, String)> = agents.iter().collect();
        sorted.sort_by(|a, b| a.1.cmp(&b.1));
        let sizes = strategy.stage_sizes(sorted.len());
        let mut stages = Vec::new();
        let mut members = Vec::new();
        let mut next = sorted.into_iter();
        for (index, size) in sizes.iter().enumerate() {
            let name = if strategy.is_all() {
                "all".to_string()
            } else if index == 0 && strategy.canary.is_some() {
                "canary".to_string()
            } else {
                format!("batch {}", index + usize::from(strategy.canary.is_none()))
            };
            let mut names = Vec::new();
            for (id, agent) in next.by_ref().take(*size) {
                names.push(agent.clone());
                members.push(RolloutAgent { id: *id, name: agent.clone(), stage: index, outcome: AgentOutcome::Pending, error: None, told_at: None, unhealthy_since: None });
            }
            stages.push(Stage { name, state: StageState::Pending, agents: names, not_before: None, started_at: None, soak_started_at: None, ended_at: None });
        }
        let mut rollout = Rollout {
            rollout_id,
            cluster_id,
            version,
            previous_version,
            state: RolloutState::Running,
            reason: None,
            strategy,
            stages,
            agents: members,
            created_by: created_by.to_string(),
            created_at: now,
            updated_at: now,
            finished_at: None,
            revision: 0,
        };
        if rollout.stages.is_empty() {
            rollout.finish(RolloutState::Succeeded, None, now);
        } else {
            rollout.start_stage(0, now);
        }
        rollout
    }

    /// The agents told the rollout's version (every agent of a started stage, unless a
    /// rollback told them the previous one again); the rest of the cluster is told
    /// [`Rollout::previous_version`] while the rollout governs (see [`super::gate`]).
    pub fn told(&self) -> impl Iterator<Item = i64> + '_ {
        self.agents.iter().filter(|a| a.outcome != AgentOutcome::Pending && a.outcome != AgentOutcome::RolledBack).map(|a| a.id)
    }

    /// Failures so far.
    pub fn failures(&self) -> usize {
        self.agents.iter().filter(|a| a.outcome.is_failure()).count()
    }

    fn start_stage(&mut self, index: usize, now: i64) {
        self.stages[index].state = StageState::Started;
        self.stages[index].started_at = Some(now);
        for agent in self.agents.iter_mut().filter(|a| a.stage == index && a.outcome == AgentOutcome::Pending) {
            agent.outcome = AgentOutcome::Applying;
            agent.told_at = Some(now);
        }
    }

    fn finish(&mut self, state: RolloutState, reason: Option<String>, now: i64) {
        self.state = state;
        self.reason = reason;
        self.finished_at = Some(now);
    }

    /// Pauses a running rollout.
    pub fn pause(&mut self, now: i64) -> Result<Event, ControlError> {
        self.require(RolloutState::Running)?;
        self.state = RolloutState::Paused;
        self.updated_at = now;
        Ok(Event::State(RolloutState::Paused, None))
    }

    /// Resumes a paused rollout; a stage whose soak was under way starts its soak again.
    pub fn resume(&mut self, now: i64) -> Result<Event, ControlError> {
        self.require(RolloutState::Paused)?;
        self.state = RolloutState::Running;
        for stage in self.stages.iter_mut().filter(|s| s.state == StageState::Started) {
            stage.soak_started_at = None;
        }
        self.updated_at = now;
        Ok(Event::State(RolloutState::Running, None))
    }

    /// Aborts a running or paused rollout where it stands.
    pub fn abort(&mut self, reason: &str, now: i64) -> Result<Event, ControlError> {
        if self.state.is_final() {
            return Err(ControlError::NotIn { id: self.rollout_id, state: self.state.as_str(), wanted: "running or paused" });
        }
        self.finish(RolloutState::Aborted, Some(reason.to_string()), now);
        self.updated_at = now;
        Ok(Event::State(RolloutState::Aborted, Some(reason.to_string())))
    }

    fn require(&self, wanted: RolloutState) -> Result<(), ControlError> {
        if self.state == wanted {
            return Ok(());
        }
        Err(ControlError::NotIn { id: self.rollout_id, state: self.state.as_str(), wanted: wanted.as_str() })
    }

    /// One step of a running rollout at `now`, given what the store observed of each agent
    /// (`observe(id)`: none when the agent was decommissioned). Returns what changed.
    pub fn step(&mut self, observe: impl Fn(i64) -> Option<Observation>, now: i64) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state != RolloutState::Running {
            return events;
        }
        let Some(index) = self.stages.iter().position(|s| s.state != StageState::Passed) else {
            self.finish(RolloutState::Succeeded, None, now);
            events.push(Event::State(RolloutState::Succeeded, None));
            return self.touched(events, now);
        };
        if self.stages[index].state == StageState::Pending {
            if self.stages[index].not_before.is_some_and(|t| now < t) {
                return events;
            }
            self.start_stage(index, now);
            events.push(Event::StageStarted(index));
            return self.touched(events, now);
        }
        let ratio = self.strategy.min_server_up_ratio;
        // `all` without soak or ratio is what an apply always was: done when every agent runs the
        // version. Health is judged only when asked for (a stage to soak, a ratio), so a node
        // whose HAProxy has no runtime API the agent reaches still completes a plain apply.
        let check_health = !self.strategy.is_all() || self.strategy.soak_seconds > 0 || ratio.is_some();
        let mut settled = true;
        for agent in self.agents.iter_mut().filter(|a| a.stage == index) {
            if matches!(agent.outcome, AgentOutcome::Removed) || agent.outcome.is_failure() {
                continue;
            }
            let Some(seen) = observe(agent.id) else {
                agent.outcome = AgentOutcome::Removed;
                events.push(Event::AgentRemoved(agent.name.clone()));
                continue;
            };
            if agent.outcome == AgentOutcome::Applying {
                let told = agent.told_at.unwrap_or(0);
                let report = seen.last_report.as_ref().filter(|r| r.0 == self.version && r.3 >= told);
                if let Some((_, outcome, error, _)) = report.filter(|r| !r.1.runs_version()) {
                    agent.outcome = AgentOutcome::from_report(*outcome);
                    agent.error = error.clone();
                    events.push(Event::AgentFailed(agent.name.clone(), agent.outcome, error.clone()));
                    continue;
                }
                if seen.applied_version == Some(self.version) {
                    agent.outcome = report.map_or(AgentOutcome::Applied, |r| AgentOutcome::from_report(r.1));
                    events.push(Event::AgentApplied(agent.name.clone(), agent.outcome));
                } else if !seen.online {
                    agent.outcome = AgentOutcome::Unreachable;
                    agent.error = Some("no heartbeat for 3 of its intervals".into());
                    events.push(Event::AgentFailed(agent.name.clone(), agent.outcome, agent.error.clone()));
                    continue;
                } else {
                    settled = false;
                    continue;
                }
            }
            match unhealthy(&seen, ratio).filter(|_| check_health) {
                None => agent.unhealthy_since = None,
                Some(why) => {
                    let since = *agent.unhealthy_since.get_or_insert(now);
                    settled = false;
                    if now - since >= UNHEALTHY_GRACE_MS {
                        agent.outcome = AgentOutcome::Unhealthy;
                        agent.error = Some(why);
                        events.push(Event::AgentFailed(agent.name.clone(), agent.outcome, agent.error.clone()));
                    }
                }
            }
        }
        if self.failures() > self.strategy.max_failures as usize {
            self.stages[index].state = StageState::Failed;
            self.stages[index].ended_at = Some(now);
            let reason = format!("{} agents failed version {} (max_failures {}) in stage {}", self.failures(), self.version, self.strategy.max_failures, self.stages[index].name);
            match (self.strategy.on_failure, self.previous_version) {
                (OnFailure::Rollback, Some(_)) => {
                    for agent in self.agents.iter_mut().filter(|a| a.outcome.is_applied() || a.outcome == AgentOutcome::Applying) {
                        agent.outcome = AgentOutcome::RolledBack;
                    }
                    self.finish(RolloutState::RolledBack, Some(reason.clone()), now);
                    events.push(Event::State(RolloutState::RolledBack, Some(reason)));
                }
                (OnFailure::Rollback, None) => {
                    let reason = format!("{reason}; no previous version to roll back to");
                    self.finish(RolloutState::Halted, Some(reason.clone()), now);
                    events.push(Event::State(RolloutState::Halted, Some(reason)));
                }
                (OnFailure::Halt, _) => {
                    self.finish(RolloutState::Halted, Some(reason.clone()), now);
                    events.push(Event::State(RolloutState::Halted, Some(reason)));
                }
            }
            return self.touched(events, now);
        }
        if !settled {
            // Someone turned unhealthy during the soak: it starts again once all are well.
            self.stages[index].soak_started_at = None;
            return self.touched_quietly(events, now);
        }
        let soak_start = *self.stages[index].soak_started_at.get_or_insert(now);
        let soak_ms = i64::try_from(self.strategy.soak_seconds).unwrap_or(i64::MAX / 2).saturating_mul(1000);
        if now - soak_start < soak_ms {
            return self.touched_quietly(events, now);
        }
        self.stages[index].state = StageState::Passed;
        self.stages[index].ended_at = Some(now);
        events.push(Event::StagePassed(index));
        if let Some(next) = self.stages.get_mut(index + 1) {
            next.not_before = Some(now.saturating_add(self.strategy.pause_ms()));
        } else {
            self.finish(RolloutState::Succeeded, None, now);
            events.push(Event::State(RolloutState::Succeeded, None));
        }
        self.touched(events, now)
    }

    fn touched(&mut self, events: Vec<Event>, now: i64) -> Vec<Event> {
        self.updated_at = now;
        events
    }

    fn touched_quietly(&mut self, events: Vec<Event>, now: i64) -> Vec<Event> {
        if !events.is_empty() {
            self.updated_at = now;
        }
        events
    }
}

/// Why an applied agent looks unhealthy, if it does.
fn unhealthy(seen: &Observation, min_ratio: Option<f64>) -> Option<String> {
    if !seen.online {
        return Some("no heartbeat for 3 of its intervals".into());
    }
    if !seen.haproxy_running {
        return Some("its last heartbeat did not reach HAProxy's runtime API".into());
    }
    match (min_ratio, seen.server_up_ratio) {
        (Some(min), Some(ratio)) if ratio < min => Some(format!("{:.0}% of its servers are up, below {:.0}%", ratio * 100.0, min * 100.0)),
        _ => None,
    }
}

/// What a rollout watches of an agent's facts: whether they carry HAProxy's runtime summary
/// (`facts.runtime`), and the share of its servers up ([`server_up_ratio`]).
pub fn facts_health(facts: &serde_json::Value) -> (bool, Option<f64>) {
    let runtime = facts.get("runtime").filter(|r| !r.is_null());
    (runtime.is_some(), runtime.and_then(server_up_ratio))
}

/// The share of servers up in an agent's runtime summary (`facts.runtime.servers`): `UP ...`
/// and `no check` are up, `MAINT` and `DRAIN` are left out; none without servers.
pub fn server_up_ratio(runtime: &serde_json::Value) -> Option<f64> {
    let servers = runtime.get("servers")?.as_object()?;
    let (mut up, mut counted) = (0u32, 0u32);
    for server in servers.values() {
        let status = server.get("status").and_then(|s| s.as_str()).unwrap_or("");
        if status.starts_with("MAINT") || status.starts_with("DRAIN") {
            continue;
        }
        counted += 1;
        if status.starts_with("UP") || status == "no check" {
            up += 1;
        }
    }
    (counted > 0).then(|| f64::from(up) / f64::from(counted))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::rollouts::strategy::{Batches, Canary};

    fn staged(extra: impl FnOnce(&mut Strategy)) -> Rollout {
        let mut strategy = Strategy { canary: Some(Canary { agents: 1 }), batches: Some(Batches { percent: Some(50), pause_seconds: 10, size: None }), ..Strategy::default() };
        extra(&mut strategy);
        let agents: Vec<(i64, String)> = (1..=4).map(|i| (i, format!("n{i}"))).collect();
        Rollout::new(7, 1, 3, Some(2), strategy, &agents, "admin", 1_000)
    }

    fn well(version: i64) -> Observation {
        Observation { applied_version: Some(version), last_report: None, online: true, haproxy_running: true, server_up_ratio: Some(1.0) }
    }

    #[test]
    fn a_good_version_passes_every_stage_after_soak_and_pause() {
        let mut r = staged(|s| s.soak_seconds = 5);
        assert_eq!(r.stages.iter().map(|s| s.agents.len()).collect::<Vec<_>>(), vec![1, 2, 1]);
        assert_eq!(r.told().collect::<Vec<_>>(), vec![1], "the canary is told at once");
        let mut seen: HashMap<i64, Observation> = (1..=4).map(|i| (i, well(2))).collect();
        assert!(r.step(|id| seen.get(&id).cloned(), 2_000).is_empty(), "nobody applied yet");
        seen.insert(1, well(3));
        assert_eq!(r.step(|id| seen.get(&id).cloned(), 3_000), vec![Event::AgentApplied("n1".into(), AgentOutcome::Applied)]);
        assert_eq!(r.stages[0].soak_started_at, Some(3_000));
        assert!(r.step(|id| seen.get(&id).cloned(), 7_999).is_empty(), "soaking");
        assert_eq!(r.step(|id| seen.get(&id).cloned(), 8_000), vec![Event::StagePassed(0)]);
        assert!(r.step(|id| seen.get(&id).cloned(), 17_999).is_empty(), "pausing");
        assert_eq!(r.step(|id| seen.get(&id).cloned(), 18_000), vec![Event::StageStarted(1)]);
        assert_eq!(r.told().collect::<Vec<_>>(), vec![1, 2, 3]);
        for i in 1..=4 {
            seen.insert(i, well(3));
        }
        r.step(|id| seen.get(&id).cloned(), 19_000);
        r.step(|id| seen.get(&id).cloned(), 24_000);
        r.step(|id| seen.get(&id).cloned(), 34_000);
        r.step(|id| seen.get(&id).cloned(), 35_000);
        let events = r.step(|id| seen.get(&id).cloned(), 40_000);
        assert_eq!(events, vec![Event::StagePassed(2), Event::State(RolloutState::Succeeded, None)]);
        assert_eq!(r.state, RolloutState::Succeeded);
        assert!(r.agents.iter().all(|a| a.outcome == AgentOutcome::Applied));
    }

    #[test]
    fn a_failed_canary_halts_and_leaves_the_others_pending() {
        let mut r = staged(|_| {});
        let mut seen: HashMap<i64, Observation> = (1..=4).map(|i| (i, well(2))).collect();
        // A failure of this version reported before the agent was told does not count.
        seen.get_mut(&1).unwrap().last_report = Some((3, ApplyOutcome::ReloadFailed, Some("old".into()), 500));
        assert!(r.step(|id| seen.get(&id).cloned(), 1_500).is_empty());
        seen.get_mut(&1).unwrap().last_report = Some((3, ApplyOutcome::ReloadFailed, Some("cannot bind".into()), 1_600));
        let events = r.step(|id| seen.get(&id).cloned(), 2_000);
        assert_eq!(events[0], Event::AgentFailed("n1".into(), AgentOutcome::ReloadFailed, Some("cannot bind".into())));
        assert!(matches!(events[1], Event::State(RolloutState::Halted, Some(_))));
        assert_eq!(r.stages[0].state, StageState::Failed);
        assert!(r.agents[1..].iter().all(|a| a.outcome == AgentOutcome::Pending));
        assert!(r.step(|id| seen.get(&id).cloned(), 3_000).is_empty(), "final");
    }

    #[test]
    fn rollback_tells_every_moved_agent_the_previous_version() {
        let mut r = staged(|s| {
            s.on_failure = OnFailure::Rollback;
            s.batches = Some(Batches { size: Some(3), ..Batches::default() });
        });
        let mut seen: HashMap<i64, Observation> = (1..=4).map(|i| (i, well(2))).collect();
        seen.insert(1, well(3));
        r.step(|id| seen.get(&id).cloned(), 2_000);
        r.step(|id| seen.get(&id).cloned(), 2_000);
        assert_eq!(r.stages[1].state, StageState::Started);
        seen.insert(2, Observation { applied_version: Some(2), last_report: Some((3, ApplyOutcome::Rejected, None, 2_500)), ..well(2) });
        seen.insert(4, well(3));
        let events = r.step(|id| seen.get(&id).cloned(), 3_000);
        assert!(events.iter().any(|e| e.moves_agents()), "{events:?}");
        assert_eq!(r.state, RolloutState::RolledBack);
        let outcomes: Vec<AgentOutcome> = r.agents.iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, vec![AgentOutcome::RolledBack, AgentOutcome::Rejected, AgentOutcome::RolledBack, AgentOutcome::RolledBack]);
        assert_eq!(r.told().count(), 1, "only the rejecting agent, which kept its old configuration itself");
    }

    #[test]
    fn failures_within_the_allowance_go_on_and_health_counts_after_a_grace() {
        let mut r = staged(|s| {
            s.max_failures = 1;
            s.min_server_up_ratio = Some(0.5);
            s.batches = None;
        });
        let mut seen: HashMap<i64, Observation> = (1..=4).map(|i| (i, well(3))).collect();
        seen.insert(1, Observation { server_up_ratio: Some(0.25), ..well(3) });
        r.step(|id| seen.get(&id).cloned(), 2_000);
        assert_eq!(r.agents[0].unhealthy_since, Some(2_000));
        assert_eq!(r.stages[0].state, StageState::Started);
        let events = r.step(|id| seen.get(&id).cloned(), 2_000 + UNHEALTHY_GRACE_MS);
        assert!(matches!(&events[0], Event::AgentFailed(n, AgentOutcome::Unhealthy, Some(why)) if n == "n1" && why.contains("25%")), "{events:?}");
        assert_eq!(r.state, RolloutState::Running, "one failure is allowed");
        r.step(|id| seen.get(&id).cloned(), 20_000);
        assert_eq!(r.stages[0].state, StageState::Passed, "a failure within the allowance settles its agent");
        r.step(|id| seen.get(&id).cloned(), 20_000);
        seen.remove(&4);
        seen.insert(3, Observation { online: false, ..well(2) });
        let events = r.step(|id| seen.get(&id).cloned(), 21_000);
        assert!(events.contains(&Event::AgentRemoved("n4".into())));
        assert_eq!(r.state, RolloutState::Halted, "the second failure (unreachable) is one too many");
    }

    #[test]
    fn pause_holds_resume_goes_on_abort_freezes() {
        let mut r = staged(|_| {});
        let seen: HashMap<i64, Observation> = (1..=4).map(|i| (i, well(3))).collect();
        assert_eq!(r.pause(1_100), Ok(Event::State(RolloutState::Paused, None)));
        assert!(r.pause(1_100).is_err());
        assert!(r.step(|id| seen.get(&id).cloned(), 2_000).is_empty(), "paused: nothing moves");
        r.resume(2_100).unwrap();
        r.step(|id| seen.get(&id).cloned(), 2_200);
        assert_eq!(r.stages[0].state, StageState::Passed);
        r.abort("operator", 2_300).unwrap();
        assert_eq!(r.state, RolloutState::Aborted);
        assert!(r.abort("again", 2_400).is_err());
        assert!(r.resume(2_400).unwrap_err().to_string().contains("is aborted, not paused"));
    }

    #[test]
    fn a_plain_apply_is_done_when_every_agent_runs_the_version() {
        let agents: Vec<(i64, String)> = (1..=2).map(|i| (i, format!("n{i}"))).collect();
        let mut r = Rollout::new(8, 1, 3, Some(2), Strategy::default(), &agents, "admin", 1_000);
        let seen = Observation { haproxy_running: false, server_up_ratio: None, ..well(3) };
        r.step(|_| Some(seen.clone()), 2_000);
        assert_eq!(r.state, RolloutState::Succeeded, "no health asked for: {r:?}");
        let mut soaked = Rollout::new(9, 1, 3, Some(2), Strategy { soak_seconds: 1, ..Strategy::default() }, &agents, "admin", 1_000);
        soaked.step(|_| Some(seen.clone()), 2_000);
        assert_eq!((soaked.state, soaked.agents[0].unhealthy_since), (RolloutState::Running, Some(2_000)), "a soak asks for health");
    }

    #[test]
    fn server_up_ratio_reads_the_runtime_summary() {
        let runtime = serde_json::json!({"servers": {"b/a": {"status": "UP"}, "b/b": {"status": "DOWN"}, "b/c": {"status": "MAINT"}, "b/d": {"status": "no check"}}});
        assert_eq!(server_up_ratio(&runtime), Some(2.0 / 3.0));
        assert_eq!(server_up_ratio(&serde_json::json!({"servers": {}})), None);
    }
}
