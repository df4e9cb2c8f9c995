//! Staged applies and `fleet rollout ls|show|pause|resume|abort` (`/api/v1/clusters/{id}/
//! rollouts`). `fleet apply CLUSTER --canary 1 --batch-percent 50 [--wait]` posts the strategy
//! and follows the rollout by reading it every second; the exit status is 0 only when it
//! succeeded.

use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::{json, Value};

use super::http::{cluster_path, Api};
use super::resources::list;
use super::table::{cell, print_json, print_table, time};
use super::{ClientError, Conn};

/// The strategy flags of `fleet apply` (none: every agent at once).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct StrategyArgs {
    /// A first stage of this many agents (the first by name).
    #[arg(long, value_name = "N")]
    canary: Option<u32>,
    /// Then batches of this share of the cluster's agents (1-100).
    #[arg(long, value_name = "P", conflicts_with = "batch_size")]
    batch_percent: Option<u32>,
    /// Then batches of this many agents.
    #[arg(long, value_name = "N")]
    batch_size: Option<u32>,
    /// Seconds between a stage passing and the next starting.
    #[arg(long, value_name = "SECONDS")]
    pause: Option<u64>,
    /// Agents that may fail before the rollout stops (default 0).
    #[arg(long, value_name = "N")]
    max_failures: Option<u32>,
    /// Seconds each stage's agents must stay healthy after applying.
    #[arg(long, value_name = "SECONDS")]
    soak: Option<u64>,
    /// The least share (0-1) of HAProxy servers up on each agent of a stage.
    #[arg(long, value_name = "RATIO")]
    min_server_up_ratio: Option<f64>,
    /// What a failure beyond --max-failures does: halt, or rollback (every agent moved goes back).
    #[arg(long, value_name = "POLICY", value_parser = ["halt", "rollback"])]
    on_failure: Option<String>,
}

impl StrategyArgs {
    /// The strategy as the API takes it, or none when no flag was given.
    pub(crate) fn strategy(&self) -> Option<Value> {
        let given = self.canary.is_some()
            || self.batch_percent.is_some()
            || self.batch_size.is_some()
            || self.pause.is_some()
            || self.max_failures.is_some()
            || self.soak.is_some()
            || self.min_server_up_ratio.is_some()
            || self.on_failure.is_some();
        if !given {
            return None;
        }
        let mut strategy = json!({});
        if let Some(agents) = self.canary {
            strategy["canary"] = json!({"agents": agents});
        }
        if self.batch_percent.is_some() || self.batch_size.is_some() || self.pause.is_some() {
            let mut batches = json!({"pause_seconds": self.pause.unwrap_or(0)});
            match (self.batch_size, self.batch_percent) {
                (Some(size), _) => batches["size"] = json!(size),
                (None, Some(percent)) => batches["percent"] = json!(percent),
                (None, None) => batches["percent"] = json!(100),
            }
            strategy["batches"] = batches;
        }
        if let Some(n) = self.max_failures {
            strategy["max_failures"] = json!(n);
        }
        if let Some(s) = self.soak {
            strategy["soak_seconds"] = json!(s);
        }
        if let Some(r) = self.min_server_up_ratio {
            strategy["min_server_up_ratio"] = json!(r);
        }
        if let Some(policy) = &self.on_failure {
            strategy["on_failure"] = json!(policy);
        }
        Some(strategy)
    }
}

fn is_final(rollout: &Value) -> bool {
    !matches!(rollout["state"].as_str(), Some("running" | "paused"))
}

/// Posts a staged apply; with `wait`, reads the rollout every second until it ends (a line on
/// stderr whenever an agent's outcome changes). Ok only when it succeeded (or, without
/// `wait`, when it started).
pub(crate) fn staged(api: &Api, json_out: bool, cluster: &str, version: i64, strategy: Value, wait: Option<Duration>) -> Result<(), ClientError> {
    let mut rollout = api.post(&cluster_path(cluster, "/apply"), &json!({"version": version, "strategy": strategy}))?;
    let path = cluster_path(cluster, &format!("/rollouts/{}", cell(&rollout["rollout_id"])));
    if let Some(wait) = wait {
        let deadline = Instant::now() + wait;
        let mut said: Vec<(String, String)> = Vec::new();
        loop {
            for agent in list(&rollout["agents"]) {
                let line = (cell(&agent["name"]), cell(&agent["outcome"]));
                if !json_out && !said.contains(&line) {
                    eprintln!("{}: {}", line.0, line.1);
                    said.retain(|(name, _)| *name != line.0);
                    said.push(line);
                }
            }
            if is_final(&rollout) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
            rollout = api.get(&path)?;
        }
    }
    if json_out {
        print_json(&rollout);
    } else {
        print_rollout(&rollout);
    }
    match (rollout["state"].as_str(), wait) {
        (Some("succeeded"), _) | (Some("running"), None) => Ok(()),
        (Some(state @ ("running" | "paused")), Some(wait)) => Err(ClientError::Failed(format!("rollout {} still {state} after {} s", cell(&rollout["rollout_id"]), wait.as_secs()))),
        (state, _) => Err(ClientError::Failed(format!("rollout {} {}: {}", cell(&rollout["rollout_id"]), state.unwrap_or("?"), cell(&rollout["reason"])))),
    }
}

