//! Where rules land in a bundle, losslessly.
//!
//! ```text
//! each config file: without_rules(text) (the operator's own text, byte for byte)
//!   -> parse -> each frontend/listen with rules: a region inserted at the start of its first
//!      http-request / use_backend / default_backend line (else after its last statement)
//!   -> first config file: a region of stick-table backends appended at its end
//! files: fleet-rules/<name>.acl for each list rule; stale files under fleet-rules/ removed
//! ```
//!
//! A region is whole lines between `# BEGIN fleet rules` and `# END fleet rules` comment lines,
//! with its frontend's indentation and line endings. Regions are inserted at line starts only,
//! so removing them gives back the text as it was; where a region follows a last line without a
//! newline, its BEGIN line says so and the removal takes that newline away again.

use haproxy_model::{Line, LineKind};

use super::render::{frontend_lines, list_path, tables, used_counters, Statement};
use super::spec::{check_name, Rule, MAX_RULES};
use crate::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use crate::error::{Error, Result};

/// The bundle folder whose files belong to the rules (list files); nothing else goes there.
pub const GENERATED_DIR: &str = "fleet-rules";

const BEGIN: &str = "# BEGIN fleet rules";
const END: &str = "# END fleet rules";
const ADDED_ENDING: &str = "(a line ending was added before this line)";
const FRONTEND_NOTE: &str = "(generated from the cluster's rules: change them through the rules API, not here)";
const TABLES_NOTE: &str = "- stick tables of the rate limits (generated from the cluster's rules)";

/// `text` without any generated region: the operator's own text, byte for byte.
pub fn without_rules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !inside && trimmed.starts_with(BEGIN) {
            inside = true;
            if line.contains(ADDED_ENDING) {
                let ending = if line.ends_with("\r\n") { "\r\n" } else { "\n" };
                if out.ends_with(ending) {
                    out.truncate(out.len() - ending.len());
                }
            }
            continue;
        }
        if inside {
            if trimmed.starts_with(END) {
                inside = false;
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

/// Whether `text` holds a generated region.
pub fn has_rules(text: &str) -> bool {
    text.split('\n').any(|l| l.trim_start().starts_with(BEGIN))
}

fn render(statement: &Statement, indent: &str) -> String {
    match statement {
        Statement::Words(words) => Line::statement(indent, words).text(),
        Statement::Raw(raw) => format!("{indent}{raw}"),
        Statement::Comment(c) => format!("{indent}# {c}"),
    }
}

/// Inserts `lines` (without endings) as a region at byte `at` of `text` (a line start, or the
/// end), with `ending`; returns the text to insert.
fn region(text: &str, at: usize, lines: &[String], ending: &str, indent: &str, note: &str, end_taken: &mut bool) -> String {
    let needs_ending = at == text.len() && !text.is_empty() && !text.ends_with('\n') && !*end_taken;
    *end_taken |= at == text.len();
    let mut out = String::new();
    if needs_ending {
        out.push_str(ending);
    }
    out.push_str(indent);
    out.push_str(BEGIN);
    out.push(' ');
    out.push_str(note);
    if needs_ending {
        out.push(' ');
        out.push_str(ADDED_ENDING);
    }
    out.push_str(ending);
    for line in lines {
        out.push_str(line);
        out.push_str(ending);
    }
    out.push_str(indent);
    out.push_str(END);
    out.push_str(ending);
    out
}

/// Byte offsets of the start of each line (1-based line `n` starts at `starts[n - 1]`).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).filter(|&i| i < text.len()).collect()
}

/// One config file's text with the rules' regions (and the tables when `tables_here`).
/// Returns the text and the frontends it found.
fn config_with_rules(text: &str, rules: &[Rule], tables_here: bool) -> Result<(String, Vec<String>)> {
    let base = without_rules(text);
    let parsed = haproxy_parse::parse(&base);
    let starts = line_starts(&base);
    let offset = |line: u32| starts.get(line as usize - 1).copied().unwrap_or(base.len());
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut found = Vec::new();
    let mut end_taken = false;
    for section in parsed.document.sections() {
        if !section.kind().has_frontend() {
            continue;
        }
        let Some(name) = section.name().map(|n| n.to_string()) else { continue };
        found.push(name.clone());
        let statements = frontend_lines(&name, rules, &used_counters(section.lines()))?;
        if statements.is_empty() {
            continue;
        }
        let first_rule = section.lines().iter().find(|l| {
            l.kind() == LineKind::Statement
                && l.keyword().is_some_and(|k| matches!(k.as_ref(), "http-request" | "use_backend" | "default_backend"))
        });
        let at = match first_rule {
            Some(line) => offset(line.position().line),
            None => {
                let last = section.lines().iter().rev().find(|l| !l.is_trivia()).unwrap_or(section.header());
                offset(last.position().line + 1)
            }
        };
        let indent = section.body_indent(0).to_string();
        let ending = ending_near(&base, at);
        let lines: Vec<String> = statements.iter().map(|s| render(s, &indent)).collect();
        inserts.push((at, region(&base, at, &lines, ending, &indent, FRONTEND_NOTE, &mut end_taken)));
    }
    if tables_here {
        let tables = tables(rules);
        if !tables.is_empty() {
            let mut lines = Vec::new();
            for (header, body) in &tables {
                lines.push(Line::statement("", header).text());
                lines.extend(body.iter().map(|s| render(s, "    ")));
            }
            let ending = ending_near(&base, base.len());
            inserts.push((base.len(), region(&base, base.len(), &lines, ending, "", TABLES_NOTE, &mut end_taken)));
        }
    }
    let mut out = base.clone();
    inserts.sort_by_key(|(at, _)| *at);
    for (at, insert) in inserts.into_iter().rev() {
        out.insert_str(at, &insert);
    }
    Ok((out, found))
}

/// The line ending regions inserted at byte `at` use: that of the line before, else the file's
/// first one (CRLF files get CRLF regions).
fn ending_near(text: &str, at: usize) -> &'static str {
    let before = &text[..at];
    let crlf = if before.ends_with('\n') { before.ends_with("\r\n") } else { text.contains("\r\n") };
    if crlf {
        "\r\n"
    } else {
        "\n"
    }
}

