//! How an apply reaches a cluster's agents: `"all"` at once (the default), or stages — a canary
//! of N agents, then batches of a size or a percentage of the cluster — each waiting until its
//! agents applied the version and stayed healthy for the soak time.
//!
//! ```text
//! StrategySpec ("all" | {canary, batches, max_failures, soak_seconds, min_server_up_ratio, on_failure})
//!   -> Strategy::check                 422 naming the field
//!   -> Strategy::stages(agents)        agents by name: canary first, then the batches
//! ```

use serde::{Deserialize, Serialize};

/// The longest soak or pause a stage may ask for: one day, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 86_400;

/// A strategy as `POST /api/v1/clusters/{id}/apply` takes it: the word `"all"`, or the stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum StrategySpec {
    /// `"all"`: every agent at once (what an apply without a strategy does).
    Named(StrategyName),
    /// Stages.
    Staged(Strategy),
}

/// The strategies with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// Every agent at once.
    All,
}

impl StrategySpec {
    /// The strategy it names or spells out.
    pub fn strategy(&self) -> Strategy {
        match self {
            StrategySpec::Named(StrategyName::All) => Strategy::default(),
            StrategySpec::Staged(strategy) => strategy.clone(),
        }
    }
}

/// A staged strategy. Without `canary` and `batches` it is `"all"`: one stage of every agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// The first stage: this many agents (the first by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// The stages after the canary (without: the rest of the agents in one stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batches: Option<Batches>,
    /// Agents that may fail the version before the rollout stops (default 0: the first failure
    /// stops it). A failure within the allowance leaves that agent on its old configuration and
    /// the rollout goes on.
    #[serde(default)]
    pub max_failures: u32,
    /// How long, in seconds, every agent of a stage must stay healthy (heartbeats arriving,
    /// HAProxy answering, the server-up ratio held) after applying before the next stage starts
    /// (default 0, at most 86,400).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400))]
    pub soak_seconds: u64,
    /// The least share of HAProxy servers an agent's last heartbeat must show `UP` (or `no
    /// check`), 0 to 1 (servers in `MAINT` or `DRAIN` are left out); none: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1))]
    pub min_server_up_ratio: Option<f64>,
    /// What a failure beyond `max_failures` does (default `halt`).
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// The canary stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// How many agents, at least 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub agents: u32,
}

/// The stages after the canary: `size` agents each, or `percent` of the cluster's agents each
/// (rounded up); exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Batches {
    /// Agents per batch, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub size: Option<u32>,
    /// Share of the cluster's agents per batch, 1 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub percent: Option<u32>,
    /// Seconds to wait after a stage passed before the next starts (default 0, at most 86,400).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400))]
    pub pause_seconds: u64,
}

/// What a failure beyond `max_failures` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop: no further stage starts; agents already told keep the new version (a failed
    /// reload leaves the old configuration running on its node).
    #[default]
    Halt,
    /// Stop and tell every agent the rollout moved to go back to the previous version (the
    /// cluster's desired version becomes the previous one again).
    Rollback,
}

/// Why a strategy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// `canary.agents` is 0.
    #[error("strategy.canary.agents must be at least 1")]
    EmptyCanary,
    /// Both or neither of `batches.size` and `batches.percent`.
    #[error("strategy.batches needs exactly one of size and percent")]
    BatchShape,
    /// `batches.size` is 0.
    #[error("strategy.batches.size must be at least 1")]
    EmptyBatch,
    /// `batches.percent` outside 1..=100.
    #[error("strategy.batches.percent must be between 1 and 100, not {0}")]
    Percent(u32),
    /// A soak or pause beyond a day.
    #[error("strategy.{0} must be at most 86400 seconds")]
    TooLong(&'static str),
    /// `min_server_up_ratio` outside 0..=1.
    #[error("strategy.min_server_up_ratio must be between 0 and 1")]
    Ratio,
}

impl Strategy {
    /// Checks the numbers (see [`StrategyError`]).
    pub fn check(&self) -> Result<(), StrategyError> {
        if self.canary.is_some_and(|c| c.agents == 0) {
            return Err(StrategyError::EmptyCanary);
        }
        if let Some(batches) = &self.batches {
            match (batches.size, batches.percent) {
                (Some(0), None) => return Err(StrategyError::EmptyBatch),
                (Some(_), None) => {}
                (None, Some(p)) if !(1..=100).contains(&p) => return Err(StrategyError::Percent(p)),
                (None, Some(_)) => {}
                _ => return Err(StrategyError::BatchShape),
            }
            if batches.pause_seconds > MAX_WAIT_SECONDS {
                return Err(StrategyError::TooLong("batches.pause_seconds"));
            }
        }
        if self.soak_seconds > MAX_WAIT_SECONDS {
            return Err(StrategyError::TooLong("soak_seconds"));
        }
        if self.min_server_up_ratio.is_some_and(|r| !(0.0..=1.0).contains(&r) || r.is_nan()) {
            return Err(StrategyError::Ratio);
        }
        Ok(())
    }

