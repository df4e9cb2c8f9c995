//! Enrolments (one-time secrets, stored hashed, with expiry and allowed source networks),
//! agents (their own token, stored hashed) and what they report.

use std::net::IpAddr;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{json_column, to_json, Store};
use crate::error::{Error, Result};
use crate::monitor::{node_state, Drift};
use crate::model::{Agent, AgentPrincipal, AgentReport, ApplyOutcome, ClusterStatus, Enrolment};
use crate::secret::{new_token, sha256_hex};

/// A parsed `addr/prefix` (or a bare address, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Result<Cidr> {
        let invalid = || Error::invalid(format!("invalid CIDR {text:?}"));
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| invalid())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| invalid())?,
            None => max,
        };
        if prefix > max {
            return Err(invalid());
        }
        Ok(Cidr { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The longest an enrolment secret may stay valid, in ms (7 days): a leaked install command
/// must not stay usable for long.
pub const MAX_ENROLMENT_TTL_MS: i64 = 7 * 24 * 3_600_000;

pub(super) const AGENT_COLUMNS: &str =
    "id, cluster_id, name, hostname, facts, last_seen_at, applied_version, last_outcome, last_error, last_diagnostics, keepalived, interfaces, \
     created_at, heartbeat_ms, drift, drift_since";

/// The agent of a row of [`AGENT_COLUMNS`], its state as of `now`.
pub(super) fn agent_from_row(row: &AnyRow, now: i64) -> Result<Agent> {
    let outcome: Option<String> = row.try_get("last_outcome")?;
    let last_seen_at: Option<i64> = row.try_get("last_seen_at")?;
    let heartbeat_ms: Option<i64> = row.try_get("heartbeat_ms")?;
    let drift = match (row.try_get::<Option<String>, _>("drift")?, row.try_get::<Option<i64>, _>("drift_since")?) {
        (Some(files), Some(since)) => Some(Drift {
            files: serde_json::from_str(&files).map_err(|e| Error::Corrupt(format!("agent drift: {e}")))?,
            since,
        }),
        _ => None,
    };
    Ok(Agent {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        name: row.try_get("name")?,
        hostname: row.try_get("hostname")?,
        facts: json_column(row, "facts")?,
        last_seen_at,
        state: node_state(last_seen_at, heartbeat_ms, now),
        heartbeat_ms,
        drift,
        applied_version: row.try_get("applied_version")?,
        last_outcome: outcome.map(|o| o.parse::<ApplyOutcome>()).transpose().map_err(|e| Error::Corrupt(e.to_string()))?,
        last_error: row.try_get("last_error")?,
        last_diagnostics: json_column(row, "last_diagnostics")?,
        keepalived: row.try_get::<Option<String>, _>("keepalived")?.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| Error::Corrupt(format!("agent keepalived: {e}")))?,
        interfaces: row
            .try_get::<Option<String>, _>("interfaces")?
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| Error::Corrupt(format!("agent interfaces: {e}")))?
            .unwrap_or_default(),
        created_at: row.try_get("created_at")?,
    })
}

fn check_agent_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("invalid agent name {name:?}: use letters, digits, '-', '_' or '.'")))
    }
}

