//! Helpers for directives that appear once per section (`mode`, `balance`, `timeout X`):
//! find the effective line, rewrite its arguments in place, add or remove it.

use crate::{Line, LineKind, Section};

/// True when `line` is a statement whose first words' values are `prefix`.
pub(crate) fn starts_with(line: &Line, prefix: &[&str]) -> bool {
    line.kind() == LineKind::Statement
        && line.words().len() >= prefix.len()
        && prefix.iter().zip(line.words()).all(|(want, word)| word.value() == *want)
}

/// Indexes of the lines whose words start with `prefix`.
pub(crate) fn indexes(section: &Section, prefix: &[&str]) -> Vec<usize> {
    section.lines().iter().enumerate().filter(|(_, l)| starts_with(l, prefix)).map(|(i, _)| i).collect()
}

/// The last line starting with `prefix`: the one HAProxy applies.
pub(crate) fn last(section: &Section, prefix: &[&str]) -> Option<usize> {
    section.lines().iter().rposition(|l| starts_with(l, prefix))
}

/// Makes words `from..` of `line` hold `args`: words whose value already matches are left
/// alone, others are re-rendered, extra ones removed, missing ones appended.
pub(crate) fn set_args<S: AsRef<str>>(line: &mut Line, from: usize, args: &[S]) {
    for (i, arg) in args.iter().enumerate() {
        let index = from + i;
        match line.value(index) {
            Some(old) if old == arg.as_ref() => {}
            Some(_) => {
                line.set_value(index, arg.as_ref());
            }
            None => line.push_word(arg.as_ref()),
        }
    }
    while line.words().len() > from + args.len() {
        line.remove_word(line.words().len() - 1);
    }
}

/// Sets `prefix args` on the last matching line, or appends it; `None` removes every
/// matching line. Returns the index of the line set.
pub(crate) fn set<S: AsRef<str>>(section: &mut Section, prefix: &[&str], args: Option<&[S]>) -> Option<usize> {
    match args {
        Some(args) => match last(section, prefix) {
            Some(index) => {
                if let Some(line) = section.lines_mut().get_mut(index) {
                    set_args(line, prefix.len(), args);
                }
                Some(index)
            }
            None => {
                let mut values: Vec<&str> = prefix.to_vec();
                values.extend(args.iter().map(AsRef::as_ref));
                Some(section.push_statement(&values))
            }
        },
        None => {
            remove_all(section, prefix);
            None
        }
    }
}

/// Removes every line starting with `prefix`; returns how many.
pub(crate) fn remove_all(section: &mut Section, prefix: &[&str]) -> usize {
    let found = indexes(section, prefix);
    for &index in found.iter().rev() {
        section.remove_line(index);
    }
    found.len()
}

/// Inserts `values` after the last line whose keyword is one of `after`; when there is none,
/// before the first line whose keyword is one of `before`; else after the last statement.
/// Returns the new line's index.
pub(crate) fn insert_near<S: AsRef<str>>(section: &mut Section, after: &[&str], before: &[&str], values: &[S]) -> usize {
    let keyword_in = |line: &Line, set: &[&str]| {
        line.kind() == LineKind::Statement && line.keyword().is_some_and(|k| set.contains(&k.as_ref()))
    };
    let lines = section.lines();
    let index = match lines.iter().rposition(|l| keyword_in(l, after)) {
        Some(i) => Some(i + 1),
        None => lines.iter().position(|l| keyword_in(l, before)),
    };
    match index {
        Some(index) => {
            section.insert_line(index, Line::statement("", values));
            index
        }
        None => section.push_statement(values),
    }
}
