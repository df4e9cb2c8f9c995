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
//! added or removed. A line inside a `.if` block of the section carries that block's condition
//! in its text (`[.if defined(X)] http-request deny`), so moving a line in or out of a block is
//! a change.
//!
//! Order matters for the directives HAProxy keeps in lists and evaluates in declaration order,
//! first match wins (`http-request`, `use_backend`, `tcp-request content` ... see
//! [`ordered_list`]). Within each such list the lines both sides share are compared in order:
//! when their order differs (a swap, a rule moved between two others) the section gets one
//! [`ChangeKind::Reordered`] entry for the list, printed `~ frontend fe: http-request rules
//! reordered`, besides whatever was added or removed.
//!
//! Cost (issue 12 §5): both parts are linear-ish, bounded by [`DEADLINE`]. The unified diff is a
//! patience diff ([`crate::line_diff`]: lines unique on both sides anchor the match, Myers runs
//! only in the gaps between anchors, and past the deadline a gap is shown as one removed and one
//! added block: still a correct diff, just not a minimal one). Sections equal as written are
//! skipped by the summary without a look at their lines. The order check of the
//! summary compares the shared lines directly (linear) and needs a longest common subsequence
//! only when a line is repeated a different number of times on each side (see
//! [`reordered_lists`]). `fleet-core/benches/large_diff.rs` holds a 100,000-line diff under
//! 500 ms.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use haproxy_model::{Bind, Param, Server};
use haproxy_model::{Conditional, Document, Line, LineKind, Section};
use serde::Serialize;
use similar::{capture_diff_slices_deadline, Algorithm, DiffOp};

use crate::auth::privileged::{self, PrivilegedUse};

/// How an item differs between the two texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the second text.
    Added,
    /// Only in the first text.
    Removed,
    /// In both, with different contents.
    Changed,
    /// Lines of an ordered list (`http-request` rules ...) are in both, in another order.
    Reordered,
}

impl ChangeKind {
    /// The word JSON uses (`added`, `removed`, `changed`, `reordered`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Reordered => "reordered",
        }
    }
}

impl ChangeKind {
    fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed | ChangeKind::Reordered => '~',
        }
    }
}

/// A section added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectiveChange {
    /// Added, removed or changed.
    pub change: ChangeKind,
    /// The directive's identity: `server s1`, `timeout connect`, `option httplog`, `header`
    /// (the section line itself) or, for repeated keywords, the whole statement. For a
    /// reordered list, the list: `http-request rules`, `tcp-request content rules`,
    /// `acl is_api lines`, `server lines`.
    pub directive: String,
    /// The statement in the first text (words separated by single spaces); for a reordered
    /// list, its lines in the first text's order, one per line.
    pub before: Option<String>,
    /// The statement in the second text (for a reordered list, its lines in that order).
    pub after: Option<String>,
    /// For a changed `server`, `default-server`, `server-template` or `bind`: the parameters
    /// that differ (`weight`, `check`, and `address` for the address itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
}

/// The difference between two configuration texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigDiff {
    /// A unified diff (3 lines of context) of the texts as written; empty when they are equal.
    pub unified: String,
    /// What changed in HAProxy's reading of the configuration.
    pub summary: Vec<Change>,
    /// The privileged directives ([`crate::auth::privileged`]) the second text adds or changes:
    /// what needs the admin role, the cluster's allowance and the nodes' `--allow-privileged`.
    pub privileged: Vec<PrivilegedUse>,
}

impl ConfigDiff {
    /// True when the texts are byte for byte equal.
    pub fn is_empty(&self) -> bool {
        self.unified.is_empty() && self.summary.is_empty()
    }

    /// One line per privileged directive the change adds:
    /// `! privileged: external-check command /bin/true (external-check) at line 12`.
    pub fn privileged_lines(&self) -> String {
        self.privileged
            .iter()
            .map(|u| format!("! privileged: {} ({}) at line {}\n", u.directive, u.privilege, u.line))
            .collect()
    }
}

/// How long the unified diff, and separately the order check of the summary, may search for a
/// minimal answer before settling for a correct coarser one (see the module docs).
pub const DEADLINE: Duration = Duration::from_millis(150);

