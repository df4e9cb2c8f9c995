//! Offline semantic checks (validation level 2 of DESIGN.md): what `haproxy -c` would reject or
//! warn about, found without running HAProxy.
//!
//! ```text
//! Document -> Context (sections, defaults inheritance, proxy names)
//!          -> sections   (statements outside sections, section names, missing LF at the end)
//!          -> directives (unknown dot-directives, `.notice` & co. arguments, `.alert`)
//!          -> keywords   (unknown keywords, keyword not allowed in its section, removed ones)
//!          -> names      (duplicate proxy names)
//!          -> references (use_backend / default_backend, `from`, stick tables)
//!          -> acls       (ACLs used in conditions but never defined)
//!          -> addresses  (bind / server / log addresses and ports)
//!          -> balance    (load-balancing algorithms)
//!          -> inherit    (rules in defaults sections and who may inherit them)
//!          -> filters    (`filter spoe` without its configuration file)
//!          -> sample     (sample expressions: missing fetch, unclosed arguments, unknown converters)
//!          -> timeouts   (timeout names and time values)
//!          -> actions    (rule actions per rule set, track-sc numbers, experimental actions)
//!          -> params     (bind / server parameters)
//!          -> subkeywords (closed sets: mode, stats, hash-type, compression ...)
//!          -> empty      (the empty word `""` that ends HAProxy's argument list; errors of
//!                         the other checks on such a line become warnings)
//!          -> Vec<Diagnostic>
//! ```
//!
//! Every check aims at zero false alarms: an error is only reported where HAProxy 2.6 refuses
//! to start, a warning where it only warns, and anything we cannot decide offline (names built
//! at run time with `%[...]`, `${VAR}` references, lines inside `.if` blocks whose condition we
//! cannot evaluate) is left alone. The keyword tables are the model's
//! ([`haproxy_model::keywords`]), which say how they were made; `tools/` holds the probe
//! scripts that made them. `tests/it/differential.rs` runs generated configurations through
//! this check and the real `haproxy -c` to hold the zero-false-alarm line.

mod acls;
mod actions;
mod addresses;
mod balance;
mod bytes;
mod context;
mod directives;
mod empty;
mod filters;
mod inherit;
mod keywords;
pub(crate) mod layout;
mod names;
mod params;
mod references;
mod sample;
mod sections;
mod subkeywords;
mod timeouts;

use haproxy_model::{Diagnostic, Document, Line, Position, Severity};

pub(crate) use context::Context;

/// Semantic diagnostics for a parsed document, in line order.
pub fn check_document(document: &Document) -> Vec<Diagnostic> {
    check_with_layout(document, None)
}

/// Semantic diagnostics for a document made of the files `layout` lists (one file when `None`),
/// in (global) line order.
pub(crate) fn check_with_layout(document: &Document, layout: Option<&layout::Layout>) -> Vec<Diagnostic> {
    let context = Context::with_layout(document, layout);
    let mut out = Vec::new();
    keywords::check(&context, &mut out);
    names::check(&context, &mut out);
    references::check(&context, &mut out);
    addresses::check(&context, &mut out);
    balance::check(&context, &mut out);
    inherit::check(&context, &mut out);
    filters::check(&context, &mut out);
    sample::check(&context, &mut out);
    timeouts::check(&context, &mut out);
    actions::check(&context, &mut out);
    params::check(&context, &mut out);
    subkeywords::check(&context, &mut out);
    // A line opening a later file before its first section is out of section for HAProxy,
    // whatever the checks above made of it in the previous file's last section.
    out.retain(|d| !context.is_stray(d.position.line));
    sections::check(&context, &mut out);
    directives::check(&context, &mut out);
    // An error on a line holding an empty word, or a word that may expand to nothing, is
    // uncertain (HAProxy may never read the words it was about): only `empty`'s own findings
    // keep their severity there.
    let mut empty_words = Vec::new();
    let empty = empty::check(&context, &mut empty_words);
    downgrade(&mut out, |line| empty.literal.contains(&line) || empty.possible.contains(&line));
    out.append(&mut empty_words);
    // The ACL check reads conditions up to a literal empty word, as HAProxy does: its errors
    // stand there, but not where a word may expand to nothing.
    let mut conditions = Vec::new();
    acls::check(&context, &mut conditions);
    conditions.retain(|d| !context.is_stray(d.position.line));
    downgrade(&mut conditions, |line| empty.possible.contains(&line));
    out.append(&mut conditions);
    // A line whose section depends on a `.if` block may be read in another section: what was
    // an error in this one is uncertain.
    downgrade(&mut out, |line| context.in_uncertain_section(line));
    bytes::check(context.document, |line| context.starts_file(line), &mut out);
    out.sort_by_key(|d| (d.position.line, d.position.column));
    out
}

/// Turns the errors on lines `uncertain` accepts into warnings.
fn downgrade(diagnostics: &mut [Diagnostic], uncertain: impl Fn(u32) -> bool) {
    for diagnostic in diagnostics.iter_mut().filter(|d| d.is_error() && uncertain(d.position.line)) {
        diagnostic.severity = Severity::Warning;
    }
}

/// Where word `index` of `line` starts (the line's first column when there is no such word).
pub(crate) fn at_word(line: &Line, index: usize) -> Position {
    let index = index.min(line.words().len().saturating_sub(1));
    Position::new(line.position().line, line.column_of(index))
}

/// An error about word `index` of `line`.
pub(crate) fn error(line: &Line, index: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(at_word(line, index), message)
}

/// A warning about word `index` of `line`.
pub(crate) fn warning(line: &Line, index: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic::warning(at_word(line, index), message)
}

/// True when a word's value is only known at run time: environment references (`${VAR}`,
/// `"$VAR"`) or sample expressions (`%[...]`).
pub(crate) fn is_dynamic(value: &str) -> bool {
    value.contains("%[") || value.contains('$')
}
