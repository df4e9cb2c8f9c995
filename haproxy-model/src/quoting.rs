//! HAProxy's word grammar (configuration.txt §2.2, and `parse_line()` in HAProxy's `tools.c`):
//!
//! - blanks separate words unless protected by quotes or a backslash;
//! - `"..."` is weak quoting: backslash escapes and `$VAR` / `${VAR}` / `${VAR-default}` are live;
//! - `'...'` is strong quoting: nothing inside is interpreted;
//! - outside single quotes, `\` escapes: `\ ` `\\` `\#` `\'` `\"` give the character, `\t` `\n` `\r`
//!   give control characters, `\xHH` a byte, `\$` a dollar (inside double quotes only); any other
//!   pair keeps its backslash;
//! - adjacent quoted and unquoted parts join into one word;
//! - environment variables are only expanded inside double quotes.
//!
//! Decoding keeps environment references unexpanded, as written, and lists them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A reference to an environment variable inside double quotes: `${NAME}` or `${NAME-default}`
/// or `$NAME`. It is recognised, never expanded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvRef {
    /// The variable's name (`.LINE`, `.FILE` and `.SECTION` are HAProxy's internal ones).
    pub name: String,
    /// The text after `-` in `${NAME-default}`.
    pub default: Option<String>,
}

/// Why a word's raw text cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuoteError {
    /// A `"` or `'` that is never closed; `offset` is the byte offset of the opening quote.
    #[error("unterminated {quote} quote")]
    Unterminated {
        /// `double` or `single`.
        quote: &'static str,
        /// Byte offset of the opening quote in the word.
        offset: usize,
    },
    /// `\x` not followed by two hex digits.
    #[error("invalid hex escape sequence")]
    BadHex {
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// `$` followed by a character that cannot start a variable name.
    #[error("invalid environment variable name")]
    BadVarName {
        /// Byte offset of the `$`.
        offset: usize,
    },
    /// `${` never closed by `}`.
    #[error("unmatched brace in environment variable")]
    UnmatchedBrace {
        /// Byte offset of the `$`.
        offset: usize,
    },
}

impl QuoteError {
    /// Byte offset in the word where the problem starts.
    pub fn offset(&self) -> usize {
        match self {
            QuoteError::Unterminated { offset, .. }
            | QuoteError::BadHex { offset }
            | QuoteError::BadVarName { offset }
            | QuoteError::UnmatchedBrace { offset } => *offset,
        }
    }
}

/// A decoded word: its value and the environment references it holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The word as HAProxy sees it, with environment references kept as written.
    pub value: String,
    /// The `${...}` references, in order.
    pub env_refs: Vec<EnvRef>,
}

/// True when `raw` needs no decoding at all (the common case: plain words).
fn is_plain(raw: &str) -> bool {
    !raw.is_empty() && raw.bytes().all(is_plain_byte)
}

fn is_plain_byte(b: u8) -> bool {
    !matches!(b, b'"' | b'\'' | b'\\' | b'#' | b'$') && !b.is_ascii_whitespace() && !b.is_ascii_control()
}

/// Decodes a word's raw text; returns the value only.
pub fn unquote(raw: &str) -> Result<Cow<'_, str>, QuoteError> {
    if is_plain(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    decode(raw).map(|d| Cow::Owned(d.value))
}

/// Decodes a word's raw text into its value and environment references.
pub fn decode(raw: &str) -> Result<Decoded, QuoteError> {
    decode_with(raw, None)
}

/// Decodes a word's raw text as HAProxy does when it loads it, with each environment reference
/// replaced by `lookup(name)`: an unset variable is its `${NAME-default}` default, else empty
/// (configuration.txt §2.3). For a node's own use of its configuration (the agent probing a
/// frontend it runs); the server never expands, it does not know the nodes' environments.
pub fn expand(raw: &str, lookup: &Lookup<'_>) -> Result<String, QuoteError> {
    decode_with(raw, Some(lookup)).map(|d| d.value)
}