/// Compares `a` with `b`; the unified diff names them `a` and `b`.
pub fn diff(a: &str, b: &str) -> ConfigDiff {
    diff_labeled(a, b, "a", "b")
}

/// Compares `a` with `b`; the unified diff's headers name them `label_a` and `label_b`.
pub fn diff_labeled(a: &str, b: &str, label_a: &str, label_b: &str) -> ConfigDiff {
    let structure = |before: &Document, after: &Document| (summary(before, after), privileged::introduced(before, after));
    if a.len() + b.len() < PARALLEL_FROM {
        let (before, after) = (haproxy_parse::parse(a).document, haproxy_parse::parse(b).document);
        let (summary, privileged) = structure(&before, &after);
        return ConfigDiff { unified: unified(a, b, label_a, label_b), summary, privileged };
    }
    // Large texts: the text diff and the two parses are independent, so they run side by side.
    std::thread::scope(|scope| {
        let text = scope.spawn(|| unified(a, b, label_a, label_b));
        let before = scope.spawn(|| haproxy_parse::parse(a).document);
        let after = haproxy_parse::parse(b).document;
        let before = before.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let (summary, privileged) = structure(&before, &after);
        let unified = text.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        ConfigDiff { unified, summary, privileged }
    })
}

/// From this many bytes (both texts together) [`diff_labeled`] uses a second thread.
const PARALLEL_FROM: usize = 1 << 20;

/// The unified diff (3 lines of context) of two texts, headers `label_a` and `label_b`; empty
/// when they are equal. Also used for the bundle's other text files (maps, ACL files ...).
pub fn unified(a: &str, b: &str, label_a: &str, label_b: &str) -> String {
    if a == b {
        String::new()
    } else {
        crate::line_diff::unified(a, b, label_a, label_b, Instant::now() + DEADLINE)
    }
}

