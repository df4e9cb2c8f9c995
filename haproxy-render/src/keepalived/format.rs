//! The canonical keepalived layout (`fleet keepalived fmt`).
//!
//! One statement per line, four spaces per block level, single spaces between words, `{` on
//! the header's line, `}` on its own line, comments kept (trailing ones stay trailing, full-line
//! ones are re-indented), runs of blank lines collapsed to one and none just inside braces,
//! a final line ending, CRLF kept when the input used it. Words keep their raw text: quoting is
//! never changed, so the values keepalived reads are the same. `\` continuations are kept.
//!
//! Formatting is idempotent. It is meant for documents without syntax errors: an unclosed block
//! stays unclosed and a stray `}` stays where it was.

use haproxy_model::keepalived::{Document, Statement, Word};

/// The indentation of one block level.
pub const INDENT: &str = "    ";

/// What the trivia after a token holds, once layout is thrown away.
#[derive(Debug, Default)]
struct Trivia<'a> {
    /// A comment on the same line as the token.
    trailing: Option<&'a str>,
    /// A `\` continuation right after the token.
    continuation: bool,
    /// Full-line comments and blank lines before the next token.
    items: Vec<Item<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item<'a> {
    Blank,
    Comment(&'a str),
}

fn analyse(after: &str) -> Trivia<'_> {
    let mut trivia = Trivia::default();
    let segments: Vec<&str> = after.split('\n').collect();
    let count = segments.len();
    for (i, segment) in segments.iter().enumerate() {
        let text = segment.trim_matches(|c: char| c.is_whitespace());
        if i == 0 {
            if text.ends_with('\\') && !text.starts_with(['#', '!']) {
                trivia.continuation = true;
            } else if !text.is_empty() {
                trivia.trailing = Some(text);
            }
        } else if !text.is_empty() {
            trivia.items.push(Item::Comment(text));
        } else if i + 1 < count {
            trivia.items.push(Item::Blank);
        }
    }
    trivia
}

struct Emitter<'a> {
    lines: Vec<String>,
    current: Option<String>,
    trailing: Option<&'a str>,
    pending: Vec<Item<'a>>,
    /// True when the last finished line opened a block (no blank line may follow it).
    after_open: bool,
}

fn indent(depth: usize) -> String {
    INDENT.repeat(depth)
}

impl<'a> Emitter<'a> {
    fn finish_line(&mut self) {
        if let Some(mut line) = self.current.take() {
            if let Some(comment) = self.trailing.take() {
                line.push(' ');
                line.push_str(comment);
            }
            self.after_open = line.ends_with('{');
            self.lines.push(line);
        } else if let Some(comment) = self.trailing.take() {
            self.pending.insert(0, Item::Comment(comment));
        }
    }

    /// Writes pending comments and blank lines at `depth`; `closing` drops blank lines that
    /// would end up just before a `}` (or the end of the file).
    fn flush_pending(&mut self, depth: usize, closing: bool) {
        let mut pending = std::mem::take(&mut self.pending);
        if closing {
            while pending.last() == Some(&Item::Blank) {
                pending.pop();
            }
        }
        for item in pending {
            match item {
                Item::Blank => {
                    let last_blank = self.lines.last().is_some_and(String::is_empty);
                    if !self.lines.is_empty() && !last_blank && !self.after_open {
                        self.lines.push(String::new());
                    }
                }
                Item::Comment(text) => {
                    self.lines.push(format!("{}{text}", indent(depth)));
                    self.after_open = false;
                }
            }
        }
    }

    fn start_line(&mut self, depth: usize, closing: bool) {
        self.finish_line();
        self.flush_pending(depth, closing);
        self.current = Some(indent(depth));
    }

    fn push(&mut self, raw: &str) {
        self.push_after(" ", raw);
    }

    /// Appends `raw`, after `separator` unless it starts the line.
    fn push_after(&mut self, separator: &str, raw: &str) {
        let line = self.current.get_or_insert_with(String::new);
        if !line.trim_start().is_empty() {
            line.push_str(separator);
        }
        line.push_str(raw);
    }

    fn absorb(&mut self, after: &'a str) -> bool {
        let trivia = analyse(after);
        if let Some(comment) = trivia.trailing {
            if let Some(previous) = self.trailing.replace(comment) {
                self.pending.push(Item::Comment(previous));
            }
        }
        self.pending.extend(trivia.items);
        trivia.continuation
    }

    fn statement(&mut self, statement: &'a Statement, depth: usize) {
        let words = statement.words();
        // A `$NAME=value` definition is stored as text: its inner blanks are part of the value,
        // and a `\` ending its last line (before a blank line) keeps it a multi-line definition.
        let definition = statement.is_definition();
        if !words.is_empty() {
            self.start_line(depth, false);
            let mut separator = " ";
            for (i, word) in words.iter().enumerate() {
                self.push_after(separator, word.raw());
                separator = match word.after() {
                    blanks if definition && !blanks.is_empty() && blanks.chars().all(|c| c == ' ' || c == '\t') => {
                        blanks
                    }
                    _ => " ",
                };
                let continues = self.absorb(word.after());
                let last = i + 1 == words.len();
                if continues && (!last || definition) {
                    if let Some(line) = self.current.as_mut() {
                        line.push_str(" \\");
                    }
                    self.finish_line();
                    if last {
                        // Nothing may join the definition: the blank line that ended it stays.
                        self.lines.push(String::new());
                    } else {
                        self.current = Some(indent(depth + 1));
                    }
                }
            }
        }
        let Some(block) = statement.block() else { return };
        if words.is_empty() {
            self.start_line(depth, false);
        }
        self.push("{");
        self.absorb(block.open().after());
        for inner in block.statements() {
            self.statement(inner, depth + 1);
        }
        if let Some(close) = block.close() {
            self.close(close, depth);
        }
    }

    fn close(&mut self, close: &'a Word, depth: usize) {
        self.start_line(depth, true);
        self.push("}");
        self.absorb(close.after());
    }
}

/// The canonical layout of `document`.
pub fn format(document: &Document) -> String {
    let crlf = document.lead().contains("\r\n") || first_ending_is_crlf(document);
    // The lead starts at the beginning of a line: every part of it is a full line.
    let lead = format!("\n{}", document.lead());
    let mut emitter =
        Emitter { lines: Vec::new(), current: None, trailing: None, pending: Vec::new(), after_open: false };
    emitter.pending.extend(analyse(&lead).items);
    for statement in document.statements() {
        emitter.statement(statement, 0);
    }
    emitter.finish_line();
    emitter.flush_pending(0, true);
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for line in &emitter.lines {
        out.push_str(line);
        out.push_str(eol);
    }
    out
}

fn first_ending_is_crlf(document: &Document) -> bool {
    fn find(statements: &[Statement]) -> Option<bool> {
        for statement in statements {
            let tokens = statement
                .words()
                .iter()
                .chain(statement.block().map(|b| b.open()))
                .chain(statement.block().and_then(|b| b.close()));
            for word in tokens {
                if let Some(at) = word.after().find('\n') {
                    return Some(word.after()[..at].ends_with('\r'));
                }
            }
            if let Some(found) = statement.block().and_then(|b| find(b.statements())) {
                return Some(found);
            }
        }
        None
    }
    find(document.statements()).unwrap_or(false)
}