/// An environment: a variable's value by name, `None` when unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn decode_with(raw: &str, lookup: Option<&Lookup<'_>>) -> Result<Decoded, QuoteError> {
    let bytes = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut env_refs = Vec::new();
    let mut squote: Option<usize> = None;
    let mut dquote: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' if squote.is_none() => {
                dquote = if dquote.is_some() { None } else { Some(i) };
                i += 1;
            }
            b'\'' if dquote.is_none() => {
                squote = if squote.is_some() { None } else { Some(i) };
                i += 1;
            }
            b'\\' if squote.is_none() => {
                let next = bytes.get(i + 1).copied();
                match next {
                    Some(c @ (b' ' | b'\\' | b'#' | b'\'' | b'"')) => {
                        out.push(c);
                        i += 2;
                    }
                    Some(b't') => {
                        out.push(b'\t');
                        i += 2;
                    }
                    Some(b'n') => {
                        out.push(b'\n');
                        i += 2;
                    }
                    Some(b'r') => {
                        out.push(b'\r');
                        i += 2;
                    }
                    Some(b'$') if dquote.is_some() => {
                        out.push(b'$');
                        i += 2;
                    }
                    Some(b'x') => {
                        let hex = bytes.get(i + 2..i + 4).and_then(|h| {
                            let h = std::str::from_utf8(h).ok()?;
                            u8::from_str_radix(h, 16).ok()
                        });
                        match hex {
                            Some(byte) => {
                                out.push(byte);
                                i += 4;
                            }
                            None => return Err(QuoteError::BadHex { offset: i }),
                        }
                    }
                    _ => {
                        // Not an escape sequence: the backslash stays.
                        out.push(b'\\');
                        i += 1;
                    }
                }
            }
            b'$' if dquote.is_some() => {
                let (reference, end) = scan_env_ref(raw, i)?;
                match lookup {
                    Some(lookup) => {
                        let value = lookup(&reference.name).or_else(|| reference.default.clone()).unwrap_or_default();
                        out.extend_from_slice(value.as_bytes());
                    }
                    None => out.extend_from_slice(&bytes[i..end]),
                }
                env_refs.push(reference);
                i = end;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    if let Some(offset) = dquote {
        return Err(QuoteError::Unterminated { quote: "double", offset });
    }
    if let Some(offset) = squote {
        return Err(QuoteError::Unterminated { quote: "single", offset });
    }
    // `\xHH` can produce bytes that are not UTF-8 on their own; keep them visible rather than fail.
    let value = match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok(Decoded { value, env_refs })
}

/// Where the environment reference starting at the `$` at byte `dollar` of `text` ends, when it
/// is well formed. Lexers use it inside double quotes: HAProxy reads a `${NAME-default}` up to
/// its `}` whatever the default holds, a `"` included, so the reference decides where the quote ends.
pub fn env_ref_end(text: &str, dollar: usize) -> Option<usize> {
    scan_env_ref(text, dollar).ok().map(|(_, end)| end)
}

/// Scans `$NAME`, `${NAME}` or `${NAME-default}` starting at the `$` at `start`.
fn scan_env_ref(raw: &str, start: usize) -> Result<(EnvRef, usize), QuoteError> {
    let bytes = raw.as_bytes();
    let mut i = start + 1;
    let braced = bytes.get(i) == Some(&b'{');
    if braced {
        i += 1;
    }
    let name_start = i;
    match bytes.get(i) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b'.' => i += 1,
        _ => return Err(QuoteError::BadVarName { offset: start }),
    }
    while bytes.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        i += 1;
    }
    let name = raw[name_start..i].to_string();
    let mut default = None;
    if braced {
        if bytes.get(i) == Some(&b'[') {
            // `${VAR[*]}` asks HAProxy to split the value into several words.
            if raw[i..].starts_with("[*]") {
                i += 3;
            } else {
                return Err(QuoteError::UnmatchedBrace { offset: start });
            }
        }
        if bytes.get(i) == Some(&b'-') {
            let rest = &raw[i + 1..];
            let close = rest.find('}').ok_or(QuoteError::UnmatchedBrace { offset: start })?;
            default = Some(rest[..close].to_string());
            i += 1 + close;
        }
        if bytes.get(i) != Some(&b'}') {
            return Err(QuoteError::UnmatchedBrace { offset: start });
        }
        i += 1;
    }
    Ok((EnvRef { name, default }, i))
}

