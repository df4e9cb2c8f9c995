//! Dot-directives (configuration.txt §2.4): what HAProxy 2.6 does with a line whose first word
//! starts with `.`, tried one by one with `haproxy -c`.
//!
//! - `.if`, `.elif`, `.else`, `.endif` nest (checked by the parser); `.else` and `.endif` take
//!   no argument, and HAProxy refuses one even inside a block it skips.
//! - `.notice`, `.warning`, `.diag` print their one argument; a non-empty third word is refused
//!   ("Unexpected argument ... Use quotes if the message should contain spaces"), the empty word
//!   ending the list first. `.alert` prints and fails the file.
//! - Any other dot-word (`.elseif`, `.include`) is an "unknown directive", fatal.
//!
//! Messages and unknown directives only count where HAProxy reads them: inside a `.if` block
//! the condition decides (`.elseif` under a `.if defined(X)` is harmless while `X` is unset),
//! so there they only get a warning.

use haproxy_model::{Conditional, Diagnostic, LineKind};

use super::{error, warning, Context};

/// Runs the dot-directive checks over every line.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for line in context.document.lines() {
        let Some(keyword) = line.keyword() else { continue };
        let reached = !context.is_conditional(line);
        match line.kind() {
            LineKind::Conditional(Conditional::Else | Conditional::Endif) => {
                if let Some(extra) = line.value(1).filter(|v| !v.is_empty()) {
                    out.push(error(line, 1, format!("unexpected argument '{extra}' for '{keyword}'")));
                }
            }
            LineKind::Message => {
                let extra = line.value(2).filter(|v| !v.is_empty());
                let diagnostic = match (&*keyword, extra) {
                    (_, Some(extra)) => {
                        let message = format!(
                            "unexpected argument '{extra}' for '{keyword}' (quote the message if it holds spaces)"
                        );
                        if reached {
                            error(line, 2, message)
                        } else {
                            warning(line, 2, message)
                        }
                    }
                    (".alert", None) if reached => {
                        error(line, 0, "'.alert' makes HAProxy refuse the configuration")
                    }
                    _ => continue,
                };
                out.push(diagnostic);
            }
            LineKind::Statement if keyword.starts_with('.') => {
                let message = format!("unknown directive '{keyword}'");
                out.push(if reached {
                    error(line, 0, message)
                } else {
                    warning(line, 0, format!("{message}: HAProxy refuses the configuration when this block is read"))
                });
            }
            _ => {}
        }
    }
}
