//! A managed tree on disk as a tar archive, the way `tar -C DIR -cf - .` writes it: what
//! `fleet-agent --adopt` uploads as a cluster's first version.
//!
//! ```text
//! DIR (followed when it is itself a symlink, as the agent's managed directory is after an apply)
//!   -> regular files with their modes, in name order
//!   -> symlinks kept as symlinks (never followed: the reader, super::tar::read_tar, accepts
//!      only those that stay inside the tree)
//!   -> sockets, FIFOs and devices skipped and named (a stats socket may live there)
//! ```
//!
//! The bundle's limits ([`super::MAX_FILES`], [`super::MAX_FILE_BYTES`],
//! [`super::MAX_BUNDLE_BYTES`]) are checked while walking, so a folder too large to be a bundle
//! stops before it is read whole.

use std::path::Path;

use super::tar::TarError;
use super::{MAX_BUNDLE_BYTES, MAX_FILES, MAX_FILE_BYTES};

/// A packed tree: the archive, and the entries left out because they are not files, folders or
/// links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedTree {
    /// The tar archive (paths relative to the tree, no leading `./`).
    pub archive: Vec<u8>,
    /// Sockets, FIFOs and devices found and skipped, by relative path.
    pub skipped: Vec<String>,
}

fn read_error(path: &Path, source: &std::io::Error) -> TarError {
    TarError::Entry { path: path.display().to_string(), message: source.to_string() }
}

/// Packs every file, folder and symlink under `dir` (see the module docs). Errors name the
/// entry: unreadable, or over a bundle limit.
pub fn pack_tree(dir: &Path) -> Result<PackedTree, TarError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut packed = PackedTree::default();
    let (mut files, mut total) = (0usize, 0usize);
    // Relative folders still to walk, depth first, names sorted so the archive is reproducible.
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let folder = if relative.is_empty() { dir.to_path_buf() } else { dir.join(&relative) };
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .map_err(|e| read_error(&folder, &e))?
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| read_error(&folder, &e))?;
        names.sort();
        let mut subfolders = Vec::new();
        for name in names {
            let path = folder.join(&name);
            let inside = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            let meta = std::fs::symlink_metadata(&path).map_err(|e| read_error(&path, &e))?;
            let kind = meta.file_type();
            if kind.is_dir() {
                subfolders.push(inside);
                continue;
            }
            if !kind.is_file() && !kind.is_symlink() {
                packed.skipped.push(inside);
                continue;
            }
            files += 1;
            if files > MAX_FILES {
                return Err(TarError::Entry { path: inside, message: format!("more than {MAX_FILES} files") });
            }
            let mut header = tar::Header::new_gnu();
            header.set_mode(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777);
            header.set_mtime(0);
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|e| read_error(&path, &e))?;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, &inside, &target).map_err(|e| read_error(&path, &e))?;
                continue;
            }
            let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
            if size > MAX_FILE_BYTES {
                return Err(TarError::Entry { path: inside, message: format!("{size} bytes: a file holds at most {MAX_FILE_BYTES}") });
            }
            total = total.saturating_add(size);
            if total > MAX_BUNDLE_BYTES {
                return Err(TarError::Entry { path: inside, message: format!("the tree holds more than {MAX_BUNDLE_BYTES} bytes of files") });
            }
            let content = std::fs::read(&path).map_err(|e| read_error(&path, &e))?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(content.len() as u64);
            builder.append_data(&mut header, &inside, content.as_slice()).map_err(|e| read_error(&path, &e))?;
        }
        pending.extend(subfolders.into_iter().rev());
    }
    packed.archive = builder.into_inner().map_err(|e| read_error(dir, &e))?;
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tar::read_tar;
    use crate::bundle::{BundlePath, FileKind};

    #[test]
    fn a_tree_packs_to_what_the_tar_reader_takes_back() {
        let dir = std::env::temp_dir().join(format!("fleet-pack-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        std::fs::create_dir_all(dir.join("maps")).unwrap();
        std::fs::write(dir.join("haproxy.cfg"), "global\n").unwrap();
        std::fs::write(dir.join("certs/site.pem"), "pem").unwrap();
        std::fs::set_permissions(dir.join("certs/site.pem"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        std::fs::write(dir.join("maps/hosts.map"), "a b\n").unwrap();
        std::os::unix::fs::symlink("site.pem", dir.join("certs/current.pem")).unwrap();
        std::os::unix::net::UnixListener::bind(dir.join("admin.sock")).unwrap();

        let packed = pack_tree(&dir).unwrap();
        assert_eq!(packed.skipped, ["admin.sock"]);
        let bundle = read_tar(&packed.archive, &[BundlePath::new("haproxy.cfg").unwrap()]).unwrap();
        let listed: Vec<_> = bundle.files().iter().map(|f| (f.path.as_str(), f.kind, f.mode, f.content.clone())).collect();
        assert_eq!(
            listed,
            [
                ("haproxy.cfg", FileKind::Config, 0o644, b"global\n".to_vec()),
                ("certs/current.pem", FileKind::Certificate, 0o600, b"pem".to_vec()),
                ("certs/site.pem", FileKind::Certificate, 0o600, b"pem".to_vec()),
                ("maps/hosts.map", FileKind::Map, 0o644, b"a b\n".to_vec()),
            ]
        );
        assert_eq!(pack_tree(&dir).unwrap(), packed, "the same tree gives the same bytes");

        // A link leaving the tree is packed as it is, and the reader refuses it.
        std::os::unix::fs::symlink("/etc/passwd", dir.join("certs/evil.pem")).unwrap();
        let error = read_tar(&pack_tree(&dir).unwrap().archive, &[BundlePath::new("haproxy.cfg").unwrap()]).unwrap_err();
        assert!(error.to_string().contains("certs/evil.pem: symlink to \"/etc/passwd\" leaves the managed directory"), "{error}");
        assert!(pack_tree(&dir.join("missing")).unwrap_err().to_string().contains("missing"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
