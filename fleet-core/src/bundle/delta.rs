//! Delta pushes: what an agent running bundle N needs to build bundle N+k, so the bytes pushed
//! per change follow the size of the change, not the size of the bundle.
//!
//! ```text
//! server  base (the bundle whose digest the agent sent as `known`), target
//!           -> per target file: same bytes, kind and mode at the same path -> omitted
//!              same bytes, other kind or mode                 -> listed, no content
//!              text on both sides, patch smaller than the file -> line hunks (crate::line_diff)
//!              else (binary, new file, large rewrite)          -> the whole content, base64
//!           -> removed: base paths the target lacks; configs: the load order when it moved
//! agent   base + delta -> every file's sha256 == its announced sha256,
//!                         the files' digest == the target's announced digest
//!           -> any mismatch is a DeltaError: the agent asks for the whole bundle instead
//! ```
//!
//! A hunk replaces `remove` lines of the base file starting at line `at` (0-based, lines end at
//! `\n` as HAProxy reads them) with the text `add`. Hunks come in order and do not overlap.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use similar::DiffOp;

use super::{Bundle, BundleFile, BundlePath, FileInfo, FileKind};

/// How long the line diff of one file may look for a minimal patch before it settles for a
/// larger one (still correct; see [`crate::line_diff`]).
const DIFF_DEADLINE: Duration = Duration::from_millis(500);

/// The JSON bytes a hunk costs besides its added text (`{"at":..,"remove":..,"add":""},`).
const HUNK_OVERHEAD: usize = 40;

/// The changes turning the bundle with digest `base` into another bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleDelta {
    /// The digest of the bundle the changes apply to (the agent's `known`).
    pub base: String,
    /// Every file added or changed (content, kind or mode), with its new listing.
    #[serde(default)]
    pub files: Vec<DeltaFile>,
    /// Paths of the base's files the new bundle no longer has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<BundlePath>,
    /// The config files' load order, when it is not the base's order with new configs last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<Vec<BundlePath>>,
}

/// One added or changed file: its listing and how to build its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeltaFile {
    /// Path, kind, mode, size and sha256 of the new file.
    #[serde(flatten)]
    pub info: FileInfo,
    /// Line hunks against the base file at the same path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hunks: Option<Vec<Hunk>>,
    /// The whole new content, base64 (neither this nor `hunks`: the base file's bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
}

/// `remove` lines of the base file from line `at` (0-based) replaced by `add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hunk {
    /// The first base line replaced (0-based).
    pub at: usize,
    /// How many base lines are replaced.
    pub remove: usize,
    /// The new lines, with their line endings.
    pub add: String,
}

/// Why a delta does not give the announced bundle (the agent then fetches the whole bundle).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// The delta is against another bundle than the one the agent runs.
    #[error("delta against bundle {expected}, the agent runs {actual}")]
    Base {
        /// The delta's base digest.
        expected: String,
        /// The digest of the agent's bundle.
        actual: String,
    },
    /// A patched or unchanged file names a path the base does not have.
    #[error("{0}: not in the base bundle")]
    Missing(String),
    /// A hunk falls outside the base file or overlaps the one before it.
    #[error("{0}: a hunk does not fit the base file")]
    Patch(String),
    /// A file's content is not valid base64.
    #[error("{path}: content is not base64: {message}")]
    Encoding {
        /// The file.
        path: String,
        /// The decoder's words.
        message: String,
    },
    /// A built file does not hash to its announced sha256.
    #[error("{path}: built content has sha256 {actual}, announced {announced}")]
    Checksum {
        /// The file.
        path: String,
        /// Its announced sha256.
        announced: String,
        /// The sha256 of the built bytes.
        actual: String,
    },
    /// The built files do not form a bundle, or not the announced one.
    #[error("built bundle: {0}")]
    Bundle(String),
}

impl BundleDelta {
    /// The delta turning `base` into `target` (see the module docs for the rule per file).
    pub fn between(base: &Bundle, target: &Bundle) -> BundleDelta {
        let deadline = Instant::now() + DIFF_DEADLINE;
        let old: HashMap<&str, &BundleFile> = base.files().iter().map(|f| (f.path.as_str(), f)).collect();
        let mut files = Vec::new();
        for file in target.files() {
            let change = match old.get(file.path.as_str()) {
                Some(before) if before.content == file.content => {
                    if before.kind == file.kind && before.mode == file.mode {
                        continue;
                    }
                    DeltaFile { info: file.info(), hunks: None, content_base64: None }
                }
                Some(before) => match text_hunks(&before.content, &file.content, deadline) {
                    Some(hunks) => DeltaFile { info: file.info(), hunks: Some(hunks), content_base64: None },
                    None => whole(file),
                },
                None => whole(file),
            };
            files.push(change);
        }
        let kept: HashSet<&str> = target.files().iter().map(|f| f.path.as_str()).collect();
        let removed: Vec<BundlePath> = base.files().iter().filter(|f| !kept.contains(f.path.as_str())).map(|f| f.path.clone()).collect();
        let wanted: Vec<&BundlePath> = target.configs().map(|f| &f.path).collect();
        let configs = (config_order(base, &files, &removed) != wanted).then(|| wanted.into_iter().cloned().collect());
        BundleDelta { base: base.digest(), files, removed, configs }
    }

