//! Lines -> sections, and the nesting of `.if` blocks (configuration.txt §2.4).
//!
//! A statement whose keyword opens a section starts a new [`Section`]; every following line,
//! trivia and conditionals included, belongs to it until the next header. Lines before the
//! first header form the preamble.

use haproxy_model::{Conditional, Diagnostic, Document, Line, LineKind, Section, SectionKind};

/// Groups lexed lines into a document.
pub(crate) fn group(lines: impl IntoIterator<Item = Line>) -> Document {
    let mut preamble = Vec::new();
    let mut sections: Vec<Section> = Vec::new();
    for line in lines {
        if opens_section(&line) {
            if let Some(section) = Section::from_parts(line, Vec::new()) {
                sections.push(section);
            }
            continue;
        }
        match sections.last_mut() {
            Some(section) => section.lines_mut().push(line),
            None => preamble.push(line),
        }
    }
    Document::from_parts(preamble, sections)
}

/// True when `line` is a section header (its keyword opens a section).
pub(crate) fn opens_section(line: &Line) -> bool {
    line.kind() == LineKind::Statement
        && line.words().first().is_some_and(|w| SectionKind::from_keyword(&w.value()).is_some())
}

/// Checks that `.if` / `.elif` / `.else` / `.endif` nest properly.
pub(crate) fn check_conditionals<'a>(lines: impl Iterator<Item = &'a Line>, diagnostics: &mut Vec<Diagnostic>) {
    // Each open block: the `.if` line and whether its `.else` was seen.
    let mut open: Vec<(&Line, bool)> = Vec::new();
    for line in lines {
        let LineKind::Conditional(which) = line.kind() else { continue };
        let at = line.position();
        let at = haproxy_model::Position::new(at.line, line.column_of(0));
        match which {
            Conditional::If => {
                if line.words().len() < 2 {
                    // HAProxy 2.6 accepts `.if` alone (tried with `haproxy -c`): a warning only.
                    diagnostics.push(Diagnostic::warning(at, "'.if' has no condition"));
                }
                open.push((line, false));
            }
            Conditional::Elif => match open.last() {
                None => diagnostics.push(Diagnostic::error(at, "'.elif' appears without a previous '.if'")),
                Some((_, true)) => diagnostics.push(Diagnostic::error(at, "'.elif' appears after '.else'")),
                Some(_) if line.words().len() < 2 => {
                    diagnostics.push(Diagnostic::warning(at, "'.elif' has no condition"))
                }
                Some(_) => {}
            },
            Conditional::Else => match open.last_mut() {
                None => diagnostics.push(Diagnostic::error(at, "'.else' appears without a previous '.if'")),
                Some((_, seen)) if *seen => diagnostics.push(Diagnostic::error(at, "'.else' appears twice in one block")),
                Some((_, seen)) => *seen = true,
            },
            Conditional::Endif => {
                if open.pop().is_none() {
                    diagnostics.push(Diagnostic::error(at, "'.endif' appears without a previous '.if'"));
                }
            }
        }
    }
    for (line, _) in open {
        let at = line.position();
        diagnostics.push(Diagnostic::error(
            haproxy_model::Position::new(at.line, line.column_of(0)),
            "'.if' block is never closed by '.endif'",
        ));
    }
}
