//! Section directives as Data Plane API fields (backend, frontend and defaults models), both
//! ways, and the edit ops that make a section what a body describes.
//!
//! ```text
//! read:  section lines --table--> {"mode": "http", "connect_timeout": 5000, "balance": {...}}
//! plan:  for each field of the table, on a working copy of the document:
//!          unchanged (as the API compares it)   -> nothing, the line stays as written
//!          changed                              -> set_directive (in place when its line exists)
//!          left out or null, line present       -> delete_directive
//!        every op is applied to the copy at once, so the next field reads the edited section
//! ```
//!
//! Lines no field maps (`http-request`, `acl`, `server` ... and directives outside the table)
//! are not touched by a replace: they are other resources, or outside this surface.

use haproxy_model::{Document, Line, Section, SectionKind};
use serde_json::{Map, Value};

use super::value::{self, Conv, Read};
use crate::error::{Error, Result};
use crate::ops::{apply_ops, EditOp, SectionRef};

/// How a field is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `<prefix> <value>` (`timeout connect 5s`, `retries 3`).
    Value(&'static [&'static str], Conv),
    /// `<prefix> <words...>`, the words joined by spaces (`description ...`).
    Rest(&'static [&'static str]),
    /// `option X` for `"enabled"`, `no option X` for `"disabled"`.
    Toggle(&'static str),
    /// `option X` for `true`.
    OptionBool(&'static str),
    /// A bare directive for `true` (`disabled`).
    Bare(&'static str),
    /// One of several `option` lines, by name (`http_connection_mode`, `adv_check`).
    Choice(&'static [&'static str]),
    /// `balance ALGORITHM [ARG]` as `{algorithm, url_param?, hdr_name?}`.
    Balance,
    /// `option forwardfor [except N] [header H] [if-none]` as `{enabled, except?, header?, ifnone?}`.
    Forwardfor,
    /// `option httpchk [[METHOD] URI [VERSION]]` as `{method?, uri?, version?}`.
    Httpchk,
    /// `option redispatch [N]` / `no option redispatch` as `{enabled, interval?}`.
    Redispatch,
    /// `maxconn N` as `{maxconn}` (global's `performance_options`).
    Performance,
    /// `stats socket ADDRESS [level L] [mode M]` lines as `[{address, level?, mode?}]`.
    RuntimeApis,
}

/// One field of a section model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) field: &'static str,
    pub(crate) kind: Kind,
}

const fn f(field: &'static str, kind: Kind) -> Field {
    Field { field, kind }
}