/// The structural summary between two documents.
pub fn summary(a: &Document, b: &Document) -> Vec<Change> {
    let deadline = Instant::now() + DEADLINE;
    let sections_a = labeled_sections(a);
    let sections_b = labeled_sections(b);
    let mut in_a: HashMap<&str, &Section> = sections_a.iter().map(|(label, s)| (label.as_str(), *s)).collect();
    let mut changes = Vec::new();
    for (label, section_b) in &sections_b {
        match in_a.remove(label.as_str()) {
            // Equal as written, equal as read: most sections of a large change are untouched.
            Some(section_a) if section_a == *section_b => {}
            Some(section_a) => {
                let directives = section_changes(section_a, section_b, deadline);
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
    /// The values, prefixed with the `.if` blocks of the section it sits in.
    text: String,
    /// The ordered list it belongs to, if any (see [`ordered_list`]).
    list: Option<Cow<'static, str>>,
}

impl Statement<'_> {
    /// How it is matched with the other side: its identity, or, when that `repeated` on either
    /// side, its whole text.
    fn key(&self, repeated: bool) -> Cow<'_, str> {
        if repeated {
            Cow::Owned(format!("\0{}", self.text))
        } else {
            Cow::Borrowed(&self.identity)
        }
    }
}

fn statements(section: &Section) -> Vec<Statement<'_>> {
    // The `.if` / `.elif` / `.else` lines opened in this section and not yet closed: a line under
    // them is read only when they hold, so they are part of what it means.
    let mut blocks: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (index, line) in section.lines().iter().enumerate() {
        let guard = blocks.join(" ");
        match line.kind() {
            LineKind::Blank | LineKind::Comment => continue,
            LineKind::Conditional(Conditional::If) => blocks.push(value_text(line)),
            LineKind::Conditional(Conditional::Elif | Conditional::Else) => {
                if let Some(top) = blocks.last_mut() {
                    *top = value_text(line);
                }
            }
            LineKind::Conditional(Conditional::Endif) => {
                blocks.pop();
            }
            LineKind::Message | LineKind::Statement => {}
        }
        let values = line.values();
        let text = if guard.is_empty() { values.join(" ") } else { format!("[{guard}] {}", values.join(" ")) };
        out.push(Statement { line, index, identity: identity(&values), text, list: ordered_list(&values) });
    }
    out
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
fn identity(values: &[Cow<'_, str>]) -> String {
    let keyword = values.first().map(|v| v.as_ref()).unwrap_or_default();
    match (keyword, values.get(1), values.get(2)) {
        ("no", Some(option), Some(name)) if option == "option" => format!("option {name}"),
        (keyword, Some(first), _) if NAMED_BY_FIRST_ARGUMENT.contains(&keyword) => format!("{keyword} {first}"),
        (keyword, _, _) => keyword.to_string(),
    }
}

/// The ordered list a directive belongs to, named as the summary prints it, or none when the
/// position of the line among its siblings does not change what HAProxy does.
///
/// From configuration.txt (HAProxy 2.6): `http-request`, `http-response` and
/// `http-after-response` (§4.2: "The rules are evaluated in their declaration order"),
/// `tcp-request connection|session|content` and `tcp-response content` ("evaluated in their
/// exact declaration order"; each ruleset is its own list, `inspect-delay` is a setting),
/// `use_backend` and `use-server` ("evaluated in their declaration order, and the first one
/// which matches will assign the backend/server"), `redirect` (first match), `stick`
/// (`match`/`on`/`store-request` share one list, `store-response` another),
/// `force-persist`/`ignore-persist` (one list, first match decides), `http-check` and `tcp-check`
/// (the steps of a health check run in order; `disable-on-404` and `send-state` are flags),
/// `filter` (filters see the stream in declaration order), `set-param` (fcgi-app, in order),
/// the lines of one `acl` name (patterns tried in order), `capture request|response header`
/// and `declare capture` (the slot number, `capture.req.hdr(N)`, is the position) and
/// `server`/`server-template` (a server's id, which `balance first` and consistent hashing's
/// keys follow, defaults to its position).
fn ordered_list(values: &[Cow<'_, str>]) -> Option<Cow<'static, str>> {
    let word = |i: usize| values.get(i).map(AsRef::as_ref);
    let keyword = word(0)?;
    // Fixed names are not allocated: a large file has one such line per rule or server.
    let list: Cow<'static, str> = match (keyword, word(1)) {
        ("tcp-request" | "tcp-response", Some("inspect-delay") | None) => return None,
        ("tcp-request" | "tcp-response", Some(ruleset)) => format!("{keyword} {ruleset} rules").into(),
        ("http-request", _) => "http-request rules".into(),
        ("http-response", _) => "http-response rules".into(),
        ("http-after-response", _) => "http-after-response rules".into(),
        ("use_backend", _) => "use_backend rules".into(),
        ("use-server", _) => "use-server rules".into(),
        ("redirect", _) => "redirect rules".into(),
        ("stick", Some("store-response")) => "stick store-response rules".into(),
        ("stick", _) => "stick rules".into(),
        ("force-persist" | "ignore-persist", _) => "persist rules".into(),
        ("http-check", Some("disable-on-404" | "send-state")) => return None,
        ("http-check", _) => "http-check rules".into(),
        ("tcp-check", _) => "tcp-check rules".into(),
        ("set-param", _) => "set-param rules".into(),
        ("filter", _) => "filter lines".into(),
        ("acl", Some(name)) => format!("acl {name} lines").into(),
        ("capture", Some(direction)) => format!("capture {direction} lines").into(),
        ("declare", Some("capture")) => format!("declare capture {} lines", word(2).unwrap_or_default()).into(),
        ("server" | "server-template", _) => "server lines".into(),
        _ => return None,
    };
    Some(list)
}

/// The directives that differ between two versions of one section.
fn section_changes(a: &Section, b: &Section, deadline: Instant) -> Vec<DirectiveChange> {
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

    // Unique identities: matched by identity. Repeated ones: matched by their whole text. Each
    // key is made once (a large section has thousands of lines).
    let key = |s: &Statement<'_>| !unique(&s.identity);
    let keys_a: Vec<Cow<'_, str>> = list_a.iter().map(|s| s.key(key(s))).collect();
    let keys_b: Vec<Cow<'_, str>> = list_b.iter().map(|s| s.key(key(s))).collect();
    let mut pool_a: HashMap<&str, Vec<&Statement<'_>>> = HashMap::new();
    for (s, k) in list_a.iter().zip(&keys_a) {
        pool_a.entry(k).or_default().push(s);
    }
    for s in pool_a.values_mut() {
        s.reverse();
    }
    for (s, k) in list_b.iter().zip(&keys_b) {
        match pool_a.get_mut(k.as_ref()).and_then(Vec::pop) {
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
    changes.extend(reordered_lists((&list_a, &keys_a), (&list_b, &keys_b), deadline));
    changes
}

/// One [`ChangeKind::Reordered`] entry per ordered list whose shared lines (matched by their
/// keys, as above) are not in the same order on both sides, in the order the lists first appear in `b`.
///
/// The lines both sides share, counted with repeats, are in the same order exactly when a
/// longest common subsequence of the two lists holds all of them: what is only added or only
/// removed never makes a list "reordered", while a swap, or a line moved between two others,
/// shortens that subsequence.
fn reordered_lists<'s, 'l>(
    (a, keys_a): (&'s [Statement<'l>], &'s [Cow<'s, str>]),
    (b, keys_b): (&'s [Statement<'l>], &'s [Cow<'s, str>]),
    deadline: Instant,
) -> Vec<DirectiveChange> {
    // One pass per side: a frontend may hold thousands of lists (one per ACL name).
    type Side<'s, 'l> = Vec<(&'s Statement<'l>, &'s str)>;
    let mut names: Vec<&str> = Vec::new();
    let mut lists: HashMap<&str, (Side<'s, 'l>, Side<'s, 'l>)> = HashMap::new();
    for (s, k) in b.iter().zip(keys_b) {
        if let Some(list) = s.list.as_deref() {
            let entry = lists.entry(list).or_insert_with(|| {
                names.push(list);
                (Vec::new(), Vec::new())
            });
            entry.1.push((s, k));
        }
    }
    for (s, k) in a.iter().zip(keys_a) {
        if let Some(entry) = s.list.as_deref().and_then(|list| lists.get_mut(list)) {
            entry.0.push((s, k));
        }
    }
    let mut changes = Vec::new();
    for name in names {
        let Some((in_a, in_b)) = lists.remove(name) else { continue };
        if in_a.len() < 2 || in_b.len() < 2 {
            continue;
        }
        let keys = |side: &Side<'s, 'l>| side.iter().map(|(_, k)| *k).collect::<Vec<&str>>();
        if !in_same_order(&keys(&in_a), &keys(&in_b), deadline) {
            let lines = |side: &Side<'s, 'l>| side.iter().map(|(s, _)| s.text.as_str()).collect::<Vec<_>>().join("\n");
            changes.push(DirectiveChange {
                change: ChangeKind::Reordered,
                directive: name.to_string(),
                before: Some(lines(&in_a)),
                after: Some(lines(&in_b)),
                settings: Vec::new(),
            });
        }
    }
    changes
}

/// Whether the lines `a` and `b` share (counted with repeats) come in the same order on both
/// sides, i.e. whether a longest common subsequence holds all of them.
///
/// Lines only one side has never matter, so both sides are first cut down to the keys they
/// share. When each shared key occurs as often on both sides, the subsequence holds them all
/// exactly when the cut-down sides are equal: one linear comparison (the usual case, whatever
/// the size). Otherwise the subsequence is measured with Myers until `deadline`; past it the
/// measure can only be short, so the list is reported reordered: a reviewer is told to look
/// rather than told nothing moved.
fn in_same_order(a: &[&str], b: &[&str], deadline: Instant) -> bool {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for k in a {
        counts.entry(k).or_default().0 += 1;
    }
    for k in b {
        counts.entry(k).or_default().1 += 1;
    }
    let shared_key = |k: &&&str| counts.get(**k).is_some_and(|&(x, y)| x > 0 && y > 0);
    let a: Vec<&str> = a.iter().filter(shared_key).copied().collect();
    let b: Vec<&str> = b.iter().filter(shared_key).copied().collect();
    if counts.values().all(|&(x, y)| x == y || x == 0 || y == 0) {
        return a == b;
    }
    let shared: usize = counts.values().map(|&(x, y)| x.min(y)).sum();
    let in_order: usize = capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(deadline))
        .iter()
        .map(|op| match op {
            DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    in_order >= shared
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
    // Borrowed, not cloned: a large change compares tens of thousands of server lines.
    fn last(params: &[Param]) -> Vec<(&str, Option<&str>)> {
        let mut out: Vec<(&str, Option<&str>)> = Vec::with_capacity(params.len());
        for p in params {
            out.retain(|(k, _)| *k != p.keyword);
            out.push((&p.keyword, p.value.as_deref()));
        }
        out
    }
    fn value_in<'p>(list: &[(&str, Option<&'p str>)], keyword: &str) -> Option<Option<&'p str>> {
        list.iter().find(|(k, _)| *k == keyword).map(|(_, v)| *v)
    }
    let (last_a, last_b) = (last(&params_a), last(&params_b));
    for (keyword, _) in last_b.iter().chain(last_a.iter()) {
        if !settings.iter().any(|s| s == keyword) && value_in(&last_a, keyword) != value_in(&last_b, keyword) {
            settings.push(keyword.to_string());
        }
    }
    settings
}

