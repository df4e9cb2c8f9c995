//! ACL conditions after `if` / `unless` (configuration.txt §7.2), as an expression tree.
//!
//! ```text
//! condition = term-list *( ("or" | "||") term-list )       ; disjunctive form
//! term-list = 1*term                                        ; implicit AND
//! term      = *"!" ( acl-name | "{" criterion *word "}" )  ; `!` alone or glued: `!name`, `!{`
//! ```
//!
//! HAProxy reads the condition from the words of a line, so this parser works on word values
//! (already unquoted). It rejects what HAProxy rejects (a `{` never closed) and, unlike HAProxy,
//! also what is almost surely a mistake: an empty condition, a `}` with no `{`, an empty `{ }`,
//! a `||` with nothing on one side, a `!` with nothing after it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `if` or `unless`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// The rule applies when the expression is true.
    If,
    /// The rule applies when the expression is false.
    Unless,
}

impl Polarity {
    /// `if` -> If, `unless` -> Unless.
    pub fn from_word(word: &str) -> Option<Polarity> {
        match word {
            "if" => Some(Polarity::If),
            "unless" => Some(Polarity::Unless),
            _ => None,
        }
    }

    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::If => "if",
            Polarity::Unless => "unless",
        }
    }
}

/// A boolean expression over ACLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", content = "args", rename_all = "lowercase")]
pub enum Expr {
    /// A named ACL (declared with `acl`, or predefined such as `TRUE`).
    Acl(String),
    /// An anonymous ACL: the words between `{` and `}` (criterion, flags, patterns).
    Anonymous(Vec<String>),
    /// Negation.
    Not(Box<Expr>),
    /// All of them (juxtaposition).
    And(Vec<Expr>),
    /// Any of them (`||` or `or`).
    Or(Vec<Expr>),
}

/// `if|unless <expr>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Condition {
    /// `if` or `unless`.
    pub polarity: Polarity,
    /// The expression.
    pub expr: Expr,
}

/// Why a condition is malformed. `word` is the index of the offending word in the condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// Nothing after `if` / `unless`.
    #[error("missing condition after '{0}'")]
    Empty(&'static str),
    /// The first word is not `if` or `unless`.
    #[error("condition must start with 'if' or 'unless', found '{found}'")]
    NoPolarity {
        /// What was there instead.
        found: String,
    },
    /// A `{` without its `}`.
    #[error("missing closing '}}' in condition")]
    UnclosedBrace {
        /// Index of the `{`.
        word: usize,
    },
    /// A `}` without a `{`.
    #[error("unexpected '}}' in condition without an opening '{{'")]
    UnopenedBrace {
        /// Index of the `}`.
        word: usize,
    },
    /// `{ }`.
    #[error("empty anonymous acl between braces")]
    EmptyBraces {
        /// Index of the `{`.
        word: usize,
    },
    /// `||` / `or` at the start, at the end, or twice in a row.
    #[error("'{op}' with no acl on its {side}")]
    DanglingOr {
        /// `||` or `or` as written.
        op: String,
        /// `left` or `right`.
        side: &'static str,
        /// Index of the operator.
        word: usize,
    },
    /// `!` at the end or before `||`.
    #[error("'!' is not followed by an acl")]
    DanglingNot {
        /// Index of the `!`.
        word: usize,
    },
}

impl ConditionError {
    /// Index (in the words given to the parser) of the word where the problem is.
    pub fn word(&self) -> usize {
        match self {
            ConditionError::Empty(_) | ConditionError::NoPolarity { .. } => 0,
            ConditionError::UnclosedBrace { word }
            | ConditionError::UnopenedBrace { word }
            | ConditionError::EmptyBraces { word }
            | ConditionError::DanglingOr { word, .. }
            | ConditionError::DanglingNot { word } => *word,
        }
    }
}

impl Condition {
    /// Parses `if|unless <words>`; `words[0]` must be the `if` / `unless` keyword.
    /// Error word indexes count from `words[0]`.
    pub fn parse<S: AsRef<str>>(words: &[S]) -> Result<Condition, ConditionError> {
        let first = words.first().map(|w| w.as_ref()).unwrap_or_default();
        let polarity =
            Polarity::from_word(first).ok_or_else(|| ConditionError::NoPolarity { found: first.to_string() })?;
        let expr = parse_expr(&words[1..], 1).map_err(|e| match e {
            ConditionError::Empty(_) => ConditionError::Empty(polarity.as_str()),
            other => other,
        })?;
        Ok(Condition { polarity, expr })
    }

