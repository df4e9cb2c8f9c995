//! Where a version stands on a cluster's nodes, for answers that tell the truth about a commit:
//! [`crate::convergence::Convergence`] fed from the cluster's status and the agents' reports of
//! that version (audit `agent.report`), and a bounded wait for it to finish.
//!
//! ```text
//! commit + apply V -> wait_rollout(V, bound) -> finished: every agent applied V, or some failed
//!                                            -> bound reached: still waiting on some agents
//! ```

use std::time::Duration;

use crate::convergence::Convergence;
use crate::error::Result;
use crate::model::ApplyOutcome;
use crate::store::{AuditFilter, Store};

/// How often [`wait_rollout`] reads the status again.
const POLL: Duration = Duration::from_millis(100);

/// The rollout of `version` on `cluster_id` as of now.
pub async fn rollout(store: &Store, cluster_id: i64, version: i64) -> Result<Convergence> {
    let status = store.status(cluster_id).await?;
    let mut rollout = Convergence::new(version, &status.agents);
    let filter = AuditFilter { cluster_id: Some(cluster_id), actor: None, action: Some("agent.report".into()), limit: 1000 };
    let reports = store.audit_entries(&filter).await?;
    // Newest first: observed oldest first, so an agent's latest report of the version wins.
    for entry in reports.iter().rev().filter(|e| e.version == Some(version)) {
        let agent_id = entry.details.get("agent_id").and_then(serde_json::Value::as_i64);
        let outcome = entry.details.get("outcome").and_then(|o| serde_json::from_value::<ApplyOutcome>(o.clone()).ok());
        let error = entry.details.get("error").and_then(serde_json::Value::as_str).map(str::to_string);
        if let (Some(agent_id), Some(outcome)) = (agent_id, outcome) {
            rollout.observe_report(agent_id, version, outcome, error);
        }
    }
    rollout.observe_status(&status.agents);
    Ok(rollout)
}

/// [`rollout`] once it has finished, or as it stands when `bound` has passed.
pub async fn wait_rollout(store: &Store, cluster_id: i64, version: i64, bound: Duration) -> Result<Convergence> {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let current = rollout(store, cluster_id, version).await?;
        if current.finished() || tokio::time::Instant::now() >= deadline {
            return Ok(current);
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
    }
}
