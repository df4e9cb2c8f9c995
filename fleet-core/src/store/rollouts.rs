//! Rollouts at rest (migration 0030; see [`crate::rollouts`]).
//!
//! ```text
//! start_rollout(actor, cluster, V, strategy), one write transaction:
//!   version V exists; previous = the desired version (or, while a staged rollout that stopped
//!   halfway governs, what its agents not told kept); running or paused rollouts -> aborted
//!   clusters.desired_version = V; rollouts row (number = last + 1, first stage told)
//!   audit cluster.apply {sha256, rollout_id, strategy}
//! save_rollout(rollout read at revision R, its step's events), one write transaction:
//!   UPDATE rollouts SET ... revision = R + 1 WHERE id AND revision = R
//!     0 rows -> another replica (or an operator) saved first: dropped, nothing written
//!     1 row  -> audit each event; a rollback sets the desired version back
//! ```

use std::collections::HashMap;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{is_unique_violation, json_column, to_json, Backend, Store};
use crate::error::{Error, Result};
use crate::model::{ApplyOutcome, VersionInfo};
use crate::monitor::{node_state, NodeState};
use crate::rollouts::machine::facts_health;
use crate::rollouts::{Event, Gate, Observation, Rollout, RolloutState, Strategy};

/// Rollouts a list shows at most.
pub const MAX_LISTED_ROLLOUTS: i64 = 100;

fn rollout_from_row(row: &AnyRow) -> Result<Rollout> {
    let mut rollout: Rollout = json_column(row, "body")?;
    rollout.revision = row.try_get("revision")?;
    Ok(rollout)
}

/// What an operator asks of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// No stage starts or passes until resumed.
    Pause,
    /// Goes on.
    Resume,
    /// Stops where it stands.
    Abort,
}

