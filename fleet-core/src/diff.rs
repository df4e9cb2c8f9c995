//! Differences between two configuration texts: a unified text diff plus a structural summary.
//!
//! ```text
//! a, b --similar--> unified diff (every byte, comments and layout included)
//!      --parse----> sections matched by kind + name -> directives matched by identity
//!                   (`server s1`, `timeout connect`, `option httplog` ...) -> Vec<Change>
//! ```
//!
//! The summary compares word *values* (HAProxy's reading, quoting undone), not layout: a file
//! and its `fmt` output have an empty summary, while the unified diff shows every byte. Comments
//! and blank lines never appear in the summary.
//!
//! A directive's identity is its keyword plus the name it declares where it declares one
//! (`server s1`, `acl is_api`, `bind :443`, `timeout client`, `option httplog`, with
//! `no option X` the same directive as `option X`). When an identity occurs more than once in a
//! section on either side (several `http-request` rules, an ACL spread over several lines), those
//! lines are matched by their whole text instead, and what is not matched is reported as
//! added or removed.

use std::collections::HashMap;
use std::fmt;

use haproxy_model::views::{Bind, Param, Server};
use haproxy_model::{Document, Line, LineKind, Section};
use serde::Serialize;
use similar::TextDiff;

/// How an item differs between the two texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the second text.
    Added,
    /// Only in the first text.
    Removed,
    /// In both, with different contents.
    Changed,
}

impl ChangeKind {
    fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// A section added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// The section: `backend app`, `global`, `defaults` (a second unnamed one: `defaults #2`).
    pub section: String,
    /// For a changed section, its directives that differ, in file order.
    pub directives: Vec<DirectiveChange>,
}

/// A directive added, removed or changed inside a changed section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectiveChange {
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// The directive's identity: `server s1`, `timeout connect`, `option httplog`, `header`
    /// (the section line itself) or, for repeated keywords, the whole statement.
    pub directive: String,
    /// The statement in the first text (words separated by single spaces).
    pub before: Option<String>,
    /// The statement in the second text.
    pub after: Option<String>,
    /// For a changed `server`, `default-server`, `server-template` or `bind`: the parameters
    /// that differ (`weight`, `check`, and `address` for the address itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
}

/// The difference between two configuration texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigDiff {
    /// A unified diff (3 lines of context) of the texts as written; empty when they are equal.
    pub unified: String,
    /// What changed in HAProxy's reading of the configuration.
    pub summary: Vec<Change>,
}

impl ConfigDiff {
    /// True when the texts are byte for byte equal.
    pub fn is_empty(&self) -> bool {
        self.unified.is_empty() && self.summary.is_empty()
    }
}

/// Compares `a` with `b`; the unified diff names them `a` and `b`.
pub fn diff(a: &str, b: &str) -> ConfigDiff {
    diff_labeled(a, b, "a", "b")
}

/// Compares `a` with `b`; the unified diff's headers name them `label_a` and `label_b`.
pub fn diff_labeled(a: &str, b: &str, label_a: &str, label_b: &str) -> ConfigDiff {
    let unified = if a == b {
        String::new()
    } else {
        TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(label_a, label_b).to_string()
    };
    let before = haproxy_parse::parse(a).document;
    let after = haproxy_parse::parse(b).document;
    ConfigDiff { unified, summary: summary(&before, &after) }
}

/// The structural summary between two documents.
pub fn summary(a: &Document, b: &Document) -> Vec<Change> {
    let sections_a = labeled_sections(a);
    let sections_b = labeled_sections(b);
    let mut in_a: HashMap<&str, &Section> = sections_a.iter().map(|(label, s)| (label.as_str(), *s)).collect();
    let mut changes = Vec::new();
    for (label, section_b) in &sections_b {
        match in_a.remove(label.as_str()) {
            Some(section_a) => {
                let directives = section_changes(section_a, section_b);
                if !directives.is_empty() {
                    changes.push(Change { change: ChangeKind::Changed, section: label.clone(), directives });
                }
            }
            None => changes.push(Change { change: ChangeKind::Added, section: label.clone(), directives: Vec::new() }),
        }
    }
    for (label, _) in &sections_a {
        if in_a.contains_key(label.as_str()) {
            changes.push(Change { change: ChangeKind::Removed, section: label.clone(), directives: Vec::new() });
        }
    }
    changes
}

/// Each section with its label: `kind name`, numbered `#2`, `#3` ... when it repeats.
fn labeled_sections(document: &Document) -> Vec<(String, &Section)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    document
        .sections()
        .iter()
        .map(|section| {
            let base = match section.name() {
                Some(name) => format!("{} {name}", section.kind()),
                None => section.kind().to_string(),
            };
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            let label = if *count == 1 { base } else { format!("{base} #{count}") };
            (label, section)
        })
        .collect()
}

/// A statement of a section, ready for matching.
struct Statement<'a> {
    line: &'a Line,
    index: usize,
    identity: String,
    text: String,
}

