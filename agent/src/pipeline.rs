//! The apply pipeline on the node (the decisions are in `fleet_core::apply` and its `release`
//! and `runtime_plan` modules):
//!
//! ```text
//! verify the bundle -> node policy -> stage <state>/releases/<version>-<digest12>/ (every file
//!   with its mode, fsynced, under a temporary name renamed when complete)
//!   -> only maps / ACL files / certificate contents / server weights or states changed:
//!        switch, runtime API, verified (applied_runtime); a refused step falls through
//!   -> haproxy -c on the release as the node will load it (from the release directory)
//!   -> switch: the managed directory is a symlink, replaced by one rename(2)
//!   -> save `show servers state`, reload, verify
//!   -> failed reload: switch back to the previous release, reload -> report
//! ```
//!
//! Every file HAProxy reads goes through the managed directory, so the one rename switches the
//! whole set: an agent killed at any moment leaves the old set or the new one, never a mix.
//! The first apply on a node whose managed directory is a real directory exchanges it with the
//! symlink atomically (`renameat2(RENAME_EXCHANGE)`) and moves it aside, never deleting it.
//!
//! Every way an apply can stop is an [`ApplyError`]; which outcome it reports is decided by
//! `fleet_core::apply`. A refusal by HAProxy (`rejected`) is about the configuration; a file
//! that cannot be written or renamed, or a `haproxy` that cannot run, is about the node
//! (`node_error`): the operator must fix the node, not the configuration.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleet_core::apply::keepalived::node_file;
use fleet_core::apply::release::{self, ReleaseManifest, RELEASES_KEPT};
use fleet_core::apply::runtime_plan::{self, RuntimeChange, RuntimePlan};
use fleet_core::apply::server_state;
use fleet_core::apply::start_dir;
use fleet_core::apply::{outcome_of, refused_by_node, refused_by_node_policy, rejected, verify_download, DownloadError, FailedStep};
use fleet_core::auth::privileged::{Privilege, PrivilegedUse};
use fleet_core::bundle::{Bundle, BundleFile};
use fleet_core::candidate::haproxy_check_bundle;
use fleet_core::haproxy_check::{CheckError, HaproxyChecker, Verdict};
use fleet_core::runtime::command_succeeded;
use fleet_core::wire::DesiredState;
use fleet_core::monitor::DriftPolicy;
use fleet_core::{AgentReport, ClusterSettings, Clock, SystemClock};

use crate::driver::Driver;
use crate::keepalived::Keepalived;
use crate::process::Load;

/// The folder of releases in the state directory.
const RELEASES: &str = "releases";
/// The file remembering the managed directory the cluster named (`settings.managed_dir`).
const MANAGED_DIR_FILE: &str = "managed-dir";
/// The saved `show servers state`, loaded by HAProxy through `server-state-file`.
pub(crate) const SERVER_STATE_FILE: &str = "server-state";
/// The agent's own config file, loaded before the operator's (process mode).
pub(crate) const STATE_CONFIG_FILE: &str = "fleet-state.cfg";

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// `--config-path`: its folder is the managed directory unless the cluster names one.
    pub(crate) config: PathBuf,
    /// The agent's state directory: releases, saved server state, master socket.
    pub(crate) state: PathBuf,
    pub(crate) haproxy_bin: PathBuf,
    /// The privileged directives this node accepts (`--allow-privileged`).
    pub(crate) allowed: HashSet<Privilege>,
    /// The agent's config file loaded first (`server-state-file`), in process mode.
    pub(crate) state_config: Option<PathBuf>,
    /// The keepalived driver (`--keepalived`): the node's file of a bundle is checked before
    /// anything switches and installed after HAProxy took the version.
    pub(crate) keepalived: Option<Arc<Keepalived>>,
}

/// How a version came to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Through a reload (or the first start).
    Reloaded,
    /// Through the runtime API, without a reload.
    Runtime,
}

