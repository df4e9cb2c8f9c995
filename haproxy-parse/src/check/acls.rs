//! ACLs named in `if` / `unless` conditions must be defined in the same section (ACLs are
//! not inherited from defaults sections) or be pre-defined (configuration.txt §7.4).
//!
//! The condition is parsed by the model ([`Condition::parse`], §7.2). Its errors map to what
//! HAProxy 2.6 does (tried with `haproxy -c`): a `{` never closed, a `}` never opened and an
//! empty `{ }` are refused; a dangling `||` or `!` is accepted silently, so it only gets a
//! warning. [`referenced_acls`] locates each name's word for the column, and still finds the
//! names when the condition does not parse.

use std::collections::HashSet;

use haproxy_model::{Condition, ConditionError, Diagnostic, Line, Section};

use super::tables::PREDEFINED_ACLS;
use super::{error, warning, Context};

/// Statement keywords that may end with a condition.
const CONDITIONAL_KEYWORDS: &[&str] = &[
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-request",
    "tcp-response",
    "use_backend",
    "use-server",
    "redirect",
    "stick",
    "monitor",
    "force-persist",
    "ignore-persist",
    "stats",
];

/// Runs the ACL reference check on every proxy and defaults section.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let section = info.section;
        let defined = defined_acls(section);
        for line in Context::statements(section) {
            if context.is_conditional(line) {
                continue;
            }
            let keyword = line.keyword().unwrap_or_default();
            if !CONDITIONAL_KEYWORDS.contains(&&*keyword) {
                continue;
            }
            if let Some(start) = condition_start(line) {
                let words: Vec<_> = line.values().into_iter().skip(start).collect();
                if let Err(e) = Condition::parse(&words) {
                    let at = start + e.word();
                    let diagnostic = match e {
                        ConditionError::UnclosedBrace { .. }
                        | ConditionError::UnopenedBrace { .. }
                        | ConditionError::EmptyBraces { .. } => error(line, at, e.to_string()),
                        _ => warning(line, at, e.to_string()),
                    };
                    out.push(diagnostic);
                }
            }
            for (index, name) in referenced_acls(line) {
                if !defined.contains(name.as_str()) && !PREDEFINED_ACLS.contains(&name.as_str()) && !name.contains('$') {
                    out.push(error(line, index, format!("no ACL named '{name}' in this section")));
                }
            }
        }
    }
}

/// Names given to `acl` lines of the section, conditional ones included.
fn defined_acls(section: &Section) -> HashSet<String> {
    section.statements("acl").filter_map(|(_, line)| line.value(1).map(|n| n.into_owned())).collect()
}

/// Index of the `if` / `unless` word that starts a statement's condition.
fn condition_start(line: &Line) -> Option<usize> {
    line.words().iter().skip(1).position(|w| matches!(&*w.value(), "if" | "unless")).map(|i| i + 1)
}

/// The ACL names a statement's condition uses, with the index of their word.
pub(super) fn referenced_acls(line: &Line) -> Vec<(usize, String)> {
    let values = line.values();
    let Some(start) = condition_start(line).map(|i| i + 1) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut braces = 0usize;
    for (index, value) in values.iter().enumerate().skip(start) {
        match &**value {
            "{" => braces += 1,
            "}" => braces = braces.saturating_sub(1),
            _ if braces > 0 => {}
            "!" | "||" | "or" => {}
            term => {
                let name = term.trim_start_matches('!');
                if !name.is_empty() {
                    names.push((index, name.to_string()));
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::referenced_acls;

    fn names(text: &str) -> Vec<String> {
        let line = crate::parse_line(text).unwrap();
        referenced_acls(&line).into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn reads_names_out_of_conditions() {
        assert_eq!(names("use_backend b if a !b || c or ! d"), ["a", "b", "c", "d"]);
        assert_eq!(names("http-request deny unless { src 10.0.0.1 } e"), ["e"]);
        assert_eq!(names("http-request deny"), Vec::<String>::new());
        assert_eq!(names("http-request deny if { path_beg /if } !f { src x }"), ["f"]);
    }
}
