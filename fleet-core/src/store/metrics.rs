//! What `/metrics` reads: one [`FleetSnapshot`] in five queries, whatever the number of agents.

use serde::Deserialize;
use sqlx::Row;

use super::Store;
use crate::error::{Error, Result};
use crate::metrics::{AgentFacts, CertificateExpiry, ClusterFacts, FleetSnapshot, VipHolders};
use crate::model::ApplyOutcome;
use crate::runtime::RuntimeSummary;

/// The part of an agent's facts the metrics read; the rest is skipped unparsed.
#[derive(Deserialize, Default)]
struct RuntimeFacts {
    #[serde(default)]
    runtime: Option<RuntimeSummary>,
}

impl Store {
    /// Clusters, agents (with the runtime summary of their latest heartbeat), certificate
    /// deployments, active DNS failover members and VIP holders, as of the store's clock: the
    /// input of [`crate::metrics::render`]. An agent whose facts hold no readable `runtime`
    /// has none (a summary is informative, never a reason to fail the scrape).
    pub async fn fleet_snapshot(&self) -> Result<FleetSnapshot> {
        let now_ms = self.now();
        let clusters = sqlx::query("SELECT name, desired_version FROM clusters ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| Ok(ClusterFacts { name: row.try_get("name")?, desired_version: row.try_get("desired_version")? }))
            .collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT c.name AS cluster, a.name, a.last_seen_at, a.heartbeat_ms, a.applied_version, a.last_outcome, a.facts \
             FROM agents a JOIN clusters c ON c.id = a.cluster_id ORDER BY c.name, a.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut agents = Vec::with_capacity(rows.len());
        for row in &rows {
            let outcome: Option<String> = row.try_get("last_outcome")?;
            let facts: String = row.try_get("facts")?;
            let facts = serde_json::from_str::<RuntimeFacts>(&facts).unwrap_or_default();
            agents.push(AgentFacts {
                cluster: row.try_get("cluster")?,
                name: row.try_get("name")?,
                last_seen_at: row.try_get("last_seen_at")?,
                // The interval the agent reports with its heartbeats (`Heartbeat.heartbeat_seconds`).
                heartbeat_ms: row.try_get("heartbeat_ms")?,
                applied_version: row.try_get("applied_version")?,
                last_outcome: outcome.map(|o| o.parse::<ApplyOutcome>()).transpose().map_err(|e| Error::Corrupt(e.to_string()))?,
                runtime: facts.runtime,
            });
        }
        let certificates = self
            .certificate_expiries()
            .await?
            .into_iter()
            .map(|(certificate, cluster, not_after)| CertificateExpiry { certificate, cluster, not_after })
            .collect();
        let failover_active = sqlx::query(
            "SELECT p.name AS pool, f.active FROM pool_failover f JOIN pools p ON p.id = f.pool_id \
             WHERE f.active IS NOT NULL ORDER BY p.name",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("pool")?, row.try_get("active")?)))
        .collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT c.name AS cluster, v.name AS vip, a.name AS agent FROM vips v JOIN clusters c ON c.id = v.cluster_id \
             LEFT JOIN vip_holders h ON h.vip_id = v.id LEFT JOIN agents a ON a.id = h.agent_id \
             ORDER BY c.name, v.name, a.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut vips: Vec<VipHolders> = Vec::new();
        for row in &rows {
            let (cluster, vip): (String, String) = (row.try_get("cluster")?, row.try_get("vip")?);
            let agent: Option<String> = row.try_get("agent")?;
            match vips.last_mut() {
                Some(last) if last.cluster == cluster && last.vip == vip => last.holders.extend(agent),
                _ => vips.push(VipHolders { cluster, vip, holders: agent.into_iter().collect() }),
            }
        }
        Ok(FleetSnapshot { now_ms, clusters, agents, certificates, failover_active, vips })
    }
}
