//! The agent's self-upgrade to a signed release, and the trial that rolls it back when the new
//! binary cannot heartbeat. The rules (signature format, verification, the trial's steps) are
//! [`fleet_core::release`]'s; this module does the I/O.
//!
//! ```text
//! upgrade(version): pinned key (beside the token) -> GET signature + binary -> verify_download
//!   -> <bin>.new (0755, fsync) -> `<bin>.new --version` must say fleet-agent ... (10 s)
//!   -> <state>/upgrade-trial.json {deadline = now + trial} -> link <bin> as <bin>.previous
//!   -> rename <bin>.new over <bin> (atomic) -> execve(<bin>, same arguments)
//! start of any process: trial file? -> step(now):
//!   Wait(left): first accepted heartbeat commits (file removed); none in time -> roll back
//!   RollBack:   rename <bin>.previous over <bin>, file says rolled_back, execve(<bin>, the
//!               arguments of the upgrade's first process)
//!   Report:     the previous binary runs again: the outcome goes to the facts, file removed
//! ```
//! Limits: the new binary must itself run the trial (it reads the file at start). One that
//! starts (the smoke test passed) but dies before reading the file is restarted by systemd and
//! not rolled back, unless systemd restarts it after the deadline and it gets as far as reading
//! the file. The previous binary is kept until the next upgrade replaces it.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex as SyncMutex, OnceLock};
use std::time::Duration;

use fleet_core::release::trial::{Phase, Step, Trial, TRIAL_FILE};
use fleet_core::release::{self, PublicKey, ReleaseError};
use fleet_core::secret::sha256_hex;
use fleet_core::{Clock, SystemClock};
use fleet_core::jobs::{JobResult, JobStatus};
use serde_json::{json, Value};

use crate::client::{Client, ClientError};

/// The pinned release key's file, beside the token.
pub(crate) const PIN_FILE: &str = "release.pub";
/// How long the `--version` smoke test of a new binary may take.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an upgrade was refused or failed (nothing was swapped unless it says so).
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpgradeError {
    #[error("no release public key is pinned in {0}: this agent refuses upgrades (enrol with a server started with --release-public-key, or start the agent with --release-public-key)")]
    NoPinnedKey(String),
    #[error("cannot read the pinned release key {path}: {reason}")]
    Pin { path: String, reason: String },
    #[error("cannot download release {version}: {source}")]
    Download { version: String, source: ClientError },
    #[error("release {version} refused: {source}")]
    Verify { version: String, source: ReleaseError },
    #[error("cannot find the running binary: {0}")]
    Exe(std::io::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("release {version} refused: the new binary does not start: {reason}")]
    SmokeTest { version: String, reason: String },
    #[error("an upgrade to {0} is on trial: wait for it to commit or roll back")]
    OnTrial(String),
    #[error("the agent's arguments are not UTF-8: cannot record them for a rollback")]
    Args,
    #[error("cannot swap the binary: {0}")]
    Swap(String),
    #[error("swapped, but cannot run the new binary: {0} (the previous one is back)")]
    Exec(std::io::Error),
}

/// Where the pinned key of the agent whose token is at `token_path` is kept.
pub(crate) fn pin_path(token_path: &Path) -> PathBuf {
    token_path.with_file_name(PIN_FILE)
}

