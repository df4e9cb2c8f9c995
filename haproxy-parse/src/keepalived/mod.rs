//! Parse keepalived.conf text into a lossless [`Document`], and check it offline.
//!
//! ```text
//! &str --lexer--> words and braces with their trivia --tree--> Document + diagnostics
//!      --check--> unknown keywords (tables probed from keepalived 2.2.7), the configuration
//!                 errors keepalived -t reports (vrrp_rules.rs), references (path:line:col)
//!      --settle_with_keepalived--> the real `keepalived -t` verdict decides when it ran
//! ```
//!
//! The offline check gates imports, so it is never stricter than keepalived: an error only
//! where `keepalived -t` surely fails, proven by the differential tests against the binary
//! (tests/it/keepalived_corpus.rs); anything less certain is a warning or nothing.
//!
//! Parsing never fails and never panics: unbalanced braces and unterminated quotes become
//! diagnostics and the document still renders back to the exact input
//! (`haproxy_render::keepalived::lossless(&parse(s).document) == s`). Nothing is expanded:
//! `include`, `$VAR` and `@configid` stay as written; [`resolve_includes`] is the separate,
//! explicit call that reads included files.

pub mod check;
mod include;
mod keywords;
mod lexer;
mod tree;
mod vrrp_rules;

use haproxy_model::keepalived::Document;
use haproxy_model::Diagnostic;

pub use check::settle_with_keepalived;
pub use include::{resolve_includes, IncludeError, IncludedFile};

/// A parsed keepalived document and what is wrong with its syntax.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The document, complete even when there are errors.
    pub document: Document,
    /// Diagnostics in position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses a whole keepalived.conf.
pub fn parse(text: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    let (lead, tokens) = lexer::tokenize(text, &mut diagnostics);
    let document = tree::build(lead, tokens, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    Parsed { document, diagnostics }
}

/// Parses `text` and runs the offline checks; all diagnostics sorted by position.
pub fn check(text: &str) -> Parsed {
    let mut parsed = parse(text);
    let mut semantic = check::check_document(&parsed.document);
    parsed.diagnostics.append(&mut semantic);
    parsed.diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    parsed
}
