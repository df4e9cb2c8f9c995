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

use std::io::Write;
use std::path::{Path, PathBuf};

use fleet_core::apply::{backup_name, backups_to_prune, haproxy_message, report, verify_download, FailedStep, BACKUPS_KEPT, CANDIDATE_SUFFIX};
use fleet_core::wire::DesiredState;
use fleet_core::{AgentReport, Clock, SystemClock};
use tokio::process::Command;

use crate::driver::Driver;

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) config: PathBuf,
    pub(crate) backups: PathBuf,
    pub(crate) haproxy_bin: PathBuf,
    /// `sha256 -> version` of the last configurations written, so a restarted agent knows which
    /// version the file on disk is (its report may have been lost with the previous process).
    pub(crate) versions: PathBuf,
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

    /// `haproxy -c -f <path>`: `Err(message)` when HAProxy refuses it.
    pub(crate) async fn check(&self, path: &Path) -> Result<(), String> {
        let output = Command::new(&self.haproxy_bin)
            .arg("-c")
            .arg("-f")
            .arg(path)
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", self.haproxy_bin.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            Err(haproxy_message(&text))
        }
    }

    /// Applies a desired state; `Err` only when the download itself is bad (retry it).
    pub(crate) async fn apply(&self, driver: &mut Driver, state: &DesiredState) -> Result<AgentReport, String> {
        verify_download(state).map_err(|e| e.to_string())?;
        let candidate = self.candidate();
        if let Err(e) = write_synced(&candidate, state.text.as_bytes()) {
            return Ok(report(state.version, Some((FailedStep::Check, format!("cannot write {}: {e}", candidate.display())))));
        }
        if let Err(message) = self.check(&candidate).await {
            let _ = std::fs::remove_file(&candidate);
            tracing::warn!(version = state.version, %message, "haproxy -c rejected the configuration");
            return Ok(report(state.version, Some((FailedStep::Check, message))));
        }
        let backup = match self.back_up(state.version) {
            Ok(backup) => backup,
            Err(e) => {
                let _ = std::fs::remove_file(&candidate);
                let message = format!("cannot back up {}: {e}", self.config.display());
                return Ok(report(state.version, Some((FailedStep::Check, message))));
            }
        };
        if let Err(e) = self.remember(&state.sha256, state.version) {
            tracing::warn!(error = %e, "cannot record the version being applied");
        }
        if let Err(e) = replace(&candidate, &self.config) {
            let _ = std::fs::remove_file(&candidate);
            let message = format!("cannot replace {}: {e}", self.config.display());
            return Ok(report(state.version, Some((FailedStep::Check, message))));
        }
        match driver.reload().await {
            Ok(()) => {
                tracing::info!(version = state.version, "applied");
                Ok(report(state.version, None))
            }
            Err(message) => {
                tracing::warn!(version = state.version, %message, "reload failed: rolling back");
                let rollback = self.roll_back(driver, backup.as_deref()).await;
                let message = match rollback {
                    Ok(()) => format!("{message}\n(rolled back to the previous configuration)"),
                    Err(e) => format!("{message}\n(rollback failed too: {e})"),
                };
                Ok(report(state.version, Some((FailedStep::Reload, message))))
            }
        }
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
    fn back_up(&self, version: i64) -> std::io::Result<Option<PathBuf>> {
        let Ok(current) = std::fs::read(&self.config) else { return Ok(None) };
        std::fs::create_dir_all(&self.backups)?;
        let file_name = self.config.file_name().map_or_else(|| "haproxy.cfg".into(), |n| n.to_string_lossy().into_owned());
        let path = self.backups.join(backup_name(&file_name, SystemClock.now_ms(), version));
        let tmp = with_suffix(&path, ".tmp");
        write_synced(&tmp, &current)?;
        replace(&tmp, &path)?;
        let names: Vec<String> = std::fs::read_dir(&self.backups)?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
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
        assert!(error.starts_with("checksum mismatch"), "{error}");
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
        let report = pipeline.apply(&mut driver, &state(text, fleet_core::secret::sha256_hex(text.as_bytes()))).await.unwrap();
        assert_eq!(report.outcome, ApplyOutcome::Rejected);
        assert!(report.error.unwrap().contains("/nonexistent/file"));
        assert_eq!(std::fs::read_to_string(&pipeline.config).unwrap(), "old\n");
        assert!(!pipeline.candidate().exists(), "the candidate is removed");
        assert!(!pipeline.backups.exists(), "nothing was backed up");
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
