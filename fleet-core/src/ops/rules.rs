//! ACL, rule and default_backend ops. Rules keep their order within a keyword (HAProxy evaluates
//! `http-request` rules top to bottom), so an inserted rule lands exactly at its position.

use haproxy_model::{Document, Line, Section};

use super::sections::{check_name, check_values, proxy_index, set_words, Side};
use super::servers::insert_after_siblings as insert_after;
use super::{OpError, OpResult};

fn proxy_section<'d>(doc: &'d mut Document, side: Side, name: &str) -> OpResult<&'d mut Section> {
    let index = proxy_index(doc, side, name)?;
    doc.sections_mut().get_mut(index).ok_or_else(|| OpError::new(format!("proxy {name:?} not found")))
}

/// `add_acl`.
pub(super) fn add_acl(doc: &mut Document, proxy: &str, name: &str, words: &[String]) -> OpResult {
    check_name("acl", name)?;
    check_values(words)?;
    if words.is_empty() {
        return Err(OpError::new(format!("acl {name:?} needs a criterion")));
    }
    let section = proxy_section(doc, Side::Any, proxy)?;
    let mut values = vec!["acl".to_string(), name.to_string()];
    values.extend(words.iter().cloned());
    insert_after(section, "acl", &values);
    Ok(())
}

/// `delete_acl`: every line defining the ACL (an ACL may be declared over several lines).
pub(super) fn delete_acl(doc: &mut Document, proxy: &str, name: &str) -> OpResult {
    let section = proxy_section(doc, Side::Any, proxy)?;
    let lines: Vec<usize> =
        section.statements("acl").filter(|(_, l)| l.value(1).as_deref() == Some(name)).map(|(i, _)| i).collect();
    if lines.is_empty() {
        return Err(OpError::new(format!("acl {name:?} not found in proxy {proxy:?}")));
    }
    for i in lines.into_iter().rev() {
        section.remove_line(i);
    }
    Ok(())
}

/// `add_rule`.
pub(super) fn add_rule(doc: &mut Document, proxy: &str, words: &[String], position: Option<usize>) -> OpResult {
    let Some(keyword) = words.first() else {
        return Err(OpError::new("a rule needs at least its keyword"));
    };
    check_name("rule keyword", keyword)?;
    check_values(words)?;
    if haproxy_model::SectionKind::from_keyword(keyword).is_some() {
        return Err(OpError::new(format!("{keyword:?} opens a section, it is not a rule")));
    }
    let section = proxy_section(doc, Side::Any, proxy)?;
    let existing: Vec<usize> = section.statements(keyword).map(|(i, _)| i).collect();
    match position {
        Some(p) if p > existing.len() => Err(OpError::new(format!(
            "position {p} is out of range: proxy {proxy:?} has {} {keyword:?} rules",
            existing.len()
        ))),
        Some(p) if p < existing.len() => {
            section.insert_line(existing[p], Line::statement("", words));
            Ok(())
        }
        _ => {
            insert_after(section, keyword, words);
            Ok(())
        }
    }
}

/// `delete_rule`.
pub(super) fn delete_rule(doc: &mut Document, proxy: &str, keyword: &str, position: usize) -> OpResult {
    let section = proxy_section(doc, Side::Any, proxy)?;
    let existing: Vec<usize> = section.statements(keyword).map(|(i, _)| i).collect();
    let index = existing.get(position).copied().ok_or_else(|| {
        OpError::new(format!(
            "position {position} is out of range: proxy {proxy:?} has {} {keyword:?} rules",
            existing.len()
        ))
    })?;
    section.remove_line(index);
    Ok(())
}

/// `set_default_backend`.
pub(super) fn set_default_backend(doc: &mut Document, frontend: &str, backend: Option<&str>) -> OpResult {
    if let Some(backend) = backend {
        check_name("backend", backend)?;
    }
    let section = proxy_section(doc, Side::Frontend, frontend)?;
    let existing: Vec<usize> = section.statements("default_backend").map(|(i, _)| i).collect();
    match (backend, existing.first()) {
        (Some(backend), Some(&first)) => {
            if let Some(line) = section.lines_mut().get_mut(first) {
                set_words(line, 1, &[backend]);
            }
        }
        (Some(backend), None) => {
            section.push_statement(&["default_backend", backend]);
        }
        (None, _) => {
            for i in existing.into_iter().rev() {
                section.remove_line(i);
            }
        }
    }
    Ok(())
}
