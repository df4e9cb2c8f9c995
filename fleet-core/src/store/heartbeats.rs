//! An agent's heartbeat as a batched write ([`super::batch`]): when it was last seen, its facts,
//! its interval, and what a rollout watches of the facts (migration 0032). Liveness only: not
//! audited. And what a heartbeat answers.

use std::collections::HashMap;

use sqlx::AnyConnection;
use sqlx::Row;

use super::batch::ordered;
use super::{json_column, Store, Tx};
use crate::error::{Error, Result};
use crate::failover::settings::FailoverSettings;
use crate::model::ClusterSettings;
use crate::wire::HeartbeatAnswer;

#[derive(Clone)]
pub(crate) struct Heartbeat {
    pub(crate) agent_id: i64,
    /// The facts as JSON; none keeps the stored ones.
    pub(crate) facts: Option<String>,
    /// What a rollout watches of `facts` ([`crate::rollouts::machine::facts_health`]).
    pub(crate) health: Option<(bool, Option<f64>)>,
    /// None keeps the stored interval.
    pub(crate) interval_ms: Option<i64>,
    /// Unix ms.
    pub(crate) at: i64,
}

/// Writes `batch` in `tx`: per heartbeat, what it answers (none: no such agent). The answer
/// depends only on the agent's cluster, so it is read once per cluster of the batch, in `tx`
/// (as of this batch, never staler).
pub(crate) async fn write(tx: &mut Tx, batch: &[&Heartbeat]) -> Result<Vec<Option<HeartbeatAnswer>>> {
    let mut clusters: Vec<Option<i64>> = vec![None; batch.len()];
    for i in ordered(batch.len(), |i| batch[i].agent_id) {
        let beat = &batch[i];
        let updated = sqlx::query(
            "UPDATE agents SET last_seen_at = $1, facts = COALESCE($2, facts), heartbeat_ms = COALESCE($3, heartbeat_ms), \
             haproxy_running = CASE WHEN $5 THEN $6 ELSE haproxy_running END, \
             server_up_ratio = CASE WHEN $5 THEN $7 ELSE server_up_ratio END WHERE id = $4 RETURNING cluster_id",
        )
        .bind(beat.at)
        .bind(beat.facts.as_deref())
        .bind(beat.interval_ms)
        .bind(beat.agent_id)
        .bind(beat.health.is_some())
        .bind(beat.health.map(|(running, _)| i64::from(running)))
        .bind(beat.health.and_then(|(_, ratio)| ratio))
        .fetch_optional(&mut **tx)
        .await?;
        clusters[i] = updated.map(|row| row.try_get("cluster_id")).transpose()?;
    }
    let mut answers: HashMap<i64, Option<HeartbeatAnswer>> = HashMap::new();
    for cluster_id in clusters.iter().flatten() {
        if !answers.contains_key(cluster_id) {
            answers.insert(*cluster_id, answer(&mut **tx, *cluster_id).await?);
        }
    }
    Ok(clusters.iter().map(|c| c.and_then(|id| answers.get(&id).cloned().flatten())).collect())
}

/// What a heartbeat of an agent of cluster `cluster_id` answers: its pool's failover probe
/// (none when the pool has no failover or no probe) and the cluster's drift setting; none when
/// there is no such cluster.
async fn answer(conn: &mut AnyConnection, cluster_id: i64) -> Result<Option<HeartbeatAnswer>> {
    let row = sqlx::query(
        "SELECT c.settings AS settings, f.settings AS failover FROM clusters c \
         LEFT JOIN pool_failover f ON f.pool_id = c.pool_id WHERE c.id = $1",
    )
    .bind(cluster_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let settings: ClusterSettings = json_column(&row, "settings")?;
    let failover_probe = match row.try_get::<Option<String>, _>("failover")? {
        Some(text) => serde_json::from_str::<FailoverSettings>(&text).map_err(|e| Error::Corrupt(format!("pool failover settings: {e}")))?.effective_probe(),
        None => None,
    };
    Ok(Some(HeartbeatAnswer { failover_probe, drift: settings.drift }))
}

impl Store {
    /// What a heartbeat of an agent of cluster `cluster_id` answers ([`Store::heartbeat`]
    /// gives it too). Not found: no such cluster.
    pub async fn heartbeat_answer(&self, cluster_id: i64) -> Result<HeartbeatAnswer> {
        let mut conn = self.pool().acquire().await?;
        answer(&mut conn, cluster_id).await?.ok_or_else(|| Error::not_found(format!("cluster {cluster_id}")))
    }
}
