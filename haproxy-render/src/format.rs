//! The canonical renderer behind `fleet config fmt`.
//!
//! It is the one place that normalises layout, so it only touches what carries no meaning for
//! HAProxy (configuration.txt §2.2: words are split on unprotected blanks, leading blanks are
//! ignored, `#` starts a comment):
//!
//! - section headers at column 0, statements and comment-only lines of a section indented with
//!   [`CANONICAL_INDENT`] (four spaces); lines before the first section at column 0;
//! - conditional blocks (`.if`/`.elif`/`.else`/`.endif`) and messages (`.notice` ...) at column 0;
//! - one space between words, a trailing comment one space after the last word, no trailing
//!   blanks;
//! - runs of blank lines collapsed to one, no blank line right after a header or at either end
//!   of the file, exactly one blank line between sections; comment and `.if` lines directly above
//!   a header (no blank line between) belong to that header and move with it;
//! - every line ends with LF, including the last one. HAProxy reads CRLF files too, but a
//!   canonical form has one line ending, and LF is what HAProxy's own examples and packages use.
//!
//! One exception keeps broken lines broken the same way: a word the lexer ended at a lone `\r`
//! while a quote was still open, or right after a lone backslash, keeps its separator as
//! written, since a space there would join it with the next word.
//!
//! The raw text of every word is kept exactly as written (quoting and escapes included), so a
//! valid configuration stays valid, and comments keep their text. Formatting is idempotent:
//! `format(parse(format(d))) == format(d)`.

use haproxy_model::{Conditional, Document, Line, LineKind, Word, CANONICAL_INDENT};

/// Renders `document` in the canonical layout described in the module docs.
pub fn format(document: &Document) -> String {
    let mut out = Output::default();
    let mut pending: Vec<&Line> = document.preamble().iter().collect();
    let mut body_indent = "";
    for section in document.sections() {
        let attached = attached_start(&pending);
        out.chunk(&pending[..attached], body_indent);
        out.section_break();
        for line in &pending[attached..] {
            out.line(line, "");
        }
        out.line(section.header(), "");
        pending = section.lines().iter().collect();
        body_indent = CANONICAL_INDENT;
    }
    out.chunk(&pending, body_indent);
    out.text
}

/// Index of the first line of the run of comment and `.if` lines that ends `lines` (with no
/// blank line in between): those lines introduce the header that follows.
fn attached_start(lines: &[&Line]) -> usize {
    let introduces_header = |line: &&Line| {
        matches!(line.kind(), LineKind::Comment | LineKind::Conditional(Conditional::If))
    };
    lines.iter().rposition(|line| !introduces_header(line)).map_or(0, |i| i + 1)
}

/// HAProxy's blanks (configuration.txt §2.2), plus a lone `\r` that the lexer counts as one.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\r')
}

/// True for a word a following space would join: one left inside an open quote, or ending in
/// a lone backslash (which would escape the space). The lexer ended such a word at a `\r`, so
/// its original separator is kept as written. Scans quotes and escapes as the lexer does
/// (configuration.txt §2.2): a backslash escapes the next byte outside quotes and inside `"`.
fn absorbs_a_blank(word: &Word) -> bool {
    let bytes = word.raw().as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), b) if b == q => quote = None,
            (None | Some(b'"'), b'\\') => {
                if i + 1 == bytes.len() {
                    return true;
                }
                i += 1;
            }
            (None, b @ (b'"' | b'\'')) => quote = Some(b),
            _ => {}
        }
        i += 1;
    }
    quote.is_some()
}

/// The text being built.
#[derive(Default)]
struct Output {
    text: String,
}

impl Output {
    /// Writes the body of a section (or the preamble): blank runs collapse to one, and blank
    /// lines at the start or end of the chunk are dropped.
    fn chunk(&mut self, lines: &[&Line], indent: &str) {
        let mut blank_pending = false;
        let mut wrote = false;
        for line in lines {
            if line.kind() == LineKind::Blank {
                blank_pending = wrote;
                continue;
            }
            if blank_pending {
                self.text.push('\n');
                blank_pending = false;
            }
            self.line(line, indent);
            wrote = true;
        }
    }

