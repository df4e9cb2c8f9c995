//! The parameter words of `server` and `bind` lines as Data Plane API fields, both ways.
//!
//! ```text
//! read:  [(keyword, value?)] of the line --table--> {"check": "enabled", "inter": 2000, ...}
//! edit:  current [(keyword, value?)] + desired fields --table--> new [(keyword, value?)]
//!        a field whose value is unchanged keeps its words as written ("inter 2s" stays);
//!        a changed one is rewritten where it stood; a new one goes at the end;
//!        words no field maps (unknown to this table) stay where they are
//! ```
//!
//! Only fields of the table are read and written (see [`SERVER`], [`BIND`]): the README lists
//! them; a body naming another field with a value is refused ([`unknown_fields`]).

use serde_json::{Map, Value};

use super::value::{self, Conv, Read};
use crate::error::{Error, Result};

/// How a field is written on the line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `keyword <value>`.
    Value(Conv),
    /// `keyword` for `"enabled"`, `no-keyword` for `"disabled"` (`check` / `no-check`).
    Toggle,
    /// `keyword` for `"enabled"`; `"disabled"` writes nothing (`maintenance` is `disabled`).
    Flag,
    /// `keyword` for `true` (bind's `ssl`, `accept-proxy` ...).
    Bool,
}

/// One field: its name in the API, its keyword on the line, how it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) field: &'static str,
    pub(crate) keyword: &'static str,
    pub(crate) kind: Kind,
}

const fn f(field: &'static str, keyword: &'static str, kind: Kind) -> Field {
    Field { field, keyword, kind }
}

const INT: Kind = Kind::Value(Conv::Int);
const MS: Kind = Kind::Value(Conv::Millis);
const TEXT: Kind = Kind::Value(Conv::Text);

/// `server` parameters (client-native's `server_params`; configuration.txt §5.2).
pub(crate) const SERVER: &[Field] = &[
    f("agent-addr", "agent-addr", TEXT),
    f("agent-check", "agent-check", Kind::Toggle),
    f("agent-inter", "agent-inter", MS),
    f("agent-port", "agent-port", INT),
    f("agent-send", "agent-send", TEXT),
    f("alpn", "alpn", TEXT),
    f("backup", "backup", Kind::Toggle),
    f("check", "check", Kind::Toggle),
    f("check-send-proxy", "check-send-proxy", Kind::Flag),
    f("check-sni", "check-sni", TEXT),
    f("check-ssl", "check-ssl", Kind::Flag),
    f("check_alpn", "check-alpn", TEXT),
    f("check_proto", "check-proto", TEXT),
    f("ciphers", "ciphers", TEXT),
    f("ciphersuites", "ciphersuites", TEXT),
    f("cookie", "cookie", TEXT),
    f("crl_file", "crl-file", TEXT),
    f("downinter", "downinter", MS),
    f("error_limit", "error-limit", INT),
    f("fall", "fall", INT),
    f("fastinter", "fastinter", MS),
    f("health_check_address", "addr", TEXT),
    f("health_check_port", "port", INT),
    f("init-addr", "init-addr", TEXT),
    f("id", "id", INT),
    f("inter", "inter", MS),
    f("maintenance", "disabled", Kind::Flag),
    f("max_reuse", "max-reuse", INT),
    f("maxconn", "maxconn", INT),
    f("maxqueue", "maxqueue", INT),
    f("minconn", "minconn", INT),
    f("namespace", "namespace", TEXT),
    f("observe", "observe", TEXT),
    f("on-error", "on-error", TEXT),
    f("on-marked-down", "on-marked-down", TEXT),
    f("on-marked-up", "on-marked-up", TEXT),
    f("pool_low_conn", "pool-low-conn", INT),
    f("pool_max_conn", "pool-max-conn", INT),
    f("pool_purge_delay", "pool-purge-delay", MS),
    f("proto", "proto", TEXT),
    f("redir", "redir", TEXT),
    f("resolve-net", "resolve-net", TEXT),
    f("resolve-prefer", "resolve-prefer", TEXT),
    f("resolve_opts", "resolve-opts", TEXT),
    f("resolvers", "resolvers", TEXT),
    f("rise", "rise", INT),
    f("send-proxy", "send-proxy", Kind::Toggle),
    f("send-proxy-v2", "send-proxy-v2", Kind::Toggle),
    f("slowstart", "slowstart", MS),
    f("sni", "sni", TEXT),
    f("source", "source", TEXT),
    f("ssl", "ssl", Kind::Toggle),
    f("ssl_cafile", "ca-file", TEXT),
    f("ssl_certificate", "crt", TEXT),
    f("ssl_max_ver", "ssl-max-ver", TEXT),
    f("ssl_min_ver", "ssl-min-ver", TEXT),
    f("tfo", "tfo", Kind::Toggle),
    f("track", "track", TEXT),
    f("verify", "verify", TEXT),
    f("verifyhost", "verifyhost", TEXT),
    f("weight", "weight", INT),
    f("ws", "ws", TEXT),
];

