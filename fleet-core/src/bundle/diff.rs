//! Differences between two bundles: which files were added, removed or changed, with a
//! unified diff for text files and certificates summarised by fingerprint.
//!
//! ```text
//! old, new --by path--> added | removed | changed (content, kind or mode)
//!   config files     -> crate::diff (unified + HAProxy's reading + privileged lines)
//!   other text files -> unified diff (maps, ACL files, error pages, Lua, crt-lists)
//!   certificates     -> SHA-256 fingerprints of each certificate (of its DER, as
//!                       `openssl x509 -fingerprint -sha256` prints), "private key" when one is
//!                       there; their bytes are never printed (they may hold a private key)
//! ```

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Serialize;

use super::{Bundle, BundleFile, BundlePath, FileKind};
use crate::diff::{diff_labeled, unified, ChangeKind, ConfigDiff};
use crate::secret::sha256_hex;

/// How a bundle differs from another: the first config file as [`ConfigDiff`] (what the
/// single-file API always showed, flattened into the same JSON) and every file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleDiff {
    /// The first config file of each side.
    #[serde(flatten)]
    pub config: ConfigDiff,
    /// Every file added, removed or changed, by path.
    pub files: Vec<FileChange>,
}

impl BundleDiff {
    /// True when the bundles are the same files with the same bytes, kinds and modes.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileChange {
    /// Relative path.
    pub path: BundlePath,
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// Its kind (the new one when it changed).
    pub kind: FileKind,
    /// `old -> new` when the kind changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind_was: Option<FileKind>,
    /// Mode on each side (absent on the side without the file).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Option<u32>>))]
    pub mode: (Option<u32>, Option<u32>),
    /// Size in bytes on each side.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Option<u64>>))]
    pub size: (Option<u64>, Option<u64>),
    /// Content sha256 on each side.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Option<String>>))]
    pub sha256: (Option<String>, Option<String>),
    /// Unified diff for text files that are not certificates; empty otherwise.
    pub unified: String,
    /// For config files: what changed in HAProxy's reading, and privileged directives added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigDiff>,
    /// For certificates: the certificates' fingerprints on each side.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Vec<String>>>))]
    pub certificates: Option<(Vec<String>, Vec<String>)>,
}

/// Compares two bundles; labels name them in unified diff headers (`version 3`).
pub fn diff_bundles(old: &Bundle, new: &Bundle, label_old: &str, label_new: &str) -> BundleDiff {
    let mut config = diff_labeled(old.text(), new.text(), label_old, label_new);
    let before: HashMap<&BundlePath, &BundleFile> = old.files().iter().map(|f| (&f.path, f)).collect();
    let after: HashMap<&BundlePath, &BundleFile> = new.files().iter().map(|f| (&f.path, f)).collect();
    let mut paths: Vec<&BundlePath> = before.keys().chain(after.keys()).copied().collect();
    paths.sort();
    paths.dedup();
    let files = paths
        .into_iter()
        .filter_map(|path| file_change(path, before.get(path).copied(), after.get(path).copied(), label_old, label_new))
        .collect::<Vec<_>>();
    // The privileged directives of every config file, not only the first: what a change adds
    // anywhere is what needs the admin role.
    let first = new.first_config().path.clone();
    for change in files.iter().filter(|f| f.path != first) {
        if let Some(file_diff) = &change.config {
            config.privileged.extend(file_diff.privileged.iter().cloned());
        }
    }
    BundleDiff { config, files }
}

fn file_change(
    path: &BundlePath,
    old: Option<&BundleFile>,
    new: Option<&BundleFile>,
    label_old: &str,
    label_new: &str,
) -> Option<FileChange> {
    let change = match (old, new) {
        (None, None) => return None,
        (None, Some(_)) => ChangeKind::Added,
        (Some(_), None) => ChangeKind::Removed,
        (Some(a), Some(b)) if a == b => return None,
        (Some(_), Some(_)) => ChangeKind::Changed,
    };
    let kind = new.or(old).map_or(FileKind::Other, |f| f.kind);
    let kind_was = match (old, new) {
        (Some(a), Some(b)) if a.kind != b.kind => Some(a.kind),
        _ => None,
    };
    let secret = old.is_some_and(|f| f.kind.is_secret()) || new.is_some_and(|f| f.kind.is_secret());
    fn text(f: Option<&BundleFile>) -> Option<&str> {
        f.map_or(Some(""), BundleFile::text)
    }
    let unified_diff = match (secret, text(old), text(new)) {
        (false, Some(a), Some(b)) => {
            unified(a, b, &format!("{label_old}/{path}"), &format!("{label_new}/{path}"))
        }
        _ => String::new(),
    };
    let config = (kind == FileKind::Config)
        .then(|| diff_labeled(text(old).unwrap_or_default(), text(new).unwrap_or_default(), label_old, label_new))
        .map(|mut d| {
            d.unified.clear();
            d
        });
    let certificates = secret.then(|| {
        (old.map(|f| fingerprints(&f.content)).unwrap_or_default(), new.map(|f| fingerprints(&f.content)).unwrap_or_default())
    });
    Some(FileChange {
        path: path.clone(),
        change,
        kind,
        kind_was,
        mode: (old.map(|f| f.mode), new.map(|f| f.mode)),
        size: (old.map(|f| f.content.len() as u64), new.map(|f| f.content.len() as u64)),
        sha256: (old.map(BundleFile::sha256), new.map(BundleFile::sha256)),
        unified: unified_diff,
        config,
        certificates,
    })
}

