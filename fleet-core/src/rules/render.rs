//! Rules -> HAProxy 2.6 lines (each keyword as configuration.txt §4.2 and §7 give it).
//!
//! ```text
//! rule (any kind but custom):
//!   acl fleet_rule_<name> <criterion>                         what the rule looks for
//!   http-request set-var(txn.fleet_rule) str(<name>) if C     the name, for log-format
//!   http-request deny deny_status <s> if C                    or tarpit / redirect location
//!   http-request add-header X-Fleet-Rule-Dry-Run <name> if C  instead, in dry-run mode
//! rate_limit: http-request track-scN <key> table fleet_rl_<name>; C = sc_http_req_rate(N) gt limit
//!   table:    backend fleet_rl_<name> / stick-table type ... expire <period>s store http_req_rate(<period>s)
//! lists:      acl ... -f fleet-rules/<name>.acl  (CIDRs, or countries matched against
//!             src,map_ip(<map>,--)): the runtime API changes them without a reload
//! ```
//!
//! Why a backend per table: HAProxy 2.6 allows one `stick-table` per proxy, so a frontend cannot
//! hold two; a backend holding only a table is the documented way to have more (§4.2
//! "stick-table"), named after its rule so two rules never share counters. Why counters sc0..sc2:
//! HAProxy 2.6 tracks at most three per request (`track-sc0` to `track-sc2`); slots the
//! operator's own lines use are left alone.

use super::spec::{ordered, HeaderAction, PathMatch, Rule, RuleKind};
use super::{DRY_RUN_HEADER, GENERATED_DIR, RULE_VARIABLE};
use crate::error::{Error, Result};

/// One generated statement, as words (quoted when rendered) or a raw line kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// Words, quoted as needed by the model's line renderer.
    Words(Vec<String>),
    /// A custom rule's line, as the operator wrote it.
    Raw(String),
    /// A comment (`# ...`).
    Comment(String),
}

fn words(parts: &[&str]) -> Statement {
    Statement::Words(parts.iter().map(|s| s.to_string()).collect())
}

/// The file a list rule's entries live in: `fleet-rules/<name>.acl`.
pub fn list_path(rule: &str) -> String {
    format!("{GENERATED_DIR}/{rule}.acl")
}

/// The backend holding a rate limit's stick table: `fleet_rl_<name>`.
pub fn table_name(rule: &str) -> String {
    format!("fleet_rl_{rule}")
}

fn acl_name(rule: &str) -> String {
    format!("fleet_rule_{rule}")
}

