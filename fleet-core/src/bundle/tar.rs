//! Bundles as tar archives (POSIX ustar/GNU, as `tar -C /etc/haproxy -cf - .` writes them): an
//! operator's whole managed tree in, a version's files out.
//!
//! ```text
//! read:  entries -> regular files (paths checked by BundlePath: no `..`, no absolute paths)
//!        + symlinks/hard links resolved inside the archive (refused when they leave it)
//!        + directories skipped -> kinds (configs listed by the caller, in their order) -> Bundle
//!        -> import_tar: kinds from how the configs use each file (references::with_implied_kinds)
//! write: every file with its mode, configs first (a `tar -x` gives back the tree)
//! ```
//!
//! Limits are the bundle's ([`super::MAX_FILES`], [`super::MAX_FILE_BYTES`],
//! [`super::MAX_BUNDLE_BYTES`]), checked while reading so an archive bomb stops early: a file's
//! size from its header, before its bytes are read.

use std::collections::HashMap;
use std::io::Read;

use super::{Bundle, BundleError, BundleFile, BundlePath, FileKind, MAX_BUNDLE_BYTES, MAX_FILES, MAX_FILE_BYTES};
use crate::model::ClusterSettings;

/// Why an archive is not a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TarError {
    /// Not a readable tar archive.
    #[error("not a valid tar archive: {0}")]
    Archive(String),
    /// An entry's path, kind or size breaks a bundle rule.
    #[error("{path}: {message}")]
    Entry {
        /// The entry as named in the archive.
        path: String,
        /// Why.
        message: String,
    },
    /// The files do not form a bundle.
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

fn entry_error(path: &str, message: impl Into<String>) -> TarError {
    TarError::Entry { path: path.to_string(), message: message.into() }
}

/// Reads a tar archive of a managed directory. `configs` names the config files in load order:
/// a path is one file, a directory (`conf.d`) all of its `*.cfg` files in name order, as
/// `haproxy -f DIR` loads them. Other files get [`FileKind::guess`]'s kind, except that a
/// `.cfg` file not listed becomes `other` (it is not loaded).
pub fn read_tar(archive: &[u8], configs: &[BundlePath]) -> Result<Bundle, TarError> {
    read_tar_within(archive, configs, &Limits::BUNDLE)
}

/// How much an archive may hold: the bundle's limits, smaller in tests.
#[derive(Debug, Clone, Copy)]
struct Limits {
    files: usize,
    file_bytes: usize,
    bundle_bytes: usize,
}

impl Limits {
    const BUNDLE: Limits = Limits { files: MAX_FILES, file_bytes: MAX_FILE_BYTES, bundle_bytes: MAX_BUNDLE_BYTES };
}

