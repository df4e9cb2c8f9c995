//! The client commands: `fleet login`, `fleet cluster ...`, `fleet apply --wait` ... each one a
//! thin client of the JSON API (`/api/v1`), the same routes the web UI and the Python client
//! use. Names go into paths as they are: the server resolves cluster and pool names.
//!
//! ```text
//! args -> Conn::connect (server, token, CA: flags > environment > `fleet login`'s file)
//!      -> http::Api (blocking reqwest) -> JSON -> a table for people, or `-o json` for scripts
//! ```
//!
//! Exit codes: 0 done; 1 the server refused (the message and any `file:line:col` diagnostics on
//! stderr) or a rollout failed; 2 bad usage, no server or credentials, a network or local I/O
//! failure.

pub(crate) mod auth;
pub(crate) mod bundle;
pub(crate) mod completions;
pub(crate) mod creds;
pub(crate) mod http;
mod jobs;
mod maps;
mod resources;
mod rollout;
mod rollouts;
mod runtime;
mod rules;
mod schedules;
mod site;
pub(crate) mod table;
mod versions;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use http::Api;
pub(crate) use table::Output;

/// Where the server is and how to print: on every client command.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Conn {
    /// The server's URL (default: FLEET_SERVER, else the one `fleet login` stored).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// server, e.g. `<data>/tls/ca.pem` of
    /// `fleet serve --tls-self-signed` (default: FLEET_CA_FILE, else the one `fleet login` stored).
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// `table` for people, `json` for scripts.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "table")]
    pub(crate) output: Output,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Conn {
    /// The server, token and CA to use (see [`creds`]).
    pub(crate) fn connect(&self) -> Result<Api, ClientError> {
        let stored = creds::load()?;
        let server = self
            .server
            .clone()
            .or_else(|| env("FLEET_SERVER"))
            .or_else(|| stored.as_ref().map(|s| s.server.clone()))
            .ok_or(ClientError::NoServer)?;
        let same = |s: &&creds::Stored| s.server.trim_end_matches('/') == server.trim_end_matches('/');
        let token = env("FLEET_TOKEN").or_else(|| stored.as_ref().filter(same).and_then(|s| s.token.clone()));
        let ca = self.ca_file.clone().or_else(|| env("FLEET_CA_FILE").map(PathBuf::from)).or_else(|| stored.as_ref().filter(same).and_then(|s| s.ca_file.clone()));
        Api::new(&server, token, ca.as_deref())
    }

    /// True for `-o json`.
    pub(crate) fn json(&self) -> bool {
        self.output == Output::Json
    }
}

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The server refused the request.
    #[error("{message}")]
    Api { status: u16, code: String, message: String, body: Value },
    /// The server could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Transport { url: String, reason: String },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Answer(String),
    /// No server was named anywhere.
    #[error("no server: run `fleet login --server URL`, or give --server or FLEET_SERVER")]
    NoServer,
    /// Bad usage.
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// A folder is not a bundle.
    #[error(transparent)]
    Local(#[from] fleet_core::bundle::local::LocalError),
    /// The command ran but its goal was not reached (a rollout that failed or timed out, a
    /// runtime action an agent could not run); what happened was printed.
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    fn exit_code(&self) -> u8 {
        match self {
            ClientError::Api { .. } | ClientError::Failed(_) => 1,
            _ => 2,
        }
    }
}

/// Prints `error` on stderr the way compilers do, diagnostics at their lines, and gives the exit
/// code.
pub(crate) fn report(error: &ClientError) -> ExitCode {
    eprintln!("fleet: error: {error}");
    if let ClientError::Api { status, body, .. } = error {
        for d in body["error"]["diagnostics"].as_array().into_iter().flatten() {
            let file = d["file"].as_str().unwrap_or("config");
            eprintln!("{file}:{}:{}: {}: {}", d["line"], d["column"], d["severity"].as_str().unwrap_or("error"), d["message"].as_str().unwrap_or_default());
        }
        if *status == 401 {
            eprintln!("hint: log in with `fleet login --server URL`, or set FLEET_TOKEN");
        }
    }
    ExitCode::from(error.exit_code())
}

