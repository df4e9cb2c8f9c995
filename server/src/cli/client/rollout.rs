//! `fleet apply CLUSTER [VERSION] [--wait]` and `fleet status CLUSTER` (`fleet apply -f FILE`
//! is `super::site`'s).
//!
//! ```text
//! --wait: subscribe to the event stream (audit entries of the cluster) -> POST apply
//!   -> fleet_core::convergence::Convergence over the status read and each `agent.report` of
//!      the version -> one line per agent (a live spinner on a terminal)
//!   -> exit 0 when every agent applied it; 1 when one failed it, none is enrolled, or the
//!      timeout passed first
//! ```

use std::io::{BufRead, BufReader, IsTerminal};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fleet_core::convergence::{AgentProgress, Convergence};
use fleet_core::{ApplyOutcome, ClusterStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::http::{cluster_path, Api};
use super::resources::list;
use super::table::{cell, print_json, print_table, time};
use super::{ClientError, Conn};

/// `fleet apply CLUSTER [VERSION]`.
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) conn: Conn,
    /// The cluster's name (or id).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub(crate) cluster: Option<String>,
    /// The version to roll out (default: the latest).
    pub(crate) version: Option<i64>,
    /// Follow the rollout: exit 0 only when every agent applied the version.
    #[arg(long)]
    pub(crate) wait: bool,
    /// With --wait: give up after this many seconds (exit 1).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// A staged rollout instead of every agent at once (a canary, then batches).
    #[command(flatten)]
    pub(crate) strategy: super::rollouts::StrategyArgs,
    /// Make the server match a site file (`fleet.toml`) instead: pools, clusters, settings,
    /// configs (one transaction per cluster), rollouts, enrolments.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) file: Option<std::path::PathBuf>,
    /// With -f: do not ask before changing anything.
    #[arg(long, requires = "file")]
    pub(crate) auto_approve: bool,
    /// With -f: also delete the clusters and pools the file does not declare.
    #[arg(long, requires = "file")]
    pub(crate) prune: bool,
}

/// One `agent.report` seen on the event stream.
struct Report {
    agent_id: i64,
    version: i64,
    outcome: ApplyOutcome,
    error: Option<String>,
}

/// The latest version of a cluster, if it has one.
pub(crate) fn latest_version(api: &Api, cluster: &str) -> Result<Option<i64>, ClientError> {
    let versions = api.get(&cluster_path(cluster, "/versions"))?;
    Ok(list(&versions).iter().filter_map(|v| v["number"].as_i64()).max())
}

/// Applies a version and, with --wait, follows it to the end.
pub(crate) fn apply(args: &ApplyArgs) -> Result<(), ClientError> {
    if let Some(file) = &args.file {
        return super::site::apply(args, file);
    }
    let cluster = args.cluster.as_deref().ok_or_else(|| ClientError::Usage("give a CLUSTER or -f FILE".into()))?;
    let api = args.conn.connect()?;
    let version = match args.version {
        Some(version) => version,
        None => latest_version(&api, cluster)?
            .ok_or_else(|| ClientError::Usage(format!("cluster {cluster} has no version yet: fleet config push {cluster} DIR")))?,
    };
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    if let Some(strategy) = args.strategy.strategy() {
        return super::rollouts::staged(&api, args.conn.json(), cluster, version, strategy, wait);
    }
    let live = !args.conn.json() && std::io::stderr().is_terminal();
    let Some(rollout) = roll_out(&api, cluster, version, wait, live)? else {
        super::resources::done(args.conn.json(), &json!({"cluster": cluster, "desired_version": version}), &format!("cluster {cluster} now follows version {version}"));
        return Ok(());
    };
    if args.conn.json() {
        print_json(&json!({"cluster": cluster, "version": version, "succeeded": rollout.succeeded(), "agents": rollout.agents}));
    } else {
        println!("{}", summary(&rollout));
    }
    verdict(cluster, &rollout, args.timeout)
}