/// What a PEM file holds, without its secrets: `sha256:<hex>` of each certificate's DER (the
/// fingerprint `openssl x509 -noout -fingerprint -sha256` shows) and `private key` for each
/// key block; a file that is not PEM is named by its content sha256.
pub fn fingerprints(content: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(content) else {
        return vec![format!("not PEM, content sha256:{}", sha256_hex(content))];
    };
    let mut out = Vec::new();
    let mut block: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            block = Some((label.to_string(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, body)) = block.take() {
                if label.contains("PRIVATE KEY") {
                    out.push(format!("{} (not shown)", label.to_lowercase()));
                } else if label == "CERTIFICATE" || label == "X509 CRL" || label == "DH PARAMETERS" {
                    match BASE64.decode(body.as_bytes()) {
                        Ok(der) => out.push(format!("{} sha256:{}", label.to_lowercase(), sha256_hex(&der))),
                        Err(_) => out.push(format!("{} (undecodable)", label.to_lowercase())),
                    }
                } else {
                    out.push(label.to_lowercase());
                }
            }
        } else if let Some((_, body)) = block.as_mut() {
            body.push_str(line);
        }
    }
    if out.is_empty() {
        out.push(format!("not PEM, content sha256:{}", sha256_hex(content)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn bundle(files: &[(&str, FileKind, &str)]) -> Bundle {
        Bundle::new(files.iter().map(|(path, kind, c)| BundleFile::new(p(path), *kind, c.as_bytes().to_vec())).collect())
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n";

    #[test]
    fn files_are_added_removed_and_changed_with_text_diffs() {
        let old = bundle(&[("haproxy.cfg", FileKind::Config, "global\n"), ("a.map", FileKind::Map, "x 1\ny 2\n"), ("gone.acl", FileKind::Acl, "10.0.0.0/8\n")]);
        let new = bundle(&[("haproxy.cfg", FileKind::Config, "global\n"), ("a.map", FileKind::Map, "x 1\ny 3\n"), ("certs/s.pem", FileKind::Certificate, PEM)]);
        let diff = diff_bundles(&old, &new, "version 1", "version 2");
        let summary: Vec<_> = diff.files.iter().map(|f| (f.path.as_str(), f.change)).collect();
        assert_eq!(summary, [("a.map", ChangeKind::Changed), ("certs/s.pem", ChangeKind::Added), ("gone.acl", ChangeKind::Removed)]);
        assert!(diff.files[0].unified.contains("-y 2\n+y 3\n"), "{}", diff.files[0].unified);
        assert!(diff.files[0].unified.contains("--- version 1/a.map"), "{}", diff.files[0].unified);
        assert!(diff.config.is_empty());
    }

    #[test]
    fn certificates_are_summarised_never_printed() {
        let old = bundle(&[("haproxy.cfg", FileKind::Config, ""), ("s.pem", FileKind::Certificate, "old")]);
        let new = bundle(&[("haproxy.cfg", FileKind::Config, ""), ("s.pem", FileKind::Certificate, PEM)]);
        let diff = diff_bundles(&old, &new, "a", "b");
        let json = serde_json::to_string(&diff).unwrap_or_default();
        assert!(!json.contains("c2VjcmV0") && !json.contains("AAEC"), "{json}");
        let (_, after) = diff.files[0].certificates.clone().unwrap_or_default();
        // sha256 of the DER bytes 00 01 02.
        assert_eq!(after, ["certificate sha256:ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc", "private key (not shown)"]);
    }

    #[test]
    fn mode_and_kind_changes_count() {
        let old = bundle(&[("haproxy.cfg", FileKind::Config, ""), ("x", FileKind::Other, "1")]);
        let mut files = old.clone().into_files();
        files[1].mode = 0o600;
        files[1].kind = FileKind::Map;
        let diff = diff_bundles(&old, &Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}")), "a", "b");
        assert_eq!(diff.files.len(), 1);
        assert_eq!((diff.files[0].mode, diff.files[0].kind_was), ((Some(0o644), Some(0o600)), Some(FileKind::Other)));
        assert!(diff_bundles(&old, &old, "a", "b").is_empty());
    }
}
