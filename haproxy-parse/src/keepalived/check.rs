//! Offline checks of a keepalived document (validation level 2): what `keepalived -t` would
//! reject or silently change, found without running keepalived.
//!
//! ```text
//! Document -> keywords per block (keywords.rs) -> VRRP instance rules -> references -> Vec<Diagnostic>
//! ```
//! Each diagnostic points at the word at fault. Statements that keepalived rewrites before
//! reading them (`$VAR=` definitions, `$VAR` uses, `~SEQ`) are not judged, and references to
//! `vrrp_script`s are not checked when the file has `include` lines (the script may live in
//! an included file).

use std::collections::{HashMap, HashSet};

use haproxy_model::keepalived::{Block, Document, Statement, Word};
use haproxy_model::{Diagnostic, Position};

use super::keywords;

/// Semantic diagnostics for a parsed document, in position order.
pub fn check_document(document: &Document) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    check_keywords(document.statements(), None, None, &mut diagnostics);
    check_instances(document, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.position.line, d.position.column));
    diagnostics
}

/// True for statements keepalived rewrites or skips before matching keywords.
fn is_preprocessed(statement: &Statement) -> bool {
    statement.is_definition()
        || statement.keyword_word().map_or(true, |w| w.raw().starts_with(['$', '~', '}']) || w.raw().contains('$'))
}

fn check_keywords(
    statements: &[Statement],
    parent: Option<&str>,
    block: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let allowed = keywords::allowed(parent, block);
    for statement in statements {
        let keyword = statement.keyword();
        if let (Some(allowed), Some(keyword), Some(word)) = (allowed, keyword.as_deref(), statement.keyword_word()) {
            if !is_preprocessed(statement) && !allowed.contains(&keyword) {
                let place = block.map_or_else(|| "at top level".to_string(), |b| format!("in {b}"));
                diagnostics.push(Diagnostic::error(word.position(), format!("unknown keyword '{keyword}' {place}")));
            }
        }
        if let Some(inner) = statement.block() {
            check_keywords(inner.statements(), block, keyword.as_deref(), diagnostics);
        }
    }
}

/// The word holding the first argument of `keyword` in `block`, with its value.
fn argument<'a>(block: &'a Block, keyword: &str) -> Option<(&'a Word, String)> {
    let word = block.find(keyword)?.args().first()?;
    Some((word, word.value().into_owned()))
}

/// Checks `keyword N` is a whole number in 1..=255; returns it when it is.
fn check_range(block: &Block, keyword: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<u32> {
    let (word, value) = argument(block, keyword)?;
    if value.contains('$') {
        return None;
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=255).contains(&n) => Some(n),
        _ => {
            diagnostics.push(Diagnostic::error(word.position(), format!("{keyword} '{value}' is outside 1..255")));
            None
        }
    }
}

/// The instance's address family, from its first virtual address (`:` means IPv6).
fn family(block: &Block) -> &'static str {
    let v6 = block
        .entries("virtual_ipaddress")
        .first()
        .and_then(|s| s.words().first())
        .is_some_and(|w| w.value().contains(':'));
    if v6 {
        "ipv6"
    } else {
        "ipv4"
    }
}

fn check_instances(document: &Document, diagnostics: &mut Vec<Diagnostic>) {
    let has_includes = document.find_all("include").next().is_some();
    let scripts: HashSet<String> =
        document.find_all("vrrp_script").filter_map(|s| s.arg(0).map(|n| n.into_owned())).collect();
    let default_interface =
        document.find_all("global_defs").filter_map(Statement::block).any(|b| b.has("default_interface"));
    let mut vrids: HashMap<(String, u32, &'static str), (String, Position)> = HashMap::new();
    for statement in document.find_all("vrrp_instance") {
        let name = statement.arg(0).map(|n| n.into_owned()).unwrap_or_default();
        let at = statement.keyword_word().map_or_else(|| statement.position(), Word::position);
        let Some(block) = statement.block() else {
            diagnostics.push(Diagnostic::error(at, format!("vrrp_instance '{name}' has no block")));
            continue;
        };
        let interface = argument(block, "interface").map(|(_, v)| v);
        if interface.is_none() && !default_interface {
            diagnostics.push(Diagnostic::error(at, format!("vrrp_instance '{name}' has no interface")));
        }
        if block.find("virtual_router_id").is_none() {
            diagnostics.push(Diagnostic::error(at, format!("vrrp_instance '{name}' has no virtual_router_id")));
        }
        let vrid = check_range(block, "virtual_router_id", diagnostics);
        check_range(block, "priority", diagnostics);
        if let (Some(interface), Some(vrid)) = (interface, vrid) {
            let position = argument(block, "virtual_router_id").map_or(at, |(w, _)| w.position());
            match vrids.entry((interface.clone(), vrid, family(block))) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    let (other, first_at) = first.get();
                    diagnostics.push(Diagnostic::error(
                        position,
                        format!(
                            "duplicate virtual_router_id {vrid} on interface {interface}: vrrp_instance '{other}' (line {}) uses it too",
                            first_at.line
                        ),
                    ));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert((name.clone(), position));
                }
            }
        }
        if let Some(auth) = block.find("authentication").and_then(Statement::block) {
            if let Some((word, pass)) = argument(auth, "auth_pass") {
                if pass.chars().count() > 8 {
                    diagnostics.push(Diagnostic::warning(
                        word.position(),
                        format!("auth_pass is {} characters long: keepalived truncates it to 8", pass.chars().count()),
                    ));
                }
            }
        }
    }
    if has_includes {
        return;
    }
    let tracking = document.find_all("vrrp_instance").chain(document.find_all("vrrp_sync_group"));
    for statement in tracking {
        let Some(block) = statement.block() else { continue };
        for entry in block.entries("track_script") {
            let Some(word) = entry.words().first() else { continue };
            let name = word.value();
            if !name.contains('$') && !scripts.contains(name.as_ref()) {
                diagnostics.push(Diagnostic::error(
                    word.position(),
                    format!("track_script names '{name}', which no vrrp_script defines"),
                ));
            }
        }
    }
}