/// The pinned key, `None` when none is pinned.
pub(crate) fn read_pin(path: &Path) -> Result<Option<PublicKey>, UpgradeError> {
    let bad = |reason: String| UpgradeError::Pin { path: path.display().to_string(), reason };
    match std::fs::read_to_string(path) {
        Ok(text) => text.parse().map(Some).map_err(|e: ReleaseError| bad(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Pins `key` (atomically: a temporary file renamed over the pin).
pub(crate) fn write_pin(path: &Path, key: &PublicKey) -> std::io::Result<()> {
    let tmp = path.with_extension("pub.tmp");
    std::fs::write(&tmp, format!("{key}\n"))?;
    std::fs::rename(&tmp, path)
}

/// What this process is: its binary's SHA-256 and the upgrade outcome it learnt at start.
#[derive(Debug, Default)]
struct Running {
    sha256: String,
    binary: String,
    /// `{version, outcome: committed|rolled_back, message}` of the last upgrade this process saw.
    outcome: Option<Value>,
    /// The trial this process runs, until it commits.
    trial: Option<(Trial, PathBuf)>,
    /// The result of the job that asked for the upgrade, posted at the next accepted heartbeat.
    job_result: Option<(i64, JobResult)>,
}

/// One per process: the binary running is this process's, whatever module asks.
fn running() -> &'static SyncMutex<Running> {
    static RUNNING: OnceLock<SyncMutex<Running>> = OnceLock::new();
    RUNNING.get_or_init(|| SyncMutex::new(Running::default()))
}

fn lock() -> std::sync::MutexGuard<'static, Running> {
    running().lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running binary's path (`/proc/self/exe`, without the ` (deleted)` a swap leaves on the
/// old process's link).
fn current_exe() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

/// The facts about the agent binary for heartbeats: `agent_sha256`, `agent_binary`, and
/// `agent_upgrade` (the last outcome this process knows).
pub(crate) fn facts(object: &mut serde_json::Map<String, Value>) {
    let running = lock();
    object.insert("agent_sha256".into(), json!(running.sha256));
    object.insert("agent_binary".into(), json!(running.binary));
    if let Some(outcome) = &running.outcome {
        object.insert("agent_upgrade".into(), outcome.clone());
    }
}

/// At start: hashes the running binary (for the facts), then acts on a trial file in
/// `state_dir`: waits for a heartbeat (a task rolls back at the deadline), rolls back at once, or
/// records a rollback's outcome.
pub(crate) fn start(state_dir: &Path) {
    if let Ok(exe) = current_exe() {
        let sha256 = std::fs::read(&exe).map(|bytes| sha256_hex(&bytes)).unwrap_or_default();
        let mut running = lock();
        running.sha256 = sha256;
        running.binary = exe.display().to_string();
    }
    let path = state_dir.join(TRIAL_FILE);
    let trial: Trial = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(trial) => trial,
            Err(error) => {
                tracing::error!(%error, path = %path.display(), "unreadable upgrade trial file: ignored and removed");
                let _ = std::fs::remove_file(&path);
                return;
            }
        },
        Err(_) => return,
    };
    match trial.step(SystemClock.now_ms()) {
        Step::Wait(left) => {
            tracing::info!(version = %trial.version, seconds_left = left.as_secs(), "upgraded: on trial until the first accepted heartbeat");
            lock().trial = Some((trial.clone(), path.clone()));
            tokio::spawn(async move {
                tokio::time::sleep(left).await;
                if lock().trial.is_some() {
                    roll_back(&trial, &path, "no heartbeat was accepted before the trial's deadline");
                }
            });
        }
        Step::RollBack => roll_back(&trial, &path, "the trial's deadline passed before a heartbeat was accepted (restarted during the trial)"),
        Step::Report(reason) => {
            let message = trial.failure(&reason);
            tracing::error!(%message, "agent upgrade rolled back");
            let mut running = lock();
            running.outcome = Some(json!({"version": trial.version, "outcome": "rolled_back", "message": message, "job": trial.job}));
            running.job_result = trial.job.map(|job| (job, JobResult { status: JobStatus::Failed, output: message, exit_code: None, duration_ms: 0 }));
            drop(running);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Called on every accepted heartbeat: commits a trial (the new binary stays), and posts the
/// upgrade job's result this process owes.
pub(crate) fn heartbeat_accepted(client: &Client) {
    let mut running = lock();
    if let Some((trial, path)) = running.trial.take() {
        let message = format!("upgraded to {} (sha256 {}), previous binary kept at {}", trial.version, trial.to_sha256, trial.previous);
        tracing::info!(%message, "agent upgrade committed");
        running.outcome = Some(json!({"version": trial.version, "outcome": "committed", "message": message, "job": trial.job}));
        running.job_result = trial.job.map(|job| (job, JobResult { status: JobStatus::Succeeded, output: message, exit_code: None, duration_ms: 0 }));
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::error!(%error, path = %path.display(), "cannot remove the trial file: a restart would roll back");
        }
    }
    if let Some((job, result)) = running.job_result.take() {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(error) = client.job_result(job, &result).await {
                tracing::error!(%error, job, "cannot post the upgrade job's result");
            }
        });
    }
}

/// Puts the previous binary back and runs it with the upgrade's first arguments; returns only
/// when that is impossible (then this process keeps running).
fn roll_back(trial: &Trial, path: &Path, reason: &str) {
    tracing::error!(version = %trial.version, %reason, "agent upgrade failed: rolling back to the previous binary");
    let previous = Path::new(&trial.previous);
    let binary = Path::new(&trial.binary);
    if !previous.exists() {
        tracing::error!(previous = %previous.display(), "no previous binary to roll back to: keeping this one");
        let _ = std::fs::remove_file(path);
        return;
    }
    let back = trial.rolled_back(reason);
    if let Err(error) = write_trial(path, &back) {
        tracing::error!(%error, "cannot record the rollback");
    }
    if let Err(error) = std::fs::rename(previous, binary) {
        tracing::error!(%error, binary = %binary.display(), "cannot put the previous binary back: keeping this one");
        let _ = std::fs::remove_file(path);
        return;
    }
    let error = std::process::Command::new(binary).args(&trial.args).exec();
    tracing::error!(%error, binary = %binary.display(), "cannot run the previous binary again");
}

fn write_trial(path: &Path, trial: &Trial) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(trial).unwrap_or_default())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// How an upgrade is run.
#[derive(Debug)]
pub(crate) struct Upgrade<'a> {
    pub(crate) client: &'a Client,
    /// The pinned key's file.
    pub(crate) pin: PathBuf,
    pub(crate) state_dir: &'a Path,
    /// How long the new binary has to heartbeat.
    pub(crate) trial: Duration,
    /// The job asking, when one does.
    pub(crate) job: Option<i64>,
}

