//! Drift: a managed file on a node whose bytes differ from what the agent applied (a hand edit,
//! another tool). The agent checks its files on every heartbeat and reports what differs with a
//! diff of what changed; the cluster's [`DriftPolicy`] says whether the node keeps its file
//! (`report`, the default) or the agent restores the applied one (`enforce`). Either way the
//! server records it and audits it: nothing is overwritten silently.
//!
//! ```text
//! agent: applied bytes (the bundle it runs), node bytes -> file_diff -> bounded (64 KiB)
//!        -> Heartbeat.drift = DriftReport {files, restored}
//! server: transition(stored drift, report, now) -> new stored drift + audit entries
//! ```
//!
//! Certificates and files holding a private key are never printed: their diff lists the
//! certificates' fingerprints on each side instead (as version diffs do).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bundle::{fingerprints, holds_private_key, FileKind};

/// The most diff text kept per node, in bytes (every file's diff together); the rest is cut at
/// a line end and replaced by [`TRUNCATED`].
pub const MAX_DRIFT_DIFF_BYTES: usize = 64 * 1024;

/// The marker that ends a cut diff.
pub const TRUNCATED: &str = "... diff truncated at 64 KiB per node\n";

/// The most drifted files listed per node (their diffs count against the same byte bound).
pub const MAX_DRIFT_FILES: usize = 1_000;

/// What the cluster does about drift (the `drift` cluster setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DriftPolicy {
    /// Keep the node's file, report the drift and audit it.
    #[default]
    Report,
    /// Restore the applied file (and reload), report what was restored and audit it.
    Enforce,
}

/// One managed file that differs from what the agent applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftFile {
    /// The file's path in the bundle (relative to the managed directory).
    pub path: String,
    /// Unified diff from the applied file (`applied/<path>`) to the node's (`node/<path>`),
    /// bounded per node ([`MAX_DRIFT_DIFF_BYTES`]); fingerprints for certificates and keys.
    pub diff: String,
}

/// What an agent found on its heartbeat: the files that differ now, and the ones it restored
/// since its last heartbeat (`enforce`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftReport {
    /// Files that differ (empty: the node runs what it applied).
    #[serde(default)]
    pub files: Vec<DriftFile>,
    /// Files the agent put back as applied (with the diff it undid).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<DriftFile>,
}

/// A node's drift as the status shows it: `null` or `{files, since}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    /// The files that differ, with their diffs.
    pub files: Vec<DriftFile>,
    /// When the node was first seen drifted (RFC 3339, UTC).
    #[serde(with = "crate::clock::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: i64,
}

/// The diff of a managed file: `applied` is what the agent wrote, `on_node` what is there now
/// (`None`: the file is gone). Text files get a unified diff (3 lines of context, the same
/// rule as version diffs); certificates, files holding a private key and binary files get a
/// summary that prints no secret.
pub fn file_diff(path: &str, kind: FileKind, applied: &[u8], on_node: Option<&[u8]>) -> String {
    let Some(on_node) = on_node else {
        return format!("--- applied/{path}\n+++ node/{path}\nthe file is missing on the node\n");
    };
    if applied == on_node {
        return String::new();
    }
    let secret = kind.is_secret() || holds_private_key(applied) || holds_private_key(on_node);
    match (secret, std::str::from_utf8(applied), std::str::from_utf8(on_node)) {
        (false, Ok(a), Ok(b)) => crate::diff::unified(a, b, &format!("applied/{path}"), &format!("node/{path}")),
        (true, _, _) => format!(
            "--- applied/{path}\n+++ node/{path}\ncontent not shown (certificate or private key)\n-{}\n+{}\n",
            fingerprints(applied).join(", "),
            fingerprints(on_node).join(", ")
        ),
        _ => format!(
            "--- applied/{path}\n+++ node/{path}\nbinary content differs: sha256 {} -> {}\n",
            crate::secret::sha256_hex(applied),
            crate::secret::sha256_hex(on_node)
        ),
    }
}

/// Bounds a node's drift: at most [`MAX_DRIFT_FILES`] files, and [`MAX_DRIFT_DIFF_BYTES`] of
/// diff text in all; a diff that does not fit is cut at its last whole line that does and ends
/// with [`TRUNCATED`], later files keep their path with only the marker. Used by the agent
/// before sending and by the server before storing (an agent is not trusted to do it).
pub fn bounded(mut files: Vec<DriftFile>) -> Vec<DriftFile> {
    files.truncate(MAX_DRIFT_FILES);
    let mut left = MAX_DRIFT_DIFF_BYTES;
    for file in &mut files {
        if file.diff.len() <= left {
            left -= file.diff.len();
            continue;
        }
        let room = left.saturating_sub(TRUNCATED.len());
        let mut cut = room.min(file.diff.len());
        while !file.diff.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = file.diff[..cut].rfind('\n').map_or(0, |i| i + 1);
        file.diff.truncate(cut);
        file.diff.push_str(TRUNCATED);
        left = left.saturating_sub(file.diff.len());
    }
    files
}

