//! `fleet drain|ready|maint CLUSTER BACKEND/SERVER` and `fleet weight CLUSTER BACKEND/SERVER N`:
//! a runtime action queued for every agent of the cluster (HAProxy's runtime API, no reload),
//! then each agent's result, waited for until every agent online answered (`--no-wait`: queue
//! only). Exit 1 when an agent's HAProxy refused the command.

use std::time::{Duration, Instant};

use serde_json::json;

use super::http::cluster_path;
use super::resources::list;
use super::table::{cell, print_json, print_table};
use super::{ClientError, Conn};

/// The server a runtime action is for.
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
    /// `BACKEND/SERVER`.
    #[arg(value_name = "BACKEND/SERVER")]
    target: String,
    /// Queue the action and return without waiting for the agents' results.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for the agents' results, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
}

/// `fleet weight`.
#[derive(Debug, clap::Args)]
pub(crate) struct WeightArgs {
    #[command(flatten)]
    pub(crate) target: ServerArgs,
    /// The weight, 0 to 256.
    pub(crate) weight: i64,
}

/// Queues `action` and reports every agent's result.
pub(crate) fn run(args: &ServerArgs, action: &str, value: Option<i64>) -> Result<(), ClientError> {
    let (backend, server) = args
        .target
        .split_once('/')
        .filter(|(b, s)| !b.is_empty() && !s.is_empty())
        .ok_or_else(|| ClientError::Usage(format!("{}: expected BACKEND/SERVER", args.target)))?;
    let api = args.conn.connect()?;
    let mut body = json!({"backend": backend, "server": server, "action": action});
    if let Some(value) = value {
        body["value"] = json!(value);
    }
    let queued = api.post(&cluster_path(&args.cluster, "/runtime"), &body)?;
    let mut result = queued.clone();
    if !args.no_wait {
        let online: Vec<i64> = list(&api.get(&cluster_path(&args.cluster, "/agents"))?)
            .iter()
            .filter(|a| a["state"] == "online")
            .filter_map(|a| a["id"].as_i64())
            .collect();
        let path = cluster_path(&args.cluster, &format!("/runtime/{}", queued["id"]));
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        loop {
            result = api.get(&path)?;
            let answered: Vec<i64> = list(&result["results"]).iter().filter_map(|r| r["agent_id"].as_i64()).collect();
            if online.iter().all(|id| answered.contains(id)) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let results = list(&result["results"]);
    if args.conn.json() {
        print_json(&result);
    } else {
        let what = match value {
            Some(v) => format!("{action} {v}"),
            None => action.to_string(),
        };
        println!("{what} {backend}/{server} on cluster {} (action {})", args.cluster, queued["id"]);
        if !args.no_wait {
            let rows: Vec<Vec<String>> =
                results.iter().map(|r| vec![cell(&r["agent"]), if r["ok"] == true { "ok".into() } else { "failed".into() }, cell(&r["output"]).trim().to_string()]).collect();
            print_table(&["AGENT", "RESULT", "OUTPUT"], &rows);
        }
    }
    let failed: Vec<String> = results.iter().filter(|r| r["ok"] != true).map(|r| cell(&r["agent"])).collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(ClientError::Failed(format!("HAProxy refused it on {}", failed.join(", ")))),
    }
}
