//! The keepalived document tree: statements, blocks, and the trivia between them.
//!
//! Keepalived reads a file as statements separated by line breaks and by braces: a `{` or `}`
//! outside quotes always ends the statement before it (lib/parser.c `read_line` splits the line
//! there), so `virtual_ipaddress { 10.0.0.1/32 }` is the statement `virtual_ipaddress`, a block
//! holding the statement `10.0.0.1/32`, and the block's end. A block belongs to the statement
//! just before its `{`, whether the brace is on the same line or the next.
//!
//! Every byte is held: the [`Document`] lead (trivia before the first word), then each word and
//! brace with the trivia that follows it. Rendering concatenates them in order.

use std::borrow::Cow;

use crate::keepalived::Word;
use crate::Position;

/// A whole keepalived.conf, kept losslessly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    lead: String,
    statements: Vec<Statement>,
}

impl Document {
    /// A document from its parts: the trivia before the first word, and the top-level statements.
    pub fn from_parts(lead: impl Into<String>, statements: Vec<Statement>) -> Self {
        Document { lead: lead.into(), statements }
    }

    /// Blank lines, comments and indentation before the first word.
    pub fn lead(&self) -> &str {
        &self.lead
    }

    /// The top-level statements, in order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The top-level statements, for editing.
    pub fn statements_mut(&mut self) -> &mut Vec<Statement> {
        &mut self.statements
    }

    /// The top-level statements whose keyword is `keyword`.
    pub fn find_all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Statement> + 'a {
        self.statements.iter().filter(move |s| s.keyword().as_deref() == Some(keyword))
    }

    /// Writes the document exactly as held.
    pub fn render_into(&self, out: &mut String) {
        out.push_str(&self.lead);
        for statement in &self.statements {
            statement.render_into(out);
        }
    }
}

/// One statement: its words (an optional `@configid` prefix, the keyword, the arguments) and
/// the block that follows it, if any.
///
/// A statement may have no words: a `{` with no statement before it opens an anonymous block,
/// and a `}` with no block to close is kept as a statement whose only word is `}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    words: Vec<Word>,
    block: Option<Block>,
}

impl Statement {
    /// A statement from its words and optional block.
    pub fn new(words: Vec<Word>, block: Option<Block>) -> Self {
        Statement { words, block }
    }

    /// A statement from values, quoted as needed, separated by single spaces and followed by
    /// `after` (for instance `"\n    "`).
    pub fn from_values<S: AsRef<str>>(values: &[S], after: &str) -> Self {
        let mut words: Vec<Word> = values.iter().map(|v| Word::new(v.as_ref())).collect();
        let count = words.len();
        for (i, word) in words.iter_mut().enumerate() {
            word.set_after(if i + 1 == count { after } else { " " });
        }
        Statement { words, block: None }
    }

    /// Every word, prefix and keyword included.
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The words, for editing in place.
    pub fn words_mut(&mut self) -> &mut Vec<Word> {
        &mut self.words
    }

    /// The block after the statement.
    pub fn block(&self) -> Option<&Block> {
        self.block.as_ref()
    }

    /// The block after the statement, for editing.
    pub fn block_mut(&mut self) -> Option<&mut Block> {
        self.block.as_mut()
    }

    /// Sets or removes the block.
    pub fn set_block(&mut self, block: Option<Block>) {
        self.block = block;
    }

    /// The `@configid` (or `@^configid`) prefix, without its `@`.
    pub fn config_id(&self) -> Option<&str> {
        self.words.first().and_then(|w| w.raw().strip_prefix('@'))
    }

    fn keyword_index(&self) -> usize {
        usize::from(self.config_id().is_some())
    }

