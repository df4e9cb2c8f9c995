//! A keepalived word: raw text as written, plus the trivia that follows it.
//!
//! Keepalived's quoting is not HAProxy's (keepalived.conf(5) "Quoted strings"): `"` and `'` both
//! quote, adjacent parts join into one string (`ab" c "d` is `ab c d`), backslash escapes work
//! inside quotes (`\n`, `\t`, `\"`, `\\` ...), and outside quotes only `\#` and `\!` are escapes
//! (they keep a comment character from starting a comment). So this module has its own
//! [`Word`] rather than reusing the HAProxy one.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;

use crate::Position;

/// One word (or a `{` / `}` brace) of a keepalived configuration.
///
/// `raw` is exactly what the operator wrote. `after` is everything up to the next word or brace:
/// blanks, a `\` line continuation, comments, line breaks, blank lines and the next indentation.
/// The position is where the word starts; it takes no part in equality.
#[derive(Clone)]
pub struct Word {
    raw: CompactString,
    after: CompactString,
    position: Position,
}

impl PartialEq for Word {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw && self.after == other.after
    }
}

impl Eq for Word {}

impl Word {
    /// A word holding `value`, quoted as needed so that it reads back as `value`;
    /// followed by nothing (callers add separators).
    pub fn new(value: &str) -> Self {
        Word { raw: quote(value).into(), after: CompactString::default(), position: Position::default() }
    }

    /// A word from text as written. The caller guarantees that `raw` lexes as one word and
    /// `after` as trivia; the parser uses this.
    pub fn from_raw(raw: impl Into<CompactString>, after: impl Into<CompactString>, position: Position) -> Self {
        Word { raw: raw.into(), after: after.into(), position }
    }

    /// An opening brace followed by `after`.
    pub fn open_brace(after: &str) -> Self {
        Word::from_raw("{", after, Position::default())
    }

    /// A closing brace followed by `after`.
    pub fn close_brace(after: &str) -> Self {
        Word::from_raw("}", after, Position::default())
    }

    /// The text as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The trivia after the word, up to the next word or brace.
    pub fn after(&self) -> &str {
        &self.after
    }

    /// Replaces the trivia after the word.
    pub fn set_after(&mut self, after: impl Into<CompactString>) {
        self.after = after.into();
    }

    /// Where the word starts in its source (line 0 when built in code).
    pub fn position(&self) -> Position {
        self.position
    }

    /// The word as keepalived reads it: quotes removed and escapes decoded.
    pub fn value(&self) -> Cow<'_, str> {
        unquote(&self.raw)
    }

    /// Replaces the value, quoting as needed; the trivia after it stays.
    pub fn set_value(&mut self, value: &str) {
        self.raw = quote(value).into();
    }

    /// True for `{` and `}`.
    pub fn is_brace(&self) -> bool {
        self.raw == "{" || self.raw == "}"
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw.as_str())?;
        if self.after != " " {
            write!(f, "+{:?}", self.after.as_str())?;
        }
        Ok(())
    }
}

/// Characters that force quoting: blanks, quotes, comment starters, braces, backslashes,
/// and control characters.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '#' | '!' | '{' | '}' | '\\'))
}

/// The raw text that reads back as `value`: as is when that is safe, else in double quotes
/// with `\\`, `\"` and control characters escaped.
pub fn quote(value: &str) -> String {
    if !needs_quotes(value) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Decodes one escape inside quotes (the character after the backslash); `chars` supplies
/// the digits of `\nnn` and `\xXX`.
fn escape(c: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    match c {
        'a' => out.push('\u{7}'),
        'b' => out.push('\u{8}'),
        'E' => out.push('\u{1b}'),
        'f' => out.push('\u{c}'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'v' => out.push('\u{b}'),
        'x' => {
            let mut code = 0u32;
            let mut digits = 0;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(16)) {
                code = code.wrapping_mul(16).wrapping_add(d) & 0xff;
                digits += 1;
                chars.next();
            }
            if digits == 0 {
                out.push('x');
            } else {
                out.push(char::from(code as u8));
            }
        }
        '0'..='7' => {
            let mut code = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        code = (code * 8 + d) & 0xff;
                        chars.next();
                    }
                    None => break,
                }
            }
            out.push(char::from(code as u8));
        }
        'c' => match chars.next() {
            Some(ctl) => out.push(char::from((ctl.to_ascii_uppercase() as u32 ^ 0x40) as u8)),
            None => out.push('c'),
        },
        other => out.push(other),
    }
}

/// The value keepalived reads from `raw`: quoted parts lose their quotes and have their escapes
/// decoded; outside quotes `\#` and `\!` lose their backslash and other text stays as written.
/// An unterminated quote runs to the end of the word.
pub fn unquote(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['"', '\'', '\\']) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut quote: Option<char> = None;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => match chars.next() {
                Some(next) => escape(next, &mut chars, &mut out),
                None => out.push('\\'),
            },
            (Some(_), c) => out.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, '\\') => match chars.peek() {
                Some(&next @ ('#' | '!')) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            (None, c) => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_quoted_parts_and_decodes_escapes() {
        assert_eq!(unquote(r#"abcd" efg h jkl "mnop"#), "abcd efg h jkl mnop");
        assert_eq!(unquote(r#""a\"b\\c\td""#), "a\"b\\c\td");
        assert_eq!(unquote(r"'x y'"), "x y");
        assert_eq!(unquote(r"a\#b\!c\d"), "a#b!c\\d");
        assert_eq!(unquote(r#""\x41\101\cA""#), "AA\u{1}");
        assert_eq!(unquote("plain"), "plain");
    }

    #[test]
    fn quotes_only_when_needed() {
        for value in ["plain", "10.0.0.1/24", "", "a b", "x\"y", "{", "#c", "a\\b", "t\tn\n", "é"] {
            let raw = quote(value);
            assert_eq!(unquote(&raw), value, "raw {raw}");
        }
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b"), "\"a b\"");
    }
}
