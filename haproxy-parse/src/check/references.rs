//! References between sections: `from` a defaults section, `use_backend` and
//! `default_backend` to a backend, `track-sc*` and `stick` rules to a stick table.
//!
//! Only static names are checked: a name holding `%[...]` or `${VAR}` is decided at run time.
//! A `default_backend` written in a defaults section is only checked when a frontend or
//! listen inherits it without setting its own (HAProxy resolves it per proxy); stick tables
//! named by a defaults section's rules only when some section inherits them.

use std::collections::HashSet;

use haproxy_model::{Diagnostic, Line, SectionKind};

use super::context::{Parent, SectionInfo};
use super::{error, is_dynamic, Context};

/// Runs the reference checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let tables = stick_tables(context);
    let mut reported_defaults_lines = HashSet::new();
    for (index, info) in context.sections.iter().enumerate() {
        let kind = info.section.kind();
        from_defaults(info, out);
        let resolved = *kind != SectionKind::Defaults || context.is_inherited(index);
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        let has_table = info.section.statement("stick-table").is_some();
        let mut own_default_backend = false;
        for line in Context::statements(info.section) {
            if context.is_conditional(line) {
                continue;
            }
            let keyword = line.keyword().unwrap_or_default();
            match &*keyword {
                "use_backend" if kind.has_frontend() => backend_reference(context, line, out),
                "default_backend" => {
                    own_default_backend = true;
                    if kind.has_frontend() {
                        backend_reference(context, line, out);
                    }
                }
                _ => {}
            }
            if resolved {
                table_references(info, line, has_table, &tables, out);
            }
        }
        // A frontend that takes its default_backend from its defaults section.
        if kind.has_frontend() && !own_default_backend {
            if let Some(parent) = context.parent_of(info) {
                for line in Context::statements(parent.section) {
                    if line.keyword().as_deref() == Some("default_backend")
                        && !context.is_conditional(line)
                        && reported_defaults_lines.insert(line.position())
                    {
                        backend_reference(context, line, out);
                    }
                }
            }
        }
    }
}

/// `from NAME`: a named defaults section declared before.
fn from_defaults(info: &SectionInfo<'_>, out: &mut Vec<Diagnostic>) {
    if info.parent != Parent::Missing {
        return;
    }
    let header = info.section.header();
    let Some(from) = info.section.from() else { return };
    let index = header.words().iter().rposition(|w| w.value() == from).unwrap_or(0);
    let kind = info.section.kind();
    let name = info.name.as_deref().map(|n| format!(" '{n}'")).unwrap_or_default();
    out.push(error(
        header,
        index,
        format!("defaults section '{from}' not found for {kind}{name} (it must be a named defaults section declared before)"),
    ));
}

/// `use_backend NAME [if|unless ...]`, `default_backend NAME`.
fn backend_reference(context: &Context<'_>, line: &Line, out: &mut Vec<Diagnostic>) {
    let Some(name) = line.value(1) else {
        out.push(error(line, 0, format!("'{}' needs a backend name", line.keyword().unwrap_or_default())));
        return;
    };
    if is_dynamic(&name) || context.has_backend(&name) {
        return;
    }
    out.push(error(line, 1, format!("no backend named '{name}' (needed by {})", line.keyword().unwrap_or_default())));
}

/// Names of stick tables: proxies declaring `stick-table`, and `table NAME` in peers sections.
fn stick_tables(context: &Context<'_>) -> HashSet<String> {
    let mut tables = HashSet::new();
    for info in &context.sections {
        let section = info.section;
        if section.kind().is_proxy() && section.statement("stick-table").is_some() {
            tables.extend(info.name.as_ref().map(|n| n.to_string()));
        }
        if *section.kind() == SectionKind::Peers {
            for (_, line) in section.statements("table") {
                tables.extend(line.value(1).map(|n| n.into_owned()));
                if let Some(peers) = &info.name {
                    tables.extend(line.value(1).map(|n| format!("{peers}/{n}")));
                }
            }
        }
    }
    tables
}

/// `... track-scN KEY [table NAME]` and `stick ... [table NAME]`: the table must exist; without
/// `table`, the section itself must declare a stick table.
fn table_references(
    info: &SectionInfo<'_>,
    line: &Line,
    has_table: bool,
    tables: &HashSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    let values = line.values();
    let tracker = match &*values[0] {
        "http-request" | "http-response" | "tcp-request" | "tcp-response" => {
            values.iter().position(|v| v.starts_with("track-sc") && v[8..].chars().all(|c| c.is_ascii_digit()))
        }
        "stick" => Some(0),
        _ => None,
    };
    let Some(tracker) = tracker else { return };
    // The condition that follows the tracker (an `if` before `track-scN` is not its condition).
    let condition = values[tracker..].iter().position(|v| v == "if" || v == "unless").map_or(values.len(), |i| tracker + i);
    let table = values[tracker..condition].iter().position(|v| v == "table").map(|i| tracker + i + 1);
    match table {
        Some(i) => {
            let Some(name) = values.get(i) else {
                out.push(error(line, i - 1, "'table' needs a table name"));
                return;
            };
            if !is_dynamic(name) && !tables.contains(&**name) {
                out.push(error(line, i, format!("no stick table named '{name}'")));
            }
        }
        None if !has_table => {
            let name = info.name.as_deref().unwrap_or("");
            out.push(error(
                line,
                tracker,
                format!("'{}' uses the stick table of '{name}', which declares none (add 'table NAME')", values[tracker]),
            ));
        }
        None => {}
    }
}
