//! The agent's life: enrol (once), start or adopt HAProxy, then two loops until SIGTERM/SIGINT:
//! the desired-state long-poll that applies changes, and the side loop (heartbeat with facts and
//! a runtime summary, supervision of HAProxy, runtime actions). Server outages are retried with
//! exponential backoff and jitter; the node keeps serving its current configuration meanwhile.
//!
//! On SIGTERM/SIGINT in process mode HAProxy keeps serving (the next agent adopts its master)
//! unless `--stop-haproxy-on-exit`. When any call answers 410 Gone with a tombstone (the agent
//! was decommissioned, or its cluster deleted with force), the agent stops HAProxy if the
//! tombstone asks, moves its dead token aside and exits 0: it never retries a revoked token.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::apply::runtime_plan;
use fleet_core::backoff::Backoff;
use fleet_core::runtime::{command_succeeded, ActionOutcome, RuntimeSummary};
use fleet_core::monitor::stats::{sample_from_show, StatsSample};
use fleet_core::monitor::{DriftFile, DriftPolicy, DriftReport};
use fleet_core::wire::{Decommission, DesiredState, EnrolRequest, Heartbeat};
use fleet_core::{AgentReport, ApplyOutcome, OsRandom};
use tokio::sync::{Mutex, Notify};

use crate::cli::{Args, Mode};
use crate::client::{Client, ClientError};
use crate::driver::Driver;
use crate::drift::{AppliedSet, DriftCheck, Drifted};
use crate::keepalived::{self, Keepalived};
use crate::pipeline::{self, Pipeline};
use crate::process::ProcessDriver;
use crate::systemd::SystemdDriver;
use crate::{facts, probe, token};

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot create state directory {path}: {source}")]
    StateDir { path: String, source: std::io::Error },
    #[error("cannot read token file {path}: {source}")]
    ReadToken { path: String, source: std::io::Error },
    #[error("cannot write token file {path}: {source}")]
    WriteToken { path: String, source: std::io::Error },
    #[error("no token in {path} and no --enroll-secret to enrol with")]
    NoCredentials { path: String },
    /// Not a failure: the node was decommissioned (its revoked token is `<path>.decommissioned`).
    #[error("this node was decommissioned (its revoked token is {path}.decommissioned): enrol again with --enroll-secret to bring it back")]
    Decommissioned { path: String },
    #[error("enrolment refused: {0}")]
    Enrol(ClientError),
    #[error("{0}")]
    Client(ClientError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot prepare {path} for keepalived: {source}")]
    KeepalivedDir { path: String, source: std::io::Error },
}

