//! The end of things: deleting a cluster or a pool, and decommissioning an agent.
//!
//! ```text
//! DELETE cluster/pool   no enrolled agents -> removed (cascade + the rows without a foreign key)
//!                       agents, no force   -> Conflict naming how many (and which) are enrolled
//!                       agents, force      -> their tokens revoked (tombstones: cluster_deleted,
//!                                             HAProxy left running) then removed as above
//! decommission agent    row removed, token tombstoned (decommissioned, stop_haproxy as asked)
//! a call with a tombstoned token -> Error::Decommissioned (410 Gone): the agent stops HAProxy
//!                                   when asked and exits instead of retrying
//! ```
//!
//! What a cluster owns goes with it in one transaction: versions and their files, transactions,
//! enrolments, agents (and their runtime results, served certificates, stats), runtime actions,
//! VIPs with holders and transitions, certificate deployments and the certificates kept for it
//! (with their renewals and sealed keys), and the alert rules limited to it (with their alerts).
//! A pool also takes its DNS failover, its events and the roles held in it. The audit log keeps
//! every entry. Content-addressed blobs are shared by versions of every cluster and stay.

use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::{Store, Tx};
use crate::error::{Error, Result};
use crate::wire::{Decommission, CLUSTER_DELETED, DECOMMISSIONED};

/// An enrolled agent whose token a forced delete revokes.
struct Enrolled {
    id: i64,
    name: String,
    token_hash: String,
}

async fn enrolled(tx: &mut Tx, cluster_id: i64) -> Result<Vec<Enrolled>> {
    let rows = sqlx::query("SELECT id, name, token_hash FROM agents WHERE cluster_id = $1 ORDER BY name")
        .bind(cluster_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|row| Ok(Enrolled { id: row.try_get("id")?, name: row.try_get("name")?, token_hash: row.try_get("token_hash")? }))
        .collect()
}

/// `a, b, c` (at most five names, then `...`).
fn some_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        shown.push_str(", ...");
    }
    shown
}

