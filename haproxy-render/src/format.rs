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
//!   (One exception keeps a word intact: a line whose last word ends with a `\r`, escaped or
//!   inside an unterminated quote, ends with CRLF so that the `\r` stays in the word.)
//!
//! The raw text of every word is kept exactly as written (quoting and escapes included), so a
//! valid configuration stays valid, and comments keep their text. Formatting is idempotent:
//! `format(parse(format(d))) == format(d)`.

use haproxy_model::{Conditional, Document, Line, LineKind, CANONICAL_INDENT};

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
        for (i, word) in line.words().iter().enumerate() {
            if i > 0 {
                self.text.push(' ');
            }
            self.text.push_str(word.raw());
        }
        if let Some(comment) = line.comment() {
            if !line.words().is_empty() {
                self.text.push(' ');
            }
            self.text.push_str(comment.trim_end_matches(is_blank));
        }
        if self.text.ends_with('\r') {
            // The last word itself ends with `\r` (an escaped one, or inside a quote left open):
            // a bare LF would turn it into a CRLF ending and drop it from the word.
            self.text.push('\r');
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
    fn a_word_ending_with_a_carriage_return_keeps_it() {
        let text = "global\n  log \"abc\r\r\n";
        let once = fmt(text);
        assert_eq!(once, "global\n    log \"abc\r\r\n");
        assert_eq!(fmt(&once), once);
    }

    #[test]
    fn a_comment_without_a_blank_before_it_gets_one() {
        assert_eq!(fmt("global\n  maxconn 1#max\n"), "global\n    maxconn 1 #max\n");
    }
}
