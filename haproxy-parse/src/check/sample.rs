//! Sample expressions (configuration.txt §7.3): `fetch[(args)][,converter[(args)]]*`, written
//! bare (`acl` criteria, `{ ... }` anonymous ACLs, `set-var(...)` values) or inside `%[...]` of
//! log-format strings and rule arguments.
//!
//! ```text
//! expr      = fetch [ "(" args ")" ] *( "," converter [ "(" args ")" ] )
//! in-format = "%[" expr "]"
//! ```
//! Only what HAProxy 2.6 surely refuses is reported: a missing fetch method (`(arg)`), an
//! argument list never closed, text after a closing `)` where `,` or `]` must come, and a
//! converter that does not exist. Fetch names are not checked (ACL criteria add match
//! suffixes, Lua adds fetches), nor are arguments.

use haproxy_model::keywords::sample::CONVERTERS;
use haproxy_model::{Diagnostic, Line, SectionKind};

use super::context::SectionInfo;
use super::{error, is_dynamic, Context};

/// Fetches taking `[<backend>/]<server>` (configuration.txt §7.3.2).
const SERVER_FETCHES: &[&str] = &[
    "srv_conn", "srv_conn_free", "srv_is_up", "srv_iweight", "srv_queue", "srv_sess_rate", "srv_uweight", "srv_weight",
];

/// Fetches taking `[<backend>]` (configuration.txt §7.3.2).
const BACKEND_FETCHES: &[&str] =
    &["avg_queue", "be_conn", "be_conn_free", "be_sess_rate", "connslots", "nbsrv", "queue"];

/// Keywords whose arguments may hold `%[...]` expressions or a bare `set-var` expression.
const RULES: &[&str] = &[
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-request",
    "tcp-response",
    "redirect",
    "use_backend",
    "log-format",
    "log-format-sd",
    "error-log-format",
    "unique-id-format",
];

/// Runs the sample-expression checks on proxies and defaults sections.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (section_index, info) in context.sections.iter().enumerate() {
        let kind = info.section.kind();
        if !(kind.is_proxy() || *kind == SectionKind::Defaults) {
            continue;
        }
        let resolved = *kind != SectionKind::Defaults || context.is_inherited(section_index);
        for line in Context::statements(info.section) {
            if context.is_conditional(line) {
                continue;
            }
            check_line(line, out);
            if resolved {
                fetch_references(context, info, line, out);
            }
        }
    }
}

fn check_line(line: &Line, out: &mut Vec<Diagnostic>) {
    let values = line.values();
    let keyword = &*values[0];
    let mut report = |index: usize, message: String| out.push(error(line, index, message));
    if keyword == "acl" {
        if let Some(criterion) = values.get(2) {
            if let Err(message) = bare(criterion) {
                report(2, message);
            }
        }
    }
    // Anonymous ACLs in conditions: the word after `{` is a criterion.
    for (index, value) in values.iter().enumerate() {
        if value.trim_start_matches('!') == "{" {
            if let Some(criterion) = values.get(index + 1).filter(|c| *c != "}") {
                if let Err(message) = bare(criterion) {
                    report(index + 1, message);
                }
            }
        }
    }
    if !RULES.contains(&keyword) {
        return;
    }
    for (index, value) in values.iter().enumerate().skip(1) {
        if value.contains('$') {
            continue;
        }
        let mut rest = &**value;
        while let Some(at) = rest.find("%[") {
            match expression(&rest[at + 2..], true) {
                Ok(used) => rest = &rest[at + 2 + used..],
                Err(message) => {
                    report(index, message);
                    break;
                }
            }
        }
        // `set-var(name) <expr>`: the value is a bare expression.
        if value.starts_with("set-var(") && !matches!(keyword, "log-format" | "log-format-sd" | "error-log-format" | "unique-id-format") {
            if let Some(expr) = values.get(index + 1).filter(|e| !e.contains('$') && !matches!(&***e, "if" | "unless")) {
                if let Err(message) = bare(expr) {
                    report(index + 1, message);
                }
            }
        }
    }
}

/// A whole word holding one expression.
fn bare(text: &str) -> Result<(), String> {
    if text.contains('$') || text.contains("%[") {
        return Ok(());
    }
    expression(text, false).map(|_| ())
}

/// Reads one expression; `bracketed` when it sits in `%[...]` and must end with `]`.
/// Returns how many bytes it used (the `]` included).
fn expression(text: &str, bracketed: bool) -> Result<usize, String> {
    let shown = |end: usize| text.get(..end).unwrap_or(text).to_string();
    let mut at = name_end(text, 0);
    if at == 0 {
        return Err(format!("missing fetch method in sample expression '{}'", shorten(text, bracketed)));
    }
    at = arguments(text, at, bracketed)?;
    loop {
        match text[at..].chars().next() {
            Some(',') => {
                let start = at + 1;
                let end = name_end(text, start);
                let converter = &text[start..end];
                if converter.is_empty() {
                    return Err(format!("missing converter after ',' in '{}'", shorten(text, bracketed)));
                }
                if !converter.starts_with("lua.") && CONVERTERS.binary_search(&converter).is_err() {
                    return Err(format!("unknown converter '{converter}'"));
                }
                at = arguments(text, end, bracketed)?;
            }
            Some(']') if bracketed => return Ok(at + 1),
            None if !bracketed => return Ok(at),
            // An unclosed `%[`: HAProxy says so, but the word may be cut by quoting we do not see.
            None => return Ok(at),
            Some(other) if bracketed => {
                return Err(format!("expected ']' after '{}', but found '{other}'", shown(at)));
            }
            // A bare word may go on with ACL flags glued by mistake; not ours to judge.
            Some(_) => return Ok(at),
        }
    }
}