/// The statements for frontend `frontend` (in priority order), given the sticky counters its own
/// lines already use. Errors: a rate limit with no counter left.
pub fn frontend_lines(frontend: &str, rules: &[Rule], used_counters: &[u8]) -> Result<Vec<Statement>> {
    let mut free = (0u8..3).filter(|n| !used_counters.contains(n));
    let mut out = Vec::new();
    for rule in ordered(rules).into_iter().filter(|r| r.applies_to(frontend)) {
        let name = rule.name.as_str();
        let acl = acl_name(name);
        let mut note = format!("rule {name} ({}, priority {}", rule.kind_name(), rule.priority);
        if rule.dry_run {
            note.push_str(", dry run");
        }
        note.push(')');
        out.push(Statement::Comment(note));
        let mut condition = acl.clone();
        let deny: Vec<String>;
        match &rule.kind {
            RuleKind::Custom(c) => {
                out.extend(c.lines.iter().map(|l| Statement::Raw(l.trim().to_string())));
                continue;
            }
            RuleKind::RateLimit(r) => {
                let Some(slot) = free.next() else {
                    return Err(Error::invalid(format!(
                        "rule {name}: frontend {frontend} has no sticky counter left (HAProxy 2.6 tracks sc0 to sc2 per request; \
                         other rate limits or the frontend's own track-sc lines use the rest)"
                    )));
                };
                let key = match (&r.header, &r.cookie) {
                    (Some(h), _) => format!("req.hdr({h})"),
                    (_, Some(c)) => format!("req.cook({c})"),
                    _ => "src".to_string(),
                };
                let track = format!("track-sc{slot}");
                let table = table_name(name);
                let mut line = vec!["http-request".to_string(), track, key, "table".into(), table];
                if !r.bypass.is_empty() {
                    let bypass = format!("{acl}_bypass");
                    let mut acl_line = vec!["acl".to_string(), bypass.clone(), "src".into()];
                    acl_line.extend(r.bypass.iter().cloned());
                    out.push(Statement::Words(acl_line));
                    line.extend(["unless".to_string(), bypass.clone()]);
                    condition = format!("{acl} !{bypass}");
                }
                out.push(Statement::Words(line));
                out.push(words(&["acl", &acl, &format!("sc_http_req_rate({slot})"), "gt", &r.limit.to_string()]));
                let action = if r.tarpit { "tarpit" } else { "deny" };
                deny = vec!["http-request".to_string(), action.into(), "deny_status".into(), r.deny_status.to_string()];
            }
            RuleKind::IpAllow(l) | RuleKind::IpDeny(l) => {
                out.push(words(&["acl", &acl, "src", "-f", &list_path(name)]));
                if matches!(rule.kind, RuleKind::IpAllow(_)) {
                    condition = format!("!{acl}");
                }
                deny = deny_words(l.deny_status);
            }
            RuleKind::GeoBlock(g) | RuleKind::GeoAllow(g) => {
                let fetch = format!("src,map_ip({},--)", g.map);
                out.push(words(&["acl", &acl, &fetch, "-m", "str", "-f", &list_path(name)]));
                if matches!(rule.kind, RuleKind::GeoAllow(_)) {
                    condition = format!("!{acl}");
                }
                deny = deny_words(g.deny_status);
            }
            RuleKind::HeaderFilter(h) => {
                let fetch = format!("req.hdr({})", h.header);
                let mut line = vec!["acl".to_string(), acl.clone(), fetch, "-m".into(), h.match_kind.flag().into()];
                if h.match_kind != super::MatchKind::Present {
                    line.push(h.pattern.clone());
                }
                out.push(Statement::Words(line));
                deny = match (h.action, &h.location) {
                    (HeaderAction::Redirect, Some(location)) => {
                        vec!["http-request".into(), "redirect".into(), "location".into(), location.clone()]
                    }
                    _ => deny_words(h.deny_status),
                };
            }
            RuleKind::PathFilter(p) => {
                let flag = match p.match_kind {
                    PathMatch::Prefix => "beg",
                    PathMatch::Regex => "reg",
                    PathMatch::Exact => "str",
                };
                let mut line = vec!["acl".to_string(), acl.clone(), "path".into(), "-m".into(), flag.into()];
                line.extend(p.patterns.iter().cloned());
                out.push(Statement::Words(line));
                deny = deny_words(p.deny_status);
            }
            RuleKind::MethodAllow(m) => {
                let mut line = vec!["acl".to_string(), acl.clone(), "method".into()];
                line.extend(m.methods.iter().cloned());
                out.push(Statement::Words(line));
                condition = format!("!{acl}");
                deny = deny_words(m.deny_status);
            }
            RuleKind::BodySizeLimit(b) => {
                let max = b.max_bytes.to_string();
                out.push(words(&["acl", &acl, "req.hdr_val(content-length)", "gt", &max]));
                out.push(words(&["acl", &acl, "req.body_size", "gt", &max]));
                deny = deny_words(b.deny_status);
            }
            RuleKind::UserAgentBlock(u) => {
                let mut line = vec!["acl".to_string(), acl.clone(), "req.hdr(user-agent)".into(), "-m".into(), "sub".into(), "-i".into()];
                line.extend(u.patterns.iter().cloned());
                out.push(Statement::Words(line));
                deny = deny_words(u.deny_status);
            }
        }
        let cond: Vec<String> = std::iter::once("if".to_string()).chain(condition.split(' ').map(str::to_string)).collect();
        let mut set_var = vec!["http-request".to_string(), format!("set-var({RULE_VARIABLE})"), format!("str({name})")];
        set_var.extend(cond.iter().cloned());
        out.push(Statement::Words(set_var));
        let mut action = if rule.dry_run {
            vec!["http-request".to_string(), "add-header".into(), DRY_RUN_HEADER.into(), name.to_string()]
        } else {
            deny
        };
        action.extend(cond);
        out.push(Statement::Words(action));
    }
    Ok(out)
}

fn deny_words(status: u16) -> Vec<String> {
    vec!["http-request".into(), "deny".into(), "deny_status".into(), status.to_string()]
}

/// The stick-table backends of the enabled rate limits: `(section header, body lines)`.
pub fn tables(rules: &[Rule]) -> Vec<(Vec<String>, Vec<Statement>)> {
    ordered(rules)
        .into_iter()
        .filter(|r| r.enabled)
        .filter_map(|rule| match &rule.kind {
            RuleKind::RateLimit(r) => {
                let period = format!("{}s", r.period_seconds);
                let key: &[&str] = if r.header.is_some() || r.cookie.is_some() { &["string", "len", "64"] } else { &["ipv6"] };
                let mut line = vec!["stick-table".to_string(), "type".into()];
                line.extend(key.iter().map(|s| s.to_string()));
                line.extend(["size", "100k", "expire", &period, "store", &format!("http_req_rate({period})")].map(str::to_string));
                Some((vec!["backend".to_string(), table_name(&rule.name)], vec![Statement::Words(line)]))
            }
            _ => None,
        })
        .collect()
}

/// The sticky counters (0..=2) a frontend's own lines track (`track-sc0` ... as a word).
pub fn used_counters<'a>(lines: impl IntoIterator<Item = &'a haproxy_model::Line>) -> Vec<u8> {
    let mut used = Vec::new();
    for line in lines {
        for word in line.words() {
            let value = word.value();
            if let Some(n) = value.strip_prefix("track-sc").and_then(|n| n.parse::<u8>().ok()) {
                used.push(n);
            }
        }
    }
    used
}
