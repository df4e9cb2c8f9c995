//! `fleet pool ...`, `fleet cluster ...`, `fleet agent ...`, `fleet enrol`.

use clap::Subcommand;
use serde_json::{json, Value};

use super::http::{cluster_path, escape};
use super::table::{cell, print_json, print_table, time};
use super::{confirm, ClientError, Conn};

/// `fleet pool`.
#[derive(Debug, clap::Args)]
pub(crate) struct PoolArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: PoolCommand,
}

#[derive(Debug, Subcommand)]
enum PoolCommand {
    /// Every pool you can see.
    Ls,
    /// Create a pool.
    Create {
        /// 1-100 letters, digits, `-`, `_` or `.`.
        name: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove a pool (global admin); one with clusters only with --force.
    Rm {
        /// The pool's name (or id).
        pool: String,
        /// Also delete its clusters, revoking their agents' tokens (HAProxy keeps serving on
        /// the nodes; the agents exit).
        #[arg(long)]
        force: bool,
    },
}

/// Runs `fleet pool ...`.
pub(crate) fn pool(args: PoolArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        PoolCommand::Ls => {
            let pools = api.get("/pools")?;
            if json {
                print_json(&pools);
            } else {
                let rows: Vec<Vec<String>> = list(&pools)
                    .iter()
                    .map(|p| vec![cell(&p["name"]), cell(&p["id"]), cell(&p["description"]), time(&p["created_at"])])
                    .collect();
                print_table(&["NAME", "ID", "DESCRIPTION", "CREATED"], &rows);
            }
        }
        PoolCommand::Create { name, description } => {
            let pool = api.post("/pools", &json!({"name": name, "description": description}))?;
            done(json, &pool, &format!("created pool {name} (id {})", pool["id"]));
        }
        PoolCommand::Rm { pool, force } => {
            api.delete(&format!("/pools/{}{}", escape(&pool), if force { "?force=true" } else { "" }))?;
            done(json, &json!({"deleted": pool}), &format!("removed pool {pool}"));
        }
    }
    Ok(())
}

/// `fleet cluster`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClusterArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Every cluster you can see (of one pool with --pool).
    Ls {
        /// Only this pool's clusters.
        #[arg(long)]
        pool: Option<String>,
    },
    /// Create a cluster in a pool.
    Create {
        /// 1-100 letters, digits, `-`, `_` or `.`.
        name: String,
        /// The pool it belongs to (name or id).
        #[arg(long)]
        pool: String,
        /// Where the configuration lives on every node (default /etc/haproxy/haproxy.cfg).
        #[arg(long, value_name = "PATH")]
        config_path: Option<String>,
        /// How agents reload HAProxy: `process` (master CLI) or `systemd`.
        #[arg(long, value_name = "MODE")]
        reload_mode: Option<String>,
    },
    /// Delete a cluster with all its versions (admin); one with enrolled agents only with
    /// --force.
    Rm {
        /// The cluster's name (or id).
        cluster: String,
        /// Also when agents are enrolled: their tokens are revoked (HAProxy keeps serving on
        /// the nodes; the agents exit).
        #[arg(long)]
        force: bool,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// A cluster's settings, versions and agents.
    Show {
        /// The cluster's name (or id).
        cluster: String,
    },
}