fn statements(section: &Section) -> Vec<Statement<'_>> {
    section
        .lines()
        .iter()
        .enumerate()
        .filter(|(_, line)| !matches!(line.kind(), LineKind::Blank | LineKind::Comment))
        .map(|(index, line)| Statement { line, index, identity: identity(line), text: value_text(line) })
        .collect()
}

/// The words' values separated by single spaces: what HAProxy reads, whatever the layout.
fn value_text(line: &Line) -> String {
    line.values().join(" ")
}

/// Keywords whose first argument names what the line declares or sets.
const NAMED_BY_FIRST_ARGUMENT: &[&str] = &[
    "server",
    "server-template",
    "acl",
    "bind",
    "nameserver",
    "peer",
    "user",
    "group",
    "mailer",
    "table",
    "timeout",
    "option",
    "stats",
    "errorfile",
    "hold",
    "compression",
    "email-alert",
];

/// A directive's identity (see the module docs).
fn identity(line: &Line) -> String {
    let values = line.values();
    let keyword = values.first().map(|v| v.as_ref()).unwrap_or_default();
    match (keyword, values.get(1), values.get(2)) {
        ("no", Some(option), Some(name)) if option == "option" => format!("option {name}"),
        (keyword, Some(first), _) if NAMED_BY_FIRST_ARGUMENT.contains(&keyword) => format!("{keyword} {first}"),
        (keyword, _, _) => keyword.to_string(),
    }
}

/// The directives that differ between two versions of one section.
fn section_changes(a: &Section, b: &Section) -> Vec<DirectiveChange> {
    let mut changes = Vec::new();
    let (header_a, header_b) = (value_text(a.header()), value_text(b.header()));
    if header_a != header_b {
        changes.push(DirectiveChange {
            change: ChangeKind::Changed,
            directive: "header".into(),
            before: Some(header_a),
            after: Some(header_b),
            settings: Vec::new(),
        });
    }
    let list_a = statements(a);
    let list_b = statements(b);
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for s in &list_a {
        counts.entry(&s.identity).or_default().0 += 1;
    }
    for s in &list_b {
        counts.entry(&s.identity).or_default().1 += 1;
    }
    let unique = |identity: &str| counts.get(identity).is_some_and(|&(x, y)| x <= 1 && y <= 1);

    // Unique identities: matched by identity. Repeated ones: matched by their whole text.
    let key = |s: &Statement<'_>| if unique(&s.identity) { s.identity.clone() } else { format!("\0{}", s.text) };
    let mut pool_a: HashMap<String, Vec<&Statement<'_>>> = HashMap::new();
    for s in &list_a {
        pool_a.entry(key(s)).or_default().push(s);
    }
    for s in pool_a.values_mut() {
        s.reverse();
    }
    for s in &list_b {
        match pool_a.get_mut(&key(s)).and_then(Vec::pop) {
            Some(old) if old.text == s.text => {}
            Some(old) => changes.push(DirectiveChange {
                change: ChangeKind::Changed,
                directive: s.identity.clone(),
                before: Some(old.text.clone()),
                after: Some(s.text.clone()),
                settings: changed_settings(old, s),
            }),
            None => changes.push(DirectiveChange {
                change: ChangeKind::Added,
                directive: if unique(&s.identity) { s.identity.clone() } else { s.text.clone() },
                before: None,
                after: Some(s.text.clone()),
                settings: Vec::new(),
            }),
        }
    }
    let mut removed: Vec<&Statement<'_>> = pool_a.into_values().flatten().collect();
    removed.sort_by_key(|s| s.index);
    changes.extend(removed.into_iter().map(|s| DirectiveChange {
        change: ChangeKind::Removed,
        directive: if unique(&s.identity) { s.identity.clone() } else { s.text.clone() },
        before: Some(s.text.clone()),
        after: None,
        settings: Vec::new(),
    }));
    changes
}

/// For server and bind lines, the parameters whose presence or value differ.
fn changed_settings(a: &Statement<'_>, b: &Statement<'_>) -> Vec<String> {
    let read = |s: &Statement<'_>| -> Option<(Option<String>, Vec<Param>)> {
        if let Some(server) = Server::new(s.line, s.index) {
            return Some((server.address_text().map(|t| t.into_owned()), server.params()));
        }
        Bind::new(s.line, s.index).map(|bind| (bind.address_text().map(|t| t.into_owned()), bind.params()))
    };
    let (Some((address_a, params_a)), Some((address_b, params_b))) = (read(a), read(b)) else {
        return Vec::new();
    };
    let mut settings = Vec::new();
    if address_a != address_b {
        settings.push("address".to_string());
    }
    // The last occurrence wins in HAProxy, so compare each keyword's last value.
    let last = |params: &[Param]| -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for p in params {
            out.retain(|(k, _)| *k != p.keyword);
            out.push((p.keyword.clone(), p.value.clone()));
        }
        out
    };
    let (last_a, last_b) = (last(&params_a), last(&params_b));
    let value_in = |list: &[(String, Option<String>)], keyword: &str| {
        list.iter().find(|(k, _)| k == keyword).map(|(_, v)| v.clone())
    };
    for (keyword, _) in last_b.iter().chain(last_a.iter()) {
        if !settings.contains(keyword) && value_in(&last_a, keyword) != value_in(&last_b, keyword) {
            settings.push(keyword.clone());
        }
    }
    settings
}