    /// The bundle this delta builds from `base`, checked file by file against the announced
    /// sha256 and as a whole against `digest` (the target's announced digest).
    pub fn apply(&self, base: &Bundle, digest: &str) -> Result<Bundle, DeltaError> {
        let actual = base.digest();
        if !actual.eq_ignore_ascii_case(&self.base) {
            return Err(DeltaError::Base { expected: self.base.clone(), actual });
        }
        let changed: HashMap<&str, &DeltaFile> = self.files.iter().map(|f| (f.info.path.as_str(), f)).collect();
        let removed: HashSet<&str> = self.removed.iter().map(BundlePath::as_str).collect();
        let mut built = Vec::with_capacity(base.files().len() + self.files.len());
        for file in base.files() {
            if !removed.contains(file.path.as_str()) && !changed.contains_key(file.path.as_str()) {
                built.push(file.clone());
            }
        }
        for change in &self.files {
            built.push(self.build(base, change)?);
        }
        if let Some(order) = &self.configs {
            let rank: HashMap<&str, usize> = order.iter().enumerate().map(|(i, p)| (p.as_str(), i)).collect();
            // Stable: configs the order does not name keep their place after those it names.
            built.sort_by_key(|f| if f.kind == FileKind::Config { rank.get(f.path.as_str()).copied().unwrap_or(usize::MAX) } else { usize::MAX });
        } else {
            // Base configs in their order, then new ones in delta order; `Bundle::new` keeps it.
            let position: HashMap<&str, usize> = base.files().iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
            built.sort_by_key(|f| position.get(f.path.as_str()).copied().unwrap_or(usize::MAX));
        }
        let bundle = Bundle::new(built).map_err(|e| DeltaError::Bundle(e.to_string()))?;
        let actual = bundle.digest();
        if !actual.eq_ignore_ascii_case(digest) {
            return Err(DeltaError::Bundle(format!("digest {actual}, announced {digest}")));
        }
        Ok(bundle)
    }

    fn build(&self, base: &Bundle, change: &DeltaFile) -> Result<BundleFile, DeltaError> {
        let path = &change.info.path;
        let content = match (&change.content_base64, &change.hunks) {
            (Some(encoded), _) => {
                BASE64.decode(encoded).map_err(|e| DeltaError::Encoding { path: path.to_string(), message: e.to_string() })?
            }
            (None, hunks) => {
                let before = base.file(path).ok_or_else(|| DeltaError::Missing(path.to_string()))?;
                match hunks {
                    Some(hunks) => patch(&before.content, hunks).ok_or_else(|| DeltaError::Patch(path.to_string()))?,
                    None => before.content.clone(),
                }
            }
        };
        let file = BundleFile { path: path.clone(), kind: change.info.kind, mode: change.info.mode, content };
        let actual = file.sha256();
        if !actual.eq_ignore_ascii_case(&change.info.sha256) {
            return Err(DeltaError::Checksum { path: path.to_string(), announced: change.info.sha256.clone(), actual });
        }
        Ok(file)
    }

    /// Bytes of new content the delta carries (added text of the hunks plus whole files,
    /// decoded): the figure to compare with the target's size.
    pub fn payload_bytes(&self) -> u64 {
        let mut total = 0u64;
        for file in &self.files {
            total += HUNK_OVERHEAD as u64;
            if let Some(hunks) = &file.hunks {
                total += hunks.iter().map(|h| (h.add.len() + HUNK_OVERHEAD) as u64).sum::<u64>();
            }
            if file.content_base64.is_some() {
                total += file.info.size;
            }
        }
        total
    }
}

fn whole(file: &BundleFile) -> DeltaFile {
    DeltaFile { info: file.info(), hunks: None, content_base64: Some(BASE64.encode(&file.content)) }
}

