//! `keyword [value]` parameter lists at the end of `bind` and `server` lines.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::keywords::Arity;
use crate::Line;

/// One parameter: a keyword and, for keywords that take one, its value.
///
/// Equality ignores [`Param::word`]: where a parameter sits is not what it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    /// `check`, `weight`, `crt` ...
    pub keyword: String,
    /// The value after a value-taking keyword; `None` for flags (and when the line ends early).
    pub value: Option<String>,
    /// Index of the keyword's word on the line.
    #[serde(skip)]
    pub word: usize,
}

eq_without_position!(Param, keyword, value);

/// The arity table for a kind of line.
pub(crate) type ArityFn = fn(&str) -> Option<Arity>;

/// Reads the parameters from word `start` on. Unknown keywords are read as flags.
pub(crate) fn read(line: &Line, start: usize, arity: ArityFn) -> Vec<Param> {
    let words = line.words();
    let mut out = Vec::new();
    let mut i = start;
    while i < words.len() {
        let keyword = words[i].value();
        let takes_value = arity(&keyword) == Some(Arity::Value);
        let value = if takes_value { words.get(i + 1).map(|w| w.value().into_owned()) } else { None };
        out.push(Param { keyword: keyword.into_owned(), value, word: i });
        i += if takes_value { 2 } else { 1 };
    }
    out
}

/// The last occurrence of `keyword` (HAProxy keeps the last one).
pub(crate) fn find(line: &Line, start: usize, arity: ArityFn, keyword: &str) -> Option<Param> {
    read(line, start, arity).into_iter().rev().find(|p| p.keyword == keyword)
}

/// True when `keyword` is present.
pub(crate) fn has(line: &Line, start: usize, arity: ArityFn, keyword: &str) -> bool {
    find(line, start, arity, keyword).is_some()
}

/// Sets `keyword value` (changing only the value word of its last occurrence, or appending
/// both words), or removes every occurrence when `value` is `None`.
pub(crate) fn set(line: &mut Line, start: usize, arity: ArityFn, keyword: &str, value: Option<&str>) {
    match value {
        None => remove_all(line, start, arity, keyword),
        Some(value) => match find(line, start, arity, keyword) {
            Some(Param { word, value: Some(old), .. }) => {
                if old != value {
                    line.set_value(word + 1, value);
                }
            }
            Some(Param { word, value: None, .. }) => line.insert_word(word + 1, value),
            None => {
                line.push_word(keyword);
                line.push_word(value);
            }
        },
    }
}

/// Adds the flag `keyword` when `on` and it is missing; removes every occurrence when not `on`.
pub(crate) fn set_flag(line: &mut Line, start: usize, arity: ArityFn, keyword: &str, on: bool) {
    if on {
        if !has(line, start, arity, keyword) {
            line.push_word(keyword);
        }
    } else {
        remove_all(line, start, arity, keyword);
    }
}

fn remove_all(line: &mut Line, start: usize, arity: ArityFn, keyword: &str) {
    let found: Vec<Param> = read(line, start, arity).into_iter().filter(|p| p.keyword == keyword).collect();
    for param in found.into_iter().rev() {
        if param.value.is_some() {
            line.remove_word(param.word + 1);
        }
        line.remove_word(param.word);
    }
}

/// Parses a numeric parameter value, `None` when absent or not a number (an environment
/// reference, a typo: the raw text is still in [`Param::value`]).
pub(crate) fn number<T: std::str::FromStr>(value: Option<Cow<'_, str>>) -> Option<T> {
    value.and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::server::arity;
    use crate::{LineEnding, Position, Word};

    fn line(text: &str) -> Line {
        // Words separated by the blanks as written: enough for these tests.
        let mut words = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let end = rest.find(' ').unwrap_or(rest.len());
            let after_end = rest[end..].find(|c| c != ' ').map_or(rest.len(), |i| end + i);
            words.push(Word::from_raw(&rest[..end], &rest[end..after_end]));
            rest = &rest[after_end..];
        }
        Line::from_parts("", words, None, LineEnding::Lf, Position::default())
    }

    #[test]
    fn reads_flags_and_values() {
        let l = line("server a 1.2.3.4:80 check weight  10 backup unknown-kw");
        let params = read(&l, 3, arity);
        let pairs: Vec<_> = params.iter().map(|p| (p.keyword.as_str(), p.value.as_deref())).collect();
        assert_eq!(pairs, vec![("check", None), ("weight", Some("10")), ("backup", None), ("unknown-kw", None)]);
    }

    #[test]
    fn edits_touch_only_their_words() {
        let mut l = line("server a 1.2.3.4:80 check weight  10   backup");
        set(&mut l, 3, arity, "weight", Some("7"));
        assert_eq!(l.text(), "server a 1.2.3.4:80 check weight  7   backup");
        set(&mut l, 3, arity, "inter", Some("2s"));
        assert_eq!(l.text(), "server a 1.2.3.4:80 check weight  7   backup inter 2s");
        set(&mut l, 3, arity, "weight", None);
        assert_eq!(l.text(), "server a 1.2.3.4:80 check backup inter 2s");
        set_flag(&mut l, 3, arity, "backup", false);
        set_flag(&mut l, 3, arity, "check", true);
        assert_eq!(l.text(), "server a 1.2.3.4:80 check inter 2s");
        set_flag(&mut l, 3, arity, "ssl", true);
        assert_eq!(l.text(), "server a 1.2.3.4:80 check inter 2s ssl");
    }
}
