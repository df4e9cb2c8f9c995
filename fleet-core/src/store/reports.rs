//! An agent's apply report as a batched write ([`super::batch`]): after an apply every agent of
//! a cluster reports within moments of the others, and 10,000 single-row commits would queue
//! behind each other (and behind the heartbeats) for seconds.

use std::collections::HashMap;

use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::batch::rounds;
use super::rows::{bind_rows, rows, statements};
use super::{to_json, Store, Tx};
use crate::error::Result;
use crate::model::AgentReport;

pub(crate) struct Report {
    pub(crate) agent_id: i64,
    pub(crate) report: AgentReport,
}

/// What became of one report.
pub(crate) enum Recorded {
    /// Recorded.
    Yes,
    /// No such agent (decommissioned meanwhile).
    NoAgent,
    /// The agent's cluster has no such version.
    NoVersion { cluster_id: i64 },
}

/// Writes `batch` in `tx`: on `applied` or `applied_runtime` the agent's applied version moves;
/// the last outcome, error and diagnostics are kept either way, and each report is audited
/// (`agent.report`). Reports are written by `UPDATE ... FROM (rows) RETURNING` (whose
/// rows are the answers, with what the audit entries name) and audited by
/// multi-row `INSERT`s ([`super::rows`]).
pub(crate) async fn write(store: &Store, tx: &mut Tx, batch: &[&Report]) -> Result<Vec<Recorded>> {
    let mut done: Vec<Recorded> = batch.iter().map(|_| Recorded::NoAgent).collect();
    let now = store.now();
    let mut audits = Vec::with_capacity(batch.len());
    // An agent twice in one batch: its reports are written in successive statements, in order.
    for round in rounds(batch.len(), |i| batch[i].agent_id) {
        for chunk in statements(store.backend(), &round) {
            let rows = rows(store.backend(), chunk.len(), &["BIGINT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT"]);
            // Columns: agent id, outcome, error, diagnostics, version, whether the outcome runs
            // the version (0/1), the time. A version the agent's cluster does not have matches
            // no row.
            let sql = format!(
                "UPDATE agents SET last_seen_at = v.column7, applied_version = CASE WHEN v.column6 = 1 THEN v.column5 ELSE agents.applied_version END, \
                 last_outcome = v.column2, last_error = v.column3, last_diagnostics = v.column4, last_report_version = v.column5, last_report_at = v.column7 \
                 FROM ({rows}) AS v \
                 WHERE agents.id = v.column1 AND EXISTS (SELECT 1 FROM config_versions cv WHERE cv.cluster_id = agents.cluster_id AND cv.number = v.column5) \
                 RETURNING agents.id, agents.cluster_id, agents.name"
            );
            let cells = chunk
                .iter()
                .map(|&i| {
                    let Report { agent_id, report } = batch[i];
                    let runs = i64::from(report.outcome.runs_version());
                    Ok((*agent_id, report.outcome.as_str(), report.error.as_deref(), to_json(&report.diagnostics)?, report.version, runs, now))
                })
                .collect::<Result<Vec<_>>>()?;
            let query = bind_rows(store.backend(), sqlx::query(&sql), cells)?;
            // Each agent's cluster and name.
            let mut recorded: HashMap<i64, (i64, String)> = HashMap::with_capacity(chunk.len());
            for row in query.fetch_all(&mut **tx).await? {
                recorded.insert(row.try_get("id")?, (row.try_get("cluster_id")?, row.try_get("name")?));
            }
            for &i in chunk {
                let Report { agent_id, report } = batch[i];
                let Some((cluster_id, name)) = recorded.remove(agent_id) else {
                    // Rare: tell a missing agent from a missing version.
                    let cluster = sqlx::query("SELECT cluster_id FROM agents WHERE id = $1").bind(*agent_id).fetch_optional(&mut **tx).await?;
                    if let Some(cluster) = cluster {
                        done[i] = Recorded::NoVersion { cluster_id: cluster.try_get("cluster_id")? };
                    }
                    continue;
                };
                let details = json!({"agent_id": agent_id, "outcome": report.outcome, "error": report.error});
                audits.push((format!("agent:{name}"), cluster_id, report.version, details));
                done[i] = Recorded::Yes;
            }
        }
    }
    let entries: Vec<Audit<'_>> = audits
        .iter()
        .map(|(actor, cluster_id, version, details)| Audit { actor, action: "agent.report", cluster_id: Some(*cluster_id), version: Some(*version), details: details.clone() })
        .collect();
    store.audit_many(tx, &entries).await?;
    Ok(done)
}