    /// The keyword, after any `@configid` prefix.
    pub fn keyword(&self) -> Option<Cow<'_, str>> {
        self.keyword_word().map(Word::value)
    }

    /// The keyword's word.
    pub fn keyword_word(&self) -> Option<&Word> {
        self.words.get(self.keyword_index())
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[Word] {
        self.words.get(self.keyword_index() + 1..).unwrap_or(&[])
    }

    /// The value of argument `index` (0 is the first word after the keyword).
    pub fn arg(&self, index: usize) -> Option<Cow<'_, str>> {
        self.args().get(index).map(Word::value)
    }

    /// The values of all arguments.
    pub fn arg_values(&self) -> Vec<String> {
        self.args().iter().map(|w| w.value().into_owned()).collect()
    }

    /// Sets argument `index` (re-quoting as needed); false when there is no such argument.
    pub fn set_arg(&mut self, index: usize, value: &str) -> bool {
        let at = self.keyword_index() + 1 + index;
        match self.words.get_mut(at) {
            Some(word) => {
                word.set_value(value);
                true
            }
            None => false,
        }
    }

    /// Appends an argument after the last word; the new word inherits the old last word's trivia.
    pub fn push_arg(&mut self, value: &str) {
        let mut word = Word::new(value);
        match self.words.last_mut() {
            Some(last) => {
                word.set_after(last.after().to_string());
                last.set_after(" ");
            }
            None => word.set_after("\n"),
        }
        self.words.push(word);
    }

    /// True for a `$NAME=value` parameter definition (kept unexpanded).
    pub fn is_definition(&self) -> bool {
        let mut words = self.words.iter().skip(self.keyword_index()).take(2).map(Word::raw);
        let text = match (words.next(), words.next()) {
            (Some(first), Some(second)) => format!("{first} {second}"),
            (Some(first), None) => first.to_string(),
            _ => return false,
        };
        is_definition_start(&text)
    }

    /// Where the statement starts: its first word, else its block's `{`.
    pub fn position(&self) -> Position {
        match (self.words.first(), &self.block) {
            (Some(word), _) => word.position(),
            (None, Some(block)) => block.open().position(),
            (None, None) => Position::default(),
        }
    }

    /// The last word or brace of the statement (the one whose trivia ends it).
    pub fn last_token(&self) -> Option<&Word> {
        match &self.block {
            Some(block) => Some(block.last_token()),
            None => self.words.last(),
        }
    }

    /// The last word or brace of the statement, for editing its trivia.
    pub fn last_token_mut(&mut self) -> Option<&mut Word> {
        match &mut self.block {
            Some(block) => Some(block.last_token_mut()),
            None => self.words.last_mut(),
        }
    }

    /// Writes the statement exactly as held.
    pub fn render_into(&self, out: &mut String) {
        for word in &self.words {
            out.push_str(word.raw());
            out.push_str(word.after());
        }
        if let Some(block) = &self.block {
            block.render_into(out);
        }
    }
}

/// True when `text` starts a `$NAME=value` definition (lib/parser.c `check_definition`):
/// `$`, a name of letters, digits and `_` not starting with a digit, optional blanks, `=`.
pub fn is_definition_start(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else { return false };
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return false;
    }
    let after_name = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    after_name.trim_start_matches([' ', '\t']).starts_with('=')
}

/// A `{ ... }` block: the opening brace, the statements inside, the closing brace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    open: Word,
    statements: Vec<Statement>,
    close: Option<Word>,
}

impl Block {
    /// A block from its parts; `close` is `None` only for a block left open at the end of input.
    pub fn new(open: Word, statements: Vec<Statement>, close: Option<Word>) -> Self {
        Block { open, statements, close }
    }

    /// The `{` and its trivia.
    pub fn open(&self) -> &Word {
        &self.open
    }

    /// The `}` and its trivia; `None` when the block is never closed.
    pub fn close(&self) -> Option<&Word> {
        self.close.as_ref()
    }

    /// The statements inside.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The statements inside, for editing.
    pub fn statements_mut(&mut self) -> &mut Vec<Statement> {
        &mut self.statements
    }

