//! Backends, frontends and defaults as resources: `{name, from?, ...fields}` read from the
//! section, and the ops a create, replace or delete stages ([`super::directives`] maps fields).
//!
//! An unnamed `defaults` section reads as `unnamed_defaults_N` (N counts unnamed ones from 1),
//! as client-native names it, and is addressed by that name.

use haproxy_model::{Document, Section};
use serde_json::{Map, Value};

use super::directives::{self, Model};
use super::logs::log_targets;
use super::params;
use super::rules::RuleKind;
use crate::error::{Error, Result};
use crate::ops::{EditOp, SectionRef};

/// Fields a section body holds besides its directives.
const OWN: &[&str] = &["name", "from", "metadata"];

const UNNAMED: &str = "unnamed_defaults_";

/// Every section of `model`'s kind with the name the API gives it, in file order.
fn named(doc: &Document, model: Model) -> Vec<(String, &Section)> {
    let kind = model.kind();
    let mut unnamed = 0;
    doc.sections()
        .iter()
        .filter(|s| *s.kind() == kind)
        .map(|s| match s.name() {
            Some(name) => (name.into_owned(), s),
            None => {
                unnamed += 1;
                (format!("{UNNAMED}{unnamed}"), s)
            }
        })
        .collect()
}

fn find<'d>(doc: &'d Document, model: Model, name: &str) -> Result<&'d Section> {
    named(doc, model)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
        .ok_or_else(|| Error::not_found(format!("{} {name}", model.kind())))
}

/// The [`SectionRef`] ops address `name` by. Ops find an unnamed section as the first unnamed
/// one of its kind, so `unnamed_defaults_2` and later cannot be edited through them.
fn target(doc: &Document, model: Model, name: &str) -> Result<SectionRef> {
    let section = find(doc, model, name)?;
    if section.name().is_none() && name != format!("{UNNAMED}1") {
        return Err(Error::invalid(format!("{name} is not the first unnamed defaults section: give it a name in the configuration (configuration/raw) to edit it here")));
    }
    Ok(SectionRef { kind: model.kind().keyword().to_string(), name: section.name().map(|n| n.into_owned()) })
}

fn shown(name: &str, section: &Section, model: Model) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), Value::from(name));
    if let Some(from) = section.from() {
        out.insert("from".into(), Value::from(from.into_owned()));
    }
    out.extend(directives::read(model, section));
    Value::Object(out)
}

/// Every section of the model's kind.
pub fn sections(doc: &Document, model: Model) -> Vec<Value> {
    named(doc, model).iter().map(|(n, s)| shown(n, s, model)).collect()
}

/// One section; [`Error::NotFound`] without it.
pub fn section(doc: &Document, model: Model, name: &str) -> Result<Value> {
    find(doc, model, name).map(|s| shown(name, s, model))
}

/// A child list a full section holds.
enum Child {
    /// Rule lines of one kind.
    Rules(RuleKind),
    /// `log` lines.
    Logs,
}

/// The child lists of `model`'s full section (`full_section=true`) that this surface maps, by
/// the key upstream's full model gives them. Upstream's `defaults` also inlines
/// `http_after_response_rule_list`, `http_check_list`, `http_error_rule_list`,
/// `quic_initial_rule_list`, `tcp_check_rule_list` and `tcp_response_rule_list`: not mapped
/// here, so not shown. Other models show no children yet (a backend's would lack its servers).
fn children(model: Model) -> &'static [(&'static str, Child)] {
    match model {
        Model::Defaults => &[
            ("acl_list", Child::Rules(RuleKind::Acl)),
            ("http_request_rule_list", Child::Rules(RuleKind::HttpRequest)),
            ("http_response_rule_list", Child::Rules(RuleKind::HttpResponse)),
            ("log_target_list", Child::Logs),
            ("tcp_request_rule_list", Child::Rules(RuleKind::TcpRequest)),
        ],
        _ => &[],
    }
}

