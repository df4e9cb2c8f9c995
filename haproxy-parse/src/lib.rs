//! Parse HAProxy configuration text into a lossless [`Document`].
//!
//! ```text
//! &str --split at \n--> physical lines --lexer--> Line (indent, words, comment, ending)
//!      --structure--> Document (preamble + sections) + diagnostics
//! ```
//!
//! Parsing never fails and never panics: every problem becomes a [`Diagnostic`] with line and
//! column, the parser recovers at the end of the line, and the document still renders back to
//! the exact input (`haproxy_render::lossless(&parse(s).document) == s`).
//!
//! Several files loaded together (`haproxy -f a.cfg -f conf.d/b.cfg`) are checked as one
//! configuration by [`check_files`]; [`file_references`] lists the files a configuration
//! names (certificates, maps, error pages ...) for callers that hold those files.
//!
//! Keepalived configuration is parsed by [`keepalived::parse`] (braces, `#`/`!` comments,
//! `include`, `$VAR`, `@configid`) with its offline checks in [`keepalived::check`].

pub mod check;
mod files;
pub mod keepalived;
mod lexer;
mod references;
mod structure;

pub use files::{check_files, SourceFile};
pub use references::{crt_list_references, file_references, FileReference, PathBase, ReferenceKind};

use haproxy_model::{Diagnostic, Document, LineEnding};

/// A parsed document and everything found wrong with its syntax.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The document, complete even when there are errors.
    pub document: Document,
    /// Syntax diagnostics in line order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The document when there is no error, else the diagnostics.
    pub fn into_result(self) -> Result<Document, Vec<Diagnostic>> {
        if self.has_errors() {
            Err(self.diagnostics)
        } else {
            Ok(self.document)
        }
    }
}

/// The maximum number of words HAProxy accepts on one line.
pub const MAX_WORDS_PER_LINE: usize = lexer::MAX_WORDS;

/// Parses a whole configuration file.
pub fn parse(text: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    let mut scratch = Vec::new();
    let document = structure::group(lex_lines(text, 0, &mut diagnostics, &mut scratch));
    structure::check_conditionals(document.lines(), &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    Parsed { document, diagnostics }
}

/// The lines of `text`, lexed as they are read (no intermediate vector of every line), numbered
/// from `offset + 1`.
pub(crate) fn lex_lines<'t>(
    text: &'t str,
    offset: u32,
    diagnostics: &'t mut Vec<Diagnostic>,
    scratch: &'t mut Vec<haproxy_model::Word>,
) -> impl Iterator<Item = haproxy_model::Line> + 't {
    let mut number = offset;
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number = number.saturating_add(1);
        let (content, ending, next) = match rest.find('\n') {
            Some(at) if rest[..at].ends_with('\r') => (&rest[..at - 1], LineEnding::CrLf, &rest[at + 1..]),
            Some(at) => (&rest[..at], LineEnding::Lf, &rest[at + 1..]),
            None => (rest, LineEnding::None, ""),
        };
        rest = next;
        Some(lexer::lex_line_with(content, ending, number, diagnostics, scratch))
    })
}

/// Parses `text` and runs every offline check: syntax diagnostics first, then semantic ones,
/// sorted by position.
pub fn check(text: &str) -> Parsed {
    let mut parsed = parse(text);
    let mut semantic = check::check_document(&parsed.document);
    parsed.diagnostics.append(&mut semantic);
    parsed.diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    parsed
}

/// Parses one line on its own (no section structure); handy for building edits from text.
pub fn parse_line(text: &str) -> Result<haproxy_model::Line, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    if text.contains('\n') {
        diagnostics.push(Diagnostic::error(
            haproxy_model::Position::new(1, lexer::column_at(text, text.find('\n').unwrap_or(0))),
            "a single line cannot contain a line break",
        ));
        return Err(diagnostics);
    }
    let line = lexer::lex_line(text, LineEnding::Lf, 1, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        Err(diagnostics)
    } else {
        Ok(line)
    }
}
