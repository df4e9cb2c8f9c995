//! A candidate configuration: the text a change would produce, and the offline check every
//! candidate passes before it can become a version (errors block it, warnings are returned).

use haproxy_model::Diagnostic;

use crate::error::{Error, Result};
use crate::ops::{apply_ops, EditOp};

/// Runs the offline check on `text`: errors become [`Error::Invalid`] (with every diagnostic),
/// otherwise the warnings are returned.
pub fn check_text(text: &str) -> Result<Vec<Diagnostic>> {
    let parsed = haproxy_parse::check(text);
    let errors = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let first = parsed.diagnostics.iter().find(|d| d.is_error());
        let message = match first {
            Some(d) => format!(
                "configuration has {errors} error{}; first at line {}, column {}: {}",
                if errors == 1 { "" } else { "s" },
                d.position.line,
                d.position.column,
                d.message
            ),
            None => format!("configuration has {errors} errors"),
        };
        let mut diagnostics = parsed.diagnostics;
        diagnostics.sort_by_key(|d| (!d.is_error(), d.position.line, d.position.column));
        return Err(Error::Invalid { message, diagnostics });
    }
    Ok(parsed.diagnostics)
}

/// Applies `ops` to the configuration `base` and renders the result losslessly. Does not run
/// the offline check (intermediate states of a transaction may reference things added later).
pub fn apply_to_text(base: &str, ops: &[EditOp]) -> Result<String> {
    let parsed = haproxy_parse::parse(base);
    if parsed.has_errors() {
        return Err(Error::Invalid {
            message: "the base configuration does not parse".into(),
            diagnostics: parsed.diagnostics,
        });
    }
    let mut document = parsed.document;
    apply_ops(&mut document, ops)?;
    Ok(haproxy_render::lossless(&document))
}
