//! VRRP groups at rest (migration 0016; see [`crate::vip`]), the per-node keepalived files they
//! make, and what heartbeats tell of them.
//!
//! ```text
//! create/update/delete/fail over: check -> the cluster's groups after the change + the agents'
//!   reports -> every node's keepalived.conf (vip::node_files) -> one new version of the
//!   latest bundle with keepalived/<agent>.conf set (and dropped for nodes left without a
//!   group); a file that is not generated (adopted or edited as text) is never overwritten: 409
//!   -> then the group's row (+ its sealed auth secret `vip/<id>/auth`)
//! heartbeat: agent's keepalived report + interfaces stored; per group, holding changed ->
//!   holder row added/removed + transition
//! ```
//!
//! The version comes first and the row after it, as certificate deployments do: the files are
//! always derived from every stored row, so a row write lost to a race is corrected by the next
//! change, and a refused version leaves the rows as they were.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::fetch_in;
use super::heartbeats::Part;
use super::versions::Made;
use super::{json_column, to_json, unique_to_conflict, Store};
use crate::bundle::{Bundle, BundleFile, FileKind};
use crate::error::{Error, Result};
use crate::model::{Actor, Committed};
use crate::secrets::{Keyring, Purpose};
use crate::vip::spec::{is_generated, AgentFacts};
use crate::vip::status::holds;
use crate::vip::{node_config_path, node_files, node_of_config_path, NewVip, NodeInterface, Vip, VipNode, VipNodeStatus, VipStatus, VipTransition};

const COLUMNS: &str = "id, cluster_id, name, spec, created_by, created_at, updated_at";

/// The `spec` column: a group without its id, cluster, name and times.
#[derive(Serialize, Deserialize)]
struct SpecColumn {
    addresses: Vec<String>,
    vrid: u8,
    interface: String,
    advert_interval: f64,
    version: u8,
    preempt: bool,
    track_haproxy: bool,
    unicast: bool,
    authenticated: bool,
    nodes: Vec<VipNode>,
}