impl StartError {
    /// 64 for usage errors (sysexits EX_USAGE), 1 otherwise.
    fn exit_code(&self) -> u8 {
        match self {
            StartError::NoCredentials { .. } => 64,
            StartError::Decommissioned { .. } => 0,
            _ => 1,
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

pub(crate) fn run(args: Args) -> ExitCode {
    init_logs();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(StartError::Runtime)
        .and_then(|runtime| runtime.block_on(agent(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ StartError::Decommissioned { .. }) => {
            tracing::info!(%error, "fleet-agent not started");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "fleet-agent stopped");
            let _ = writeln!(std::io::stderr(), "fleet-agent: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// The stored token, or a new one from the enrolment secret (retried while the server is
/// unreachable, not when it refuses).
async fn credentials(args: &Args, client: &Client, facts: &serde_json::Value) -> Result<String, StartError> {
    let path = args.token_path();
    let shown = path.display().to_string();
    if let Some(token) = token::read(&path).map_err(|source| StartError::ReadToken { path: shown.clone(), source })? {
        return Ok(token);
    }
    let Some(secret) = args.enroll_secret.clone() else {
        if decommissioned_token(&path).exists() {
            return Err(StartError::Decommissioned { path: shown });
        }
        return Err(StartError::NoCredentials { path: shown });
    };
    let request = EnrolRequest { secret, hostname: facts::hostname(), facts: facts.clone() };
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let response = loop {
        match client.enrol(&request).await {
            Ok(response) => break response,
            Err(e @ ClientError::Status { .. }) => return Err(StartError::Enrol(e)),
            Err(e) if args.enroll_only => return Err(StartError::Enrol(e)),
            Err(e) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "enrolment failed");
                tokio::time::sleep(delay).await;
            }
        }
    };
    token::write(&path, &response.token).map_err(|source| StartError::WriteToken { path: shown, source })?;
    crate::upgrade::pin_at_start(&crate::upgrade::pin_path(&path), None, response.release_public_key.as_deref());
    tracing::info!(agent = %response.name, cluster = response.cluster_id, "enrolled");
    Ok(response.token)
}

async fn agent(args: Args) -> Result<(), StartError> {
    std::fs::create_dir_all(&args.state_dir)
        .map_err(|source| StartError::StateDir { path: args.state_dir.display().to_string(), source })?;
    // First: an upgrade on trial is judged even when the server cannot be reached.
    crate::upgrade::start(&args.state_dir);
    crate::upgrade::pin_at_start(&crate::upgrade::pin_path(&args.token_path()), args.release_public_key.as_ref(), None);
    let mode = match args.haproxy_mode {
        Mode::Process => "process",
        Mode::Systemd => "systemd",
    };
    let mut facts = facts::collect(&args.haproxy_bin, mode).await;
    if let Some(object) = facts.as_object_mut() {
        let declared: Vec<String> = args.public_ips.iter().map(ToString::to_string).collect();
        object.insert("public_ips".into(), serde_json::json!(declared));
    }
    let client = Client::new(&args.server, args.trust()).map_err(StartError::Client)?;
    let token = credentials(&args, &client, &facts).await?;
    if args.enroll_only {
        return Ok(());
    }
    let client = client.with_token(token);
    let keepalived = match args.keepalived {
        true => match keepalived_driver(&args, &client).await {
            Ok(keepalived) => Some(Arc::new(keepalived)),
            Err(error) => match client.decommission() {
                Some(decommission) => return decommissioned(&args, &decommission, &mut bare_driver(&args)).await,
                None => return Err(error),
            },
        },
        false => None,
    };

    let pipeline = Pipeline {
        config: args.config_path.clone(),
        state: args.state_dir.clone(),
        haproxy_bin: args.haproxy_bin.clone(),
        allowed: args.allowed_privileges(),
        state_config: (args.haproxy_mode == Mode::Process).then(|| args.state_dir.join(pipeline::STATE_CONFIG_FILE)),
        keepalived: keepalived.clone(),
    };
    pipeline.clean_leftovers();
    let managed = pipeline.managed(None);
    if let Err(error) = pipeline.write_state_config(&managed) {
        tracing::error!(%error, "cannot write the agent's config file");
    }
    let mut driver = match args.haproxy_mode {
        Mode::Process => Driver::Process(Box::new(ProcessDriver::new(
            args.haproxy_bin.clone(),
            args.state_dir.clone(),
            pipeline.load_list(pipeline.running_manifest().as_ref()),
        ))),
        Mode::Systemd => {
            let debian = std::path::PathBuf::from("/run/haproxy-master.sock");
            let master = args.master_socket.clone().or_else(|| debian.exists().then_some(debian));
            Driver::Systemd(SystemdDriver::new(args.systemd_unit.clone(), args.runtime_socket.clone(), master))
        }
    };
    // From here on SIGTERM/SIGINT wait for the start (or adoption) below to finish, then shut
    // down as chosen: never halfway through starting or adopting HAProxy.
    let mut shutdown = Shutdown::listen();
    // What runs after a restart: the release on disk (adopted masters are reloaded onto it).
    let mut running = None;
    if pipeline.has_configuration() {
        match driver.start().await {
            Ok(()) => running = pipeline.version_on_disk(),
            Err(message) => tracing::error!(%message, "haproxy does not run its current configuration"),
        }
    }
    // Woken to supervise and send a heartbeat at once (HAProxy died, a VRRP state changed).
    let wake = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    if let Some(keepalived) = &keepalived {
        // HAProxy's health is in the track file before keepalived starts and reads it.
        keepalived.write_track(driver.is_running().await);
        if let Some(masters) = driver.watch_master() {
            tasks.push(tokio::spawn(crate::track::follow_haproxy(masters, keepalived.clone(), wake.clone())));
        }
        // Open before keepalived starts writing to it.
        match keepalived.open_notify_fifo() {
            Ok(fifo) => tasks.push(tokio::spawn(keepalived.clone().read_notify_fifo(fifo, wake.clone()))),
            Err(error) => tracing::error!(%error, fifo = %keepalived.notify_fifo().display(), "cannot open the notify FIFO: no instance states"),
        }
        if let Err(message) = keepalived.supervise().await {
            tracing::error!(%message, "keepalived does not run");
        }
        tasks.push(tokio::spawn(keepalived.clone().follow()));
    }
    let driver = Arc::new(Mutex::new(driver));
    let drift = Arc::new(DriftCheck::default());
    let side = tokio::spawn(side_loop(
        client.clone(),
        driver.clone(),
        pipeline.clone(),
        facts,
        args.heartbeat_interval(),
        wake,
        drift.clone(),
    ));
    tasks.push(side);
    let wait = Duration::from_secs(args.poll_seconds);
    // Jobs ride their own long-poll, held beside the desired-state one (under 1 s to start).
    let name = keepalived.as_ref().map(|k| k.settings.name.clone());
    let mut jobs = crate::jobs::Jobs::new(client.clone(), driver.clone(), pipeline.clone(), args.allow_jobs.clone(), name);
    jobs.upgrade = Some((crate::upgrade::pin_path(&args.token_path()), Duration::from_secs(args.upgrade_trial_seconds)));
    let jobs = Arc::new(jobs);
    tasks.push(tokio::spawn(jobs.follow(wait)));
    let adopt = args.adopt;
    tokio::select! {
        () = async {
            // The previous process may have died between a reload and its report.
            if let Some(version) = running {
                send_report(&client, &AgentReport::applied(version)).await;
            }
            if adopt {
                match crate::adopt::adopt(&client, &managed, &pipeline.config).await {
                    Ok(Some(version)) => tracing::info!(version, managed = %managed.display(), "adopted the managed directory as the cluster's first version"),
                    Ok(None) => tracing::info!("not adopted: the cluster already has a version"),
                    Err(error) => tracing::error!(%error, "not adopted"),
                }
                if let Some(keepalived) = &keepalived {
                    adopt_keepalived(&client, keepalived).await;
                }
            }
            desired_loop(&client, &driver, &pipeline, wait, &drift).await;
        } => {}
        mut guard = async { shutdown.recv().await; driver.lock().await } => {
            tracing::info!("shutting down");
            for task in &tasks {
                task.abort();
            }
            match (args.haproxy_mode, args.stop_haproxy_on_exit) {
                (Mode::Process, true) => guard.stop().await,
                (Mode::Process, false) => tracing::info!(
                    socket = %args.state_dir.join("master.sock").display(),
                    "leaving haproxy running (--stop-haproxy-on-exit stops it): the next agent adopts its master"
                ),
                (Mode::Systemd, _) => {}
            }
            if let Some(keepalived) = &keepalived {
                keepalived.stop().await;
            }
        }
        // The driver's lock first: an apply under way finishes (as on a signal).
        (decommission, mut guard) = async { let d = client.decommissioned().await; (d, driver.lock().await) } => {
            for task in &tasks {
                task.abort();
            }
            let done = decommissioned(&args, &decommission, &mut guard).await;
            if let Some(keepalived) = &keepalived {
                keepalived.stop().await;
            }
            return done;
        }
    }
    Ok(())
}

/// A driver for stopping HAProxy before the agent's own is built (a decommission heard at
/// start): process mode finds the master through the socket, systemd mode stops the unit.
fn bare_driver(args: &Args) -> Driver {
    match args.haproxy_mode {
        Mode::Process => Driver::Process(Box::new(ProcessDriver::new(
            args.haproxy_bin.clone(),
            args.state_dir.clone(),
            crate::process::Load { dir: None, configs: Vec::new() },
        ))),
        Mode::Systemd => Driver::Systemd(SystemdDriver::new(args.systemd_unit.clone(), None, None)),
    }
}

/// The server said this agent is decommissioned (its token revoked, kept as a tombstone):
/// stops HAProxy when asked, moves the dead token aside (`<token>.decommissioned`: a later
/// `--enroll-secret` enrols afresh, a restart without one exits at once) and returns, so the
/// agent exits 0 instead of retrying forever.
async fn decommissioned(args: &Args, decommission: &Decommission, driver: &mut Driver) -> Result<(), StartError> {
    tracing::warn!(
        agent = %decommission.agent,
        cluster = decommission.cluster_id,
        reason = %decommission.reason,
        by = %decommission.by,
        stop_haproxy = decommission.stop_haproxy,
        "this agent was decommissioned: it stops calling the server"
    );
    if decommission.stop_haproxy {
        match driver.stop_haproxy().await {
            Ok(()) => tracing::info!("haproxy stopped, as the decommission asked"),
            Err(message) => tracing::error!(%message, "cannot stop haproxy"),
        }
    } else {
        tracing::info!("haproxy left running, as the decommission asked");
    }
    let token = args.token_path();
    let aside = decommissioned_token(&token);
    if let Err(error) = std::fs::rename(&token, &aside) {
        tracing::warn!(%error, token = %token.display(), "cannot move the revoked token aside");
    }
    tracing::info!(agent = %decommission.agent, "fleet-agent decommissioned: exiting");
    Ok(())
}

/// Where a revoked token is kept: `<token>.decommissioned`.
fn decommissioned_token(token: &std::path::Path) -> std::path::PathBuf {
    let mut name = token.as_os_str().to_os_string();
    name.push(".decommissioned");
    name.into()
}

/// Follows the desired state forever. The first poll sends no `known` checksum, so a restarted
/// agent always learns the desired version and reports where it stands.
async fn desired_loop(client: &Client, driver: &Mutex<Driver>, pipeline: &Pipeline, wait: Duration, drift: &DriftCheck) {
    let mut known: Option<String> = None;
    // The bundle `known` names: a delta answer is built on it. `whole`: the last delta did not
    // build the announced bundle, so the next poll asks for every file.
    let mut base: Option<fleet_core::bundle::Bundle> = None;
    let mut whole = false;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    loop {
        let state = match client.desired(known.as_deref(), wait, !whole).await {
            Ok(None) => {
                backoff.reset();
                continue;
            }
            Ok(Some(state)) => match (state.delta.is_some(), state.resolve(base.as_ref())) {
                (true, Ok(state)) => {
                    tracing::info!(version = state.version, "built the new bundle from a delta");
                    state
                }
                (false, Ok(state)) => state,
                (_, Err(error)) => {
                    tracing::warn!(%error, "the delta does not build the announced bundle; fetching every file");
                    whole = true;
                    continue;
                }
            },
            Err(error) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(%error, failures = backoff.failures(), retry_in_ms = delay.as_millis() as u64, "cannot poll the desired state");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        backoff.reset();
        drift.set_policy(state.settings.drift);
        let report = {
            let mut driver = driver.lock().await;
            if pipeline.holds(&state.sha256, &state.settings) {
                // Already on disk (a restart, or an apply whose report was lost): make sure it runs.
                match driver.supervise(true).await {
                    Ok(_) => match pipeline.keepalived_on_disk(state.version, drift.policy()).await {
                        Ok(()) => AgentReport::applied(state.version),
                        Err(error) => error.report(state.version).unwrap_or_else(|| AgentReport::failed(state.version, ApplyOutcome::NodeError, error.to_string())),
                    },
                    Err(message) => AgentReport::failed(state.version, ApplyOutcome::ReloadFailed, message),
                }
            } else {
                let report = match pipeline.apply(&mut driver, &state).await {
                    Ok(applied) => applied.report(state.version),
                    Err(error) => match error.report(state.version) {
                        Some(report) => report,
                        None => {
                            let delay = backoff.next_delay(&OsRandom);
                            tracing::warn!(%error, version = state.version, "refusing the download; fetching it again");
                            drop(driver);
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    },
                };
                pipeline.with_start_dir_warnings(&driver, &state, report).await
            }
        };
        if report.outcome.runs_version() {
            watch_applied(drift, pipeline, &state);
        }
        send_report(client, &report).await;
        whole = false;
        base = state.bundle().ok();
        known = Some(state.sha256);
    }
}

/// Makes the drift check watch the files of `state`, which now runs.
fn watch_applied(drift: &DriftCheck, pipeline: &Pipeline, state: &DesiredState) {
    let Ok(bundle) = state.bundle() else { return };
    let managed = pipeline.managed(Some(&state.settings));
    let keepalived = pipeline.keepalived.as_ref().and_then(|k| {
        fleet_core::apply::keepalived::node_file(&bundle, &k.settings.name).map(|file| (file.clone(), k.settings.config.clone()))
    });
    let keepalived = keepalived.as_ref().map(|(file, path)| (file, path.as_path()));
    drift.set_applied(AppliedSet::new(state.version, &state.sha256, &bundle, &managed, keepalived));
}

/// The drift report of this heartbeat (`None` before anything was applied): under `enforce`,
/// drifted files are restored first (HAProxy reloaded, keepalived reinstalled) and reported as
/// restored; under `report` nothing is touched.
async fn drift_report(drift: &DriftCheck, driver: &Mutex<Driver>, pipeline: &Pipeline) -> Option<DriftReport> {
    let drifted = drift.check()?;
    if drifted.is_empty() || drift.policy() == DriftPolicy::Report {
        return Some(crate::drift::report(&drifted, Vec::new()));
    }
    let version = drift.applied().map_or(0, |a| a.version);
    let restored = restore(&drifted, driver, pipeline, drift, version).await;
    let still = drift.check().unwrap_or_default();
    Some(crate::drift::report(&still, restored))
}

/// Writes the applied bytes of `drifted` files back (`enforce`), then reloads what reads them;
/// the files restored.
async fn restore(drifted: &[Drifted], driver: &Mutex<Driver>, pipeline: &Pipeline, drift: &DriftCheck, version: i64) -> Vec<DriftFile> {
    let mut restored = Vec::new();
    let mut reload = false;
    let mut driver = driver.lock().await;
    for file in drifted {
        drift.forget(&file.on_node);
        if file.keepalived {
            let Some(keepalived) = &pipeline.keepalived else { continue };
            match keepalived.install(&file.file.content, version).await {
                Ok(()) => restored.push(file.report.clone()),
                Err(message) => tracing::error!(%message, path = %file.on_node.display(), "drift: cannot restore keepalived.conf"),
            }
            continue;
        }
        match pipeline::restore_file(&file.on_node, &file.file.content, file.file.mode) {
            Ok(()) => {
                reload = true;
                restored.push(file.report.clone());
            }
            Err(error) => tracing::error!(%error, path = %file.on_node.display(), "drift: cannot restore the applied file"),
        }
    }
    if reload {
        if let Err(message) = driver.reload().await {
            tracing::error!(%message, "drift: reload after restoring the applied files failed");
        }
    }
    let paths: Vec<&str> = restored.iter().map(|f| f.path.as_str()).collect();
    tracing::info!(version, files = ?paths, "drift enforced: the applied files are back");
    restored
}

/// Sends a report, retrying with backoff until the server takes it.
async fn send_report(client: &Client, report: &AgentReport) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    loop {
        match client.report(report).await {
            Ok(()) => return,
            Err(error) if matches!(error, ClientError::Status { status, .. } if status.is_client_error() && !error.is_auth()) => {
                tracing::error!(%error, version = report.version, "the server refused the report");
                return;
            }
            Err(error) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot send the report");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Heartbeats, supervision and runtime actions, every `interval`, and at once when `wake` is
/// notified.
async fn side_loop(
    client: Client,
    driver: Arc<Mutex<Driver>>,
    pipeline: Pipeline,
    facts: serde_json::Value,
    interval: Duration,
    wake: Arc<Notify>,
    drift: Arc<DriftCheck>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the server asked to probe in its last answer.
    let mut failover_probe = None;
    // When the last stats sample was sent (one per raw bucket: stats::sample_due).
    let mut last_sample: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wake.notified() => {}
        }
        let summary = {
            let mut driver = driver.lock().await;
            match driver.supervise(pipeline.has_configuration()).await {
                Ok(true) => tracing::warn!("haproxy was not running: restarted it"),
                Ok(false) => {}
                Err(message) => tracing::error!(%message, "cannot restart haproxy"),
            }
            if let (Some(keepalived), None) = (&pipeline.keepalived, driver.watch_master()) {
                // systemd mode: no child to follow; health as of this round.
                keepalived.write_track(driver.is_running().await);
            }
            let configs = pipeline.load_list(pipeline.running_manifest().as_ref()).configs;
            (runtime_summary(&driver).await, served_certificates(&driver).await, rule_hits(&driver, &configs).await)
        };
        let keepalived_report = match &pipeline.keepalived {
            Some(keepalived) => {
                match keepalived.supervise().await {
                    Ok(true) => tracing::warn!("keepalived was not running: restarted it"),
                    Ok(false) => {}
                    Err(message) => tracing::error!(%message, "cannot restart keepalived"),
                }
                Some(keepalived.report().await)
            }
            None => None,
        };
        let interfaces = match keepalived::interfaces().await {
            Ok(interfaces) => Some(interfaces),
            Err(error) => {
                tracing::debug!(%error, "no interfaces in the heartbeat");
                None
            }
        };
        let (summary, certificates, rule_hits) = summary;
        let (summary, stats) = summary.unzip();
        let stats = stats.filter(|_| fleet_core::monitor::stats::sample_due(last_sample.map(|at| at.elapsed()), interval));
        if stats.is_some() {
            last_sample = Some(std::time::Instant::now());
        }
        let mut facts = facts.clone();
        if let (Some(object), Some(summary)) = (facts.as_object_mut(), summary) {
            object.insert("runtime".into(), serde_json::to_value(summary).unwrap_or_default());
        }
        if let (Some(object), Some(asked)) = (facts.as_object_mut(), &failover_probe) {
            let report = probe::run(asked, &pipeline.load_list(pipeline.running_manifest().as_ref()).configs).await;
            if !report.ok {
                tracing::debug!(detail = %report.detail, "failover probe failed");
            }
            object.insert("failover_probe".into(), serde_json::to_value(report).unwrap_or_default());
        }
        if let Some(object) = facts.as_object_mut() {
            crate::upgrade::facts(object);
        }
        let drift_report = drift_report(&drift, &driver, &pipeline).await;
        let heartbeat = Heartbeat {
            facts: Some(facts),
            certificates,
            keepalived: keepalived_report,
            interfaces,
            heartbeat_seconds: Some(interval.as_secs()),
            drift: drift_report,
            stats,
            rule_hits,
        };
        match client.heartbeat(&heartbeat).await {
            Ok(answer) => {
                crate::upgrade::heartbeat_accepted(&client);
                failover_probe = answer.failover_probe;
                drift.set_policy(answer.drift);
            }
            Err(error) => {
                tracing::warn!(%error, "heartbeat failed");
                continue;
            }
        }
        if let Err(error) = run_actions(&client, &driver).await {
            tracing::warn!(%error, "runtime actions failed");
        }
    }
}

/// The runtime summary for the facts and the stats sample for the history, from one `show info`
/// and one `show stat`.
async fn runtime_summary(driver: &Driver) -> Option<(RuntimeSummary, StatsSample)> {
    let info = driver.runtime("show info").await.ok()?;
    let stat = driver.runtime("show stat").await.ok()?;
    Some((RuntimeSummary::from_show(&info, &stat), sample_from_show(&info, &stat)))
}

/// Each rate-limit rule's table in the running configuration (`show table fleet_rl_<rule>`,
/// [`fleet_core::rules::hits`]); `None` when the runtime API does not answer.
async fn rule_hits(driver: &Driver, configs: &[std::path::PathBuf]) -> Option<Vec<fleet_core::rules::RuleHits>> {
    use fleet_core::rules::hits;
    let limits: Vec<(String, u64)> = configs.iter().filter_map(|path| std::fs::read_to_string(path).ok()).flat_map(|text| hits::rate_limits(&text)).collect();
    let mut out = Vec::with_capacity(limits.len());
    for (rule, limit) in limits {
        let answer = driver.runtime(&hits::show_table_command(&rule)).await.ok()?;
        out.push(hits::from_show_table(&rule, limit, &answer));
    }
    Some(out)
}

/// What HAProxy serves (`show ssl cert`, then `show ssl cert <file>` for each), for the
/// certificate store's status; `None` when the runtime API does not answer.
async fn served_certificates(driver: &Driver) -> Option<Vec<fleet_core::wire::ServedCertificate>> {
    let listing = driver.runtime("show ssl cert").await.ok()?;
    let mut served = Vec::new();
    for filename in runtime_plan::listed_certificates(&listing) {
        let answer = driver.runtime(&format!("show ssl cert {filename}")).await.ok()?;
        served.extend(runtime_plan::served_certificate(filename, &answer));
    }
    Some(served)
}

/// The keepalived driver of `--keepalived`: the agent's name from the server (retried while it
/// is unreachable), its folder and notify FIFO prepared.
async fn keepalived_driver(args: &Args, client: &Client) -> Result<Keepalived, StartError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let identity = loop {
        match client.me().await {
            Ok(identity) => break identity,
            Err(e @ ClientError::Status { .. }) if e.is_auth() => return Err(StartError::Client(e)),
            Err(e) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot learn the agent's name");
                tokio::time::sleep(delay).await;
            }
        }
    };
    let settings = keepalived::Settings {
        name: identity.name,
        bin: args.keepalived_bin.clone(),
        config: args.keepalived_config.clone(),
        pid_file: args.keepalived_pid_file.clone(),
        mode: args.keepalived_mode,
        unit: args.keepalived_unit.clone(),
        systemctl: std::path::PathBuf::from("systemctl"),
        dir: keepalived::state_dir(&args.state_dir),
    };
    let driver = Keepalived::new(settings);
    driver
        .prepare()
        .map_err(|source| StartError::KeepalivedDir { path: driver.settings.dir.display().to_string(), source })?;
    tracing::info!(agent = %driver.settings.name, config = %driver.settings.config.display(), "keepalived driver on");
    Ok(driver)
}

/// `--keepalived --adopt`: the node's keepalived.conf becomes this node's file of a new version
/// (once: the server answers 409 when the cluster has one, or no version yet).
async fn adopt_keepalived(client: &Client, keepalived: &Keepalived) {
    let config = &keepalived.settings.config;
    let content = match std::fs::read(config) {
        Ok(content) => content,
        Err(error) => {
            tracing::info!(%error, config = %config.display(), "no keepalived.conf to adopt");
            return;
        }
    };
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        match client.adopt_keepalived(content.clone()).await {
            Ok(answer) => {
                tracing::info!(version = answer["version"].as_i64(), config = %config.display(), "adopted the node's keepalived.conf");
                return;
            }
            Err(ClientError::Status { status, body }) if status == reqwest::StatusCode::CONFLICT => {
                tracing::info!(reason = %body, "keepalived.conf not adopted");
                return;
            }
            Err(e @ ClientError::Status { .. }) => {
                tracing::error!(error = %e, "the server refused the keepalived.conf");
                return;
            }
            Err(e) => {
                let delay = backoff.next_delay(&OsRandom);
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot upload keepalived.conf");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Runs the pending runtime actions in order and posts their results.
async fn run_actions(client: &Client, driver: &Mutex<Driver>) -> Result<(), ClientError> {
    let actions = client.runtime_actions().await?;
    if actions.is_empty() {
        return Ok(());
    }
    let mut outcomes = Vec::with_capacity(actions.len());
    {
        let driver = driver.lock().await;
        for action in &actions {
            let outcome = match action.request.command() {
                Ok(command) => match driver.runtime(&command).await {
                    Ok(answer) => ActionOutcome { action_id: action.id, ok: command_succeeded(&answer), output: answer.trim().to_string() },
                    Err(e) => ActionOutcome { action_id: action.id, ok: false, output: format!("runtime api unavailable: {e}") },
                },
                Err(e) => ActionOutcome { action_id: action.id, ok: false, output: e.to_string() },
            };
            tracing::info!(action = action.id, ok = outcome.ok, output = %outcome.output, "runtime action");
            outcomes.push(outcome);
        }
    }
    client.runtime_results(&outcomes).await
}

/// SIGTERM and SIGINT, listened to from creation on (a signal that arrives before [`Shutdown::recv`]
/// is polled is kept, not fatal).
struct Shutdown {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    fn listen() -> Shutdown {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(error) => {
                tracing::error!(%error, signal = name, "cannot listen for the signal");
                None
            }
        };
        Shutdown { term: listen(SignalKind::terminate(), "SIGTERM"), int: listen(SignalKind::interrupt(), "SIGINT") }
    }

    /// Resolves on SIGTERM or SIGINT.
    async fn recv(&mut self) {
        async fn one(stream: &mut Option<tokio::signal::unix::Signal>) {
            match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(&mut self.term) => {}
            () = one(&mut self.int) => {}
        }
    }
}
