//! An agent's apply report as a batched write ([`super::batch`]): after an apply every agent of
//! a cluster reports within moments of the others, and 10,000 single-row commits would queue
//! behind each other (and behind the heartbeats) for seconds.

use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::agents::{agent_from_row, AGENT_COLUMNS};
use super::batch::ordered;
use super::{to_json, Store, Tx};
use crate::error::Result;
use crate::model::{Agent, AgentReport};

pub(crate) struct Report {
    pub(crate) agent_id: i64,
    pub(crate) report: AgentReport,
}

/// What became of one report.
pub(crate) enum Recorded {
    /// The agent as recorded.
    Yes(Box<Agent>),
    /// No such agent (decommissioned meanwhile).
    NoAgent,
    /// The agent's cluster has no such version.
    NoVersion { cluster_id: i64 },
}

/// Writes `batch` in `tx`: on `applied` or `applied_runtime` the agent's applied version moves;
/// the last outcome, error and diagnostics are kept either way, and each report is audited
/// (`agent.report`). One statement per report (its answer comes back with `RETURNING`), and one
/// per 100 audit entries.
pub(crate) async fn write(store: &Store, tx: &mut Tx, batch: &[&Report]) -> Result<Vec<Recorded>> {
    let mut done: Vec<Recorded> = batch.iter().map(|_| Recorded::NoAgent).collect();
    let now = store.now();
    let mut audits = Vec::with_capacity(batch.len());
    for i in ordered(batch.len(), |i| batch[i].agent_id) {
        let Report { agent_id, report } = batch[i];
        let row = sqlx::query(&format!(
            "UPDATE agents SET last_seen_at = $1, applied_version = CASE WHEN $7 THEN $6 ELSE applied_version END, \
             last_outcome = $2, last_error = $3, last_diagnostics = $4, last_report_version = $6, last_report_at = $1 \
             WHERE id = $5 AND EXISTS (SELECT 1 FROM config_versions v WHERE v.cluster_id = agents.cluster_id AND v.number = $6) \
             RETURNING {AGENT_COLUMNS}"
        ))
        .bind(now)
        .bind(report.outcome.as_str())
        .bind(report.error.as_deref())
        .bind(to_json(&report.diagnostics)?)
        .bind(*agent_id)
        .bind(report.version)
        .bind(report.outcome.runs_version())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            // Rare: tell a missing agent from a missing version.
            let cluster = sqlx::query("SELECT cluster_id FROM agents WHERE id = $1").bind(*agent_id).fetch_optional(&mut **tx).await?;
            if let Some(cluster) = cluster {
                done[i] = Recorded::NoVersion { cluster_id: cluster.try_get("cluster_id")? };
            }
            continue;
        };
        let agent = agent_from_row(&row, now)?;
        let details = json!({"agent_id": agent_id, "outcome": report.outcome, "error": report.error});
        audits.push((format!("agent:{}", agent.name), agent.cluster_id, report.version, details));
        done[i] = Recorded::Yes(Box::new(agent));
    }
    let entries: Vec<Audit<'_>> = audits
        .iter()
        .map(|(actor, cluster_id, version, details)| Audit { actor, action: "agent.report", cluster_id: Some(*cluster_id), version: Some(*version), details: details.clone() })
        .collect();
    store.audit_many(tx, &entries).await?;
    Ok(done)
}
