//! Rules written in defaults sections, and who may inherit them (HAProxy 2.6, the
//! `startup/default_rules` reg-tests): a defaults section defining TCP/HTTP rules cannot be
//! inherited by another defaults section or by a listen section, not by both frontends and
//! backends, not by a backend when it defines `tcp-request connection|session` rules, not by
//! a frontend when it defines `tcp-response content` rules. (Rules in anonymous defaults are
//! refused outright by the keyword matrix.)

use std::collections::HashMap;

use haproxy_model::{Diagnostic, Line, SectionKind};

use super::context::Parent;
use super::{error, Context};

/// What kinds of rules a defaults section defines.
#[derive(Debug, Default, Clone, Copy)]
struct Rules {
    any: bool,
    frontend_only: bool,
    backend_only: bool,
}

fn rules_of(lines: impl Iterator<Item = Line>) -> Rules {
    let mut rules = Rules::default();
    for line in lines {
        let first = line.value(0).unwrap_or_default();
        let second = line.value(1).unwrap_or_default();
        match (&*first, &*second) {
            ("http-request" | "http-response" | "http-after-response", _) => rules.any = true,
            ("tcp-request", "connection" | "session") => {
                rules.any = true;
                rules.frontend_only = true;
            }
            ("tcp-request", "content") => rules.any = true,
            ("tcp-response", "content") => {
                rules.any = true;
                rules.backend_only = true;
            }
            _ => {}
        }
    }
    rules
}

/// Runs the inheritance check.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    // For each defaults section with rules: the first frontend or backend that inherited it.
    let mut first_side: HashMap<usize, SectionKind> = HashMap::new();
    for info in &context.sections {
        let Parent::Index(parent) = info.parent else { continue };
        let Some(defaults) = context.sections.get(parent) else { continue };
        let lines = Context::statements(defaults.section).filter(|l| !context.is_conditional(l)).cloned();
        let rules = rules_of(lines);
        if !rules.any {
            continue;
        }
        let header = info.section.header();
        let kind = info.section.kind();
        let at = context.place(defaults.section.header().position().line);
        let message = match kind {
            SectionKind::Defaults => Some("a defaults section cannot inherit from a defaults section defining TCP/HTTP rules".to_string()),
            SectionKind::Listen => Some("a listen section cannot inherit from a defaults section defining TCP/HTTP rules".to_string()),
            SectionKind::Backend if rules.frontend_only => Some("a backend cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules".to_string()),
            SectionKind::Frontend if rules.backend_only => Some("a frontend cannot inherit from a defaults section defining 'tcp-response content' rules".to_string()),
            SectionKind::Frontend | SectionKind::Backend => match first_side.get(&parent) {
                Some(side) if side != kind => Some("frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules".to_string()),
                Some(_) => None,
                None => {
                    first_side.insert(parent, kind.clone());
                    None
                }
            },
            _ => None,
        };
        if let Some(message) = message {
            out.push(error(header, 0, format!("{message} (defaults section at {at})")));
        }
    }
}