/// `N of M agents applied version V`.
pub(crate) fn summary(rollout: &Convergence) -> String {
    format!("{} of {} agents applied version {}", rollout.applied(), rollout.agents.len(), rollout.version)
}

/// Ok when every agent applied the version; else why not.
pub(crate) fn verdict(cluster: &str, rollout: &Convergence, timeout: u64) -> Result<(), ClientError> {
    let version = rollout.version;
    match (rollout.succeeded(), rollout.finished()) {
        (true, _) => Ok(()),
        (false, _) if rollout.agents.is_empty() => Err(ClientError::Failed(format!("cluster {cluster} has no agents: nothing applied version {version}"))),
        (false, true) => Err(ClientError::Failed(format!("the rollout failed: {}", summary(rollout)))),
        (false, false) => Err(ClientError::Failed(format!("timed out after {timeout} s: {}", summary(rollout)))),
    }
}

/// Sets the cluster's desired version; with `wait`, follows the rollout until it finishes or
/// `wait` passes (a live display on stderr when `live`, else a line per change).
pub(crate) fn roll_out(api: &Api, cluster: &str, version: i64, wait: Option<Duration>, live: bool) -> Result<Option<Convergence>, ClientError> {
    let reports = match wait {
        Some(_) => Some(subscribe(api, cluster)?),
        None => None,
    };
    api.post(&cluster_path(cluster, "/apply"), &json!({"version": version}))?;
    match (reports, wait) {
        (Some(reports), Some(wait)) => Ok(Some(follow(api, cluster, version, &reports, wait, live)?)),
        _ => Ok(None),
    }
}

