//! The node-side apply pipeline as pure decisions, so the agent only does the I/O:
//!
//! ```text
//! desired state --verify_download--> stage a release (release) --haproxy -c--> (rejected: report)
//!   --> runtime_plan: only maps/ACLs/certificates/server weights+states changed?
//!   --> switch the managed directory's symlink --> runtime API (applied_runtime)
//!                                               |  or reload --> verify (applied)
//!   --> (failed: switch back, reload, report reload_failed)
//! ```
//!
//! Why here and not in the agent: which outcome a step maps to, what HAProxy's output means for
//! the operator, how releases are named and pruned, which changes HAProxy takes at runtime are
//! domain rules the server shows to people; they are unit-tested without a node.

pub mod keepalived;
pub mod release;
pub mod runtime_plan;
pub mod server_state;
pub mod start_dir;

use std::collections::HashSet;

use haproxy_model::{Diagnostic, Position};
use serde::{Deserialize, Serialize};

use crate::auth::privileged::{self, Privilege, PrivilegedUse};
use crate::haproxy_check::Verdict;
use crate::model::{AgentReport, ApplyOutcome};
use crate::bundle::Bundle;
use crate::wire::DesiredState;

/// Why a downloaded desired state must not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The body's checksum is not the one the state announces (truncated or altered download).
    #[error("checksum mismatch for version {version}: announced {announced}, body has {actual}")]
    Checksum {
        /// The version announced.
        version: i64,
        /// The announced sha256.
        announced: String,
        /// The sha256 of what was received.
        actual: String,
    },
    /// A file's content is not valid base64.
    #[error("version {version}: {path}: content is not base64: {message}")]
    Encoding {
        /// The version announced.
        version: i64,
        /// The file.
        path: String,
        /// The decoder's words.
        message: String,
    },
    /// A delta did not build the announced bundle (the agent then asks for the whole bundle).
    #[error("version {version}: delta refused: {message}")]
    Delta {
        /// The version announced.
        version: i64,
        /// Why.
        message: String,
    },
    /// The files do not form a bundle (no config, a path twice ...).
    #[error("version {version}: {message}")]
    Bundle {
        /// The version announced.
        version: i64,
        /// Why.
        message: String,
    },
}

/// Refuses a desired state whose files do not hash to their announced sha256s and digest, so a
/// partly downloaded or altered bundle is never written ([`DesiredState::bundle`]).
pub fn verify_download(state: &DesiredState) -> Result<crate::bundle::Bundle, DownloadError> {
    state.bundle()
}

/// The step of the pipeline that failed, which decides the reported outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStep {
    /// `haproxy -c` refused the candidate: nothing changed on the node.
    Check,
    /// The reload (or its verification) failed after the switch: the previous release was
    /// switched back.
    Reload,
    /// The node could not do its part (write, rename, run `haproxy -c`): the
    /// configuration was not judged.
    Node,
}

/// The report for a finished apply attempt: `None` failure means applied.
pub fn report(version: i64, failure: Option<(FailedStep, String)>) -> AgentReport {
    match failure {
        None => AgentReport::applied(version),
        Some((step, message)) => AgentReport::failed(version, outcome_of(step), message),
    }
}

/// The outcome reported when `step` failed.
pub fn outcome_of(step: FailedStep) -> ApplyOutcome {
    match step {
        FailedStep::Check => ApplyOutcome::Rejected,
        FailedStep::Reload => ApplyOutcome::ReloadFailed,
        FailedStep::Node => ApplyOutcome::NodeError,
    }
}

/// The report of a version `haproxy -c` refused on the node: HAProxy's message with the
/// staged file's name replaced by `config_label` (where the version would have lived), and its
/// alerts located in the version's text.
pub fn rejected(version: i64, verdict: &Verdict, config_label: &str) -> AgentReport {
    AgentReport {
        diagnostics: verdict.diagnostics.clone(),
        ..AgentReport::failed(version, ApplyOutcome::Rejected, verdict.message(config_label))
    }
}

