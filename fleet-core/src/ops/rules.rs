//! ACL, rule and default_backend ops, through the typed editor ([`haproxy_model::ProxyMut`]):
//! a new ACL lands after the last one or before the first rule, since HAProxy resolves ACL names
//! when it reads a rule; rules keep their order within a keyword (HAProxy evaluates
//! `http-request` rules top to bottom), so an inserted rule lands exactly at its position. The
//! editor decides what a valid ACL or rule is ([`haproxy_model::EditError`]).

use haproxy_model::{check_name, Document, EditError, Side};

use super::servers::proxy_mut;
use super::{OpError, OpResult};

/// `add_acl`.
pub(super) fn add_acl(doc: &mut Document, proxy: &str, name: &str, words: &[String]) -> OpResult {
    let (criterion, rest) = words.split_first().map_or(("", &[][..]), |(c, rest)| (c.as_str(), rest));
    proxy_mut(doc, Side::Any, proxy)?.add_acl(name, criterion, rest)?;
    Ok(())
}

/// `delete_acl`: every line declaring the ACL (an ACL may be declared over several lines).
pub(super) fn delete_acl(doc: &mut Document, proxy: &str, name: &str) -> OpResult {
    proxy_mut(doc, Side::Any, proxy)?.remove_acl(name)?;
    Ok(())
}

/// `add_rule`: one of [`haproxy_model::RULE_KEYWORDS`], placed so that it becomes the
/// `position`th rule of its keyword (HAProxy evaluates them in that order), or after the last one.
pub(super) fn add_rule(doc: &mut Document, proxy: &str, words: &[String], position: Option<usize>) -> OpResult {
    let Some((keyword, args)) = words.split_first() else {
        return Err(OpError::new("a rule needs at least its keyword"));
    };
    let mut editor = proxy_mut(doc, Side::Any, proxy)?;
    let added = match position {
        Some(p) => editor.insert_rule(keyword, p, args, None).map(drop),
        None => editor.add_rule(keyword, args, None).map(drop),
    };
    added.map_err(|e| match e {
        EditError::NotARuleKeyword(_) => OpError::new(format!("{e}; use set_directive")),
        e => e.into(),
    })
}

/// `delete_rule`.
pub(super) fn delete_rule(doc: &mut Document, proxy: &str, keyword: &str, position: usize) -> OpResult {
    proxy_mut(doc, Side::Any, proxy)?.remove_rule_at(keyword, position)?;
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
