//! A bundle as a folder on a workstation: `fleet config pull` writes one, `fleet config push`
//! reads it back and turns what differs into file ops for one transaction.
//!
//! ```text
//! pull: the version's files (less those holding a private key) -> write_tree(DIR)
//! push: read_tree(DIR) + the server's listing -> plan_push -> put_file / delete_file ops
//!   same bytes on both sides          -> nothing
//!   other bytes                       -> put_file with the server's kind and mode
//!   only in DIR                       -> put_file; the server guesses the kind from the name
//!                                        and gives the kind's default mode
//!   only on the server                -> delete_file, unless it holds a private key: pull never
//!                                        writes those, so their absence is not a wish to delete
//! ```
//!
//! Kinds and modes are never read from the workstation: a Git checkout forgets modes, and a
//! private key must stay 0600. Entries whose name starts with `.` (`.git`, editor swap files)
//! are skipped, and so are symlinks (a bundle holds files).

use std::path::{Path, PathBuf};

use super::{BundleFile, BundlePath, FileInfo};
use crate::ops::EditOp;
use crate::secret::sha256_hex;

/// Why a folder could not be read or written as a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A name that cannot be a bundle path.
    #[error("{path}: {message}")]
    Path {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

fn io(path: &Path, source: std::io::Error) -> LocalError {
    LocalError::Io { path: path.to_path_buf(), source }
}

/// One file of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Its path relative to the folder.
    pub path: BundlePath,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// A file of the server's listing (`GET /clusters/{id}/files`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ListedFile {
    /// Path, kind, mode, size and sha256.
    #[serde(flatten)]
    pub info: FileInfo,
    /// True when it holds a private key (never sent to users).
    #[serde(default)]
    pub private_key: bool,
}

/// Every file under `dir`, by path (see the module docs for what is skipped).
pub fn read_tree(dir: &Path) -> Result<Vec<LocalFile>, LocalError> {
    let mut files = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let folder = if relative.is_empty() { dir.to_path_buf() } else { dir.join(&relative) };
        for entry in std::fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let entry = entry.map_err(|e| io(&folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let inside = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if kind.is_dir() {
                pending.push(inside);
            } else if kind.is_file() {
                let bundle_path = BundlePath::new(&inside).map_err(|e| LocalError::Path { path: path.clone(), message: e.to_string() })?;
                let content = std::fs::read(&path).map_err(|e| io(&path, e))?;
                files.push(LocalFile { path: bundle_path, content });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Writes `files` under `dir` with their modes, creating folders as needed; files already there
/// are replaced, nothing else is removed.
pub fn write_tree<'a>(dir: &Path, files: impl IntoIterator<Item = &'a BundleFile>) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt as _;
    for file in files {
        let path = dir.join(file.path.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, &file.content).map_err(|e| io(&path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode)).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// What a push changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushPlan {
    /// The ops, puts first (by path), then deletes.
    pub ops: Vec<EditOp>,
    /// Files on the server that hold a private key and are not in the folder: left as they are.
    pub kept: Vec<BundlePath>,
}

impl PushPlan {
    /// Nothing would change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Keeps the server's files that `managed` says another owner writes (the VIP routes'
    /// keepalived files, say) instead of deleting them because the folder lacks them.
    pub fn keep(&mut self, managed: impl Fn(&BundlePath) -> bool) {
        let mut ops = Vec::with_capacity(self.ops.len());
        for op in std::mem::take(&mut self.ops) {
            match op {
                EditOp::DeleteFile { path } if managed(&path) => self.kept.push(path),
                other => ops.push(other),
            }
        }
        self.ops = ops;
    }
}

/// The ops that make the server's files (`server`) the folder's (`local`), by the rules in the
/// module docs.
pub fn plan_push(server: &[ListedFile], local: &[LocalFile]) -> PushPlan {
    let mut plan = PushPlan::default();
    for file in local {
        match server.iter().find(|s| s.info.path == file.path) {
            Some(known) if known.info.sha256 == sha256_hex(&file.content) => {}
            Some(known) => plan.ops.push(EditOp::put_file(file.path.clone(), Some(known.info.kind), Some(known.info.mode), &file.content)),
            None => plan.ops.push(EditOp::put_file(file.path.clone(), None, None, &file.content)),
        }
    }
    for known in server {
        if local.iter().any(|l| l.path == known.info.path) {
            continue;
        }
        if known.private_key {
            plan.kept.push(known.info.path.clone());
        } else {
            plan.ops.push(EditOp::DeleteFile { path: known.info.path.clone() });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::FileKind;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn listed(path: &str, kind: FileKind, mode: u32, content: &[u8], private_key: bool) -> ListedFile {
        let info = FileInfo { path: p(path), kind, mode, size: content.len() as u64, sha256: sha256_hex(content) };
        ListedFile { info, private_key }
    }

    fn local(path: &str, content: &[u8]) -> LocalFile {
        LocalFile { path: p(path), content: content.to_vec() }
    }

    #[test]
    fn a_push_keeps_kinds_modes_and_withheld_keys() {
        let server = [
            listed("haproxy.cfg", FileKind::Config, 0o644, b"global\n", false),
            listed("maps/hosts.lst", FileKind::Map, 0o640, b"a b\n", false),
            listed("certs/site.pem", FileKind::Certificate, 0o600, b"KEY", true),
            listed("old.http", FileKind::Errorfile, 0o644, b"x", false),
        ];
        let folder = [local("haproxy.cfg", b"global\n"), local("maps/hosts.lst", b"a c\n"), local("new.map", b"k v\n")];
        let plan = plan_push(&server, &folder);
        assert_eq!(
            plan.ops,
            [
                EditOp::put_file(p("maps/hosts.lst"), Some(FileKind::Map), Some(0o640), b"a c\n"),
                EditOp::put_file(p("new.map"), None, None, b"k v\n"),
                EditOp::DeleteFile { path: p("old.http") },
            ]
        );
        assert_eq!(plan.kept, [p("certs/site.pem")]);
        assert!(plan_push(&server[..2], &[local("haproxy.cfg", b"global\n"), local("maps/hosts.lst", b"a b\n")]).is_empty());
        let mut kept = plan.clone();
        kept.keep(|path| path.as_str().ends_with(".http"));
        assert_eq!(kept.ops, plan.ops[..2]);
        assert_eq!(kept.kept, [p("certs/site.pem"), p("old.http")]);
    }

    #[test]
    fn a_tree_round_trips_and_hidden_entries_are_skipped() {
        let dir = std::env::temp_dir().join(format!("fleet-core-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut key = BundleFile::new(p("certs/site.pem"), FileKind::Certificate, b"pem".to_vec());
        key.mode = 0o600;
        let files = [BundleFile::new(p("haproxy.cfg"), FileKind::Config, b"global\n".to_vec()), key];
        write_tree(&dir, &files).unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::create_dir_all(dir.join(".git")).unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(dir.join(".git/HEAD"), "ref").unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(dir.join(".haproxy.cfg.swp"), "x").unwrap_or_else(|e| unreachable!("{e}"));
        let read = read_tree(&dir).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(read, [local("certs/site.pem", b"pem"), local("haproxy.cfg", b"global\n")]);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.join("certs/site.pem")).unwrap_or_else(|e| unreachable!("{e}")).permissions());
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
