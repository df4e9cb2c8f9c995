//! ACL, rule and default_backend ops. ACLs and default_backend go through the typed editor
//! ([`haproxy_model::views::ProxyMut`]: a new ACL lands after the last one or before the first
//! rule, since HAProxy resolves ACL names when it reads a rule). Rules keep their order within a
//! keyword (HAProxy evaluates `http-request` rules top to bottom), so an inserted rule lands
//! exactly at its position.

use haproxy_model::views::RULE_KEYWORDS;
use haproxy_model::Document;

use super::sections::{check_name, check_values, Side};
use super::servers::proxy_mut;
use super::{OpError, OpResult};

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

/// `add_rule`: one of [`RULE_KEYWORDS`], placed so that it becomes the `position`th rule of
/// its keyword (HAProxy evaluates them in that order), or after the last one.
pub(super) fn add_rule(doc: &mut Document, proxy: &str, words: &[String], position: Option<usize>) -> OpResult {
    let Some((keyword, args)) = words.split_first() else {
        return Err(OpError::new("a rule needs at least its keyword"));
    };
    if !RULE_KEYWORDS.contains(&keyword.as_str()) {
        return Err(OpError::new(format!(
            "{keyword:?} is not a rule keyword (one of {}); use set_directive",
            RULE_KEYWORDS.join(", ")
        )));
    }
    check_values(words)?;
    let mut editor = proxy_mut(doc, Side::Any, proxy)?;
    let existing = editor.view().rules_of(keyword).len();
    let added = match position {
        Some(p) if p > existing => {
            return Err(OpError::new(format!(
                "position {p} is out of range: proxy {proxy:?} has {existing} {keyword:?} rules"
            )))
        }
        Some(p) => editor.insert_rule(keyword, p, args, None).is_some(),
        None => editor.add_rule(keyword, args, None).is_some(),
    };
    if !added {
        return Err(OpError::new(format!("{keyword:?} rule could not be added")));
    }
    Ok(())
}

/// `delete_rule`.
pub(super) fn delete_rule(doc: &mut Document, proxy: &str, keyword: &str, position: usize) -> OpResult {
    let mut editor = proxy_mut(doc, Side::Any, proxy)?;
    let rules = editor.view().rules_of(keyword);
    let index = rules.get(position).map(|r| r.index()).ok_or_else(|| {
        OpError::new(format!(
            "position {position} is out of range: proxy {proxy:?} has {} {keyword:?} rules",
            rules.len()
        ))
    })?;
    editor.remove_rule(index);
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
