//! What a site file would change on the server, resource by resource, read from the API.
//!
//! ```text
//! pools     declared, missing                  -> + pool
//! clusters  declared, missing                  -> + cluster (in its pool, with its settings)
//!           config_path / reload_mode differ   -> ~ settings
//!           the folder differs from the latest -> ~ config (bundle::local::plan_push: the diff,
//!                                                 and the offline check of the result)
//!           desired version is not the latest  -> ~ rollout (after a config change too)
//!           an agent named with neither an agent nor a pending enrolment -> + enrolment
//!           certificates (certs_plan), before the config; VIPs (vips), after the rollout
//! pools     failover settings differ           -> + / ~ failover (failover)
//! ACME      orders wanted (certs_plan), after every cluster
//! --prune   clusters, certificates, then pools, on the server and not in the file -> - ...
//! ```
//! Nothing else is touched: a pool's description is used when it is created only, settings
//! the file leaves out keep their values, clusters and pools not in the file stay unless
//! `--prune`.

use fleet_core::bundle::local::{plan_push, read_tree, PushPlan};
use fleet_core::bundle::diff_bundles;
use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::ClusterSettings;
use haproxy_model::Diagnostic;
use serde::Serialize;
use serde_json::{json, Value};

use super::certs_plan::{self, CertChange};
use super::failover::{self, FailoverChange};
use super::file::{ClusterSpec, Known, Loaded};
use super::vips::{self, VipChange};
use crate::cli::client::bundle::{after, current, Current};
use crate::cli::client::http::{cluster_path, Api};
use crate::cli::client::resources::list;
use crate::cli::client::ClientError;

/// One change of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum Change {
    CreatePool { pool: String, description: String },
    CreateCluster { cluster: String, pool: String, settings: Value },
    UpdateSettings { cluster: String, settings: Value, changed: Vec<String> },
    Config {
        cluster: String,
        base: i64,
        #[serde(skip)]
        plan: PushPlan,
        diff: Value,
        /// The offline check's findings on the result (errors refuse it at commit).
        diagnostics: Vec<Diagnostic>,
    },
    Rollout { cluster: String, from: Option<i64>, to: Option<i64> },
    Enrol { cluster: String, agent: String },
    DeleteCluster { cluster: String },
    DeletePool { pool: String },
    Certificate(CertChange),
    Vip(VipChange),
    Failover(FailoverChange),
}

impl Change {
    /// `+`, `~` or `-`.
    pub(crate) fn sign(&self) -> char {
        match self {
            Change::CreatePool { .. } | Change::CreateCluster { .. } | Change::Enrol { .. } => '+',
            Change::DeleteCluster { .. } | Change::DeletePool { .. } => '-',
            Change::Certificate(change) => change.sign(),
            Change::Vip(change) => change.sign(),
            Change::Failover(change) => change.sign(),
            _ => '~',
        }
    }

    /// One line for people.
    pub(crate) fn headline(&self) -> String {
        match self {
            Change::CreatePool { pool, .. } => format!("pool {pool}"),
            Change::CreateCluster { cluster, pool, .. } => format!("cluster {cluster} (pool {pool})"),
            Change::UpdateSettings { cluster, changed, .. } => format!("cluster {cluster} settings: {}", changed.join(", ")),
            Change::Config { cluster, base, plan, .. } => format!("cluster {cluster} config: {} file changes on version {base}", plan.ops.len()),
            Change::Rollout { cluster, from, to } => {
                let to = to.map_or("the new version".to_string(), |v| format!("version {v}"));
                format!("cluster {cluster} rollout: {} -> {to}", from.map_or("none".to_string(), |v| format!("version {v}")))
            }
            Change::Enrol { cluster, agent } => format!("enrolment {cluster}/{agent}"),
            Change::DeleteCluster { cluster } => format!("cluster {cluster}"),
            Change::DeletePool { pool } => format!("pool {pool}"),
            Change::Certificate(change) => change.headline(),
            Change::Vip(change) => change.headline(),
            Change::Failover(change) => change.headline(),
        }
    }
}

/// How to plan.
pub(crate) struct Options<'a> {
    pub(crate) prune: bool,
    /// What the server had when the file was checked.
    pub(crate) known: &'a Known,
    pub(crate) checker: Option<&'a HaproxyChecker>,
}

