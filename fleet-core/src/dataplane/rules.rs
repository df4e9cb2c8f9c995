//! Rule lines as Data Plane API models: `http-request`, `http-response`, `tcp-request`,
//! `use_backend` and `acl`, each `{type, ...fields, cond?, cond_test?}` (client-native's
//! `http_request_rule` ...), both ways.
//!
//! ```text
//! http-request set-header X-Env prod if { src 10.0.0.0/8 }
//!   -> {"type": "set-header", "hdr_name": "X-Env", "hdr_format": "prod", "cond": "if", "cond_test": "{ src 10.0.0.0/8 }"}
//! ```
//!
//! A shape table says, per action, which words are positional fields and which are
//! `keyword value` pairs. A line with words no shape maps reads as far as it can and is
//! flagged [`Read::lossy`]: replacing it with other values is refused, since rewriting it
//! from the model would drop those words (an equal body changes nothing).

use serde_json::{Map, Value};

use super::value::{self, Conv};
use crate::error::{Error, Result};

/// Which rule lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `acl NAME CRITERION [VALUES...]` as `{acl_name, criterion, value}`.
    Acl,
    /// `use_backend NAME [cond]` as `{name, cond, cond_test}`.
    BackendSwitching,
    /// `http-request ACTION ...`.
    HttpRequest,
    /// `http-response ACTION ...`.
    HttpResponse,
    /// `tcp-request connection|session|content ACTION ...` and `tcp-request inspect-delay T`.
    TcpRequest,
}

impl RuleKind {
    /// The line keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RuleKind::Acl => "acl",
            RuleKind::BackendSwitching => "use_backend",
            RuleKind::HttpRequest => "http-request",
            RuleKind::HttpResponse => "http-response",
            RuleKind::TcpRequest => "tcp-request",
        }
    }
}

/// The words an action takes: positional fields first, then `keyword value` pairs.
struct Shape {
    action: &'static str,
    positional: &'static [(&'static str, Conv)],
    keyed: &'static [(&'static str, &'static str, Conv)],
}