/// The config order `apply` builds without an explicit order: base configs kept, in their
/// order, then new configs in the order the delta lists them.
fn config_order<'a>(base: &'a Bundle, files: &'a [DeltaFile], removed: &[BundlePath]) -> Vec<&'a BundlePath> {
    let changed: HashMap<&str, &DeltaFile> = files.iter().map(|f| (f.info.path.as_str(), f)).collect();
    let mut order = Vec::new();
    for file in base.files() {
        if removed.contains(&file.path) {
            continue;
        }
        let kind = changed.get(file.path.as_str()).map_or(file.kind, |c| c.info.kind);
        if kind == FileKind::Config {
            order.push(&file.path);
        }
    }
    for file in files {
        if file.info.kind == FileKind::Config && base.file(&file.info.path).is_none() {
            order.push(&file.info.path);
        }
    }
    order
}

/// Line hunks turning `old` into `new` when both are text and the hunks carry fewer bytes than
/// `new` itself; `None` otherwise (the whole file goes instead).
fn text_hunks(old: &[u8], new: &[u8], deadline: Instant) -> Option<Vec<Hunk>> {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else { return None };
    let old_lines: Vec<&str> = a.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = b.split_inclusive('\n').collect();
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut cost = 0usize;
    for op in crate::line_diff::ops(&old_lines, &new_lines, deadline) {
        let (at, remove, added) = match op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete { old_index, old_len, .. } => (old_index, old_len, 0..0),
            DiffOp::Insert { old_index, new_index, new_len } => (old_index, 0, new_index..new_index + new_len),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => (old_index, old_len, new_index..new_index + new_len),
        };
        let add: String = new_lines[added].concat();
        cost += add.len() + HUNK_OVERHEAD;
        if cost >= new.len() {
            return None;
        }
        match hunks.last_mut() {
            Some(last) if last.at + last.remove == at => {
                last.remove += remove;
                last.add.push_str(&add);
            }
            _ => hunks.push(Hunk { at, remove, add }),
        }
    }
    Some(hunks)
}

