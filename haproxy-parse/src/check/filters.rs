//! `filter` lines (configuration.txt §9): the SPOE filter cannot work without its
//! configuration file, and HAProxy 2.6 refuses `filter spoe` without `config <file>`.

use haproxy_model::Diagnostic;

use super::{error, Context};

/// Runs the filter checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        for line in Context::statements(info.section) {
            if line.keyword().as_deref() != Some("filter") || line.value(1).as_deref() != Some("spoe") {
                continue;
            }
            let values = line.values();
            match values.iter().position(|v| v == "config") {
                Some(i) if i + 1 < values.len() => {}
                Some(i) => out.push(error(line, i, "'config' needs a file name")),
                None => out.push(error(line, 1, "'filter spoe' needs 'config <file>'")),
            }
        }
    }
}
