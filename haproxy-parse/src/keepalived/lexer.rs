//! keepalived.conf text -> words and braces, each with the trivia after it.
//!
//! The rules follow keepalived's own reader (lib/parser.c `decomment`, `read_line`,
//! `check_definition`) and keepalived.conf(5) "Quoted strings":
//! ```text
//! trivia  = ( blank | '\' newline | comment | newline )*
//! comment = ( '#' | '!' ) any-but-newline*       ; only outside double quotes
//! brace   = '{' | '}'                            ; outside double quotes, always a token of its own
//! word    = ( plain | '\' any | '"' dq* '"' | "'" sq* "'" )+
//! ```
//! A `\` at the very end of a line continues the statement on the next line. On a
//! `$NAME=value` definition line braces are ordinary characters (keepalived stores the text).
//!
//! A `${NAME}` use (also `${NAME 1 2}` with parameters) is part of the word it sits in, braces
//! included: keepalived substitutes parameters on the whole line (`replace_param`) before it
//! looks for `{` and `}`, so `${ADDR}/32` is one word, never a block.

use haproxy_model::keepalived::{is_definition_start, Word};
use haproxy_model::{Diagnostic, Position};

/// One token: a word or a brace, and whether a line break (not a continuation) follows it.
#[derive(Debug)]
pub(crate) struct Token {
    pub(crate) word: Word,
    pub(crate) kind: TokenKind,
    pub(crate) ends_line: bool,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Word,
    Open,
    Close,
}

/// The lexer's cursor: byte offset plus the line and column it stands on.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
    line: u32,
    column: u32,
}

impl<'a> Cursor<'a> {
    /// Steps over a `${NAME}` parameter use at the cursor; false when there is none.
    fn skip_braced_variable(&mut self) -> bool {
        let Some(len) = braced_variable_len(&self.text[self.at..]) else { return false };
        // The variable is ASCII on one line: the column moves by its length.
        self.at += len;
        self.column = self.column.saturating_add(u32::try_from(len).unwrap_or(u32::MAX));
        true
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text[self.at..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    fn position(&self) -> Position {
        Position::new(self.line, self.column)
    }

    /// True at `\` followed by a line end (or the end of input): a line continuation.
    fn at_continuation(&self) -> bool {
        self.peek() == Some('\\')
            && match self.peek_at(1) {
                None | Some('\n') => true,
                Some('\r') => matches!(self.peek_at(2), Some('\n') | None),
                Some(_) => false,
            }
    }
}

/// The length of the `${NAME}` or `${NAME 1 2}` at the start of `text`, in the shape lib/parser.c
/// `find_definition` accepts: a name of letters, digits and `_` not starting with a digit, then
/// optional parameters (blanks and digits, not ending with a blank), then `}`.
fn braced_variable_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("${")?;
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let name = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let params = rest[name..].find(|c: char| !(c == ' ' || c.is_ascii_digit()))? + name;
    let has_params = params > name;
    if !rest[params..].starts_with('}') || (has_params && rest[..params].ends_with(' ')) {
        return None;
    }
    Some(2 + params + 1)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\u{b}' | '\u{c}')
}

/// Consumes trivia; returns it and whether it held a line break that ends the statement.
fn trivia<'a>(cursor: &mut Cursor<'a>) -> (&'a str, bool) {
    let start = cursor.at;
    let mut ends_line = false;
    while let Some(c) = cursor.peek() {
        if cursor.at_continuation() {
            cursor.bump();
            // The line break (and a CR before it) belongs to the continuation.
            if cursor.peek() == Some('\r') {
                cursor.bump();
            }
            cursor.bump();
        } else if c == '#' || c == '!' {
            while cursor.peek().is_some_and(|c| c != '\n') {
                cursor.bump();
            }
        } else if c == '\n' {
            ends_line = true;
            cursor.bump();
        } else if is_blank(c) {
            cursor.bump();
        } else {
            break;
        }
    }
    (&cursor.text[start..cursor.at], ends_line)
}

/// Consumes one word; `braces_are_text` on definition lines.
fn word<'a>(cursor: &mut Cursor<'a>, braces_are_text: bool, diagnostics: &mut Vec<Diagnostic>) -> &'a str {
    let start = cursor.at;
    let mut quote: Option<(char, Position)> = None;
    while let Some(c) = cursor.peek() {
        match quote {
            Some((q, _)) if c == q => {
                cursor.bump();
                quote = None;
            }
            Some(('\'', _)) if c == '$' && cursor.skip_braced_variable() => {}
            Some((q, _)) => {
                let ends_single = q == '\'' && matches!(c, '#' | '!' | '{' | '}');
                if c == '\n' || (c == '\r' && cursor.peek_at(1) == Some('\n')) || ends_single {
                    break;
                }
                if c == '\\' && !cursor.at_continuation() {
                    cursor.bump();
                }
                cursor.bump();
            }
            None => {
                if is_blank(c) || c == '\n' || c == '#' || c == '!' || cursor.at_continuation() {
                    break;
                }
                if c == '$' && cursor.skip_braced_variable() {
                    continue;
                }
                if !braces_are_text && (c == '{' || c == '}') {
                    break;
                }
                match c {
                    '"' | '\'' => quote = Some((c, cursor.position())),
                    '\\' => {
                        cursor.bump();
                    }
                    _ => {}
                }
                cursor.bump();
            }
        }
    }
    if let Some((_, position)) = quote {
        diagnostics.push(Diagnostic::error(position, "unterminated quote"));
    }
    &cursor.text[start..cursor.at]
}

/// Splits `text` into the trivia before the first token, and the tokens.
pub(crate) fn tokenize(text: &str, diagnostics: &mut Vec<Diagnostic>) -> (String, Vec<Token>) {
    let mut cursor = Cursor { text, at: 0, line: 1, column: 1 };
    let (lead, _) = trivia(&mut cursor);
    let mut tokens: Vec<Token> = Vec::new();
    // Words of the current statement so far (to spot `$NAME=` after an optional `@id`).
    let mut statement_words = 0usize;
    let mut first_is_config_id = false;
    let mut in_definition = false;
    while let Some(c) = cursor.peek() {
        let position = cursor.position();
        let kind = match c {
            '{' if !in_definition => TokenKind::Open,
            '}' if !in_definition => TokenKind::Close,
            _ => TokenKind::Word,
        };
        let raw = match kind {
            TokenKind::Word => {
                let at_start = statement_words == 0 || (statement_words == 1 && first_is_config_id);
                if at_start && is_definition_start(&cursor.text[cursor.at..]) {
                    in_definition = true;
                }
                let mut raw = word(&mut cursor, in_definition, diagnostics);
                if raw.is_empty() {
                    // No rule consumed this character: keep it as a word of its own.
                    let start = cursor.at;
                    cursor.bump();
                    raw = &cursor.text[start..cursor.at];
                }
                if statement_words == 0 {
                    first_is_config_id = raw.starts_with('@');
                }
                statement_words += 1;
                raw
            }
            _ => {
                cursor.bump();
                statement_words = 0;
                if c == '{' {
                    "{"
                } else {
                    "}"
                }
            }
        };
        let (after, ends_line) = trivia(&mut cursor);
        if ends_line {
            statement_words = 0;
            in_definition = false;
        }
        tokens.push(Token { word: Word::from_raw(raw, after, position), kind, ends_line });
    }
    (lead.to_string(), tokens)
}
