//! Lines addressed by index inside a frontend or backend (`acls/{index}`,
//! `http_request_rules/{index}` ...) and binds addressed by name, as resources: reads through
//! [`super::rules`] and [`super::params`], writes as positional line ops (`insert_line`,
//! `set_line`, `delete_line`) that leave every other line as written.
//!
//! ```text
//! GET  list / {index}      -> the models, in file order
//! POST {index}             -> insert_line: becomes the index-th of its keyword
//! PUT  {index}             -> set_line with only the words that differ (none when equal)
//! PUT  list                -> each index replaced, extra ones deleted, new ones appended
//! DELETE {index}           -> delete_line
//! ```

use haproxy_model::{Bind, Document, Line, Section, SectionKind};
use serde_json::{Map, Value};

use super::params;
use super::rules::{self, RuleKind};
use super::server::{join_address, split_address};
use crate::error::{Error, Result};
use crate::ops::{EditOp, SectionRef};

/// The frontend or backend `name` (`kind`: `frontend` or `backend`).
pub fn parent(kind: &str, name: &str) -> SectionRef {
    SectionRef { kind: kind.into(), name: Some(name.into()) }
}

fn section<'d>(doc: &'d Document, parent: &SectionRef) -> Result<&'d Section> {
    let kind = SectionKind::from_keyword(&parent.kind).ok_or_else(|| Error::invalid(format!("unknown section kind {}", parent.kind)))?;
    doc.sections()
        .iter()
        .find(|s| *s.kind() == kind && s.name().as_deref() == parent.name.as_deref())
        // Upstream's "parent does not exist" is a bad request, not a missing resource.
        .ok_or_else(|| Error::invalid(format!("parent {} {} does not exist", parent.kind, parent.name.as_deref().unwrap_or_default())))
}

fn lines<'d>(doc: &'d Document, parent: &SectionRef, keyword: &'d str) -> Result<Vec<&'d Line>> {
    Ok(section(doc, parent)?.statements(keyword).map(|(_, l)| l).collect())
}

fn values(line: &Line) -> Vec<String> {
    line.values().into_iter().map(|v| v.into_owned()).collect()
}

/// Every rule of `kind` in the parent, in file order.
pub fn rules(doc: &Document, parent: &SectionRef, kind: RuleKind) -> Result<Vec<Value>> {
    Ok(rules_in(section(doc, parent)?, kind))
}

/// Every rule of `kind` in `section`, in file order.
pub(crate) fn rules_in(section: &Section, kind: RuleKind) -> Vec<Value> {
    section.statements(kind.keyword()).map(|(_, l)| Value::Object(rules::read(kind, &values(l)).model)).collect()
}

fn nth<'d>(doc: &'d Document, parent: &SectionRef, kind: RuleKind, index: usize) -> Result<&'d Line> {
    lines(doc, parent, kind.keyword())?
        .get(index)
        .copied()
        .ok_or_else(|| Error::not_found(format!("{} {index} in {} {}", kind.keyword(), parent.kind, parent.name.as_deref().unwrap_or_default())))
}

/// The rule at `index`.
pub fn rule(doc: &Document, parent: &SectionRef, kind: RuleKind, index: usize) -> Result<Value> {
    Ok(Value::Object(rules::read(kind, &values(nth(doc, parent, kind, index)?)).model))
}

/// The op inserting `body` as the `index`th rule of its kind.
pub fn insert_rule(doc: &Document, parent: &SectionRef, kind: RuleKind, index: usize, body: &Map<String, Value>) -> Result<EditOp> {
    let count = lines(doc, parent, kind.keyword())?.len();
    if index > count {
        return Err(Error::invalid(format!("index {index} is past the end ({count} {} lines)", kind.keyword())));
    }
    Ok(EditOp::InsertLine { section: parent.clone(), keyword: kind.keyword().into(), position: index, words: rules::words(kind, body)? })
}

