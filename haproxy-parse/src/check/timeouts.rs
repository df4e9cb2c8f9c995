//! `timeout <name> <value>` in proxies and defaults sections: the name must be one HAProxy 2.6
//! knows and the value a time (configuration.txt §2.5), parsed with the model's
//! [`parse_duration`] (digits, optional unit `us ms s m h d`, at most 2147483647 ms).
//! Values holding `${VAR}` are only known at startup and are skipped.

use haproxy_model::{parse_duration, DurationError};
use haproxy_model::keywords::proxy::TIMEOUTS;
use haproxy_model::{Diagnostic, SectionKind};

use super::{error, Context};

/// Runs the timeout checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let kind = info.section.kind();
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        for (_, line) in info.section.statements("timeout") {
            if context.is_conditional(line) {
                continue;
            }
            let Some(name) = line.value(1) else {
                out.push(error(line, 0, "'timeout' needs a name and a value"));
                continue;
            };
            if name.contains('$') {
                continue;
            }
            if !TIMEOUTS.contains(&&*name) {
                out.push(error(
                    line,
                    1,
                    format!("unknown timeout '{name}' (expected one of {})", TIMEOUTS.join(", ")),
                ));
                continue;
            }
            let Some(value) = line.value(2) else {
                out.push(error(line, 1, format!("'timeout {name}' needs a value")));
                continue;
            };
            match parse_duration(&value) {
                Ok(_) | Err(DurationError::Environment(_)) => {}
                Err(e) => out.push(error(line, 2, format!("'timeout {name}': {e}"))),
            }
        }
    }
}