const fn timeout(field: &'static str, prefix: &'static [&'static str]) -> Field {
    Field { field, kind: Kind::Value(prefix, Conv::Millis) }
}

const CHECKS: &[&str] = &["httpchk", "ldap-check", "mysql-check", "pgsql-check", "redis-check", "smtpchk", "ssl-hello-chk", "tcp-check"];
const CONNECTION_MODES: &[&str] = &["httpclose", "http-server-close", "http-keep-alive"];

/// Fields of both sides (client-native's `backend_base` and `frontend_base` share them).
const COMMON: &[Field] = &[
    f("mode", Kind::Value(&["mode"], Conv::Text)),
    f("description", Kind::Rest(&["description"])),
    f("disabled", Kind::Bare("disabled")),
    f("enabled", Kind::Bare("enabled")),
    f("id", Kind::Value(&["id"], Conv::Int)),
    f("log_tag", Kind::Value(&["log-tag"], Conv::Text)),
    f("http_connection_mode", Kind::Choice(CONNECTION_MODES)),
    f("forwardfor", Kind::Forwardfor),
    f("abortonclose", Kind::Toggle("abortonclose")),
    f("http-buffer-request", Kind::Toggle("http-buffer-request")),
    f("independent_streams", Kind::Toggle("independent-streams")),
    f("nolinger", Kind::Toggle("nolinger")),
    f("splice_auto", Kind::Toggle("splice-auto")),
    f("splice_request", Kind::Toggle("splice-request")),
    f("splice_response", Kind::Toggle("splice-response")),
    f("tcpka", Kind::Toggle("tcpka")),
    timeout("http_request_timeout", &["timeout", "http-request"]),
    timeout("http_keep_alive_timeout", &["timeout", "http-keep-alive"]),
    timeout("tarpit_timeout", &["timeout", "tarpit"]),
];

/// Backend-only fields.
const BACKEND_ONLY: &[Field] = &[
    f("balance", Kind::Balance),
    f("adv_check", Kind::Choice(CHECKS)),
    f("httpchk_params", Kind::Httpchk),
    f("redispatch", Kind::Redispatch),
    f("retries", Kind::Value(&["retries"], Conv::Int)),
    f("fullconn", Kind::Value(&["fullconn"], Conv::Int)),
    f("http_reuse", Kind::Value(&["http-reuse"], Conv::Text)),
    f("allbackups", Kind::Toggle("allbackups")),
    f("checkcache", Kind::Toggle("checkcache")),
    f("log_health_checks", Kind::Toggle("log-health-checks")),
    f("persist", Kind::Toggle("persist")),
    f("prefer_last_server", Kind::Toggle("prefer-last-server")),
    f("srvtcpka", Kind::Toggle("srvtcpka")),
    f("transparent", Kind::Toggle("transparent")),
    f("external_check", Kind::Toggle("external-check")),
    timeout("connect_timeout", &["timeout", "connect"]),
    timeout("server_timeout", &["timeout", "server"]),
    timeout("server_fin_timeout", &["timeout", "server-fin"]),
    timeout("check_timeout", &["timeout", "check"]),
    timeout("queue_timeout", &["timeout", "queue"]),
    timeout("tunnel_timeout", &["timeout", "tunnel"]),
];

/// Frontend-only fields.
const FRONTEND_ONLY: &[Field] = &[
    f("default_backend", Kind::Value(&["default_backend"], Conv::Text)),
    f("maxconn", Kind::Value(&["maxconn"], Conv::Int)),
    f("backlog", Kind::Value(&["backlog"], Conv::Int)),
    f("httplog", Kind::OptionBool("httplog")),
    f("httpslog", Kind::OptionBool("httpslog")),
    f("tcplog", Kind::OptionBool("tcplog")),
    f("clflog", Kind::OptionBool("clf")),
    f("log_format", Kind::Rest(&["log-format"])),
    f("unique_id_format", Kind::Rest(&["unique-id-format"])),
    f("unique_id_header", Kind::Value(&["unique-id-header"], Conv::Text)),
    f("monitor_uri", Kind::Value(&["monitor-uri"], Conv::Text)),
    f("clitcpka", Kind::Toggle("clitcpka")),
    f("contstats", Kind::Toggle("contstats")),
    f("dontlog_normal", Kind::Toggle("dontlog-normal")),
    f("dontlognull", Kind::Toggle("dontlognull")),
    f("http_ignore_probes", Kind::Toggle("http-ignore-probes")),
    f("http_no_delay", Kind::Toggle("http-no-delay")),
    f("http_use_proxy_header", Kind::Toggle("http-use-proxy-header")),
    f("idle_close_on_response", Kind::Toggle("idle-close-on-response")),
    f("log_separate_errors", Kind::Toggle("log-separate-errors")),
    f("logasap", Kind::Toggle("logasap")),
    f("socket_stats", Kind::Toggle("socket-stats")),
    f("tcp_smart_accept", Kind::Toggle("tcp-smart-accept")),
    timeout("client_timeout", &["timeout", "client"]),
    timeout("client_fin_timeout", &["timeout", "client-fin"]),
];

/// `global` fields (client-native's `global_base`, the top-level ones).
const GLOBAL: &[Field] = &[
    f("chroot", Kind::Value(&["chroot"], Conv::Text)),
    f("daemon", Kind::Bare("daemon")),
    f("master-worker", Kind::Bare("master-worker")),
    f("description", Kind::Rest(&["description"])),
    f("gid", Kind::Value(&["gid"], Conv::Int)),
    f("group", Kind::Value(&["group"], Conv::Text)),
    f("grace", Kind::Value(&["grace"], Conv::Millis)),
    f("hard_stop_after", Kind::Value(&["hard-stop-after"], Conv::Millis)),
    f("localpeer", Kind::Value(&["localpeer"], Conv::Text)),
    f("nbthread", Kind::Value(&["nbthread"], Conv::Int)),
    f("performance_options", Kind::Performance),
    f("runtime_apis", Kind::RuntimeApis),
    f("node", Kind::Value(&["node"], Conv::Text)),
    f("pidfile", Kind::Value(&["pidfile"], Conv::Text)),
    f("stats_maxconn", Kind::Value(&["stats", "maxconn"], Conv::Int)),
    f("stats_timeout", Kind::Value(&["stats", "timeout"], Conv::Millis)),
    f("strict_limits", Kind::Bare("strict-limits")),
    f("uid", Kind::Value(&["uid"], Conv::Int)),
    f("ulimit_n", Kind::Value(&["ulimit-n"], Conv::Int)),
    f("user", Kind::Value(&["user"], Conv::Text)),
];

/// `resolvers` fields (client-native's `resolvers_base`).
const RESOLVERS: &[Field] = &[
    f("accepted_payload_size", Kind::Value(&["accepted_payload_size"], Conv::Int)),
    f("hold_nx", Kind::Value(&["hold", "nx"], Conv::Millis)),
    f("hold_obsolete", Kind::Value(&["hold", "obsolete"], Conv::Millis)),
    f("hold_other", Kind::Value(&["hold", "other"], Conv::Millis)),
    f("hold_refused", Kind::Value(&["hold", "refused"], Conv::Millis)),
    f("hold_timeout", Kind::Value(&["hold", "timeout"], Conv::Millis)),
    f("hold_valid", Kind::Value(&["hold", "valid"], Conv::Millis)),
    f("parse-resolv-conf", Kind::Bare("parse-resolv-conf")),
    f("resolve_retries", Kind::Value(&["resolve_retries"], Conv::Int)),
    f("timeout_resolve", Kind::Value(&["timeout", "resolve"], Conv::Millis)),
    f("timeout_retry", Kind::Value(&["timeout", "retry"], Conv::Millis)),
];

/// `peers` and `userlist` sections: only their names are mapped.
const NAME_ONLY: &[Field] = &[];

/// Which model a section is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// `backend`.
    Backend,
    /// `frontend`.
    Frontend,
    /// `defaults` (both sides' fields).
    Defaults,
    /// `global`.
    Global,
    /// `resolvers`.
    Resolvers,
    /// `peers` (names only).
    Peers,
    /// `userlist` (names only).
    Userlist,
}

