//! Rule actions (configuration.txt §4.2 "http-request" ... "tcp-response content"): the action
//! must be one HAProxy 2.6 registers for that rule set, `track-scN` may not go past N = 2
//! (`MAX_SESS_STKCTR` - 1), and experimental actions need `expose-experimental-directives`
//! in `global` first.
//!
//! The action lists are HAProxy 2.6.12's own alert for an unknown action ("'http-request'
//! expects 'wait-for-handshake', ..."), copied once. `name(*)` entries match any word starting
//! with `name` (`set-var(txn.x)`, `track-sc0`), as HAProxy's `action_lookup()` does. Actions
//! registered by Lua scripts (`lua.<name>`) cannot be known offline and are accepted.

use haproxy_model::{Diagnostic, Line, SectionKind};

use super::{error, Context};

const HTTP_REQUEST: &[&str] = &[
    "wait-for-handshake", "ot-group", "set-log-level", "set-nice", "use-service", "sc-inc-gpc(*)",
    "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "do-resolve(*)",
    "cache-use", "add-acl(*)", "add-header", "allow", "auth", "capture", "del-acl(*)", "del-header", "del-map(*)",
    "deny", "disable-l7-retry", "early-hint", "normalize-uri", "redirect", "reject", "replace-header",
    "replace-path", "replace-pathq", "replace-uri", "replace-value", "return", "set-header", "set-map(*)",
    "set-method", "set-path", "set-pathq", "set-query", "set-uri", "strict-mode", "tarpit", "track-sc(*)",
    "set-timeout", "wait-for-body", "set-var-fmt(*)", "set-var(*)", "unset-var(*)", "set-dst", "set-dst-port",
    "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop", "set-priority-class", "set-priority-offset",
];

const HTTP_RESPONSE: &[&str] = &[
    "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)",
    "sc-set-gpt0(*)", "send-spoe-group", "cache-store", "add-acl(*)", "add-header", "allow", "capture",
    "del-acl(*)", "del-header", "del-map(*)", "deny", "redirect", "replace-header", "replace-value", "return",
    "set-header", "set-map(*)", "set-status", "strict-mode", "track-sc(*)", "wait-for-body", "set-var-fmt(*)",
    "set-var(*)", "unset-var(*)", "set-mark", "set-tos", "silent-drop",
];

const HTTP_AFTER_RESPONSE: &[&str] = &[
    "ot-group", "add-header", "allow", "capture", "del-header", "replace-header", "replace-value", "set-header",
    "set-status", "strict-mode", "set-var-fmt(*)", "set-var(*)", "unset-var(*)",
];

const TCP_REQUEST_CONNECTION: &[&str] = &[
    "accept", "reject", "capture", "expect-proxy", "expect-netscaler-cip", "track-sc(*)", "sc-inc-gpc(*)",
    "sc-inc-gpc0(*)", "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "set-var-fmt(*)", "set-var(*)",
    "unset-var(*)", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port", "set-tos", "silent-drop",
];

const TCP_REQUEST_CONTENT: &[&str] = &[
    "accept", "reject", "capture", "expect-proxy", "expect-netscaler-cip", "track-sc(*)", "ot-group",
    "set-log-level", "set-nice", "switch-mode", "use-service", "sc-inc-gpc(*)", "sc-inc-gpc0(*)",
    "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "do-resolve(*)", "set-var-fmt(*)",
    "set-var(*)", "unset-var(*)", "set-src", "set-src-port", "set-dst", "set-dst-port", "set-mark", "set-tos",
    "silent-drop", "set-priority-class", "set-priority-offset",
];

const TCP_RESPONSE_CONTENT: &[&str] = &[
    "accept", "close", "reject", "ot-group", "set-log-level", "set-nice", "sc-inc-gpc(*)", "sc-inc-gpc0(*)",
    "sc-inc-gpc1(*)", "sc-set-gpt(*)", "sc-set-gpt0(*)", "send-spoe-group", "set-var-fmt(*)", "set-var(*)",
    "unset-var(*)", "set-mark", "set-tos", "silent-drop",
];

/// Actions HAProxy 2.6 tags as experimental, per rule keyword.
const EXPERIMENTAL: &[(&str, &str)] = &[("http-request", "normalize-uri")];