/// The op making the `index`th rule `body`, none when it already is. A line with words the
/// model does not hold is not rewritten from it ([`rules::Read::lossy`]).
pub fn replace_rule(doc: &Document, parent: &SectionRef, kind: RuleKind, index: usize, body: &Map<String, Value>) -> Result<Option<EditOp>> {
    let line = nth(doc, parent, kind, index)?;
    let current = rules::read(kind, &values(line));
    let wanted: Map<String, Value> = body.iter().filter(|(k, v)| !v.is_null() && k.as_str() != "metadata").map(|(k, v)| (k.clone(), v.clone())).collect();
    if current.model == wanted {
        return Ok(None);
    }
    let words = rules::words(kind, body)?;
    if words == values(line) {
        return Ok(None);
    }
    if current.lossy {
        return Err(Error::invalid(format!("{} {index} has words this surface does not map; edit it as text (configuration/raw)", kind.keyword())));
    }
    Ok(Some(EditOp::SetLine { section: parent.clone(), keyword: kind.keyword().into(), position: index, words }))
}

/// The op deleting the `index`th rule.
pub fn delete_rule(doc: &Document, parent: &SectionRef, kind: RuleKind, index: usize) -> Result<EditOp> {
    nth(doc, parent, kind, index)?;
    Ok(EditOp::DeleteLine { section: parent.clone(), keyword: kind.keyword().into(), position: index })
}

/// The ops making the parent's rules of `kind` exactly `bodies`, in order.
pub fn replace_rules(doc: &Document, parent: &SectionRef, kind: RuleKind, bodies: &[Map<String, Value>]) -> Result<Vec<EditOp>> {
    let count = lines(doc, parent, kind.keyword())?.len();
    let mut ops = Vec::new();
    for (index, body) in bodies.iter().enumerate() {
        match index < count {
            true => ops.extend(replace_rule(doc, parent, kind, index, body)?),
            false => ops.push(EditOp::InsertLine { section: parent.clone(), keyword: kind.keyword().into(), position: index, words: rules::words(kind, body)? }),
        }
    }
    for index in (bodies.len()..count).rev() {
        ops.push(EditOp::DeleteLine { section: parent.clone(), keyword: kind.keyword().into(), position: index });
    }
    Ok(ops)
}

/// Fields a bind body holds besides its parameters (`name` is the `name` parameter).
const BIND_OWN: &[&str] = &["address", "port", "port-range-end", "metadata"];

fn bind_params(line: &Line) -> Vec<params::Param> {
    Bind::new(line, 0).map(|b| b.params().into_iter().map(|p| (p.keyword, p.value)).collect()).unwrap_or_default()
}

/// A bind's name: its `name` parameter, else its address as written (client-native's rule).
fn bind_name(line: &Line) -> String {
    let params = bind_params(line);
    params.iter().rev().find(|(k, _)| k == "name").and_then(|(_, v)| v.clone()).unwrap_or_else(|| line.value(1).map(|v| v.into_owned()).unwrap_or_default())
}

fn bind_shown(line: &Line) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), Value::from(bind_name(line)));
    if let Some(text) = line.value(1) {
        let (address, port) = split_address(&text);
        out.insert("address".into(), Value::from(address));
        if let Some(port) = port {
            out.insert("port".into(), Value::from(port));
        }
    }
    out.extend(params::read(params::BIND, &bind_params(line)));
    Value::Object(out)
}

/// Every bind of the parent (a frontend or a peers section).
pub fn binds(doc: &Document, parent: &SectionRef) -> Result<Vec<Value>> {
    Ok(lines(doc, parent, "bind")?.iter().map(|l| bind_shown(l)).collect())
}

fn bind_at(doc: &Document, parent: &SectionRef, name: &str) -> Result<(usize, Line)> {
    lines(doc, parent, "bind")?
        .into_iter()
        .enumerate()
        .find(|(_, l)| bind_name(l) == name)
        .map(|(i, l)| (i, l.clone()))
        .ok_or_else(|| Error::not_found(format!("bind {name} in {} {}", parent.kind, parent.name.as_deref().unwrap_or_default())))
}

/// One bind, by name.
pub fn bind(doc: &Document, parent: &SectionRef, name: &str) -> Result<Value> {
    bind_at(doc, parent, name).map(|(_, l)| bind_shown(&l))
}

fn bind_address(body: &Map<String, Value>) -> Result<String> {
    let address = body.get("address").and_then(Value::as_str).filter(|a| !a.is_empty()).unwrap_or("");
    let port = match body.get("port") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0).ok_or_else(|| Error::invalid(format!("port: expected 1-65535, got {v}")))?),
    };
    let end = body.get("port-range-end").and_then(Value::as_u64);
    let joined = match (port, end) {
        (Some(p), Some(e)) => format!("{}-{e}", join_address(address, Some(p))),
        (Some(p), None) => join_address(address, Some(p)),
        (None, _) if address.is_empty() => return Err(Error::invalid("address or port is required")),
        (None, _) => address.to_string(),
    };
    Ok(joined)
}

