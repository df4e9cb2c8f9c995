//! `fleet job run|ls|show|cancel` and `fleet snapshot ls|diff|restore|promote`: remote jobs
//! (the closed set of `fleet_core::jobs` kinds) and disaster recovery from snapshots. `job run`
//! waits for every run and prints each agent's status and output; exit 1 when a run did not
//! succeed.

use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::{json, Value};

use super::http::cluster_path;
use super::resources::list;
use super::table::{cell, print_json, print_table};
use super::{ClientError, Conn};

/// `fleet job`.
#[derive(Debug, clap::Args)]
pub(crate) struct JobArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(Debug, Subcommand)]
enum JobCommand {
    /// Run a job on the cluster's agents and wait for it: validate, reload, restart, snapshot,
    /// restore (--snapshot ID), diagnostics, install-haproxy (--version V; nodes must allow it),
    /// upgrade-agent (--version V: a signed release, `fleet release list`; nodes must allow it).
    Run {
        /// The cluster's name (or id).
        cluster: String,
        /// The job kind.
        kind: String,
        /// Only this agent (repeatable; default every agent of the cluster).
        #[arg(long = "agent", value_name = "NAME")]
        agents: Vec<String>,
        /// Kill each run after this many seconds (default 120, install-haproxy 900).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        /// The snapshot a `restore` applies.
        #[arg(long)]
        snapshot: Option<i64>,
        /// The package version `install-haproxy` installs; the release `upgrade-agent` installs.
        #[arg(long)]
        version: Option<String>,
        /// Queue the job and return its id without waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// The cluster's jobs, newest first.
    Ls {
        /// The cluster's name (or id).
        cluster: String,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One job: each agent's status, exit code, duration and output.
    Show {
        /// The cluster's name (or id).
        cluster: String,
        /// The job's id.
        id: i64,
    },
    /// Cancel a job (running runs are killed with their process group).
    Cancel {
        /// The cluster's name (or id).
        cluster: String,
        /// The job's id.
        id: i64,
    },
}

/// `fleet snapshot`.
#[derive(Debug, clap::Args)]
pub(crate) struct SnapshotArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: SnapshotCommand,
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// The cluster's snapshots, newest first (`fleet job run CLUSTER snapshot` takes one).
    Ls {
        /// The cluster's name (or id).
        cluster: String,
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
    },
    /// How a snapshot differs from the cluster's desired version.
    Diff {
        /// The cluster's name (or id).
        cluster: String,
        /// The snapshot's id.
        id: i64,
    },
    /// Restore a snapshot (of any agent of the cluster) onto agents, through their validated
    /// pipeline, and wait.
    Restore {
        /// The cluster's name (or id).
        cluster: String,
        /// The snapshot's id.
        id: i64,
        /// The agent to restore onto (repeatable).
        #[arg(long = "agent", value_name = "NAME", required = true)]
        agents: Vec<String>,
    },
    /// Make a snapshot the cluster's next version (the import's checks); `fleet apply` rolls
    /// it out.
    Promote {
        /// The cluster's name (or id).
        cluster: String,
        /// The snapshot's id.
        id: i64,
        /// Why.
        #[arg(short, long, default_value = "")]
        message: String,
    },
}

/// `fleet job ...`.
pub(crate) fn job(args: JobArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    match args.command {
        JobCommand::Run { cluster, kind, agents, timeout, snapshot, version, no_wait } => {
            let mut body = json!({"kind": kind});
            if !agents.is_empty() {
                body["agents"] = json!(agents);
            }
            if let Some(timeout) = timeout {
                body["timeout"] = json!(timeout);
            }
            if let Some(snapshot) = snapshot {
                body["snapshot"] = json!(snapshot);
            }
            if let Some(version) = version {
                body["version"] = json!(version);
            }
            let job = api.post(&cluster_path(&cluster, "/jobs"), &body)?;
            if no_wait {
                match args.conn.json() {
                    true => print_json(&job),
                    false => println!("job {} queued on {} agents", job["id"], list(&job["runs"]).len()),
                }
                return Ok(());
            }
            let job = wait(&api, &cluster, &job)?;
            show(&job, args.conn.json())
        }
        JobCommand::Ls { cluster, limit } => {
            let jobs = api.get(&format!("{}?limit={limit}", cluster_path(&cluster, "/jobs")))?;
            if args.conn.json() {
                print_json(&jobs);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&jobs)
                .iter()
                .map(|j| vec![cell(&j["id"]), cell(&j["kind"]), cell(&j["status"]), list(&j["runs"]).len().to_string(), cell(&j["author"])])
                .collect();
            print_table(&["ID", "KIND", "STATUS", "AGENTS", "AUTHOR"], &rows);
            Ok(())
        }
        JobCommand::Show { cluster, id } => show(&api.get(&cluster_path(&cluster, &format!("/jobs/{id}")))?, args.conn.json()),
        JobCommand::Cancel { cluster, id } => {
            let job = api.post(&cluster_path(&cluster, &format!("/jobs/{id}/cancel")), &json!({}))?;
            let job = wait(&api, &cluster, &job)?;
            show(&job, args.conn.json())
        }
    }
}

/// Polls the job until every run ended (or its timeout and a margin passed).
fn wait(api: &super::http::Api, cluster: &str, job: &Value) -> Result<Value, ClientError> {
    let path = cluster_path(cluster, &format!("/jobs/{}", job["id"]));
    let timeout_ms = job["timeout_ms"].as_u64().unwrap_or(120_000);
    let deadline = Instant::now() + Duration::from_millis(timeout_ms) + Duration::from_secs(60);
    loop {
        let current = api.get(&path)?;
        let open = list(&current["runs"]).iter().any(|r| matches!(r["status"].as_str(), Some("queued" | "running")));
        if !open || Instant::now() >= deadline {
            return Ok(current);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Prints a job: a table of its runs, then each run's output; exit 1 unless all succeeded.
fn show(job: &Value, as_json: bool) -> Result<(), ClientError> {
    let runs = list(&job["runs"]);
    if as_json {
        print_json(job);
    } else {
        println!("job {} ({}): {}", job["id"], cell(&job["kind"]), cell(&job["status"]));
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| vec![cell(&r["agent"]), cell(&r["status"]), cell(&r["exit_code"]), cell(&r["duration_ms"])])
            .collect();
        print_table(&["AGENT", "STATUS", "EXIT", "MS"], &rows);
        for run in &runs {
            let output = run["output"].as_str().unwrap_or_default();
            if !output.is_empty() {
                println!("\n--- {} ---\n{}", cell(&run["agent"]), output.trim_end());
            }
        }
    }
    let failed: Vec<String> = runs.iter().filter(|r| r["status"] != "succeeded").map(|r| format!("{} ({})", cell(&r["agent"]), cell(&r["status"]))).collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(ClientError::Failed(format!("job {} did not succeed on {}", job["id"], failed.join(", ")))),
    }
}

/// `fleet snapshot ...`.
pub(crate) fn snapshot(args: SnapshotArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    match args.command {
        SnapshotCommand::Ls { cluster, agent } => {
            let mut path = cluster_path(&cluster, "/snapshots");
            if let Some(agent) = agent {
                path.push_str(&format!("?agent={}", super::http::escape(&agent)));
            }
            let snapshots = api.get(&path)?;
            if args.conn.json() {
                print_json(&snapshots);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&snapshots)
                .iter()
                .map(|s| {
                    let at = s["created_at"].as_i64().map(fleet_core::clock::rfc3339).unwrap_or_default();
                    vec![cell(&s["id"]), cell(&s["agent"]), list(&s["files"]).len().to_string(), cell(&s["size"]), at]
                })
                .collect();
            print_table(&["ID", "AGENT", "FILES", "BYTES", "TAKEN"], &rows);
            Ok(())
        }
        SnapshotCommand::Diff { cluster, id } => {
            let diff = api.get(&cluster_path(&cluster, &format!("/snapshots/{id}/diff")))?;
            if args.conn.json() {
                print_json(&diff);
                return Ok(());
            }
            print!("{}", diff["unified"].as_str().unwrap_or_default());
            for file in list(&diff["files"]) {
                println!("{} {}", cell(&file["change"]), cell(&file["path"]));
            }
            Ok(())
        }
        SnapshotCommand::Restore { cluster, id, agents } => {
            let job = api.post(&cluster_path(&cluster, "/jobs"), &json!({"kind": "restore", "snapshot": id, "agents": agents}))?;
            let job = wait(&api, &cluster, &job)?;
            show(&job, args.conn.json())
        }
        SnapshotCommand::Promote { cluster, id, message } => {
            let path = cluster_path(&cluster, &format!("/snapshots/{id}/promote?message={}", super::http::escape(&message)));
            let done = api.post(&path, &json!({}))?;
            match args.conn.json() {
                true => print_json(&done),
                false => println!("snapshot {id} is version {} of {cluster}; `fleet apply {cluster}` rolls it out", done["version"]),
            }
            Ok(())
        }
    }
}
