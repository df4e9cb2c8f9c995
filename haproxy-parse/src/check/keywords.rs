//! Keywords against their section: unknown keywords, keywords a section cannot hold (the proxy
//! keywords matrix of configuration.txt §4.1), keywords HAProxy removed, and the `no` /
//! `default` prefixes, which HAProxy strips in every section before it looks the keyword up.
//!
//! An unknown keyword is only reported in sections whose keyword table is complete for
//! HAProxy 2.6 (the tables are the model's, [`haproxy_model::keywords`]); build-dependent keywords (51Degrees, DeviceAtlas,
//! WURFL, QUIC tuning) are in the tables, so a config written for another build does not
//! raise false alarms. Lines inside `.if` blocks are skipped: a block guarded by
//! `version_atleast(3.0)` may use keywords HAProxy 2.6 never sees.

use std::collections::HashMap;
use std::sync::OnceLock;

use haproxy_model::{Diagnostic, Line, SectionKind};

use haproxy_model::keywords::proxy::{self, Rule};
use haproxy_model::keywords::{global, sections};

use super::context::SectionInfo;
use super::{error, warning, Context};

/// Runs the keyword checks on every section.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for info in &context.sections {
        let kind = info.section.kind();
        for line in Context::statements(info.section) {
            if context.is_conditional(line) {
                continue;
            }
            let Some(keyword) = line.keyword() else { continue };
            if keyword.contains('$') || keyword.starts_with('.') || keyword.is_empty() {
                // `"${KEYWORD}"` is only known once the environment is; dot-directives are
                // the `directives` check's; a line starting with `""` is the `empty` check's.
                continue;
            }
            // HAProxy strips `no` / `default` in every section, then refuses the prefix before
            // any keyword but a few.
            let start = if matches!(&*keyword, "no" | "default") {
                let target = line.value(1).unwrap_or_default();
                if target.contains('$') {
                    continue;
                }
                if !global::NEGATABLE.contains(&&*target) {
                    out.push(bad_prefix(line, &keyword));
                    continue;
                }
                1
            } else {
                0
            };
            let target = line.value(start).unwrap_or_default();
            match kind {
                SectionKind::Global => check_global(line, start, &target, out),
                kind if kind.is_proxy() || *kind == SectionKind::Defaults => check_proxy(info, line, start, out),
                kind => {
                    if let Some(known) = sections::for_section(kind) {
                        if !known.contains(&&*target) {
                            out.push(unknown(line, start, &target, kind));
                        }
                    }
                }
            }
        }
    }
}

fn unknown(line: &Line, index: usize, keyword: &str, kind: &SectionKind) -> Diagnostic {
    error(line, index, format!("unknown keyword '{keyword}' in '{kind}' section"))
}

/// The diagnostic for `no` / `default` put before a keyword that cannot take it.
fn bad_prefix(line: &Line, prefix: &str) -> Diagnostic {
    error(
        line,
        0,
        format!(
            "'{prefix}' prefix is only supported for option, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping"
        ),
    )
}

/// `global`: removed and unknown keywords (word `index` is the keyword, after any prefix).
fn check_global(line: &Line, index: usize, keyword: &str, out: &mut Vec<Diagnostic>) {
    if let Some((_, instead)) = global::REMOVED.iter().find(|(k, _)| *k == keyword) {
        out.push(error(line, index, format!("'{keyword}' is not supported any more by HAProxy 2.6; {instead}")));
    } else if global::KEYWORDS.binary_search(&keyword).is_err() {
        out.push(unknown(line, index, keyword, &SectionKind::Global));
    }
}

/// defaults, frontend, listen, backend (word `start` is the keyword, after any prefix).
fn check_proxy(info: &SectionInfo<'_>, line: &Line, start: usize, out: &mut Vec<Diagnostic>) {
    let kind = info.section.kind();
    let values = line.values();
    let keyword = &*values[start];
    if let Some((_, instead)) = proxy::REMOVED.iter().find(|(k, _)| *k == keyword) {
        out.push(error(line, start, format!("'{keyword}' is not supported any more by HAProxy 2.6; {instead}")));
        return;
    }
    if proxy::KEYWORDS.binary_search(&keyword).is_err() {
        out.push(unknown(line, start, keyword, kind));
        return;
    }
    if keyword == "option" {
        match values.get(start + 1) {
            Some(option) if option.contains('$') => {}
            Some(option) if proxy::OPTIONS.binary_search(&&**option).is_err() => {
                out.push(error(line, start + 1, format!("unknown option '{option}'")));
                return;
            }
            Some(_) => {}
            None => {
                out.push(error(line, start, "'option' needs an option name"));
                return;
            }
        }
    }
    let Some((key, rules)) = matrix_rule(&values[start..]) else { return };
    let column = match kind {
        SectionKind::Defaults => 0,
        SectionKind::Frontend => 1,
        SectionKind::Listen => 2,
        _ => 3,
    };
    let anonymous = info.name.is_none();
    match rules[column] {
        Rule::A => {}
        Rule::N if anonymous => {
            out.push(error(line, start, format!("'{key}' is not allowed in an anonymous defaults section")));
        }
        Rule::N => {}
        Rule::E => out.push(error(line, start, not_here(key, kind, "is not allowed"))),
        Rule::W => out.push(warning(line, start, not_here(key, kind, "is ignored"))),
    }
}

/// "'server' is not allowed in a frontend (it has no backend side)".
fn not_here(key: &str, kind: &SectionKind, verdict: &str) -> String {
    match kind {
        SectionKind::Frontend => format!("'{key}' {verdict} in a frontend (it has no backend side)"),
        SectionKind::Backend => format!("'{key}' {verdict} in a backend (it has no frontend side)"),
        other => format!("'{key}' {verdict} in a '{other}' section"),
    }
}

/// A matrix row: the keyword (one to three words) and its rules.
type Row = (&'static str, [Rule; 4]);

/// The matrix row for a statement: the longest key whose words start the statement.
fn matrix_rule(values: &[std::borrow::Cow<'_, str>]) -> Option<Row> {
    static INDEX: OnceLock<HashMap<&'static str, Vec<Row>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut map: HashMap<&'static str, Vec<Row>> = HashMap::new();
        for (key, rules) in proxy::MATRIX {
            let first = key.split(' ').next().unwrap_or(key);
            map.entry(first).or_default().push((key, *rules));
        }
        map
    });
    let first = values.first()?;
    index
        .get(&**first)?
        .iter()
        .filter(|(key, _)| key.split(' ').zip(values.iter().map(|v| &**v).chain(std::iter::repeat(""))).all(|(k, v)| k == v))
        .max_by_key(|(key, _)| key.len())
        .copied()
}
