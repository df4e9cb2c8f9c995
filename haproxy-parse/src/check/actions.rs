//! Rule actions (configuration.txt §4.2 "http-request" ... "tcp-response content"): the action
//! must be one HAProxy 2.6 registers for that rule set, `track-scN` may not go past N = 2
//! (`MAX_SESS_STKCTR` - 1), and experimental actions need `expose-experimental-directives`
//! in `global` first.
//!
//! The action lists are the model's ([`haproxy_model::keywords::actions`]). Actions registered
//! by Lua scripts (`lua.<name>`) cannot be known offline and are accepted.

use haproxy_model::keywords::actions::{
    is_known, EXPERIMENTAL, HTTP_AFTER_RESPONSE, HTTP_REQUEST, HTTP_RESPONSE, TCP_REQUEST_CONNECTION,
    TCP_REQUEST_CONTENT, TCP_RESPONSE_CONTENT,
};
use haproxy_model::{Diagnostic, Line, SectionKind};

use super::{error, Context};

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
    if !is_known(actions, &action) {
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