/// [`read_tar`] under `limits`.
fn read_tar_within(archive: &[u8], configs: &[BundlePath], limits: &Limits) -> Result<Bundle, TarError> {
    let Limits { files: max_files, file_bytes: max_file_bytes, bundle_bytes: max_bundle_bytes } = *limits;
    let mut contents: HashMap<BundlePath, (Vec<u8>, u32)> = HashMap::new();
    let mut links: Vec<(BundlePath, String, String)> = Vec::new();
    let mut total = 0usize;
    let mut reader = tar::Archive::new(archive);
    let entries = reader.entries().map_err(|e| TarError::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| TarError::Archive(e.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let path = BundlePath::new(&raw).map_err(|e| entry_error(&raw, e.to_string()))?;
        if contents.len() + links.len() >= max_files {
            return Err(entry_error(&raw, format!("more than {max_files} files")));
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .ok_or_else(|| entry_error(&raw, "link without a target"))?;
            links.push((path, target, if kind.is_symlink() { "symlink".into() } else { "hard link".into() }));
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(entry_error(&raw, format!("{kind:?} entries cannot be part of a bundle (only files, directories and links)")));
        }
        let size = usize::try_from(entry.header().size().unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
        if size > max_file_bytes {
            return Err(entry_error(&raw, format!("{size} bytes: a file holds at most {max_file_bytes}")));
        }
        total = total.saturating_add(size);
        if total > max_bundle_bytes {
            return Err(entry_error(&raw, format!("the archive holds more than {max_bundle_bytes} bytes of files")));
        }
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let mut bytes = Vec::with_capacity(size);
        entry.read_to_end(&mut bytes).map_err(|e| entry_error(&raw, e.to_string()))?;
        contents.insert(path, (bytes, mode));
    }
    for (path, target, what) in &links {
        let resolved = resolve_link(path, target, what == "symlink").ok_or_else(|| {
            entry_error(path.as_str(), format!("{what} to {target:?} leaves the managed directory"))
        })?;
        let found = contents.get(&resolved).ok_or_else(|| {
            entry_error(path.as_str(), format!("{what} to {target:?}: no such file in the archive (links to directories are not followed)"))
        })?;
        // A copy of its target: counted like the file it becomes.
        total = total.saturating_add(found.0.len());
        if total > max_bundle_bytes {
            return Err(entry_error(path.as_str(), format!("the archive holds more than {max_bundle_bytes} bytes of files")));
        }
        let found = found.clone();
        contents.insert(path.clone(), found);
    }
    let order = config_order(configs, contents.keys());
    let mut files: Vec<BundleFile> = Vec::with_capacity(contents.len());
    for path in &order {
        if let Some((content, mode)) = contents.remove(path) {
            files.push(BundleFile { path: path.clone(), kind: FileKind::Config, mode, content });
        }
    }
    for (path, (content, mode)) in contents {
        let kind = match FileKind::guess(&path) {
            FileKind::Config => FileKind::Other,
            kind => kind,
        };
        files.push(BundleFile { path, kind, mode, content });
    }
    Ok(Bundle::new(files)?)
}

/// Reads a tar archive of a managed directory as an import does: [`read_tar`], then each file
/// the configs reference gets the kind that use implies (`crt` -> certificate, `map_str()` ->
/// map, `-f` -> ACL, `errorfile` -> errorfile, `lua-load` -> Lua, `crt-list` -> crt-list, and
/// the certificates a crt-list names), since an archive carries no kinds and a name is only a
/// guess ([`FileKind::guess`] stays for files nothing references). `settings` gives the
/// managed directory that absolute paths in the configs are resolved against.
pub fn import_tar(archive: &[u8], configs: &[BundlePath], settings: &ClusterSettings) -> Result<Bundle, TarError> {
    Ok(super::references::with_implied_kinds(read_tar(archive, configs)?, settings))
}

/// The config files in load order: each listed path, or each listed directory's `*.cfg` files
/// in name order; a listed path that matches nothing is skipped (the bundle then needs another).
fn config_order<'a>(configs: &[BundlePath], present: impl Iterator<Item = &'a BundlePath>) -> Vec<BundlePath> {
    let present: Vec<&BundlePath> = present.collect();
    let mut order = Vec::new();
    for config in configs {
        if present.contains(&config) {
            order.push(config.clone());
            continue;
        }
        let prefix = format!("{}/", config.as_str());
        let mut inside: Vec<BundlePath> = present
            .iter()
            .filter(|p| p.as_str().strip_prefix(&prefix).is_some_and(|rest| !rest.contains('/') && rest.ends_with(".cfg")))
            .map(|p| (*p).clone())
            .collect();
        inside.sort();
        order.extend(inside);
    }
    order.dedup();
    order
}

/// Where a link at `path` points inside the tree; `None` when it leaves it. A symlink's relative
/// target is relative to the link's folder; a hard link's is relative to the archive root.
fn resolve_link(path: &BundlePath, target: &str, symlink: bool) -> Option<BundlePath> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = if symlink {
        path.as_str().rsplit_once('/').map(|(dir, _)| dir.split('/').collect()).unwrap_or_default()
    } else {
        Vec::new()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    BundlePath::new(&parts.join("/")).ok()
}

/// A tar archive of `files` (configs first), each a regular file with its mode, owned by root,
/// dated `mtime` (seconds since the epoch) so the same files give the same bytes.
pub fn write_tar<'a>(files: impl IntoIterator<Item = &'a BundleFile>, mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.content.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, file.path.as_str(), file.content.as_slice())?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn archive(entries: &[(&str, tar::EntryType, &str, u32)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data, mode) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            if kind.is_symlink() || kind.is_hard_link() {
                header.set_size(0);
                builder.append_link(&mut header, path, data).unwrap_or_else(|e| unreachable!("{e}"));
            } else {
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append_data(&mut header, path, data.as_bytes()).unwrap_or_else(|e| unreachable!("{e}"));
            }
        }
        builder.into_inner().unwrap_or_else(|e| unreachable!("{e}"))
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn a_managed_tree_becomes_a_bundle() {
        let tar = archive(&[
            ("./haproxy.cfg", FILE, "global\n", 0o640),
            ("./conf.d/20-b.cfg", FILE, "backend b\n", 0o644),
            ("./conf.d/10-a.cfg", FILE, "backend a\n", 0o644),
            ("./old.cfg", FILE, "stale\n", 0o644),
            ("./certs/site.pem", FILE, "pem", 0o600),
            ("./certs/current.pem", tar::EntryType::Symlink, "site.pem", 0o777),
            ("./maps/hosts.map", FILE, "a b\n", 0o644),
        ]);
        let bundle = read_tar(&tar, &[p("haproxy.cfg"), p("conf.d")]).unwrap_or_else(|e| unreachable!("{e}"));
        let listed: Vec<_> = bundle.files().iter().map(|f| (f.path.as_str(), f.kind, f.mode)).collect();
        assert_eq!(
            listed,
            [
                ("haproxy.cfg", FileKind::Config, 0o640),
                ("conf.d/10-a.cfg", FileKind::Config, 0o644),
                ("conf.d/20-b.cfg", FileKind::Config, 0o644),
                ("certs/current.pem", FileKind::Certificate, 0o600),
                ("certs/site.pem", FileKind::Certificate, 0o600),
                ("maps/hosts.map", FileKind::Map, 0o644),
                ("old.cfg", FileKind::Other, 0o644),
            ]
        );
        let back = read_tar(&write_tar(bundle.files(), 0).unwrap_or_default(), &[p("haproxy.cfg"), p("conf.d")]);
        assert_eq!(back.ok(), Some(bundle));
    }

    #[test]
    fn an_import_takes_kinds_from_how_the_configs_use_files() {
        let config = "global\n    lua-load /etc/haproxy/scripts/auth\nfrontend fe\n    bind :443 ssl crt site crt-list lists/sni\n\
            \x20   http-request set-var(txn.b) req.hdr(host),map_str(hosts.txt)\n    acl bad src -f bad-sources\n\
            \x20   errorfile 503 pages/503.txt\n";
        let tar = archive(&[
            ("haproxy.cfg", FILE, config, 0o644),
            ("site", FILE, "pem", 0o600),
            ("lists/sni", FILE, "other.bin a.example.com\n", 0o644),
            ("other.bin", FILE, "pem", 0o600),
            ("hosts.txt", FILE, "a b\n", 0o644),
            ("bad-sources", FILE, "192.0.2.1\n", 0o644),
            ("pages/503.txt", FILE, "HTTP/1.0 503\r\n\r\n", 0o644),
            ("scripts/auth", FILE, "core.log(0, 'x')\n", 0o644),
            ("notes.txt", FILE, "unreferenced\n", 0o644),
        ]);
        let guessed = read_tar(&tar, &[p("haproxy.cfg")]).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(guessed.files()[1..].iter().all(|f| f.kind == FileKind::Other), "names alone tell nothing here");
        let bundle = import_tar(&tar, &[p("haproxy.cfg")], &ClusterSettings::default()).unwrap_or_else(|e| unreachable!("{e}"));
        let kinds: Vec<_> = bundle.files().iter().map(|f| (f.path.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("haproxy.cfg", FileKind::Config),
                ("bad-sources", FileKind::Acl),
                ("hosts.txt", FileKind::Map),
                ("lists/sni", FileKind::CrtList),
                ("notes.txt", FileKind::Other),
                ("other.bin", FileKind::Certificate),
                ("pages/503.txt", FileKind::Errorfile),
                ("scripts/auth", FileKind::Lua),
                ("site", FileKind::Certificate),
            ]
        );
    }

    #[test]
    fn escapes_are_refused() {
        let leave = archive(&[("haproxy.cfg", FILE, "", 0o644), ("x.pem", tar::EntryType::Symlink, "../../etc/shadow", 0o777)]);
        let err = read_tar(&leave, &[p("haproxy.cfg")]).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("x.pem: symlink to \"../../etc/shadow\" leaves the managed directory"), "{err}");
        let absolute = archive(&[("haproxy.cfg", FILE, "", 0o644), ("x.pem", tar::EntryType::Symlink, "/etc/shadow", 0o777)]);
        assert!(read_tar(&absolute, &[p("haproxy.cfg")]).is_err());
        let fifo = archive(&[("haproxy.cfg", FILE, "", 0o644), ("pipe", tar::EntryType::Fifo, "", 0o644)]);
        assert!(read_tar(&fifo, &[p("haproxy.cfg")]).map(|_| ()).unwrap_err().to_string().contains("Fifo entries cannot"));
        assert!(matches!(read_tar(b"garbage that is not tar", &[]), Err(TarError::Archive(_)) | Err(TarError::Bundle(_))));
        let no_config = archive(&[("maps/a.map", FILE, "", 0o644)]);
        assert!(matches!(read_tar(&no_config, &[p("haproxy.cfg")]), Err(TarError::Bundle(BundleError::NoConfig))));
    }

    /// One header named `name` (written by hand: tar::Builder refuses `..` and absolute names)
    /// claiming `size` bytes, then the end of the archive, without the bytes.
    fn lone_header(name: &[u8], size: u64) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(FILE);
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.extend_from_slice(&[0; 1024]);
        tar
    }

    #[test]
    fn dot_dot_paths_in_headers_are_refused() {
        let err = read_tar(&lone_header(b"../evil", 0), &[]).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("would leave the managed directory"), "{err}");
    }

    #[test]
    fn absolute_entry_names_are_refused() {
        let err = read_tar(&lone_header(b"/etc/haproxy/haproxy.cfg", 0), &[p("haproxy.cfg")]).map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/haproxy/haproxy.cfg: /etc/haproxy/haproxy.cfg: absolute paths are not allowed in a bundle (paths are relative to the managed directory)"
        );
    }

    #[test]
    fn a_file_over_the_bundle_limit_is_refused_from_its_header() {
        // Only the header: the size it claims is refused before any byte is read.
        let tar = lone_header(b"haproxy.cfg", MAX_FILE_BYTES as u64 + 1);
        let err = read_tar(&tar, &[p("haproxy.cfg")]).map(|_| ()).unwrap_err().to_string();
        assert_eq!(err, format!("haproxy.cfg: {} bytes: a file holds at most {MAX_FILE_BYTES}", MAX_FILE_BYTES + 1));
        let at_limit = read_tar(&lone_header(b"haproxy.cfg", MAX_FILE_BYTES as u64), &[p("haproxy.cfg")]);
        // At the limit it is read, and the archive then ends before the bytes it claims.
        assert!(matches!(at_limit, Err(TarError::Archive(_))), "{at_limit:?}");
    }

    #[test]
    fn the_limits_stop_an_archive_early() {
        let limits = Limits { files: 3, file_bytes: 10, bundle_bytes: 25 };
        let read = |entries: &[(&str, &str)]| {
            let entries: Vec<_> = entries.iter().map(|(path, data)| (*path, FILE, *data, 0o644)).collect();
            read_tar_within(&archive(&entries), &[p("haproxy.cfg")], &limits).map(|b| b.files().len()).map_err(|e| e.to_string())
        };
        // At every limit: read.
        assert_eq!(read(&[("haproxy.cfg", "global\n"), ("a", "0123456789"), ("b", "01234567")]), Ok(3));
        // One file too many, one byte too many in a file, in the archive.
        assert_eq!(read(&[("haproxy.cfg", ""), ("a", ""), ("b", ""), ("c", "")]), Err("c: more than 3 files".to_string()));
        assert_eq!(read(&[("haproxy.cfg", ""), ("a", "0123456789X")]), Err("a: 11 bytes: a file holds at most 10".to_string()));
        assert_eq!(
            read(&[("haproxy.cfg", "0123456789"), ("a", "0123456789"), ("b", "012345")]),
            Err("b: the archive holds more than 25 bytes of files".to_string())
        );
        // A link is one more file of its target's size: a link bomb (one large file, many
        // links to it) stops at the limits before the copies are made.
        let links = |entries: &[(&str, tar::EntryType, &str, u32)]| {
            read_tar_within(&archive(entries), &[p("haproxy.cfg")], &limits).map(|b| b.files().len()).map_err(|e| e.to_string())
        };
        let link = tar::EntryType::Symlink;
        assert_eq!(
            links(&[("conf.d", tar::EntryType::Directory, "", 0o755), ("haproxy.cfg", FILE, "", 0o644), ("a", FILE, "0123456789", 0o644), ("b", link, "a", 0o777)]),
            Ok(3),
            "a directory is not a file"
        );
        assert_eq!(
            links(&[("haproxy.cfg", FILE, "", 0o644), ("a", FILE, "", 0o644), ("b", link, "a", 0o777), ("c", tar::EntryType::Link, "a", 0o777)]),
            Err("c: more than 3 files".to_string())
        );
        assert_eq!(
            links(&[("haproxy.cfg", FILE, "0123456789", 0o644), ("b", link, "haproxy.cfg", 0o777), ("c", link, "haproxy.cfg", 0o777)]),
            Err("c: the archive holds more than 25 bytes of files".to_string())
        );
    }
}
