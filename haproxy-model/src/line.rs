//! One line of a configuration: indent, words, comment, line ending.

use std::borrow::Cow;

use compact_str::CompactString;

use crate::{LineEnding, Position, Word};

/// What a line is, judged from its first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// Nothing but blanks.
    Blank,
    /// Only a comment, maybe indented.
    Comment,
    /// `.if`, `.elif`, `.else`, `.endif`: conditional blocks (configuration.txt §2.4).
    Conditional(Conditional),
    /// `.notice`, `.warning`, `.alert`, `.diag`: messages emitted while reading the file.
    Message,
    /// Any other statement: a section header or a keyword with its arguments.
    Statement,
}

/// The four conditional block directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conditional {
    /// `.if <condition>`
    If,
    /// `.elif <condition>`
    Elif,
    /// `.else`
    Else,
    /// `.endif`
    Endif,
}

/// A line kept losslessly: rendering it gives back exactly the bytes it was parsed from.
///
/// Layout: `indent`, then each word followed by its own trailing blanks, then the comment
/// (from `#` to the line end), then the line ending.
#[derive(Debug, Clone, Default)]
pub struct Line {
    indent: CompactString,
    words: Vec<Word>,
    comment: Option<CompactString>,
    ending: LineEnding,
    position: Position,
}

impl PartialEq for Line {
    fn eq(&self, other: &Self) -> bool {
        // Position is where the line came from, not what it is.
        self.indent == other.indent
            && self.words == other.words
            && self.comment == other.comment
            && self.ending == other.ending
    }
}

impl Eq for Line {}

impl Line {
    /// A statement made of `values`, quoted as needed and separated by single spaces.
    pub fn statement<S: AsRef<str>>(indent: &str, values: &[S]) -> Self {
        let mut line = Line { indent: indent.into(), ..Line::default() };
        for value in values {
            line.push_word(value.as_ref());
        }
        line
    }

    /// A line from its parts as written. Used by the parser.
    pub fn from_parts(
        indent: impl Into<CompactString>,
        words: Vec<Word>,
        comment: Option<CompactString>,
        ending: LineEnding,
        position: Position,
    ) -> Self {
        Line { indent: indent.into(), words, comment, ending, position }
    }

    /// An empty line.
    pub fn blank() -> Self {
        Line::default()
    }

    /// A comment line; `text` is the comment without the leading `#`.
    pub fn comment_line(indent: &str, text: &str) -> Self {
        Line { indent: indent.into(), comment: Some(format!("#{text}").into()), ..Line::default() }
    }

    /// The blanks before the first word or comment.
    pub fn indent(&self) -> &str {
        &self.indent
    }

    /// Replaces the indentation.
    pub fn set_indent(&mut self, indent: &str) {
        self.indent = indent.into();
        self.drop_lone_cr_tail();
    }

    /// The words, in order.
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The words, for editing in place (blanks and raw text included).
    pub fn words_mut(&mut self) -> &mut Vec<Word> {
        &mut self.words
    }

    /// The comment from `#` to the end of line, as written.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Sets or removes the comment (given with its `#`).
    pub fn set_comment(&mut self, comment: Option<&str>) {
        if let (Some(_), Some(last)) = (comment, self.words.last_mut()) {
            if last.after().is_empty() {
                last.set_after(" ");
                last.protect_before_blank();
            }
        }
        self.comment = comment.map(Into::into);
        self.drop_lone_cr_tail();
    }

    /// How the line ends.
    pub fn ending(&self) -> LineEnding {
        self.ending
    }

    /// Replaces the line ending. A lone `\r` closing the line's blanks or comment is dropped when
    /// a bare `\n` follows it: `\r\n` would read back as a CRLF ending, not as the same line.
    pub fn set_ending(&mut self, ending: LineEnding) {
        self.ending = ending;
        self.drop_lone_cr_tail();
    }

    /// Keeps the invariant every parsed line has: an LF line never ends its text with `\r`.
    /// Edits that change the end of a line call it.
    fn drop_lone_cr_tail(&mut self) {
        if self.ending != LineEnding::Lf {
            return;
        }
        let tail = match (&mut self.comment, self.words.last_mut()) {
            (Some(comment), _) => comment,
            (None, Some(last)) => last.after_mut(),
            (None, None) => &mut self.indent,
        };
        while tail.ends_with('\r') {
            tail.pop();
        }
    }