/// Asks a yes/no question on the terminal; `Err` when there is none to ask on.
pub(crate) fn confirm(question: &str) -> Result<bool, ClientError> {
    if !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage(format!("{question}: no terminal to ask on; add --yes")));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|source| ClientError::Io { path: "standard input".into(), source })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The client commands, flattened into `fleet`'s own.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in to a server and keep the session in your config folder (mode 0600).
    Login(auth::LoginArgs),
    /// End the stored session and forget its token.
    Logout(Conn),
    /// Who the session (or FLEET_TOKEN) belongs to.
    Whoami(Conn),
    /// Pools: groups of clusters (ls, create, rm).
    Pool(resources::PoolArgs),
    /// Clusters: nodes sharing one configuration (ls, create, rm, show).
    Cluster(resources::ClusterArgs),
    /// A cluster's agents (ls, revoke).
    Agent(resources::AgentArgs),
    /// Create a one-time enrolment and print the command that installs and enrols an agent.
    Enrol(resources::EnrolArgs),
    /// A cluster's versions, newest last (`*` marks the one agents follow).
    Versions(versions::VersionsArgs),
    /// What changed between two versions of a cluster (N alone: what version N changed).
    Diff(versions::DiffArgs),
    /// Make a new version carrying an old version's files.
    Restore(versions::RestoreArgs),
    /// Roll a version out to a cluster's agents (default: the latest); --wait follows it. With
    /// -f FILE: make the server match a site file.
    Apply(rollout::ApplyArgs),
    /// What `fleet apply -f FILE` would change: exit 0 nothing, 2 changes pending, 1 errors.
    Plan(site::PlanArgs),
    /// Site files: `fleet site new NAME --domain D --backend ADDR ...` writes a starter site.
    #[command(subcommand)]
    Site(site::SiteCommand),
    /// A cluster's desired version and every agent's state.
    Status(rollout::StatusArgs),
    /// A cluster's rollouts (ls, show, pause, resume, abort).
    Rollout(rollouts::RolloutArgs),
    /// Schedules: cron in a time zone running a job (ls, show, create, enable, disable, rm,
    /// runs, preview).
    Schedule(schedules::ScheduleArgs),
    /// Traffic rules (WAF) of a cluster: ls, show, add, rm, entries, geo-map.
    Rule(rules::RuleArgs),
    /// Map files' entries of a cluster (ls, show, set, rm): applied through HAProxy's runtime
    /// API, no reload.
    Map(maps::MapArgs),
    /// Drain a server on every node (runtime API, no reload).
    Drain(runtime::ServerArgs),
    /// Put a server back in service on every node.
    Ready(runtime::ServerArgs),
    /// Put a server in maintenance on every node.
    Maint(runtime::ServerArgs),
    /// Set a server's weight (0-256) on every node.
    Weight(runtime::WeightArgs),
    /// Remote jobs on a cluster's agents (run, ls, show, cancel): validate, reload, restart,
    /// snapshot, restore, diagnostics, install-haproxy. No arbitrary commands.
    Job(jobs::JobArgs),
    /// Snapshots of nodes' files (ls, diff, restore onto agents, promote to a version).
    Snapshot(jobs::SnapshotArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Write the man pages of `fleet` and its commands into a folder.
    Manpages(completions::ManpagesArgs),
}

/// Runs a client command.
pub(crate) fn run(command: Command) -> ExitCode {
    let done = match command {
        Command::Login(args) => auth::login(&args),
        Command::Logout(conn) => auth::logout(&conn),
        Command::Whoami(conn) => auth::whoami(&conn),
        Command::Pool(args) => resources::pool(args),
        Command::Cluster(args) => resources::cluster(args),
        Command::Agent(args) => resources::agent(args),
        Command::Enrol(args) => resources::enrol(&args),
        Command::Versions(args) => versions::list_versions(&args),
        Command::Diff(args) => versions::diff(&args),
        Command::Restore(args) => versions::restore(&args),
        Command::Apply(args) => rollout::apply(&args),
        Command::Plan(args) => return site::plan_command(&args),
        Command::Site(command) => site::site(command),
        Command::Status(args) => rollout::status(&args),
        Command::Rollout(args) => rollouts::rollout(args),
        Command::Schedule(args) => schedules::schedule(args),
        Command::Rule(args) => rules::rule(args),
        Command::Map(args) => maps::map(args),
        Command::Drain(args) => runtime::run(&args, "drain", None),
        Command::Ready(args) => runtime::run(&args, "ready", None),
        Command::Maint(args) => runtime::run(&args, "maint", None),
        Command::Weight(args) => runtime::run(&args.target, "weight", Some(args.weight)),
        Command::Job(args) => jobs::job(args),
        Command::Snapshot(args) => jobs::snapshot(args),
        Command::Completions(args) => completions::completions(&args),
        Command::Manpages(args) => completions::manpages(&args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}
