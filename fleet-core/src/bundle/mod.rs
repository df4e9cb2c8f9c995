//! A version is a **bundle**: every file a node runs, shipped and applied as one set.
//!
//! ```text
//! files (config in load order, then auxiliary files by path)
//!   -> BundlePath::new (relative, normalised, inside the managed directory)
//!   -> Bundle::new     (unique paths, at least one config file, digest)
//!   -> store: content-defined chunks, shared between versions (see `chunks`)
//!   -> agent: a release directory switched in with one rename
//! ```
//!
//! Paths are relative to the cluster's managed directory (default `/etc/haproxy`, the folder of
//! `config_path`). HAProxy loads the config files in their bundle order, like
//! `haproxy -f a.cfg -f b.cfg`; the others are files those configs reference (certificates, maps,
//! ACL pattern files, error pages, Lua scripts).
//!
//! The digest names a bundle: SHA-256 over its manifest (kind, mode, content sha256 and path of
//! each file, in order), so renaming, reordering or changing a file makes a new digest, and the
//! agent's `known` checksum is the digest.

pub mod chunks;
pub mod delta;
pub mod local;
mod diff;
pub mod tar;
mod path;
pub mod references;
pub mod tree;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::secret::sha256_hex;

pub use delta::{BundleDelta, DeltaError, DeltaFile, Hunk};
pub use diff::{diff_bundles, fingerprints, BundleDiff, FileChange};
pub use path::{BundlePath, PathError, MAX_PATH_BYTES};

/// The most files a bundle may hold.
pub const MAX_FILES: usize = 10_000;
/// The largest file a bundle may hold, in bytes.
pub const MAX_FILE_BYTES: usize = 64 << 20;
/// The largest bundle, all files together, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;
/// The mode a file gets when none is given.
pub const DEFAULT_MODE: u32 = 0o644;
/// The mode of private keys and files that hold them.
pub const SECRET_MODE: u32 = 0o600;

/// What a file is to HAProxy, which decides how it is checked, diffed and applied at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A configuration file, loaded with `-f` in bundle order.
    Config,
    /// A PEM certificate, chain and (usually) private key (`crt`, `ca-file`, `crl-file`).
    Certificate,
    /// A `crt-list` file.
    CrtList,
    /// A map file (`map*()` converters, `set map`).
    Map,
    /// An ACL pattern file (`-f` in an ACL).
    Acl,
    /// An error page (`errorfile`, `errorfiles`).
    Errorfile,
    /// A Lua script (`lua-load`).
    Lua,
    /// A node's keepalived.conf (`keepalived/<agent>.conf`, see [`crate::vip`]): installed by
    /// that node's agent for keepalived, never read by HAProxy.
    Keepalived,
    /// Anything else under the managed directory.
    Other,
}

impl FileKind {
    /// Every kind, in declaration order.
    pub const ALL: [FileKind; 9] = [
        FileKind::Config,
        FileKind::Certificate,
        FileKind::CrtList,
        FileKind::Map,
        FileKind::Acl,
        FileKind::Errorfile,
        FileKind::Lua,
        FileKind::Keepalived,
        FileKind::Other,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Config => "config",
            FileKind::Certificate => "certificate",
            FileKind::CrtList => "crt-list",
            FileKind::Map => "map",
            FileKind::Acl => "acl",
            FileKind::Errorfile => "errorfile",
            FileKind::Lua => "lua",
            FileKind::Keepalived => "keepalived",
            FileKind::Other => "other",
        }
    }

    /// The kind a file most likely is from its name alone (an import without kinds): `.cfg` is
    /// config, `.pem`/`.crt`/`.key` certificate, `.map` map, `.acl`/`.lst` ACL, `.http` errorfile,
    /// `.lua` Lua; anything under `keepalived/` is keepalived's.
    pub fn guess(path: &BundlePath) -> FileKind {
        if path.as_str().starts_with("keepalived/") {
            return FileKind::Keepalived;
        }
        let name = path.file_name();
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        match ext.as_str() {
            "cfg" | "conf" => FileKind::Config,
            "pem" | "crt" | "cer" | "key" | "der" | "p12" => FileKind::Certificate,
            "map" => FileKind::Map,
            "acl" | "lst" => FileKind::Acl,
            "http" | "html" => FileKind::Errorfile,
            "lua" => FileKind::Lua,
            _ if name.contains("crt-list") || name.ends_with(".crtlist") => FileKind::CrtList,
            _ => FileKind::Other,
        }
    }

    /// True for files whose bytes must never be printed or returned to users: they may hold a
    /// private key.
    pub fn is_secret(self) -> bool {
        self == FileKind::Certificate
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileKind {
    type Err = BundleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| BundleError::Kind(s.to_string()))
    }
}