impl Upgrade<'_> {
    /// Upgrades to `version`: returns `Ok(message)` without doing anything when that release
    /// already runs; else does not return on success (the process is the new binary now).
    pub(crate) async fn run(&self, version: &str) -> Result<String, UpgradeError> {
        release::check_version(version).map_err(|source| UpgradeError::Verify { version: version.to_string(), source })?;
        let key = read_pin(&self.pin)?.ok_or_else(|| UpgradeError::NoPinnedKey(self.pin.display().to_string()))?;
        let trial_path = self.state_dir.join(TRIAL_FILE);
        let platform = release::platform();
        let download = |source| UpgradeError::Download { version: version.to_string(), source };
        let signature = self.client.release_signature(version, &platform).await.map_err(download)?;
        let bytes = self.client.release_binary(version, &platform).await.map_err(download)?;
        let verified = release::verify_download(&bytes, &signature, &key, version, &platform)
            .map_err(|source| UpgradeError::Verify { version: version.to_string(), source })?;
        let binary = current_exe().map_err(UpgradeError::Exe)?;
        let current = std::fs::read(&binary).map_err(UpgradeError::Exe)?;
        let from_sha256 = sha256_hex(&current);
        if from_sha256 == verified.sha256 {
            return Ok(format!("release {version} (sha256 {from_sha256}) already runs"));
        }
        if let Some((trial, _)) = &lock().trial {
            return Err(UpgradeError::OnTrial(trial.version.clone()));
        }
        let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.into_string()).collect::<Result<_, _>>().map_err(|_| UpgradeError::Args)?;
        let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "fleet-agent".into());
        let new = binary.with_file_name(format!("{name}.new"));
        let previous = binary.with_file_name(format!("{name}.previous"));
        write_binary(&new, &bytes).map_err(|source| UpgradeError::Write { path: new.display().to_string(), source })?;
        if let Err(reason) = smoke_test(&new).await {
            let _ = std::fs::remove_file(&new);
            return Err(UpgradeError::SmokeTest { version: version.to_string(), reason });
        }
        let deadline_ms = SystemClock.now_ms() + i64::try_from(self.trial.as_millis()).unwrap_or(i64::MAX / 2);
        let trial = Trial {
            version: version.to_string(),
            from_sha256,
            to_sha256: verified.sha256.clone(),
            binary: binary.display().to_string(),
            previous: previous.display().to_string(),
            args: args.clone(),
            deadline_ms,
            job: self.job,
            phase: Phase::Trial,
        };
        write_trial(&trial_path, &trial).map_err(|source| UpgradeError::Write { path: trial_path.display().to_string(), source })?;
        let swapped = keep_previous(&binary, &previous).and_then(|()| std::fs::rename(&new, &binary));
        if let Err(error) = swapped {
            let _ = std::fs::remove_file(&new);
            let _ = std::fs::remove_file(&trial_path);
            return Err(UpgradeError::Swap(error.to_string()));
        }
        sync_dir(&binary);
        tracing::info!(version, sha256 = %verified.sha256, binary = %binary.display(), "swapped to the new release: re-executing");
        let error = std::process::Command::new(&binary).args(&args).exec();
        // Still the old process: the old binary goes back, the trial is forgotten.
        let _ = std::fs::rename(&previous, &binary);
        let _ = std::fs::remove_file(&trial_path);
        Err(UpgradeError::Exec(error))
    }
}

/// Writes `bytes` as an executable file, flushed to disk.
fn write_binary(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o755).open(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
    file.sync_all()
}

