//! The apply pipeline on the node (the decisions are in `fleet_core::apply`):
//!
//! ```text
//! verify checksum -> write <config>.fleet-new (fsync) -> haproxy -c -> back up <config>
//!   -> rename .fleet-new over <config> (atomic, fsync dir) -> reload + verify
//!   -> failed: restore the backup the same way, reload -> report
//! ```
//!
//! The configuration file is only ever replaced by `rename(2)` of a complete, fsynced file that
//! passed `haproxy -c`, so an agent killed at any moment leaves the old file or the new one.
//!
//! Every way an apply can stop is an [`ApplyError`]; which outcome it reports is decided by
//! `fleet_core::apply`. A refusal by HAProxy (`rejected`) is about the configuration; a file
//! that cannot be written, backed up or renamed, or a `haproxy` that cannot run, is about the
//! node (`node_error`): the operator must fix the node, not the configuration.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use fleet_core::apply::{
    backup_name, backups_to_prune, outcome_of, refused_by_node, refused_by_node_policy, rejected, verify_download,
    DownloadError, FailedStep, BACKUPS_KEPT, CANDIDATE_SUFFIX,
};
use fleet_core::auth::privileged::{Privilege, PrivilegedUse};
use fleet_core::haproxy_check::{CheckError, HaproxyChecker, Verdict};
use fleet_core::wire::DesiredState;
use fleet_core::{AgentReport, Clock, SystemClock};

use crate::driver::Driver;

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) config: PathBuf,
    pub(crate) backups: PathBuf,
    pub(crate) haproxy_bin: PathBuf,
    /// `sha256 -> version` of the last configurations written, so a restarted agent knows which
    /// version the file on disk is (its report may have been lost with the previous process).
    pub(crate) versions: PathBuf,
    /// The privileged directives this node accepts (`--allow-privileged`).
    pub(crate) allowed: HashSet<Privilege>,
}