/// Why a set of files is not a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A path that cannot live in the managed directory.
    #[error(transparent)]
    Path(#[from] PathError),
    /// An unknown kind name.
    #[error("unknown file kind {0:?} (expected one of config, certificate, crt-list, map, acl, errorfile, lua, other)")]
    Kind(String),
    /// Two files at one path.
    #[error("{0}: the bundle holds this path twice")]
    Duplicate(String),
    /// No config file to load.
    #[error("a bundle needs at least one config file")]
    NoConfig,
    /// A config file that is not UTF-8 text.
    #[error("{path}: config files must be UTF-8 text (invalid byte at offset {offset})")]
    NotText {
        /// The file.
        path: String,
        /// The first byte that is not UTF-8.
        offset: usize,
    },
    /// A mode outside `0..=0o777`.
    #[error("{path}: mode {mode:o} is not a permission mode (0 to 777 octal)")]
    Mode {
        /// The file.
        path: String,
        /// The mode given.
        mode: u32,
    },
    /// Over one of the limits.
    #[error("{0}")]
    TooLarge(String),
}

/// True when `content` holds a PEM private key block (`-----BEGIN ... PRIVATE KEY-----`, any
/// key type: `PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`).
/// Deliberately loose (both markers anywhere): a false positive only seals a file that did not
/// need it.
pub fn holds_private_key(content: &[u8]) -> bool {
    content.windows(11).any(|w| w == b"PRIVATE KEY") && content.windows(11).any(|w| w == b"-----BEGIN ")
}

/// One file of a bundle with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Where it lives, relative to the managed directory.
    pub path: BundlePath,
    /// What it is.
    pub kind: FileKind,
    /// Permission bits (`0o644` by default, `0o600` for certificates).
    pub mode: u32,
    /// The bytes, exactly as given.
    pub content: Vec<u8>,
}

impl BundleFile {
    /// A file with the default mode of its kind.
    pub fn new(path: BundlePath, kind: FileKind, content: Vec<u8>) -> BundleFile {
        let mode = if kind.is_secret() { SECRET_MODE } else { DEFAULT_MODE };
        BundleFile { path, kind, mode, content }
    }

    /// Hex SHA-256 of the content.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.content)
    }

    /// The content as text, for config files and text diffs.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.content).ok()
    }

    /// True when the content holds a PEM private key block (`-----BEGIN ... PRIVATE KEY-----`):
    /// such a file is never returned by a user route, only to the agents of its cluster, and
    /// the store seals it at rest ([`holds_private_key`]).
    pub fn holds_private_key(&self) -> bool {
        holds_private_key(&self.content)
    }

    /// What lists and diffs show of the file (no content).
    pub fn info(&self) -> FileInfo {
        FileInfo {
            path: self.path.clone(),
            kind: self.kind,
            mode: self.mode,
            size: self.content.len() as u64,
            sha256: self.sha256(),
        }
    }
}

/// A file as listed: everything but its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// Relative path in the managed directory.
    pub path: BundlePath,
    /// What it is.
    pub kind: FileKind,
    /// Permission bits.
    pub mode: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// The digest of a manifest: SHA-256 over one line per file, `kind mode sha256 path\n`, in