/// Opens the cluster's event stream; its reports arrive on the receiver.
fn subscribe(api: &Api, cluster: &str) -> Result<mpsc::Receiver<Report>, ClientError> {
    let id = api.get(&cluster_path(cluster, ""))?["id"].clone();
    let response = api.stream(&format!("/events?cluster_id={id}&kinds=audit"))?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(response).lines() {
            let Ok(line) = line else { return };
            let Some(data) = line.strip_prefix("data:") else { continue };
            let Ok(event) = serde_json::from_str::<Value>(data.trim()) else { continue };
            let entry = &event["data"];
            if entry["action"] != "agent.report" {
                continue;
            }
            let (Some(agent_id), Some(version)) = (entry["details"]["agent_id"].as_i64(), entry["version"].as_i64()) else { continue };
            let Ok(outcome) = serde_json::from_value::<ApplyOutcome>(entry["details"]["outcome"].clone()) else { continue };
            let error = entry["details"]["error"].as_str().map(str::to_string);
            if sender.send(Report { agent_id, version, outcome, error }).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// Follows the rollout until it finishes or `wait` passes, showing each agent's progress.
fn follow(api: &Api, cluster: &str, version: i64, reports: &mpsc::Receiver<Report>, wait: Duration, live: bool) -> Result<Convergence, ClientError> {
    let status_path = cluster_path(cluster, "/status");
    let status: ClusterStatus = api.get_as(&status_path)?;
    let mut rollout = Convergence::new(version, &status.agents);
    let display = Display::new(live);
    display.show(&rollout);
    let deadline = Instant::now() + wait;
    let mut next_read = Instant::now() + Duration::from_secs(1);
    while !rollout.finished() && Instant::now() < deadline {
        match reports.recv_timeout(Duration::from_millis(200)) {
            Ok(report) => {
                rollout.observe_report(report.agent_id, report.version, report.outcome, report.error);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The stream ended (a server restart): status reads still see applied versions.
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(200)),
        }
        if Instant::now() >= next_read {
            let status: ClusterStatus = api.get_as(&status_path)?;
            rollout.observe_status(&status.agents);
            next_read = Instant::now() + Duration::from_secs(1);
        }
        display.show(&rollout);
    }
    display.finish(&rollout);
    Ok(rollout)
}

/// One line per agent: a spinner on a terminal, else a line each time an agent's state changes
/// (on stderr, so stdout stays the result).
/// A spinner per agent id.
type Bars = std::cell::RefCell<Vec<(i64, ProgressBar)>>;

struct Display {
    bars: Option<(MultiProgress, Bars)>,
    printed: std::cell::RefCell<Vec<(i64, String)>>,
}

fn describe(progress: &AgentProgress) -> String {
    match progress {
        AgentProgress::Waiting => "waiting".into(),
        AgentProgress::Applied { outcome: Some(ApplyOutcome::AppliedRuntime) } => "applied (runtime API, no reload)".into(),
        AgentProgress::Applied { .. } => "applied".into(),
        AgentProgress::Failed { outcome, error } => format!("{}: {}", outcome.as_str(), error.as_deref().unwrap_or("no message")),
    }
}

impl Display {
    fn new(live: bool) -> Display {
        let bars = live.then(|| (MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), std::cell::RefCell::new(Vec::new())));
        Display { bars, printed: std::cell::RefCell::new(Vec::new()) }
    }

    fn show(&self, rollout: &Convergence) {
        for agent in &rollout.agents {
            let text = describe(&agent.progress);
            match &self.bars {
                Some((multi, bars)) => {
                    let mut bars = bars.borrow_mut();
                    let bar = match bars.iter().find(|(id, _)| *id == agent.id) {
                        Some((_, bar)) => bar.clone(),
                        None => {
                            let bar = multi.add(ProgressBar::new_spinner());
                            let style = ProgressStyle::with_template("{spinner} {prefix:20} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
                            bar.set_style(style);
                            bar.set_prefix(agent.name.clone());
                            bar.enable_steady_tick(Duration::from_millis(120));
                            bars.push((agent.id, bar.clone()));
                            bar
                        }
                    };
                    if agent.progress == AgentProgress::Waiting {
                        bar.set_message(text);
                    } else if !bar.is_finished() {
                        bar.finish_with_message(text);
                    }
                }
                None => {
                    let mut printed = self.printed.borrow_mut();
                    if printed.iter().any(|(id, said)| *id == agent.id && *said == text) {
                        continue;
                    }
                    printed.retain(|(id, _)| *id != agent.id);
                    printed.push((agent.id, text.clone()));
                    eprintln!("{}: {text}", agent.name);
                }
            }
        }
    }

    fn finish(&self, rollout: &Convergence) {
        self.show(rollout);
        if let Some((_, bars)) = &self.bars {
            for (_, bar) in bars.borrow().iter() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}

/// `fleet status CLUSTER`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    conn: Conn,
    /// The cluster's name (or id).
    cluster: String,
}

/// Prints the desired version and every agent's last report.
pub(crate) fn status(args: &StatusArgs) -> Result<(), ClientError> {
    let api = args.conn.connect()?;
    let status = api.get(&cluster_path(&args.cluster, "/status"))?;
    if args.conn.json() {
        print_json(&status);
        return Ok(());
    }
    println!("cluster {}: desired version {}", args.cluster, cell(&status["desired_version"]));
    print_agents(&status["agents"]);
    Ok(())
}

/// The agents table of `status`, `cluster show` and `agent ls`.
pub(crate) fn print_agents(agents: &Value) {
    let rows: Vec<Vec<String>> = list(agents)
        .iter()
        .map(|a| {
            vec![
                cell(&a["name"]),
                cell(&a["hostname"]),
                cell(&a["state"]),
                cell(&a["applied_version"]),
                cell(&a["last_outcome"]),
                time(&a["last_seen_at"]),
                cell(&a["last_error"]),
            ]
        })
        .collect();
    print_table(&["AGENT", "HOST", "STATE", "APPLIED", "LAST OUTCOME", "LAST SEEN", "ERROR"], &rows);
}
