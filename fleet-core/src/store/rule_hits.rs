//! Rule hits at rest (migration 0031; see [`crate::rules::hits`]): each agent's latest reading
//! of each rate-limit rule's table, replaced whole by every heartbeat that carries readings ([`write`], in the heartbeat batch).

use sqlx::Row;

use std::collections::HashSet;

use super::rows::{bind_rows, rows, statements};
use super::heartbeats::Part;
use super::{Backend, Store, Tx};
use crate::error::Result;
use crate::rules::{NodeHits, RuleHits};

/// Keeps each agent's readings of a batch of heartbeats, in place of its previous ones (a rule
/// no longer rendered leaves no row behind; an agent twice: its last readings, a rule twice in
/// one: its first). Not audited (it is not a change).
pub(super) async fn write(backend: Backend, tx: &mut Tx, hits: &[Part<'_, Vec<RuleHits>>]) -> Result<()> {
    let latest = super::batch::latest_per_agent(hits);
    super::rows::delete_for_agents(backend, tx, "rule_hits", latest.keys().copied()).await?;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut readings = Vec::new();
    for (agent_id, part) in &latest {
        let mut seen = HashSet::new();
        let hits = part.value.iter().filter(|h| seen.insert(&h.rule));
        readings.extend(hits.map(|h| (*agent_id, h.rule.as_str(), count(h.tracked), count(h.over_limit), count(h.max_rate), part.at)));
    }
    for chunk in statements(backend, &readings) {
        let sql = format!(
            "INSERT INTO rule_hits (agent_id, rule, tracked, over_limit, max_rate, measured_at) {}",
            rows(backend, chunk.len(), &["BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"])
        );
        bind_rows(backend, sqlx::query(&sql), chunk.to_vec())?.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Each node's latest reading of rule `name` of the cluster, by agent name; 404 for an
    /// unknown cluster or rule. Empty when no agent has reported the rule (not a rate limit,
    /// disabled, not applied yet, or agents older than the readings).
    pub async fn rule_hits(&self, cluster_id: i64, name: &str) -> Result<Vec<NodeHits>> {
        self.rule(cluster_id, name).await?;
        let rows = sqlx::query(
            "SELECT a.name AS agent, h.tracked, h.over_limit, h.max_rate, h.measured_at FROM rule_hits h \
             JOIN agents a ON a.id = h.agent_id WHERE a.cluster_id = $1 AND h.rule = $2 ORDER BY a.name",
        )
        .bind(cluster_id)
        .bind(name)
        .fetch_all(self.pool())
        .await?;
        let count = |row: &sqlx::any::AnyRow, column: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0)) };
        rows.iter()
            .map(|row| {
                Ok(NodeHits {
                    agent: row.try_get("agent")?,
                    measured_at: row.try_get("measured_at")?,
                    hits: RuleHits {
                        rule: name.to_string(),
                        tracked: count(row, "tracked")?,
                        over_limit: count(row, "over_limit")?,
                        max_rate: count(row, "max_rate")?,
                    },
                })
            })
            .collect()
    }
}
