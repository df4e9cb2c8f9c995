//! The drift check on the node: on every heartbeat, the managed files of the release the agent
//! applied (and this node's installed keepalived.conf) are compared with the bytes it applied;
//! what differs is reported with a diff (`fleet_core::monitor::drift` owns the diff and its
//! bound). Under `enforce` the applied bytes are written back and HAProxy (or keepalived)
//! reloaded, and the report says what was restored; under `report` nothing is touched.
//!
//! ```text
//! applied (set after each apply that runs, from the desired state's bundle)
//!   -> per file: metadata (size, mtime, ctime, inode) unchanged since the last look
//!        -> the last verdict; else read + sha256 against the applied file -> diff when it differs
//!   -> DriftReport {files, restored} in the heartbeat
//! ```
//!
//! Cheap on every heartbeat: a `stat` per file; a file is read only when its metadata moved.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fleet_core::bundle::{Bundle, BundleFile};
use fleet_core::monitor::drift::{bounded, file_diff};
use fleet_core::monitor::{DriftFile, DriftPolicy, DriftReport};

/// Where an applied file lives on the node.
#[derive(Debug, Clone)]
struct Watched {
    /// The bytes, kind and mode the agent applied.
    file: BundleFile,
    /// Its sha256.
    sha256: String,
    /// Its path on the node (through the managed directory, or keepalived's config).
    on_node: PathBuf,
    /// True for this node's keepalived.conf (restored with keepalived's install).
    keepalived: bool,
}

/// What the agent applied last.
#[derive(Debug, Clone)]
pub(crate) struct AppliedSet {
    /// The version.
    pub(crate) version: i64,
    /// The bundle digest.
    digest: String,
    files: Vec<Watched>,
}

impl AppliedSet {
    /// The set of `bundle` (version `version`, digest `digest`) applied under `managed`, with
    /// this node's keepalived file installed at `keepalived` (`--keepalived`).
    pub(crate) fn new(version: i64, digest: &str, bundle: &Bundle, managed: &Path, keepalived: Option<(&BundleFile, &Path)>) -> AppliedSet {
        let mut files: Vec<Watched> = bundle
            .files()
            .iter()
            .map(|file| Watched { sha256: file.sha256(), on_node: managed.join(file.path.as_str()), file: file.clone(), keepalived: false })
            .collect();
        if let Some((file, installed)) = keepalived {
            files.push(Watched { sha256: file.sha256(), on_node: installed.to_path_buf(), file: file.clone(), keepalived: true });
        }
        AppliedSet { version, digest: digest.to_string(), files }
    }
}

/// A file's metadata, to skip reading it when nothing moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Stamp { len: meta.len(), mtime_ns: ns(meta.mtime(), meta.mtime_nsec()), ctime_ns: ns(meta.ctime(), meta.ctime_nsec()), ino: meta.ino() })
    }
}

/// What a path on the node looked like last time: its stamp, and the diff found then (`None`:
/// as applied).
type Seen = (Option<Stamp>, Option<String>);

/// A drifted file found by [`DriftCheck::check`].
#[derive(Debug, Clone)]
pub(crate) struct Drifted {
    /// As reported.
    pub(crate) report: DriftFile,
    /// The bytes to restore, their mode, where.
    pub(crate) file: BundleFile,
    pub(crate) on_node: PathBuf,
    /// This node's keepalived.conf.
    pub(crate) keepalived: bool,
}

/// The drift check's state, shared by the desired-state loop (which sets what was applied) and
/// the side loop (which checks on every heartbeat).
#[derive(Debug, Default)]
pub(crate) struct DriftCheck {
    applied: Mutex<Option<Arc<AppliedSet>>>,
    seen: Mutex<HashMap<PathBuf, Seen>>,
    policy: Mutex<DriftPolicy>,
}