impl fmt::Display for Change {
    /// `~ backend app` then one indented line per directive: `~ server s1 (weight)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.change.sign(), self.section)?;
        for d in &self.directives {
            write!(f, "    {} {}", d.change.sign(), d.directive)?;
            if !d.settings.is_empty() {
                write!(f, " ({})", d.settings.join(", "))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
global
    maxconn 100

defaults
    mode http
    timeout connect 5s

backend app
    balance roundrobin
    server s1 10.0.0.1:80 check weight 10
    server s2 10.0.0.2:80 check
    http-request deny if { path /admin }
    http-request allow
";

    fn directive<'a>(changes: &'a [Change], section: &str) -> &'a [DirectiveChange] {
        &changes.iter().find(|c| c.section == section).unwrap().directives
    }

    #[test]
    fn equal_texts_have_no_difference() {
        let d = diff(BASE, BASE);
        assert!(d.is_empty());
        assert_eq!(d.unified, "");
    }

    #[test]
    fn layout_and_comments_change_only_the_unified_diff() {
        let reformatted = BASE.replace("    server s2 10.0.0.2:80 check", "  server   s2 \"10.0.0.2:80\"\tcheck # second");
        let d = diff(BASE, &reformatted);
        assert!(d.summary.is_empty(), "{:?}", d.summary);
        assert!(d.unified.contains("-    server s2 10.0.0.2:80 check\n"));
        assert!(d.unified.contains("+  server   s2"));
        assert!(d.unified.starts_with("--- a\n+++ b\n"));
    }

    #[test]
    fn names_the_server_settings_that_changed() {
        let b = BASE.replace("check weight 10", "weight 20").replace("10.0.0.2:80", "10.0.0.3:80");
        let d = diff(BASE, &b);
        assert_eq!(d.summary.len(), 1);
        let changes = directive(&d.summary, "backend app");
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].directive, "server s1");
        assert_eq!(changes[0].change, ChangeKind::Changed);
        assert_eq!(changes[0].settings, ["weight", "check"]);
        assert_eq!(changes[0].before.as_deref(), Some("server s1 10.0.0.1:80 check weight 10"));
        assert_eq!(changes[0].after.as_deref(), Some("server s1 10.0.0.1:80 weight 20"));
        assert_eq!(changes[1].directive, "server s2");
        assert_eq!(changes[1].settings, ["address"]);
    }

    #[test]
    fn sections_added_removed_and_renamed() {
        let b = BASE.replace("backend app", "backend web") + "\nfrontend fe\n    bind :80\n";
        let d = diff(BASE, &b);
        let kinds: Vec<_> = d.summary.iter().map(|c| (c.change, c.section.as_str())).collect();
        assert_eq!(
            kinds,
            [(ChangeKind::Added, "backend web"), (ChangeKind::Added, "frontend fe"), (ChangeKind::Removed, "backend app")]
        );
        assert!(d.summary.iter().all(|c| c.directives.is_empty()));
    }

    #[test]
    fn repeated_keywords_are_matched_by_their_text() {
        let b = BASE.replace("    http-request allow\n", "    http-request deny if { path /private }\n    http-request allow\n");
        let changes = diff(BASE, &b).summary;
        let changes = directive(&changes, "backend app");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, ChangeKind::Added);
        assert_eq!(changes[0].directive, "http-request deny if { path /private }");
    }

    #[test]
    fn directives_added_removed_and_option_negated() {
        let b = BASE
            .replace("    timeout connect 5s\n", "    no option httplog\n")
            .replace("defaults\n", "defaults\n    timeout client 30s\n");
        let a = BASE.replace("    mode http\n", "    mode http\n    option httplog\n");
        let changes = diff(&a, &b).summary;
        let changes = directive(&changes, "defaults");
        let got: Vec<_> = changes.iter().map(|d| (d.change, d.directive.as_str())).collect();
        assert_eq!(
            got,
            [
                (ChangeKind::Added, "timeout client"),
                (ChangeKind::Changed, "option httplog"),
                (ChangeKind::Removed, "timeout connect")
            ]
        );
    }

    #[test]
    fn header_changes_and_repeated_sections() {
        let a = "defaults\n    mode http\ndefaults\n    mode tcp\nbackend b from x\n";
        let b = "defaults\n    mode http\ndefaults\n    mode http\nbackend b from y\n";
        let d = diff(a, b);
        assert_eq!(d.summary.len(), 2);
        assert_eq!(d.summary[0].section, "defaults #2");
        assert_eq!(d.summary[1].directives[0].directive, "header");
        assert_eq!(d.summary[1].directives[0].after.as_deref(), Some("backend b from y"));
    }

    #[test]
    fn displays_and_serialises() {
        let b = BASE.replace("check weight 10", "check weight 20");
        let d = diff(BASE, &b);
        assert_eq!(d.summary[0].to_string(), "~ backend app\n    ~ server s1 (weight)\n");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["summary"][0]["change"], "changed");
        assert_eq!(json["summary"][0]["directives"][0]["settings"][0], "weight");
    }
}