/// The changes that make the server match `site`.
pub(crate) fn plan(api: &Api, site: &Loaded, options: &Options<'_>) -> Result<Vec<Change>, ClientError> {
    let pools = api.get("/pools")?;
    let clusters = api.get("/clusters")?;
    let certs = certs_plan::read(api, site, options.known, &clusters, options.prune)?;
    let global = certs_plan::plan_global(site, &certs)?;
    let replaced = certs_plan::replaced_in(&certs, &global);
    let mut changes = Vec::new();
    let pool_exists = |name: &str| list(&pools).iter().any(|p| p["name"] == name);
    for pool in &site.site.pools {
        if !pool_exists(pool.name.get_ref()) {
            changes.push(Change::CreatePool { pool: pool.name.get_ref().clone(), description: pool.description.clone() });
        }
    }
    changes.extend(global.into_iter().map(Change::Certificate));
    for spec in &site.site.clusters {
        let name = spec.name.get_ref();
        let existing = list(&clusters).into_iter().find(|c| c["name"] == name.as_str()).cloned();
        let touched = replaced.contains(name);
        plan_cluster(api, site, spec, existing, options, (&certs, touched), &mut changes)?;
    }
    for pool in &site.site.pools {
        changes.extend(failover::plan(api, pool, options.known, pool_exists(pool.name.get_ref()))?.map(Change::Failover));
    }
    changes.extend(certs_plan::plan_orders(site, options.known, &certs).into_iter().map(Change::Certificate));
    if options.prune {
        for cluster in list(&clusters) {
            let name = cluster["name"].as_str().unwrap_or_default();
            if !site.site.clusters.iter().any(|c| c.name.get_ref() == name) {
                changes.push(Change::DeleteCluster { cluster: name.to_string() });
            }
        }
        changes.extend(certs_plan::plan_prune(site, &certs).into_iter().map(Change::Certificate));
        for pool in list(&pools) {
            let name = pool["name"].as_str().unwrap_or_default();
            let declared = site.site.pools.iter().any(|p| p.name.get_ref() == name) || site.site.clusters.iter().any(|c| c.pool.get_ref() == name);
            if !declared {
                changes.push(Change::DeletePool { pool: name.to_string() });
            }
        }
    }
    Ok(changes)
}

/// The settings the file asks for, over `base`; the names of those that differ.
fn wanted_settings(spec: &ClusterSpec, base: &ClusterSettings) -> Result<(ClusterSettings, Vec<String>), ClientError> {
    let mut wanted = base.clone();
    let mut changed = Vec::new();
    if let Some(path) = &spec.config_path {
        if *path != base.config_path {
            changed.push(format!("config_path {} -> {path}", base.config_path));
            wanted.config_path = path.clone();
        }
    }
    if let Some(mode) = &spec.reload_mode {
        let mode: fleet_core::ReloadMode = serde_json::from_value(json!(mode.get_ref())).map_err(|e| ClientError::Usage(e.to_string()))?;
        if mode != base.reload_mode {
            changed.push(format!("reload_mode {:?} -> {:?}", base.reload_mode, mode).to_lowercase());
            wanted.reload_mode = mode;
        }
    }
    Ok((wanted, changed))
}