const fn s(action: &'static str, positional: &'static [(&'static str, Conv)], keyed: &'static [(&'static str, &'static str, Conv)]) -> Shape {
    Shape { action, positional, keyed }
}

use Conv::{Int, Text};

/// `http-request` and `http-response` actions (configuration.txt §4.2 `http-request`).
const HTTP: &[Shape] = &[
    s("allow", &[], &[]),
    s("deny", &[], &[("deny_status", "deny_status", Int)]),
    s("tarpit", &[], &[("deny_status", "deny_status", Int)]),
    s("auth", &[], &[("realm", "auth_realm", Text)]),
    s("redirect", &[("redir_type", Text), ("redir_value", Text)], &[("code", "redir_code", Int)]),
    s("set-header", &[("hdr_name", Text), ("hdr_format", Text)], &[]),
    s("add-header", &[("hdr_name", Text), ("hdr_format", Text)], &[]),
    s("del-header", &[("hdr_name", Text)], &[("-m", "hdr_method", Text)]),
    s("replace-header", &[("hdr_name", Text), ("hdr_match", Text), ("hdr_format", Text)], &[]),
    s("replace-value", &[("hdr_name", Text), ("hdr_match", Text), ("hdr_format", Text)], &[]),
    s("set-path", &[("path_fmt", Text)], &[]),
    s("set-pathq", &[("path_fmt", Text)], &[]),
    s("set-query", &[("query-fmt", Text)], &[]),
    s("set-uri", &[("uri-fmt", Text)], &[]),
    s("set-method", &[("method_fmt", Text)], &[]),
    s("set-status", &[("status", Int)], &[("reason", "status_reason", Text)]),
    s("set-log-level", &[("log_level", Text)], &[]),
    s("set-src", &[("expr", Text)], &[]),
    s("set-dst", &[("expr", Text)], &[]),
    s("set-nice", &[("nice_value", Int)], &[]),
    s("use-service", &[("service_name", Text)], &[]),
    s("cache-use", &[("cache_name", Text)], &[]),
    s("cache-store", &[("cache_name", Text)], &[]),
    s("silent-drop", &[], &[]),
    s("reject", &[], &[]),
    s("wait-for-handshake", &[], &[]),
    s("disable-l7-retry", &[], &[]),
];

/// `tcp-request` actions after `connection|session|content`.
const TCP: &[Shape] = &[
    s("accept", &[], &[]),
    s("reject", &[], &[]),
    s("expect-proxy", &[], &[]),
    s("silent-drop", &[], &[]),
    s("set-src", &[("expr", Text)], &[]),
    s("set-dst", &[("expr", Text)], &[]),
    s("set-log-level", &[("log_level", Text)], &[]),
    s("use-service", &[("service_name", Text)], &[]),
];

/// A rule as read: its model, and whether the model holds every word of the line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Read {
    pub(crate) model: Map<String, Value>,
    pub(crate) lossy: bool,
}

/// Splits `words` at the first `if` / `unless`.
fn split_condition(words: &[String]) -> (&[String], Option<(&str, String)>) {
    match words.iter().position(|w| w == "if" || w == "unless") {
        Some(at) => (&words[..at], Some((words[at].as_str(), words[at + 1..].join(" ")))),
        None => (words, None),
    }
}

fn put_condition(model: &mut Map<String, Value>, condition: Option<(&str, String)>) {
    if let Some((cond, test)) = condition {
        model.insert("cond".into(), Value::from(cond));
        model.insert("cond_test".into(), Value::from(test));
    }
}

/// Reads an action's words against its shape into `model`; false when words remain unmapped.
fn read_shape(shape: &Shape, args: &[String], model: &mut Map<String, Value>) -> bool {
    let mut rest = args.iter();
    for (field, conv) in shape.positional {
        match rest.next() {
            Some(word) => match value::read(*conv, word) {
                super::value::Read::Value(v) => {
                    model.insert(field.to_string(), v);
                }
                _ => return false,
            },
            None => return true,
        }
    }
    while let Some(word) = rest.next() {
        let Some((_, field, conv)) = shape.keyed.iter().find(|(k, _, _)| k == word) else { return false };
        match rest.next().map(|w| value::read(*conv, w)) {
            Some(super::value::Read::Value(v)) => {
                model.insert(field.to_string(), v);
            }
            _ => return false,
        }
    }
    true
}

/// Reads an action (`set-var(txn.x)`, `track-sc0` included) and its arguments.
fn read_action(shapes: &[Shape], action: &str, args: &[String], model: &mut Map<String, Value>) -> bool {
    if let Some(inner) = action.strip_prefix("set-var(").or_else(|| action.strip_prefix("unset-var(")).and_then(|a| a.strip_suffix(')')) {
        let ty = if action.starts_with("set-var(") { "set-var" } else { "unset-var" };
        model.insert("type".into(), Value::from(ty));
        let (scope, name) = inner.split_once('.').unwrap_or(("", inner));
        model.insert("var_scope".into(), Value::from(scope));
        model.insert("var_name".into(), Value::from(name));
        if ty == "set-var" {
            model.insert("var_expr".into(), Value::from(args.join(" ")));
            return !args.is_empty();
        }
        return args.is_empty();
    }
    if let Some(counter) = action.strip_prefix("track-sc").and_then(|n| n.parse::<i64>().ok()) {
        // `track-scN KEY [table T]`: http-request names the fields track_sc_*, tcp-request track_*.
        let prefix = if std::ptr::eq(shapes, HTTP) { "track_sc_" } else { "track_" };
        model.insert("type".into(), Value::from("track-sc"));
        model.insert(format!("{prefix}stick_counter"), Value::from(counter));
        let Some((key, rest)) = args.split_first() else { return false };
        model.insert(format!("{prefix}key"), Value::from(key.as_str()));
        return match rest {
            [] => true,
            [table, name] if table == "table" => {
                model.insert(format!("{prefix}table"), Value::from(name.as_str()));
                true
            }
            _ => false,
        };
    }
    model.insert("type".into(), Value::from(action));
    match shapes.iter().find(|s| s.action == action) {
        Some(shape) => read_shape(shape, args, model),
        None => args.is_empty(),
    }
}

/// The model of a rule line (`values`: the line's words, keyword first).
pub(crate) fn read(kind: RuleKind, values: &[String]) -> Read {
    let mut model = Map::new();
    let words = values.get(1..).unwrap_or_default();
    let lossy = match kind {
        RuleKind::Acl => {
            model.insert("acl_name".into(), Value::from(words.first().cloned().unwrap_or_default()));
            model.insert("criterion".into(), Value::from(words.get(1).cloned().unwrap_or_default()));
            if words.len() > 2 {
                model.insert("value".into(), Value::from(words[2..].join(" ")));
            }
            words.len() < 2
        }
        RuleKind::BackendSwitching => {
            let (args, condition) = split_condition(words);
            model.insert("name".into(), Value::from(args.first().cloned().unwrap_or_default()));
            put_condition(&mut model, condition);
            args.len() != 1
        }
        RuleKind::HttpRequest | RuleKind::HttpResponse => {
            let (args, condition) = split_condition(words);
            let complete = match args.split_first() {
                Some((action, args)) => read_action(HTTP, action, args, &mut model),
                None => false,
            };
            put_condition(&mut model, condition);
            !complete
        }
        RuleKind::TcpRequest => {
            let (args, condition) = split_condition(words);
            let complete = match args {
                [ty, delay] if ty == "inspect-delay" => {
                    model.insert("type".into(), Value::from("inspect-delay"));
                    match value::read(Conv::Millis, delay) {
                        super::value::Read::Value(v) => {
                            model.insert("timeout".into(), v);
                            true
                        }
                        _ => false,
                    }
                }
                [ty, action, rest @ ..] => {
                    model.insert("type".into(), Value::from(ty.as_str()));
                    let mut inner = Map::new();
                    let complete = read_action(TCP, action, rest, &mut inner);
                    if let Some(action) = inner.remove("type") {
                        model.insert("action".into(), action);
                    }
                    model.extend(inner);
                    complete
                }
                _ => false,
            };
            put_condition(&mut model, condition);
            !complete
        }
    };
    Read { model, lossy }
}

fn text(body: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => value::word(Conv::Text, field, v).map(Some),
    }
}