/// Why an apply did not end with the new version running.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    /// The download does not match its checksum: nothing was touched; fetch it again.
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// The version uses privileged directives this node does not allow: nothing was written.
    #[error("version {version} uses privileged directives this node does not allow")]
    RefusedByPolicy { version: i64, refused: Vec<PrivilegedUse> },
    /// `haproxy -c` refused the version; the node keeps running the old one.
    #[error("haproxy -c rejected version {version}")]
    Rejected { version: i64, verdict: Box<Verdict> },
    /// `haproxy -c` gave no verdict (missing binary, killed, timed out).
    #[error("haproxy -c gave no verdict: {0}")]
    Checker(#[from] CheckError),
    /// A file operation on the node failed (disk full, permission, a path that is not a folder).
    #[error("cannot {action} {}: {source}", path.display())]
    Node { action: &'static str, path: PathBuf, source: std::io::Error },
    /// The reload failed after the swap; `rollback` says whether the previous configuration
    /// runs again.
    #[error("{message}\n({})", match rollback { Ok(()) => "rolled back to the previous configuration".to_string(), Err(e) => format!("rollback failed too: {e}") })]
    Reload { message: String, rollback: Result<(), String> },
}

impl ApplyError {
    fn node(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError {
        let path = path.to_path_buf();
        move |source| ApplyError::Node { action, path, source }
    }

    /// The report of this failure for `version` (`None` for a download to fetch again).
    /// HAProxy's words name the configuration's own path, not the staged candidate.
    pub(crate) fn report(&self, version: i64, config: &Path) -> Option<AgentReport> {
        let step = match self {
            ApplyError::Download(_) => return None,
            ApplyError::RefusedByPolicy { version, refused } => return Some(refused_by_node_policy(*version, refused)),
            ApplyError::Rejected { verdict, .. } => return Some(rejected(version, verdict, &config.display().to_string())),
            ApplyError::Checker(_) | ApplyError::Node { .. } => FailedStep::Node,
            ApplyError::Reload { .. } => FailedStep::Reload,
        };
        Some(AgentReport::failed(version, outcome_of(step), self.to_string()))
    }
}

/// How many checksum -> version entries are remembered.
const VERSIONS_KEPT: usize = 20;

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `text` to `path` and flushes it to disk.
fn write_synced(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(text)?;
    file.sync_all()
}

/// `rename(from, to)` then fsync of the directory, so the new name survives a power loss.
fn replace(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    if let Some(dir) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Pipeline {
    pub(crate) fn candidate(&self) -> PathBuf {
        with_suffix(&self.config, CANDIDATE_SUFFIX)
    }

    /// Removes a candidate left by an agent that was killed mid-apply (it was never live).
    pub(crate) fn clean_leftovers(&self) {
        let _ = std::fs::remove_file(self.candidate());
    }

    /// The checksum of the configuration on disk, if there is one.
    pub(crate) fn current_sha256(&self) -> Option<String> {
        std::fs::read(&self.config).ok().map(|bytes| fleet_core::secret::sha256_hex(&bytes))
    }

    /// `haproxy -c` on the staged candidate holding `text`, from the agent's own folder like the
    /// HAProxy it runs (relative paths resolve the same way), on a blocking thread.
    async fn check(&self, candidate: &Path, text: &str) -> Result<Verdict, CheckError> {
        let checker = HaproxyChecker::new(&self.haproxy_bin);
        let (path, text) = (candidate.to_path_buf(), text.to_string());
        let bin = self.haproxy_bin.clone();
        tokio::task::spawn_blocking(move || checker.check_file(&path, &text))
            .await
            .unwrap_or_else(|e| Err(CheckError::Interrupted { bin, reason: e.to_string() }))
    }

    /// Applies a desired state: `Ok` when the version runs.
    pub(crate) async fn apply(&self, driver: &mut Driver, state: &DesiredState) -> Result<(), ApplyError> {
        let bundle = verify_download(state)?;
        let refused = refused_by_node(&bundle, &self.allowed);
        if !refused.is_empty() {
            let error = ApplyError::RefusedByPolicy { version: state.version, refused };
            tracing::warn!(version = state.version, %error, "not applied");
            return Err(error);
        }
        let candidate = self.candidate();
        let result = self.swap_in(driver, state, bundle.text(), &candidate).await;
        if result.is_err() {
            // Never live; a failed reload has already been rolled back by then.
            let _ = std::fs::remove_file(&candidate);
        }
        match &result {
            Ok(()) => tracing::info!(version = state.version, "applied"),
            Err(error) => tracing::warn!(version = state.version, %error, "not applied"),
        }
        result
    }

    async fn swap_in(&self, driver: &mut Driver, state: &DesiredState, text: &str, candidate: &Path) -> Result<(), ApplyError> {
        write_synced(candidate, text.as_bytes()).map_err(ApplyError::node("write", candidate))?;
        let verdict = self.check(candidate, text).await?;
        if !verdict.accepted {
            return Err(ApplyError::Rejected { version: state.version, verdict: Box::new(verdict) });
        }
        let backup = self.back_up(state.version)?;
        if let Err(e) = self.remember(&state.sha256, state.version) {
            tracing::warn!(error = %e, "cannot record the version being applied");
        }
        replace(candidate, &self.config).map_err(ApplyError::node("replace", &self.config))?;
        if let Err(message) = driver.reload().await {
            tracing::warn!(version = state.version, %message, "reload failed: rolling back");
            let rollback = self.roll_back(driver, backup.as_deref()).await;
            return Err(ApplyError::Reload { message, rollback });
        }
        Ok(())
    }

    /// The version of the configuration on disk, when this agent wrote it.
    pub(crate) fn version_on_disk(&self) -> Option<i64> {
        let sha = self.current_sha256()?;
        let known: Vec<(String, i64)> = serde_json::from_slice(&std::fs::read(&self.versions).ok()?).ok()?;
        known.into_iter().find(|(s, _)| *s == sha).map(|(_, v)| v)
    }

    /// Records `sha256 -> version` before the file is swapped in (atomically, newest first).
    fn remember(&self, sha256: &str, version: i64) -> std::io::Result<()> {
        let mut known: Vec<(String, i64)> =
            std::fs::read(&self.versions).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        known.retain(|(s, _)| s != sha256);
        known.insert(0, (sha256.to_string(), version));
        known.truncate(VERSIONS_KEPT);
        let tmp = with_suffix(&self.versions, ".tmp");
        write_synced(&tmp, &serde_json::to_vec(&known).map_err(std::io::Error::other)?)?;
        replace(&tmp, &self.versions)
    }

    /// Copies the current configuration into the backup folder (fsynced), pruning to the last
    /// [`BACKUPS_KEPT`]; `None` when there is no current configuration.
    fn back_up(&self, version: i64) -> Result<Option<PathBuf>, ApplyError> {
        let Ok(current) = std::fs::read(&self.config) else { return Ok(None) };
        std::fs::create_dir_all(&self.backups).map_err(ApplyError::node("create the backup folder", &self.backups))?;
        let file_name = self.config.file_name().map_or_else(|| "haproxy.cfg".into(), |n| n.to_string_lossy().into_owned());
        let path = self.backups.join(backup_name(&file_name, SystemClock.now_ms(), version));
        let tmp = with_suffix(&path, ".tmp");
        write_synced(&tmp, &current).map_err(ApplyError::node("back up the configuration to", &tmp))?;
        replace(&tmp, &path).map_err(ApplyError::node("back up the configuration to", &path))?;
        // Pruning is housekeeping: a failure leaves one backup too many, not a broken apply.
        let names: Vec<String> = std::fs::read_dir(&self.backups)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned())).collect())
            .unwrap_or_default();
        for name in backups_to_prune(&file_name, &names, BACKUPS_KEPT) {
            let _ = std::fs::remove_file(self.backups.join(name));
        }
        Ok(Some(path))
    }

    /// Puts the backup back (same write-then-rename path) and reloads; without a backup (a
    /// first configuration that failed) the configuration is moved aside.
    async fn roll_back(&self, driver: &mut Driver, backup: Option<&Path>) -> Result<(), String> {
        let Some(backup) = backup else {
            let aside = with_suffix(&self.config, ".fleet-failed");
            return std::fs::rename(&self.config, &aside).map_err(|e| format!("cannot move {} aside: {e}", self.config.display()));
        };
        let candidate = self.candidate();
        let text = std::fs::read(backup).map_err(|e| format!("cannot read backup {}: {e}", backup.display()))?;
        write_synced(&candidate, &text).map_err(|e| format!("cannot write {}: {e}", candidate.display()))?;
        replace(&candidate, &self.config).map_err(|e| format!("cannot restore {}: {e}", self.config.display()))?;
        driver.reload().await
    }
}