/// `old` with `hunks` applied; `None` when a hunk does not fit.
fn patch(old: &[u8], hunks: &[Hunk]) -> Option<Vec<u8>> {
    let lines: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
    let mut out = Vec::with_capacity(old.len() + hunks.iter().map(|h| h.add.len()).sum::<usize>());
    let mut next = 0usize;
    for hunk in hunks {
        let end = hunk.at.checked_add(hunk.remove)?;
        if hunk.at < next || end > lines.len() {
            return None;
        }
        lines[next..hunk.at].iter().for_each(|line| out.extend_from_slice(line));
        out.extend_from_slice(hunk.add.as_bytes());
        next = end;
    }
    lines[next..].iter().for_each(|line| out.extend_from_slice(line));
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn path(p: &str) -> BundlePath {
        BundlePath::new(p).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn bundle(files: Vec<(&str, FileKind, Vec<u8>)>) -> Bundle {
        Bundle::new(files.into_iter().map(|(p, kind, content)| BundleFile::new(path(p), kind, content)).collect())
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn big_map(changed: Option<usize>) -> Vec<u8> {
        let mut text = String::new();
        for i in 0..50_000 {
            let backend = if Some(i) == changed { "other" } else { "app" };
            text.push_str(&format!("host{i}.example.com {backend}\n"));
        }
        text.into_bytes()
    }

    #[test]
    fn a_one_line_change_of_a_large_file_is_one_small_hunk() {
        let config = b"global\n    maxconn 100\n".to_vec();
        let base = bundle(vec![("haproxy.cfg", FileKind::Config, config.clone()), ("maps/hosts.map", FileKind::Map, big_map(None))]);
        let target = bundle(vec![("haproxy.cfg", FileKind::Config, config), ("maps/hosts.map", FileKind::Map, big_map(Some(123)))]);
        let delta = BundleDelta::between(&base, &target);
        assert_eq!(delta.files.len(), 1);
        let hunks = delta.files[0].hunks.as_ref().unwrap_or_else(|| unreachable!("a text patch"));
        assert_eq!(hunks, &vec![Hunk { at: 123, remove: 1, add: "host123.example.com other\n".into() }]);
        let json = serde_json::to_string(&delta).unwrap_or_default();
        assert!(json.len() < 400, "{} bytes: {json}", json.len());
        assert_eq!(delta.apply(&base, &target.digest()), Ok(target));
    }

    #[test]
    fn binaries_go_whole_removed_files_are_listed_and_modes_travel() {
        let base = bundle(vec![
            ("haproxy.cfg", FileKind::Config, b"global\n".to_vec()),
            ("certs/a.pem", FileKind::Certificate, vec![0, 1, 2, 255]),
            ("old.lst", FileKind::Acl, b"a\n".to_vec()),
        ]);
        let mut files = vec![
            BundleFile::new(path("haproxy.cfg"), FileKind::Config, b"global\n".to_vec()),
            BundleFile::new(path("certs/a.pem"), FileKind::Certificate, vec![0, 1, 3, 255]),
            BundleFile::new(path("conf.d/extra.cfg"), FileKind::Config, b"defaults\n".to_vec()),
        ];
        files[0].mode = 0o600;
        let target = Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}"));
        let delta = BundleDelta::between(&base, &target);
        assert_eq!(delta.removed, vec![path("old.lst")]);
        let by_path: HashMap<&str, &DeltaFile> = delta.files.iter().map(|f| (f.info.path.as_str(), f)).collect();
        assert!(by_path["certs/a.pem"].content_base64.is_some(), "a binary goes whole");
        assert!(by_path["haproxy.cfg"].content_base64.is_none() && by_path["haproxy.cfg"].hunks.is_none());
        assert_eq!(delta.apply(&base, &target.digest()), Ok(target));
    }

    #[test]
    fn moved_configs_carry_their_order() {
        let a = ("a.cfg", FileKind::Config, b"global\n".to_vec());
        let b = ("b.cfg", FileKind::Config, b"defaults\n".to_vec());
        let base = bundle(vec![a.clone(), b.clone()]);
        let target = bundle(vec![b, a]);
        let delta = BundleDelta::between(&base, &target);
        assert_eq!(delta.configs, Some(vec![path("b.cfg"), path("a.cfg")]));
        assert_eq!(delta.apply(&base, &target.digest()), Ok(target));
    }

    #[test]
    fn any_mismatch_is_an_error_never_a_wrong_bundle() {
        let text = |n: usize| format!("global\n    maxconn {n}\n{}", "    # a comment that makes the file worth a patch\n".repeat(5)).into_bytes();
        let base = bundle(vec![("haproxy.cfg", FileKind::Config, text(1))]);
        let target = bundle(vec![("haproxy.cfg", FileKind::Config, text(2))]);
        let delta = BundleDelta::between(&base, &target);
        assert!(delta.files[0].hunks.is_some());
        let digest = target.digest();
        // Another base.
        assert!(matches!(delta.apply(&target, &digest), Err(DeltaError::Base { .. })));
        // A tampered hunk: the file's sha256 no longer matches.
        let mut bad = delta.clone();
        if let Some(hunks) = bad.files[0].hunks.as_mut() {
            hunks[0].add = "    maxconn 3\n".into();
        }
        assert!(matches!(bad.apply(&base, &digest), Err(DeltaError::Checksum { .. })));
        // A hunk beyond the file.
        let mut bad = delta.clone();
        if let Some(hunks) = bad.files[0].hunks.as_mut() {
            hunks[0].at = 70;
        }
        assert!(matches!(bad.apply(&base, &digest), Err(DeltaError::Patch(_))));
        // Another announced digest.
        assert!(matches!(delta.apply(&base, &base.digest()), Err(DeltaError::Bundle(_))));
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof![Just("a\n"), Just("b\n"), Just("server s1\n"), Just("\r\n"), Just("x"), Just("\n"), Just("é\n")], 0..40)
            .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn patches_rebuild_the_target_byte_for_byte(old in text(), new in text(), map_old in text(), map_new in text(), drop_map in any::<bool>()) {
            let base = bundle(vec![("haproxy.cfg", FileKind::Config, old.into_bytes()), ("m.map", FileKind::Map, map_old.into_bytes())]);
            let mut files = vec![("haproxy.cfg", FileKind::Config, new.clone().into_bytes())];
            if !drop_map {
                files.push(("m.map", FileKind::Map, map_new.into_bytes()));
            }
            let target = bundle(files);
            let delta = BundleDelta::between(&base, &target);
            let json = serde_json::to_string(&delta).unwrap_or_default();
            let back: BundleDelta = serde_json::from_str(&json).unwrap_or_else(|e| unreachable!("{e}"));
            prop_assert_eq!(back.apply(&base, &target.digest()), Ok(target));
        }

        #[test]
        fn hunks_apply_exactly(old in text(), new in text()) {
            // A long shared head, so a patch is worth sending and hunks are made.
            let head = "backend app\n    server s1 10.0.0.1:80\n".repeat(20);
            let (old, new) = (format!("{head}{old}"), format!("{head}{new}"));
            let far = Instant::now() + Duration::from_secs(5);
            if let Some(hunks) = text_hunks(old.as_bytes(), new.as_bytes(), far) {
                prop_assert_eq!(patch(old.as_bytes(), &hunks), Some(new.into_bytes()));
            }
        }
    }
}
