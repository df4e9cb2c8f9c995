//! ACL, rule and default_backend ops. ACLs and default_backend go through the typed editor
//! ([`haproxy_model::views::ProxyMut`]: a new ACL lands after the last one or before the first
//! rule, since HAProxy resolves ACL names when it reads a rule). Rules keep their order within a
//! keyword (HAProxy evaluates `http-request` rules top to bottom), so an inserted rule lands
//! exactly at its position.

use haproxy_model::{Document, Line, Section};

use super::sections::{check_name, check_values, proxy_index, Side};
use super::servers::{insert_after_siblings as insert_after, proxy_mut};
use super::{OpError, OpResult};

fn proxy_section<'d>(doc: &'d mut Document, side: Side, name: &str) -> OpResult<&'d mut Section> {
    let index = proxy_index(doc, side, name)?;
    doc.sections_mut().get_mut(index).ok_or_else(|| OpError::new(format!("proxy {name:?} not found")))
}

/// `add_acl`.
pub(super) fn add_acl(doc: &mut Document, proxy: &str, name: &str, words: &[String]) -> OpResult {
    check_name("acl", name)?;
    check_values(words)?;
    let Some((criterion, rest)) = words.split_first() else {
        return Err(OpError::new(format!("acl {name:?} needs a criterion")));
    };
    proxy_mut(doc, Side::Any, proxy)?.add_acl(name, criterion, rest);
    Ok(())
}

/// `delete_acl`: every line declaring the ACL (an ACL may be declared over several lines).
pub(super) fn delete_acl(doc: &mut Document, proxy: &str, name: &str) -> OpResult {
    if proxy_mut(doc, Side::Any, proxy)?.remove_acl(name) == 0 {
        return Err(OpError::new(format!("acl {name:?} not found in proxy {proxy:?}")));
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
    let mut proxy = proxy_mut(doc, Side::Frontend, frontend)?;
    if proxy.view().default_backend().as_deref() != backend {
        proxy.set_default_backend(backend);
    }
    Ok(())
}