fn vip_from_row(row: &AnyRow) -> Result<Vip> {
    let spec: SpecColumn = json_column(row, "spec")?;
    Ok(Vip {
        id: row.try_get("id")?,
        cluster_id: row.try_get("cluster_id")?,
        name: row.try_get("name")?,
        addresses: spec.addresses,
        vrid: spec.vrid,
        interface: spec.interface,
        advert_interval: spec.advert_interval,
        version: spec.version,
        preempt: spec.preempt,
        track_haproxy: spec.track_haproxy,
        unicast: spec.unicast,
        authenticated: spec.authenticated,
        nodes: spec.nodes,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn spec_column(vip: &Vip) -> Result<String> {
    to_json(&SpecColumn {
        addresses: vip.addresses.clone(),
        vrid: vip.vrid,
        interface: vip.interface.clone(),
        advert_interval: vip.advert_interval,
        version: vip.version,
        preempt: vip.preempt,
        track_haproxy: vip.track_haproxy,
        unicast: vip.unicast,
        authenticated: vip.authenticated,
        nodes: vip.nodes.clone(),
    })
}

/// What a group's secret is sealed as: bound to its id.
fn purpose(id: i64) -> Purpose {
    Purpose::new("vip", &id.to_string())
}

fn secret_name(id: i64) -> String {
    format!("vip/{id}/auth")
}

/// What a change to a group made: the group as stored after it (none after a delete) and the
/// version carrying every node's keepalived.conf.
#[derive(Debug, Clone)]
pub struct VipChange {
    /// The group.
    pub vip: Option<Vip>,
    /// The new version.
    pub committed: Committed,
}

/// What to do with a group's secret.
enum SecretChange<'a> {
    Keep,
    Set(&'a str),
    Remove,
}

/// Records which of its cluster's groups each agent of a batch of heartbeats holds now, from
/// the `interfaces` it gave (in their order): a change adds or removes its holder row and
/// records a transition. Reads: the groups of the agents' clusters, then (when there are
/// any) the agents' holder rows; writes only the changes.
pub(super) async fn write_holders(store: &Store, tx: &mut super::Tx, interfaces: &[Part<'_, Vec<NodeInterface>>]) -> Result<()> {
    let clusters = interfaces.iter().map(|p| p.agent.cluster_id);
    let mut vips: BTreeMap<i64, Vec<Vip>> = BTreeMap::new();
    for row in fetch_in(store.backend(), tx, clusters, |one_of| format!("SELECT {COLUMNS} FROM vips WHERE cluster_id {one_of}")).await? {
        let vip = vip_from_row(&row)?;
        vips.entry(vip.cluster_id).or_default().push(vip);
    }
    let agents = interfaces.iter().filter(|p| vips.contains_key(&p.agent.cluster_id)).map(|p| p.agent_id);
    let mut held: HashSet<(i64, i64)> = HashSet::new();
    for row in fetch_in(store.backend(), tx, agents, |one_of| format!("SELECT vip_id, agent_id FROM vip_holders WHERE agent_id {one_of}")).await? {
        held.insert((row.try_get("vip_id")?, row.try_get("agent_id")?));
    }
    for part in interfaces {
        for vip in vips.get(&part.agent.cluster_id).into_iter().flatten() {
            let holds_now = holds(vip, part.value);
            let key = (vip.id, part.agent_id);
            if held.contains(&key) == holds_now {
                continue;
            }
            if holds_now {
                held.insert(key);
                sqlx::query("INSERT INTO vip_holders (vip_id, agent_id, since) VALUES ($1, $2, $3)").bind(vip.id).bind(part.agent_id).bind(part.at).execute(&mut **tx).await?;
            } else {
                held.remove(&key);
                sqlx::query("DELETE FROM vip_holders WHERE vip_id = $1 AND agent_id = $2").bind(vip.id).bind(part.agent_id).execute(&mut **tx).await?;
            }
            sqlx::query("INSERT INTO vip_transitions (id, vip_id, at, agent, event) VALUES ($1, $2, $3, $4, $5)")
                .bind(store.new_id()?)
                .bind(vip.id)
                .bind(part.at)
                .bind(&part.agent.name)
                .bind(if holds_now { "acquired" } else { "released" })
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Every group of a cluster, by name; 404 for an unknown cluster.
    pub async fn vips(&self, cluster_id: i64) -> Result<Vec<Vip>> {
        self.cluster(cluster_id).await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM vips WHERE cluster_id = $1 ORDER BY name"))
            .bind(cluster_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(vip_from_row).collect()
    }

    /// Group `id` of cluster `cluster_id`; 404 when it belongs to another.
    pub async fn vip(&self, cluster_id: i64, id: i64) -> Result<Vip> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM vips WHERE id = $1 AND cluster_id = $2"))
            .bind(id)
            .bind(cluster_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("vip {id} of cluster {cluster_id}")))?;
        vip_from_row(&row)
    }

    /// Creates a group ([`NewVip::check`], then every node's file: see the module docs).
    /// 409 when the name is taken or a node's keepalived.conf is managed as text; 422 for bad
    /// input or an agent that has not reported what its file needs. Nothing is stored then.
    pub async fn create_vip(&self, actor: Actor<'_>, ring: &Keyring, cluster_id: i64, new: &NewVip) -> Result<VipChange> {
        let checked = new.check()?;
        let existing = self.vips(cluster_id).await?;
        if existing.iter().any(|v| v.name == new.name) {
            return Err(Error::Conflict(format!("vip {:?} already exists in cluster {cluster_id}", new.name)));
        }
        let secret = new.auth_secret.as_deref().filter(|s| !s.is_empty());
        let vip = Vip::new(self.new_id()?, cluster_id, new, checked, actor.name, self.now());
        let mut all = existing;
        all.push(vip.clone());
        let secret_change = secret.map_or(SecretChange::Keep, SecretChange::Set);
        let message = format!("vip {} created", vip.name);
        let committed = self.commit_vips(actor, ring, cluster_id, &all, (vip.id, &secret_change), "vip.create", &message).await?;
        self.write_vip(ring, &vip, &secret_change, true).await?;
        Ok(VipChange { vip: Some(vip), committed })
    }

    /// Replaces group `id` with `new` (an absent `auth_secret` keeps the stored one, `""`
    /// removes it). Errors as [`Store::create_vip`], 404 for an unknown group.
    pub async fn update_vip(&self, actor: Actor<'_>, ring: &Keyring, cluster_id: i64, id: i64, new: &NewVip) -> Result<VipChange> {
        let checked = new.check()?;
        let old = self.vip(cluster_id, id).await?;
        let existing = self.vips(cluster_id).await?;
        if existing.iter().any(|v| v.name == new.name && v.id != id) {
            return Err(Error::Conflict(format!("vip {:?} already exists in cluster {cluster_id}", new.name)));
        }
        let secret_change = match new.auth_secret.as_deref() {
            None => SecretChange::Keep,
            Some("") => SecretChange::Remove,
            Some(secret) => SecretChange::Set(secret),
        };
        let authenticated = match secret_change {
            SecretChange::Keep => old.authenticated,
            SecretChange::Set(_) => true,
            SecretChange::Remove => false,
        };
        if authenticated && checked.version == 3 {
            return Err(Error::invalid("auth_secret: VRRP version 3 has no authentication (send \"\" to remove the stored secret)"));
        }
        let mut vip = Vip { authenticated, ..old };
        vip.set(new, checked, self.now());
        self.replace_vip(actor, ring, cluster_id, vip, secret_change, "vip.update").await
    }

    /// Moves group `id` to agent `to` by priority (RFC 5798 §6.4.3: a backup of higher
    /// priority preempts): `to` gets one more than every other node (at most 254, others
    /// lowered to make room). 409 when preemption is off (raising a priority moves nothing
    /// then) or `to` already has the highest priority alone; 422 when `to` is not a node.
    pub async fn fail_over_vip(&self, actor: Actor<'_>, ring: &Keyring, cluster_id: i64, id: i64, to: &str) -> Result<VipChange> {
        let mut vip = self.vip(cluster_id, id).await?;
        if !vip.preempt {
            return Err(Error::Conflict(format!("vip {}: preempt is off, a higher priority would not take the addresses", vip.name)));
        }
        if !vip.nodes.iter().any(|n| n.agent == to) {
            return Err(Error::invalid(format!("to: {to} is not a node of vip {}", vip.name)));
        }
        let others = vip.nodes.iter().filter(|n| n.agent != to).map(|n| n.priority).max().unwrap_or(0);
        let current = vip.nodes.iter().find(|n| n.agent == to).map_or(0, |n| n.priority);
        if current > others {
            return Err(Error::Conflict(format!("vip {}: {to} already has the highest priority ({current})", vip.name)));
        }
        let target = others.saturating_add(1).min(254);
        for node in &mut vip.nodes {
            if node.agent == to {
                node.priority = target;
            } else if node.priority >= target {
                node.priority = target - 1;
            }
        }
        vip.updated_at = self.now();
        self.replace_vip(actor, ring, cluster_id, vip, SecretChange::Keep, "vip.failover").await
    }

    async fn replace_vip(
        &self,
        actor: Actor<'_>,
        ring: &Keyring,
        cluster_id: i64,
        vip: Vip,
        secret_change: SecretChange<'_>,
        action: &str,
    ) -> Result<VipChange> {
        let mut all: Vec<Vip> = self.vips(cluster_id).await?.into_iter().filter(|v| v.id != vip.id).collect();
        all.push(vip.clone());
        let message = format!("vip {} changed ({action})", vip.name);
        let committed = self.commit_vips(actor, ring, cluster_id, &all, (vip.id, &secret_change), action, &message).await?;
        self.write_vip(ring, &vip, &secret_change, false).await?;
        Ok(VipChange { vip: Some(vip), committed })
    }

    /// Deletes group `id`: a version without it in any node's file, then its row and secret.
    pub async fn delete_vip(&self, actor: Actor<'_>, ring: &Keyring, cluster_id: i64, id: i64) -> Result<VipChange> {
        let vip = self.vip(cluster_id, id).await?;
        let rest: Vec<Vip> = self.vips(cluster_id).await?.into_iter().filter(|v| v.id != id).collect();
        let message = format!("vip {} deleted", vip.name);
        let committed = self.commit_vips(actor, ring, cluster_id, &rest, (id, &SecretChange::Remove), "vip.delete", &message).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM vips WHERE id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(secret_name(id)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(VipChange { vip: None, committed })
    }

    /// Writes a group's row (insert or update) and its secret, in one transaction.
    async fn write_vip(&self, ring: &Keyring, vip: &Vip, secret: &SecretChange<'_>, insert: bool) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if insert {
            sqlx::query(&format!("INSERT INTO vips ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
                .bind(vip.id)
                .bind(vip.cluster_id)
                .bind(&vip.name)
                .bind(spec_column(vip)?)
                .bind(&vip.created_by)
                .bind(vip.created_at)
                .bind(vip.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_to_conflict(e, || format!("vip {:?} already exists", vip.name)))?;
        } else {
            sqlx::query("UPDATE vips SET name = $1, spec = $2, updated_at = $3 WHERE id = $4")
                .bind(&vip.name)
                .bind(spec_column(vip)?)
                .bind(vip.updated_at)
                .bind(vip.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_to_conflict(e, || format!("vip {:?} already exists", vip.name)))?;
        }
        match secret {
            SecretChange::Keep => {}
            SecretChange::Remove => {
                sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(secret_name(vip.id)).execute(&mut *tx).await?;
            }
            SecretChange::Set(plain) => {
                let sealed = ring.seal(&purpose(vip.id), plain.as_bytes(), self.random())?;
                sqlx::query("DELETE FROM sealed_secrets WHERE name = $1").bind(secret_name(vip.id)).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO sealed_secrets (name, purpose, public, sealed, created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, $4)",
                )
                .bind(secret_name(vip.id))
                .bind(purpose(vip.id).as_str())
                .bind(sealed.as_str())
                .bind(self.now())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The open auth secrets of `vips`, by group id.
    async fn vip_secrets(&self, ring: &Keyring, vips: &[Vip]) -> Result<BTreeMap<i64, String>> {
        let mut secrets = BTreeMap::new();
        for vip in vips.iter().filter(|v| v.authenticated) {
            let stored = self.sealed_secret(&secret_name(vip.id)).await?.ok_or_else(|| Error::Corrupt(format!("vip {}: auth secret missing", vip.id)))?;
            let plain = ring.open(&purpose(vip.id), &stored.sealed)?;
            secrets.insert(vip.id, String::from_utf8(plain).map_err(|_| Error::Corrupt(format!("vip {}: auth secret is not text", vip.id)))?);
        }
        Ok(secrets)
    }

    /// What each agent of the cluster reported, by name.
    async fn agent_facts(&self, cluster_id: i64) -> Result<BTreeMap<String, AgentFacts>> {
        let agents = self.status_agents(cluster_id).await?;
        Ok(agents.into_iter().map(|a| (a.name, AgentFacts { interfaces: a.interfaces, keepalived: a.keepalived })).collect())
    }

    /// Commits every node's keepalived.conf for `vips` (the change's secret applied) as one
    /// version of the latest bundle.
    #[allow(clippy::too_many_arguments)]
    async fn commit_vips(
        &self,
        actor: Actor<'_>,
        ring: &Keyring,
        cluster_id: i64,
        vips: &[Vip],
        (changed, secret): (i64, &SecretChange<'_>),
        action: &str,
        message: &str,
    ) -> Result<Committed> {
        let mut secrets = self.vip_secrets(ring, &vips.iter().filter(|v| v.id != changed).cloned().collect::<Vec<_>>()).await?;
        match secret {
            SecretChange::Set(plain) => {
                secrets.insert(changed, (*plain).to_string());
            }
            SecretChange::Keep => {
                if let Some(vip) = vips.iter().find(|v| v.id == changed && v.authenticated) {
                    secrets.extend(self.vip_secrets(ring, std::slice::from_ref(vip)).await?);
                }
            }
            SecretChange::Remove => {}
        }
        let files = node_files(vips, &self.agent_facts(cluster_id).await?, &secrets)?;
        let made = Made::new(action, message, json!({"vips": vips.iter().map(|v| &v.name).collect::<Vec<_>>(), "nodes": files.keys().collect::<Vec<_>>()}));
        self.change_latest(actor, cluster_id, made, |bundle| with_node_files(bundle, &files)).await
    }

    /// Each group of the cluster with who holds it (see [`crate::vip::status`]).
    pub(crate) async fn vip_statuses(&self, cluster_id: i64, agents: &[crate::model::Agent]) -> Result<Vec<VipStatus>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM vips WHERE cluster_id = $1 ORDER BY name")).bind(cluster_id).fetch_all(self.pool()).await?;
        let mut statuses = Vec::new();
        for row in &rows {
            let vip = vip_from_row(row)?;
            let holder_rows = sqlx::query("SELECT agent_id, since FROM vip_holders WHERE vip_id = $1 ORDER BY since DESC, agent_id")
                .bind(vip.id)
                .fetch_all(self.pool())
                .await?;
            let mut holders = Vec::new();
            let mut since = None;
            for h in &holder_rows {
                let id: i64 = h.try_get("agent_id")?;
                if let Some(agent) = agents.iter().find(|a| a.id == id) {
                    if holders.is_empty() {
                        since = Some(h.try_get::<i64, _>("since")?);
                    }
                    holders.push(agent.name.clone());
                }
            }
            let transitions = sqlx::query("SELECT at, agent, event FROM vip_transitions WHERE vip_id = $1 ORDER BY at DESC, id DESC LIMIT 20")
                .bind(vip.id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|t| Ok(VipTransition { at: t.try_get("at")?, agent: t.try_get("agent")?, event: t.try_get("event")? }))
                .collect::<Result<Vec<_>>>()?;
            let nodes = vip
                .nodes
                .iter()
                .map(|node| {
                    let agent = agents.iter().find(|a| a.name == node.agent);
                    VipNodeStatus {
                        agent: node.agent.clone(),
                        priority: node.priority,
                        state: agent.and_then(|a| a.keepalived.as_ref()).and_then(|k| k.instances.iter().find(|i| i.name == vip.name)).map(|i| i.state),
                        holds: agent.is_some_and(|a| holds(&vip, &a.interfaces)),
                        last_seen_at: agent.and_then(|a| a.last_seen_at),
                    }
                })
                .collect();
            statuses.push(VipStatus {
                id: vip.id,
                name: vip.name.clone(),
                addresses: vip.addresses.clone(),
                holder: holders.first().cloned(),
                since,
                holders,
                nodes,
                transitions,
            });
        }
        Ok(statuses)
    }
}

/// `bundle` with each node's generated keepalived.conf set, and generated files of nodes that
/// have no group any more removed. 409 when a node's file is not generated (managed as text).
fn with_node_files(bundle: &Bundle, files: &BTreeMap<String, String>) -> Result<Bundle> {
    let mut bundle = bundle.clone();
    for (agent, text) in files {
        let path = node_config_path(agent).map_err(|e| Error::invalid(format!("agent {agent}: {e}")))?;
        if let Some(existing) = bundle.file(&path) {
            if !is_generated(&existing.content) {
                return Err(Error::Conflict(format!(
                    "{path} is managed as text (adopted or edited): change it as a file, or delete it to let the cluster's VIPs generate it"
                )));
            }
        }
        let file = BundleFile::new(path, FileKind::Keepalived, text.as_bytes().to_vec());
        bundle = bundle.with_file(file).map_err(|e| Error::invalid(e.to_string()))?;
    }
    let stale: Vec<_> = bundle
        .files()
        .iter()
        .filter(|f| node_of_config_path(&f.path).is_some_and(|agent| !files.contains_key(agent)) && is_generated(&f.content))
        .map(|f| f.path.clone())
        .collect();
    for path in stale {
        if let Some(without) = bundle.without_file(&path) {
            bundle = without.map_err(|e| Error::invalid(e.to_string()))?;
        }
    }
    Ok(bundle)
}