/// Runs `fleet cluster ...`.
pub(crate) fn cluster(args: ClusterArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        ClusterCommand::Ls { pool } => {
            let path = match &pool {
                Some(pool) => format!("/clusters?pool_id={}", api.get(&format!("/pools/{}", escape(pool)))?["id"]),
                None => "/clusters".into(),
            };
            let clusters = api.get(&path)?;
            if json {
                print_json(&clusters);
                return Ok(());
            }
            let pools = api.get("/pools")?;
            let pool_name = |id: &Value| list(&pools).iter().find(|p| &p["id"] == id).map(|p| cell(&p["name"])).unwrap_or_else(|| cell(id));
            let rows: Vec<Vec<String>> = list(&clusters)
                .iter()
                .map(|c| vec![cell(&c["name"]), cell(&c["id"]), pool_name(&c["pool_id"]), cell(&c["desired_version"]), cell(&c["settings"]["config_path"])])
                .collect();
            print_table(&["NAME", "ID", "POOL", "DESIRED", "CONFIG PATH"], &rows);
        }
        ClusterCommand::Create { name, pool, config_path, reload_mode } => {
            let pool_id = api.get(&format!("/pools/{}", escape(&pool)))?["id"].clone();
            let mut body = json!({"name": name, "pool_id": pool_id});
            if config_path.is_some() || reload_mode.is_some() {
                let mut settings = json!({});
                if let Some(path) = config_path {
                    settings["config_path"] = json!(path);
                }
                if let Some(mode) = reload_mode {
                    settings["reload_mode"] = json!(mode);
                }
                body["settings"] = settings;
            }
            let cluster = api.post("/clusters", &body)?;
            done(json, &cluster, &format!("created cluster {name} in pool {pool} (id {})", cluster["id"]));
        }
        ClusterCommand::Rm { cluster, yes, force } => {
            let what = if force { " and revoke its agents" } else { "" };
            if !yes && !confirm(&format!("delete cluster {cluster} and all its versions{what}"))? {
                return Err(ClientError::Failed("not deleted".into()));
            }
            api.delete(&cluster_path(&cluster, if force { "?force=true" } else { "" }))?;
            done(json, &json!({"deleted": cluster}), &format!("removed cluster {cluster}"));
        }
        ClusterCommand::Show { cluster } => {
            let found = api.get(&cluster_path(&cluster, ""))?;
            let versions = api.get(&cluster_path(&cluster, "/versions"))?;
            let status = api.get(&cluster_path(&cluster, "/status"))?;
            let latest = list(&versions).last().map(|v| v["number"].clone()).unwrap_or(Value::Null);
            if json {
                print_json(&json!({"cluster": found, "latest_version": latest, "status": status}));
                return Ok(());
            }
            let settings = &found["settings"];
            println!("cluster      {} (id {})", cell(&found["name"]), found["id"]);
            println!("pool         {}", cell(&found["pool_id"]));
            println!("config path  {}", cell(&settings["config_path"]));
            println!("reload mode  {}", cell(&settings["reload_mode"]));
            println!("versions     {} (latest {})", list(&versions).len(), cell(&latest));
            println!("desired      {}", cell(&found["desired_version"]));
            println!();
            super::rollout::print_agents(&status["agents"]);
        }
    }
    Ok(())
}

/// `fleet agent`.
#[derive(Debug, clap::Args)]
pub(crate) struct AgentArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: AgentCommand,
}

#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// A cluster's agents and what they last reported.
    Ls {
        /// The cluster's name (or id).
        cluster: String,
    },
    /// Revoke an agent (admin): its token stops at once; the node must enrol again.
    Revoke {
        /// The cluster's name (or id).
        cluster: String,
        /// The agent's name (or id).
        agent: String,
    },
    /// Decommission an agent (admin): its token is revoked and the agent, at its next call,
    /// stops HAProxy if asked and exits for good.
    Decommission {
        /// The cluster's name (or id).
        cluster: String,
        /// The agent's name (or id).
        agent: String,
        /// Also stop HAProxy on the node (default: it keeps serving).
        #[arg(long)]
        stop_haproxy: bool,
    },
}