impl Store {
    /// Applies version `number` to the cluster by `strategy` (see the module doc): 422 for a
    /// strategy that does not check, 404 for an unknown cluster or version, 409 when another
    /// apply of the cluster won at the same moment. Answers the version and the rollout, whose
    /// first stage is told at once.
    pub async fn start_rollout(&self, actor: &str, cluster_id: i64, number: i64, strategy: &Strategy) -> Result<(VersionInfo, Rollout)> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        strategy.check().map_err(|e| Error::invalid(e.to_string()))?;
        let info = self.version_info_in(&mut tx, cluster_id, number).await?;
        let desired: Option<i64> = sqlx::query("SELECT desired_version FROM clusters WHERE id = $1").bind(cluster_id).fetch_one(&mut *tx).await?.try_get("desired_version")?;
        // What agents not yet told keep: the cluster's desired version, unless a staged rollout
        // stopped halfway governs it; then what its agents not told kept (a halted version is
        // not spread further while the new one rolls out).
        let latest = sqlx::query("SELECT body, revision FROM rollouts WHERE cluster_id = $1 ORDER BY number DESC LIMIT 1").bind(cluster_id).fetch_optional(&mut *tx).await?;
        let previous = match latest.as_ref().map(rollout_from_row).transpose()?.as_ref().and_then(Gate::of) {
            Some(gate) => gate.previous,
            None => desired,
        };
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let active = sqlx::query(&format!("SELECT body, revision FROM rollouts WHERE cluster_id = $1 AND state IN ('running', 'paused'){lock}"))
            .bind(cluster_id)
            .fetch_all(&mut *tx)
            .await?;
        for row in &active {
            let mut old = rollout_from_row(row)?;
            let reason = format!("superseded by the apply of version {number}");
            let Ok(event) = old.abort(&reason, now) else { continue };
            let before = old.revision;
            if !self.write_rollout(&mut tx, before, &mut old).await? {
                return Err(Error::Conflict(format!("rollout {} changed meanwhile: apply again", old.rollout_id)));
            }
            let (action, details) = event.audit(&old);
            self.audit(&mut tx, Audit { actor, action, cluster_id: Some(cluster_id), version: Some(old.version), details }).await?;
        }
        let agents: Vec<(i64, String)> = sqlx::query("SELECT id, name FROM agents WHERE cluster_id = $1")
            .bind(cluster_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
            .collect::<Result<_>>()?;
        let rollout = Rollout::new(self.new_id()?, cluster_id, number, previous, strategy.clone(), &agents, actor, now);
        let last: Option<i64> = sqlx::query("SELECT MAX(number) AS last FROM rollouts WHERE cluster_id = $1").bind(cluster_id).fetch_one(&mut *tx).await?.try_get("last")?;
        sqlx::query("INSERT INTO rollouts (id, cluster_id, number, version, state, body, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)")
            .bind(rollout.rollout_id)
            .bind(cluster_id)
            .bind(last.unwrap_or(0) + 1)
            .bind(number)
            .bind(rollout.state.as_str())
            .bind(to_json(&rollout)?)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { Error::Conflict(format!("another apply of cluster {cluster_id} won: apply again")) } else { e.into() })?;
        sqlx::query("UPDATE clusters SET desired_version = $1 WHERE id = $2").bind(number).bind(cluster_id).execute(&mut *tx).await?;
        let mut details = json!({"sha256": info.sha256, "rollout_id": rollout.rollout_id});
        if !strategy.is_all() {
            details["strategy"] = serde_json::to_value(strategy).unwrap_or_default();
        }
        self.audit(&mut tx, Audit { actor, action: "cluster.apply", cluster_id: Some(cluster_id), version: Some(number), details }).await?;
        tx.commit().await?;
        Ok((info, rollout))
    }

    /// One rollout of a cluster; 404 when unknown (or of another cluster).
    pub async fn rollout(&self, cluster_id: i64, id: i64) -> Result<Rollout> {
        let row = sqlx::query("SELECT body, revision FROM rollouts WHERE id = $1 AND cluster_id = $2")
            .bind(id)
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("rollout {id} of cluster {cluster_id}")))?;
        rollout_from_row(&row)
    }

    /// A cluster's rollouts, newest first, at most `limit` (1 to [`MAX_LISTED_ROLLOUTS`]).
    pub async fn rollouts(&self, cluster_id: i64, limit: i64) -> Result<Vec<Rollout>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query("SELECT body, revision FROM rollouts WHERE cluster_id = $1 ORDER BY number DESC LIMIT $2")
            .bind(cluster_id)
            .bind(limit.clamp(1, MAX_LISTED_ROLLOUTS))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(rollout_from_row).collect()
    }

    /// The cluster's latest rollout, if any (what decides which version each agent is told).
    pub async fn latest_rollout(&self, cluster_id: i64) -> Result<Option<Rollout>> {
        let row = sqlx::query("SELECT body, revision FROM rollouts WHERE cluster_id = $1 ORDER BY number DESC LIMIT 1")
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(rollout_from_row).transpose()
    }

    /// Every running rollout (what the driver steps).
    pub async fn running_rollouts(&self) -> Result<Vec<Rollout>> {
        let rows = sqlx::query("SELECT body, revision FROM rollouts WHERE state = 'running' ORDER BY created_at").fetch_all(self.pool()).await?;
        rows.iter().map(rollout_from_row).collect()
    }

    /// What the store knows now of each agent of the cluster, by id.
    pub async fn rollout_observations(&self, cluster_id: i64) -> Result<HashMap<i64, Observation>> {
        let now = self.now();
        // The facts only of agents whose health columns were not written yet (see migration
        // 0032): parsing 10,000 facts documents every tick is what those columns save.
        let rows = sqlx::query(
            "SELECT id, applied_version, last_outcome, last_error, last_report_version, last_report_at, last_seen_at, heartbeat_ms, \
             haproxy_running, server_up_ratio, CASE WHEN haproxy_running IS NULL THEN facts END AS facts \
             FROM agents WHERE cluster_id = $1",
        )
        .bind(cluster_id)
        .fetch_all(self.pool())
        .await?;
        let mut seen = HashMap::new();
        for row in &rows {
            let outcome: Option<String> = row.try_get("last_outcome")?;
            let report = match (row.try_get::<Option<i64>, _>("last_report_version")?, outcome.as_deref().and_then(|o| o.parse::<ApplyOutcome>().ok()), row.try_get::<Option<i64>, _>("last_report_at")?) {
                (Some(version), Some(outcome), Some(at)) => Some((version, outcome, row.try_get("last_error")?, at)),
                _ => None,
            };
            let (haproxy_running, server_up_ratio) = match row.try_get::<Option<i64>, _>("haproxy_running")? {
                Some(running) => (running != 0, row.try_get::<Option<f64>, _>("server_up_ratio")?),
                None => {
                    let facts = row.try_get::<Option<String>, _>("facts")?.unwrap_or_default();
                    facts_health(&serde_json::from_str(&facts).unwrap_or_default())
                }
            };
            seen.insert(
                row.try_get("id")?,
                Observation {
                    applied_version: row.try_get("applied_version")?,
                    last_report: report,
                    online: node_state(row.try_get("last_seen_at")?, row.try_get("heartbeat_ms")?, now) == NodeState::Online,
                    haproxy_running,
                    server_up_ratio,
                },
            );
        }
        Ok(seen)
    }

    /// Saves a step of `rollout` (read at its `revision`, which this bumps) and audits its
    /// events as `actor`; false when another replica or an operator saved first (nothing is
    /// written). A rollback sets the cluster's desired version back to the previous one.
    pub async fn save_rollout(&self, actor: &str, rollout: &mut Rollout, events: &[Event]) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        if !self.write_rollout(&mut tx, rollout.revision, rollout).await? {
            return Ok(false);
        }
        if rollout.state == RolloutState::RolledBack && events.iter().any(|e| matches!(e, Event::State(RolloutState::RolledBack, _))) {
            sqlx::query("UPDATE clusters SET desired_version = $1 WHERE id = $2")
                .bind(rollout.previous_version)
                .bind(rollout.cluster_id)
                .execute(&mut *tx)
                .await?;
        }
        for event in events {
            // Applied agents are in their own `agent.report` entries already; a 10,000-agent
            // apply does not write 10,000 more.
            if matches!(event, Event::AgentApplied(..)) {
                continue;
            }
            let (action, details) = event.audit(rollout);
            self.audit(&mut tx, Audit { actor, action, cluster_id: Some(rollout.cluster_id), version: Some(rollout.version), details }).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Pauses, resumes or aborts a rollout for `actor` (409 when its state does not allow it),
    /// retried when the driver saved a step meanwhile.
    pub async fn control_rollout(&self, actor: &str, cluster_id: i64, id: i64, control: Control) -> Result<Rollout> {
        for _ in 0..20 {
            let mut rollout = self.rollout(cluster_id, id).await?;
            let now = self.now();
            let event = match control {
                Control::Pause => rollout.pause(now),
                Control::Resume => rollout.resume(now),
                Control::Abort => rollout.abort(&format!("aborted by {actor}"), now),
            }
            .map_err(|e| Error::Conflict(e.to_string()))?;
            if self.save_rollout(actor, &mut rollout, &[event]).await? {
                return Ok(rollout);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(Error::Conflict(format!("rollout {id} keeps changing: try again")))
    }

    /// The compare-and-set of a rollout's row: bumps `rollout.revision` when it wins.
    async fn write_rollout(&self, tx: &mut super::Tx, before: i64, rollout: &mut Rollout) -> Result<bool> {
        rollout.revision = before + 1;
        let saved = sqlx::query("UPDATE rollouts SET state = $1, body = $2, revision = $3, updated_at = $4 WHERE id = $5 AND revision = $6")
            .bind(rollout.state.as_str())
            .bind(to_json(&*rollout)?)
            .bind(rollout.revision)
            .bind(rollout.updated_at)
            .bind(rollout.rollout_id)
            .bind(before)
            .execute(&mut **tx)
            .await?;
        if saved.rows_affected() == 0 {
            rollout.revision = before;
            return Ok(false);
        }
        Ok(true)
    }
}