/// `bind` parameters (client-native's `bind_params`; configuration.txt §5.1).
pub(crate) const BIND: &[Field] = &[
    f("accept_netscaler_cip", "accept-netscaler-cip", INT),
    f("accept_proxy", "accept-proxy", Kind::Bool),
    f("allow_0rtt", "allow-0rtt", Kind::Bool),
    f("alpn", "alpn", TEXT),
    f("backlog", "backlog", TEXT),
    f("ca_ignore_err", "ca-ignore-err", TEXT),
    f("ca_verify_file", "ca-verify-file", TEXT),
    f("ciphers", "ciphers", TEXT),
    f("ciphersuites", "ciphersuites", TEXT),
    f("crl_file", "crl-file", TEXT),
    f("crt_ignore_err", "crt-ignore-err", TEXT),
    f("crt_list", "crt-list", TEXT),
    f("curves", "curves", TEXT),
    f("defer_accept", "defer-accept", Kind::Bool),
    f("ecdhe", "ecdhe", TEXT),
    f("expose_fd_listeners", "expose-fd", Kind::Bool),
    f("generate_certificates", "generate-certificates", Kind::Bool),
    f("gid", "gid", TEXT),
    f("group", "group", TEXT),
    f("id", "id", TEXT),
    f("interface", "interface", TEXT),
    f("level", "level", TEXT),
    f("maxconn", "maxconn", INT),
    f("mode", "mode", TEXT),
    f("mss", "mss", TEXT),
    f("name", "name", TEXT),
    f("namespace", "namespace", TEXT),
    f("nice", "nice", INT),
    f("no_alpn", "no-alpn", Kind::Bool),
    f("no_ca_names", "no-ca-names", Kind::Bool),
    f("no_sslv3", "no-sslv3", Kind::Bool),
    f("no_tls_tickets", "no-tls-tickets", Kind::Bool),
    f("no_tlsv10", "no-tlsv10", Kind::Bool),
    f("no_tlsv11", "no-tlsv11", Kind::Bool),
    f("no_tlsv12", "no-tlsv12", Kind::Bool),
    f("no_tlsv13", "no-tlsv13", Kind::Bool),
    f("npn", "npn", TEXT),
    f("prefer_client_ciphers", "prefer-client-ciphers", Kind::Bool),
    f("proto", "proto", TEXT),
    f("severity_output", "severity-output", TEXT),
    f("ssl", "ssl", Kind::Bool),
    f("ssl_cafile", "ca-file", TEXT),
    f("ssl_certificate", "crt", TEXT),
    f("ssl_max_ver", "ssl-max-ver", TEXT),
    f("ssl_min_ver", "ssl-min-ver", TEXT),
    f("strict_sni", "strict-sni", Kind::Bool),
    f("tcp_user_timeout", "tcp-ut", MS),
    f("tfo", "tfo", Kind::Bool),
    f("thread", "thread", TEXT),
    f("tls_ticket_keys", "tls-ticket-keys", TEXT),
    f("transparent", "transparent", Kind::Bool),
    f("uid", "uid", TEXT),
    f("user", "user", TEXT),
    f("v4v6", "v4v6", Kind::Bool),
    f("v6only", "v6only", Kind::Bool),
    f("verify", "verify", TEXT),
];

/// One parameter as written: a keyword and the value word after it, if it takes one.
pub(crate) type Param = (String, Option<String>);

/// The `no-` form of a toggle's keyword.
fn negated(keyword: &str) -> String {
    format!("no-{keyword}")
}

/// What `field` is in `params` (the last occurrence wins, as in HAProxy).
fn read_field(field: &Field, params: &[Param]) -> Read {
    let no = negated(field.keyword);
    let last = params.iter().rev().find(|(k, _)| k == field.keyword || (matches!(field.kind, Kind::Toggle) && *k == no));
    match (field.kind, last) {
        (_, None) => Read::Absent,
        (Kind::Value(conv), Some((_, Some(word)))) => value::read(conv, word),
        (Kind::Value(_), Some((_, None))) => Read::Opaque,
        (Kind::Toggle, Some((k, _))) => Read::Value(value::toggle(k == field.keyword)),
        (Kind::Flag, Some(_)) => Read::Value(value::toggle(true)),
        (Kind::Bool, Some(_)) => Read::Value(Value::Bool(true)),
    }
}

/// The fields `params` hold, in table order.
pub(crate) fn read(table: &[Field], params: &[Param]) -> Map<String, Value> {
    table.iter().filter_map(|field| read_field(field, params).shown().map(|v| (field.field.to_string(), v))).collect()
}

