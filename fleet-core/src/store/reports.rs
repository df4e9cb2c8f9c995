//! An agent's apply report as a batched write ([`super::batch`]): after an apply every agent of
//! a cluster reports within moments of the others, and 10,000 single-row commits would queue
//! behind each other (and behind the heartbeats) for seconds.

use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::batch::{ordered, Batched};
use super::{to_json, Store, Tx};
use crate::error::Result;
use crate::model::AgentReport;

#[derive(Clone)]
pub(crate) struct Report {
    pub(crate) agent_id: i64,
    pub(crate) report: AgentReport,
}

/// What became of one report.
pub(crate) enum Recorded {
    Yes,
    /// No such agent (decommissioned meanwhile).
    NoAgent,
    /// The agent's cluster has no such version.
    NoVersion { cluster_id: i64 },
}

impl Batched for Report {
    type Done = Recorded;

    /// On `applied` or `applied_runtime` the agent's applied version moves; the last outcome,
    /// error and diagnostics are kept either way, and each report is audited (`agent.report`).
    async fn write<'a>(store: &'a Store, tx: &'a mut Tx, batch: &'a [Self]) -> Result<Vec<Recorded>> {
        let mut done: Vec<Recorded> = batch.iter().map(|_| Recorded::NoAgent).collect();
        let now = store.now();
        let mut audits = Vec::with_capacity(batch.len());
        for i in ordered(batch.len(), |i| batch[i].agent_id) {
            let Report { agent_id, report } = &batch[i];
            let Some(agent) = sqlx::query(
                "SELECT a.cluster_id, a.name, a.applied_version, v.number FROM agents a \
                 LEFT JOIN config_versions v ON v.cluster_id = a.cluster_id AND v.number = $2 WHERE a.id = $1",
            )
            .bind(agent_id)
            .bind(report.version)
            .fetch_optional(&mut **tx)
            .await?
            else {
                continue;
            };
            let cluster_id: i64 = agent.try_get("cluster_id")?;
            if agent.try_get::<Option<i64>, _>("number")?.is_none() {
                done[i] = Recorded::NoVersion { cluster_id };
                continue;
            }
            let applied = if report.outcome.runs_version() { Some(report.version) } else { agent.try_get::<Option<i64>, _>("applied_version")? };
            sqlx::query(
                "UPDATE agents SET last_seen_at = $1, applied_version = $2, last_outcome = $3, last_error = $4, \
                 last_diagnostics = $5, last_report_version = $7, last_report_at = $1 WHERE id = $6",
            )
            .bind(now)
            .bind(applied)
            .bind(report.outcome.as_str())
            .bind(report.error.as_deref())
            .bind(to_json(&report.diagnostics)?)
            .bind(agent_id)
            .bind(report.version)
            .execute(&mut **tx)
            .await?;
            let details = json!({"agent_id": agent_id, "outcome": report.outcome, "error": report.error});
            audits.push((format!("agent:{}", agent.try_get::<String, _>("name")?), cluster_id, report.version, details));
            done[i] = Recorded::Yes;
        }
        let entries: Vec<Audit<'_>> = audits
            .iter()
            .map(|(actor, cluster_id, version, details)| Audit { actor, action: "agent.report", cluster_id: Some(*cluster_id), version: Some(*version), details: details.clone() })
            .collect();
        store.audit_many(tx, &entries).await?;
        Ok(done)
    }
}
