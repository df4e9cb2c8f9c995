//! A whole site in a Git repository: `fleet plan -f fleet.toml`, `fleet apply -f fleet.toml`,
//! `fleet site new`.
//!
//! ```text
//! file::read + file::check (keys and references against the server, file:line:col)
//!   -> plan::plan (read from the API; certificates: certs_plan, VIPs: vips, failover: failover)
//!   plan:  print; exit 0 nothing to do, 2 changes pending, 1 errors (terraform's convention)
//!   apply: ask (unless --auto-approve) -> each change in order: pools, ACME accounts and
//!          certificates, then per cluster: create, settings, certificate deploys, config (one
//!          transaction), undeploys, rollout (--wait follows it), enrolments, VIPs; then pools'
//!          failover, ACME orders, prunes; a cluster whose step failed is left there, the others
//!          go on; each change's outcome is reported; exit 0 only when all succeeded
//! ```

mod certs;
mod certs_plan;
mod failover;
mod file;
mod new;
mod plan;
mod vips;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use fleet_core::haproxy_check::HaproxyChecker;
use serde_json::{json, Value};

use super::http::{cluster_path, escape, Api};
use super::resources::list;
use super::rollout::{roll_out, ApplyArgs};
use super::table::print_json;
use super::{confirm, report, ClientError, Conn};
use plan::Change;

pub(crate) use new::{new_site, SiteArgs};

/// `fleet plan -f FILE`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    conn: Conn,
    /// The site file.
    #[arg(long, short = 'f', value_name = "FILE", default_value = "fleet.toml")]
    file: PathBuf,
    /// Also plan deleting the clusters and pools the file does not declare.
    #[arg(long)]
    prune: bool,
    /// Check each changed configuration with this `haproxy` too (`haproxy -c`), not only offline.
    #[arg(long, value_name = "PATH")]
    haproxy_bin: Option<PathBuf>,
}

fn names(value: &Value, key: &str) -> Vec<String> {
    list(value).iter().filter_map(|v| v[key].as_str().map(str::to_string)).collect()
}

/// The site file, checked against what the server has.
fn load(api: &Api, path: &Path) -> Result<(file::Loaded, file::Known), ClientError> {
    let failed = |errors: Vec<file::SiteError>| {
        let all: Vec<String> = errors.into_iter().map(|e| e.0).collect();
        ClientError::Failed(format!("the site file has errors:\n{}", all.join("\n")))
    };
    let site = file::read(path).map_err(failed)?;
    let providers = api.get("/dns-providers")?;
    let mut known = file::Known {
        pools: names(&api.get("/pools")?, "name"),
        clusters: names(&api.get("/clusters")?, "name"),
        agents: Vec::new(),
        acme_accounts: names(&api.get("/acme/accounts")?, "directory_url"),
        dns_providers: list(&providers).iter().filter_map(|p| Some((p["name"].as_str()?.to_string(), p["id"].as_i64()?))).collect(),
    };
    for cluster in site.site.clusters.iter().filter(|c| !c.vips.is_empty() && known.clusters.contains(c.name.get_ref())) {
        let name = cluster.name.get_ref();
        for agent in names(&api.get(&cluster_path(name, "/agents"))?, "name") {
            known.agents.push((name.clone(), agent));
        }
    }
    file::check(&site, &known).map_err(failed)?;
    Ok((site, known))
}

/// Runs `fleet plan`: exit 0 when nothing would change, 2 when changes are pending, 1 on errors.
pub(crate) fn plan_command(args: &PlanArgs) -> ExitCode {
    let checker = args.haproxy_bin.as_ref().map(HaproxyChecker::new);
    let planned = args.conn.connect().and_then(|api| {
        let (site, known) = load(&api, &args.file)?;
        plan::plan(&api, &site, &plan::Options { prune: args.prune, known: &known, checker: checker.as_ref() })
    });
    match planned {
        Ok(changes) => {
            if args.conn.json() {
                print_json(&json!({"changes": changes}));
            } else {
                plan::print(&changes);
            }
            ExitCode::from(if changes.is_empty() { 0 } else { 2 })
        }
        Err(error) => {
            report(&error);
            ExitCode::from(1)
        }
    }
}

/// What happened to one change.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    change: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    result: Value,
}

