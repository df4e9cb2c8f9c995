//! Offline checks of a keepalived document (validation level 2): what `keepalived -t` rejects,
//! found without running keepalived.
//!
//! ```text
//! Document -> keywords per block (keywords.rs) -> VRRP instance rules (vrrp_rules.rs)
//!          -> references, parameters -> Vec<Diagnostic>
//! ```
//! The gate is never stricter than keepalived: an error only where `keepalived -t` surely
//! fails (it exits non-zero on every configuration error it reports, warnings included), each
//! rule quoting the message keepalived 2.2.7 prints. What the check cannot see makes it
//! silent, never louder:
//! - text keepalived rewrites or pulls in before reading keywords (`include` at any depth,
//!   `$NAME=` definitions and `$NAME` / `${NAME}` uses, `~SEQ` / `~LST`): a block holding any
//!   of it is not judged for what it lacks, and references are not checked;
//! - `@configid` lines apply only on the node whose id matches: findings on them, or inside a
//!   block they open, are warnings.

use std::collections::HashSet;

use haproxy_model::keepalived::{Block, Document, Statement, Word};
use haproxy_model::{Diagnostic, Position};

use super::keywords;
use super::vrrp_rules;

/// The `include` forms keepalived reads before matching keywords (lib/parser.c `is_include`).
const INCLUDES: &[&str] = &["include", "includer", "includem", "includew", "includeb", "includea"];

/// Parameters keepalived defines itself (lib/parser.c `set_std_definitions`).
const STD_DEFINITIONS: &[&str] = &["_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"];

/// Semantic diagnostics for a parsed document, in position order.
pub fn check_document(document: &Document) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    check_keywords(document.statements(), None, None, false, &mut diagnostics);
    let context = Context::of(document);
    vrrp_rules::check(document, &context, &mut diagnostics);
    check_parameters(document, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    diagnostics
}

/// What the whole document holds that limits what can be known offline.
pub(crate) struct Context {
    /// The file has an include somewhere: an included file may carry any text, even the
    /// missing part of a block.
    pub(crate) includes: bool,
    /// The file may hold more top-level blocks than it shows: an include anywhere, a `~SEQ`,
    /// or a top-level statement built from parameters.
    pub(crate) opaque: bool,
    /// Some `$NAME=` definition spans lines or holds braces: any `$` use may expand to
    /// statements or blocks, not just to a word.
    pub(crate) complex_definitions: bool,
    /// `global_defs` sets `default_interface`.
    pub(crate) default_interface: bool,
    /// `global_defs` has `vrrp_strict`.
    pub(crate) vrrp_strict: bool,
    /// `global_defs` sets `vrrp_version 3`.
    pub(crate) vrrp_version_3: bool,
}

impl Context {
    fn of(document: &Document) -> Context {
        let globals: Vec<&Block> = document.find_all("global_defs").filter_map(Statement::block).collect();
        let mut all = Vec::new();
        walk(document.statements(), false, &mut all);
        let complex_definitions = all.iter().any(|(s, _)| {
            s.is_definition() && s.words().iter().any(|w| w.raw().contains(['{', '}']) || w.after().contains('\\'))
        });
        let includes = all.iter().any(|(s, _)| is_include(s));
        let opaque = includes
            || all.iter().any(|(s, _)| s.keyword_word().is_some_and(|w| w.raw().starts_with('~')))
            || document.statements().iter().any(|s| !s.is_definition() && s.words().iter().any(|w| w.raw().contains('$')));
        Context {
            includes,
            opaque,
            complex_definitions,
            default_interface: globals.iter().any(|b| b.has("default_interface")),
            vrrp_strict: globals.iter().any(|b| b.has("vrrp_strict")),
            vrrp_version_3: globals.iter().any(|b| b.value("vrrp_version").as_deref() == Some("3")),
        }
    }

    /// True when `statement` (or anything inside its block) makes keepalived read text the
    /// check cannot see there: an include, a line built from a parameter (`$LINE`, `~SEQ`),
    /// or any parameter use when some definition may expand to more than a word.
    ///
    /// Inside sub-blocks a line starting with `$` is not a keyword line (it is an address of
    /// `virtual_ipaddress`, a member of `track_script` ...): there a simple parameter stays one
    /// entry, so only includes, `~` lines and complex definitions hide text.
    pub(crate) fn hides_text(&self, statement: &Statement) -> bool {
        (!statement.is_definition() && statement.keyword_word().is_some_and(|w| w.raw().starts_with('$')))
            || self.hides_text_inside(statement)
    }

    fn hides_text_inside(&self, statement: &Statement) -> bool {
        is_include(statement)
            || statement.keyword_word().is_some_and(|w| w.raw().starts_with('~'))
            || (self.complex_definitions && statement.words().iter().any(|w| w.raw().contains('$')))
            || statement.block().is_some_and(|b| b.statements().iter().any(|s| self.hides_text_inside(s)))
    }
}

