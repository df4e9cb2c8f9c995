//! ACLs named in `if` / `unless` conditions must be defined in the same section, on an `acl`
//! line before the rule (ACLs are not inherited from defaults sections), or be pre-defined
//! (configuration.txt §7.2, §7.4).
//!
//! The words of a condition are read the way HAProxy 2.6's `parse_acl_cond()` reads them, so
//! that no valid condition is refused:
//! - the condition ends at the first empty word (`""`): HAProxy's argument list stops there;
//! - leading `!`s are stripped from every word, one or many, glued or alone, so `!{` opens an
//!   anonymous ACL exactly as `{` does and `!name` names `name`;
//! - a word left empty by the stripping (`!` alone) is skipped; `||` and `or` (any case)
//!   separate alternatives;
//! - `{` takes every word up to the first `}` as an anonymous ACL; a `{` with no `}` after it
//!   is refused ("missing closing '}'"), and so is `{ }` ("missing fetch method");
//! - any other word is an ACL name, looked up among the `acl` lines read so far and the
//!   pre-defined ACLs ("no such ACL"); a lone `}` is such a name, refused as well.
//!
//! A dangling `||` or `!`, or nothing at all after `if`, is accepted silently by HAProxy, so it
//! only gets a warning (from the model's stricter [`Condition::parse`]).

use std::collections::HashMap;

use haproxy_model::keywords::acl::is_predefined;
use haproxy_model::keywords::proxy::CONDITIONAL;
use haproxy_model::{Condition, ConditionError, Diagnostic, Line, Section};

use super::{error, warning, Context};

/// Runs the ACL reference check on every proxy and defaults section.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let section = info.section;
        if !(section.kind().is_proxy() || *section.kind() == haproxy_model::SectionKind::Defaults) {
            continue;
        }
        let defined = first_definitions(section);
        for line in Context::statements(section) {
            if context.is_conditional(line) {
                continue;
            }
            let keyword = line.keyword().unwrap_or_default();
            if !CONDITIONAL.contains(&&*keyword) {
                continue;
            }
            let Some(start) = condition_start(line) else { continue };
            let words = condition_words(line, start);
            if let Err(e) = Condition::parse(&words) {
                let at = start + e.word();
                out.push(match e {
                    // HAProxy looks a lone `}` up as an ACL name and finds none: refused too.
                    ConditionError::UnclosedBrace { .. }
                    | ConditionError::EmptyBraces { .. }
                    | ConditionError::UnopenedBrace { .. } => error(line, at, e.to_string()),
                    _ => warning(line, at, e.to_string()),
                });
            }
            for (index, name) in referenced_acls(line) {
                // A lone `}` already got its error from the condition's parse.
                if is_predefined(&name) || name.contains('$') || name == "}" {
                    continue;
                }
                match defined.get(name.as_str()) {
                    Some(at) if *at < line.position().line => {}
                    Some(_) => out.push(error(
                        line,
                        index,
                        format!("no ACL named '{name}' before this line (HAProxy reads ACLs in order: define it first)"),
                    )),
                    None => out.push(error(line, index, format!("no ACL named '{name}' in this section"))),
                }
            }
        }
    }
}

/// The line of each ACL name's first `acl` line in the section, conditional ones included (an
/// ACL defined inside a `.if` block may exist, so it counts as defined).
fn first_definitions(section: &Section) -> HashMap<String, u32> {
    let mut first = HashMap::new();
    for (_, line) in section.statements("acl") {
        if let Some(name) = line.value(1) {
            first.entry(name.into_owned()).or_insert(line.position().line);
        }
    }
    first
}

/// Index of the `if` / `unless` word that starts a statement's condition. HAProxy never reads
/// a condition that follows an empty word (`http-request deny "" if x`).
fn condition_start(line: &Line) -> Option<usize> {
    line.words()
        .iter()
        .skip(1)
        .map(|w| w.value())
        .take_while(|v| !v.is_empty())
        .position(|v| matches!(&*v, "if" | "unless"))
        .map(|i| i + 1)
}

/// The condition's words from `if` / `unless`, up to the first empty word (HAProxy 2.6's
/// argument list ends there).
fn condition_words(line: &Line, start: usize) -> Vec<String> {
    line.values().into_iter().skip(start).take_while(|w| !w.is_empty()).map(|w| w.into_owned()).collect()
}

/// The ACL names a statement's condition uses, with the index of their word, read as
/// HAProxy 2.6's `parse_acl_cond()` reads them (see the module docs).
pub(super) fn referenced_acls(line: &Line) -> Vec<(usize, String)> {
    let Some(start) = condition_start(line) else {
        return Vec::new();
    };
    let words = condition_words(line, start);
    let mut names = Vec::new();
    let mut index = 1;
    while let Some(raw) = words.get(index) {
        let word = raw.trim_start_matches('!');
        if word.is_empty() || word == "||" || word.eq_ignore_ascii_case("or") {
            index += 1;
            continue;
        }
        if word == "{" {
            match words[index + 1..].iter().position(|w| w == "}") {
                Some(close) => index += close + 2,
                // HAProxy stops at the unclosed brace; the parse error says so.
                None => break,
            }
            continue;
        }
        names.push((start + index, word.to_string()));
        index += 1;
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

    #[test]
    fn negated_anonymous_acls_hold_no_names() {
        assert_eq!(names("http-request deny if !{ path /x }"), Vec::<String>::new());
        assert_eq!(names("http-request deny unless !!{ path /x } a"), ["a"]);
        assert_eq!(names("http-request deny if { path /x } || !{ path /y } OR b"), ["b"]);
        assert_eq!(names("http-request deny if ! { path /x } !c"), ["c"]);
    }

    #[test]
    fn the_empty_word_ends_the_condition() {
        assert_eq!(names("http-request deny if a \"\" nosuch"), ["a"]);
        assert_eq!(names("http-request deny if \"\" nosuch"), Vec::<String>::new());
        assert_eq!(names("http-request deny \"\" if nosuch"), Vec::<String>::new());
    }

    #[test]
    fn a_lone_closing_brace_is_a_name() {
        assert_eq!(names("http-request deny if }"), ["}"]);
    }
}