impl fmt::Display for Change {
    /// `~ backend app` then one indented line per directive: `~ server s1 (weight)`. Reordered
    /// lists are named on the section's line: `~ frontend fe: http-request rules reordered`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.change.sign(), self.section)?;
        let (reordered, others): (Vec<&DirectiveChange>, Vec<&DirectiveChange>) =
            self.directives.iter().partition(|d| d.change == ChangeKind::Reordered);
        for (i, d) in reordered.iter().enumerate() {
            write!(f, "{} {} reordered", if i == 0 { ":" } else { "," }, d.directive)?;
        }
        writeln!(f)?;
        for d in others {
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

    #[test]
    fn privileged_changes_are_marked() {
        let a = "backend app\n    server s1 10.0.0.1:80 check\n";
        let b = "global\n    insecure-fork-wanted\n\nbackend app\n    option external-check\n    \
                 external-check command /bin/true\n    server s1 10.0.0.1:80 check\n";
        let d = diff(a, b);
        assert_eq!(
            d.privileged_lines(),
            "! privileged: insecure-fork-wanted (insecure-fork) at line 2\n\
             ! privileged: external-check command /bin/true (external-check) at line 6\n"
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["privileged"][1]["privilege"], "external-check");
        assert_eq!(json["privileged"][1]["line"], 6);
        assert!(json["summary"].is_array() && json["unified"].is_string());
        assert!(diff(b, a).privileged.is_empty(), "removing one is not privileged");
    }

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

    const RULES: &str = "\
frontend fe_main
    bind :80
    http-request deny if { path_beg /admin }
    http-request allow if { path_beg /admin/health }
    http-request set-header X-A 1
    use_backend app if { path_beg /app }
    default_backend app
";

    #[test]
    fn rules_reordered() {
        let b = RULES.replace(
            "    http-request deny if { path_beg /admin }\n    http-request allow if { path_beg /admin/health }\n",
            "    http-request allow if { path_beg /admin/health }\n    http-request deny if { path_beg /admin }\n",
        );
        let d = diff(RULES, &b);
        assert_eq!(d.summary.len(), 1, "{:?}", d.summary);
        let changes = &d.summary[0].directives;
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].change, ChangeKind::Reordered);
        assert_eq!(changes[0].directive, "http-request rules");
        assert_eq!(
            changes[0].before.as_deref(),
            Some("http-request deny if { path_beg /admin }\nhttp-request allow if { path_beg /admin/health }\nhttp-request set-header X-A 1")
        );
        assert_eq!(d.summary[0].to_string(), "~ frontend fe_main: http-request rules reordered\n");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["summary"][0]["directives"][0]["change"], "reordered");
    }

    #[test]
    fn rule_moved_between_two_others_is_reordered() {
        // Last rule moved to the middle: the set of lines is the same, the order is not.
        let b = RULES.replace(
            "    http-request allow if { path_beg /admin/health }\n    http-request set-header X-A 1\n",
            "    http-request set-header X-A 1\n    http-request allow if { path_beg /admin/health }\n",
        );
        let changes = diff(RULES, &b).summary;
        assert_eq!(directive(&changes, "frontend fe_main")[0].change, ChangeKind::Reordered);
    }

    #[test]
    fn duplicated_rule_is_added_and_not_reordered() {
        let b = RULES.replace(
            "    http-request set-header X-A 1\n",
            "    http-request set-header X-A 1\n    http-request deny if { path_beg /admin }\n",
        );
        let changes = diff(RULES, &b).summary;
        let changes = directive(&changes, "frontend fe_main");
        let got: Vec<_> = changes.iter().map(|d| (d.change, d.directive.as_str())).collect();
        assert_eq!(got, [(ChangeKind::Added, "http-request deny if { path_beg /admin }")]);
        // Removing one copy of a duplicate is a removal, whichever copy goes.
        let back = diff(&b, RULES).summary;
        assert_eq!(directive(&back, "frontend fe_main").len(), 1);
        assert_eq!(directive(&back, "frontend fe_main")[0].change, ChangeKind::Removed);
    }

    #[test]
    fn unordered_directives_and_separate_lists_may_move() {
        // `bind` and `default_backend` are not lists evaluated in order; `use_backend` and
        // `http-request` are two lists, so moving one past the other changes nothing.
        let b = "frontend fe_main\n    default_backend app\n    use_backend app if { path_beg /app }\n    \
http-request deny if { path_beg /admin }\n    http-request allow if { path_beg /admin/health }\n    \
http-request set-header X-A 1\n    bind :80\n";
        assert!(diff(RULES, b).summary.is_empty(), "{:?}", diff(RULES, b).summary);
    }

    #[test]
    fn rulesets_acl_lines_and_servers_are_ordered_lists() {
        let a = "frontend f\n    tcp-request inspect-delay 5s\n    tcp-request content accept if x\n    \
tcp-request connection reject if y\n    tcp-request content reject\n    acl x src 10.0.0.0/8\n    acl x src 192.168.0.0/16\n\
backend b\n    server s1 10.0.0.1:80\n    server s2 10.0.0.2:80 weight 5\n";
        // Connection and content rules are two lists: moving one past the other is no change.
        let same = a.replace(
            "    tcp-request content accept if x\n    tcp-request connection reject if y\n",
            "    tcp-request connection reject if y\n    tcp-request content accept if x\n",
        );
        assert!(diff(a, &same).summary.is_empty());
        let b = a
            .replace("    tcp-request content reject\n", "")
            .replace("    tcp-request inspect-delay 5s\n", "    tcp-request inspect-delay 5s\n    tcp-request content reject\n")
            .replace("src 10.0.0.0/8\n    acl x src 192.168.0.0/16", "src 192.168.0.0/16\n    acl x src 10.0.0.0/8")
            .replace("    server s1 10.0.0.1:80\n    server s2 10.0.0.2:80 weight 5\n", "    server s2 10.0.0.2:80 weight 6\n    server s1 10.0.0.1:80\n");
        let d = diff(a, &b);
        assert_eq!(d.summary[0].to_string(), "~ frontend f: tcp-request content rules reordered, acl x lines reordered\n");
        assert_eq!(d.summary[1].to_string(), "~ backend b: server lines reordered\n    ~ server s2 (weight)\n");
    }

    #[test]
    fn moving_a_rule_into_a_conditional_block_is_a_change() {
        let a = "backend b\n    .if defined(X)\n    http-request deny\n    .endif\n    http-request allow\n";
        let b = "backend b\n    .if defined(X)\n    http-request deny\n    http-request allow\n    .endif\n";
        let changes = diff(a, b).summary;
        let got: Vec<_> = directive(&changes, "backend b").iter().map(|d| (d.change, d.directive.as_str())).collect();
        assert_eq!(
            got,
            [(ChangeKind::Added, "[.if defined(X)] http-request allow"), (ChangeKind::Removed, "http-request allow")]
        );
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
