//! Releases on a node: every bundle an agent applies is staged whole into its own directory, and
//! the managed directory is a symlink to the current one, switched with one `rename(2)`.
//!
//! ```text
//! <state-dir>/releases/<version>-<digest12>/      the files, with their modes (fsynced)
//! <state-dir>/releases/<version>-<digest12>.json  its manifest (version, digest, listing)
//! <managed-dir> -> <state-dir>/releases/<current>  one symlink, replaced by rename(2)
//! ```
//!
//! Why a symlink: HAProxy reads every file of a configuration through the managed directory, so
//! one rename switches the whole set — an agent killed at any moment leaves the old set or the
//! new one, never a mix. Rolling back is the same rename towards the previous release.
//!
//! The rules here are pure (names, what to prune, how a config is checked before it is live);
//! the agent does the I/O.

use serde::{Deserialize, Serialize};

use crate::bundle::{BundlePath, FileInfo, FileKind};

/// How many releases a node keeps (the current one and the rollback target always stay).
pub const RELEASES_KEPT: usize = 10;

/// Hex digits of the bundle digest in a release name.
const DIGEST_CHARS: usize = 12;

/// The directory name of the release of `version` with bundle digest `digest`:
/// `<version>-<first 12 hex digits of the digest>`.
pub fn release_name(version: i64, digest: &str) -> String {
    let short: String = digest.chars().take(DIGEST_CHARS).collect::<String>().to_ascii_lowercase();
    format!("{version}-{short}")
}

/// A release directory's name read back: `(version, digest prefix)`; `None` for any other name
/// (staging directories, manifests, an operator's files).
pub fn parse_release_name(name: &str) -> Option<(i64, &str)> {
    let (version, digest) = name.split_once('-')?;
    let version = version.parse::<i64>().ok().filter(|v| *v >= 0)?;
    let hex = digest.len() == DIGEST_CHARS && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some((version, digest))
}

/// True when the release `name` holds the bundle with digest `digest` (whatever version number
/// it was applied as: a restore makes a new version of the same bundle).
pub fn release_holds(name: &str, digest: &str) -> bool {
    parse_release_name(name).is_some_and(|(_, short)| digest.to_ascii_lowercase().starts_with(short))
}

/// Which release directories (names in the releases folder) to delete so that `keep` remain:
/// the ones named in `protect` (the current one and the rollback target), then the newest others
/// by version number. Names that are not releases are left alone.
pub fn releases_to_prune(names: &[String], keep: usize, protect: &[&str]) -> Vec<String> {
    let mut others: Vec<(i64, &String)> = names
        .iter()
        .filter(|name| !protect.contains(&name.as_str()))
        .filter_map(|name| parse_release_name(name).map(|(version, _)| (version, name)))
        .collect();
    others.sort();
    let kept_protected = names.iter().filter(|name| protect.contains(&name.as_str())).count();
    let excess = others.len().saturating_sub(keep.saturating_sub(kept_protected));
    others.into_iter().take(excess).map(|(_, name)| name.clone()).collect()
}

/// What a node records next to a release: enough to rebuild the bundle from the directory
/// (the kinds and modes are not in the files) and to start HAProxy on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    /// The version it was applied as.
    pub version: i64,
    /// The bundle's digest.
    pub digest: String,
    /// The files, configs first in load order.
    pub files: Vec<FileInfo>,
}

impl ReleaseManifest {
    /// The config files in load order: what HAProxy gets as `-f` arguments.
    pub fn configs(&self) -> Vec<&BundlePath> {
        self.files.iter().filter(|f| f.kind == FileKind::Config).map(|f| &f.path).collect()
    }
}