    /// The named ACLs the condition uses, each once, sorted.
    pub fn referenced_acls(&self) -> BTreeSet<&str> {
        self.expr.referenced_acls()
    }

    /// The words that write this condition (`if`, then the expression).
    pub fn to_words(&self) -> Vec<String> {
        let mut words = vec![self.polarity.as_str().to_string()];
        self.expr.write_words(&mut words, false);
        words
    }
}

impl Expr {
    /// The named ACLs the expression uses, each once, sorted.
    pub fn referenced_acls(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.collect_acls(&mut out);
        out
    }

    fn collect_acls<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Expr::Acl(name) => {
                out.insert(name);
            }
            Expr::Anonymous(_) => {}
            Expr::Not(inner) => inner.collect_acls(out),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.collect_acls(out)),
        }
    }

    /// Writes the expression as HAProxy words. Only disjunctive forms can be written: an `Or`
    /// nested inside an `And` or a `Not` is flattened as HAProxy would read it, which is why
    /// [`parse`](Condition::parse) never builds one.
    fn write_words(&self, out: &mut Vec<String>, negated: bool) {
        let bang = if negated { "!" } else { "" };
        match self {
            Expr::Acl(name) => out.push(format!("{bang}{name}")),
            Expr::Anonymous(words) => {
                out.push(format!("{bang}{{"));
                out.extend(words.iter().cloned());
                out.push("}".to_string());
            }
            Expr::Not(inner) => inner.write_words(out, !negated),
            Expr::And(items) => items.iter().for_each(|e| e.write_words(out, negated)),
            Expr::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push("||".to_string());
                    }
                    item.write_words(out, negated);
                }
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.to_words().iter().map(|w| crate::quoting::quote(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// Parses the expression words; `offset` is the index of `words[0]` for error positions.
fn parse_expr<S: AsRef<str>>(words: &[S], offset: usize) -> Result<Expr, ConditionError> {
    let mut alternatives: Vec<Expr> = Vec::new();
    let mut terms: Vec<Expr> = Vec::new();
    let mut pending_not: Option<usize> = None;
    let mut negated = false;
    let mut last_or: Option<(usize, String)> = None;
    let mut i = 0;
    while i < words.len() {
        let at = offset + i;
        let raw = words[i].as_ref();
        let bangs = raw.len() - raw.trim_start_matches('!').len();
        if bangs > 0 {
            pending_not.get_or_insert(at);
            negated ^= bangs % 2 == 1;
        }
        let word = &raw[bangs..];
        if word.is_empty() {
            i += 1;
            continue;
        }
        if word == "||" || word.eq_ignore_ascii_case("or") {
            if let Some(not_at) = pending_not {
                return Err(ConditionError::DanglingNot { word: not_at });
            }
            if terms.is_empty() {
                return Err(ConditionError::DanglingOr { op: word.to_string(), side: "left", word: at });
            }
            alternatives.push(and_of(std::mem::take(&mut terms)));
            last_or = Some((at, word.to_string()));
            i += 1;
            continue;
        }
        let term = if word == "{" {
            let close = words[i + 1..]
                .iter()
                .position(|w| w.as_ref() == "}")
                .ok_or(ConditionError::UnclosedBrace { word: at })?;
            if close == 0 {
                return Err(ConditionError::EmptyBraces { word: at });
            }
            let inner = words[i + 1..i + 1 + close].iter().map(|w| w.as_ref().to_string()).collect();
            i += close + 2;
            Expr::Anonymous(inner)
        } else if word == "}" {
            return Err(ConditionError::UnopenedBrace { word: at });
        } else {
            i += 1;
            Expr::Acl(word.to_string())
        };
        terms.push(if negated { Expr::Not(Box::new(term)) } else { term });
        negated = false;
        pending_not = None;
        last_or = None;
    }
    if let Some(not_at) = pending_not {
        return Err(ConditionError::DanglingNot { word: not_at });
    }
    if let Some((at, op)) = last_or {
        return Err(ConditionError::DanglingOr { op, side: "right", word: at });
    }
    if terms.is_empty() {
        return Err(ConditionError::Empty("if"));
    }
    alternatives.push(and_of(terms));
    Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Expr::Or(alternatives) })
}