/// Runs the action checks on proxies and defaults sections.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let experimental_from = context
        .sections
        .iter()
        .filter(|s| *s.section.kind() == SectionKind::Global)
        .flat_map(|s| s.section.statements("expose-experimental-directives"))
        .map(|(_, line)| line.position().line)
        .min();
    for info in &context.sections {
        let kind = info.section.kind();
        if *kind == SectionKind::Global {
            for (_, line) in info.section.statements("tune.fd.edge-triggered") {
                if !experimental_allowed(experimental_from, line) && !context.is_conditional(line) {
                    out.push(experimental_error(line, 0, "tune.fd.edge-triggered"));
                }
            }
            continue;
        }
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        for line in Context::statements(info.section) {
            if !context.is_conditional(line) {
                check_line(line, experimental_from, out);
            }
        }
    }
}

fn experimental_allowed(from: Option<u32>, line: &Line) -> bool {
    from.is_some_and(|at| at < line.position().line)
}

fn experimental_error(line: &Line, index: usize, what: &str) -> Diagnostic {
    error(line, index, format!("'{what}' is experimental: put 'expose-experimental-directives' in 'global' before it"))
}

/// The action table of a rule, and the index of its action word.
fn table(line: &Line) -> Option<(&'static [&'static str], usize, String)> {
    let keyword = line.value(0)?;
    let ruleset = line.value(1).unwrap_or_default();
    Some(match (&*keyword, &*ruleset) {
        ("http-request", _) => (HTTP_REQUEST, 1, "http-request".to_string()),
        ("http-response", _) => (HTTP_RESPONSE, 1, "http-response".to_string()),
        ("http-after-response", _) => (HTTP_AFTER_RESPONSE, 1, "http-after-response".to_string()),
        ("tcp-request", "connection" | "session") => (TCP_REQUEST_CONNECTION, 2, format!("tcp-request {ruleset}")),
        ("tcp-request", "content") => (TCP_REQUEST_CONTENT, 2, "tcp-request content".to_string()),
        ("tcp-response", "content") => (TCP_RESPONSE_CONTENT, 2, "tcp-response content".to_string()),
        _ => return None,
    })
}

fn check_line(line: &Line, experimental_from: Option<u32>, out: &mut Vec<Diagnostic>) {
    let keyword = line.keyword().unwrap_or_default();
    if let ("tcp-request" | "tcp-response", Some(ruleset)) = (&*keyword, line.value(1)) {
        let known: &[&str] =
            if keyword == "tcp-request" { &["inspect-delay", "connection", "session", "content"] } else { &["inspect-delay", "content"] };
        if !known.contains(&&*ruleset) && !ruleset.contains('$') {
            out.push(error(line, 1, format!("unknown '{keyword}' rule set '{ruleset}' (expected {})", known.join(", "))));
            return;
        }
    }
    let Some((actions, index, rule)) = table(line) else { return };
    let Some(action) = line.value(index) else {
        out.push(error(line, 0, format!("'{rule}' needs an action")));
        return;
    };
    if action.starts_with("lua.") || action.contains('$') {
        return;
    }
    if !actions.iter().any(|known| matches(known, &action)) {
        out.push(error(line, index, format!("unknown action '{action}' for '{rule}'")));
        return;
    }
    if let Some(number) = action.strip_prefix("track-sc") {
        if number.parse::<u32>().is_ok_and(|n| n > 2) {
            out.push(error(line, index, format!("'{action}': HAProxy 2.6 tracks at most 3 counters (track-sc0 to track-sc2)")));
        }
    }
    if EXPERIMENTAL.contains(&(&*keyword, &*action)) && !experimental_allowed(experimental_from, line) {
        out.push(experimental_error(line, index, &format!("{keyword} {action}")));
    }
}

/// `name(*)` matches words starting with `name`; other entries match exactly.
fn matches(known: &str, action: &str) -> bool {
    match known.strip_suffix("(*)") {
        Some(prefix) => action.starts_with(prefix),
        None => known == action,
    }
}

#[cfg(test)]
mod tests {
    use super::{matches, HTTP_REQUEST};

    #[test]
    fn prefix_entries_match_their_arguments() {
        assert!(matches("set-var(*)", "set-var(txn.x)"));
        assert!(matches("track-sc(*)", "track-sc1"));
        assert!(!matches("deny", "deny2"));
        assert!(HTTP_REQUEST.iter().any(|k| matches(k, "set-var-fmt(txn.x)")));
    }
}
