//! Backends, frontends and defaults as resources: `{name, from?, ...fields}` read from the
//! section, and the ops a create, replace or delete stages ([`super::directives`] maps fields).
//!
//! An unnamed `defaults` section reads as `unnamed_defaults_N` (N counts unnamed ones from 1),
//! as client-native names it, and is addressed by that name.

use haproxy_model::{Document, Section};
use serde_json::{Map, Value};

use super::directives::{self, Model};
use super::params;
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

/// The [`SectionRef`] ops address `name` by.
fn target(doc: &Document, model: Model, name: &str) -> Result<SectionRef> {
    let section = find(doc, model, name)?;
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

/// The op creating the backend or frontend `body` describes: [`Error::Conflict`] when the name
/// is taken, [`Error::Invalid`] for a body this surface cannot write or a model without a
/// create (defaults).
pub fn add_section(doc: &Document, model: Model, body: &Map<String, Value>) -> Result<EditOp> {
    params::unknown_fields(body, known(model))?;
    let name = body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).ok_or_else(|| Error::invalid("name is required"))?;
    if find(doc, model, name).is_ok() {
        return Err(Error::Conflict(format!("{} {name} already exists", model.kind())));
    }
    let lines = directives::new_lines(model, body)?;
    let (name, from) = (name.to_string(), from_of(body)?);
    match model {
        Model::Backend => Ok(EditOp::AddBackend { name, from, lines }),
        Model::Frontend => Ok(EditOp::AddFrontend { name, from, lines }),
        _ => Err(Error::invalid(format!("creating {} sections is not supported by this surface", model.kind()))),
    }
}

/// The ops making section `name` what `body` describes (empty when it already is). A body
/// naming another section is refused: renames are not supported.
pub fn replace_section(doc: &Document, model: Model, name: &str, body: &Map<String, Value>) -> Result<Vec<EditOp>> {
    params::unknown_fields(body, known(model))?;
    if let Some(other) = body.get("name").and_then(Value::as_str).filter(|n| *n != name) {
        return Err(Error::invalid(format!("the body names {other}, the path {name}: renaming is not supported")));
    }
    let section = find(doc, model, name)?;
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

/// The op deleting backend or frontend `name`.
pub fn delete_section(doc: &Document, model: Model, name: &str) -> Result<EditOp> {
    find(doc, model, name)?;
    match model {
        Model::Backend => Ok(EditOp::DeleteBackend { name: name.into() }),
        Model::Frontend => Ok(EditOp::DeleteFrontend { name: name.into() }),
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
}