/// `bundle` with `rules` rendered: regions in every frontend they apply to, the stick tables at
/// the end of the first config file, one list file per list rule under [`GENERATED_DIR`] (files
/// there that no rule makes are removed). With no rule, every config file is the operator's
/// own text again. Errors: an invalid rule, two rules with one name, a named frontend that no
/// config file has, a frontend without a sticky counter left.
pub fn with_rules(bundle: &Bundle, rules: &[Rule]) -> Result<Bundle> {
    if rules.len() > MAX_RULES {
        return Err(Error::invalid(format!("a cluster holds at most {MAX_RULES} rules")));
    }
    let mut names = std::collections::BTreeSet::new();
    for rule in rules {
        rule.validate()?;
        if !names.insert(rule.name.as_str()) {
            return Err(Error::Conflict(format!("two rules are named {}", rule.name)));
        }
    }
    let mut files = Vec::new();
    let mut found = Vec::new();
    let mut first = true;
    for file in bundle.files() {
        if file.path.as_str().starts_with(&format!("{GENERATED_DIR}/")) {
            continue;
        }
        if file.kind == FileKind::Config {
            let (text, frontends) = config_with_rules(file.text().unwrap_or_default(), rules, first)?;
            first = false;
            found.extend(frontends);
            let mut changed = file.clone();
            changed.content = text.into_bytes();
            files.push(changed);
        } else {
            files.push(file.clone());
        }
    }
    for rule in rules.iter().filter(|r| r.enabled) {
        if let Some(missing) = rule.frontends.iter().find(|f| !found.contains(f)) {
            return Err(Error::invalid(format!("rule {}: frontend {missing} not found in the configuration", rule.name)));
        }
        if let Some(entries) = rule.entries() {
            check_name(&rule.name)?;
            let path = BundlePath::new(&list_path(&rule.name)).map_err(|e| Error::invalid(e.to_string()))?;
            let mut content = entries.join("\n");
            if !content.is_empty() {
                content.push('\n');
            }
            files.push(BundleFile::new(path, FileKind::Acl, content.into_bytes()));
        }
    }
    Bundle::new(files).map_err(|e| Error::invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: serde_json::Value) -> Rule {
        serde_json::from_value(v).unwrap()
    }

    const CONFIG: &str = "global\n    log stderr local0\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
        frontend fe\n    bind 127.0.0.1:8080\n    # the operator's comment\n    http-request return status 200 if { path /ok }\n    default_backend app\n\n\
        frontend other\n    bind 127.0.0.1:8081\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:9\n";

    fn bundle(text: &str) -> Bundle {
        Bundle::single(BundlePath::new("haproxy.cfg").unwrap(), text)
    }

    fn all_kinds() -> Vec<Rule> {
        vec![
            rule(json!({"name":"rl","kind":"rate_limit","frontends":["fe"],"limit":10,"period_seconds":10})),
            rule(json!({"name":"rl2","kind":"rate_limit","frontends":["fe"],"limit":5,"period_seconds":60,"header":"X-Key","tarpit":true,"bypass":["10.0.0.0/8"]})),
            rule(json!({"name":"deny","kind":"ip_deny","entries":["127.0.0.2","2001:db8::/32"],"priority":1})),
            rule(json!({"name":"allow","kind":"ip_allow","frontends":["other"],"entries":["127.0.0.0/8"]})),
            rule(json!({"name":"geo","kind":"geo_block","frontends":["fe"],"entries":["FR"]})),
            rule(json!({"name":"geoa","kind":"geo_allow","frontends":["other"],"entries":["FR","--"]})),
            rule(json!({"name":"hdr","kind":"header_filter","header":"X-Debug","match":"present","dry_run":true})),
            rule(json!({"name":"hdr2","kind":"header_filter","header":"X-Env","match":"regex","pattern":"^(dev|test) x$","action":"redirect","location":"https://example.com/"})),
            rule(json!({"name":"path","kind":"path_filter","match":"prefix","patterns":["/admin","/.git"]})),
            rule(json!({"name":"meth","kind":"method_allow","methods":["GET","HEAD","POST"]})),
            rule(json!({"name":"body","kind":"body_size_limit","max_bytes":1024})),
            rule(json!({"name":"ua","kind":"user_agent_block","patterns":["sqlmap","nikto"]})),
            rule(json!({"name":"raw","kind":"custom","lines":["http-request deny if { path /custom }"]})),
            rule(json!({"name":"off","kind":"ip_deny","entries":["10.0.0.1"],"enabled":false})),
        ]
    }

    #[test]
    fn regions_come_before_the_first_rule_and_go_away_byte_for_byte() {
        let rules = all_kinds();
        let out = with_rules(&bundle(CONFIG), &rules).unwrap();
        let text = out.text();
        let fe = text.find("frontend fe").unwrap();
        let begin = text[fe..].find(BEGIN).unwrap() + fe;
        assert!(begin < text.find("http-request return").unwrap(), "{text}");
        assert!(text.contains("    http-request track-sc0 src table fleet_rl_rl\n"), "{text}");
        assert!(text.contains("    http-request track-sc1 req.hdr(X-Key) table fleet_rl_rl2 unless fleet_rule_rl2_bypass\n"), "{text}");
        assert!(text.contains("backend fleet_rl_rl\n    stick-table type ipv6 size 100k expire 10s store http_req_rate(10s)\n"), "{text}");
        assert!(text.contains("    acl fleet_rule_hdr2 req.hdr(X-Env) -m reg '^(dev|test) x$'\n"), "{text}");
        assert!(text.contains("http-request add-header X-Fleet-Rule-Dry-Run hdr if fleet_rule_hdr\n"), "{text}");
        assert!(!text.contains("fleet_rule_off"), "a disabled rule renders nothing");
        // deny (priority 1) runs first
        assert!(text[begin..].find("rule deny").unwrap() < text[begin..].find("rule rl ").unwrap());
        let paths: Vec<_> = out.files().iter().map(|f| f.path.as_str().to_string()).collect();
        assert!(paths.contains(&"fleet-rules/deny.acl".to_string()) && paths.contains(&"fleet-rules/geo.acl".to_string()), "{paths:?}");
        assert_eq!(out.file(&BundlePath::new("fleet-rules/deny.acl").unwrap()).unwrap().content, b"127.0.0.2\n2001:db8::/32\n");
        // with the rules placed again: the same text; without any: the original
        assert_eq!(with_rules(&out, &rules).unwrap().text(), text);
        let back = with_rules(&out, &[]).unwrap();
        assert_eq!(back.text(), CONFIG);
        assert_eq!(back.files().len(), 1);
    }

    #[test]
    fn odd_texts_come_back_byte_for_byte() {
        let rules = vec![
            rule(json!({"name":"rl","kind":"rate_limit","limit":10,"period_seconds":10})),
            rule(json!({"name":"d","kind":"ip_deny","entries":["127.0.0.2"]})),
        ];
        for text in [
            "frontend fe\n\tbind :80\n\tdefault_backend b",
            "frontend fe\r\n  bind :80\r\n\r\nbackend b\r\n  server s 127.0.0.1:9",
            "frontend fe\n    bind :80",
            "frontend fe",
            "listen l\n  bind :80\n  server s 127.0.0.1:9\n  # trailing comment\n\n",
        ] {
            let out = with_rules(&bundle(text), &rules).unwrap();
            let rendered = out.text().to_string();
            assert!(has_rules(&rendered), "{rendered:?}");
            assert!(!haproxy_parse::parse(&rendered).diagnostics.iter().any(|d| d.severity == haproxy_model::Severity::Error), "{rendered:?}");
            assert_eq!(without_rules(&rendered), text, "{rendered:?}");
            assert_eq!(with_rules(&out, &rules).unwrap().text(), rendered);
        }
        let crlf = with_rules(&bundle("frontend fe\r\n  bind :80\r\n"), &rules).unwrap();
        assert!(!crlf.text().replace("\r\n", "").contains('\n'), "a CRLF file gets CRLF regions: {:?}", crlf.text());
    }

    #[test]
    fn counters_the_frontend_uses_are_left_alone() {
        let text = "frontend fe\n    bind :80\n    http-request track-sc0 src\n";
        let rules = vec![rule(json!({"name":"rl","kind":"rate_limit","limit":10,"period_seconds":10}))];
        let out = with_rules(&bundle(text), &rules).unwrap();
        assert!(out.text().contains("track-sc1 src table fleet_rl_rl"), "{}", out.text());
        let four: Vec<Rule> = (0..3).map(|i| rule(json!({"name":format!("r{i}"),"kind":"rate_limit","limit":1,"period_seconds":1}))).collect();
        let err = with_rules(&bundle(text), &four).unwrap_err().to_string();
        assert!(err.contains("no sticky counter left"), "{err}");
    }

    #[test]
    fn unknown_frontends_and_duplicates_are_refused() {
        let missing = vec![rule(json!({"name":"x","kind":"ip_deny","frontends":["nope"],"entries":[]}))];
        assert!(with_rules(&bundle(CONFIG), &missing).unwrap_err().to_string().contains("frontend nope not found"));
        let twice = vec![rule(json!({"name":"x","kind":"ip_deny","entries":[]})), rule(json!({"name":"x","kind":"ip_allow","entries":[]}))];
        assert!(with_rules(&bundle(CONFIG), &twice).unwrap_err().to_string().contains("two rules"));
    }
}
