//! An agent's heartbeat as a batched write ([`super::batch`]): when it was last seen, its facts,
//! its interval, and what a rollout watches of the facts (migration 0032). Liveness only: not
//! audited.

use super::batch::{ordered, Batched};
use super::{Store, Tx};
use crate::error::Result;

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

impl Batched for Heartbeat {
    /// The agent exists (its row was updated).
    type Done = bool;

    async fn write<'a>(_store: &'a Store, tx: &'a mut Tx, batch: &'a [Self]) -> Result<Vec<bool>> {
        let mut found = vec![false; batch.len()];
        for i in ordered(batch.len(), |i| batch[i].agent_id) {
            let beat = &batch[i];
            let updated = sqlx::query(
                "UPDATE agents SET last_seen_at = $1, facts = COALESCE($2, facts), heartbeat_ms = COALESCE($3, heartbeat_ms), \
                 haproxy_running = CASE WHEN $5 THEN $6 ELSE haproxy_running END, \
                 server_up_ratio = CASE WHEN $5 THEN $7 ELSE server_up_ratio END WHERE id = $4",
            )
            .bind(beat.at)
            .bind(beat.facts.as_deref())
            .bind(beat.interval_ms)
            .bind(beat.agent_id)
            .bind(beat.health.is_some())
            .bind(beat.health.map(|(running, _)| i64::from(running)))
            .bind(beat.health.and_then(|(_, ratio)| ratio))
            .execute(&mut **tx)
            .await?;
            found[i] = updated.rows_affected() > 0;
        }
        Ok(found)
    }
}
