//! Section-level structure: statements before any section, section names, and the final
//! line ending HAProxy insists on.
//!
//! HAProxy 2.6 refuses a keyword it meets before the first section ("unknown keyword 'X' out
//! of section"), a named section without its name, a name holding characters other than
//! letters, digits, `.`, `_`, `-` and `:`, and a file whose last line has no newline
//! ("Missing LF on last line, file might have been truncated"). Sections that only later
//! releases have (`crt-store`, `traces`, `log-profile` ...) are unknown to 2.6 as well.

use haproxy_model::{invalid_char, Diagnostic, Line, LineEnding, LineKind, Position, SectionKind};

use super::{error, Context};

/// Runs the section-level checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for line in context.out_of_section() {
        if line.kind() == LineKind::Statement && !context.is_conditional(line) {
            let keyword = line.keyword().unwrap_or_default();
            if keyword.starts_with('.') || keyword.is_empty() {
                // Dot-directives are the `directives` check's; HAProxy skips a line whose
                // first word is empty.
                continue;
            }
            out.push(error(line, 0, format!("unknown keyword '{keyword}' out of section")));
        }
    }
    for info in &context.sections {
        let section = info.section;
        let header = section.header();
        let kind = section.kind();
        if matches!(kind, SectionKind::CrtStore | SectionKind::Unknown(_)) && !context.is_conditional(header) {
            // Sections of later releases: 2.6 reads their keyword as a statement out of section.
            out.push(error(header, 0, format!("unknown keyword '{kind}' out of section (HAProxy 2.6 has no '{kind}' sections)")));
            continue;
        }
        if !needs_name(kind) {
            continue;
        }
        match &info.name {
            None => out.push(error(header, 0, format!("'{kind}' section needs a name"))),
            Some(name) if checks_name_characters(kind) => {
                if let Some(bad) = invalid_char(name) {
                    out.push(error(
                        header,
                        1,
                        format!("character '{bad}' is not permitted in '{kind}' name '{name}'"),
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for last in context.last_lines() {
        missing_final_newline(last, out);
    }
}

/// HAProxy reads a file line by line and refuses a last line without `\n`, even a blank one.
fn missing_final_newline(last: &Line, out: &mut Vec<Diagnostic>) {
    let text = last.text();
    if last.ending() == LineEnding::None && !text.is_empty() {
        let column = text.chars().count() as u32 + 1;
        out.push(Diagnostic::error(
            Position::new(last.position().line, column),
            "missing newline at the end of the last line (HAProxy refuses a file that might be truncated)",
        ));
    }
}

/// Sections whose header must carry a name.
fn needs_name(kind: &SectionKind) -> bool {
    !matches!(kind, SectionKind::Global | SectionKind::Defaults | SectionKind::CrtStore | SectionKind::Unknown(_))
}

/// Sections whose names HAProxy 2.6 restricts to HAProxy's name characters ([`invalid_char`]) (verified with `haproxy -c`:
/// `program` and `cache` names are not checked).
fn checks_name_characters(kind: &SectionKind) -> bool {
    kind.is_proxy()
        || matches!(
            kind,
            SectionKind::Userlist
                | SectionKind::Peers
                | SectionKind::Resolvers
                | SectionKind::Mailers
                | SectionKind::HttpErrors
                | SectionKind::Ring
                | SectionKind::FcgiApp
                | SectionKind::LogForward
        )
}
