//! Managing agents and enrolments: list a cluster's agents and pending enrolments, revoke an
//! agent (its token stops working at once and it leaves the cluster's status), rotate an
//! agent's token, revoke an enrolment before it is used.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::agents::{agent_from_row, AGENT_COLUMNS};
use super::audit::Audit;
use super::{json_column, Store};
use crate::error::{Error, Result};
use crate::model::{Agent, ApplyOutcome, Enrolment};
use crate::monitor::{node_state, NodeSummary};
use crate::secret::{new_token, sha256_hex};

fn enrolment_from_row(row: &AnyRow) -> Result<Enrolment> {
    Ok(Enrolment {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        name: row.try_get("name")?,
        allowed_cidrs: json_column(row, "allowed_cidrs")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// The agents of a cluster, by name.
    pub async fn agents(&self, cluster_id: i64) -> Result<Vec<Agent>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE cluster_id = $1 ORDER BY name"))
            .bind(cluster_id)
            .fetch_all(self.pool())
            .await?;
        let now = self.now();
        rows.iter().map(|row| agent_from_row(row, now)).collect()
    }

    /// What the fleet overview shows of every agent of every cluster, by cluster id then name,
    /// in one query: the heavy columns (runtime summaries in the facts, drift diffs, apply
    /// diagnostics, interfaces) are skimmed, not decoded (1,000 agents in a few ms).
    pub async fn node_summaries(&self) -> Result<Vec<NodeSummary>> {
        #[derive(serde::Deserialize)]
        struct Facts {
            haproxy_version: Option<String>,
        }
        let rows = sqlx::query(
            "SELECT id, cluster_id, name, hostname, facts, last_seen_at, heartbeat_ms, applied_version, last_outcome, last_error, drift \
             FROM agents ORDER BY cluster_id, name",
        )
        .fetch_all(self.pool())
        .await?;
        let now = self.now();
        rows.iter()
            .map(|row| {
                let last_seen_at: Option<i64> = row.try_get("last_seen_at")?;
                let facts: String = row.try_get("facts")?;
                let outcome: Option<String> = row.try_get("last_outcome")?;
                let drift: Option<String> = row.try_get("drift")?;
                Ok(NodeSummary {
                    id: row.try_get("id")?,
                    cluster_id: row.try_get("cluster_id")?,
                    name: row.try_get("name")?,
                    hostname: row.try_get("hostname")?,
                    state: node_state(last_seen_at, row.try_get("heartbeat_ms")?, now),
                    last_seen_at,
                    applied_version: row.try_get("applied_version")?,
                    last_outcome: outcome.map(|o| o.parse::<ApplyOutcome>()).transpose().map_err(|e| Error::Corrupt(e.to_string()))?,
                    last_error: row.try_get("last_error")?,
                    // Facts are informative: unreadable ones show no version, never fail the page.
                    haproxy_version: serde_json::from_str::<Facts>(&facts).ok().and_then(|f| f.haproxy_version),
                    drifted_files: match drift {
                        Some(text) => serde_json::from_str::<Vec<serde::de::IgnoredAny>>(&text).map_err(|e| Error::Corrupt(format!("agent drift: {e}")))?.len(),
                        None => 0,
                    },
                })
            })
            .collect()
    }

    /// Revokes agent `agent_id` of `cluster_id`: its row goes (its token stops working at once,
    /// it leaves the status), and so do its runtime results. The node must enrol again.
    pub async fn revoke_agent(&self, actor: &str, cluster_id: i64, agent_id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT name FROM agents WHERE id = $1 AND cluster_id = $2")
            .bind(agent_id)
            .bind(cluster_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("agent {agent_id} of cluster {cluster_id}")))?;
        let name: String = row.try_get("name")?;
        sqlx::query("DELETE FROM runtime_results WHERE agent_id = $1").bind(agent_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM agents WHERE id = $1").bind(agent_id).execute(&mut *tx).await?;
        let details = json!({"agent_id": agent_id, "name": name});
        self.audit(&mut tx, Audit { actor, action: "agent.revoke", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives agent `agent_id` of `cluster_id` a new token (returned once); the old one stops
    /// working at once. The new token goes to the node by hand (`fleet-agent --token-file`).
    pub async fn rotate_agent_token(&self, actor: &str, cluster_id: i64, agent_id: i64) -> Result<(Agent, String)> {
        let token = new_token("fg_", self.random())?;
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE agents SET token_hash = $1 WHERE id = $2 AND cluster_id = $3")
            .bind(sha256_hex(token.as_bytes()))
            .bind(agent_id)
            .bind(cluster_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("agent {agent_id} of cluster {cluster_id}")));
        }
        let details = json!({"agent_id": agent_id});
        self.audit(&mut tx, Audit { actor, action: "agent.rotate_token", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok((self.agent(agent_id).await?, token))
    }

    /// The enrolments of a cluster that can still be used (unused, unexpired), newest first.
    pub async fn pending_enrolments(&self, cluster_id: i64) -> Result<Vec<Enrolment>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(
            "SELECT id, cluster_id, name, allowed_cidrs, expires_at, used_at, created_at FROM enrolments \
             WHERE cluster_id = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id",
        )
        .bind(cluster_id)
        .bind(self.now())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(enrolment_from_row).collect()
    }

    /// Revokes enrolment `enrolment_id` of `cluster_id`: its secret stops working. A used
    /// enrolment is gone already ([`Error::NotFound`]: revoke the agent instead).
    pub async fn revoke_enrolment(&self, actor: &str, cluster_id: i64, enrolment_id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM enrolments WHERE id = $1 AND cluster_id = $2 AND used_at IS NULL")
            .bind(enrolment_id)
            .bind(cluster_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("pending enrolment {enrolment_id} of cluster {cluster_id}")));
        }
        let details = json!({"enrolment_id": enrolment_id});
        self.audit(&mut tx, Audit { actor, action: "enrolment.revoke", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