impl Model {
    /// The section kind it reads.
    pub fn kind(self) -> SectionKind {
        match self {
            Model::Backend => SectionKind::Backend,
            Model::Frontend => SectionKind::Frontend,
            Model::Defaults => SectionKind::Defaults,
            Model::Global => SectionKind::Global,
            Model::Resolvers => SectionKind::Resolvers,
            Model::Peers => SectionKind::Peers,
            Model::Userlist => SectionKind::Userlist,
        }
    }

    /// Its fields, in the order a new section's lines are written.
    pub(crate) fn fields(self) -> Vec<Field> {
        let sides: &[&[Field]] = match self {
            Model::Backend => &[COMMON, BACKEND_ONLY],
            Model::Frontend => &[COMMON, FRONTEND_ONLY],
            Model::Defaults => &[COMMON, BACKEND_ONLY, FRONTEND_ONLY],
            Model::Global => &[GLOBAL],
            Model::Resolvers => &[RESOLVERS],
            Model::Peers | Model::Userlist => &[NAME_ONLY],
        };
        sides.iter().flat_map(|s| s.iter().copied()).collect()
    }
}

/// The lines of `section` whose values start with `prefix`.
fn lines<'s>(section: &'s Section, prefix: &'s [&'s str]) -> impl Iterator<Item = &'s Line> + 's {
    section.statements(prefix[0]).map(|(_, l)| l).filter(move |l| prefix.iter().enumerate().all(|(i, p)| l.value(i).as_deref() == Some(*p)))
}