    /// The first statement with `keyword`.
    pub fn find(&self, keyword: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.keyword().as_deref() == Some(keyword))
    }

    /// The first statement with `keyword`, for editing.
    pub fn find_mut(&mut self, keyword: &str) -> Option<&mut Statement> {
        self.statements.iter_mut().find(|s| s.keyword().as_deref() == Some(keyword))
    }

    /// Every statement with `keyword`.
    pub fn find_all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Statement> + 'a {
        self.statements.iter().filter(move |s| s.keyword().as_deref() == Some(keyword))
    }

    /// The first argument of the first statement with `keyword` (`interface eth0` -> `eth0`).
    pub fn value(&self, keyword: &str) -> Option<Cow<'_, str>> {
        self.find(keyword).and_then(|s| s.arg(0))
    }

    /// True when a statement with `keyword` is present (flags such as `nopreempt`).
    pub fn has(&self, keyword: &str) -> bool {
        self.find(keyword).is_some()
    }

    /// The statements inside the sub-block of the first statement with `keyword`
    /// (`virtual_ipaddress { ... }` -> one statement per address).
    pub fn entries(&self, keyword: &str) -> &[Statement] {
        self.find(keyword).and_then(Statement::block).map_or(&[], Block::statements)
    }

    /// Sets the first argument of `keyword`, or appends `keyword value` as a new last statement
    /// with the indentation of its siblings. Only the touched word changes when it exists.
    pub fn set_value(&mut self, keyword: &str, value: &str) {
        if let Some(statement) = self.find_mut(keyword) {
            if !statement.set_arg(0, value) {
                statement.push_arg(value);
            }
            return;
        }
        self.push_statement(Statement::from_values(&[keyword, value], ""));
    }

    /// The trivia that leads into statement `index`: the text after the token before it.
    fn trivia_before(&self, index: usize) -> &str {
        match index.checked_sub(1).and_then(|i| self.statements.get(i)).and_then(Statement::last_token) {
            Some(token) => token.after(),
            None => self.open.after(),
        }
    }

    /// Appends `statement` as the last statement, on its own line, indented like its siblings
    /// (or one level deeper than the `}` when it has none). The statement's last token takes
    /// over the trivia that led to the `}`. A one-line block (`{ a }`) opens up: the new
    /// statement and the `}` go on lines of their own; the block cannot see its header's
    /// indentation, so that layout is a best guess that `format` makes canonical.
    pub fn push_statement(&mut self, mut statement: Statement) {
        let indent = match self.statements.len() {
            0 => None,
            n => line_indent(self.trivia_before(n - 1)).map(str::to_string),
        };
        let indent = indent.unwrap_or_else(|| {
            let close_indent = self.close.as_ref().map_or("", |_| line_indent(self.last_after()).unwrap_or(""));
            format!("{close_indent}    ")
        });
        // The first line of the old trivia (a trailing comment) stays with the token it follows;
        // the rest (comment lines, the `}`'s indentation) moves after the new statement.
        let tail = self.last_after().to_string();
        let (first, rest) = match tail.find('\n') {
            Some(at) => (&tail[..at], &tail[at..]),
            None => (tail.as_str(), "\n"),
        };
        let lead = format!("{}\n{indent}", first.trim_end());
        match self.statements.last_mut().and_then(Statement::last_token_mut) {
            Some(last) => last.set_after(lead),
            None => self.open.set_after(lead),
        }
        if let Some(last) = statement.last_token_mut() {
            last.set_after(rest.to_string());
        }
        self.statements.push(statement);
    }

    /// The trivia before the `}`: after the last statement, or after the `{` when empty.
    fn last_after(&self) -> &str {
        self.trivia_before(self.statements.len())
    }

    /// The closing brace if present, else the last token inside.
    pub fn last_token(&self) -> &Word {
        match &self.close {
            Some(close) => close,
            None => self.statements.last().and_then(Statement::last_token).unwrap_or(&self.open),
        }
    }

    /// The closing brace if present, else the last token inside, for editing its trivia.
    pub fn last_token_mut(&mut self) -> &mut Word {
        if self.close.is_some() {
            if let Some(close) = self.close.as_mut() {
                return close;
            }
        }
        let last_inside = self.statements.iter().rposition(|s| s.last_token().is_some());
        match last_inside {
            Some(i) => match self.statements[i].last_token_mut() {
                Some(token) => token,
                None => &mut self.open,
            },
            None => &mut self.open,
        }
    }

    /// Writes the block exactly as held.
    pub fn render_into(&self, out: &mut String) {
        out.push_str(self.open.raw());
        out.push_str(self.open.after());
        for statement in &self.statements {
            statement.render_into(out);
        }
        if let Some(close) = &self.close {
            out.push_str(close.raw());
            out.push_str(close.after());
        }
    }
}

/// The indentation of the last line in `trivia` (the blanks after its last line break).
fn line_indent(trivia: &str) -> Option<&str> {
    let at = trivia.rfind('\n')?;
    let tail = &trivia[at + 1..];
    tail.chars().all(|c| c == ' ' || c == '\t').then_some(tail)
}