/// An audit entry drift asks for: `(action, details)`.
pub type DriftAudit = (&'static str, serde_json::Value);

/// What the server records for an agent's drift `report` when it stored `previous` (at `now`):
/// the drift to store (`None`: clean) and the audit entries to write —
/// `agent.drift` when files start to differ or the set of files changes, `agent.drift.resolved`
/// when none differ any more, `agent.drift.enforce` for files the agent restored.
pub fn transition(previous: Option<&Drift>, report: DriftReport, now: i64) -> (Option<Drift>, Vec<DriftAudit>) {
    let mut audits = Vec::new();
    let paths = |files: &[DriftFile]| files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    let restored = bounded(report.restored);
    if !restored.is_empty() {
        audits.push(("agent.drift.enforce", json!({"restored": restored})));
    }
    let files = bounded(report.files);
    let next = if files.is_empty() {
        if let Some(previous) = previous {
            audits.push(("agent.drift.resolved", json!({"files": paths(&previous.files), "since": previous.since})));
        }
        None
    } else {
        let since = previous.map_or(now, |p| p.since);
        if previous.is_none_or(|p| paths(&p.files) != paths(&files)) {
            audits.push(("agent.drift", json!({"files": files, "since": since})));
        }
        Some(Drift { files, since })
    };
    (next, audits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, diff: &str) -> DriftFile {
        DriftFile { path: path.into(), diff: diff.into() }
    }

    #[test]
    fn text_files_get_a_unified_diff_and_secrets_only_fingerprints() {
        let diff = file_diff("haproxy.cfg", FileKind::Config, b"global\n    maxconn 10\n", Some(b"global\n    maxconn 99\n"));
        assert_eq!(diff, "--- applied/haproxy.cfg\n+++ node/haproxy.cfg\n@@ -1,2 +1,2 @@\n global\n-    maxconn 10\n+    maxconn 99\n");
        assert_eq!(file_diff("a.map", FileKind::Map, b"x\n", Some(b"x\n")), "");
        assert!(file_diff("a.map", FileKind::Map, b"x\n", None).contains("missing on the node"));
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let diff = file_diff("certs/site.pem", FileKind::Other, b"hello\n", Some(key));
        assert!(!diff.contains("AAAA"), "{diff}");
        assert!(diff.contains("private key (not shown)"), "{diff}");
        let diff = file_diff("lua/x.bin", FileKind::Other, &[0xff, 0], Some(&[0xfe]));
        assert!(diff.contains("binary content differs"), "{diff}");
    }

    #[test]
    fn a_nodes_diffs_are_bounded_at_line_ends_with_a_marker() {
        let line = "+".repeat(99) + "\n";
        let big = line.repeat(1_000); // 100 KB
        let out = bounded(vec![file("a", "small\n"), file("b", &big), file("c", "later\n")]);
        let total: usize = out.iter().map(|f| f.diff.len()).sum();
        assert!(total <= MAX_DRIFT_DIFF_BYTES, "{total}");
        assert_eq!(out[0].diff, "small\n");
        assert!(out[1].diff.ends_with(TRUNCATED));
        assert!(out[1].diff.trim_end_matches(TRUNCATED).ends_with('\n'), "cut at a line end");
        assert!(out[1].diff.len() > MAX_DRIFT_DIFF_BYTES - 200);
        assert_eq!(out[2].path, "c");
        let many: Vec<DriftFile> = (0..MAX_DRIFT_FILES + 5).map(|i| file(&i.to_string(), "")).collect();
        assert_eq!(bounded(many).len(), MAX_DRIFT_FILES);
        // A multi-byte character is never split.
        let wide = "é".repeat(MAX_DRIFT_DIFF_BYTES);
        let out = bounded(vec![file("w", &wide)]);
        assert_eq!(out[0].diff, TRUNCATED);
    }

    #[test]
    fn transitions_keep_since_and_audit_each_change_once() {
        let (drift, audits) = transition(None, DriftReport::default(), 10);
        assert_eq!((drift, audits.len()), (None, 0), "clean stays clean, silently");

        let report = DriftReport { files: vec![file("haproxy.cfg", "-a\n+b\n")], restored: vec![] };
        let (drift, audits) = transition(None, report.clone(), 10);
        let drift = drift.unwrap();
        assert_eq!(drift.since, 10);
        assert_eq!(audits.iter().map(|a| a.0).collect::<Vec<_>>(), ["agent.drift"]);

        let (again, audits) = transition(Some(&drift), report, 20);
        assert_eq!(again.unwrap().since, 10, "since is the first time");
        assert!(audits.is_empty(), "the same files: no second entry");

        let more = DriftReport { files: vec![file("haproxy.cfg", "x"), file("a.map", "y")], restored: vec![] };
        let (grown, audits) = transition(Some(&drift), more, 30);
        assert_eq!(grown.unwrap().since, 10);
        assert_eq!(audits[0].0, "agent.drift");

        let (clean, audits) = transition(Some(&drift), DriftReport::default(), 40);
        assert_eq!(clean, None);
        assert_eq!(audits[0].0, "agent.drift.resolved");

        let enforced = DriftReport { files: vec![], restored: vec![file("haproxy.cfg", "-a\n+b\n")] };
        let (clean, audits) = transition(Some(&drift), enforced, 50);
        assert_eq!(clean, None);
        assert_eq!(audits.iter().map(|a| a.0).collect::<Vec<_>>(), ["agent.drift.enforce", "agent.drift.resolved"]);
        assert_eq!(audits[0].1["restored"][0]["path"], "haproxy.cfg");
    }

    #[test]
    fn the_status_shows_since_as_rfc3339() {
        let drift = Drift { files: vec![file("haproxy.cfg", "d")], since: 0 };
        let json = serde_json::to_value(&drift).unwrap();
        assert_eq!(json, json!({"files": [{"path": "haproxy.cfg", "diff": "d"}], "since": "1970-01-01T00:00:00.000Z"}));
        assert_eq!(serde_json::from_value::<Drift>(json).unwrap(), drift);
    }
}
