//! The empty word `""` (or `''`): HAProxy 2.6's keyword parsers read their arguments up to the
//! first empty one, so everything after it is as good as absent (haproxy/haproxy#2944), yet
//! some parsers index past it. What HAProxy then does depends on the keyword:
//! - a line starting with an empty word is skipped as if blank;
//! - an HTTP action that needs N arguments refuses the rule when the empty word is one of them
//!   (`http-request set-header X ""`: "expects exactly 2 arguments"), see
//!   [`REQUIRED_ARGS`];
//! - elsewhere the outcome varies (`mode "" http` is refused, `http-request deny "" if nosuch`
//!   is accepted), so it is only a warning.
//!
//! Because the other checks read every word, an error they raise on a line holding an empty
//! word is not certain: [`check`] returns those lines and [`super::check_document`] turns such
//! errors into warnings. The same holds for a word that may expand to nothing, a double-quoted
//! environment reference such as `"$HOME"` (`set-header X "\\" "$HOME" if ...` never reads its
//! condition when `HOME` is unset): found by the differential test.

use std::collections::HashSet;

use haproxy_model::keywords::actions::{is_known, REQUIRED_ARGS, HTTP_AFTER_RESPONSE, HTTP_REQUEST, HTTP_RESPONSE};
use haproxy_model::{Diagnostic, Line, LineKind};

use super::{error, warning, Context};

/// The lines where HAProxy's argument list may end early.
#[derive(Debug, Default)]
pub(super) struct EmptyWords {
    /// Lines holding the empty word `""`.
    pub(super) literal: HashSet<u32>,
    /// Lines holding a word that may expand to nothing (`"$VAR"`, `"${VAR}"`).
    pub(super) possible: HashSet<u32>,
}

/// Reports empty words; returns the lines that hold one.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) -> EmptyWords {
    let mut lines = EmptyWords::default();
    for line in context.document.lines() {
        if line.kind() != LineKind::Statement {
            continue;
        }
        if line.words().iter().skip(1).any(|w| w.value().starts_with('$') && !w.env_refs().is_empty()) {
            lines.possible.insert(line.position().line);
        }
        let Some(at) = line.words().iter().position(|w| w.value().is_empty()) else { continue };
        lines.literal.insert(line.position().line);
        if at == 0 {
            out.push(warning(line, 0, "the line starts with an empty word: HAProxy ignores the whole line"));
            continue;
        }
        match missing_argument(line, at) {
            Some((action, needed)) if !context.is_conditional(line) => out.push(error(
                line,
                at,
                format!(
                    "'{action}' needs {needed} argument(s) and the empty word ends HAProxy's argument list"
                ),
            )),
            _ => out.push(warning(
                line,
                at,
                "the empty word ends HAProxy's argument list: the words after it are ignored",
            )),
        }
    }
    lines
}

/// `("http-request set-header", 2)` when the empty word at `at` is one of the arguments an
/// HTTP action cannot do without.
fn missing_argument(line: &Line, at: usize) -> Option<(String, usize)> {
    let keyword = line.value(0)?;
    let table = match &*keyword {
        "http-request" => HTTP_REQUEST,
        "http-response" => HTTP_RESPONSE,
        "http-after-response" => HTTP_AFTER_RESPONSE,
        _ => return None,
    };
    let action = line.value(1)?;
    if !is_known(table, &action) {
        return None;
    }
    let (_, needed) = REQUIRED_ARGS.iter().find(|(name, _)| *name == action)?;
    // Arguments are words 2 ..= 1 + needed.
    (at >= 2 && at <= 1 + needed).then(|| (format!("{keyword} {action}"), *needed))
}