/// `body` without a `name` that only repeats the address: a bind without a `name` parameter
/// reads with its address as its name, and writing that back must not add one.
fn without_derived_name(body: &Map<String, Value>, address: &str, named: bool) -> Map<String, Value> {
    let mut body = body.clone();
    if !named && body.get("name").and_then(Value::as_str) == Some(address) {
        body.remove("name");
    }
    body
}

fn bind_words(address: String, params: &[params::Param]) -> Vec<String> {
    let mut words = vec!["bind".to_string(), address];
    words.extend(params::words(params));
    words
}

/// The op adding the bind `body` describes after the parent's last bind.
pub fn add_bind(doc: &Document, parent: &SectionRef, body: &Map<String, Value>) -> Result<EditOp> {
    params::unknown_fields(body, params::names(params::BIND).chain(BIND_OWN.iter().copied()))?;
    let count = lines(doc, parent, "bind")?.len();
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        if bind_at(doc, parent, name).is_ok() {
            return Err(Error::Conflict(format!("bind {name} already exists")));
        }
    }
    let address = bind_address(body)?;
    let params = params::edit(params::BIND, &[], &without_derived_name(body, &address, false))?;
    Ok(EditOp::InsertLine { section: parent.clone(), keyword: "bind".into(), position: count, words: bind_words(address, &params) })
}

/// The op making bind `name` what `body` describes (only differing words), none when it is.
pub fn replace_bind(doc: &Document, parent: &SectionRef, name: &str, body: &Map<String, Value>) -> Result<Option<EditOp>> {
    params::unknown_fields(body, params::names(params::BIND).chain(BIND_OWN.iter().copied()))?;
    let (position, line) = bind_at(doc, parent, name)?;
    let old = bind_params(&line);
    let current_address = line.value(1).map(|v| v.into_owned()).unwrap_or_default();
    let named = old.iter().any(|(k, _)| k == "name");
    let new = params::edit(params::BIND, &old, &without_derived_name(body, &current_address, named))?;
    let wanted = bind_address(body)?;
    let address = if split_address(&current_address) == split_address(&wanted) { current_address } else { wanted };
    let words = bind_words(address, &new);
    if words == values(&line) {
        return Ok(None);
    }
    Ok(Some(EditOp::SetLine { section: parent.clone(), keyword: "bind".into(), position, words }))
}