/// `fleet rollout`.
#[derive(Debug, clap::Args)]
pub(crate) struct RolloutArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: RolloutCommand,
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// A cluster's rollouts, newest first.
    Ls {
        /// The cluster's name (or id).
        cluster: String,
    },
    /// One rollout: its stages and every agent's outcome (default: the latest).
    Show {
        /// The cluster's name (or id).
        cluster: String,
        /// The rollout's id.
        rollout: Option<i64>,
    },
    /// Pause a running rollout: no stage starts or passes until resumed.
    Pause {
        /// The cluster's name (or id).
        cluster: String,
        /// The rollout's id (default: the latest).
        rollout: Option<i64>,
    },
    /// Resume a paused rollout.
    Resume {
        /// The cluster's name (or id).
        cluster: String,
        /// The rollout's id (default: the latest).
        rollout: Option<i64>,
    },
    /// Abort a rollout where it stands.
    Abort {
        /// The cluster's name (or id).
        cluster: String,
        /// The rollout's id (default: the latest).
        rollout: Option<i64>,
    },
}

fn rollout_id(api: &Api, cluster: &str, given: Option<i64>) -> Result<i64, ClientError> {
    if let Some(id) = given {
        return Ok(id);
    }
    let rollouts = api.get(&cluster_path(cluster, "/rollouts?limit=1"))?;
    list(&rollouts).first().and_then(|r| r["rollout_id"].as_i64()).ok_or_else(|| ClientError::Usage(format!("cluster {cluster} has no rollout yet")))
}

/// Runs `fleet rollout ...`.
pub(crate) fn rollout(args: RolloutArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let json_out = args.conn.json();
    let (cluster, id, action) = match &args.command {
        RolloutCommand::Ls { cluster } => {
            let rollouts = api.get(&cluster_path(cluster, "/rollouts"))?;
            if json_out {
                print_json(&rollouts);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list(&rollouts)
                .iter()
                .map(|r| vec![cell(&r["rollout_id"]), cell(&r["version"]), cell(&r["state"]), stages_line(r), cell(&r["created_by"]), time(&r["created_at"])])
                .collect();
            print_table(&["ID", "VERSION", "STATE", "STAGES", "BY", "STARTED"], &rows);
            return Ok(());
        }
        RolloutCommand::Show { cluster, rollout } => (cluster, *rollout, None),
        RolloutCommand::Pause { cluster, rollout } => (cluster, *rollout, Some("pause")),
        RolloutCommand::Resume { cluster, rollout } => (cluster, *rollout, Some("resume")),
        RolloutCommand::Abort { cluster, rollout } => (cluster, *rollout, Some("abort")),
    };
    let id = rollout_id(&api, cluster, id)?;
    let rollout = match action {
        None => api.get(&cluster_path(cluster, &format!("/rollouts/{id}")))?,
        Some(action) => api.post(&cluster_path(cluster, &format!("/rollouts/{id}/{action}")), &json!({}))?,
    };
    if json_out {
        print_json(&rollout);
    } else {
        print_rollout(&rollout);
    }
    Ok(())
}

/// `canary passed, batch 1 started, batch 2 pending`.
fn stages_line(rollout: &Value) -> String {
    list(&rollout["stages"]).iter().map(|s| format!("{} {}", cell(&s["name"]), cell(&s["state"]))).collect::<Vec<_>>().join(", ")
}

/// The rollout's state line, its stages and its agents.
pub(crate) fn print_rollout(rollout: &Value) {
    println!("rollout {} of version {} (previous {}): {}", cell(&rollout["rollout_id"]), cell(&rollout["version"]), cell(&rollout["previous_version"]), cell(&rollout["state"]));
    if let Some(reason) = rollout["reason"].as_str() {
        println!("reason: {reason}");
    }
    println!("stages: {}", stages_line(rollout));
    let stages = list(&rollout["stages"]);
    let rows: Vec<Vec<String>> = list(&rollout["agents"])
        .iter()
        .map(|a| {
            let stage = a["stage"].as_u64().and_then(|i| stages.get(usize::try_from(i).ok()?)).map_or_else(String::new, |s| cell(&s["name"]));
            vec![cell(&a["name"]), stage, cell(&a["outcome"]), cell(&a["error"])]
        })
        .collect();
    print_table(&["AGENT", "STAGE", "OUTCOME", "ERROR"], &rows);
}
