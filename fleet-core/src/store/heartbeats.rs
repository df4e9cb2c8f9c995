//! An agent's heartbeat as a batched write ([`super::batch`]), and what a heartbeat answers.
//! Liveness only: not audited, except the drift transitions it reports.
//!
//! ```text
//! batch of heartbeats --> agents: last seen, facts, interval, health (0032), keepalived, interfaces
//!                         (UPDATE ... FROM (rows), super::rows; its rows: the agents reached)
//!                     --> per agent reached, in the batch's order:
//!                         drift (super::drift)    stats sample (super::stats)
//!                         VIP holders (super::vips)    served certificates (super::served)
//!                         rule hits (super::rule_hits)
//!                     --> per cluster: the answer (drift setting, failover probe)
//! ```
//!
//! Each part is written for the whole batch with a few multi-row statements: a heartbeat of
//! fleet-agent carries a stats sample, its interfaces and its certificates, and one statement
//! per row (each a hop to SQLite's connection thread, or a round trip to PostgreSQL) capped a
//! server at a few hundred heartbeats a second.

use std::collections::HashMap;

use sqlx::AnyConnection;
use sqlx::Row;

use super::batch::rounds;
use super::rows::{bind_rows, rows, statements};
use super::{json_column, to_json, Store, Tx};
use crate::error::{Error, Result};
use crate::failover::settings::FailoverSettings;
use crate::model::ClusterSettings;
use crate::monitor::{Drift, DriftReport};
use crate::monitor::stats::StatsSample;
use crate::rules::RuleHits;
use crate::vip::NodeInterface;
use crate::wire::{self, HeartbeatAnswer, ServedCertificate};

/// One heartbeat as queued: [`wire::Heartbeat`] with its JSON columns encoded.
pub(crate) struct Heartbeat {
    pub(crate) agent_id: i64,
    /// The facts as JSON; none keeps the stored ones.
    facts: Option<String>,
    /// What a rollout watches of `facts` ([`crate::rollouts::machine::facts_health`]).
    health: Option<(bool, Option<f64>)>,
    /// None keeps the stored interval.
    interval_ms: Option<i64>,
    /// keepalived's report as JSON; none keeps the stored one.
    keepalived: Option<String>,
    /// The interfaces (as JSON too); none keeps the stored ones.
    interfaces: Option<(Vec<NodeInterface>, String)>,
    drift: Option<DriftReport>,
    stats: Option<StatsSample>,
    served: Option<Vec<ServedCertificate>>,
    rule_hits: Option<Vec<RuleHits>>,
    /// Unix ms.
    at: i64,
}

impl Heartbeat {
    /// Agent `agent_id`'s heartbeat `beat` taken at `at` (Unix ms). Invalid: a stats sample of
    /// more than [`super::stats::MAX_SAMPLE_ROWS`] rows.
    pub(crate) fn new(agent_id: i64, beat: wire::Heartbeat, at: i64) -> Result<Heartbeat> {
        if let Some(sample) = &beat.stats {
            super::stats::check_sample(sample)?;
        }
        let interfaces = beat.interfaces.map(|i| to_json(&i).map(|json| (i, json))).transpose()?;
        Ok(Heartbeat {
            agent_id,
            health: beat.facts.as_ref().map(crate::rollouts::machine::facts_health),
            facts: beat.facts.as_ref().map(to_json).transpose()?,
            interval_ms: beat.heartbeat_seconds.map(|s| i64::try_from(s.saturating_mul(1_000)).unwrap_or(i64::MAX)),
            keepalived: beat.keepalived.as_ref().map(to_json).transpose()?,
            interfaces,
            drift: beat.drift,
            stats: beat.stats,
            served: beat.certificates,
            rule_hits: beat.rule_hits,
            at,
        })
    }
}

/// An agent a heartbeat of the batch reached, as the batch's first statement left it.
pub(crate) struct Reached {
    pub(crate) cluster_id: i64,
    pub(crate) name: String,
    pub(crate) applied_version: Option<i64>,
    /// Its stored drift: the files as JSON, and since when.
    drift: (Option<String>, Option<i64>),
}

impl Reached {
    /// The drift stored before this batch.
    pub(crate) fn drift(&self) -> Result<Option<Drift>> {
        match &self.drift {
            (Some(files), Some(since)) => Ok(Some(Drift {
                files: serde_json::from_str(files).map_err(|e| Error::Corrupt(format!("agent drift: {e}")))?,
                since: *since,
            })),
            _ => Ok(None),
        }
    }
}

/// One part of a heartbeat of an agent the batch reached, for the module that writes that part.
pub(crate) struct Part<'a, T> {
    pub(crate) agent_id: i64,
    pub(crate) agent: &'a Reached,
    /// When the heartbeat was taken (Unix ms).
    pub(crate) at: i64,
    pub(crate) value: &'a T,
}

/// The parts `pick` takes of `batch`'s heartbeats of agents in `reached`, in `batch`'s order.
fn parts<'a, T>(batch: &[&'a Heartbeat], reached: &'a HashMap<i64, Reached>, pick: impl Fn(&'a Heartbeat) -> Option<&'a T>) -> Vec<Part<'a, T>> {
    batch
        .iter()
        .filter_map(|beat| Some(Part { agent_id: beat.agent_id, agent: reached.get(&beat.agent_id)?, at: beat.at, value: pick(beat)? }))
        .collect()
}

