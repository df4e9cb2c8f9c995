//! An agent's heartbeat as a batched write ([`super::batch`]): when it was last seen, its facts,
//! its interval, and what a rollout watches of the facts (migration 0032). Liveness only: not
//! audited. And what a heartbeat answers.

use std::collections::HashMap;

use sqlx::AnyConnection;
use sqlx::Row;

use super::batch::{rounds, values};
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

/// Heartbeats one statement writes at most (7 parameters each).
const PER_STATEMENT: usize = 500;

/// Writes `batch` in `tx`, [`PER_STATEMENT`] heartbeats per `UPDATE ... FROM (VALUES ...)`
/// (one statement per heartbeat kept a PostgreSQL writer busy with round trips): per
/// heartbeat, what it answers (none: no such agent). The answer depends only on the agent's
/// cluster, so it is read once per cluster of the batch, in `tx` (as of this batch, never
/// staler). The caller has locked the rows ([`super::batch::lock_agents`]).
pub(crate) async fn write(tx: &mut Tx, batch: &[&Heartbeat]) -> Result<Vec<Option<HeartbeatAnswer>>> {
    let mut clusters: HashMap<i64, i64> = HashMap::with_capacity(batch.len());
    // An agent twice in one batch (a retried request): each statement holds an agent once,
    // so its heartbeats are written in the order they came.
    for round in rounds(batch.len(), |i| batch[i].agent_id) {
        for chunk in round.chunks(PER_STATEMENT) {
            let rows = values(chunk.len(), &["BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "DOUBLE PRECISION"], 0);
            // VALUES columns are column1..column7 on both databases: id, at, facts, interval,
            // has health (0/1), HAProxy running (0/1), server-up ratio.
            let sql = format!(
                "UPDATE agents SET last_seen_at = v.column2, facts = COALESCE(v.column3, agents.facts), \
                 heartbeat_ms = COALESCE(v.column4, agents.heartbeat_ms), \
                 haproxy_running = CASE WHEN v.column5 = 1 THEN v.column6 ELSE agents.haproxy_running END, \
                 server_up_ratio = CASE WHEN v.column5 = 1 THEN v.column7 ELSE agents.server_up_ratio END \
                 FROM (VALUES {rows}) AS v WHERE agents.id = v.column1 RETURNING agents.id, agents.cluster_id"
            );
            let mut query = sqlx::query(&sql);
            for &i in chunk {
                let beat = batch[i];
                query = query
                    .bind(beat.agent_id)
                    .bind(beat.at)
                    .bind(beat.facts.as_deref())
                    .bind(beat.interval_ms)
                    .bind(i64::from(beat.health.is_some()))
                    .bind(beat.health.map(|(running, _)| i64::from(running)))
                    .bind(beat.health.and_then(|(_, ratio)| ratio));
            }
            for row in query.fetch_all(&mut **tx).await? {
                clusters.insert(row.try_get("id")?, row.try_get("cluster_id")?);
            }
        }
    }
    let mut answers: HashMap<i64, Option<HeartbeatAnswer>> = HashMap::new();
    for cluster_id in clusters.values() {
        if !answers.contains_key(cluster_id) {
            answers.insert(*cluster_id, answer(tx, *cluster_id).await?);
        }
    }
    Ok(batch.iter().map(|beat| clusters.get(&beat.agent_id).and_then(|id| answers.get(id).cloned().flatten())).collect())
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