    /// Where the line was in its source (line 0 for lines built in code).
    pub fn position(&self) -> Position {
        self.position
    }

    /// What kind of line this is.
    pub fn kind(&self) -> LineKind {
        let Some(first) = self.words.first() else {
            return if self.comment.is_some() { LineKind::Comment } else { LineKind::Blank };
        };
        // Only a word whose text starts with `.`, a quote or an escape can read as `.if` & co;
        // checking that first keeps this off the parser's hot path.
        if !matches!(first.raw().as_bytes().first(), Some(b'.' | b'"' | b'\'' | b'\\')) {
            return LineKind::Statement;
        }
        // HAProxy unquotes before it compares, so `".if"` is a conditional too.
        match first.value().as_ref() {
            ".if" => LineKind::Conditional(Conditional::If),
            ".elif" => LineKind::Conditional(Conditional::Elif),
            ".else" => LineKind::Conditional(Conditional::Else),
            ".endif" => LineKind::Conditional(Conditional::Endif),
            ".notice" | ".warning" | ".alert" | ".diag" => LineKind::Message,
            _ => LineKind::Statement,
        }
    }

    /// True for lines with no words (blank or comment only).
    pub fn is_trivia(&self) -> bool {
        self.words.is_empty()
    }

    /// The first word's value, the statement's keyword.
    pub fn keyword(&self) -> Option<Cow<'_, str>> {
        self.words.first().map(Word::value)
    }

    /// The value of word `index` (0 is the keyword).
    pub fn value(&self, index: usize) -> Option<Cow<'_, str>> {
        self.words.get(index).map(Word::value)
    }

    /// The values of all words.
    pub fn values(&self) -> Vec<Cow<'_, str>> {
        self.words.iter().map(Word::value).collect()
    }

    /// The 1-based column where word `index` starts, counted in characters.
    pub fn column_of(&self, index: usize) -> u32 {
        let mut column = self.indent.chars().count();
        for word in self.words.iter().take(index) {
            column += word.raw().chars().count() + word.after().chars().count();
        }
        (column + 1) as u32
    }

    /// Sets the value of word `index`, re-quoting as needed; the rest of the line is untouched.
    /// Returns false when there is no such word.
    pub fn set_value(&mut self, index: usize, value: &str) -> bool {
        match self.words.get_mut(index) {
            Some(word) => {
                word.set_value(value);
                true
            }
            None => false,
        }
    }

    /// Appends a word holding `value`, before any comment.
    pub fn push_word(&mut self, value: &str) {
        let len = self.words.len();
        self.insert_word(len, value);
    }

    /// Inserts a word holding `value` at `index` (clamped to the end), separated by one space.
    pub fn insert_word(&mut self, index: usize, value: &str) {
        let index = index.min(self.words.len());
        let mut word = Word::new(value);
        if index == self.words.len() {
            // The new last word inherits what followed the old last word (blanks before a comment).
            match self.words.last_mut() {
                Some(last) => {
                    word.set_after(last.after().to_string());
                    last.set_after(" ");
                    last.protect_before_blank();
                }
                None if self.comment.is_some() => word.set_after(" "),
                None => {}
            }
        } else {
            word.set_after(" ");
        }
        self.words.insert(index, word);
    }

    /// Removes word `index`; the blanks that followed the last word stay at the line's end.
    pub fn remove_word(&mut self, index: usize) -> Option<Word> {
        if index >= self.words.len() {
            return None;
        }
        let removed = self.words.remove(index);
        if index == self.words.len() {
            if let Some(last) = self.words.last_mut() {
                last.set_after(removed.after().to_string());
            }
        }
        self.drop_lone_cr_tail();
        Some(removed)
    }

    /// Writes the line exactly as it is held.
    pub fn render_into(&self, out: &mut String) {
        out.push_str(&self.indent);
        for word in &self.words {
            out.push_str(word.raw());
            out.push_str(word.after());
        }
        if let Some(comment) = &self.comment {
            out.push_str(comment);
        }
        out.push_str(self.ending.as_str());
    }

    /// The line's text without its ending.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out.truncate(out.len() - self.ending.as_str().len());
        out
    }
}