impl Store {
    /// Creates a one-time enrolment for agent `name` of a cluster, valid for `ttl_ms`, usable only
    /// from `allowed_cidrs` when that list is not empty. Returns it with the secret (shown once).
    pub async fn create_enrolment(
        &self,
        actor: &str,
        cluster_id: i64,
        name: &str,
        allowed_cidrs: Vec<String>,
        ttl_ms: i64,
    ) -> Result<(Enrolment, String)> {
        check_agent_name(name)?;
        for cidr in &allowed_cidrs {
            Cidr::parse(cidr)?;
        }
        if ttl_ms <= 0 || ttl_ms > MAX_ENROLMENT_TTL_MS {
            return Err(Error::invalid(format!(
                "an enrolment lives between 1 ms and {} hours",
                MAX_ENROLMENT_TTL_MS / 3_600_000
            )));
        }
        let secret = new_token("fe_", self.random())?;
        let now = self.now();
        let enrolment = Enrolment {
            id: self.new_id()?,
            cluster_id,
            name: name.into(),
            allowed_cidrs,
            expires_at: now.saturating_add(ttl_ms),
            used_at: None,
            created_at: now,
        };
        let mut tx = self.write_tx().await?;
        self.require_cluster(&mut tx, cluster_id).await?;
        sqlx::query(
            "INSERT INTO enrolments (id, cluster_id, name, secret_hash, allowed_cidrs, expires_at, used_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
        )
        .bind(enrolment.id)
        .bind(cluster_id)
        .bind(name)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(to_json(&enrolment.allowed_cidrs)?)
        .bind(enrolment.expires_at)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let details = json!({"enrolment_id": enrolment.id, "name": name, "allowed_cidrs": enrolment.allowed_cidrs, "expires_at": enrolment.expires_at});
        self.audit(&mut tx, Audit { actor, action: "enrolment.create", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok((enrolment, secret))
    }

    /// Trades an enrolment secret for an agent and its own token (shown once). The secret must be
    /// unused and unexpired, and `source` inside the allowed networks. Enrolling a name again
    /// replaces that agent's token.
    pub async fn enrol(&self, secret: &str, source: Option<IpAddr>, hostname: &str, facts: serde_json::Value) -> Result<(Agent, String)> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT id, cluster_id, name, allowed_cidrs, expires_at, used_at FROM enrolments WHERE secret_hash = $1")
            .bind(sha256_hex(secret.as_bytes()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::Unauthorized)?;
        let enrolment_id: i64 = row.try_get("id")?;
        let cluster_id: i64 = row.try_get("cluster_id")?;
        let name: String = row.try_get("name")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let cidrs: Vec<String> = json_column(&row, "allowed_cidrs")?;
        if used_at.is_some() || expires_at <= now {
            return Err(Error::Unauthorized);
        }
        if !cidrs.is_empty() {
            let allowed = match source {
                Some(ip) => cidrs.iter().filter_map(|c| Cidr::parse(c).ok()).any(|c| c.contains(ip)),
                None => false,
            };
            if !allowed {
                return Err(Error::Forbidden(format!("source address not allowed by enrolment {enrolment_id}")));
            }
        }
        let used = sqlx::query("UPDATE enrolments SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(enrolment_id)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() == 0 {
            return Err(Error::Unauthorized);
        }
        let token = new_token("fg_", self.random())?;
        let token_hash = sha256_hex(token.as_bytes());
        let facts_json = to_json(&facts)?;
        let existing = sqlx::query("SELECT id FROM agents WHERE cluster_id = $1 AND name = $2")
            .bind(cluster_id)
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
        let agent_id = match existing {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                sqlx::query("UPDATE agents SET token_hash = $1, hostname = $2, facts = $3, last_seen_at = $4, haproxy_running = NULL, server_up_ratio = NULL WHERE id = $5")
                    .bind(&token_hash)
                    .bind(hostname)
                    .bind(&facts_json)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => {
                let id = self.new_id()?;
                sqlx::query(
                    "INSERT INTO agents (id, cluster_id, name, hostname, facts, token_hash, last_seen_at, applied_version, last_outcome, last_error, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, $7)",
                )
                .bind(id)
                .bind(cluster_id)
                .bind(&name)
                .bind(hostname)
                .bind(&facts_json)
                .bind(&token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let details = json!({"agent_id": agent_id, "enrolment_id": enrolment_id, "hostname": hostname, "source": source.map(|s| s.to_string())});
        let actor = format!("agent:{name}");
        self.audit(&mut tx, Audit { actor: &actor, action: "agent.enrol", cluster_id: Some(cluster_id), version: None, details })
            .await?;
        tx.commit().await?;
        Ok((self.agent(agent_id).await?, token))
    }

    /// One agent.
    pub async fn agent(&self, id: i64) -> Result<Agent> {
        let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("agent {id}")))?;
        agent_from_row(&row, self.now())
    }

    /// The agent a token belongs to: [`Error::Decommissioned`] for the token of an agent that
    /// was decommissioned (or whose cluster was deleted with force), else
    /// [`Error::Unauthorized`] for an unknown one.
    /// Looked up in a batch with the tokens other requests presented meanwhile
    /// ([`super::agent_tokens`]).
    pub async fn agent_by_token(&self, token: &str) -> Result<AgentPrincipal> {
        let lookup = super::agent_tokens::TokenLookup(sha256_hex(token.as_bytes()));
        match self.shared.token_lookups.submit(self, lookup).await? {
            Some(agent) => Ok(agent),
            None => match self.tombstone(token).await? {
                Some(decommission) => Err(Error::Decommissioned(Box::new(decommission))),
                None => Err(Error::Unauthorized),
            },
        }
    }

    /// Records an agent's apply outcome: on `applied` or `applied_runtime` its applied version
    /// moves; the last outcome and error are kept either way; audited (`agent.report`). Written
    /// in a batch with the reports and heartbeats that queued up meanwhile ([`super::batch`]);
    /// answers the agent as read right after. Not found: no such agent, or no such version of
    /// its cluster.
    pub async fn report(&self, agent_id: i64, report: &AgentReport) -> Result<Agent> {
        self.record_report(agent_id, report).await?;
        self.agent(agent_id).await
    }

    /// [`Store::report`] without reading the agent back: what an agent that ignores the answer
    /// asks for (`Prefer: return=minimal`), 10,000 of them right after an apply.
    pub async fn record_report(&self, agent_id: i64, report: &AgentReport) -> Result<()> {
        let queued = super::reports::Report { agent_id, report: report.clone() };
        match self.shared.agent_writes.submit(self, super::batch::AgentWrite::Report(queued)).await? {
            super::batch::AgentWritten::Report(super::reports::Recorded::Yes) => Ok(()),
            super::batch::AgentWritten::Report(super::reports::Recorded::NoVersion { cluster_id }) => {
                Err(Error::not_found(format!("version {} of cluster {cluster_id}", report.version)))
            }
            _ => Err(Error::not_found(format!("agent {agent_id}"))),
        }
    }

    /// A cluster's desired version and every agent's last report.
    pub async fn status(&self, cluster_id: i64) -> Result<ClusterStatus> {
        let cluster = self.cluster(cluster_id).await?;
        let agents = self.status_agents(cluster_id).await?;
        let vips = self.vip_statuses(cluster_id, &agents).await?;
        Ok(ClusterStatus { cluster_id, desired_version: cluster.desired_version, agents, vips })
    }

    /// Every agent of a cluster, by name.
    pub(crate) async fn status_agents(&self, cluster_id: i64) -> Result<Vec<Agent>> {
        let rows = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE cluster_id = $1 ORDER BY name"))
            .bind(cluster_id)
            .fetch_all(self.pool())
            .await?;
        let now = self.now();
        rows.iter().map(|row| agent_from_row(row, now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Cidr;

    #[test]
    fn cidrs_match_their_networks() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("192.0.2.1").unwrap().contains("192.0.2.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope/8").is_err());
    }
}