/// The words `field` set to `desired` is written as (none: nothing written).
fn written(field: &Field, desired: &Value) -> Result<Option<Param>> {
    Ok(match field.kind {
        Kind::Value(conv) => Some((field.keyword.to_string(), Some(value::word(conv, field.field, desired)?))),
        Kind::Toggle => match value::toggle_of(field.field, desired)? {
            true => Some((field.keyword.to_string(), None)),
            false => Some((negated(field.keyword), None)),
        },
        Kind::Flag => value::toggle_of(field.field, desired)?.then(|| (field.keyword.to_string(), None)),
        Kind::Bool => match desired {
            Value::Bool(b) => b.then(|| (field.keyword.to_string(), None)),
            other => return Err(Error::invalid(format!("{}: expected a boolean, got {other}", field.field))),
        },
    })
}

/// `params` edited so that every field of `table` has its value in `desired` (a field left out
/// or null is removed): see the module docs for what stays as written.
pub(crate) fn edit(table: &[Field], params: &[Param], desired: &Map<String, Value>) -> Result<Vec<Param>> {
    let mut out: Vec<Param> = params.to_vec();
    for field in table {
        let want = desired.get(field.field).filter(|v| !v.is_null());
        if !read_field(field, &out).differs(want) {
            continue;
        }
        let new = match want {
            Some(v) => written(field, v)?,
            None => None,
        };
        let no = negated(field.keyword);
        let mine = |k: &str| k == field.keyword || (matches!(field.kind, Kind::Toggle) && k == no);
        let at = out.iter().position(|(k, _)| mine(k));
        out.retain(|(k, _)| !mine(k));
        if let Some(new) = new {
            match at {
                Some(at) => out.insert(at.min(out.len()), new),
                None => out.push(new),
            }
        }
    }
    Ok(out)
}

/// Parameters as words (`[("inter", Some("2s"))]` -> `["inter", "2s"]`).
pub(crate) fn words(params: &[Param]) -> Vec<String> {
    params.iter().flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.clone())).collect()
}

/// The API names of a table's fields.
pub(crate) fn names(table: &[Field]) -> impl Iterator<Item = &'static str> + '_ {
    table.iter().map(|f| f.field)
}

/// Refuses a body with a value in a field that `known` does not name: this surface would drop
/// it silently otherwise. Empty values (what generated clients send for unset fields) pass.
pub(crate) fn unknown_fields<'k>(body: &Map<String, Value>, known: impl IntoIterator<Item = &'k str>) -> Result<()> {
    let known: Vec<&str> = known.into_iter().collect();
    let unknown: Vec<&str> = body
        .iter()
        .filter(|(name, value)| !is_empty(value) && !known.contains(&name.as_str()))
        .map(|(name, _)| name.as_str())
        .collect();
    match unknown.is_empty() {
        true => Ok(()),
        false => Err(Error::invalid(format!("not supported by this Data Plane API surface: {}", unknown.join(", ")))),
    }
}

/// Null, `""`, `[]`, `{}` and `false`: what generated clients send for a field they leave unset.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(words: &[(&str, Option<&str>)]) -> Vec<Param> {
        words.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn reads_server_fields() {
        let p = params(&[("check", None), ("inter", Some("2s")), ("weight", Some("${W}")), ("no-backup", None), ("disabled", None)]);
        assert_eq!(Value::Object(read(SERVER, &p)), json!({"backup": "disabled", "check": "enabled", "inter": 2000, "maintenance": "enabled"}));
    }

    #[test]
    fn edits_touch_only_changed_fields() {
        let p = params(&[("check", None), ("inter", Some("2s")), ("weight", Some("${W}")), ("foo-unknown", None), ("rise", Some("2"))]);
        let same = edit(SERVER, &p, &map(json!({"check": "enabled", "inter": 2000, "rise": 2}))).unwrap();
        assert_eq!(same, p, "equal values keep their words, the opaque weight and the unknown word stay");
        let changed = edit(SERVER, &p, &map(json!({"check": "disabled", "inter": 3000, "maxconn": 10}))).unwrap();
        assert_eq!(words(&changed), ["no-check", "inter", "3000", "weight", "${W}", "foo-unknown", "maxconn", "10"]);
        assert!(edit(SERVER, &p, &map(json!({"check": "maybe"}))).is_err());
    }

    #[test]
    fn unknown_fields_with_values_are_refused() {
        let known = || names(SERVER).chain(["name"]);
        assert!(unknown_fields(&map(json!({"name": "a", "check": "enabled", "metadata": {}, "x": ""})), known()).is_ok());
        assert!(unknown_fields(&map(json!({"name": "a", "sslv3": "enabled"})), known()).is_err());
    }
}