/// True for `include PATTERN` in any of its forms, at any depth (keepalived reads includes in
/// `read_line`, before it knows which block it is in).
pub(crate) fn is_include(statement: &Statement) -> bool {
    statement.keyword().is_some_and(|k| INCLUDES.contains(&k.as_ref())) && !statement.args().is_empty()
}

/// True for statements keepalived rewrites or skips before matching keywords.
fn is_preprocessed(statement: &Statement) -> bool {
    statement.is_definition()
        || statement.keyword_word().is_none_or(|w| w.raw().starts_with(['$', '~', '}']) || w.raw().contains('$'))
}

/// An error, or a warning when the statement applies only on some nodes (`@configid`).
pub(crate) fn finding(conditional: bool, position: Position, message: String) -> Diagnostic {
    if conditional {
        Diagnostic::warning(position, message)
    } else {
        Diagnostic::error(position, message)
    }
}

fn check_keywords(
    statements: &[Statement],
    parent: Option<&str>,
    block: Option<&str>,
    conditional: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let allowed = keywords::allowed(parent, block);
    for statement in statements {
        let keyword = statement.keyword();
        let conditional = conditional || statement.config_id().is_some();
        if let (Some(allowed), Some(keyword), Some(word)) = (allowed, keyword.as_deref(), statement.keyword_word()) {
            if !is_preprocessed(statement) && !is_include(statement) && !allowed.contains(&keyword) {
                let place = block.map_or_else(|| "at top level".to_string(), |b| format!("in {b}"));
                diagnostics.push(finding(conditional, word.position(), format!("unknown keyword '{keyword}' {place}")));
            }
        }
        if let Some(inner) = statement.block() {
            check_keywords(inner.statements(), block, keyword.as_deref(), conditional, diagnostics);
        }
    }
}

/// Every statement, depth first, with whether it or a block around it is `@configid`-conditional.
pub(crate) fn walk<'a>(statements: &'a [Statement], conditional: bool, out: &mut Vec<(&'a Statement, bool)>) {
    for statement in statements {
        let conditional = conditional || statement.config_id().is_some();
        out.push((statement, conditional));
        if let Some(block) = statement.block() {
            walk(block.statements(), conditional, out);
        }
    }
}

/// The `${NAME}` uses in `word`, as the names. Words with double quotes are left alone:
/// keepalived does not look for braces inside `"..."`, so an unknown parameter there is text.
fn braced_uses(word: &Word) -> Vec<&str> {
    let raw = word.raw();
    let mut names = Vec::new();
    if raw.contains('"') {
        return names;
    }
    let mut rest = raw;
    while let Some(at) = rest.find("${") {
        let tail = &rest[at + 2..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        if end > 0 {
            names.push(&tail[..end]);
        }
        rest = &tail[end..];
    }
    names
}

/// `${NAME}` with no `$NAME=` definition: keepalived leaves it as written and then reads its
/// braces as a block ("Unknown keyword" and "invalid IP" errors follow). Only judged when the
/// file has no includes and no `~SEQ` / `~LST` (both can define parameters).
fn check_parameters(document: &Document, diagnostics: &mut Vec<Diagnostic>) {
    let mut all = Vec::new();
    walk(document.statements(), false, &mut all);
    let hidden = all.iter().any(|(s, _)| is_include(s) || s.keyword_word().is_some_and(|w| w.raw().starts_with('~')));
    if hidden {
        return;
    }
    let defined: HashSet<&str> = all
        .iter()
        .filter(|(s, _)| s.is_definition())
        .filter_map(|(s, _)| s.keyword_word())
        .filter_map(|w| {
            let name = w.raw().strip_prefix('$')?;
            let end = name.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(name.len());
            Some(&name[..end])
        })
        .collect();
    for (statement, conditional) in all {
        if statement.is_definition() {
            continue;
        }
        for word in statement.words() {
            for name in braced_uses(word) {
                if !defined.contains(name) && !STD_DEFINITIONS.contains(&name) {
                    diagnostics.push(finding(
                        conditional,
                        word.position(),
                        format!("parameter '{name}' is not defined: keepalived reads '${{{name}}}' as braces"),
                    ));
                }
            }
        }
    }
}

/// Lets the real `keepalived -t` decide: when it accepted the file, every offline error becomes
/// a warning saying so (the offline check may be wrong; keepalived is not). When it rejected
/// the file the findings stay as they are.
pub fn settle_with_keepalived(diagnostics: &mut [Diagnostic], keepalived_accepts: bool) {
    if !keepalived_accepts {
        return;
    }
    for diagnostic in diagnostics.iter_mut().filter(|d| d.is_error()) {
        diagnostic.severity = haproxy_model::Severity::Warning;
        diagnostic.message.push_str(" (not confirmed: keepalived -t accepts the file)");
    }
}