fn last<'s>(section: &'s Section, prefix: &'s [&'s str]) -> Option<&'s Line> {
    lines(section, prefix).last()
}

/// The values of `line` from word `from` on.
fn rest(line: &Line, from: usize) -> Vec<String> {
    line.values().into_iter().skip(from).map(|v| v.into_owned()).collect()
}

/// Whether `option name` (true) or `no option name` (false) is in force: the last one wins.
fn option_state(section: &Section, name: &str) -> Option<(bool, Vec<String>)> {
    section
        .lines()
        .iter()
        .rev()
        .find_map(|l| match (l.value(0).as_deref(), l.value(1).as_deref(), l.value(2).as_deref()) {
            (Some("option"), Some(n), _) if n == name => Some((true, rest(l, 2))),
            (Some("no"), Some("option"), Some(n)) if n == name => Some((false, rest(l, 3))),
            _ => None,
        })
}

fn read_field(section: &Section, kind: Kind) -> Read {
    match kind {
        Kind::Value(prefix, conv) => match last(section, prefix).map(|l| l.value(prefix.len()).map(|v| v.into_owned())) {
            None => Read::Absent,
            Some(None) => Read::Opaque,
            Some(Some(word)) => value::read(conv, &word),
        },
        Kind::Rest(prefix) => match last(section, prefix) {
            None => Read::Absent,
            Some(l) => Read::Value(Value::from(rest(l, prefix.len()).join(" "))),
        },
        Kind::Toggle(name) => option_state(section, name).map_or(Read::Absent, |(on, _)| Read::Value(value::toggle(on))),
        Kind::OptionBool(name) => match option_state(section, name) {
            Some((true, _)) => Read::Value(Value::Bool(true)),
            Some((false, _)) => Read::Opaque,
            None => Read::Absent,
        },
        Kind::Bare(keyword) => match section.statement(keyword) {
            Some(_) => Read::Value(Value::Bool(true)),
            None => Read::Absent,
        },
        Kind::Choice(names) => {
            let on = section.lines().iter().rev().find_map(|l| match (l.value(0).as_deref(), l.value(1)) {
                (Some("option"), Some(n)) if names.contains(&n.as_ref()) => Some(n.into_owned()),
                _ => None,
            });
            on.map_or(Read::Absent, |n| Read::Value(Value::from(n)))
        }
        Kind::Balance => match last(section, &["balance"]) {
            None => Read::Absent,
            Some(l) => {
                let words = rest(l, 1);
                let mut out = Map::new();
                match words.first().map(String::as_str) {
                    Some(alg) if alg.starts_with("hdr(") && alg.ends_with(')') => {
                        out.insert("algorithm".into(), Value::from("hdr"));
                        out.insert("hdr_name".into(), Value::from(&alg[4..alg.len() - 1]));
                    }
                    Some("url_param") => {
                        out.insert("algorithm".into(), Value::from("url_param"));
                        if let Some(p) = words.get(1) {
                            out.insert("url_param".into(), Value::from(p.as_str()));
                        }
                    }
                    Some(alg) => {
                        out.insert("algorithm".into(), Value::from(alg));
                    }
                    None => return Read::Opaque,
                }
                Read::Value(Value::Object(out))
            }
        },
        Kind::Forwardfor => match option_state(section, "forwardfor") {
            None => Read::Absent,
            Some((false, _)) => Read::Opaque,
            Some((true, args)) => {
                let mut out = Map::new();
                out.insert("enabled".into(), Value::from("enabled"));
                let mut i = 0;
                while i < args.len() {
                    match args[i].as_str() {
                        "except" | "header" if i + 1 < args.len() => {
                            out.insert(args[i].clone(), Value::from(args[i + 1].as_str()));
                            i += 2;
                        }
                        "if-none" => {
                            out.insert("ifnone".into(), Value::Bool(true));
                            i += 1;
                        }
                        _ => return Read::Opaque,
                    }
                }
                Read::Value(Value::Object(out))
            }
        },
        Kind::Httpchk => match option_state(section, "httpchk") {
            Some((true, args)) if !args.is_empty() => {
                let mut out = Map::new();
                match args.len() {
                    1 => {
                        out.insert("uri".into(), Value::from(args[0].as_str()));
                    }
                    _ => {
                        out.insert("method".into(), Value::from(args[0].as_str()));
                        out.insert("uri".into(), Value::from(args[1].as_str()));
                        if args.len() > 2 {
                            out.insert("version".into(), Value::from(args[2..].join(" ")));
                        }
                    }
                }
                Read::Value(Value::Object(out))
            }
            _ => Read::Absent,
        },
        Kind::Performance => match last(section, &["maxconn"]).and_then(|l| l.value(1)) {
            None => Read::Absent,
            Some(word) => match value::read(Conv::Int, &word) {
                Read::Value(v) => Read::Value(serde_json::json!({"maxconn": v})),
                other => other,
            },
        },
        Kind::RuntimeApis => {
            let sockets: Vec<Value> = lines(section, &["stats", "socket"]).map(|l| runtime_api(&rest(l, 2))).collect();
            match sockets.iter().any(Value::is_null) {
                true => Read::Opaque,
                false if sockets.is_empty() => Read::Absent,
                false => Read::Value(Value::Array(sockets)),
            }
        }
        Kind::Redispatch => match option_state(section, "redispatch") {
            None => Read::Absent,
            Some((on, args)) => {
                let mut out = Map::new();
                out.insert("enabled".into(), value::toggle(on));
                if let Some(n) = args.first() {
                    match n.parse::<i64>() {
                        Ok(n) => out.insert("interval".into(), Value::from(n)),
                        Err(_) => return Read::Opaque,
                    };
                }
                Read::Value(Value::Object(out))
            }
        },
    }
}