impl Applied {
    pub(crate) fn report(self, version: i64) -> AgentReport {
        match self {
            Applied::Reloaded => AgentReport::applied(version),
            Applied::Runtime => AgentReport::applied_runtime(version),
        }
    }
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
    /// `haproxy -c` refused the version; the node keeps running the old one. HAProxy named the
    /// files by their bundle paths; `label` (one config file) or `renames` (several) give the
    /// operator their managed paths.
    #[error("haproxy -c rejected version {version}")]
    Rejected { version: i64, verdict: Box<Verdict>, label: String, renames: Vec<(String, String)> },
    /// `haproxy -c` gave no verdict (missing binary, killed, timed out).
    #[error("haproxy -c gave no verdict: {0}")]
    Checker(#[from] CheckError),
    /// A file operation on the node failed (disk full, permission, a path that is not a folder).
    #[error("cannot {action} {}: {source}", path.display())]
    Node { action: &'static str, path: PathBuf, source: std::io::Error },
    /// `keepalived -t` refused this node's keepalived.conf: nothing was switched, the running
    /// keepalived keeps its file and its addresses.
    #[error("keepalived -t rejected version {version}: {message}")]
    KeepalivedRejected { version: i64, message: String },
    /// `keepalived -t` gave no verdict (missing binary, timed out).
    #[error("keepalived -t gave no verdict: {0}")]
    KeepalivedChecker(String),
    /// The reload failed after the switch; `rollback` says whether the previous release runs
    /// again.
    #[error("{message}\n({})", match rollback { Ok(()) => "rolled back to the previous configuration".to_string(), Err(e) => format!("rollback failed too: {e}") })]
    Reload { message: String, rollback: Result<(), String> },
}

impl ApplyError {
    fn node(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError {
        let path = path.to_path_buf();
        move |source| ApplyError::Node { action, path, source }
    }

    /// The report of this failure for `version` (`None` for a download to fetch again).
    pub(crate) fn report(&self, version: i64) -> Option<AgentReport> {
        let step = match self {
            ApplyError::Download(_) => return None,
            ApplyError::RefusedByPolicy { version, refused } => return Some(refused_by_node_policy(*version, refused)),
            ApplyError::Rejected { verdict, label, renames, .. } => {
                let mut report = rejected(version, verdict, label);
                for (from, to) in renames {
                    report.error = report.error.map(|e| e.replace(from.as_str(), to.as_str()));
                }
                return Some(report);
            }
            ApplyError::KeepalivedRejected { version, message } => {
                return Some(AgentReport::failed(*version, fleet_core::ApplyOutcome::Rejected, message.clone()));
            }
            ApplyError::Checker(_) | ApplyError::KeepalivedChecker(_) | ApplyError::Node { .. } => FailedStep::Node,
            ApplyError::Reload { .. } => FailedStep::Reload,
        };
        Some(AgentReport::failed(version, outcome_of(step), self.to_string()))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `bytes` to a new file at `path` with permission bits `mode` and flushes it to disk.
fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    // The umask may have narrowed the mode at creation.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// `rename(from, to)` then fsync of the directory, so the new name survives a power loss.
fn replace(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    match to.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Puts an applied file back (drift `enforce`): `bytes` with permission bits `mode` through a
/// temporary file renamed over `path` (inside the live release, through the managed directory).
pub(crate) fn restore_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = with_suffix(path, ".fleet-restore");
    write_synced(&tmp, bytes, mode)?;
    replace(&tmp, path)
}

/// Writes `bytes` to `path` through a temporary file renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    write_synced(&tmp, bytes, 0o600)?;
    replace(&tmp, path)
}

impl Pipeline {
    fn releases(&self) -> PathBuf {
        self.state.join(RELEASES)
    }

    /// The managed directory: the cluster's `managed_dir` when it names one (remembered for
    /// the next start), else the folder of `--config-path`.
    pub(crate) fn managed(&self, settings: Option<&ClusterSettings>) -> PathBuf {
        let named = match settings {
            Some(settings) => settings.managed_dir.trim().to_string(),
            None => std::fs::read_to_string(self.state.join(MANAGED_DIR_FILE)).unwrap_or_default().trim().to_string(),
        };
        if named.is_empty() {
            self.config.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        } else {
            PathBuf::from(named)
        }
    }

    /// The release the managed directory points to, when it is one of ours.
    fn current_release(&self, managed: &Path) -> Option<String> {
        let target = std::fs::read_link(managed).ok()?;
        (target.parent() == Some(self.releases().as_path())).then(|| target.file_name()?.to_str().map(str::to_string))?
    }

    fn manifest_path(&self, name: &str) -> PathBuf {
        self.releases().join(format!("{name}.json"))
    }

    fn manifest(&self, name: &str) -> Option<ReleaseManifest> {
        serde_json::from_slice(&std::fs::read(self.manifest_path(name)).ok()?).ok()
    }

    /// The manifest of the release the node runs (what the driver loads after a restart).
    pub(crate) fn running_manifest(&self) -> Option<ReleaseManifest> {
        self.manifest(&self.current_release(&self.managed(None))?)
    }

    /// True when the managed directory holds the bundle with digest `digest`.
    pub(crate) fn holds(&self, digest: &str, settings: &ClusterSettings) -> bool {
        self.current_release(&self.managed(Some(settings))).is_some_and(|name| release::release_holds(&name, digest))
    }

    /// The version of the release on disk, when this agent switched it in.
    pub(crate) fn version_on_disk(&self) -> Option<i64> {
        let name = self.current_release(&self.managed(None))?;
        release::parse_release_name(&name).map(|(version, _)| version)
    }

    /// True when there is a configuration to run: a release, or the operator's `--config-path`.
    pub(crate) fn has_configuration(&self) -> bool {
        self.running_manifest().is_some() || self.config.exists()
    }

    /// What HAProxy loads: the config files in order, as paths through the managed directory
    /// (the agent's own first, then the release's, or `--config-path` before any release), in
    /// the managed directory. Absolute, as HAProxy starts elsewhere (see [`crate::process`]).
    pub(crate) fn load_list(&self, manifest: Option<&ReleaseManifest>) -> Load {
        let managed = self.managed(None);
        let mut configs: Vec<PathBuf> = self.state_config.iter().cloned().collect();
        match manifest {
            Some(manifest) => configs.extend(manifest.configs().into_iter().map(|p| managed.join(p.as_str()))),
            None => configs.push(self.config.clone()),
        }
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
        Load { dir: Some(absolute(managed)), configs: configs.into_iter().map(absolute).collect() }
    }

    /// The agent's own config file, loaded before the operator's: `default-path origin` makes
    /// relative paths resolve in `origin` (the managed directory, looked up again at every
    /// reload, so through the symlink into the current release: a process's working directory
    /// would stay in the release it started in), and `server-state-file` names the state saved
    /// before each reload (the operator's `defaults` need `load-server-state-from-file global`
    /// to load it).
    /// Without `origin` (the check, which runs HAProxy from the checked folder), no
    /// `default-path`: relative paths resolve in the working directory.
    fn state_config_text(&self, origin: Option<&Path>) -> String {
        let default_path = origin.map(|origin| format!("    default-path origin {}\n", origin.display())).unwrap_or_default();
        format!(
            "# Written by fleet-agent (see the README, \"Managed directory layout on nodes\").\nglobal\n{default_path}    \
             server-state-file {}\n",
            self.state.join(SERVER_STATE_FILE).display()
        )
    }

    /// Writes the agent's own config file for the managed directory `managed` (process mode).
    pub(crate) fn write_state_config(&self, managed: &Path) -> std::io::Result<()> {
        let Some(path) = &self.state_config else { return Ok(()) };
        let text = self.state_config_text(Some(managed));
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        write_atomic(path, text.as_bytes())
    }

    /// Removes what a killed agent left half-done (staging directories and check copies: they
    /// were never live) and releases over the [`RELEASES_KEPT`] (one staged but never switched
    /// in by an agent killed before its pruning).
    pub(crate) fn clean_leftovers(&self) {
        if let Some(current) = self.current_release(&self.managed(None)) {
            self.prune(&current, None);
        }
        if let Ok(entries) = std::fs::read_dir(self.releases()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".staging-") {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(self.state.join("check"));
    }

    /// Applies a desired state: `Ok` when the version runs.
    pub(crate) async fn apply(&self, driver: &mut Driver, state: &DesiredState) -> Result<Applied, ApplyError> {
        let bundle = verify_download(state)?;
        let refused = refused_by_node(&bundle, &self.allowed);
        if !refused.is_empty() {
            let error = ApplyError::RefusedByPolicy { version: state.version, refused };
            tracing::warn!(version = state.version, %error, "not applied");
            return Err(error);
        }
        let result = self.switch_in(driver, state, &bundle).await;
        match &result {
            Ok(how) => tracing::info!(version = state.version, runtime = (*how == Applied::Runtime), "applied"),
            Err(error) => tracing::warn!(version = state.version, %error, "not applied"),
        }
        result
    }

    async fn switch_in(&self, driver: &mut Driver, state: &DesiredState, bundle: &Bundle) -> Result<Applied, ApplyError> {
        let managed = self.managed(Some(&state.settings));
        if self.state.starts_with(&managed) {
            let reason = std::io::Error::other("the state directory is inside the managed directory, which becomes a symlink");
            return Err(ApplyError::Node { action: "manage", path: managed, source: reason });
        }
        self.remember_managed(&state.settings)?;
        let name = release::release_name(state.version, &state.sha256);
        let manifest = ReleaseManifest { version: state.version, digest: state.sha256.clone(), files: bundle.infos() };
        let release = self.stage(bundle, &manifest, &name)?;
        // keepalived's check, like HAProxy's, before anything switches.
        let keepalived = self.keepalived_change(bundle);
        if let Some((keepalived, file)) = &keepalived {
            let refusal = match keepalived.check(&release.join(file.path.as_str())).await {
                Ok(Ok(())) => None,
                Ok(Err(message)) => {
                    keepalived.refused(&message).await;
                    Some(ApplyError::KeepalivedRejected { version: state.version, message })
                }
                Err(message) => Some(ApplyError::KeepalivedChecker(message)),
            };
            if let Some(refusal) = refusal {
                self.forget(&name);
                return Err(refusal);
            }
        }
        let previous = self.current_release(&managed);
        let running = previous.as_deref().and_then(|name| self.release_bundle(name));
        let plan = running.as_ref().and_then(|running| runtime_plan::plan(running, bundle)).filter(|_| driver.runs_release());
        // Runtime first, without `haproxy -c` (seconds on a large configuration): the runtime
        // API parses every map entry, pattern and certificate with the parsers a reload uses,
        // and a refused step falls back to the checked reload path below, which switches back
        // (undoing what the runtime took) when the check refuses the set.
        let mut aside = None;
        if let Some(plan) = &plan {
            self.write_state_config(&managed).map_err(ApplyError::node("write", self.state_config.as_deref().unwrap_or(&self.state)))?;
            aside = self.switch(&managed, &release)?;
            driver.load(self.load_list(Some(&manifest)));
            match self.apply_runtime(driver, plan, &managed).await {
                Ok(()) => {
                    if let Err(message) = self.install_keepalived(keepalived.as_ref(), state.version).await {
                        let rollback = self.roll_back(driver, &managed, previous.as_deref(), aside.as_deref()).await;
                        return Err(ApplyError::Reload { message, rollback });
                    }
                    self.prune(&name, previous.as_deref());
                    return Ok(Applied::Runtime);
                }
                Err(message) => tracing::warn!(version = state.version, %message, "runtime apply failed: checking and reloading instead"),
            }
        }
        match self.check(bundle, &state.settings, &managed).await {
            Ok(verdict) if verdict.accepted => {}
            refused => {
                if plan.is_some() {
                    if let Err(message) = self.roll_back(driver, &managed, previous.as_deref(), aside.as_deref()).await {
                        tracing::error!(version = state.version, %message, "cannot switch back after a failed runtime apply");
                    }
                }
                self.forget(&name);
                let verdict = refused?;
                // HAProxy named the files by their bundle paths: the operator reads managed paths.
                let label = managed.join(bundle.first_config().path.as_str()).display().to_string();
                let renames = bundle
                    .configs()
                    .map(|f| (format!("[{}:", f.path), format!("[{}:", managed.join(f.path.as_str()).display())))
                    .collect();
                return Err(ApplyError::Rejected { version: state.version, verdict: Box::new(verdict), label, renames });
            }
        }
        let saved_state = self.server_state_path(bundle, &state.settings);
        if !bundle.configs().any(|f| f.text().is_some_and(|t| t.contains("load-server-state-from-file"))) {
            tracing::warn!(
                version = state.version,
                "no `load-server-state-from-file global` in the configuration: servers drained or set to maint at runtime come back after a reload"
            );
        } else if saved_state.is_none() {
            tracing::warn!(
                version = state.version,
                "no `server-state-file` in the configuration (systemd mode: the agent cannot add its own): servers drained or set to maint at runtime come back after a reload"
            );
        }
        if plan.is_none() {
            self.write_state_config(&managed).map_err(ApplyError::node("write", self.state_config.as_deref().unwrap_or(&self.state)))?;
            aside = self.switch(&managed, &release)?;
            driver.load(self.load_list(Some(&manifest)));
        }
        if let Some(path) = &saved_state {
            self.save_server_state(driver, path).await;
        }
        if let Err(message) = driver.reload().await {
            tracing::warn!(version = state.version, %message, "reload failed: rolling back");
            let rollback = self.roll_back(driver, &managed, previous.as_deref(), aside.as_deref()).await;
            return Err(ApplyError::Reload { message, rollback });
        }
        if let Err(message) = self.install_keepalived(keepalived.as_ref(), state.version).await {
            let rollback = self.roll_back(driver, &managed, previous.as_deref(), aside.as_deref()).await;
            return Err(ApplyError::Reload { message, rollback });
        }
        self.prune(&name, previous.as_deref());
        Ok(Applied::Reloaded)
    }

    /// This node's keepalived.conf in `bundle` when it differs from the installed one (a
    /// version without one changes nothing for keepalived).
    fn keepalived_change(&self, bundle: &Bundle) -> Option<(Arc<Keepalived>, BundleFile)> {
        let keepalived = self.keepalived.as_ref()?;
        let file = node_file(bundle, &keepalived.settings.name)?;
        (!keepalived.installed_is(&file.content)).then(|| (keepalived.clone(), file.clone()))
    }

    /// Installs and reloads the checked keepalived.conf, after HAProxy took the version (a
    /// failure restored the previous file; the caller switches HAProxy back too).
    async fn install_keepalived(&self, change: Option<&(Arc<Keepalived>, BundleFile)>, version: i64) -> Result<(), String> {
        let Some((keepalived, file)) = change else { return Ok(()) };
        keepalived.install(&file.content, version).await
    }

    /// After a restart, on a version already on disk: makes keepalived run the release's file
    /// for this node (an agent killed between HAProxy's switch and keepalived's install left the
    /// old one: the file of an earlier release), checked first. An installed file that no
    /// release holds was edited on the node: under the `report` drift setting it stays (the
    /// drift check reports it), it is never overwritten silently.
    pub(crate) async fn keepalived_on_disk(&self, version: i64, drift: DriftPolicy) -> Result<(), ApplyError> {
        let Some(keepalived) = &self.keepalived else { return Ok(()) };
        let Some(name) = self.current_release(&self.managed(None)) else { return Ok(()) };
        let Some(bundle) = self.release_bundle(&name) else { return Ok(()) };
        let Some((keepalived, file)) = self.keepalived_change(&bundle) else {
            if node_file(&bundle, &keepalived.settings.name).is_some() {
                keepalived.runs(version).await;
            }
            return Ok(());
        };
        let installed = std::fs::read(&keepalived.settings.config).ok();
        if let (DriftPolicy::Report, Some(installed)) = (drift, &installed) {
            if !self.released_before(&name, &file.path, installed) {
                tracing::warn!(
                    version,
                    config = %keepalived.settings.config.display(),
                    "keepalived.conf was edited on the node: kept (drift setting `report`; the drift is reported)"
                );
                keepalived.runs(version).await;
                return Ok(());
            }
        }
        match keepalived.check(&self.releases().join(&name).join(file.path.as_str())).await {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                keepalived.refused(&message).await;
                return Err(ApplyError::KeepalivedRejected { version, message });
            }
            Err(message) => return Err(ApplyError::KeepalivedChecker(message)),
        }
        keepalived
            .install(&file.content, version)
            .await
            .map_err(|message| ApplyError::Reload { message, rollback: Err("the release on disk is kept".into()) })
    }

    /// True when a kept release other than `current` holds `content` at `path` (what an apply
    /// installed before, not a hand edit).
    fn released_before(&self, current: &str, path: &fleet_core::bundle::BundlePath, content: &[u8]) -> bool {
        let Ok(entries) = std::fs::read_dir(self.releases()) else { return false };
        entries.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            name != current
                && !name.starts_with('.')
                && entry.path().is_dir()
                && std::fs::read(entry.path().join(path.as_str())).is_ok_and(|bytes| bytes == content)
        })
    }

    fn remember_managed(&self, settings: &ClusterSettings) -> Result<(), ApplyError> {
        let path = self.state.join(MANAGED_DIR_FILE);
        let named = settings.managed_dir.trim();
        if std::fs::read_to_string(&path).unwrap_or_default().trim() == named {
            return Ok(());
        }
        write_atomic(&path, named.as_bytes()).map_err(ApplyError::node("write", &path))
    }

    /// Stages the bundle as release `name` (reused when a complete one exists: same version,
    /// same digest, same files). Complete means renamed from its staging name after every file,
    /// folder and the manifest were fsynced.
    fn stage(&self, bundle: &Bundle, manifest: &ReleaseManifest, name: &str) -> Result<PathBuf, ApplyError> {
        let releases = self.releases();
        let dir = releases.join(name);
        if dir.is_dir() && self.manifest(name).as_ref() == Some(manifest) {
            return Ok(dir);
        }
        std::fs::create_dir_all(&releases).map_err(ApplyError::node("create", &releases))?;
        let staging = releases.join(format!(".staging-{name}"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging).map_err(ApplyError::node("create", &staging))?;
        let mut dirs = vec![staging.clone()];
        for file in bundle.files() {
            let path = staging.join(file.path.as_str());
            if let Some(parent) = path.parent().filter(|p| !dirs.iter().any(|d| d == p)) {
                std::fs::create_dir_all(parent).map_err(ApplyError::node("create", parent))?;
                dirs.push(parent.to_path_buf());
            }
            write_synced(&path, &file.content, file.mode).map_err(ApplyError::node("write", &path))?;
        }
        for d in dirs.iter().rev() {
            sync_dir(d).map_err(ApplyError::node("sync", d))?;
        }
        let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other).map_err(ApplyError::node("write", &dir))?;
        write_atomic(&self.manifest_path(name), &json).map_err(ApplyError::node("write", &self.manifest_path(name)))?;
        let _ = std::fs::remove_dir_all(&dir);
        replace(&staging, &dir).map_err(ApplyError::node("rename", &dir))?;
        Ok(dir)
    }

    /// Deletes a release that never went live (refused by `haproxy -c`).
    fn forget(&self, name: &str) {
        let _ = std::fs::remove_dir_all(self.releases().join(name));
        let _ = std::fs::remove_file(self.manifest_path(name));
    }

    /// The bundle of release `name`, read back from its directory and manifest.
    fn release_bundle(&self, name: &str) -> Option<Bundle> {
        let manifest = self.manifest(name)?;
        let dir = self.releases().join(name);
        let files = manifest
            .files
            .iter()
            .map(|info| {
                let content = std::fs::read(dir.join(info.path.as_str())).ok()?;
                Some(BundleFile { path: info.path.clone(), kind: info.kind, mode: info.mode, content })
            })
            .collect::<Option<Vec<_>>>()?;
        Bundle::new(files).ok()
    }

    /// `haproxy -c` on the bundle as this node will load it: the agent's own config file
    /// first, then fleet-core's [`haproxy_check_bundle`] (the server's check too): the bundle
    /// written to a private folder, absolute paths into the managed directory (in config files
    /// and crt-lists) pointing into it, HAProxy run from it as it runs from the release.
    /// Diagnostics name bundle paths.
    async fn check(&self, bundle: &Bundle, settings: &ClusterSettings, managed: &Path) -> Result<Verdict, ApplyError> {
        let state_config = self.state.join("check-state.cfg");
        std::fs::write(&state_config, self.state_config_text(None)).map_err(ApplyError::node("write", &state_config))?;
        let checker = HaproxyChecker::new(&self.haproxy_bin).with_args(["-f".to_string(), state_config.display().to_string()]);
        let settings = ClusterSettings { managed_dir: managed.display().to_string(), ..settings.clone() };
        let (bin, bundle) = (self.haproxy_bin.clone(), bundle.clone());
        let verdict = tokio::task::spawn_blocking(move || haproxy_check_bundle(&bundle, &settings, &checker))
            .await
            .unwrap_or_else(|e| Err(CheckError::Interrupted { bin, reason: e.to_string() }));
        let _ = std::fs::remove_file(&state_config);
        Ok(verdict?)
    }

    /// Points the managed directory at `release` with one rename of a new symlink over it. A
    /// real directory there (the operator's files before the first apply) is exchanged with the
    /// symlink atomically, then moved aside into the state directory: where it went is returned.
    fn switch(&self, managed: &Path, release: &Path) -> Result<Option<PathBuf>, ApplyError> {
        let link = with_suffix(managed, ".fleet-new");
        let _ = std::fs::remove_file(&link);
        if let Some(parent) = managed.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(ApplyError::node("create", parent))?;
        }
        std::os::unix::fs::symlink(release, &link).map_err(ApplyError::node("create the symlink", &link))?;
        let meta = std::fs::symlink_metadata(managed);
        if meta.as_ref().is_ok_and(|m| m.is_dir()) {
            rustix::fs::renameat_with(rustix::fs::CWD, &link, rustix::fs::CWD, managed, rustix::fs::RenameFlags::EXCHANGE)
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error()))
                .map_err(ApplyError::node("exchange with a symlink", managed))?;
            if let Some(parent) = managed.parent() {
                let _ = sync_dir(parent);
            }
            // Into the state directory; next to the managed directory when that is another
            // file system (rename(2) cannot cross it); left where it is if even that fails.
            let now = SystemClock.now_ms();
            let kept = [self.state.join(format!("original-{now}")), with_suffix(managed, &format!(".fleet-original-{now}"))]
                .into_iter()
                .find(|aside| std::fs::rename(&link, aside).is_ok())
                .unwrap_or(link);
            tracing::warn!(managed = %managed.display(), kept = %kept.display(), "the managed directory is now a symlink to the current release; its previous contents were moved aside");
            return Ok(Some(kept));
        }
        if meta.as_ref().is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&link);
            let reason = std::io::Error::other("a file is where the managed directory should be");
            return Err(ApplyError::Node { action: "manage", path: managed.to_path_buf(), source: reason });
        }
        replace(&link, managed).map_err(ApplyError::node("switch", managed))?;
        Ok(None)
    }

    /// Runs a runtime plan through the runtime API, verifying each change.
    async fn apply_runtime(&self, driver: &Driver, plan: &RuntimePlan, managed: &Path) -> Result<(), String> {
        let managed = managed.display().to_string();
        let ask = |command: String| async move { driver.runtime(&command).await.map_err(|e| format!("runtime api unavailable: {e}")) };
        let expect_empty = |command: &str, answer: String| {
            if command_succeeded(&answer) {
                Ok(())
            } else {
                Err(format!("`{}`: {}", command.lines().next().unwrap_or_default(), answer.trim()))
            }
        };
        for change in &plan.changes {
            match change {
                RuntimeChange::Map { path, entries } | RuntimeChange::Acl { path, patterns: entries } => {
                    let kind = if matches!(change, RuntimeChange::Map { .. }) { "map" } else { "acl" };
                    let listing = ask(format!("show {kind}")).await?;
                    let id = runtime_plan::loaded_id(&listing, path, &managed).ok_or_else(|| format!("{path} is not a loaded {kind}"))?;
                    let answer = ask(format!("prepare {kind} {id}")).await?;
                    let version = runtime_plan::prepared_version(&answer).ok_or_else(|| format!("prepare {kind} {id}: {}", answer.trim()))?;
                    if kind == "map" {
                        for chunk in entries.chunks(10_000) {
                            let command = format!("add map @{version} {id} <<\n{}\n", chunk.join("\n"));
                            expect_empty(&command, ask(command.clone()).await?)?;
                        }
                    } else {
                        for pattern in entries {
                            let command = format!("add acl @{version} {id} {pattern}");
                            expect_empty(&command, ask(command.clone()).await?)?;
                        }
                    }
                    let command = format!("commit {kind} @{version} {id}");
                    expect_empty(&command, ask(command.clone()).await?)?;
                    let listed = runtime_plan::listed_entries(&ask(format!("show {kind} {id}")).await?);
                    if listed != entries.len() {
                        return Err(format!("{path}: {listed} entries loaded, {} expected", entries.len()));
                    }
                }
                RuntimeChange::Certificate { path, pem, fingerprint } => {
                    let listing = ask("show ssl cert".into()).await?;
                    let name = runtime_plan::loaded_certificate(&listing, path, &managed)
                        .ok_or_else(|| format!("{path} is not a loaded certificate"))?
                        .to_string();
                    let answer = ask(format!("set ssl cert {name} <<\n{pem}")).await?;
                    if !answer.contains("Transaction created") && !answer.contains("Transaction updated") {
                        let _ = ask(format!("abort ssl cert {name}")).await;
                        return Err(format!("set ssl cert {name}: {}", answer.trim()));
                    }
                    let answer = ask(format!("commit ssl cert {name}")).await?;
                    if !answer.contains("Success!") {
                        return Err(format!("commit ssl cert {name}: {}", answer.trim()));
                    }
                    let shown = runtime_plan::shown_fingerprint(&ask(format!("show ssl cert {name}")).await?);
                    if fingerprint.is_some() && shown != *fingerprint {
                        return Err(format!("{path}: HAProxy serves {shown:?}, expected {fingerprint:?}"));
                    }
                }
                RuntimeChange::Server(request) => {
                    let command = request.command().map_err(|e| e.to_string())?;
                    expect_empty(&command, ask(command.clone()).await?)?;
                }
                RuntimeChange::AddServer(server) => {
                    for (i, command) in server.commands().into_iter().enumerate() {
                        let answer = ask(command.clone()).await?;
                        if i == 0 && !answer.contains("New server registered") {
                            return Err(format!("{command}: {}", answer.trim()));
                        } else if i > 0 {
                            expect_empty(&command, answer)?;
                        }
                    }
                    let listed = ask(format!("show servers state {}", server.backend)).await?;
                    if !listed.lines().any(|l| l.split_whitespace().nth(3) == Some(server.server.as_str())) {
                        return Err(format!("add server {}/{}: not listed afterwards", server.backend, server.server));
                    }
                }
                RuntimeChange::DelServer { backend, server } => {
                    // Maintenance first, as `del server` requires; it refuses while connections
                    // remain, and the apply then falls back to a reload.
                    let command = format!("set server {backend}/{server} state maint");
                    expect_empty(&command, ask(command.clone()).await?)?;
                    let command = format!("del server {backend}/{server}");
                    let answer = ask(command.clone()).await?;
                    if !answer.contains("Server deleted") {
                        return Err(format!("{command}: {}", answer.trim()));
                    }
                }
            }
        }
        Ok(())
    }

    /// `report` with, in systemd mode, a warning for each relative path of `state`'s version
    /// that the unit's HAProxy resolves outside the managed directory, as it was not started
    /// with `-C <managed>` (`fleet_core::apply::start_dir`), after HAProxy's own diagnostics:
    /// the cluster status shows them. In process mode the agent starts HAProxy there itself.
    pub(crate) async fn with_start_dir_warnings(&self, driver: &Driver, state: &DesiredState, mut report: AgentReport) -> AgentReport {
        let Driver::Systemd(systemd) = driver else { return report };
        let Ok(bundle) = state.bundle() else { return report };
        let managed = self.managed(Some(&state.settings));
        let settings = ClusterSettings { managed_dir: managed.display().to_string(), ..state.settings.clone() };
        let started_in = systemd.started_in().await.map(|dir| dir.display().to_string());
        let warnings = start_dir::relative_path_warnings(&bundle, &settings, started_in.as_deref());
        if let Some(first) = warnings.first() {
            tracing::warn!(version = state.version, count = warnings.len(), %first, "relative paths resolve outside the managed directory");
        }
        report.diagnostics.extend(warnings);
        report
    }

    /// Where the server state is saved before a reload of `bundle`
    /// (`fleet_core::apply::server_state`): the file the agent's own config names (process
    /// mode), else the operator's `server-state-file` (systemd mode), else nowhere.
    fn server_state_path(&self, bundle: &Bundle, settings: &ClusterSettings) -> Option<PathBuf> {
        match self.state_config {
            Some(_) => Some(self.state.join(SERVER_STATE_FILE)),
            None => server_state::configured_path(bundle, settings).map(PathBuf::from),
        }
    }

    /// Saves `show servers state` at `path`, where `server-state-file` points, so servers
    /// drained, in maintenance or reweighted at runtime keep that state across the reload. A
    /// failure only loses that state, so it is logged, not fatal.
    async fn save_server_state(&self, driver: &Driver, path: &Path) {
        match driver.runtime("show servers state").await {
            Ok(answer) if answer.starts_with('1') => {
                if let Err(error) = write_atomic(path, answer.as_bytes()) {
                    tracing::warn!(%error, path = %path.display(), "cannot save the server state");
                }
            }
            Ok(_) | Err(_) => {}
        }
    }

    /// Switches back to the previous release and reloads; without one (a first configuration
    /// that failed) the operator's directory moved aside by this apply (`aside`) comes back, or
    /// the managed directory's symlink is removed.
    async fn roll_back(&self, driver: &mut Driver, managed: &Path, previous: Option<&str>, aside: Option<&Path>) -> Result<(), String> {
        let Some(previous) = previous else {
            std::fs::remove_file(managed).map_err(|e| format!("cannot remove {}: {e}", managed.display()))?;
            let Some(aside) = aside else { return Ok(()) };
            std::fs::rename(aside, managed).map_err(|e| format!("cannot move {} back: {e}", aside.display()))?;
            driver.load(self.load_list(None));
            return driver.reload().await;
        };
        self.switch(managed, &self.releases().join(previous)).map_err(|e| e.to_string())?;
        driver.load(self.load_list(self.manifest(previous).as_ref()));
        driver.reload().await
    }

    /// Keeps the newest [`RELEASES_KEPT`] releases, the current one and the previous one.
    fn prune(&self, current: &str, previous: Option<&str>) {
        let names: Vec<String> = std::fs::read_dir(self.releases())
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned())).collect())
            .unwrap_or_default();
        let protect: Vec<&str> = [Some(current), previous].into_iter().flatten().collect();
        for name in release::releases_to_prune(&names, RELEASES_KEPT, &protect) {
            self.forget(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use fleet_core::bundle::{BundlePath, FileKind};
    use fleet_core::ApplyOutcome;
    use fleet_tests::served_subject;

    use super::*;
    use crate::process::ProcessDriver;

    fn haproxy() -> Option<PathBuf> {
        let path = std::env::var_os("FLEET_HAPROXY_BIN").map_or_else(|| PathBuf::from("/usr/sbin/haproxy"), PathBuf::from);
        path.exists().then_some(path)
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// A node: `<dir>/etc` managed (a real folder with an operator's file in it), `<dir>/state`.
    fn node(name: &str) -> (PathBuf, Pipeline, Driver) {
        let dir = std::env::temp_dir().join(format!("fleet-agent-pipeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::create_dir_all(dir.join("state")).unwrap();
        std::fs::write(dir.join("etc/operator-notes.txt"), "mine\n").unwrap();
        let state = dir.join("state");
        let pipeline = Pipeline {
            config: dir.join("etc/haproxy.cfg"),
            state: state.clone(),
            haproxy_bin: haproxy().unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy")),
            allowed: HashSet::new(),
            state_config: Some(state.join(STATE_CONFIG_FILE)),
            keepalived: None,
        };
        pipeline.write_state_config(&dir.join("etc")).unwrap();
        let driver = Driver::Process(Box::new(ProcessDriver::new(
            pipeline.haproxy_bin.clone(),
            state,
            pipeline.load_list(None),
        )));
        (dir, pipeline, driver)
    }

    fn path(p: &str) -> BundlePath {
        BundlePath::new(p).unwrap()
    }

    fn desired(pipeline: &Pipeline, version: i64, files: Vec<BundleFile>) -> DesiredState {
        let settings = ClusterSettings { config_path: pipeline.config.display().to_string(), ..ClusterSettings::default() };
        DesiredState::new(1, version, &Bundle::new(files).unwrap(), settings)
    }

    fn config_only(pipeline: &Pipeline, version: i64, text: &str) -> DesiredState {
        desired(pipeline, version, vec![BundleFile::new(path("haproxy.cfg"), FileKind::Config, text.as_bytes().to_vec())])
    }

    fn site(port: u16, tls: u16, body: &str, extra: &str) -> String {
        format!(
            "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
             timeout server 5s\n    load-server-state-from-file global\n\n\
             frontend fe\n    bind 127.0.0.1:{port}\n    bind 127.0.0.1:{tls} ssl crt certs/site.pem\n{extra}    \
             http-request return status 200 content-type text/plain lf-string \"{body} %[req.hdr(host),map_str(maps/hosts.map,none)]\"\n    \
             default_backend app\n\nbackend app\n    server s1 127.0.0.1:9 weight 10\n    server s2 127.0.0.1:9 weight 10\n"
        )
    }

    fn bundle(pipeline: &Pipeline, version: i64, config: &str, map: &str, pem: &[u8]) -> DesiredState {
        desired(
            pipeline,
            version,
            vec![
                BundleFile::new(path("haproxy.cfg"), FileKind::Config, config.as_bytes().to_vec()),
                BundleFile::new(path("maps/hosts.map"), FileKind::Map, map.as_bytes().to_vec()),
                BundleFile::new(path("certs/site.pem"), FileKind::Certificate, pem.to_vec()),
            ],
        )
    }

    fn get(port: u16, host: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
        let _ = std::io::Write::write_all(&mut stream, format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes());
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
    }

    async fn reloads(driver: &Driver) -> u64 {
        let Driver::Process(process) = driver else { unreachable!() };
        crate::mcli::parse_show_proc(&crate::mcli::send(&process.socket(), "show proc", Duration::from_secs(3)).await.unwrap())
            .unwrap()
            .reloads
    }

    fn current(pipeline: &Pipeline) -> String {
        std::fs::read_link(pipeline.config.parent().unwrap()).unwrap().file_name().unwrap().to_string_lossy().into_owned()
    }

    #[tokio::test]
    async fn releases_switch_whole_bundles_runtime_first_and_roll_back() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("releases");
        let (port, tls) = (free_port(), free_port());
        let (one, two) = (fleet_tests::self_signed_pem_for("one.test").unwrap(), fleet_tests::self_signed_pem_for("two.test").unwrap());

        // First apply: the operator's folder is moved aside, never deleted; HAProxy starts.
        let v1 = bundle(&pipeline, 1, &site(port, tls, "v1", ""), "a.test A\n", &one);
        assert_eq!(pipeline.apply(&mut driver, &v1).await.unwrap(), Applied::Reloaded);
        assert_eq!(current(&pipeline), release::release_name(1, &v1.sha256));
        assert!(pipeline.holds(&v1.sha256, &v1.settings) && pipeline.version_on_disk() == Some(1));
        let aside: Vec<_> = std::fs::read_dir(&pipeline.state).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with("original-")).collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read_to_string(aside[0].path().join("operator-notes.txt")).unwrap(), "mine\n");
        assert_eq!(get(port, "a.test"), "v1 A");
        assert_eq!(served_subject(tls), "subject=CN=one.test");
        let mode = std::fs::metadata(dir.join("etc/certs/site.pem")).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let reloads_before = reloads(&driver).await;

        // Map only: the runtime API, no reload, served at once.
        let v2 = bundle(&pipeline, 2, &site(port, tls, "v1", ""), "a.test X\nb.test B\n", &one);
        let started = Instant::now();
        assert_eq!(pipeline.apply(&mut driver, &v2).await.unwrap(), Applied::Runtime);
        assert_eq!((get(port, "a.test"), get(port, "b.test")), ("v1 X".to_string(), "v1 B".to_string()));
        eprintln!("map change served {:?} after the apply began", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(reloads(&driver).await, reloads_before, "no reload for a map change");
        assert_eq!(current(&pipeline), release::release_name(2, &v2.sha256), "the files match what runs");

        // Certificate at the same path: set ssl cert + commit, no reload.
        let v3 = bundle(&pipeline, 3, &site(port, tls, "v1", ""), "a.test X\nb.test B\n", &two);
        assert_eq!(pipeline.apply(&mut driver, &v3).await.unwrap(), Applied::Runtime);
        assert_eq!(served_subject(tls), "subject=CN=two.test");
        assert_eq!(reloads(&driver).await, reloads_before, "no reload for a certificate swap");

        // A certificate HAProxy refuses: the runtime step fails, `haproxy -c` refuses the set,
        // and the node switches back to the running release.
        let broken = bundle(&pipeline, 30, &site(port, tls, "v1", ""), "a.test X\nb.test B\n", b"not a certificate\n");
        let error = pipeline.apply(&mut driver, &broken).await.unwrap_err();
        assert_eq!(error.report(30).unwrap().outcome, ApplyOutcome::Rejected, "{error}");
        assert_eq!(current(&pipeline), release::release_name(3, &v3.sha256));
        assert_eq!((served_subject(tls), get(port, "a.test")), ("subject=CN=two.test".to_string(), "v1 X".to_string()));
        let reloads_before = reloads(&driver).await;

        // Drained at runtime, then an unrelated change that needs a reload: still drained.
        let answer = driver.runtime("set server app/s1 state drain").await.unwrap();
        assert!(answer.trim().is_empty(), "{answer}");
        let v4 = bundle(&pipeline, 4, &site(port, tls, "v4", ""), "a.test X\nb.test B\n", &two);
        assert_eq!(pipeline.apply(&mut driver, &v4).await.unwrap(), Applied::Reloaded);
        assert_eq!(reloads(&driver).await, reloads_before + 1);
        assert_eq!(get(port, "a.test"), "v4 X");
        let state = driver.runtime("show servers state app").await.unwrap();
        let s1 = state.lines().find(|l| l.split_whitespace().nth(3) == Some("s1")).unwrap_or_default().to_string();
        assert_eq!(s1.split_whitespace().nth(6), Some("8"), "srv_admin_state is drain after the reload: {state}");

        // A version haproxy -c accepts but whose reload fails (its port is taken): the
        // previous release is switched back and keeps serving.
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let extra = format!("    bind 127.0.0.1:{}\n", busy.local_addr().unwrap().port());
        let v5 = bundle(&pipeline, 5, &site(port, tls, "v5", &extra), "a.test X\nb.test B\n", &two);
        let error = pipeline.apply(&mut driver, &v5).await.unwrap_err();
        assert!(matches!(&error, ApplyError::Reload { rollback: Ok(()), .. }), "{error}");
        assert_eq!(error.report(5).unwrap().outcome, ApplyOutcome::ReloadFailed);
        assert_eq!(current(&pipeline), release::release_name(4, &v4.sha256));
        assert_eq!(get(port, "a.test"), "v4 X");

        // Releases are pruned to the last ten.
        for version in 6..=17 {
            let text = site(port, tls, &format!("v{version}"), "");
            pipeline.apply(&mut driver, &bundle(&pipeline, version, &text, "a.test X\n", &two)).await.unwrap();
        }
        let kept = std::fs::read_dir(pipeline.releases()).unwrap().flatten().filter(|e| e.path().is_dir()).count();
        assert_eq!(kept, RELEASES_KEPT);
        assert_eq!(get(port, "a.test"), "v17 X");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn two_config_files_an_acl_file_and_an_error_page_apply_as_one_set() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("acl");
        let port = free_port();
        let main = "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
                    timeout server 5s\n    load-server-state-from-file global\n";
        let web = format!(
            "frontend fe\n    bind 127.0.0.1:{port}\n    errorfile 403 errors/403.http\n    acl blocked src -f acl/blocked.acl\n    \
             http-request deny deny_status 403 if blocked\n    http-request return status 200 content-type text/plain string ok\n"
        );
        let page = b"HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nblocked by fleet\n".to_vec();
        let set = |version: i64, acl: &str| {
            desired(
                &pipeline,
                version,
                vec![
                    BundleFile::new(path("haproxy.cfg"), FileKind::Config, main.as_bytes().to_vec()),
                    BundleFile::new(path("conf.d/web.cfg"), FileKind::Config, web.as_bytes().to_vec()),
                    BundleFile::new(path("acl/blocked.acl"), FileKind::Acl, acl.as_bytes().to_vec()),
                    BundleFile::new(path("errors/403.http"), FileKind::Errorfile, page.clone()),
                ],
            )
        };
        assert_eq!(pipeline.apply(&mut driver, &set(1, "10.0.0.1\n")).await.unwrap(), Applied::Reloaded);
        assert_eq!(get(port, "x"), "ok");
        let reloads_before = reloads(&driver).await;
        // Only the ACL file: `prepare acl` / `add acl` / `commit acl`, and the error page answers.
        assert_eq!(pipeline.apply(&mut driver, &set(2, "# blocked\n10.0.0.1\n127.0.0.1\n")).await.unwrap(), Applied::Runtime);
        assert_eq!(get(port, "x"), "blocked by fleet\n");
        assert_eq!(reloads(&driver).await, reloads_before);
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_relative_map_in_a_dynamic_use_backend_is_read_from_the_current_release() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        // HAProxy parses a dynamic `use_backend` after the whole configuration, where
        // `default-path` no longer applies: the map is found through the working directory.
        let (dir, pipeline, mut driver) = node("dynamic");
        let port = free_port();
        let config = |tag: &str| {
            format!(
                "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
                 frontend fe\n    bind 127.0.0.1:{port}\n    use_backend %[req.hdr(host),map_str(maps/backends.map,b1)]\n\n\
                 backend b1\n    http-request return status 200 content-type text/plain string \"one {tag}\"\n\n\
                 backend b2\n    http-request return status 200 content-type text/plain string \"two {tag}\"\n"
            )
        };
        let set = |version: i64, tag: &str, map: &str| {
            desired(
                &pipeline,
                version,
                vec![
                    BundleFile::new(path("haproxy.cfg"), FileKind::Config, config(tag).into_bytes()),
                    BundleFile::new(path("maps/backends.map"), FileKind::Map, map.as_bytes().to_vec()),
                ],
            )
        };
        assert_eq!(pipeline.apply(&mut driver, &set(1, "v1", "a.test b1\n")).await.unwrap(), Applied::Reloaded);
        assert_eq!(get(port, "a.test"), "one v1");
        // A reload onto the next release reads the next release's map, not the first one's.
        assert_eq!(pipeline.apply(&mut driver, &set(2, "v2", "a.test b2\n")).await.unwrap(), Applied::Reloaded);
        assert_eq!(get(port, "a.test"), "two v2");
        // The map alone: through the runtime API under the name HAProxy knows it by.
        assert_eq!(pipeline.apply(&mut driver, &set(3, "v2", "a.test b1\n")).await.unwrap(), Applied::Runtime);
        assert_eq!(get(port, "a.test"), "one v2");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn servers_added_and_removed_without_a_reload() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("dynamic-servers");
        let (port, one, two) = (free_port(), TcpListener::bind("127.0.0.1:0").unwrap(), TcpListener::bind("127.0.0.1:0").unwrap());
        let (one, two) = (one.local_addr().unwrap().port(), two.local_addr().unwrap().port());
        let config = |servers: &str| {
            format!(
                "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
                 frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n\nbackend app\n    balance roundrobin\n{servers}"
            )
        };
        let v = |version: i64, servers: &str| config_only(&pipeline, version, &config(servers));
        let s1 = format!("    server s1 127.0.0.1:{one} weight 10\n");
        assert_eq!(pipeline.apply(&mut driver, &v(1, &s1)).await.unwrap(), Applied::Reloaded);
        let reloads_before = reloads(&driver).await;
        let listed = |state: String| -> Vec<String> { state.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_whitespace().nth(3).map(str::to_string)).collect() };

        // A server added: `add server`, ready; no reload.
        let both = format!("{s1}    server s2 127.0.0.1:{two} weight 5 check inter 1s\n");
        assert_eq!(pipeline.apply(&mut driver, &v(2, &both)).await.unwrap(), Applied::Runtime);
        assert_eq!(listed(driver.runtime("show servers state app").await.unwrap()), ["s1", "s2"]);
        let s2 = driver.runtime("show servers state app").await.unwrap();
        let s2 = s2.lines().find(|l| l.split_whitespace().nth(3) == Some("s2")).unwrap_or_default().to_string();
        assert_eq!(s2.split_whitespace().nth(6), Some("0"), "srv_admin_state: not in maintenance: {s2}");
        // And removed again: maintenance, `del server`; no reload.
        assert_eq!(pipeline.apply(&mut driver, &v(3, &s1)).await.unwrap(), Applied::Runtime);
        assert_eq!(listed(driver.runtime("show servers state app").await.unwrap()), ["s1"]);
        assert_eq!(reloads(&driver).await, reloads_before, "no reload for servers added or removed");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    async fn procs(driver: &Driver) -> crate::mcli::Procs {
        let Driver::Process(process) = driver else { unreachable!() };
        crate::mcli::parse_show_proc(&crate::mcli::send(&process.socket(), "show proc", Duration::from_secs(3)).await.unwrap()).unwrap()
    }

    /// `show servers state <backend>`'s line of `server`, split into words (srv_admin_state is
    /// the 7th, srv_uweight the 8th).
    async fn server_state(driver: &Driver, backend: &str, server: &str) -> Vec<String> {
        let state = driver.runtime(&format!("show servers state {backend}")).await.unwrap();
        let line = state.lines().find(|l| l.split_whitespace().nth(3) == Some(server));
        line.unwrap_or_else(|| panic!("{server} not in {state}")).split_whitespace().map(str::to_string).collect()
    }

    #[tokio::test]
    async fn a_server_weight_or_disabled_change_alone_applies_without_a_reload() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("weights");
        let port = free_port();
        let config = |s1: &str, s2: &str| {
            format!(
                "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
                 frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n\nbackend app\n    balance roundrobin\n    \
                 server s1 127.0.0.1:9 {s1}\n    server s2 127.0.0.1:9 {s2}\n"
            )
        };
        let v = |version: i64, s1: &str, s2: &str| config_only(&pipeline, version, &config(s1, s2));
        assert_eq!(pipeline.apply(&mut driver, &v(1, "weight 10", "weight 10")).await.unwrap(), Applied::Reloaded);
        let before = procs(&driver).await;
        assert_eq!(server_state(&driver, "app", "s1").await[7], "10");

        // Only a weight: `set weight`, no reload, the same worker.
        assert_eq!(pipeline.apply(&mut driver, &v(2, "weight 30", "weight 10")).await.unwrap(), Applied::Runtime);
        let s1 = server_state(&driver, "app", "s1").await;
        assert_eq!((s1[6].as_str(), s1[7].as_str()), ("0", "30"), "srv_admin_state, srv_uweight: {s1:?}");
        assert_eq!(current(&pipeline), release::release_name(2, &v(2, "weight 30", "weight 10").sha256));

        // Only `disabled`: `set server ... state maint`; and back with `enabled`: ready.
        assert_eq!(pipeline.apply(&mut driver, &v(3, "weight 30", "weight 10 disabled")).await.unwrap(), Applied::Runtime);
        let s2 = server_state(&driver, "app", "s2").await;
        assert_eq!(s2[6], "1", "srv_admin_state is forced maintenance: {s2:?}");
        assert_eq!(server_state(&driver, "app", "s1").await[7], "30", "s1 keeps its weight");
        assert_eq!(pipeline.apply(&mut driver, &v(4, "weight 30", "weight 10 enabled")).await.unwrap(), Applied::Runtime);
        assert_eq!(server_state(&driver, "app", "s2").await[6], "0", "ready again");

        let after = procs(&driver).await;
        assert_eq!((after.reloads, &after.workers), (before.reloads, &before.workers), "no reload, the same worker");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A loopback HTTP server answering `body` to every request, on a thread; its port.
    fn answering(body: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match std::io::Read::read(&mut stream, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
            }
        });
        port
    }

    #[tokio::test]
    async fn a_runtime_step_haproxy_refuses_falls_back_to_a_checked_reload() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("fallback");
        let (port, one, two) = (free_port(), answering("one"), answering("two"));
        // `balance static-rr` is not a dynamic algorithm: HAProxy 2.6 refuses `add server` on
        // the CLI ("Backend must use a dynamic load balancing to support dynamic servers.")
        // and takes the same server line in the configuration.
        let config = |servers: &str| {
            format!(
                "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
                 frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n\nbackend app\n    balance static-rr\n{servers}"
            )
        };
        let v = |version: i64, servers: &str| config_only(&pipeline, version, &config(servers));
        assert_eq!(pipeline.apply(&mut driver, &v(1, &format!("    server s1 127.0.0.1:{one}\n"))).await.unwrap(), Applied::Reloaded);
        assert_eq!(get(port, "x"), "one");
        let before = procs(&driver).await;

        // s1 disabled (a runtime step HAProxy takes), s2 added (one it refuses): the plan is
        // runtime, its last step fails, and the apply goes on to `haproxy -c` and a reload.
        let servers = format!("    server s1 127.0.0.1:{one} disabled\n    server s2 127.0.0.1:{two}\n");
        let v2 = v(2, &servers);
        let running = pipeline.release_bundle(&current(&pipeline)).unwrap();
        let plan = runtime_plan::plan(&running, &verify_download(&v2).unwrap()).unwrap();
        assert!(matches!(plan.changes.last(), Some(RuntimeChange::AddServer(_))), "{plan:?}");
        assert_eq!(pipeline.apply(&mut driver, &v2).await.unwrap(), Applied::Reloaded);
        let after = procs(&driver).await;
        assert_eq!(after.reloads, before.reloads + 1, "one reload");
        assert!(after.workers.iter().all(|w| !before.workers.contains(w)), "a new worker");
        assert_eq!(current(&pipeline), release::release_name(2, &v2.sha256));
        // The new configuration serves: s1 in maintenance, s2 answering.
        assert_eq!((get(port, "x"), get(port, "x")), ("two".to_string(), "two".to_string()));
        assert_eq!(server_state(&driver, "app", "s2").await[6], "0");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A unit's HAProxy master as a systemd unit would run it (`-W -S`, daemonised), with `extra`
    /// arguments; its pid.
    fn unit_master(dir: &Path, socket: &Path, extra: &[&Path]) -> u32 {
        let config = dir.join("unit.cfg");
        std::fs::write(&config, format!("defaults\n    mode http\n    timeout client 1s\n\nfrontend fe\n    bind 127.0.0.1:{}\n", free_port())).unwrap();
        let pid = dir.join("unit.pid");
        let _ = std::fs::remove_file(&pid);
        let mut command = std::process::Command::new(haproxy().unwrap());
        command.args(["-W", "-D", "-S"]).arg(socket).arg("-p").arg(&pid).arg("-f").arg(&config);
        for arg in extra {
            command.arg(arg);
        }
        assert!(command.current_dir("/").status().unwrap().success());
        // The daemonised master writes its pid file after the command returned.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(pid) = std::fs::read_to_string(&pid).unwrap_or_default().trim().parse() {
                if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                    return pid;
                }
            }
            assert!(Instant::now() < deadline, "no pid in {}", pid.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test]
    async fn systemd_mode_warns_of_relative_paths_unless_the_unit_starts_haproxy_in_the_managed_directory() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, _) = node("start-dir");
        let managed = dir.join("etc");
        let config = "defaults\n    mode http\n    errorfile 503 errors/503.http\n";
        let state = desired(
            &pipeline,
            2,
            vec![
                BundleFile::new(path("haproxy.cfg"), FileKind::Config, config.as_bytes().to_vec()),
                BundleFile::new(path("errors/503.http"), FileKind::Errorfile, b"HTTP/1.0 503\r\n\r\n".to_vec()),
            ],
        );
        let report = || AgentReport::applied(2);
        for (name, extra, warned) in [("plain", vec![], true), ("elsewhere", vec![Path::new("-C"), Path::new("/")], true), ("managed", vec![Path::new("-C"), managed.as_path()], false)] {
            let socket = dir.join(format!("{name}.sock"));
            let master = unit_master(&dir, &socket, &extra);
            let systemd = crate::systemd::SystemdDriver::new("haproxy".into(), None, Some(socket));
            // A master that has just started may not answer `show proc` yet (a loaded CI machine):
            // wait until it names its directory, so the case tests the warning, not the start.
            let deadline = Instant::now() + Duration::from_secs(10);
            while !extra.is_empty() && systemd.started_in().await.is_none() {
                assert!(Instant::now() < deadline, "{name}: the master never named its -C");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let driver = Driver::Systemd(systemd);
            let report = pipeline.with_start_dir_warnings(&driver, &state, report()).await;
            kill_master(master);
            if warned {
                let [warning] = &report.diagnostics[..] else { panic!("{name}: {:?}", report.diagnostics) };
                assert_eq!((warning.file.as_deref(), warning.position.line, warning.position.column), (Some("haproxy.cfg"), 3, 19));
                assert!(warning.message.contains(&format!("add `-C {}`", managed.display())), "{warning}");
            } else {
                assert_eq!(report.diagnostics, [], "{name}");
            }
        }
        // Process mode: the agent starts HAProxy in the managed directory itself.
        let (process_dir, _, process) = node("start-dir-process");
        assert_eq!(pipeline.with_start_dir_warnings(&process, &state, report()).await.diagnostics, []);
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_dir_all(process_dir).unwrap();
    }

    fn kill_master(pid: u32) {
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    }

    #[tokio::test]
    async fn a_partial_download_is_never_written() {
        let (dir, pipeline, mut driver) = node("partial");
        let mut cut = config_only(&pipeline, 2, "global\n    maxconn 10\n");
        cut.files[0].content_base64 = "Z2xvYmFs".into();
        let error = pipeline.apply(&mut driver, &cut).await.unwrap_err();
        assert!(matches!(error, ApplyError::Download(_)) && error.to_string().starts_with("checksum mismatch"), "{error}");
        assert!(error.report(2).is_none(), "fetched again, not reported");
        assert!(!pipeline.releases().exists() && dir.join("etc").is_dir());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_keepalived_conf_keepalived_t_refuses_rejects_the_whole_version_before_anything_switches() {
        if !Path::new("/usr/sbin/keepalived").exists() {
            eprintln!("skipped: keepalived is not installed");
            return;
        }
        let (dir, mut pipeline, mut driver) = node("ka-rejected");
        let settings = crate::keepalived::Settings {
            name: "lb1".into(),
            bin: PathBuf::from("/usr/sbin/keepalived"),
            config: dir.join("keepalived/keepalived.conf"),
            pid_file: dir.join("keepalived.pid"),
            mode: crate::cli::Mode::Process,
            unit: "keepalived".into(),
            systemctl: PathBuf::from("systemctl"),
            dir: crate::keepalived::state_dir(&pipeline.state),
        };
        pipeline.keepalived = Some(Arc::new(Keepalived::new(settings)));
        let bad = "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 300\n    priority 100\n}\n";
        let files = vec![
            BundleFile::new(path("haproxy.cfg"), FileKind::Config, b"global\n    maxconn 10\n".to_vec()),
            BundleFile::new(path("keepalived/lb1.conf"), FileKind::Keepalived, bad.as_bytes().to_vec()),
            // Another node's file is not this node's business.
            BundleFile::new(path("keepalived/lb2.conf"), FileKind::Keepalived, b"garbage {{{\n".to_vec()),
        ];
        let error = pipeline.apply(&mut driver, &desired(&pipeline, 2, files)).await.unwrap_err();
        let report = error.report(2).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::Rejected, "{report:?}");
        assert!(report.error.as_deref().unwrap_or_default().contains("VRID '300' not valid"), "{report:?}");
        assert!(dir.join("etc").is_dir() && !dir.join("etc").is_symlink(), "nothing switched");
        assert_eq!(std::fs::read_dir(pipeline.releases()).unwrap().count(), 0, "the refused release is removed");
        assert!(!dir.join("keepalived/keepalived.conf").exists(), "nothing installed for keepalived");
        let keepalived = pipeline.keepalived.as_ref().unwrap();
        assert!(keepalived.report().await.error.unwrap_or_default().contains("VRID '300'"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_restarted_agent_keeps_a_hand_edited_keepalived_conf_under_report() {
        if haproxy().is_none() || !Path::new("/usr/sbin/keepalived").exists() {
            eprintln!("skipped: haproxy or keepalived is not installed");
            return;
        }
        let (dir, mut pipeline, mut driver) = node("ka-drift");
        // systemd mode with a stand-in systemctl: installs are real, no keepalived process runs.
        let systemctl = dir.join("systemctl");
        std::fs::write(&systemctl, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&systemctl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let installed = dir.join("keepalived/keepalived.conf");
        let settings = crate::keepalived::Settings {
            name: "lb1".into(),
            bin: PathBuf::from("/usr/sbin/keepalived"),
            config: installed.clone(),
            pid_file: dir.join("keepalived.pid"),
            mode: crate::cli::Mode::Systemd,
            unit: "keepalived".into(),
            systemctl,
            dir: crate::keepalived::state_dir(&pipeline.state),
        };
        std::fs::create_dir_all(dir.join("keepalived")).unwrap();
        pipeline.keepalived = Some(Arc::new(Keepalived::new(settings)));
        let conf = |id: &str| format!("global_defs {{\n    router_id {id}\n}}\n");
        let version = |n: i64, id: &str| {
            desired(&pipeline, n, vec![
                BundleFile::new(path("haproxy.cfg"), FileKind::Config, b"global\n    maxconn 10\n".to_vec()),
                BundleFile::new(path("keepalived/lb1.conf"), FileKind::Keepalived, conf(id).into_bytes()),
            ])
        };
        pipeline.apply(&mut driver, &version(2, "v2")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&installed).unwrap(), conf("v2"));

        // A hand edit, then a restart (keepalived_on_disk): kept under report, restored under enforce.
        std::fs::write(&installed, conf("edited")).unwrap();
        pipeline.keepalived_on_disk(2, DriftPolicy::Report).await.unwrap();
        assert_eq!(std::fs::read_to_string(&installed).unwrap(), conf("edited"), "never overwritten under report");
        pipeline.keepalived_on_disk(2, DriftPolicy::Enforce).await.unwrap();
        assert_eq!(std::fs::read_to_string(&installed).unwrap(), conf("v2"), "enforce restores it");

        // An agent killed between HAProxy's switch and keepalived's install left an earlier
        // release's file: that one is ours, and the restart installs the current one.
        pipeline.apply(&mut driver, &version(3, "v3")).await.unwrap();
        std::fs::write(&installed, conf("v2")).unwrap();
        pipeline.keepalived_on_disk(3, DriftPolicy::Report).await.unwrap();
        assert_eq!(std::fs::read_to_string(&installed).unwrap(), conf("v3"));
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_rejected_bundle_is_never_switched_in() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("rejected");
        let text = "defaults\n    mode http\n    errorfile 503 /nonexistent/file\n";
        let error = pipeline.apply(&mut driver, &config_only(&pipeline, 2, text)).await.unwrap_err();
        let report = error.report(2).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::Rejected);
        let message = report.error.unwrap();
        // HAProxy checked the staged release; the operator is told about the managed path.
        let config = pipeline.config.display().to_string();
        assert!(message.contains(&format!("[{config}:3]")) && !message.contains("releases"), "{message}");
        let alert = &report.diagnostics[0];
        assert_eq!((alert.position.line, alert.position.column), (3, 19), "{alert:?}");
        assert!(dir.join("etc").is_dir() && !dir.join("etc").is_symlink(), "nothing switched");
        assert_eq!(std::fs::read_dir(pipeline.releases()).unwrap().count(), 0, "the refused release is removed");

        // Several config files: each alert names its file, by its managed path in the message.
        let files = vec![
            BundleFile::new(path("haproxy.cfg"), FileKind::Config, text.as_bytes().to_vec()),
            BundleFile::new(path("conf.d/web.cfg"), FileKind::Config, b"backend app\n    server s 127.0.0.1:80\n".to_vec()),
        ];
        let report = pipeline.apply(&mut driver, &desired(&pipeline, 3, files)).await.unwrap_err().report(3).unwrap();
        let message = report.error.unwrap();
        assert!(message.contains(&format!("[{config}:3]")), "{message}");
        assert_eq!(report.diagnostics[0].file.as_deref(), Some("haproxy.cfg"), "{:?}", report.diagnostics);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn absolute_paths_into_the_managed_directory_are_checked_in_the_new_release() {
        if haproxy().is_none() {
            eprintln!("skipped: haproxy is not installed");
            return;
        }
        let (dir, pipeline, mut driver) = node("absolute");
        let port = free_port();
        let managed = dir.join("etc").display().to_string();
        let tls = free_port();
        let text = format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    \
             errorfile 503 {managed}/errors/503.http\n\nfrontend fe\n    bind 127.0.0.1:{port}\n    \
             bind 127.0.0.1:{tls} ssl crt-list {managed}/lists/sites.txt\n    \
             http-request return status 200 content-type text/plain string ok\n"
        );
        let page = b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nsorry\n".to_vec();
        let files = vec![
            BundleFile::new(path("haproxy.cfg"), FileKind::Config, text.into_bytes()),
            BundleFile::new(path("errors/503.http"), FileKind::Errorfile, page),
            // HAProxy reads a crt-list while parsing: its absolute paths must lead into the
            // checked copy as well, where the certificate is new.
            BundleFile::new(path("lists/sites.txt"), FileKind::CrtList, format!("{managed}/certs/new.pem\n").into_bytes()),
            BundleFile::new(path("certs/new.pem"), FileKind::Certificate, fleet_tests::self_signed_pem_for("new.test").unwrap()),
        ];
        // Checked before the switch, while the error page and the certificate exist only in
        // the staged release.
        assert_eq!(pipeline.apply(&mut driver, &desired(&pipeline, 2, files)).await.unwrap(), Applied::Reloaded);
        assert_eq!(get(port, "x"), "ok");
        assert_eq!(served_subject(tls), "subject=CN=new.test");
        driver.stop().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_state_directory_inside_the_managed_directory_is_a_node_error() {
        let (dir, mut pipeline, mut driver) = node("inside");
        pipeline.config = dir.join("haproxy.cfg");
        let error = pipeline.apply(&mut driver, &config_only(&pipeline, 2, "global\n")).await.unwrap_err();
        assert!(matches!(error, ApplyError::Node { action: "manage", .. }), "{error:?}");
        assert_eq!(error.report(2).unwrap().outcome, ApplyOutcome::NodeError);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_haproxy_is_a_node_error_not_a_rejection() {
        let (dir, mut pipeline, mut driver) = node("nohaproxy");
        pipeline.haproxy_bin = dir.join("no-haproxy-here");
        let error = pipeline.apply(&mut driver, &config_only(&pipeline, 2, "global\n    maxconn 10\n")).await.unwrap_err();
        let report = error.report(2).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::NodeError, "{report:?}");
        assert!(report.error.unwrap().starts_with("haproxy -c gave no verdict: cannot run "));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_privileged_directive_the_node_does_not_allow_is_refused_before_anything_is_written() {
        let (dir, mut pipeline, mut driver) = node("policy");
        let desired = config_only(&pipeline, 2, "global\n    lua-load /etc/haproxy/x.lua\n");
        let error = pipeline.apply(&mut driver, &desired).await.unwrap_err();
        let report = error.report(2).unwrap();
        assert_eq!(report.outcome, ApplyOutcome::RefusedByNodePolicy, "{report:?}");
        assert!(report.error.unwrap().ends_with("line 2, column 5: lua-load /etc/haproxy/x.lua (lua)"));
        assert!(!pipeline.releases().exists());
        // Allowed: it goes on to the next step (here a missing haproxy, a node error).
        pipeline.allowed = HashSet::from([Privilege::Lua]);
        pipeline.haproxy_bin = dir.join("no-haproxy-here");
        let error = pipeline.apply(&mut driver, &desired).await.unwrap_err();
        assert!(matches!(error, ApplyError::Checker(_)), "{error:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