    /// True for a one-stage strategy (`"all"`): no agent waits for another.
    pub fn is_all(&self) -> bool {
        self.canary.is_none() && self.batches.is_none()
    }

    /// The pause after each stage, in ms.
    pub fn pause_ms(&self) -> i64 {
        self.batches.map_or(0, |b| b.pause_seconds).saturating_mul(1000).try_into().unwrap_or(i64::MAX)
    }

    /// The stages over `count` agents (already in rollout order): how many agents each takes.
    /// Every stage takes at least one agent; no agents, no stages.
    pub fn stage_sizes(&self, count: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = count;
        if let Some(canary) = self.canary {
            let take = (canary.agents as usize).min(left);
            if take > 0 {
                sizes.push(take);
                left -= take;
            }
        }
        let batch = match self.batches {
            Some(Batches { size: Some(size), .. }) => (size as usize).max(1),
            Some(Batches { percent: Some(percent), .. }) => (count * percent as usize).div_ceil(100).max(1),
            _ => left.max(1),
        };
        while left > 0 {
            let take = batch.min(left);
            sizes.push(take);
            left -= take;
        }
        sizes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Strategy {
        serde_json::from_str::<StrategySpec>(json).unwrap().strategy()
    }

    #[test]
    fn the_pinned_shape_and_all_parse() {
        let s = parse(r#"{"canary":{"agents":1},"batches":{"percent":50},"max_failures":0}"#);
        assert_eq!(s.canary, Some(Canary { agents: 1 }));
        assert_eq!(s.batches.and_then(|b| b.percent), Some(50));
        assert_eq!(s.on_failure, OnFailure::Halt);
        assert!(parse(r#""all""#).is_all());
        assert!(serde_json::from_str::<StrategySpec>(r#""some""#).is_err());
        assert!(serde_json::from_str::<StrategySpec>(r#"{"canary":{"agents":1},"typo":1}"#).is_err());
    }

    #[test]
    fn stages_cover_every_agent_once() {
        let s = parse(r#"{"canary":{"agents":1},"batches":{"percent":50}}"#);
        assert_eq!(s.stage_sizes(4), vec![1, 2, 1]);
        assert_eq!(s.stage_sizes(3), vec![1, 2]);
        assert_eq!(s.stage_sizes(1), vec![1]);
        assert_eq!(s.stage_sizes(0), Vec::<usize>::new());
        assert_eq!(parse(r#"{"batches":{"size":3}}"#).stage_sizes(7), vec![3, 3, 1]);
        assert_eq!(parse(r#"{"canary":{"agents":2}}"#).stage_sizes(5), vec![2, 3]);
        assert_eq!(parse(r#""all""#).stage_sizes(5), vec![5]);
        assert_eq!(parse(r#"{"batches":{"percent":1}}"#).stage_sizes(3), vec![1, 1, 1]);
    }

    #[test]
    fn checks_name_the_field() {
        let bad = |json: &str| parse(json).check().unwrap_err().to_string();
        assert_eq!(bad(r#"{"canary":{"agents":0}}"#), "strategy.canary.agents must be at least 1");
        assert_eq!(bad(r#"{"batches":{"size":1,"percent":5}}"#), "strategy.batches needs exactly one of size and percent");
        assert_eq!(bad(r#"{"batches":{}}"#), "strategy.batches needs exactly one of size and percent");
        assert_eq!(bad(r#"{"batches":{"percent":101}}"#), "strategy.batches.percent must be between 1 and 100, not 101");
        assert_eq!(bad(r#"{"soak_seconds":86401}"#), "strategy.soak_seconds must be at most 86400 seconds");
        assert_eq!(bad(r#"{"min_server_up_ratio":1.5}"#), "strategy.min_server_up_ratio must be between 0 and 1");
        assert!(parse(r#"{"canary":{"agents":1},"batches":{"size":2,"pause_seconds":30},"soak_seconds":60,"min_server_up_ratio":0.9,"on_failure":"rollback"}"#).check().is_ok());
    }
}
