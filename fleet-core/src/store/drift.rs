//! Agents' drift reports from their heartbeats ([`crate::monitor::drift::transition`] decides):
//! the files that differ now (bounded again here: the agent's bound is not trusted) and since
//! when, audited when the drift starts, changes its files or ends, and for every file the agent
//! restored.

use std::collections::HashMap;

use serde_json::json;

use super::audit::Audit;
use super::heartbeats::Part;
use super::{to_json, Store, Tx};
use crate::error::Result;
use crate::monitor::drift::{self, DriftReport};
use crate::monitor::Drift;

/// Writes `reports` (in their order; an agent twice moves on from its first report) in `tx`:
/// one `UPDATE` per agent whose drift changed (rare), and their audit entries.
pub(super) async fn write(store: &Store, tx: &mut Tx, reports: &[Part<'_, DriftReport>]) -> Result<()> {
    let mut current: HashMap<i64, (Option<Drift>, bool)> = HashMap::new();
    let mut audits = Vec::new();
    for report in reports {
        let (drift, changed) = match current.entry(report.agent_id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert((report.agent.drift()?, false)),
        };
        let (next, entries) = drift::transition(drift.as_ref(), report.value.clone(), report.at);
        *changed |= next != *drift;
        *drift = next;
        for (action, mut details) in entries {
            if let Some(object) = details.as_object_mut() {
                object.insert("agent_id".into(), json!(report.agent_id));
            }
            audits.push((format!("agent:{}", report.agent.name), action, report.agent.cluster_id, report.agent.applied_version, details));
        }
    }
    for (agent_id, (next, _)) in current.iter().filter(|(_, (_, changed))| *changed) {
        sqlx::query("UPDATE agents SET drift = $1, drift_since = $2 WHERE id = $3")
            .bind(next.as_ref().map(|d| to_json(&d.files)).transpose()?)
            .bind(next.as_ref().map(|d| d.since))
            .bind(*agent_id)
            .execute(&mut **tx)
            .await?;
    }
    let entries: Vec<Audit<'_>> = audits
        .iter()
        .map(|(actor, action, cluster_id, version, details)| Audit { actor, action, cluster_id: Some(*cluster_id), version: *version, details: details.clone() })
        .collect();
    store.audit_many(tx, &entries).await
}