/// `fleet apply -f FILE`: makes the server match the site file.
pub(crate) fn apply(args: &ApplyArgs, path: &Path) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let (site, known) = load(&api, path)?;
    let changes = plan::plan(&api, &site, &plan::Options { prune: args.prune, known: &known, checker: None })?;
    if changes.is_empty() {
        super::resources::done(args.conn.json(), &json!({"changes": [], "outcomes": []}), "no changes: the server matches the site file");
        return Ok(());
    }
    if !args.conn.json() {
        plan::print(&changes);
    }
    if !args.auto_approve && !confirm("apply these changes")? {
        return Err(ClientError::Failed("nothing applied".into()));
    }
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    let mut failed_clusters: Vec<String> = Vec::new();
    let mut made: Vec<(String, i64)> = Vec::new();
    let mut outcomes = Vec::new();
    for change in &changes {
        let cluster = cluster_of(change);
        if cluster.is_some_and(|c| failed_clusters.iter().any(|f| f == c)) {
            outcomes.push(Outcome { change: change.headline(), ok: false, error: Some("skipped: an earlier change of this cluster failed".into()), result: Value::Null });
            continue;
        }
        let done = execute(&api, change, &made, wait, args.conn.json());
        match done {
            Ok(result) => {
                match change {
                    Change::Config { cluster, .. } => made.extend(result["version"].as_i64().map(|v| (cluster.clone(), v))),
                    Change::Certificate(c) => made.extend(certs_plan::versions(&api, c, &result).unwrap_or_default()),
                    _ => {}
                }
                if !args.conn.json() {
                    println!("done: {} {}", change.sign(), change.headline());
                    if let Some(command) = result["install_command"].as_str() {
                        println!("    {command}");
                    }
                }
                outcomes.push(Outcome { change: change.headline(), ok: true, error: None, result });
            }
            Err(error) => {
                if let Some(cluster) = cluster {
                    failed_clusters.push(cluster.to_string());
                }
                if !args.conn.json() {
                    println!("failed: {} {}: {error}", change.sign(), change.headline());
                }
                outcomes.push(Outcome { change: change.headline(), ok: false, error: Some(error.to_string()), result: Value::Null });
            }
        }
    }
    let failures = outcomes.iter().filter(|o| !o.ok).count();
    if args.conn.json() {
        print_json(&json!({"changes": changes, "outcomes": outcomes}));
    } else {
        println!("applied {} of {} changes", outcomes.len() - failures, outcomes.len());
    }
    match failures {
        0 => Ok(()),
        n => Err(ClientError::Failed(format!("{n} changes failed; the others were made"))),
    }
}

fn cluster_of(change: &Change) -> Option<&str> {
    match change {
        Change::CreateCluster { cluster, .. }
        | Change::UpdateSettings { cluster, .. }
        | Change::Config { cluster, .. }
        | Change::Rollout { cluster, .. }
        | Change::Enrol { cluster, .. }
        | Change::DeleteCluster { cluster } => Some(cluster),
        Change::Vip(change) => Some(&change.cluster),
        Change::Certificate(change) => change.cluster.as_deref(),
        Change::CreatePool { .. } | Change::DeletePool { .. } | Change::Failover(_) => None,
    }
}

/// Makes one change; its answer (the new version, the enrolment ...).
fn execute(api: &Api, change: &Change, made: &[(String, i64)], wait: Option<Duration>, json: bool) -> Result<Value, ClientError> {
    match change {
        Change::CreatePool { pool, description } => api.post("/pools", &json!({"name": pool, "description": description})),
        Change::CreateCluster { cluster, pool, settings } => {
            let pool_id = api.get(&format!("/pools/{}", escape(pool)))?["id"].clone();
            api.post("/clusters", &json!({"name": cluster, "pool_id": pool_id, "settings": settings}))
        }
        Change::UpdateSettings { cluster, settings, .. } => api.json(reqwest::Method::PUT, &cluster_path(cluster, "/settings"), super::http::Body::Json(settings)),
        Change::Config { cluster, base, plan, .. } => {
            // Certificates deployed into it just now moved its latest version on.
            let base = last_made(made, cluster).unwrap_or(*base);
            super::bundle::commit(api, cluster, base, plan, "fleet apply -f")
        }
        Change::Rollout { cluster, to, .. } => {
            let version = match to {
                Some(version) => *version,
                None => last_made(made, cluster).ok_or_else(|| ClientError::Failed("no new version to roll out".into()))?,
            };
            let live = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            match roll_out(api, cluster, version, wait, live)? {
                Some(rollout) => {
                    super::rollout::verdict(cluster, &rollout, wait.map_or(0, |w| w.as_secs()))?;
                    Ok(json!({"version": version, "agents": rollout.agents}))
                }
                None => Ok(json!({"version": version})),
            }
        }
        Change::Enrol { cluster, agent } => api.post(&cluster_path(cluster, "/enrollments"), &json!({"name": agent})),
        Change::DeleteCluster { cluster } => api.delete(&cluster_path(cluster, "")),
        Change::DeletePool { pool } => api.delete(&format!("/pools/{}", escape(pool))),
        Change::Certificate(change) => certs_plan::execute(api, change),
        Change::Vip(change) => vips::execute(api, change),
        Change::Failover(change) => failover::execute(api, change),
    }
}

/// The last version this apply made in `cluster`.
fn last_made(made: &[(String, i64)], cluster: &str) -> Option<i64> {
    made.iter().rev().find(|(c, _)| c == cluster).map(|(_, v)| *v)
}

/// `fleet site`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SiteCommand {
    /// Write a starter site: NAME/fleet.toml and the cluster's config folder beside it.
    New(SiteArgs),
}

/// Runs `fleet site ...`.
pub(crate) fn site(command: SiteCommand) -> Result<(), ClientError> {
    match command {
        SiteCommand::New(args) => new_site(&args),
    }
}