/// `<new> --version` must exit 0 within [`SMOKE_TIMEOUT`] and print `fleet-agent ...`.
async fn smoke_test(new: &Path) -> Result<(), String> {
    let run = tokio::process::Command::new(new).arg("--version").kill_on_drop(true).output();
    let output = tokio::time::timeout(SMOKE_TIMEOUT, run)
        .await
        .map_err(|_| format!("{} --version did not answer within {} s", new.display(), SMOKE_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{} --version cannot run: {e}", new.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.starts_with("fleet-agent ") {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("{} --version: {}: {}", new.display(), output.status, format!("{stdout}{stderr}").trim().chars().take(300).collect::<String>()))
    }
}

/// Keeps the running binary as `previous` (a hard link; a copy where links are refused).
fn keep_previous(binary: &Path, previous: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(previous);
    if std::fs::hard_link(binary, previous).is_ok() {
        return Ok(());
    }
    std::fs::copy(binary, previous).map(|_| ())
}

/// Flushes the directory holding `path` (the renames), best effort.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

/// Keeps the pin in step with the enrolment answer or the operator's flag.
pub(crate) fn pin_at_start(pin: &Path, flag: Option<&PublicKey>, enrolled: Option<&str>) {
    let key = match (flag, enrolled) {
        (Some(key), _) => Some(*key),
        (None, Some(text)) => match text.parse::<PublicKey>() {
            Ok(key) => Some(key),
            Err(error) => {
                tracing::error!(%error, "the enrolment answer's release key is not valid: nothing pinned");
                None
            }
        },
        (None, None) => None,
    };
    let Some(key) = key else { return };
    if matches!(read_pin(pin), Ok(Some(pinned)) if pinned == key) {
        return;
    }
    match write_pin(pin, &key) {
        Ok(()) => tracing::info!(%key, pin = %pin.display(), "pinned the release public key"),
        Err(error) => tracing::error!(%error, pin = %pin.display(), "cannot pin the release public key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fleet-agent-upgrade-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_pin_lives_beside_the_token_and_the_flag_replaces_it() {
        let dir = scratch("pin");
        let pin = pin_path(&dir.join("token"));
        assert_eq!(pin, dir.join("release.pub"));
        assert!(read_pin(&pin).unwrap().is_none());
        let key = || fleet_core::release::SigningKey::generate().unwrap().0.public_key();
        let (one, two) = (key(), key());
        pin_at_start(&pin, None, Some(&one.to_string()));
        assert_eq!(read_pin(&pin).unwrap(), Some(one));
        pin_at_start(&pin, None, Some("not a key"));
        assert_eq!(read_pin(&pin).unwrap(), Some(one), "an invalid answer pins nothing");
        pin_at_start(&pin, Some(&two), None);
        assert_eq!(read_pin(&pin).unwrap(), Some(two), "the node's flag wins");
        std::fs::write(&pin, "garbage\n").unwrap();
        let error = read_pin(&pin).unwrap_err().to_string();
        assert!(error.starts_with("cannot read the pinned release key") && error.contains("invalid release public key"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_binary_that_does_not_say_fleet_agent_is_refused_by_the_smoke_test() {
        let dir = scratch("smoke");
        let script = |name: &str, body: &str| {
            let path = dir.join(name);
            write_binary(&path, format!("#!/bin/sh\n{body}\n").as_bytes()).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
            path
        };
        assert_eq!(smoke_test(&script("good", "echo fleet-agent 0.2.0")).await, Ok(()));
        let failing = smoke_test(&script("failing", "echo fleet-agent 0.2.0; echo broken >&2; exit 3")).await.unwrap_err();
        assert!(failing.contains("exit status: 3") && failing.contains("broken"), "{failing}");
        let other = smoke_test(&script("other", "echo something else")).await.unwrap_err();
        assert!(other.contains("something else"), "{other}");
        let missing = smoke_test(&dir.join("missing")).await.unwrap_err();
        assert!(missing.contains("cannot run"), "{missing}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_previous_binary_is_kept_with_its_bytes() {
        let dir = scratch("previous");
        let binary = dir.join("fleet-agent");
        let previous = dir.join("fleet-agent.previous");
        std::fs::write(&binary, b"old").unwrap();
        std::fs::write(&previous, b"older").unwrap();
        keep_previous(&binary, &previous).unwrap();
        write_binary(&dir.join("fleet-agent.new"), b"new").unwrap();
        std::fs::rename(dir.join("fleet-agent.new"), &binary).unwrap();
        assert_eq!(std::fs::read(&previous).unwrap(), b"old");
        assert_eq!(std::fs::read(&binary).unwrap(), b"new");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