fn required(body: &Map<String, Value>, field: &str) -> Result<String> {
    text(body, field)?.ok_or_else(|| Error::invalid(format!("{field} is required")))
}

/// Several words from one text field (`value`, `cond_test`, `var_expr`).
fn split(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn condition(body: &Map<String, Value>, out: &mut Vec<String>) -> Result<()> {
    match (text(body, "cond")?, text(body, "cond_test")?) {
        (Some(cond), Some(test)) if cond == "if" || cond == "unless" => {
            out.push(cond);
            out.extend(split(&test));
            Ok(())
        }
        (Some(cond), _) if cond != "if" && cond != "unless" => Err(Error::invalid(format!("cond: expected if or unless, got {cond}"))),
        (Some(_), None) => Err(Error::invalid("cond_test is required with cond")),
        _ => Ok(()),
    }
}

fn write_action(shapes: &[Shape], body: &Map<String, Value>, field: &str, out: &mut Vec<String>) -> Result<()> {
    let action = required(body, field)?;
    if action == "set-var" || action == "unset-var" {
        out.push(format!("{action}({}.{})", required(body, "var_scope")?, required(body, "var_name")?));
        if action == "set-var" {
            out.extend(split(&required(body, "var_expr")?));
        }
        return Ok(());
    }
    if action == "track-sc" {
        let prefix = if std::ptr::eq(shapes, HTTP) { "track_sc_" } else { "track_" };
        let counter = body.get(&format!("{prefix}stick_counter")).filter(|v| !v.is_null()).ok_or_else(|| Error::invalid(format!("{prefix}stick_counter is required with track-sc")))?;
        out.push(format!("track-sc{}", value::word(Conv::Int, "stick_counter", counter)?));
        out.push(required(body, &format!("{prefix}key"))?);
        if let Some(table) = text(body, &format!("{prefix}table"))? {
            out.extend(["table".to_string(), table]);
        }
        return Ok(());
    }
    let shape = shapes.iter().find(|s| s.action == action).ok_or_else(|| Error::invalid(format!("{field} {action} is not supported by this surface")))?;
    out.push(action);
    for (field, conv) in shape.positional {
        match body.get(*field).filter(|v| !v.is_null()) {
            Some(v) => out.push(value::word(*conv, field, v)?),
            None => return Err(Error::invalid(format!("{field} is required with {}", shape.action))),
        }
    }
    for (keyword, field, conv) in shape.keyed {
        if let Some(v) = body.get(*field).filter(|v| !v.is_null()) {
            out.extend([keyword.to_string(), value::word(*conv, field, v)?]);
        }
    }
    Ok(())
}

/// The line's words (keyword first) for `body`.
pub(crate) fn words(kind: RuleKind, body: &Map<String, Value>) -> Result<Vec<String>> {
    let mut out = vec![kind.keyword().to_string()];
    match kind {
        RuleKind::Acl => {
            out.push(required(body, "acl_name")?);
            out.push(required(body, "criterion")?);
            if let Some(v) = text(body, "value")? {
                out.extend(split(&v));
            }
        }
        RuleKind::BackendSwitching => {
            out.push(required(body, "name")?);
            condition(body, &mut out)?;
        }
        RuleKind::HttpRequest | RuleKind::HttpResponse => {
            write_action(HTTP, body, "type", &mut out)?;
            condition(body, &mut out)?;
        }
        RuleKind::TcpRequest => {
            let ty = required(body, "type")?;
            out.push(ty.clone());
            if ty == "inspect-delay" {
                let timeout = body.get("timeout").ok_or_else(|| Error::invalid("timeout is required with inspect-delay"))?;
                out.push(value::word(Conv::Millis, "timeout", timeout)?);
            } else {
                write_action(TCP, body, "action", &mut out)?;
            }
            condition(body, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn w(text: &str) -> Vec<String> {
        split(text)
    }

    #[test]
    fn rules_both_ways() {
        let cases = [
            (RuleKind::HttpRequest, "http-request set-header X-Env prod if { src 10.0.0.0/8 }", json!({"type": "set-header", "hdr_name": "X-Env", "hdr_format": "prod", "cond": "if", "cond_test": "{ src 10.0.0.0/8 }"})),
            (RuleKind::HttpRequest, "http-request deny deny_status 403 unless ok", json!({"type": "deny", "deny_status": 403, "cond": "unless", "cond_test": "ok"})),
            (RuleKind::HttpRequest, "http-request redirect scheme https code 301 if !{ ssl_fc }", json!({"type": "redirect", "redir_type": "scheme", "redir_value": "https", "redir_code": 301, "cond": "if", "cond_test": "!{ ssl_fc }"})),
            (RuleKind::HttpRequest, "http-request set-var(txn.host) req.hdr(host)", json!({"type": "set-var", "var_scope": "txn", "var_name": "host", "var_expr": "req.hdr(host)"})),
            (RuleKind::TcpRequest, "tcp-request inspect-delay 5000", json!({"type": "inspect-delay", "timeout": 5000})),
            (RuleKind::TcpRequest, "tcp-request content accept if { req_ssl_hello_type 1 }", json!({"type": "content", "action": "accept", "cond": "if", "cond_test": "{ req_ssl_hello_type 1 }"})),
            (RuleKind::BackendSwitching, "use_backend api if is_api", json!({"name": "api", "cond": "if", "cond_test": "is_api"})),
            (RuleKind::Acl, "acl is_api path_beg /api /v2", json!({"acl_name": "is_api", "criterion": "path_beg", "value": "/api /v2"})),
        ];
        for (kind, line, model) in cases {
            let read = read(kind, &w(line));
            assert_eq!((Value::Object(read.model.clone()), read.lossy), (model, false), "{line}");
            assert_eq!(words(kind, &read.model).unwrap(), w(line), "{line}");
        }
        let track = read(RuleKind::HttpRequest, &w("http-request track-sc1 src table t if TRUE"));
        assert_eq!(Value::Object(track.model.clone()), json!({"type": "track-sc", "track_sc_stick_counter": 1, "track_sc_key": "src", "track_sc_table": "t", "cond": "if", "cond_test": "TRUE"}));
        assert_eq!(words(RuleKind::HttpRequest, &track.model).unwrap(), w("http-request track-sc1 src table t if TRUE"));
        let tcp = read(RuleKind::TcpRequest, &w("tcp-request content track-sc0 src"));
        assert_eq!(Value::Object(tcp.model.clone()), json!({"type": "content", "action": "track-sc", "track_stick_counter": 0, "track_key": "src"}));
        assert_eq!(words(RuleKind::TcpRequest, &tcp.model).unwrap(), w("tcp-request content track-sc0 src"));
        assert!(words(RuleKind::HttpRequest, json!({"type": "track-sc", "track_sc_key": "src"}).as_object().unwrap()).is_err(), "the counter is required");
        let lossy = read(RuleKind::HttpRequest, &w("http-request return status 200 content-type text/plain string ok"));
        assert!(lossy.lossy);
        assert!(words(RuleKind::HttpRequest, json!({"type": "frobnicate"}).as_object().unwrap()).is_err());
    }
}