/// Writes `value` as a word that decodes back to exactly `value`, quoting only when needed.
///
/// Plain values stay bare; values with blanks, quotes, `#`, `$` or backslashes are single-quoted;
/// values holding a single quote or control characters are double-quoted with escapes.
pub fn quote(value: &str) -> String {
    if is_plain(value) {
        return value.to_string();
    }
    if !value.is_empty() && !value.contains('\'') && !value.chars().any(|c| c.is_control()) {
        return format!("'{value}'");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn expansion_replaces_references_inside_double_quotes_only() {
        let env = |name: &str| (name == "ADDR").then(|| "192.0.2.7".to_string());
        assert_eq!(super::expand("\"${ADDR}:80\"", &env).unwrap(), "192.0.2.7:80");
        assert_eq!(super::expand("\"$ADDR\":80", &env).unwrap(), "192.0.2.7:80");
        assert_eq!(super::expand("\"${UNSET-127.0.0.1}:80\"", &env).unwrap(), "127.0.0.1:80");
        assert_eq!(super::expand("\"${UNSET}\":80", &env).unwrap(), ":80");
        assert_eq!(super::expand("'${ADDR}':80", &env).unwrap(), "${ADDR}:80");
    }

    use super::*;

    #[test]
    fn decodes_the_manual_examples() {
        // configuration.txt §2.2
        assert_eq!(unquote(r#"\ "#).unwrap(), " ");
        assert_eq!(unquote(r#""foo bar""#).unwrap(), "foo bar");
        assert_eq!(unquote(r"'foo bar'").unwrap(), "foo bar");
        assert_eq!(unquote(r#""foo\"bar""#).unwrap(), "foo\"bar");
        assert_eq!(unquote(r"'foo\bar'").unwrap(), r"foo\bar");
        assert_eq!(unquote(r#"foo"bar"'baz'"#).unwrap(), "foobarbaz");
        assert_eq!(unquote(r"\#").unwrap(), "#");
        assert_eq!(unquote(r"\x41").unwrap(), "A");
        assert_eq!(unquote(r"\1").unwrap(), r"\1");
        assert_eq!(unquote(r"\$HOME").unwrap(), r"\$HOME");
        assert_eq!(unquote(r#""\$HOME""#).unwrap(), "$HOME");
        assert_eq!(unquote(r#""""#).unwrap(), "");
    }

    #[test]
    fn keeps_env_refs_unexpanded() {
        let d = decode(r#""${HAPROXY_TEST_TIMEOUT-5s}""#).unwrap();
        assert_eq!(d.value, "${HAPROXY_TEST_TIMEOUT-5s}");
        assert_eq!(d.env_refs, vec![EnvRef { name: "HAPROXY_TEST_TIMEOUT".into(), default: Some("5s".into()) }]);
        let d = decode(r#""$HOME/x""#).unwrap();
        assert_eq!(d.env_refs[0].name, "HOME");
        // Outside double quotes, `$` is an ordinary character.
        assert!(decode("${X}").unwrap().env_refs.is_empty());
    }

    #[test]
    fn reports_bad_words() {
        assert!(matches!(unquote("\"abc"), Err(QuoteError::Unterminated { offset: 0, .. })));
        assert!(matches!(unquote("a'bc"), Err(QuoteError::Unterminated { offset: 1, .. })));
        assert!(matches!(unquote(r"\xZZ"), Err(QuoteError::BadHex { .. })));
        assert!(matches!(unquote(r#""${1}""#), Err(QuoteError::BadVarName { .. })));
        assert!(matches!(unquote(r#""${X""#), Err(QuoteError::UnmatchedBrace { .. })));
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("${X}"), "'${X}'");
        for v in ["a b", "", "it's", "${X}", "#x", "a\\b", "l\nf", "q\"'$", "\u{1}"] {
            assert_eq!(unquote(&quote(v)).unwrap(), v, "value {v:?}");
        }
    }
}