impl Store {
    /// Deletes cluster `id` with everything that belongs to it (see the module's docs), audited
    /// `cluster.delete` with the agents it revoked. While agents are enrolled it is
    /// [`Error::Conflict`] naming them, unless `force`: then their tokens are revoked first
    /// (each call they make answers 410 Gone, `cluster_deleted`, and they exit leaving HAProxy
    /// serving). [`Error::NotFound`] for an unknown cluster.
    pub async fn delete_cluster(&self, actor: &str, id: i64, force: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let name = self.cluster_name_in(&mut tx, id).await?;
        let agents = enrolled(&mut tx, id).await?;
        if !agents.is_empty() && !force {
            return Err(Error::Conflict(format!(
                "cluster {name} still has {} enrolled agent(s) ({}): decommission them first, or delete with force=true to revoke their tokens",
                agents.len(),
                some_names(agents.iter().map(|a| a.name.as_str()))
            )));
        }
        let revoked = self.remove_cluster_in(&mut tx, actor, id, agents).await?;
        let details = json!({"cluster_id": id, "name": name, "force": force, "revoked_agents": revoked});
        self.audit(&mut tx, Audit { actor, action: "cluster.delete", cluster_id: Some(id), version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes pool `id`. A pool with clusters is [`Error::Conflict`] (naming how many and how
    /// many agents are enrolled in them) unless `force`: then every cluster goes as with
    /// [`Store::delete_cluster`] with `force`, then the pool with its DNS failover, events and
    /// the roles held in it. Audited `pool.delete` (and `cluster.delete` for each cluster).
    pub async fn delete_pool(&self, actor: &str, id: i64, force: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT name FROM pools WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("pool {id}")))?;
        let pool_name: String = row.try_get("name")?;
        let clusters = sqlx::query("SELECT id, name FROM clusters WHERE pool_id = $1 ORDER BY name").bind(id).fetch_all(&mut *tx).await?;
        let clusters: Vec<(i64, String)> = clusters.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect::<Result<_>>()?;
        if !clusters.is_empty() && !force {
            let agents: i64 = sqlx::query("SELECT COUNT(*) AS n FROM agents a JOIN clusters c ON c.id = a.cluster_id WHERE c.pool_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            return Err(Error::Conflict(format!(
                "pool {pool_name} still has {} cluster(s) ({}) with {agents} enrolled agent(s): delete them first, or delete with force=true to delete them and revoke their agents' tokens",
                clusters.len(),
                some_names(clusters.iter().map(|(_, n)| n.as_str()))
            )));
        }
        let mut removed = Vec::new();
        for (cluster_id, cluster_name) in clusters {
            let agents = enrolled(&mut tx, cluster_id).await?;
            let revoked = self.remove_cluster_in(&mut tx, actor, cluster_id, agents).await?;
            let details = json!({"cluster_id": cluster_id, "name": cluster_name, "force": true, "revoked_agents": revoked, "pool_id": id});
            self.audit(&mut tx, Audit { actor, action: "cluster.delete", cluster_id: Some(cluster_id), version: None, details }).await?;
            removed.push(cluster_name);
        }
        sqlx::query("DELETE FROM pools WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let details = json!({"pool_id": id, "name": pool_name, "force": force, "clusters": removed});
        self.audit(&mut tx, Audit { actor, action: "pool.delete", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Decommissions agent `agent_id` of `cluster_id`: its row goes (it leaves the status, its
    /// token stops working at once) and its token is kept as a tombstone, so its next call
    /// answers 410 Gone telling it whether to stop HAProxy (`stop_haproxy`) before it exits.
    /// Audited `agent.decommission`. [`Error::NotFound`] for an agent not in that cluster.
    pub async fn decommission_agent(&self, actor: &str, cluster_id: i64, agent_id: i64, stop_haproxy: bool) -> Result<Decommission> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT name, token_hash FROM agents WHERE id = $1 AND cluster_id = $2")
            .bind(agent_id)
            .bind(cluster_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("agent {agent_id} of cluster {cluster_id}")))?;
        let agent = Enrolled { id: agent_id, name: row.try_get("name")?, token_hash: row.try_get("token_hash")? };
        let decommission = self.tombstone_in(&mut tx, actor, cluster_id, &agent, DECOMMISSIONED, stop_haproxy).await?;
        self.remove_agent_in(&mut tx, agent_id).await?;
        let details = json!({"agent_id": agent_id, "name": agent.name, "stop_haproxy": stop_haproxy});
        self.audit(&mut tx, Audit { actor, action: "agent.decommission", cluster_id: Some(cluster_id), version: None, details }).await?;
        tx.commit().await?;
        Ok(decommission)
    }

    /// The tombstone of an agent token, `None` when it has none.
    pub async fn tombstone(&self, token: &str) -> Result<Option<Decommission>> {
        let row = sqlx::query("SELECT cluster_id, name, reason, stop_haproxy, actor, at FROM agent_tombstones WHERE token_hash = $1")
            .bind(crate::secret::sha256_hex(token.as_bytes()))
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            let stop: i64 = row.try_get("stop_haproxy")?;
            Ok(Decommission {
                agent: row.try_get("name")?,
                cluster_id: row.try_get("cluster_id")?,
                reason: row.try_get("reason")?,
                stop_haproxy: stop != 0,
                by: row.try_get("actor")?,
                at: row.try_get("at")?,
            })
        })
        .transpose()
    }

    async fn cluster_name_in(&self, tx: &mut Tx, id: i64) -> Result<String> {
        let row = sqlx::query("SELECT name FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("cluster {id}")))?;
        Ok(row.try_get("name")?)
    }

    async fn tombstone_in(&self, tx: &mut Tx, actor: &str, cluster_id: i64, agent: &Enrolled, reason: &str, stop_haproxy: bool) -> Result<Decommission> {
        let at = self.now();
        sqlx::query(
            "INSERT INTO agent_tombstones (token_hash, agent_id, cluster_id, name, reason, stop_haproxy, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&agent.token_hash)
        .bind(agent.id)
        .bind(cluster_id)
        .bind(&agent.name)
        .bind(reason)
        .bind(i64::from(stop_haproxy))
        .bind(actor)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Ok(Decommission { agent: agent.name.clone(), cluster_id, reason: reason.into(), stop_haproxy, by: actor.into(), at })
    }

    /// Removes an agent's row and what refers to it without a foreign key (VIP holders); the
    /// rest cascades (runtime results, served certificates, stats).
    async fn remove_agent_in(&self, tx: &mut Tx, agent_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM vip_holders WHERE agent_id = $1").bind(agent_id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM runtime_results WHERE agent_id = $1").bind(agent_id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM agents WHERE id = $1").bind(agent_id).execute(&mut **tx).await?;
        Ok(())
    }

    /// Tombstones `agents` (HAProxy left running) and removes cluster `id` with what belongs to
    /// it; the names of the agents revoked.
    async fn remove_cluster_in(&self, tx: &mut Tx, actor: &str, id: i64, agents: Vec<Enrolled>) -> Result<Vec<String>> {
        // Certificates kept for this cluster go with it; one still deployed in another cluster
        // would leave that cluster serving a certificate nobody tracks.
        let owned = sqlx::query(
            "SELECT c.name, d.cluster_id FROM certificates c JOIN certificate_deployments d ON d.certificate_id = c.id \
             WHERE c.cluster_id = $1 AND d.cluster_id <> $1 ORDER BY c.name",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = owned {
            let (certificate, elsewhere): (String, i64) = (row.try_get("name")?, row.try_get("cluster_id")?);
            return Err(Error::Conflict(format!(
                "certificate {certificate} of cluster {id} is deployed in cluster {elsewhere}: undeploy it there first"
            )));
        }
        let mut revoked = Vec::with_capacity(agents.len());
        for agent in &agents {
            self.tombstone_in(tx, actor, id, agent, CLUSTER_DELETED, false).await?;
            self.remove_agent_in(tx, agent.id).await?;
            revoked.push(agent.name.clone());
        }
        let certificates = sqlx::query("SELECT id FROM certificates WHERE cluster_id = $1").bind(id).fetch_all(&mut **tx).await?;
        for row in &certificates {
            let certificate: i64 = row.try_get("id")?;
            sqlx::query("DELETE FROM renewals WHERE certificate_id = $1").bind(certificate).execute(&mut **tx).await?;
            sqlx::query("DELETE FROM sealed_secrets WHERE name = $1")
                .bind(super::certificates::secret_name(certificate))
                .execute(&mut **tx)
                .await?;
        }
        // Alert rules limited to this cluster (the limit is inside the rule's JSON).
        let rules = sqlx::query("SELECT id, spec FROM alert_rules").fetch_all(&mut **tx).await?;
        for row in &rules {
            let spec: String = row.try_get("spec")?;
            let bound = serde_json::from_str::<serde_json::Value>(&spec).ok().and_then(|s| s["cluster_id"].as_i64()) == Some(id);
            if bound {
                let rule: i64 = row.try_get("id")?;
                sqlx::query("DELETE FROM alert_rules WHERE id = $1").bind(rule).execute(&mut **tx).await?;
            }
        }
        sqlx::query("DELETE FROM clusters WHERE id = $1").bind(id).execute(&mut **tx).await?;
        Ok(revoked)
    }
}