/// [`shown`] with the child lists of [`children`] that are not empty.
fn shown_full(name: &str, section: &Section, model: Model) -> Value {
    let mut out = shown(name, section, model);
    if let Value::Object(fields) = &mut out {
        for (key, child) in children(model) {
            let items = match child {
                Child::Rules(kind) => super::children::rules_in(section, *kind),
                Child::Logs => log_targets(section),
            };
            if !items.is_empty() {
                fields.insert((*key).into(), Value::Array(items));
            }
        }
    }
    out
}

/// Every section of the model's kind with its child lists (upstream's `full_section=true`).
pub fn full_sections(doc: &Document, model: Model) -> Vec<Value> {
    named(doc, model).iter().map(|(n, s)| shown_full(n, s, model)).collect()
}

/// One section with its child lists; [`Error::NotFound`] without it.
pub fn full_section(doc: &Document, model: Model, name: &str) -> Result<Value> {
    find(doc, model, name).map(|s| shown_full(name, s, model))
}

fn known(model: Model) -> Vec<&'static str> {
    model.fields().iter().map(|f| f.field).chain(OWN.iter().copied()).collect()
}

fn from_of(body: &Map<String, Value>) -> Result<Option<String>> {
    match body.get("from") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::invalid(format!("from: expected a string, got {other}"))),
    }
}

/// A section name as upstream's models take it (`name` and `from`: `^[A-Za-z0-9-_.:]+$`, HAProxy's
/// own rule for proxy names, configuration.txt §4); [`Error::Malformed`] otherwise.
fn name_of<'b>(body: &'b Map<String, Value>, key: &str) -> Result<Option<&'b str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match haproxy_model::invalid_char(s) {
            None => Ok(Some(s)),
            Some(c) => Err(Error::Malformed(format!("{key}: character {c:?} is not permitted in {s:?}"))),
        },
        Some(other) => Err(Error::Malformed(format!("{key}: expected a string, got {other}"))),
    }
}

/// The op creating the section `body` describes. In upstream's order: a body that breaks the
/// model's schema is [`Error::Malformed`] (422), one this surface cannot write
/// [`Error::Invalid`], a taken name [`Error::Conflict`]. `global` has no create.
pub fn add_section(doc: &Document, model: Model, body: &Map<String, Value>) -> Result<EditOp> {
    let name = name_of(body, "name")?.ok_or_else(|| Error::Malformed("name is required".into()))?;
    name_of(body, "from")?;
    directives::check_schema(model, None, body)?;
    params::unknown_fields(body, known(model))?;
    if find(doc, model, name).is_ok() {
        return Err(Error::Conflict(format!("{} {name} already exists", model.kind())));
    }
    let lines = directives::new_lines(model, body)?;
    let (name, from) = (name.to_string(), from_of(body)?);
    match model {
        Model::Backend => Ok(EditOp::AddBackend { name, from, lines }),
        Model::Frontend => Ok(EditOp::AddFrontend { name, from, lines }),
        Model::Defaults | Model::Userlist => {
            if from.is_some() && model != Model::Defaults {
                return Err(Error::invalid(format!("from is only for defaults sections, not {}", model.kind())));
            }
            Ok(EditOp::AddSection { section: SectionRef { kind: model.kind().keyword().to_string(), name: Some(name) }, from, lines })
        }
        _ => Err(Error::invalid(format!("creating {} sections is not supported by this surface", model.kind()))),
    }
}

/// The ops making section `name` what `body` describes (empty when it already is). A body
/// naming another section is refused: renames are not supported.
pub fn replace_section(doc: &Document, model: Model, name: &str, body: &Map<String, Value>) -> Result<Vec<EditOp>> {
    let section = find(doc, model, name)?;
    directives::check_schema(model, Some(section), body)?;
    params::unknown_fields(body, known(model))?;
    if let Some(other) = body.get("name").and_then(Value::as_str).filter(|n| *n != name) {
        return Err(Error::invalid(format!("the body names {other}, the path {name}: renaming is not supported")));
    }
    let target = target(doc, model, name)?;
    let mut ops = directives::plan(doc, &target, model, body)?;
    let from = from_of(body)?;
    if section.from().map(|f| f.into_owned()) != from {
        let from = Some(from.unwrap_or_default());
        match model {
            Model::Backend => ops.push(EditOp::UpdateBackend { name: name.into(), rename: None, from }),
            Model::Frontend => ops.push(EditOp::UpdateFrontend { name: name.into(), rename: None, from }),
            _ => return Err(Error::invalid(format!("changing from on a {} section is not supported by this surface", model.kind()))),
        }
    }
    Ok(ops)
}

