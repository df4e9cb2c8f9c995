//! The word after a proxy keyword, where HAProxy 2.6 accepts a closed set (`mode tcp`,
//! `stats uri`, `hash-type consistent sdbm avalanche`, `compression algo` ...); the sets are
//! the model's [`CLOSED_SETS`].

use haproxy_model::keywords::proxy::CLOSED_SETS;
use haproxy_model::{Diagnostic, SectionKind};

use super::{error, Context};

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