/// The text of a config file as `haproxy -c` must see it before the release is live: absolute
/// paths into the managed directory (`/etc/haproxy/certs/a.pem`) point into the staged release
/// instead, since the managed directory still shows the running release. `None` when the text
/// names no such path (it can be checked in place). Only whole path words are rewritten (the
/// managed directory preceded by a blank, a quote, `(`, `,` or `=`), so line numbers stay.
pub fn text_for_check(text: &str, managed_dir: &str, release_dir: &str) -> Option<String> {
    let managed = managed_dir.trim_end_matches('/');
    if managed.is_empty() || !text.contains(managed) {
        return None;
    }
    let release = release_dir.trim_end_matches('/');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    let mut previous: Option<char> = None;
    while let Some(at) = rest.find(managed) {
        let before = rest[..at].chars().last().or(previous);
        let after = rest[at + managed.len()..].chars().next();
        let starts_word = before.is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ',' | '='));
        let ends_path = after.is_none_or(|c| c == '/' || c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ','));
        out.push_str(&rest[..at]);
        if starts_word && ends_path {
            out.push_str(release);
            changed = true;
        } else {
            out.push_str(managed);
        }
        previous = managed.chars().last();
        rest = &rest[at + managed.len()..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_version_and_digest() {
        let digest = "ABCDEF0123456789".repeat(4);
        let name = release_name(12, &digest);
        assert_eq!(name, "12-abcdef012345");
        assert_eq!(parse_release_name(&name), Some((12, "abcdef012345")));
        assert!(release_holds(&name, &digest));
        assert!(!release_holds(&name, &"0".repeat(64)));
        for other in ["12-abc", ".staging-12-abcdef012345", "x-abcdef012345", "12-abcdef01234g", "-1-abcdef012345"] {
            assert_eq!(parse_release_name(other), None, "{other}");
        }
    }

    #[test]
    fn pruning_keeps_the_newest_and_the_protected() {
        let names: Vec<String> = (1..=13).map(|v| release_name(v, &format!("{v:064x}"))).collect();
        let mut all = names.clone();
        all.push("12-abcdef012345.json".into());
        all.push(".staging-14-000000000000".into());
        assert_eq!(releases_to_prune(&all, RELEASES_KEPT, &[]), names[..3].to_vec());
        // The rollback target counts in the ten: the newest nine others stay with it.
        let pruned = releases_to_prune(&all, RELEASES_KEPT, &[&names[1], &names[12]]);
        assert_eq!(pruned, vec![names[0].clone(), names[2].clone(), names[3].clone()]);
        assert!(releases_to_prune(&names[..4], RELEASES_KEPT, &[]).is_empty());
    }

    #[test]
    fn absolute_managed_paths_point_into_the_staged_release() {
        let text = "frontend fe\n    bind :443 ssl crt /etc/haproxy/certs/a.pem\n    \
                    http-request set-var(txn.x) req.hdr(host),map_str(/etc/haproxy/maps/h.map)\n    \
                    errorfile 503 \"/etc/haproxy/errors/503.http\"\n    crt-base /etc/haproxy\n    \
                    errorfile 504 /etc/haproxyx/504.http\n    errorfile 500 /opt/etc/haproxy/500.http\n";
        let checked = text_for_check(text, "/etc/haproxy/", "/var/lib/fleet/releases/3-abc").unwrap();
        assert_eq!(
            checked,
            "frontend fe\n    bind :443 ssl crt /var/lib/fleet/releases/3-abc/certs/a.pem\n    \
             http-request set-var(txn.x) req.hdr(host),map_str(/var/lib/fleet/releases/3-abc/maps/h.map)\n    \
             errorfile 503 \"/var/lib/fleet/releases/3-abc/errors/503.http\"\n    crt-base /var/lib/fleet/releases/3-abc\n    \
             errorfile 504 /etc/haproxyx/504.http\n    errorfile 500 /opt/etc/haproxy/500.http\n"
        );
        assert_eq!(checked.lines().count(), text.lines().count());
        assert_eq!(text_for_check("backend b\n    server s 127.0.0.1:80\n", "/etc/haproxy", "/x"), None);
        assert_eq!(text_for_check("errorfile 503 /opt/etc/haproxy/e\n", "/etc/haproxy", "/x"), None);
    }
}
