//! VIPs in a site file: a cluster's VRRP groups (`[[cluster.vip]]`, the fields of
//! `POST /api/v1/clusters/{id}/vips`), planned against the cluster's groups and made through
//! the VIP routes (each change one version with every node's keepalived.conf, applied by the
//! server).
//!
//! ```toml
//! [[cluster.vip]]
//! name = "web"
//! addresses = ["198.18.0.50/24"]
//! vrid = 51
//! interface = "eth0"
//! nodes = [{ agent = "lb1", priority = 150 }, { agent = "lb2", priority = 100 }]
//! # advert_interval = 1, version = 2, preempt = true, track_haproxy = true, unicast = false,
//! # auth_secret = "..." (absent: the stored one is kept; "" removes it)
//! ```
//! `+ vip` for a group the cluster lacks, `~ vip` naming the fields that differ
//! (fleet-core `vip::differences`), `- vip` for a group the file does not declare (--prune only).

use fleet_core::vip::{NewVip, VipNode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use toml::Spanned;

use super::file::{ClusterSpec, Known, Loaded, SiteError};
use crate::cli::client::http::{cluster_path, Api, Body};
use crate::cli::client::resources::list;
use crate::cli::client::ClientError;

/// `[[cluster.vip]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VipSpec {
    pub(crate) name: String,
    pub(crate) addresses: Vec<String>,
    pub(crate) vrid: u8,
    pub(crate) interface: String,
    #[serde(default = "one_second")]
    pub(crate) advert_interval: f64,
    #[serde(default)]
    pub(crate) version: Option<u8>,
    #[serde(default = "yes")]
    pub(crate) preempt: bool,
    #[serde(default = "yes")]
    pub(crate) track_haproxy: bool,
    #[serde(default)]
    pub(crate) unicast: bool,
    #[serde(default)]
    pub(crate) auth_secret: Option<String>,
    pub(crate) nodes: Vec<Spanned<VipNode>>,
}

fn one_second() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl VipSpec {
    /// The group as the API takes it.
    pub(crate) fn group(&self) -> NewVip {
        NewVip {
            name: self.name.clone(),
            addresses: self.addresses.clone(),
            vrid: self.vrid,
            interface: self.interface.clone(),
            advert_interval: self.advert_interval,
            version: self.version,
            preempt: self.preempt,
            track_haproxy: self.track_haproxy,
            unicast: self.unicast,
            auth_secret: self.auth_secret.clone(),
            nodes: self.nodes.iter().map(|n| n.get_ref().clone()).collect(),
        }
    }
}

/// Checks each group (fleet-core's check, at the group) and its nodes: agents the cluster
/// declares or has on the server, at the node.
pub(crate) fn check(site: &Loaded, known: &Known, errors: &mut Vec<SiteError>) {
    for cluster in &site.site.clusters {
        for (i, vip) in cluster.vips.iter().enumerate() {
            if let Err(e) = vip.get_ref().group().check() {
                errors.push(site.error_at(vip.span(), &format!("vip {:?}: {e}", vip.get_ref().name)));
            }
            if cluster.vips[..i].iter().any(|v| v.get_ref().name == vip.get_ref().name) {
                errors.push(site.error_at(vip.span(), &format!("vip {:?} is declared twice in cluster {}", vip.get_ref().name, cluster.name.get_ref())));
            }
            for node in &vip.get_ref().nodes {
                if !has_agent(cluster, known, &node.get_ref().agent) {
                    let message = format!("no agent {:?} in cluster {} (its `agents` or the server's)", node.get_ref().agent, cluster.name.get_ref());
                    errors.push(site.error_at(node.span(), &message));
                }
            }
        }
    }
}

fn has_agent(cluster: &ClusterSpec, known: &Known, agent: &str) -> bool {
    let name = cluster.name.get_ref();
    cluster.agents.iter().any(|a| a.get_ref() == agent) || known.agents.iter().any(|(c, a)| c == name && a == agent)
}

/// One VIP change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VipChange {
    /// `create`, `update` or `delete`.
    pub(crate) action: &'static str,
    pub(crate) cluster: String,
    pub(crate) vip: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) changed: Vec<&'static str>,
    /// The group sent (holds the secret: never printed).
    #[serde(skip)]
    pub(crate) body: Value,
}

impl VipChange {
    /// `+`, `~` or `-`.
    pub(crate) fn sign(&self) -> char {
        match self.action {
            "create" => '+',
            "delete" => '-',
            _ => '~',
        }
    }

    /// One line for people.
    pub(crate) fn headline(&self) -> String {
        let changed = if self.changed.is_empty() { String::new() } else { format!(": {}", self.changed.join(", ")) };
        format!("vip {}/{}{changed}", self.cluster, self.vip)
    }
}

/// The changes that give `cluster` the file's groups (`exists`: the cluster is on the server),
/// and whether the VIP routes write the cluster's keepalived files (it has groups, or will):
/// then a config push leaves those files to them.
pub(crate) fn plan(api: &Api, cluster: &ClusterSpec, exists: bool, prune: bool) -> Result<(Vec<VipChange>, bool), ClientError> {
    let name = cluster.name.get_ref();
    let stored: Vec<fleet_core::vip::Vip> = match exists {
        true => api.get_as(&cluster_path(name, "/vips"))?,
        false => Vec::new(),
    };
    let managed = !stored.is_empty() || !cluster.vips.is_empty();
    let mut changes = Vec::new();
    let change = |action: &'static str, vip: &str, changed: Vec<&'static str>, body: Value| VipChange { action, cluster: name.clone(), vip: vip.to_string(), changed, body };
    for spec in &cluster.vips {
        let group = spec.get_ref().group();
        let body = serde_json::to_value(&group).map_err(|e| ClientError::Answer(e.to_string()))?;
        match stored.iter().find(|v| v.name == group.name) {
            None => changes.push(change("create", &group.name, Vec::new(), body)),
            Some(vip) => {
                let changed = fleet_core::vip::differences(&group, vip).map_err(|e| ClientError::Usage(e.to_string()))?;
                if !changed.is_empty() {
                    changes.push(change("update", &group.name, changed, body));
                }
            }
        }
    }
    if prune {
        for vip in stored.iter().filter(|v| !cluster.vips.iter().any(|s| s.get_ref().name == v.name)) {
            changes.push(change("delete", &vip.name, Vec::new(), Value::Null));
        }
    }
    Ok((changes, managed))
}

/// Makes one change; the group and its version.
pub(crate) fn execute(api: &Api, change: &VipChange) -> Result<Value, ClientError> {
    let base = cluster_path(&change.cluster, "/vips");
    if change.action == "create" {
        return api.post(&base, &change.body);
    }
    let id = list(&api.get(&base)?)
        .iter()
        .find(|v| v["name"] == change.vip.as_str())
        .map(|v| v["id"].clone())
        .ok_or_else(|| ClientError::Failed(format!("no vip {} in cluster {}", change.vip, change.cluster)))?;
    match change.action {
        "update" => api.json(reqwest::Method::PUT, &format!("{base}/{id}"), Body::Json(&change.body)),
        _ => api.delete(&format!("{base}/{id}")),
    }
    .map(|answer| if answer.is_null() { json!({}) } else { answer })
}