#[cfg(test)]
mod tests {
    use fleet_core::{ApplyOutcome, ClusterSettings};

    use super::*;
    use crate::systemd::SystemdDriver;

    fn setup(name: &str) -> (PathBuf, Pipeline, Driver) {
        let dir = std::env::temp_dir().join(format!("fleet-agent-pipeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let haproxy = std::env::var_os("FLEET_HAPROXY_BIN").map_or_else(|| PathBuf::from("/usr/sbin/haproxy"), PathBuf::from);
        let pipeline = Pipeline {
            config: dir.join("haproxy.cfg"),
            backups: dir.join("backups"),
            haproxy_bin: haproxy,
            versions: dir.join("versions.json"),
            allowed: HashSet::new(),
        };
        // Never reached by these tests: they stop before the reload.
        let driver = Driver::Systemd(SystemdDriver::new("fleet-agent-test-none".into(), None, None));
        (dir, pipeline, driver)
    }

    fn state(text: &str, sha256: String) -> DesiredState {
        DesiredState { cluster_id: 1, version: 2, sha256, text: text.into(), settings: ClusterSettings::default() }
    }

    #[tokio::test]
    async fn a_partial_download_is_never_written() {
        let (dir, pipeline, mut driver) = setup("partial");
        std::fs::write(&pipeline.config, "old\n").unwrap();
        let full = "global\n    maxconn 10\n";
        let cut = state("global\n    max", fleet_core::secret::sha256_hex(full.as_bytes()));
        let error = pipeline.apply(&mut driver, &cut).await.unwrap_err();
        assert!(matches!(error, ApplyError::Download(_)) && error.to_string().starts_with("checksum mismatch"), "{error}");
        assert!(error.report(2, &pipeline.config).is_none(), "fetched again, not reported");
        assert_eq!(std::fs::read_to_string(&pipeline.config).unwrap(), "old\n");
        assert!(!pipeline.candidate().exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_rejected_config_leaves_the_old_file_alone() {
        let (dir, pipeline, mut driver) = setup("rejected");
        if !pipeline.haproxy_bin.exists() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        std::fs::write(&pipeline.config, "old\n").unwrap();
        let text = "defaults\n    mode http\n    errorfile 503 /nonexistent/file\n";
        let error = pipeline.apply(&mut driver, &state(text, fleet_core::secret::sha256_hex(text.as_bytes()))).await.unwrap_err();
        let report = error.report(2, &pipeline.config).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::Rejected);
        let message = report.error.unwrap();
        assert!(message.contains("/nonexistent/file"), "{message}");
        // HAProxy checked `haproxy.cfg.fleet-new`; the operator is told about the version's text.
        let config = pipeline.config.display().to_string();
        assert!(message.contains(&format!("[{config}:3]")) && !message.contains(CANDIDATE_SUFFIX), "{message}");
        let alert = &report.diagnostics[0];
        assert_eq!((alert.position.line, alert.position.column), (3, 19), "{alert:?}");
        assert!(alert.is_error() && alert.message.contains("/nonexistent/file"));
        assert_eq!(std::fs::read_to_string(&pipeline.config).unwrap(), "old\n");
        assert!(!pipeline.candidate().exists(), "the candidate is removed");
        assert!(!pipeline.backups.exists(), "nothing was backed up");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Node failures that happen even as root (where permissions do not stop anything): a path
    /// through a regular file is never a folder.
    #[tokio::test]
    async fn a_config_that_cannot_be_written_is_a_node_error() {
        let (dir, mut pipeline, mut driver) = setup("nodewrite");
        std::fs::write(dir.join("not-a-folder"), "").unwrap();
        pipeline.config = dir.join("not-a-folder").join("haproxy.cfg");
        let text = "global\n    maxconn 10\n";
        let error = pipeline.apply(&mut driver, &state(text, fleet_core::secret::sha256_hex(text.as_bytes()))).await.unwrap_err();
        assert!(matches!(error, ApplyError::Node { action: "write", .. }), "{error:?}");
        let report = error.report(2, &pipeline.config).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::NodeError, "never `rejected`: {report:?}");
        assert!(report.error.unwrap().starts_with("cannot write "));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_backup_that_cannot_be_made_is_a_node_error_and_changes_nothing() {
        let (dir, mut pipeline, mut driver) = setup("nodebackup");
        if !pipeline.haproxy_bin.exists() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let old = "global\n    maxconn 5\n";
        std::fs::write(&pipeline.config, old).unwrap();
        std::fs::write(dir.join("state-file"), "").unwrap();
        pipeline.backups = dir.join("state-file").join("backups");
        let text = "global\n    maxconn 10\n";
        let error = pipeline.apply(&mut driver, &state(text, fleet_core::secret::sha256_hex(text.as_bytes()))).await.unwrap_err();
        let report = error.report(2, &pipeline.config).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::NodeError, "{report:?}");
        assert!(report.error.unwrap().starts_with("cannot create the backup folder "));
        assert_eq!(std::fs::read_to_string(&pipeline.config).unwrap(), old, "the running file is untouched");
        assert!(!pipeline.candidate().exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_haproxy_is_a_node_error_not_a_rejection() {
        let (dir, mut pipeline, mut driver) = setup("nohaproxy");
        pipeline.haproxy_bin = dir.join("no-haproxy-here");
        let text = "global\n    maxconn 10\n";
        let error = pipeline.apply(&mut driver, &state(text, fleet_core::secret::sha256_hex(text.as_bytes()))).await.unwrap_err();
        let report = error.report(2, &pipeline.config).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::NodeError, "{report:?}");
        assert!(report.error.unwrap().starts_with("haproxy -c gave no verdict: cannot run "));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_privileged_directive_the_node_does_not_allow_is_refused_before_anything_is_written() {
        let (dir, mut pipeline, mut driver) = setup("policy");
        std::fs::write(&pipeline.config, "old\n").unwrap();
        let text = "global\n    lua-load /etc/haproxy/x.lua\n";
        let desired = state(text, fleet_core::secret::sha256_hex(text.as_bytes()));
        let error = pipeline.apply(&mut driver, &desired).await.unwrap_err();
        let report = error.report(2, &pipeline.config).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::RefusedByNodePolicy, "{report:?}");
        assert!(report.error.unwrap().ends_with("line 2, column 5: lua-load /etc/haproxy/x.lua (lua)"));
        assert_eq!(std::fs::read_to_string(&pipeline.config).unwrap(), "old\n");
        assert!(!pipeline.candidate().exists() && !pipeline.backups.exists());
        // Allowed: it goes on to the next step (here a missing haproxy, a node error).
        pipeline.allowed = HashSet::from([Privilege::Lua]);
        pipeline.haproxy_bin = dir.join("no-haproxy-here");
        let error = pipeline.apply(&mut driver, &desired).await.unwrap_err();
        assert!(matches!(error, ApplyError::Checker(_)), "{error:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn versions_on_disk_are_remembered() {
        let (dir, pipeline, _driver) = setup("versions");
        assert_eq!(pipeline.version_on_disk(), None);
        std::fs::write(&pipeline.config, "a\n").unwrap();
        for (i, text) in ["x\n", "a\n", "y\n"].iter().enumerate() {
            pipeline.remember(&fleet_core::secret::sha256_hex(text.as_bytes()), i as i64 + 1).unwrap();
        }
        assert_eq!(pipeline.version_on_disk(), Some(2));
        for v in 10..40 {
            pipeline.remember(&format!("{v:064}"), v).unwrap();
        }
        assert_eq!(pipeline.version_on_disk(), None, "only the last {VERSIONS_KEPT} are kept");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
