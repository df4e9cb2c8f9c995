//! The word after a proxy keyword, where HAProxy 2.6 accepts a closed set (`mode tcp`,
//! `stats uri`, `hash-type consistent sdbm avalanche`, `compression algo` ...). Each list is
//! HAProxy 2.6.12's own alert for a wrong word, completed with the §4.1 matrix rows and §4.2
//! headings where the alert leaves some out (`stats http-request`, `stats show-modules`,
//! `tcp-check send-lf` ...). `stats socket|timeout|maxconn|bind-process` belong to `global`.

use haproxy_model::{Diagnostic, SectionKind};

use super::{error, Context};

/// `(keyword, index of the checked word, allowed values)`; `name(*)` matches a prefix.
const CLOSED_SETS: &[(&str, usize, &[&str])] = &[
    ("mode", 1, &["tcp", "http"]),
    ("compression", 1, &["algo", "type", "offload"]),
    (
        "stats",
        1,
        &[
            "admin", "auth", "enable", "hide-version", "http-request", "realm", "refresh", "scope", "show-desc",
            "show-legends", "show-modules", "show-node", "uri",
        ],
    ),
    ("hash-type", 1, &["map-based", "consistent"]),
    ("hash-type", 2, &["sdbm", "djb2", "crc32", "wt6"]),
    ("hash-type", 3, &["avalanche"]),
    ("http-reuse", 1, &["never", "safe", "aggressive", "always"]),
    ("load-server-state-from-file", 1, &["global", "local", "none"]),
    (
        "http-check",
        1,
        &[
            "disable-on-404", "send-state", "comment", "connect", "send", "expect", "set-var-fmt(*)", "set-var(*)",
            "unset-var(*)",
        ],
    ),
    (
        "tcp-check",
        1,
        &[
            "comment", "connect", "send", "send-lf", "send-binary", "send-binary-lf", "expect", "set-var-fmt(*)",
            "set-var(*)", "unset-var(*)",
        ],
    ),
    ("stick", 1, &["on", "match", "store-request", "store-response"]),
    ("capture", 1, &["cookie", "request", "response"]),
    ("monitor", 1, &["fail"]),
    ("persist", 1, &["rdp-cookie(*)"]),
    ("rate-limit", 1, &["sessions"]),
    ("external-check", 1, &["command", "path"]),
    ("declare", 1, &["capture"]),
    ("email-alert", 1, &["from", "level", "mailers", "myhostname", "to"]),
];

/// Runs the closed-set checks on proxies and defaults sections.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let kind = info.section.kind();
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        for line in Context::statements(info.section) {
            if context.is_conditional(line) {
                continue;
            }
            let keyword = line.keyword().unwrap_or_default();
            for (_, index, allowed) in CLOSED_SETS.iter().filter(|(k, _, _)| *k == keyword) {
                let Some(value) = line.value(*index) else { continue };
                if value.contains('$') || allowed.iter().any(|a| matches(a, &value)) {
                    continue;
                }
                let message = if keyword == "mode" && value == "health" {
                    "'mode health' does not exist any more; use 'http-request return status 200'".to_string()
                } else {
                    format!("'{keyword}' does not take '{value}' here (expected {})", allowed.join(", "))
                };
                out.push(error(line, *index, message));
                break;
            }
        }
    }
}

fn matches(allowed: &str, value: &str) -> bool {
    match allowed.strip_suffix("(*)") {
        Some(prefix) => value.starts_with(prefix),
        None => allowed == value,
    }
}
