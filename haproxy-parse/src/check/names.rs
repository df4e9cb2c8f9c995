//! Names that must be unique or well-formed: proxies, peers, resolvers, userlists, servers
//! within a backend, and the characters allowed in ACL and server names.
//!
//! HAProxy 2.6 (tried with `haproxy -c`): two frontends or two backends with one name are
//! refused, a listen clashes with any proxy of its name, but a frontend and a backend may
//! share a name (each is looked up on its own side). Duplicate peers and resolvers sections
//! are refused; a duplicate userlist is ignored with a warning. Two servers of one backend
//! may not share a name.

use std::collections::HashMap;

use haproxy_model::{invalid_char, Diagnostic, SectionKind};

use super::{error, warning, Context};

/// Runs the name checks.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    duplicate_sections(context, out);
    for info in &context.sections {
        if info.section.kind().is_proxy() || *info.section.kind() == SectionKind::Defaults {
            proxy_member_names(context, info.section, out);
        }
    }
}

/// Which name space a section's name lives in, for the duplicate check.
fn clash(earlier: &SectionKind, later: &SectionKind) -> bool {
    match (earlier, later) {
        (SectionKind::Listen, l) | (l, SectionKind::Listen) => l.is_proxy(),
        (a, b) => a == b && matches!(a, SectionKind::Frontend | SectionKind::Backend | SectionKind::Peers | SectionKind::Resolvers | SectionKind::Userlist),
    }
}

fn duplicate_sections(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, info) in context.sections.iter().enumerate() {
        let Some(name) = info.name.as_deref() else { continue };
        let header = info.section.header();
        let kind = info.section.kind();
        let earlier = seen.entry(name).or_default();
        let first_clash = earlier.iter().map(|&i| &context.sections[i]).find(|e| clash(e.section.kind(), kind));
        if let Some(first) = first_clash {
            // Two alternatives of one `.if` block may well declare the same name.
            if !context.is_conditional(header) && !context.is_conditional(first.section.header()) {
                let line = context.place(first.section.header().position().line);
                let first_kind = first.section.kind();
                if *kind == SectionKind::Userlist {
                    out.push(warning(header, 1, format!("duplicate userlist '{name}' (first at {line}) is ignored")));
                } else {
                    out.push(error(
                        header,
                        1,
                        format!("{kind} '{name}' has the same name as the {first_kind} declared at {line}"),
                    ));
                }
            }
        }
        earlier.push(index);
    }
}

/// Server names unique within a proxy; server and ACL names made of allowed characters.
fn proxy_member_names(context: &Context<'_>, section: &haproxy_model::Section, out: &mut Vec<Diagnostic>) {
    let mut servers: HashMap<String, u32> = HashMap::new();
    for line in Context::statements(section) {
        let keyword = line.keyword().unwrap_or_default();
        let what = match &*keyword {
            "server" | "server-template" => "server",
            "acl" => "acl",
            _ => continue,
        };
        let Some(name) = line.value(1) else { continue };
        if name.contains('$') {
            continue;
        }
        if let Some(bad) = invalid_char(&name) {
            out.push(error(line, 1, format!("character '{bad}' is not permitted in {what} name '{name}'")));
            continue;
        }
        if keyword == "server" && !context.is_conditional(line) {
            match servers.get(&*name) {
                Some(&first) => out.push(error(
                    line,
                    1,
                    format!("another server named '{name}' was already defined at {}", context.place(first)),
                )),
                None => {
                    servers.insert(name.into_owned(), line.position().line);
                }
            }
        }
    }
}