fn and_of(mut terms: Vec<Expr>) -> Expr {
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        Expr::And(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Condition, ConditionError> {
        Condition::parse(&text.split_whitespace().collect::<Vec<_>>())
    }

    fn acl(name: &str) -> Expr {
        Expr::Acl(name.into())
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    #[test]
    fn parses_the_manual_examples() {
        let c = parse("if HTTP_URL_STAR !METH_OPTIONS || METH_POST missing_cl").unwrap();
        assert_eq!(c.polarity, Polarity::If);
        assert_eq!(
            c.expr,
            Expr::Or(vec![
                Expr::And(vec![acl("HTTP_URL_STAR"), not(acl("METH_OPTIONS"))]),
                Expr::And(vec![acl("METH_POST"), acl("missing_cl")]),
            ])
        );
        let c = parse("unless METH_GET or METH_POST OR METH_OPTIONS").unwrap();
        assert_eq!(c.polarity, Polarity::Unless);
        assert_eq!(c.expr, Expr::Or(vec![acl("METH_GET"), acl("METH_POST"), acl("METH_OPTIONS")]));
        let c = parse("if { nbsrv(dynamic) lt 2 } || ! { nbsrv(static) lt 2 }").unwrap();
        assert_eq!(
            c.expr,
            Expr::Or(vec![
                Expr::Anonymous(vec!["nbsrv(dynamic)".into(), "lt".into(), "2".into()]),
                not(Expr::Anonymous(vec!["nbsrv(static)".into(), "lt".into(), "2".into()])),
            ])
        );
        assert_eq!(parse("if !!a").unwrap().expr, acl("a"));
        assert_eq!(parse("if ! a").unwrap().expr, not(acl("a")));
        assert_eq!(parse("if !{ src 1.2.3.4 }").unwrap().expr, not(Expr::Anonymous(vec!["src".into(), "1.2.3.4".into()])));
    }

    #[test]
    fn lists_referenced_acls_once() {
        let c = parse("if b !a || a { hdr(x) -m found } c").unwrap();
        assert_eq!(c.referenced_acls().into_iter().collect::<Vec<_>>(), vec!["a", "b", "c"]);
    }

    #[test]
    fn reports_malformed_conditions() {
        assert_eq!(parse("if").unwrap_err(), ConditionError::Empty("if"));
        assert_eq!(parse("unless").unwrap_err().to_string(), "missing condition after 'unless'");
        assert_eq!(parse("when a").unwrap_err().to_string(), "condition must start with 'if' or 'unless', found 'when'");
        assert_eq!(parse("if a { src 1.2.3.4").unwrap_err(), ConditionError::UnclosedBrace { word: 2 });
        assert_eq!(parse("if a }").unwrap_err(), ConditionError::UnopenedBrace { word: 2 });
        assert_eq!(parse("if { }").unwrap_err(), ConditionError::EmptyBraces { word: 1 });
        let e = parse("if a ||").unwrap_err();
        assert_eq!(e.to_string(), "'||' with no acl on its right");
        assert_eq!(e.word(), 2);
        assert_eq!(parse("if || a").unwrap_err().to_string(), "'||' with no acl on its left");
        assert_eq!(parse("if a or or b").unwrap_err().to_string(), "'or' with no acl on its left");
        assert_eq!(parse("if a !").unwrap_err(), ConditionError::DanglingNot { word: 2 });
        assert_eq!(parse("if ! || a").unwrap_err(), ConditionError::DanglingNot { word: 1 });
    }

    #[test]
    fn writes_back_words_that_parse_to_the_same_tree() {
        for text in ["if a", "unless !a b || c", "if { src -f /x } || !{ path_beg /a }", "if a || b || !c d"] {
            let c = parse(text).unwrap();
            assert_eq!(Condition::parse(&c.to_words()).unwrap(), c, "{text}");
        }
        assert_eq!(parse("if a !b or c").unwrap().to_string(), "if a !b || c");
    }
}
