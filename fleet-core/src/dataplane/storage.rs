//! `services/haproxy/storage/{maps,ssl_certificates,general}`: upstream's file storage as the
//! files of the cluster's bundle, each kind in its folder of the managed directory (upstream's
//! default layout: `/etc/haproxy/maps`, `/etc/haproxy/ssl`, `/etc/haproxy/general`).
//!
//! ```text
//! read:   the latest version's files -> those directly in the kind's folder
//!         -> {storage_name, file (absolute, on the nodes), description, size}
//! write:  name + bytes -> put_file (the kind's FileKind and mode) -> one version, rolled out
//! delete: name         -> delete_file                               -> one version
//! ```
//! A storage name is one path segment (no `/`, no `..`): files deeper in the folder, put there
//! another way, are not storage entries.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::bundle::{BundlePath, FileInfo, FileKind};
use crate::error::{Error, Result};
use crate::ops::EditOp;

/// One of upstream's storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Map files (`map*()` converters).
    Maps,
    /// PEM certificates with their keys (`crt`).
    SslCertificates,
    /// Any other file a configuration references (error pages, ACL files, Lua ...).
    General,
}

impl Storage {
    /// The folder of the managed directory its files live in.
    pub fn folder(self) -> &'static str {
        match self {
            Storage::Maps => "maps",
            Storage::SslCertificates => "ssl",
            Storage::General => "general",
        }
    }

    /// What its files are to HAProxy (a certificate's kind makes it private: mode 0600).
    pub fn kind(self) -> FileKind {
        match self {
            Storage::Maps => FileKind::Map,
            Storage::SslCertificates => FileKind::Certificate,
            Storage::General => FileKind::Other,
        }
    }

    /// The bundle path of the entry `name`. Errors: [`Error::Invalid`] for a name that is not
    /// one path segment.
    pub fn path(self, name: &str) -> Result<BundlePath> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid(format!("storage name {name:?} must be a file name, without '/'")));
        }
        BundlePath::new(&format!("{}/{name}", self.folder())).map_err(|e| Error::invalid(format!("storage name {name:?}: {e}")))
    }

    /// The entry's name when `path` is directly in this storage's folder.
    fn name_of(self, path: &BundlePath) -> Option<&str> {
        path.as_str().strip_prefix(self.folder())?.strip_prefix('/').filter(|rest| !rest.contains('/'))
    }
}

/// The model of one entry (`map`, `general_file`, `ssl_certificate`: the fields they share).
fn entry(storage: Storage, managed_dir: &str, file: &FileInfo, name: &str) -> Value {
    json!({
        "storage_name": name,
        "file": format!("{}/{}", managed_dir.trim_end_matches('/'), file.path),
        "description": format!("{} in the cluster's bundle", storage.folder()),
        "size": file.size,
    })
}

/// The entries of `storage` among a version's `files`, in path order.
pub fn storage_entries(storage: Storage, managed_dir: &str, files: &[FileInfo]) -> Vec<Value> {
    let mut entries: Vec<_> = files.iter().filter_map(|f| storage.name_of(&f.path).map(|name| entry(storage, managed_dir, f, name))).collect();
    entries.sort_by(|a, b| a["storage_name"].as_str().cmp(&b["storage_name"].as_str()));
    entries
}

/// The entry `name` of `storage` among `files`. Errors: [`Error::NotFound`].
pub fn storage_entry(storage: Storage, managed_dir: &str, files: &[FileInfo], name: &str) -> Result<Value> {
    let path = storage.path(name)?;
    files
        .iter()
        .find(|f| f.path == path)
        .map(|f| entry(storage, managed_dir, f, name))
        .ok_or_else(|| Error::not_found(format!("{} file {name}", storage.folder())))
}

/// The op that stores `content` as entry `name`. `exists` is whether `files` already has it:
/// a create (`replace` false) of an existing entry is [`Error::Conflict`], a replace of a
/// missing one [`Error::NotFound`].
pub fn put_storage(storage: Storage, files: &[FileInfo], name: &str, content: &[u8], replace: bool) -> Result<EditOp> {
    let path = storage.path(name)?;
    let exists = files.iter().any(|f| f.path == path);
    match (exists, replace) {
        (true, false) => return Err(Error::Conflict(format!("{} file {name} already exists", storage.folder()))),
        (false, true) => return Err(Error::not_found(format!("{} file {name}", storage.folder()))),
        _ => {}
    }
    Ok(EditOp::PutFile { path, kind: Some(storage.kind()), mode: None, content_base64: BASE64.encode(content) })
}

/// The op that deletes entry `name`. Errors: [`Error::NotFound`].
pub fn delete_storage(storage: Storage, files: &[FileInfo], name: &str) -> Result<EditOp> {
    let path = storage.path(name)?;
    if !files.iter().any(|f| f.path == path) {
        return Err(Error::not_found(format!("{} file {name}", storage.folder())));
    }
    Ok(EditOp::DeleteFile { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str, kind: FileKind, size: u64) -> FileInfo {
        FileInfo { path: BundlePath::new(path).unwrap(), kind, mode: 0o644, size, sha256: String::new() }
    }

    fn files() -> Vec<FileInfo> {
        vec![
            info("haproxy.cfg", FileKind::Config, 100),
            info("maps/hosts.map", FileKind::Map, 12),
            info("maps/deep/other.map", FileKind::Map, 3),
            info("ssl/site.pem", FileKind::Certificate, 2000),
        ]
    }

    #[test]
    fn entries_are_the_files_directly_in_the_folder() {
        let maps = storage_entries(Storage::Maps, "/etc/haproxy", &files());
        assert_eq!(maps, vec![json!({"storage_name": "hosts.map", "file": "/etc/haproxy/maps/hosts.map", "description": "maps in the cluster's bundle", "size": 12})]);
        assert_eq!(storage_entry(Storage::SslCertificates, "/etc/haproxy/", &files(), "site.pem").unwrap()["file"], "/etc/haproxy/ssl/site.pem");
        assert!(storage_entries(Storage::General, "/etc/haproxy", &files()).is_empty());
        assert!(matches!(storage_entry(Storage::Maps, "/etc/haproxy", &files(), "nope.map"), Err(Error::NotFound(_))));
    }

    #[test]
    fn writes_are_file_ops_and_names_stay_in_the_folder() {
        let op = put_storage(Storage::SslCertificates, &files(), "new.pem", b"PEM", false).unwrap();
        assert!(matches!(&op, EditOp::PutFile { path, kind: Some(FileKind::Certificate), .. } if path.as_str() == "ssl/new.pem"), "{op:?}");
        assert!(matches!(put_storage(Storage::Maps, &files(), "hosts.map", b"x", false), Err(Error::Conflict(_))));
        assert!(matches!(put_storage(Storage::Maps, &files(), "nope.map", b"x", true), Err(Error::NotFound(_))));
        assert!(matches!(delete_storage(Storage::Maps, &files(), "hosts.map"), Ok(EditOp::DeleteFile { .. })));
        for bad in ["", "..", "a/b", "../haproxy.cfg"] {
            assert!(matches!(Storage::Maps.path(bad), Err(Error::Invalid { .. })), "{bad:?}");
        }
    }
}