/// The privileged directives of a desired state the node's own policy (`fleet-agent
/// --allow-privileged`, as [`privileged::parse_allowance`] reads it) does not allow; the agent
/// refuses the state when this is not empty, before writing anything.
pub fn refused_by_node(bundle: &Bundle, allowed: &HashSet<Privilege>) -> Vec<PrivilegedUse> {
    let mut refused: Vec<PrivilegedUse> = bundle
        .configs()
        .flat_map(|f| privileged::refused_by_node(crate::documents::Parsed::parse(f.text().unwrap_or_default()).document(), allowed))
        .collect();
    // keepalived runs its scripts as root: a keepalived file of the bundle that has any needs
    // the node's own `keepalived-script` allowance, like HAProxy's privileged directives.
    if !allowed.contains(&Privilege::KeepalivedScript) {
        for file in bundle.files().iter().filter(|f| f.kind == crate::bundle::FileKind::Keepalived) {
            refused.extend(privileged::keepalived_scripts(&String::from_utf8_lossy(&file.content)).into_iter().map(|u| PrivilegedUse {
                directive: format!("{}: {}", file.path, u.directive),
                ..u
            }));
        }
    }
    refused
}

/// The report of a version the node refused by its policy: outcome `refused_by_node_policy`,
/// a message naming each directive and line, and one located error per directive.
pub fn refused_by_node_policy(version: i64, refused: &[PrivilegedUse]) -> AgentReport {
    let diagnostics = refused
        .iter()
        .map(|u| {
            let message = format!("{} ({}) is not allowed by this node's --allow-privileged", u.directive, u.privilege);
            Diagnostic::error(Position::new(u.line, u.column), message)
        })
        .collect();
    AgentReport {
        diagnostics,
        ..AgentReport::failed(version, ApplyOutcome::RefusedByNodePolicy, privileged::node_refusal_message(refused))
    }
}

/// The part of `haproxy -c` (or master log) output an operator needs: the `[ALERT]` and
/// `[WARNING]` lines without terminal colours and timestamps, at most `MAX_MESSAGE` bytes;
/// everything when no such line exists (an unexpected crash message is still shown).
pub fn haproxy_message(output: &str) -> String {
    const MAX_MESSAGE: usize = 4000;
    let clean = crate::haproxy_check::strip_ansi(output);
    let lines: Vec<&str> = clean.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    let important: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("[ALERT]") || l.contains("[WARNING]") || l.contains("[NOTICE]"))
        .filter(|l| !l.contains("[NOTICE]") || l.contains("error"))
        .map(|l| drop_timestamp(l))
        .collect();
    let mut message = if important.iter().any(|l| l.starts_with("[ALERT]")) {
        important.into_iter().filter(|l| l.starts_with("[ALERT]")).collect::<Vec<_>>().join("\n")
    } else if important.is_empty() {
        lines.join("\n")
    } else {
        important.join("\n")
    };
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("\n[...]");
    }
    if message.is_empty() {
        "haproxy gave no output".into()
    } else {
        message
    }
}

