//! Rules: a keyword, its action and arguments, and an optional `if` / `unless` condition.
//!
//! ```text
//! http-request <action> [args] [{if | unless} <condition>]        (http-response, http-after-response)
//! tcp-request <ruleset> <action> [args] [{if | unless} <condition>] (tcp-response)
//! redirect {location | prefix | scheme} <to> [options] [{if | unless} <condition>]
//! use_backend <backend> [{if | unless} <condition>]     use-server <server> {if | unless} <condition>
//! default_backend <backend>
//! stick {on | match | store-request | store-response} <pattern> [table <t>] [{if | unless} <cond>]
//! ```
//! The condition starts at the first word, after the action, whose value is `if` or `unless`.

use std::borrow::Cow;

use crate::condition::{Condition, ConditionError};
use crate::Line;

/// Keywords read as rules.
pub const RULE_KEYWORDS: &[&str] = &[
    "http-request", "http-response", "http-after-response", "tcp-request", "tcp-response", "redirect",
    "use_backend", "default_backend", "use-server", "stick",
];

/// Rule keywords whose second word is a ruleset (`connection`, `content` ...).
fn has_ruleset(keyword: &str) -> bool {
    matches!(keyword, "tcp-request" | "tcp-response")
}

/// Index of the `if` / `unless` word, if any.
fn condition_index(line: &Line) -> Option<usize> {
    let keyword = line.keyword()?;
    let first = if has_ruleset(&keyword) { 3 } else { 2 };
    (first..line.words().len()).find(|&i| matches!(line.value(i).as_deref(), Some("if" | "unless")))
}

/// A read-only view of a rule line.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    line: &'a Line,
    index: usize,
}

impl<'a> Rule<'a> {
    /// A view of `line` (at `index` in its section) when its keyword is one of [`RULE_KEYWORDS`].
    pub fn new(line: &'a Line, index: usize) -> Option<Self> {
        RULE_KEYWORDS.contains(&line.keyword()?.as_ref()).then_some(Rule { line, index })
    }

    /// The line.
    pub fn line(&self) -> &'a Line {
        self.line
    }

    /// Index of the line in its section.
    pub fn index(&self) -> usize {
        self.index
    }

    /// `http-request`, `use_backend` ...
    pub fn keyword(&self) -> Cow<'a, str> {
        self.line.keyword().unwrap_or_default()
    }

    /// The ruleset of `tcp-request` / `tcp-response` (`connection`, `content`, `inspect-delay`).
    pub fn ruleset(&self) -> Option<Cow<'a, str>> {
        if has_ruleset(&self.keyword()) {
            self.line.value(1)
        } else {
            None
        }
    }

    /// Index of the action word.
    fn action_index(&self) -> usize {
        if has_ruleset(&self.keyword()) {
            2
        } else {
            1
        }
    }

    /// The action: `deny`, `set-header`, `accept`; for `redirect` its type, for `stick` its
    /// kind (`on`, `match` ...), for `use_backend` / `default_backend` / `use-server` the target.
    pub fn action(&self) -> Option<Cow<'a, str>> {
        self.line.value(self.action_index())
    }

    /// The target of `use_backend`, `default_backend` and `use-server`.
    pub fn target(&self) -> Option<Cow<'a, str>> {
        matches!(self.keyword().as_ref(), "use_backend" | "default_backend" | "use-server")
            .then(|| self.line.value(1))
            .flatten()
    }

    /// The words after the action and before the condition.
    pub fn args(&self) -> Vec<Cow<'a, str>> {
        let end = self.condition_word().unwrap_or(self.line.words().len());
        let start = (self.action_index() + 1).min(end);
        self.line.words()[start..end].iter().map(crate::Word::value).collect()
    }

    /// Index of the `if` / `unless` word.
    pub fn condition_word(&self) -> Option<usize> {
        condition_index(self.line)
    }

    /// The condition, parsed; `None` when the rule has none. Error word indexes count from
    /// [`Rule::condition_word`].
    pub fn condition(&self) -> Option<Result<Condition, ConditionError>> {
        let start = self.condition_word()?;
        let words: Vec<Cow<'_, str>> = self.line.words()[start..].iter().map(crate::Word::value).collect();
        Some(Condition::parse(&words))
    }
}

/// An editor for a rule line.
#[derive(Debug)]
pub struct RuleMut<'a> {
    line: &'a mut Line,
    index: usize,
}

impl<'a> RuleMut<'a> {
    /// An editor of a line the caller just built with the right keyword.
    pub(crate) fn at(line: &'a mut Line, index: usize) -> Self {
        RuleMut { line, index }
    }

    /// An editor of `line` (at `index` in its section) when it is a rule.
    pub fn new(line: &'a mut Line, index: usize) -> Option<Self> {
        Rule::new(line, index)?;
        Some(RuleMut { line, index })
    }

    /// A read-only view of the line as it is now.
    pub fn view(&self) -> Rule<'_> {
        Rule { line: self.line, index: self.index }
    }

    /// Replaces the target of `use_backend` / `default_backend` / `use-server`.
    pub fn set_target(&mut self, target: &str) -> bool {
        self.view().target().is_some() && self.line.set_value(1, target)
    }

    /// Replaces, adds or removes the condition; the words before it stay as written.
    pub fn set_condition(&mut self, condition: Option<&Condition>) {
        let start = self.view().condition_word().unwrap_or(self.line.words().len());
        let words = condition.map(Condition::to_words).unwrap_or_default();
        super::directive::set_args(self.line, start, &words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::{Expr, Polarity};

    #[test]
    fn splits_action_args_and_condition() {
        let l = Line::statement("", &["http-request", "set-header", "X-A", "if b", "if", "a", "!b"]);
        let r = Rule::new(&l, 0).unwrap();
        assert_eq!(r.action().as_deref(), Some("set-header"));
        assert_eq!(r.args(), vec!["X-A", "if b"]);
        assert_eq!(r.condition_word(), Some(4));
        let c = r.condition().unwrap().unwrap();
        assert_eq!(c.polarity, Polarity::If);
        assert_eq!(c.referenced_acls().into_iter().collect::<Vec<_>>(), vec!["a", "b"]);

        let l = Line::statement("", &["tcp-request", "content", "accept", "if", "{", "req_ssl_hello_type", "1", "}"]);
        let r = Rule::new(&l, 0).unwrap();
        assert_eq!((r.ruleset().as_deref(), r.action().as_deref()), (Some("content"), Some("accept")));
        assert!(matches!(r.condition().unwrap().unwrap().expr, Expr::Anonymous(_)));

        let l = Line::statement("", &["use_backend", "api", "unless", "x", "||"]);
        let r = Rule::new(&l, 0).unwrap();
        assert_eq!(r.target().as_deref(), Some("api"));
        assert!(r.condition().unwrap().is_err());
        assert!(Rule::new(&Line::statement("", &["server", "a"]), 0).is_none());
    }

    #[test]
    fn edits_target_and_condition() {
        let mut l = Line::statement("", &["use_backend", "api", "if", "a"]);
        let mut r = RuleMut::new(&mut l, 0).unwrap();
        r.set_target("v2");
        let c = Condition::parse(&["unless", "b", "||", "c"]).unwrap();
        r.set_condition(Some(&c));
        assert_eq!(l.text(), "use_backend v2 unless b || c");
        RuleMut::new(&mut l, 0).unwrap().set_condition(None);
        assert_eq!(l.text(), "use_backend v2");
    }
}