/// A cluster's changes; `certs`: the server's certificates, and whether a replacement writes
/// into this cluster.
fn plan_cluster(
    api: &Api,
    site: &Loaded,
    spec: &ClusterSpec,
    existing: Option<Value>,
    options: &Options<'_>,
    certs: (&certs_plan::Server, bool),
    changes: &mut Vec<Change>,
) -> Result<(), ClientError> {
    let name = spec.name.get_ref().clone();
    let (settings, current, desired, agents) = match &existing {
        None => {
            let (settings, _) = wanted_settings(spec, &ClusterSettings::default())?;
            let value = serde_json::to_value(&settings).map_err(|e| ClientError::Answer(e.to_string()))?;
            changes.push(Change::CreateCluster { cluster: name.clone(), pool: spec.pool.get_ref().clone(), settings: value });
            let current = Current::empty(&settings);
            (settings, current, None, Vec::new())
        }
        Some(cluster) => {
            let base: ClusterSettings = serde_json::from_value(cluster["settings"].clone()).map_err(|e| ClientError::Answer(e.to_string()))?;
            let (settings, changed) = wanted_settings(spec, &base)?;
            if !changed.is_empty() {
                let value = serde_json::to_value(&settings).map_err(|e| ClientError::Answer(e.to_string()))?;
                changes.push(Change::UpdateSettings { cluster: name.clone(), settings: value, changed });
            }
            let agents = list(&api.get(&cluster_path(&name, "/agents"))?).iter().chain(list(&api.get(&cluster_path(&name, "/enrollments"))?).iter()).map(|a| a["name"].as_str().unwrap_or_default().to_string()).collect();
            (settings, current(api, &name, None)?, cluster["desired_version"].as_i64(), agents)
        }
    };
    // Deploys before the config (it may name them), undeploys after it (it may stop naming them).
    let cert_changes = certs_plan::plan_cluster(site, certs.0, &name, options.prune);
    let touched = certs.1 || !cert_changes.is_empty();
    let (deploys, undeploys): (Vec<_>, Vec<_>) = cert_changes.into_iter().partition(|c| c.action == certs_plan::CertAction::Deploy);
    changes.extend(deploys.into_iter().map(Change::Certificate));
    let (vip_changes, vips_managed) = vips::plan(api, spec, existing.is_some(), options.prune)?;
    let dir = site.config_dir(spec);
    let local = read_tree(&dir)?;
    let mut push = plan_push(&current.files, &local);
    if vips_managed {
        push.keep(|path| fleet_core::vip::node_of_config_path(path).is_some());
    }
    let config_changes = !push.is_empty();
    if config_changes {
        let new = after(&current, &push, &dir)?;
        let diff = diff_bundles(&current.bundle, &new, &format!("version {}", current.version), &dir.display().to_string());
        // Files withheld from the client (private keys) are on the server: not missing.
        let mut check_settings = settings.clone();
        check_settings.external.extend(push.kept.iter().map(|p| p.as_str().to_string()));
        // So are the site's certificates, deployed before the config.
        check_settings.external.extend(certs_plan::paths_in(site, &name));
        let diagnostics = match fleet_core::candidate::gate_bundle(&new, &check_settings, options.checker) {
            Ok(warnings) => warnings,
            Err(fleet_core::Error::Invalid { diagnostics, .. }) => diagnostics,
            Err(other) => return Err(ClientError::Failed(other.to_string())),
        };
        let diff = serde_json::to_value(diff).map_err(|e| ClientError::Answer(e.to_string()))?;
        changes.push(Change::Config { cluster: name.clone(), base: current.version, plan: push, diff, diagnostics });
    }
    changes.extend(undeploys.into_iter().map(Change::Certificate));
    let latest = (current.version > 0).then_some(current.version);
    let new_version = config_changes || touched;
    if new_version || (latest.is_some() && desired != latest) {
        let to = if new_version { None } else { latest };
        changes.push(Change::Rollout { cluster: name.clone(), from: desired, to });
    }
    for agent in &spec.agents {
        if !agents.iter().any(|a| a == agent.get_ref()) {
            changes.push(Change::Enrol { cluster: name.clone(), agent: agent.get_ref().clone() });
        }
    }
    changes.extend(vip_changes.into_iter().map(Change::Vip));
    Ok(())
}

/// Prints a plan for people: one line per change, config diffs and check findings under theirs.
pub(crate) fn print(changes: &[Change]) {
    if changes.is_empty() {
        println!("no changes: the server matches the site file");
        return;
    }
    for change in changes {
        println!("{} {}", change.sign(), change.headline());
        if let Change::Config { diff, diagnostics, .. } = change {
            crate::cli::client::versions::print_diff(diff);
            for d in diagnostics {
                println!("  {}:{}:{}: {}: {}", d.file.as_deref().unwrap_or("config"), d.position.line, d.position.column, d.severity, d.message);
            }
        }
    }
    let count = |sign| changes.iter().filter(|c| c.sign() == sign).count();
    println!("plan: {} to add, {} to change, {} to destroy", count('+'), count('~'), count('-'));
}