/// The op deleting bind `name`.
pub fn delete_bind(doc: &Document, parent: &SectionRef, name: &str) -> Result<EditOp> {
    let (position, _) = bind_at(doc, parent, name)?;
    Ok(EditOp::DeleteLine { section: parent.clone(), keyword: "bind".into(), position })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = "frontend www\n    bind :80 name plain   # clear\n    bind :443 ssl crt /etc/site.pem alpn h2\n    acl is_api path_beg /api\n    http-request deny if { src 10.0.0.0/8 }   # bad net\n    http-request return status 200 string ok\n    use_backend api if is_api\n";

    fn doc() -> Document {
        haproxy_parse::parse(TEXT).document
    }

    fn apply(ops: Vec<EditOp>) -> String {
        let mut d = doc();
        crate::ops::apply_ops(&mut d, &ops).unwrap();
        haproxy_render::lossless(&d)
    }

    #[test]
    fn rules_by_index() {
        let fe = parent("frontend", "www");
        let all = rules(&doc(), &fe, RuleKind::HttpRequest).unwrap();
        assert_eq!(all[0], json!({"type": "deny", "cond": "if", "cond_test": "{ src 10.0.0.0/8 }"}));
        assert_eq!(replace_rule(&doc(), &fe, RuleKind::HttpRequest, 0, all[0].as_object().unwrap()).unwrap(), None);
        assert_eq!(replace_rule(&doc(), &fe, RuleKind::HttpRequest, 1, all[1].as_object().unwrap()).unwrap(), None, "an unmapped line read back is no change");
        let changed = json!({"type": "deny", "cond": "if", "cond_test": "{ src 10.0.0.0/16 }"});
        let op = replace_rule(&doc(), &fe, RuleKind::HttpRequest, 0, changed.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(apply(vec![op]), TEXT.replace("10.0.0.0/8", "10.0.0.0/16"));
        assert!(replace_rule(&doc(), &fe, RuleKind::HttpRequest, 1, changed.as_object().unwrap()).is_err(), "lossy lines are not rewritten");
        let op = insert_rule(&doc(), &fe, RuleKind::HttpRequest, 0, json!({"type": "allow"}).as_object().unwrap()).unwrap();
        assert_eq!(apply(vec![op]), TEXT.replace("    http-request deny", "    http-request allow\n    http-request deny"));
        assert!(matches!(rule(&doc(), &fe, RuleKind::Acl, 3), Err(Error::NotFound(_))));
    }

    #[test]
    fn binds_by_name() {
        let fe = parent("frontend", "www");
        assert_eq!(
            binds(&doc(), &fe).unwrap(),
            vec![json!({"name": "plain", "address": "", "port": 80}), json!({"name": ":443", "address": "", "port": 443, "ssl": true, "ssl_certificate": "/etc/site.pem", "alpn": "h2"})]
        );
        let read = bind(&doc(), &fe, ":443").unwrap();
        assert_eq!(replace_bind(&doc(), &fe, ":443", read.as_object().unwrap()).unwrap(), None);
        let mut body = read.as_object().unwrap().clone();
        body.insert("alpn".into(), json!("h2,http/1.1"));
        let op = replace_bind(&doc(), &fe, ":443", &body).unwrap().unwrap();
        assert_eq!(apply(vec![op]), TEXT.replace("alpn h2\n", "alpn h2,http/1.1\n"));
        let op = add_bind(&doc(), &fe, json!({"name": "alt", "address": "127.0.0.1", "port": 8080}).as_object().unwrap()).unwrap();
        assert_eq!(apply(vec![op]), TEXT.replace("alpn h2\n", "alpn h2\n    bind 127.0.0.1:8080 name alt\n"));
        let op = delete_bind(&doc(), &fe, "plain").unwrap();
        assert_eq!(apply(vec![op]), TEXT.replace("    bind :80 name plain   # clear\n", ""));
    }

    #[test]
    fn log_forward_binds_and_fcgi_app_acls() {
        let text = "log-forward lf\n    dgram-bind 127.0.0.1:1514\n    bind 127.0.0.1:1514   # tcp\n    log global\nfcgi-app php\n    docroot /var/www\n    acl is_php path_end .php\n";
        let d = haproxy_parse::parse(text).document;
        let run = |ops: Vec<EditOp>| {
            let mut d = d.clone();
            crate::ops::apply_ops(&mut d, &ops).unwrap();
            haproxy_render::lossless(&d)
        };
        let lf = parent("log-forward", "lf");
        assert_eq!(binds(&d, &lf).unwrap(), vec![json!({"name": "127.0.0.1:1514", "address": "127.0.0.1", "port": 1514})], "dgram-bind is not a bind");
        let body = json!({"name": "tls", "address": "127.0.0.2", "port": 6514, "ssl": true, "ssl_certificate": "/etc/log.pem", "ca_verify_file": "/certs/ca-verify.pem", "thread": "1/all"});
        let op = add_bind(&d, &lf, body.as_object().unwrap()).unwrap();
        let added = run(vec![op]);
        assert_eq!(added, text.replace("# tcp\n", "# tcp\n    bind 127.0.0.2:6514 ca-verify-file /certs/ca-verify.pem name tls ssl crt /etc/log.pem thread 1/all\n"));
        let read = bind(&haproxy_parse::parse(&added).document, &lf, "tls").unwrap();
        assert_eq!(read["ca_verify_file"], "/certs/ca-verify.pem");
        let php = parent("fcgi-app", "php");
        assert_eq!(rule(&d, &php, RuleKind::Acl, 0).unwrap(), json!({"acl_name": "is_php", "criterion": "path_end", "value": ".php"}));
        let op = insert_rule(&d, &php, RuleKind::Acl, 1, json!({"acl_name": "local_dst", "criterion": "hdr(host)", "value": "-i localhost"}).as_object().unwrap()).unwrap();
        assert_eq!(run(vec![op]), text.replace(".php\n", ".php\n    acl local_dst hdr(host) -i localhost\n"));
    }
}
