//! Rule hits at rest (migration 0031; see [`crate::rules::hits`]): each agent's latest reading
//! of each rate-limit rule's table, replaced whole by every heartbeat that carries readings.

use sqlx::Row;

use super::Store;
use crate::error::Result;
use crate::rules::{NodeHits, RuleHits};

impl Store {
    /// Keeps an agent's readings taken now, in place of its previous ones (a rule no longer
    /// rendered leaves no row behind). Not audited (it is not a change).
    pub async fn record_rule_hits(&self, agent_id: i64, hits: &[RuleHits]) -> Result<()> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM rule_hits WHERE agent_id = $1").bind(agent_id).execute(&mut *tx).await?;
        for h in hits {
            sqlx::query(
                "INSERT INTO rule_hits (agent_id, rule, tracked, over_limit, max_rate, measured_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (agent_id, rule) DO NOTHING",
            )
            .bind(agent_id)
            .bind(&h.rule)
            .bind(i64::try_from(h.tracked).unwrap_or(i64::MAX))
            .bind(i64::try_from(h.over_limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(h.max_rate).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

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