/// Writes `batch` in `tx` (see the module's drawing): per heartbeat, what it answers (none: no
/// such agent). The answer depends only on the agent's cluster, so it is read once per cluster
/// of the batch, in `tx` (as of this batch, never staler). The caller has locked the agents'
/// rows ([`super::batch::lock_agents`]).
pub(crate) async fn write(store: &Store, tx: &mut Tx, batch: &[&Heartbeat]) -> Result<Vec<Option<HeartbeatAnswer>>> {
    let mut reached: HashMap<i64, Reached> = HashMap::with_capacity(batch.len());
    // An agent twice in one batch (a retried request): each statement holds an agent once,
    // so its heartbeats are written in the order they came.
    for round in rounds(batch.len(), |i| batch[i].agent_id) {
        for chunk in statements(store.backend(), &round) {
            let types = ["BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "DOUBLE PRECISION", "TEXT", "TEXT"];
            let rows = rows(store.backend(), chunk.len(), &types);
            // Columns (column1..column9 on both databases): id, at, facts, interval, has health
            // (0/1), HAProxy running (0/1), server-up ratio, keepalived, interfaces.
            let sql = format!(
                "UPDATE agents SET last_seen_at = v.column2, facts = COALESCE(v.column3, agents.facts), \
                 heartbeat_ms = COALESCE(v.column4, agents.heartbeat_ms), \
                 haproxy_running = CASE WHEN v.column5 = 1 THEN v.column6 ELSE agents.haproxy_running END, \
                 server_up_ratio = CASE WHEN v.column5 = 1 THEN v.column7 ELSE agents.server_up_ratio END, \
                 keepalived = COALESCE(v.column8, agents.keepalived), interfaces = COALESCE(v.column9, agents.interfaces) \
                 FROM ({rows}) AS v WHERE agents.id = v.column1 \
                 RETURNING agents.id, agents.cluster_id, agents.name, agents.applied_version, agents.drift, agents.drift_since"
            );
            let cells = chunk.iter().map(|&i| {
                let beat = batch[i];
                let (has_health, running, ratio) = match beat.health {
                    Some((running, ratio)) => (1_i64, Some(i64::from(running)), ratio),
                    None => (0, None, None),
                };
                let interfaces = beat.interfaces.as_ref().map(|(_, json)| json.as_str());
                (beat.agent_id, beat.at, beat.facts.as_deref(), beat.interval_ms, has_health, running, ratio, beat.keepalived.as_deref(), interfaces)
            });
            let query = bind_rows(store.backend(), sqlx::query(&sql), cells.collect())?;
            for row in query.fetch_all(&mut **tx).await? {
                let agent = Reached {
                    cluster_id: row.try_get("cluster_id")?,
                    name: row.try_get("name")?,
                    applied_version: row.try_get("applied_version")?,
                    drift: (row.try_get("drift")?, row.try_get("drift_since")?),
                };
                reached.entry(row.try_get("id")?).or_insert(agent);
            }
        }
    }
    super::drift::write(store, tx, &parts(batch, &reached, |b| b.drift.as_ref())).await?;
    super::stats::write(store, tx, &parts(batch, &reached, |b| b.stats.as_ref())).await?;
    super::vips::write_holders(store, tx, &parts(batch, &reached, |b| b.interfaces.as_ref().map(|(i, _)| i))).await?;
    super::served::write(store.backend(), tx, &parts(batch, &reached, |b| b.served.as_ref())).await?;
    super::rule_hits::write(store.backend(), tx, &parts(batch, &reached, |b| b.rule_hits.as_ref())).await?;
    let mut answers: HashMap<i64, Option<HeartbeatAnswer>> = HashMap::new();
    for agent in reached.values() {
        if let std::collections::hash_map::Entry::Vacant(entry) = answers.entry(agent.cluster_id) {
            entry.insert(answer(tx, agent.cluster_id).await?);
        }
    }
    Ok(batch.iter().map(|beat| reached.get(&beat.agent_id).and_then(|a| answers.get(&a.cluster_id).cloned().flatten())).collect())
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
    /// Records agent `agent_id`'s heartbeat `beat` (shape: [`wire::Heartbeat`]; an absent part
    /// keeps what is stored): that it is alive, its facts and interval, keepalived and its
    /// interfaces (and so which VIPs it holds), its drift ([`crate::monitor::drift`], audited
    /// when it starts, changes or ends), its stats sample ([`crate::monitor::stats`]), the
    /// certificates its HAProxy serves and its rule hits. Answers what the agent must follow
    /// (its cluster's drift setting, its pool's failover probe).
    ///
    /// Written in a batch with the heartbeats and reports that queued up meanwhile
    /// ([`super::batch`]); answers once its transaction committed. Errors: invalid (a stats
    /// sample over [`super::stats::MAX_SAMPLE_ROWS`] rows), not found (no such agent).
    pub async fn heartbeat(&self, agent_id: i64, beat: wire::Heartbeat) -> Result<HeartbeatAnswer> {
        let beat = Heartbeat::new(agent_id, beat, self.now())?;
        match self.shared.agent_writes.submit(self, super::batch::AgentWrite::Heartbeat(Box::new(beat))).await? {
            super::batch::AgentWritten::Heartbeat(Some(answer)) => Ok(answer),
            _ => Err(Error::not_found(format!("agent {agent_id}"))),
        }
    }

    /// What a heartbeat of an agent of cluster `cluster_id` answers ([`Store::heartbeat`]
    /// gives it too). Not found: no such cluster.
    pub async fn heartbeat_answer(&self, cluster_id: i64) -> Result<HeartbeatAnswer> {
        let mut conn = self.pool().acquire().await?;
        answer(&mut conn, cluster_id).await?.ok_or_else(|| Error::not_found(format!("cluster {cluster_id}")))
    }
}