    /// The single blank line that separates a section from whatever comes before it.
    fn section_break(&mut self) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
    }

    /// Writes one non-blank line with `indent` for statements and comments.
    fn line(&mut self, line: &Line, indent: &str) {
        let indent = match line.kind() {
            LineKind::Conditional(_) | LineKind::Message => "",
            LineKind::Blank | LineKind::Comment | LineKind::Statement => indent,
        };
        self.text.push_str(indent);
        let words = line.words();
        for (i, word) in words.iter().enumerate() {
            self.text.push_str(word.raw());
            let more = i + 1 < words.len() || line.comment().is_some();
            if more {
                if absorbs_a_blank(word) {
                    self.text.push_str(word.after());
                } else {
                    self.text.push(' ');
                }
            }
        }
        if let Some(comment) = line.comment() {
            self.text.push_str(comment.trim_end_matches(is_blank));
        }
        self.text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format(&haproxy_parse::parse(text).document)
    }

    #[test]
    fn indents_statements_and_puts_headers_at_column_zero() {
        let text = "  global\n\tmaxconn   100\t# limit  \nbackend app\nserver s1 10.0.0.1:80\tcheck\n";
        assert_eq!(
            fmt(text),
            "global\n    maxconn 100 # limit\n\nbackend app\n    server s1 10.0.0.1:80 check\n"
        );
    }

    #[test]
    fn collapses_blank_runs_and_separates_sections_by_one_blank_line() {
        let text = "\n\nglobal\n\n\n    log stdout local0\n\n\n\n    maxconn 10\n\n\n\ndefaults\n\n";
        assert_eq!(fmt(text), "global\n    log stdout local0\n\n    maxconn 10\n\ndefaults\n");
    }

    #[test]
    fn comments_directly_above_a_header_move_with_it() {
        let text = "global\n  maxconn 1\n  # about the backend\n.if defined(X)\nbackend b\n  mode http\n.endif\n";
        assert_eq!(
            fmt(text),
            "global\n    maxconn 1\n\n# about the backend\n.if defined(X)\nbackend b\n    mode http\n.endif\n"
        );
    }

    #[test]
    fn comments_separated_from_the_next_header_stay_in_their_section() {
        let text = "backend a\n  server s1 127.0.0.1:80\n  #server s2 127.0.0.1:81\n\nbackend b\n";
        assert_eq!(
            fmt(text),
            "backend a\n    server s1 127.0.0.1:80\n    #server s2 127.0.0.1:81\n\nbackend b\n"
        );
    }

    #[test]
    fn keeps_quoting_and_escapes_as_written() {
        let text = "frontend f\n  http-request set-header X-A \"a  b\"   'c  d'  e\\ \\ f\n";
        assert_eq!(fmt(text), "frontend f\n    http-request set-header X-A \"a  b\" 'c  d' e\\ \\ f\n");
    }

    #[test]
    fn writes_lf_endings_and_a_final_newline() {
        assert_eq!(fmt("global\r\n  maxconn 1\r\ndefaults\r\n  mode http"), "global\n    maxconn 1\n\ndefaults\n    mode http\n");
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n  \n"), "");
    }

    #[test]
    fn preamble_comments_stay_at_column_zero() {
        assert_eq!(fmt("  # file header\n\n\n  # about global\nglobal\n"), "# file header\n\n# about global\nglobal\n");
    }

    #[test]
    fn words_ended_by_a_lone_carriage_return_stay_apart() {
        for (text, want) in [
            ("global\n  log \"abc\r\r\n", "global\n    log \"abc\n"),
            ("global\n  log 'a\r  b'  c\n", "global\n    log 'a\r  b'  c\n"),
            ("global\n  log a\\\rb   c\n", "global\n    log a\\\rb c\n"),
            ("global\n  log 'a\r#x\n", "global\n    log 'a\r#x\n"),
            ("\"\\x\rglobal", "\"\\x\rglobal\n"),
        ] {
            let once = fmt(text);
            assert_eq!(once, want, "{text:?}");
            assert_eq!(fmt(&once), once, "{text:?}");
        }
    }

    #[test]
    fn a_comment_without_a_blank_before_it_gets_one() {
        assert_eq!(fmt("global\n  maxconn 1#max\n"), "global\n    maxconn 1 #max\n");
    }
}