/// bundle order.
pub fn digest_of<'a>(files: impl IntoIterator<Item = &'a FileInfo>) -> String {
    let mut manifest = String::new();
    for f in files {
        manifest.push_str(&format!("{} {:o} {} {}\n", f.kind, f.mode, f.sha256, f.path));
    }
    sha256_hex(manifest.as_bytes())
}

/// Every file a node runs: config files in load order first, then the other files sorted by
/// path. Built only through [`Bundle::new`], which enforces the rules in [`BundleError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    files: Vec<BundleFile>,
}

impl Bundle {
    /// A bundle from files: config files keep their relative order, the others are sorted by
    /// path. Refused: two files at one path, no config file, a config file that is not UTF-8,
    /// a mode above 0o777, more than [`MAX_FILES`] files, a file over [`MAX_FILE_BYTES`] or a
    /// total over [`MAX_BUNDLE_BYTES`].
    pub fn new(files: Vec<BundleFile>) -> Result<Bundle, BundleError> {
        if files.len() > MAX_FILES {
            return Err(BundleError::TooLarge(format!("{} files: a bundle holds at most {MAX_FILES}", files.len())));
        }
        let mut seen = std::collections::HashSet::new();
        let mut total = 0usize;
        for f in &files {
            if !seen.insert(f.path.as_str().to_string()) {
                return Err(BundleError::Duplicate(f.path.to_string()));
            }
            if f.mode > 0o777 {
                return Err(BundleError::Mode { path: f.path.to_string(), mode: f.mode });
            }
            if f.content.len() > MAX_FILE_BYTES {
                return Err(BundleError::TooLarge(format!(
                    "{}: {} bytes: a file holds at most {MAX_FILE_BYTES}",
                    f.path,
                    f.content.len()
                )));
            }
            total += f.content.len();
            if f.kind == FileKind::Config {
                if let Err(e) = std::str::from_utf8(&f.content) {
                    return Err(BundleError::NotText { path: f.path.to_string(), offset: e.valid_up_to() });
                }
            }
        }
        if total > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(format!("{total} bytes: a bundle holds at most {MAX_BUNDLE_BYTES}")));
        }
        let (mut configs, mut others): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| f.kind == FileKind::Config);
        if configs.is_empty() {
            return Err(BundleError::NoConfig);
        }
        others.sort_by(|a, b| a.path.cmp(&b.path));
        configs.append(&mut others);
        Ok(Bundle { files: configs })
    }

    /// The one-file bundle of the single-file API: `text` as config file `name`.
    pub fn single(name: BundlePath, text: &str) -> Bundle {
        Bundle { files: vec![BundleFile::new(name, FileKind::Config, text.as_bytes().to_vec())] }
    }

    /// Every file, configs first in load order.
    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The files, for building a changed bundle.
    pub fn into_files(self) -> Vec<BundleFile> {
        self.files
    }

    /// The config files in load order.
    pub fn configs(&self) -> impl Iterator<Item = &BundleFile> {
        self.files.iter().filter(|f| f.kind == FileKind::Config)
    }

    /// The first config file: what the single-file API reads and edits.
    pub fn first_config(&self) -> &BundleFile {
        // `Bundle::new` refuses a bundle without config, and configs come first.
        &self.files[0]
    }

    /// The text of the first config file.
    pub fn text(&self) -> &str {
        // Config files are checked to be UTF-8 by `Bundle::new`.
        self.first_config().text().unwrap_or_default()
    }

    /// The file at `path`.
    pub fn file(&self, path: &BundlePath) -> Option<&BundleFile> {
        self.files.iter().find(|f| &f.path == path)
    }

    /// The listing of the bundle.
    pub fn infos(&self) -> Vec<FileInfo> {
        self.files.iter().map(BundleFile::info).collect()
    }

    /// The bundle's digest ([`digest_of`] its listing).
    pub fn digest(&self) -> String {
        digest_of(&self.infos())
    }

    /// Total size of the files in bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.content.len() as u64).sum()
    }

    /// This bundle with the first config file's content replaced by `text` (the single-file
    /// API's edits).
    pub fn with_text(&self, text: &str) -> Bundle {
        let mut files = self.files.clone();
        files[0].content = text.as_bytes().to_vec();
        Bundle { files }
    }

    /// This bundle with `file` added or replacing the file at its path.
    pub fn with_file(&self, file: BundleFile) -> Result<Bundle, BundleError> {
        let mut files = self.files.clone();
        match files.iter_mut().find(|f| f.path == file.path) {
            Some(existing) => *existing = file,
            None => files.push(file),
        }
        Bundle::new(files)
    }

    /// This bundle without the file at `path`; `None` when there is no such file.
    pub fn without_file(&self, path: &BundlePath) -> Option<Result<Bundle, BundleError>> {
        let files: Vec<_> = self.files.iter().filter(|f| &f.path != path).cloned().collect();
        (files.len() != self.files.len()).then(|| Bundle::new(files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn file(path: &str, kind: FileKind, content: &str) -> BundleFile {
        BundleFile::new(p(path), kind, content.as_bytes().to_vec())
    }

    #[test]
    fn configs_keep_their_order_and_come_first() {
        let bundle = Bundle::new(vec![
            file("maps/b.map", FileKind::Map, "x y\n"),
            file("z.cfg", FileKind::Config, "global\n"),
            file("certs/a.pem", FileKind::Certificate, "pem"),
            file("a.cfg", FileKind::Config, "defaults\n"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        let paths: Vec<_> = bundle.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["z.cfg", "a.cfg", "certs/a.pem", "maps/b.map"]);
        assert_eq!(bundle.text(), "global\n");
        assert_eq!(bundle.file(&p("certs/a.pem")).map(|f| f.mode), Some(SECRET_MODE));
    }

    #[test]
    fn refusals() {
        let dup = Bundle::new(vec![file("a.cfg", FileKind::Config, ""), file("a.cfg", FileKind::Map, "")]);
        assert_eq!(dup, Err(BundleError::Duplicate("a.cfg".into())));
        assert_eq!(Bundle::new(vec![file("m.map", FileKind::Map, "")]), Err(BundleError::NoConfig));
        let binary = BundleFile::new(p("a.cfg"), FileKind::Config, vec![b'g', 0xff]);
        assert_eq!(Bundle::new(vec![binary]), Err(BundleError::NotText { path: "a.cfg".into(), offset: 1 }));
        let mut bad_mode = file("a.cfg", FileKind::Config, "");
        bad_mode.mode = 0o4755;
        assert!(matches!(Bundle::new(vec![bad_mode]), Err(BundleError::Mode { .. })));
    }

    #[test]
    fn digest_changes_with_path_mode_kind_content_and_order() {
        let base = Bundle::new(vec![file("a.cfg", FileKind::Config, "x"), file("b.cfg", FileKind::Config, "y")])
            .unwrap_or_else(|e| unreachable!("{e}"));
        let swapped = Bundle::new(vec![file("b.cfg", FileKind::Config, "y"), file("a.cfg", FileKind::Config, "x")])
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_ne!(base.digest(), swapped.digest());
        assert_ne!(base.digest(), base.with_text("z").digest());
        let mut files = base.clone().into_files();
        files[1].mode = 0o600;
        assert_ne!(base.digest(), Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}")).digest());
        assert_eq!(base.digest(), base.clone().digest());
    }

    #[test]
    fn kinds_round_trip_and_guess() {
        for kind in FileKind::ALL {
            assert_eq!(kind.as_str().parse::<FileKind>(), Ok(kind));
        }
        assert_eq!(FileKind::guess(&p("certs/site.pem")), FileKind::Certificate);
        assert_eq!(FileKind::guess(&p("conf.d/10-web.cfg")), FileKind::Config);
        assert_eq!(FileKind::guess(&p("maps/hosts.map")), FileKind::Map);
        assert_eq!(FileKind::guess(&p("errors/503.http")), FileKind::Errorfile);
        assert_eq!(FileKind::guess(&p("crt-list.txt")), FileKind::CrtList);
        assert_eq!(FileKind::guess(&p("README")), FileKind::Other);
    }
}