/// `stats socket` words after `socket` as `{address, level?, mode?}`; null for other words.
fn runtime_api(words: &[String]) -> Value {
    let Some((address, mut rest)) = words.split_first() else { return Value::Null };
    let mut out = Map::new();
    out.insert("address".into(), Value::from(address.as_str()));
    while let [key, value, tail @ ..] = rest {
        match key.as_str() {
            "level" | "mode" => out.insert(key.clone(), Value::from(value.as_str())),
            _ => return Value::Null,
        };
        rest = tail;
    }
    match rest.is_empty() {
        true => Value::Object(out),
        false => Value::Null,
    }
}

/// The fields of `section` as `model` shows them (not `name` and `from`: the caller's).
pub(crate) fn read(model: Model, section: &Section) -> Map<String, Value> {
    model.fields().iter().filter_map(|f| read_field(section, f.kind).shown().map(|v| (f.field.to_string(), v))).collect()
}

fn text(field: &str, value: &Value, key: &str) -> Result<Option<String>> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => value::word(Conv::Text, &format!("{field}.{key}"), v).map(Some),
    }
}

fn object<'v>(field: &str, value: &'v Value) -> Result<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| Error::invalid(format!("{field}: expected an object, got {value}")))
}

/// The words (keyword first) of the line `field` set to `value` is written as; none when that
/// value writes no line (a `false` flag).
fn written(field: &Field, value: &Value) -> Result<Option<Vec<String>>> {
    let name = field.field;
    let words = |w: &[&str]| Some(w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    Ok(match field.kind {
        Kind::Value(prefix, conv) => {
            let mut out: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
            out.push(value::word(conv, name, value)?);
            Some(out)
        }
        Kind::Rest(prefix) => {
            let mut out: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
            out.push(value::word(Conv::Text, name, value)?);
            Some(out)
        }
        Kind::Toggle(option) => match value::toggle_of(name, value)? {
            true => words(&["option", option]),
            false => words(&["no", "option", option]),
        },
        Kind::OptionBool(option) | Kind::Bare(option) => {
            let on = value.as_bool().ok_or_else(|| Error::invalid(format!("{name}: expected a boolean, got {value}")))?;
            match (on, field.kind) {
                (false, _) => None,
                (true, Kind::Bare(_)) => words(&[option]),
                (true, _) => words(&["option", option]),
            }
        }
        Kind::Choice(names) => {
            let choice = value.as_str().filter(|c| names.contains(c)).ok_or_else(|| Error::invalid(format!("{name}: expected one of {}, got {value}", names.join(", "))))?;
            words(&["option", choice])
        }
        Kind::Balance => {
            object(name, value)?;
            let algorithm = text(name, value, "algorithm")?.ok_or_else(|| Error::invalid("balance.algorithm is required"))?;
            let mut out = vec!["balance".to_string()];
            match algorithm.as_str() {
                "hdr" => out.push(format!("hdr({})", text(name, value, "hdr_name")?.ok_or_else(|| Error::invalid("balance.hdr_name is required with hdr"))?)),
                "url_param" => {
                    out.push(algorithm);
                    out.extend(text(name, value, "url_param")?);
                }
                _ => out.push(algorithm),
            }
            Some(out)
        }
        Kind::Forwardfor => {
            let o = object(name, value)?;
            if o.get("enabled").and_then(Value::as_str) != Some("enabled") {
                return Err(Error::invalid("forwardfor.enabled must be \"enabled\""));
            }
            let mut out = vec!["option".to_string(), "forwardfor".to_string()];
            for key in ["except", "header"] {
                if let Some(v) = text(name, value, key)? {
                    out.extend([key.to_string(), v]);
                }
            }
            if o.get("ifnone").and_then(Value::as_bool) == Some(true) {
                out.push("if-none".into());
            }
            Some(out)
        }
        Kind::Httpchk => {
            // `host` (upstream's, for HAProxy 2.2+'s `http-check send hdr host`) has no place on
            // 2.6's `option httpchk` line: refused rather than dropped.
            if let Some((other, _)) = object(name, value)?.iter().find(|(k, v)| !["method", "uri", "version"].contains(&k.as_str()) && !v.is_null() && v.as_str() != Some("")) {
                return Err(Error::invalid(format!("{name}.{other} is not supported by this surface (option httpchk takes a method, a uri and a version)")));
            }
            let mut out = vec!["option".to_string(), "httpchk".to_string()];
            let uri = text(name, value, "uri")?;
            match (text(name, value, "method")?, uri) {
                (Some(method), Some(uri)) => out.extend([method, uri]),
                (None, Some(uri)) => out.push(uri),
                (_, None) => return Err(Error::invalid("httpchk_params.uri is required")),
            }
            out.extend(text(name, value, "version")?);
            Some(out)
        }
        Kind::Performance => {
            let o = object(name, value)?;
            match o.get("maxconn").filter(|v| !v.is_null()) {
                Some(v) => Some(vec!["maxconn".to_string(), value::word(Conv::Int, "performance_options.maxconn", v)?]),
                None => None,
            }
        }
        Kind::RuntimeApis => return Err(Error::invalid("runtime_apis is written by plan, not as one line")),
        Kind::Redispatch => {
            let o = object(name, value)?;
            let on = value::toggle_of(&format!("{name}.enabled"), o.get("enabled").unwrap_or(&Value::Null))?;
            let mut out = if on { vec!["option".to_string()] } else { vec!["no".to_string(), "option".to_string()] };
            out.push("redispatch".into());
            if let Some(n) = o.get("interval").filter(|v| !v.is_null()) {
                out.push(value::word(Conv::Int, "redispatch.interval", n)?);
            }
            Some(out)
        }
    })
}

/// `httpchk_params.method`'s values in upstream's model (client-native's `httpchk_params`).
/// HAProxy itself sends any word as the method (configuration.txt §4.2 `option httpchk`); the
/// API takes these, as upstream does, and reads whatever a configuration holds.
const HTTPCHK_METHODS: &[&str] = &["HEAD", "PUT", "POST", "GET", "TRACE", "PATCH", "DELETE", "CONNECT", "OPTIONS"];

/// Checks the values of `body` against the constraints of upstream's model that this table
/// knows (enums, patterns), as upstream validates a body before anything else:
/// [`Error::Malformed`] (422) for the first broken one. A value equal to what `current` holds
/// is not checked, so a model read back is always taken.
pub(crate) fn check_schema(model: Model, current: Option<&Section>, body: &Map<String, Value>) -> Result<()> {
    for field in model.fields() {
        let Some(value) = body.get(field.field).filter(|v| !v.is_null()) else { continue };
        if current.is_some_and(|s| !read_field(s, field.kind).differs(Some(value))) {
            continue;
        }
        let name = field.field;
        match field.kind {
            Kind::Choice(names) if !value.as_str().is_some_and(|c| names.contains(&c)) => {
                return Err(Error::Malformed(format!("{name}: expected one of {}, got {value}", names.join(", "))));
            }
            Kind::Httpchk => {
                let Some(params) = value.as_object() else { return Err(Error::Malformed(format!("{name}: expected an object, got {value}"))) };
                match params.get("method") {
                    None | Some(Value::Null) => {}
                    Some(m) if m.as_str().is_some_and(|m| HTTPCHK_METHODS.contains(&m)) => {}
                    Some(m) => return Err(Error::Malformed(format!("{name}.method: expected one of {}, got {m}", HTTPCHK_METHODS.join(", ")))),
                }
                match params.get("uri") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(uri)) if !uri.contains(' ') => {}
                    Some(uri) => return Err(Error::Malformed(format!("{name}.uri: expected a string without spaces, got {uri}"))),
                }
                if let Some(version) = params.get("version").filter(|v| !v.is_null() && !v.is_string()) {
                    return Err(Error::Malformed(format!("{name}.version: expected a string, got {version}")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The line prefixes a field owns (what a delete removes).
fn prefixes(kind: Kind) -> Vec<Vec<&'static str>> {
    match kind {
        Kind::Value(prefix, _) | Kind::Rest(prefix) => vec![prefix.to_vec()],
        Kind::Toggle(o) => vec![vec!["option", o], vec!["no", "option", o]],
        Kind::OptionBool(o) => vec![vec!["option", o]],
        Kind::Bare(k) => vec![vec![k]],
        Kind::Choice(names) => names.iter().map(|n| vec!["option", *n]).collect(),
        Kind::Balance => vec![vec!["balance"]],
        Kind::Forwardfor => vec![vec!["option", "forwardfor"]],
        Kind::Httpchk => vec![],
        Kind::Performance => vec![vec!["maxconn"]],
        Kind::RuntimeApis => vec![vec!["stats", "socket"]],
        Kind::Redispatch => vec![vec!["option", "redispatch"], vec!["no", "option", "redispatch"]],
    }
}

fn section_of<'d>(doc: &'d Document, target: &SectionRef) -> Result<&'d Section> {
    let kind = SectionKind::from_keyword(&target.kind).ok_or_else(|| Error::invalid(format!("unknown section kind {}", target.kind)))?;
    doc.sections()
        .iter()
        .find(|s| *s.kind() == kind && s.name().as_deref() == target.name.as_deref())
        .ok_or_else(|| Error::not_found(format!("{} {}", target.kind, target.name.as_deref().unwrap_or_default())))
}

/// The lines a new section of `model` holds for `body`, in table order.
pub(crate) fn new_lines(model: Model, body: &Map<String, Value>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let httpchk_params = body.get("httpchk_params").is_some_and(|v| !v.is_null());
    for field in model.fields() {
        if let Some(v) = body.get(field.field).filter(|v| !v.is_null()) {
            // `option httpchk METHOD URI` says both adv_check and httpchk_params: one line.
            if field.field == "adv_check" && v == "httpchk" && httpchk_params {
                continue;
            }
            if let Kind::RuntimeApis = field.kind {
                for socket in socket_lines(v)? {
                    out.push(socket.iter().map(|w| haproxy_model::quote(w)).collect::<Vec<_>>().join(" "));
                }
                continue;
            }
            if let Some(words) = written(&field, v)? {
                out.push(words.iter().map(|w| haproxy_model::quote(w)).collect::<Vec<_>>().join(" "));
            }
        }
    }
    Ok(out)
}

/// The `stats socket` lines `runtime_apis` describes.
fn socket_lines(value: &Value) -> Result<Vec<Vec<String>>> {
    let items = value.as_array().ok_or_else(|| Error::invalid(format!("runtime_apis: expected a list, got {value}")))?;
    items
        .iter()
        .map(|item| {
            let address = text("runtime_apis", item, "address")?.ok_or_else(|| Error::invalid("runtime_apis: address is required"))?;
            let mut words = vec!["stats".to_string(), "socket".to_string(), address];
            for key in ["level", "mode"] {
                if let Some(v) = text("runtime_apis", item, key)? {
                    words.extend([key.to_string(), v]);
                }
            }
            let known = ["address", "level", "mode"];
            if let Some(other) = item.as_object().and_then(|o| o.iter().find(|(k, v)| !known.contains(&k.as_str()) && !v.is_null()).map(|(k, _)| k.clone())) {
                return Err(Error::invalid(format!("runtime_apis: {other} is not supported by this surface")));
            }
            Ok(words)
        })
        .collect()
}

/// The ops that make `target` hold what `body` says for every field of `model` (see the module
/// docs); empty when it already does. `doc` is not changed.
pub(crate) fn plan(doc: &Document, target: &SectionRef, model: Model, body: &Map<String, Value>) -> Result<Vec<EditOp>> {
    let mut work = doc.clone();
    let mut ops = Vec::new();
    for field in model.fields() {
        let want = body.get(field.field).filter(|v| !v.is_null());
        let section = section_of(&work, target)?;
        if !read_field(section, field.kind).differs(want) {
            continue;
        }
        if let Kind::RuntimeApis = field.kind {
            // Every `stats socket` line goes, then the wanted ones follow the last `stats` line.
            let mut step = Vec::new();
            if lines(section, &["stats", "socket"]).next().is_some() {
                step.push(EditOp::DeleteDirective { section: target.clone(), keyword: "stats".into(), args: vec!["socket".into()] });
            }
            let others = lines(section, &["stats"]).count() - lines(section, &["stats", "socket"]).count();
            for (i, words) in want.map(socket_lines).transpose()?.unwrap_or_default().into_iter().enumerate() {
                step.push(EditOp::InsertLine { section: target.clone(), keyword: "stats".into(), position: others + i, words });
            }
            apply_ops(&mut work, &step)?;
            ops.extend(step);
            continue;
        }
        let words = match want {
            Some(v) => written(&field, v)?,
            None => None,
        };
        let mut step = Vec::new();
        for prefix in prefixes(field.kind) {
            let keep = words.as_ref().is_some_and(|w| w.len() >= prefix.len() && w.iter().zip(&prefix).all(|(a, b)| a == b));
            if !keep && lines(section, &prefix).next().is_some() {
                step.push(EditOp::DeleteDirective {
                    section: target.clone(),
                    keyword: prefix[0].to_string(),
                    args: prefix[1..].iter().map(|s| s.to_string()).collect(),
                });
            }
        }
        if let Some(words) = words {
            step.push(EditOp::SetDirective { section: target.clone(), keyword: words[0].clone(), args: words[1..].to_vec() });
        }
        apply_ops(&mut work, &step)?;
        ops.extend(step);
    }
    Ok(ops)
}