/// The op deleting section `name` (not `global`, `resolvers`, `peers`).
pub fn delete_section(doc: &Document, model: Model, name: &str) -> Result<EditOp> {
    find(doc, model, name)?;
    match model {
        Model::Backend => Ok(EditOp::DeleteBackend { name: name.into() }),
        Model::Frontend => Ok(EditOp::DeleteFrontend { name: name.into() }),
        Model::Defaults | Model::Userlist => Ok(EditOp::DeleteSection { section: target(doc, model, name)? }),
        _ => Err(Error::invalid(format!("deleting {} sections is not supported by this surface", model.kind()))),
    }
}


/// The `global` section's fields (an empty object without one).
pub fn global(doc: &Document) -> Value {
    match doc.sections().iter().find(|s| *s.kind() == Model::Global.kind()) {
        Some(section) => Value::Object(directives::read(Model::Global, section)),
        None => Value::Object(Map::new()),
    }
}

/// The ops making the `global` section hold what `body` says ([`Error::NotFound`] without one).
pub fn replace_global(doc: &Document, body: &Map<String, Value>) -> Result<Vec<EditOp>> {
    params::unknown_fields(body, known(Model::Global))?;
    let target = SectionRef { kind: "global".into(), name: None };
    directives::plan(doc, &target, Model::Global, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = "defaults\n    mode http\n    timeout connect 5s\n\nbackend app from defaults_x\n    # keep me\n    balance roundrobin\n    option httpchk GET /health\n    no option redispatch\n    timeout server 30s   # slow\n    http-request deny if { src 10.0.0.0/8 }\n    server a 10.0.0.1:80\n";

    fn doc() -> Document {
        haproxy_parse::parse(TEXT).document
    }

    fn apply(ops: &[EditOp]) -> String {
        let mut d = doc();
        crate::ops::apply_ops(&mut d, ops).unwrap();
        haproxy_render::lossless(&d)
    }

    #[test]
    fn reads_sections() {
        assert_eq!(
            section(&doc(), Model::Backend, "app").unwrap(),
            json!({"name": "app", "from": "defaults_x", "balance": {"algorithm": "roundrobin"}, "adv_check": "httpchk",
                "httpchk_params": {"method": "GET", "uri": "/health"}, "redispatch": {"enabled": "disabled"}, "server_timeout": 30000})
        );
        assert_eq!(sections(&doc(), Model::Defaults), vec![json!({"name": "unnamed_defaults_1", "mode": "http", "connect_timeout": 5000})]);
    }

    #[test]
    fn a_replace_as_read_is_empty_and_changes_touch_their_lines() {
        let read = section(&doc(), Model::Backend, "app").unwrap();
        assert_eq!(replace_section(&doc(), Model::Backend, "app", read.as_object().unwrap()).unwrap(), vec![]);
        let mut body = read.as_object().unwrap().clone();
        body.insert("server_timeout".into(), json!(60000));
        body.insert("redispatch".into(), json!({"enabled": "enabled"}));
        body.insert("retries".into(), json!(3));
        body.remove("balance");
        let ops = replace_section(&doc(), Model::Backend, "app", &body).unwrap();
        let text = apply(&ops);
        let expected = TEXT
            .replace("    balance roundrobin\n", "")
            .replace("    no option redispatch\n", "    option redispatch\n")
            .replace("timeout server 30s   # slow", "timeout server 60000   # slow");
        // `retries` is new: it goes at the end of the section.
        assert_eq!(text, format!("{expected}    retries 3\n"));
    }

    #[test]
    fn global_options_and_sockets() {
        let text = "global\n    maxconn 100\n    stats socket /run/a.sock level admin   # ops\n    stats timeout 30s\n";
        let d = haproxy_parse::parse(text).document;
        let read = global(&d);
        assert_eq!(read, json!({"performance_options": {"maxconn": 100}, "runtime_apis": [{"address": "/run/a.sock", "level": "admin"}], "stats_timeout": 30000}));
        assert_eq!(replace_global(&d, read.as_object().unwrap()).unwrap(), vec![]);
        let body = json!({"performance_options": {"maxconn": 5000}, "runtime_apis": [{"address": "/run/b.sock", "level": "admin"}], "stats_timeout": 30000});
        let ops = replace_global(&d, body.as_object().unwrap()).unwrap();
        let mut edited = d.clone();
        crate::ops::apply_ops(&mut edited, &ops).unwrap();
        assert_eq!(haproxy_render::lossless(&edited), "global\n    maxconn 5000\n    stats timeout 30s\n    stats socket /run/b.sock level admin\n");
        let body = json!({"name": "b", "adv_check": "httpchk", "httpchk_params": {"method": "GET", "uri": "/check", "version": "HTTP/1.1"}});
        assert_eq!(add_section(&d, Model::Backend, body.as_object().unwrap()).unwrap(), EditOp::AddBackend { name: "b".into(), from: None, lines: vec!["option httpchk GET /check HTTP/1.1".into()] });
    }

    #[test]
    fn creates_and_refuses() {
        let body = json!({"name": "api", "mode": "http", "balance": {"algorithm": "leastconn"}, "connect_timeout": 5000});
        let op = add_section(&doc(), Model::Backend, body.as_object().unwrap()).unwrap();
        assert_eq!(op, EditOp::AddBackend { name: "api".into(), from: None, lines: vec!["mode http".into(), "balance leastconn".into(), "timeout connect 5000".into()] });
        assert!(matches!(add_section(&doc(), Model::Backend, json!({"name": "app"}).as_object().unwrap()), Err(Error::Conflict(_))));
        assert!(matches!(add_section(&doc(), Model::Backend, json!({"name": "x", "cookie": {"name": "S"}}).as_object().unwrap()), Err(Error::Invalid { .. })));
    }

    fn on(text: &str, ops: &[EditOp]) -> String {
        let mut d = haproxy_parse::parse(text).document;
        crate::ops::apply_ops(&mut d, ops).unwrap();
        haproxy_render::lossless(&d)
    }

    const DEFAULTS: &str = "global\n    log 127.0.0.1 local2\n\n# the shared defaults\ndefaults\n    mode http\n    log global\n    timeout client 300s\n\nbackend app\n    server a 10.0.0.1:80\n";

    #[test]
    fn defaults_are_created_where_no_proxy_inherits_them() {
        let d = haproxy_parse::parse(DEFAULTS).document;
        let body = json!({"name": "created", "client_timeout": 20000, "server_timeout": 20000, "mode": "http"});
        let op = add_section(&d, Model::Defaults, body.as_object().unwrap()).unwrap();
        let target = SectionRef { kind: "defaults".into(), name: Some("created".into()) };
        assert_eq!(op, EditOp::AddSection { section: target, from: None, lines: vec!["mode http".into(), "timeout server 20000".into(), "timeout client 20000".into()] });
        // Before the last defaults section (and the comment introducing it): `backend app`
        // still inherits the unnamed one.
        let text = on(DEFAULTS, &[op]);
        assert_eq!(text, DEFAULTS.replace("# the shared", "defaults created\n    mode http\n    timeout server 20000\n    timeout client 20000\n\n# the shared"));
        let d = haproxy_parse::parse(&text).document;
        let read = section(&d, Model::Defaults, "created").unwrap();
        assert_eq!(read, json!({"name": "created", "mode": "http", "server_timeout": 20000, "client_timeout": 20000}));
        assert!(matches!(add_section(&d, Model::Defaults, read.as_object().unwrap()), Err(Error::Conflict(_))));
        // `from` the new one: after it, still before the unnamed one.
        let op = add_section(&d, Model::Defaults, json!({"name": "more", "from": "created", "mode": "tcp"}).as_object().unwrap()).unwrap();
        let text = on(&text, &[op]);
        assert!(text.contains("    timeout client 20000\n\ndefaults more from created\n    mode tcp\n\n# the shared defaults\ndefaults\n"), "{text}");
        assert_eq!(section(&haproxy_parse::parse(&text).document, Model::Defaults, "more").unwrap(), json!({"name": "more", "from": "created", "mode": "tcp"}));
    }

    #[test]
    fn defaults_from_the_last_one_go_at_the_end() {
        let text = "defaults base\n    mode http\n\nbackend app\n    server a 10.0.0.1:80";
        let d = haproxy_parse::parse(text).document;
        let op = add_section(&d, Model::Defaults, json!({"name": "child", "from": "base"}).as_object().unwrap()).unwrap();
        // The file ended without a newline: it still does.
        assert_eq!(on(text, &[op]), format!("{text}\n\ndefaults child from base"));
        let missing = add_section(&d, Model::Defaults, json!({"name": "child", "from": "nope"}).as_object().unwrap()).unwrap();
        let mut edited = d.clone();
        assert!(crate::ops::apply_ops(&mut edited, &[missing]).is_err(), "from must name an existing defaults section");
    }

    #[test]
    fn deleting_defaults_removes_exactly_their_lines() {
        let d = haproxy_parse::parse(DEFAULTS).document;
        let op = delete_section(&d, Model::Defaults, "unnamed_defaults_1").unwrap();
        assert_eq!(op, EditOp::DeleteSection { section: SectionRef { kind: "defaults".into(), name: None } });
        assert_eq!(on(DEFAULTS, &[op]), "global\n    log 127.0.0.1 local2\n\n# the shared defaults\nbackend app\n    server a 10.0.0.1:80\n");
        assert!(matches!(delete_section(&d, Model::Defaults, "nothing_to_see_here"), Err(Error::NotFound(_))));
        // One another section inherits by name is kept.
        let text = "defaults base\n    mode http\n\nbackend app from base\n";
        let d = haproxy_parse::parse(text).document;
        let op = delete_section(&d, Model::Defaults, "base").unwrap();
        let err = crate::ops::apply_ops(&mut d.clone(), &[op]).unwrap_err().to_string();
        assert!(err.contains("inherited by backend \"app\""), "{err}");
        // Ops address an unnamed section as the first one: the second is refused, not mistaken.
        let d = haproxy_parse::parse("defaults\n    mode http\ndefaults\n    mode tcp\n").document;
        assert!(matches!(delete_section(&d, Model::Defaults, "unnamed_defaults_2"), Err(Error::Invalid { .. })));
        assert!(matches!(replace_section(&d, Model::Defaults, "unnamed_defaults_2", json!({"mode": "http"}).as_object().unwrap()), Err(Error::Invalid { .. })));
    }

    #[test]
    fn full_sections_inline_their_child_lists() {
        let d = haproxy_parse::parse(DEFAULTS).document;
        assert_eq!(section(&d, Model::Defaults, "unnamed_defaults_1").unwrap().get("log_target_list"), None);
        let full = full_section(&d, Model::Defaults, "unnamed_defaults_1").unwrap();
        assert_eq!(full, json!({"name": "unnamed_defaults_1", "mode": "http", "client_timeout": 300000, "log_target_list": [{"global": true}]}));
        assert_eq!(full_sections(&d, Model::Defaults), vec![full]);
        let d = haproxy_parse::parse("defaults d\n    http-request deny if { src 10.0.0.0/8 }\n    tcp-request content accept\n").document;
        let full = full_section(&d, Model::Defaults, "d").unwrap();
        assert_eq!(full["http_request_rule_list"], json!([{"type": "deny", "cond": "if", "cond_test": "{ src 10.0.0.0/8 }"}]));
        assert_eq!(full["tcp_request_rule_list"], json!([{"type": "content", "action": "accept"}]));
    }

    #[test]
    fn userlists_are_created_and_deleted() {
        let text = "userlist first\n    user tiger insecure-password x\n\nuserlist delete_test\n    group virus\n\nfrontend www\n    bind :80\n";
        let d = haproxy_parse::parse(text).document;
        let op = add_section(&d, Model::Userlist, json!({"name": "new-user-list"}).as_object().unwrap()).unwrap();
        assert_eq!(on(text, &[op]), format!("{text}\nuserlist new-user-list\n"));
        assert!(matches!(add_section(&d, Model::Userlist, &Map::new()), Err(Error::Malformed(_))), "upstream's 422 for a body without name");
        assert!(matches!(add_section(&d, Model::Userlist, json!({"name": "a b"}).as_object().unwrap()), Err(Error::Malformed(_))));
        assert!(matches!(add_section(&d, Model::Userlist, json!({"name": "first"}).as_object().unwrap()), Err(Error::Conflict(_))));
        assert!(matches!(add_section(&d, Model::Userlist, json!({"name": "x", "users": {"u": {"username": "u"}}}).as_object().unwrap()), Err(Error::Invalid { .. })));
        let op = delete_section(&d, Model::Userlist, "delete_test").unwrap();
        assert_eq!(on(text, &[op]), text.replace("userlist delete_test\n    group virus\n\n", ""));
        assert!(matches!(delete_section(&d, Model::Userlist, "fake"), Err(Error::NotFound(_))));
    }

    #[test]
    fn httpchk_params_are_checked_as_upstream_does() {
        let d = doc();
        let body = |params: Value| json!({"name": "b", "adv_check": "httpchk", "httpchk_params": params, "mode": "http"});
        // The send method is one of upstream's enum: 422 before anything else (here an
        // unmapped `http-check` field, which alone is a 400).
        let mut bad = body(json!({"method": "invalid", "uri": "/check", "version": "HTTP/1.1"}));
        bad["http-check"] = json!({"index": 0, "method": "OPTIONS", "type": "send"});
        assert!(matches!(add_section(&d, Model::Backend, bad.as_object().unwrap()), Err(Error::Malformed(m)) if m.contains("httpchk_params.method")));
        assert!(matches!(add_section(&d, Model::Backend, body(json!({"uri": "/a b"})).as_object().unwrap()), Err(Error::Malformed(_))));
        assert!(matches!(add_section(&d, Model::Backend, json!({"name": "b", "adv_check": "nope"}).as_object().unwrap()), Err(Error::Malformed(_))));
        assert!(matches!(add_section(&d, Model::Backend, body(json!({"uri": "/", "host": "example.com"})).as_object().unwrap()), Err(Error::Invalid { .. })), "host is refused, not dropped");
        let op = add_section(&d, Model::Backend, body(json!({"method": "HEAD", "uri": "/check", "version": "HTTP/1.1"})).as_object().unwrap()).unwrap();
        let text = on(TEXT, &[op]);
        assert!(text.ends_with("backend b\n    mode http\n    option httpchk HEAD /check HTTP/1.1\n"), "{text}");
        let read = section(&haproxy_parse::parse(&text).document, Model::Backend, "b").unwrap();
        assert_eq!(read["httpchk_params"], json!({"method": "HEAD", "uri": "/check", "version": "HTTP/1.1"}));
        // A method HAProxy takes but upstream's enum does not reads back, and a replace with
        // what was read changes nothing; changing it to another such method is refused.
        let text = TEXT.replace("option httpchk GET /health", "option httpchk PROPFIND /health");
        let d = haproxy_parse::parse(&text).document;
        let read = section(&d, Model::Backend, "app").unwrap();
        assert_eq!(read["httpchk_params"], json!({"method": "PROPFIND", "uri": "/health"}));
        assert_eq!(replace_section(&d, Model::Backend, "app", read.as_object().unwrap()).unwrap(), vec![]);
        let mut changed = read.as_object().unwrap().clone();
        changed.insert("httpchk_params".into(), json!({"method": "MKCOL", "uri": "/health"}));
        assert!(matches!(replace_section(&d, Model::Backend, "app", &changed), Err(Error::Malformed(_))));
    }
}