/// Runs `fleet agent ...`.
pub(crate) fn agent(args: AgentArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json = args.conn.json();
    match args.command {
        AgentCommand::Ls { cluster } => {
            let agents = api.get(&cluster_path(&cluster, "/agents"))?;
            if json {
                print_json(&agents);
            } else {
                super::rollout::print_agents(&agents);
            }
        }
        AgentCommand::Revoke { cluster, agent } => {
            let found = find_agent(&api, &cluster, &agent)?;
            api.delete(&cluster_path(&cluster, &format!("/agents/{}", found["id"])))?;
            done(json, &json!({"revoked": found}), &format!("revoked agent {agent} of cluster {cluster}"));
        }
        AgentCommand::Decommission { cluster, agent, stop_haproxy } => {
            let found = find_agent(&api, &cluster, &agent)?;
            let answer = api.post(&cluster_path(&cluster, &format!("/agents/{}/decommission", found["id"])), &json!({"stop_haproxy": stop_haproxy}))?;
            let haproxy = if stop_haproxy { "it stops HAProxy and exits" } else { "it exits, HAProxy keeps serving" };
            done(json, &answer, &format!("decommissioned agent {agent} of cluster {cluster}: at its next call {haproxy}"));
        }
    }
    Ok(())
}

/// Agent `agent` (a name or an id) of `cluster`.
fn find_agent(api: &super::http::Api, cluster: &str, agent: &str) -> Result<Value, ClientError> {
    let agents = api.get(&cluster_path(cluster, "/agents"))?;
    list(&agents)
        .into_iter()
        .find(|a| a["name"] == agent || a["id"].as_i64().is_some_and(|id| agent.parse() == Ok(id)))
        .cloned()
        .ok_or_else(|| ClientError::Usage(format!("cluster {cluster} has no agent {agent}")))
}

/// `fleet enrol`.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrolArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster the node joins (name or id).
    cluster: String,
    /// The agent's name in the cluster (default: node-N, the first free N).
    #[arg(long)]
    name: Option<String>,
    /// A source network allowed to enrol (repeat for several; default: any).
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    allowed_cidrs: Vec<String>,
    /// How long the secret stays valid, in seconds (default: the server's --enrolment-ttl).
    #[arg(long, value_name = "SECONDS")]
    ttl: Option<u64>,
}

/// Creates an enrolment and prints the install commands (the server's script when it hands one
/// out, and the command for an agent already installed).
pub(crate) fn enrol(args: &EnrolArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            let agents = api.get(&cluster_path(&args.cluster, "/agents"))?;
            let pending = api.get(&cluster_path(&args.cluster, "/enrollments"))?;
            let taken: Vec<Value> = list(&agents).iter().chain(list(&pending).iter()).map(|a| a["name"].clone()).collect();
            (1..).map(|n| format!("node-{n}")).find(|n| !taken.iter().any(|t| t.as_str() == Some(n.as_str()))).unwrap_or_default()
        }
    };
    let mut body = json!({"name": name, "allowed_cidrs": args.allowed_cidrs});
    if let Some(ttl) = args.ttl {
        body["ttl_seconds"] = json!(ttl);
    }
    let issued = api.post(&cluster_path(&args.cluster, "/enrollments"), &body)?;
    if args.conn.json() {
        print_json(&issued);
        return Ok(());
    }
    println!("enrolment for agent {name} of cluster {} (valid until {} UTC; the secret is shown once):", args.cluster, time(&issued["expires_at"]));
    if let Some(command) = issued["install_script"]["command"].as_str() {
        println!();
        println!("install and enrol, as root on the node (the script is checked against SHA-256 {} first):", cell(&issued["install_script"]["sha256"]));
        println!();
        println!("    {command}");
        println!();
        println!("or, where fleet-agent is installed already:");
    }
    println!();
    println!("    {}", cell(&issued["install_command"]));
    Ok(())
}

/// The items of a JSON list (none for anything else).
pub(crate) fn list(value: &Value) -> Vec<&Value> {
    value.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Prints `value` for `-o json`, else the sentence.
pub(crate) fn done(json: bool, value: &Value, sentence: &str) {
    if json {
        print_json(value);
    } else {
        println!("{sentence}");
    }
}