/// `%[...]` shows up to its `]`, a bare word whole.
fn shorten(text: &str, bracketed: bool) -> &str {
    if bracketed {
        text.find(']').map_or(text, |end| &text[..end])
    } else {
        text
    }
}

/// The end of a fetch or converter name starting at `start`.
fn name_end(text: &str, start: usize) -> usize {
    text[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map_or(text.len(), |i| start + i)
}

/// Skips `(args)` at `at` if present; arguments may nest parentheses, quote and escape.
fn arguments(text: &str, at: usize, bracketed: bool) -> Result<usize, String> {
    if !text[at..].starts_with('(') {
        return Ok(at);
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text[at..].char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(at + i + 1);
                }
            }
            (None, ']') if bracketed && depth == 1 => break,
            _ => {}
        }
    }
    Err(format!("missing closing ')' after the arguments of '{}'", &text[..at]))
}

/// `srv_conn(backend/server)`, `nbsrv(backend)` ...: the backend and server must exist; in a
/// defaults section the backend must be named, as there is no current one. Only called for
/// sections whose references HAProxy resolves (see [`Context::is_inherited`]).
fn fetch_references(context: &Context<'_>, info: &SectionInfo<'_>, line: &Line, out: &mut Vec<Diagnostic>) {
    let defaults = *info.section.kind() == SectionKind::Defaults;
    let keyword = line.keyword().unwrap_or_default();
    if !(RULES.contains(&&*keyword) || keyword == "acl") {
        return;
    }
    for (index, value) in line.values().iter().enumerate().skip(1) {
        if !value.contains('(') {
            continue;
        }
        for (fetch, argument) in fetch_calls(value) {
            if is_dynamic(argument) || argument.is_empty() {
                continue;
            }
            let message = if SERVER_FETCHES.contains(&fetch) {
                match argument.split_once('/') {
                    Some((backend, server)) => missing_server(context, backend, server),
                    None if defaults => Some(format!(
                        "'{fetch}({argument})' in a defaults section needs the backend: '{fetch}(<backend>/{argument})'"
                    )),
                    None => info.name.as_deref().and_then(|own| missing_server(context, own, argument)),
                }
            } else if BACKEND_FETCHES.contains(&fetch) && !context.has_backend(argument) {
                Some(format!("no backend named '{argument}' (needed by {fetch})"))
            } else {
                None
            };
            if let Some(message) = message {
                out.push(error(line, index, message));
            }
        }
    }
}

/// `no server named ...` when `backend` exists without `server`; `no backend named ...` when
/// it does not exist at all.
fn missing_server(context: &Context<'_>, backend: &str, server: &str) -> Option<String> {
    let sections = || {
        context.sections.iter().filter(|s| s.section.kind().has_backend() && s.name.as_deref() == Some(backend))
    };
    if sections().next().is_none() {
        return Some(format!("no backend named '{backend}' (needed by server '{server}')"));
    }
    let found = sections().any(|s| {
        s.section.statements("server").any(|(_, l)| l.value(1).as_deref() == Some(server))
            || s.section.statement("server-template").is_some()
    });
    (!found).then(|| format!("no server named '{server}' in backend '{backend}'"))
}

/// The `(fetch, argument)` pairs of the server and backend fetches a word calls, where the
/// fetch starts the word or follows `%[`, `{`, `,` or a blank.
fn fetch_calls(value: &str) -> Vec<(&'static str, &str)> {
    let mut calls = Vec::new();
    for fetch in SERVER_FETCHES.iter().chain(BACKEND_FETCHES) {
        let mut from = 0;
        while let Some(found) = value[from..].find(fetch) {
            let start = from + found;
            let before = value[..start].chars().next_back();
            let args_start = start + fetch.len() + 1;
            from = start + fetch.len();
            if !matches!(before, None | Some('[' | ' ' | ',')) || !value[from..].starts_with('(') {
                continue;
            }
            if let Some(len) = value[args_start..].find(')') {
                calls.push((*fetch, &value[args_start..args_start + len]));
            }
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::{bare, expression};

    #[test]
    fn accepts_real_expressions() {
        for text in [
            "var(txn.input),bytes(0,-1)]",
            "var(txn.hash),sha2(224),hex,lower]",
            "var(txn.input),add_item(',',txn.var,_suff_)]",
            "str(\\xE0),json(utf8)]",
            "req.hdr(host),lower,map_str(/etc/m.map,x)]",
            "var(sess.str3),regsub(is a,is also a)]",
            "src,lua.myconv]",
            "req.hdr(x),regsub(^(a|b)$,c)]",
        ] {
            assert!(expression(text, true).is_ok(), "{text}: {:?}", expression(text, true));
        }
        for text in ["hdr(host)", "req.hdr(data),lower", "path_beg", "src", "ssl_fc"] {
            assert_eq!(bare(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn refuses_what_haproxy_refuses() {
        assert_eq!(expression("(arg)]", true).unwrap_err(), "missing fetch method in sample expression '(arg)'");
        assert_eq!(expression("hdr(arg))]", true).unwrap_err(), "expected ']' after 'hdr(arg)', but found ')'");
        assert_eq!(bare("req.hdr(data),has_ctl(bogus)").unwrap_err(), "unknown converter 'has_ctl'");
        assert!(bare("(arg)").is_err());
        assert!(bare("req.hdr(").is_err());
    }
}