/// `[ALERT]    (1234) : parsing ...` -> `[ALERT] parsing ...` (pids differ on every run).
fn drop_timestamp(line: &str) -> String {
    let line = line.trim();
    let Some(level_end) = line.find(']') else { return line.to_string() };
    let (level, rest) = line.split_at(level_end + 1);
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((pid, after)) if pid.chars().all(|c| c.is_ascii_digit()) => after.trim_start(),
        _ => rest,
    };
    let rest = rest.strip_prefix(':').map_or(rest, str::trim_start);
    format!("{level} {rest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClusterSettings;

    #[test]
    fn a_node_refuses_what_its_policy_does_not_allow() {
        let text = "global\n    insecure-fork-wanted\n\nbackend app\n    external-check command /bin/true\n";
        let desired = state(text);
        let refused = refused_by_node(&desired, &privileged::parse_allowance("insecure-fork").unwrap());
        assert_eq!(refused.len(), 1);
        let report = refused_by_node_policy(3, &refused);
        assert_eq!(report.outcome, ApplyOutcome::RefusedByNodePolicy);
        assert_eq!(
            report.error.as_deref(),
            Some(
                "refused by the node's policy (--allow-privileged lacks external-check): \
                 line 5, column 5: external-check command /bin/true (external-check)"
            )
        );
        assert_eq!((report.diagnostics[0].position.line, report.diagnostics[0].position.column), (5, 5));
        assert!(refused_by_node(&desired, &privileged::parse_allowance("all").unwrap()).is_empty());
        assert_eq!("refused_by_node_policy".parse::<ApplyOutcome>().unwrap(), ApplyOutcome::RefusedByNodePolicy);
        assert_eq!(ApplyOutcome::RefusedByNodePolicy.as_str(), "refused_by_node_policy");
    }

    fn state(text: &str) -> Bundle {
        let path = crate::bundle::BundlePath::new("haproxy.cfg").unwrap_or_else(|e| unreachable!("{e}"));
        Bundle::single(path, text)
    }

    #[test]
    fn a_truncated_body_is_refused() {
        let full = "global\n    maxconn 100\n";
        let mut desired = crate::wire::DesiredState::new(1, 3, &state(full), ClusterSettings::default());
        assert_eq!(verify_download(&desired), Ok(state(full)));
        desired.files[0].content_base64 = "Z2xvYmFs".into();
        let err = verify_download(&desired).unwrap_err();
        assert!(err.to_string().starts_with("checksum mismatch for version 3"), "{err}");
    }

    #[test]
    fn reports_follow_the_failed_step() {
        assert_eq!(report(4, None).outcome, ApplyOutcome::Applied);
        let rejected = report(4, Some((FailedStep::Check, "bad".into())));
        assert_eq!((rejected.outcome, rejected.error.as_deref()), (ApplyOutcome::Rejected, Some("bad")));
        assert_eq!(report(4, Some((FailedStep::Reload, "x".into()))).outcome, ApplyOutcome::ReloadFailed);
        assert_eq!(report(4, Some((FailedStep::Node, "disk full".into()))).outcome, ApplyOutcome::NodeError);
    }

    #[test]
    fn rejections_carry_haproxy_alerts_located_in_the_version() {
        let text = "defaults\n    mode http\n    errorfile 503 /nonexistent/file\n";
        let output = "[ALERT]    (9) : config : parsing [/etc/haproxy/haproxy.cfg.fleet-new:3] : errorfile : error opening file '/nonexistent/file'.\n";
        let verdict = Verdict::read(text, "/etc/haproxy/haproxy.cfg.fleet-new", 1, output);
        let report = rejected(5, &verdict, "/etc/haproxy/haproxy.cfg");
        assert_eq!(report.outcome, ApplyOutcome::Rejected);
        assert_eq!(report.error.as_deref(), Some("[ALERT] config : parsing [/etc/haproxy/haproxy.cfg:3] : errorfile : error opening file '/nonexistent/file'."));
        assert_eq!((report.diagnostics[0].position.line, report.diagnostics[0].position.column), (3, 19));
    }

    #[test]
    fn haproxy_alerts_are_extracted() {
        let output = "\u{1b}[1;31m[NOTICE]\u{1b}[0m   (71) : haproxy version is 2.6.12\n\
            [ALERT]    (71) : config : parsing [/tmp/x.cfg:9] : error detected in proxy 'fe' while parsing 'errorfile' : unable to stat '/nonexistent/file'.\n\
            [ALERT]    (71) : config : Fatal errors found in configuration.\n";
        assert_eq!(
            haproxy_message(output),
            "[ALERT] config : parsing [/tmp/x.cfg:9] : error detected in proxy 'fe' while parsing 'errorfile' : unable to stat '/nonexistent/file'.\n\
             [ALERT] config : Fatal errors found in configuration."
        );
        assert_eq!(haproxy_message("segfault\n"), "segfault");
        assert_eq!(haproxy_message(""), "haproxy gave no output");
        assert!(haproxy_message(&"x".repeat(10_000)).ends_with("[...]"));
    }

    #[test]
    fn keepalived_scripts_need_the_node_s_own_allowance() {
        use crate::bundle::{BundleFile, BundlePath, FileKind};
        let file = |path: &str, kind, text: &str| BundleFile::new(BundlePath::new(path).unwrap(), kind, text.as_bytes().to_vec());
        let bundle = Bundle::new(vec![
            file("haproxy.cfg", FileKind::Config, "defaults\n    mode http\n"),
            file("keepalived/lb1.conf", FileKind::Keepalived, "vrrp_instance v {\n    notify_master \"/bin/sh -c id\"\n}\n"),
        ])
        .unwrap();
        let refused = refused_by_node(&bundle, &HashSet::new());
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!((refused[0].privilege, refused[0].line), (Privilege::KeepalivedScript, 2));
        assert!(refused[0].directive.starts_with("keepalived/lb1.conf: notify_master"), "{}", refused[0].directive);
        assert!(refused_by_node(&bundle, &HashSet::from([Privilege::KeepalivedScript])).is_empty());
    }
}