impl DriftCheck {
    /// Remembers what now runs (after an apply, or found on disk after a restart).
    pub(crate) fn set_applied(&self, applied: AppliedSet) {
        let mut current = self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.as_ref().is_some_and(|c| c.digest == applied.digest && c.files.len() == applied.files.len()) {
            return;
        }
        *current = Some(Arc::new(applied));
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// What the agent applied last, if anything.
    pub(crate) fn applied(&self) -> Option<Arc<AppliedSet>> {
        self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The cluster's drift setting as last heard.
    pub(crate) fn policy(&self) -> DriftPolicy {
        *self.policy.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follows the cluster's drift setting (from the desired state or a heartbeat answer).
    pub(crate) fn set_policy(&self, policy: DriftPolicy) {
        let mut current = self.policy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current != policy {
            tracing::info!(drift = ?policy, "drift setting");
            *current = policy;
        }
    }

    /// The files that differ from what was applied (`None`: nothing applied yet), reading only
    /// files whose metadata moved since the last look.
    pub(crate) fn check(&self) -> Option<Vec<Drifted>> {
        let applied = self.applied()?;
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut drifted = Vec::new();
        for watched in &applied.files {
            let stamp = Stamp::of(&watched.on_node);
            let diff = match seen.get(&watched.on_node) {
                Some((last, diff)) if *last == stamp && stamp.is_some() => diff.clone(),
                _ => {
                    let on_node = std::fs::read(&watched.on_node).ok();
                    let same = on_node.as_deref().is_some_and(|bytes| fleet_core::secret::sha256_hex(bytes) == watched.sha256);
                    let diff = (!same).then(|| file_diff(watched.file.path.as_str(), watched.file.kind, &watched.file.content, on_node.as_deref()));
                    seen.insert(watched.on_node.clone(), (stamp, diff.clone()));
                    diff
                }
            };
            if let Some(diff) = diff {
                drifted.push(Drifted {
                    report: fleet_core::monitor::DriftFile { path: watched.file.path.to_string(), diff },
                    file: watched.file.clone(),
                    on_node: watched.on_node.clone(),
                    keepalived: watched.keepalived,
                });
            }
        }
        Some(drifted)
    }

    /// Forgets what was seen of `path` (it was just rewritten).
    pub(crate) fn forget(&self, path: &Path) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(path);
    }
}

/// The report of `drifted` files and of `restored` ones, bounded.
pub(crate) fn report(drifted: &[Drifted], restored: Vec<DriftFile>) -> DriftReport {
    DriftReport { files: bounded(drifted.iter().map(|d| d.report.clone()).collect()), restored: bounded(restored) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::bundle::{BundlePath, FileKind};

    fn bundle() -> Bundle {
        let path = |p: &str| BundlePath::new(p).unwrap();
        Bundle::new(vec![
            BundleFile::new(path("haproxy.cfg"), FileKind::Config, b"global\n    maxconn 10\n".to_vec()),
            BundleFile::new(path("maps/hosts.map"), FileKind::Map, b"a b\n".to_vec()),
        ])
        .unwrap()
    }

    #[test]
    fn edits_are_found_with_their_diff_and_forgotten_when_undone() {
        let dir = std::env::temp_dir().join(format!("fleet-drift-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("maps")).unwrap();
        let bundle = bundle();
        for file in bundle.files() {
            std::fs::write(dir.join(file.path.as_str()), &file.content).unwrap();
        }
        let check = DriftCheck::default();
        assert!(check.check().is_none(), "nothing applied yet");
        check.set_applied(AppliedSet::new(1, "d1", &bundle, &dir, None));
        assert!(check.check().unwrap().is_empty());

        std::fs::write(dir.join("haproxy.cfg"), "global\n    maxconn 99\n").unwrap();
        let drifted = check.check().unwrap();
        assert_eq!(drifted.len(), 1);
        assert_eq!(drifted[0].report.path, "haproxy.cfg");
        assert!(drifted[0].report.diff.contains("-    maxconn 10\n+    maxconn 99\n"), "{}", drifted[0].report.diff);

        std::fs::remove_file(dir.join("maps/hosts.map")).unwrap();
        let drifted = check.check().unwrap();
        assert_eq!(drifted.len(), 2);
        assert!(drifted[1].report.diff.contains("missing on the node"));

        std::fs::write(dir.join("haproxy.cfg"), "global\n    maxconn 10\n").unwrap();
        std::fs::write(dir.join("maps/hosts.map"), "a b\n").unwrap();
        assert!(check.check().unwrap().is_empty(), "undone by hand: no drift");
        let report = report(&[], vec![DriftFile { path: "x".into(), diff: "d".into() }]);
        assert_eq!(report.restored.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
