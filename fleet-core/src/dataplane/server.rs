//! `server` lines as resources: of a backend (`/backends/{parent}/servers`), a peers section
//! (`/peers/{parent}/servers`) or a ring (`/rings/{parent}/servers`): `server NAME
//! ADDRESS[:PORT] PARAMS...` as `{name, address, port, ...params}` and the edit op a create,
//! replace or delete stages.
//!
//! ```text
//! backend (or listen) -> add_server / update_server / delete_server (what the agents' runtime
//!                        plans read: a new server is added with `add server`, no reload)
//! peers, ring         -> insert_line / set_line / delete_line on the section's `server` lines
//!                        (configuration.txt 3.5 and 3.9: both take `server NAME [ADDR] [param*]`;
//!                        a peers section's `peer` lines are its peer entries, not these)
//! ```
//!
//! A replace computes the line's new parameter words from its current ones ([`params::edit`])
//! and stages one op with only what differs: a body equal to what a read shows changes nothing,
//! and a changed field rewrites only its words.

use haproxy_model::{Document, SectionKind, Server, Side};
use serde_json::{Map, Value};

use super::params::{self, Param};
use crate::error::{Error, Result};
use crate::ops::{EditOp, SectionRef};

/// The fields a server body holds besides its parameters.
const OWN: &[&str] = &["name", "address", "port", "metadata"];

fn parent_name(parent: &SectionRef) -> &str {
    parent.name.as_deref().unwrap_or_default()
}

/// True for a backend (or listen) parent, whose servers are edited with the server ops.
fn is_backend(parent: &SectionRef) -> bool {
    parent.kind == "backend"
}

/// The `server` lines of the parent, in file order; [`Error::NotFound`] without the parent.
fn parent_servers<'d>(doc: &'d Document, parent: &SectionRef) -> Result<Vec<Server<'d>>> {
    let name = parent_name(parent);
    if is_backend(parent) {
        let proxy = doc.proxy(Side::Backend, name).ok_or_else(|| Error::not_found(format!("backend {name}")))?;
        return Ok(proxy.servers());
    }
    let kind = SectionKind::from_keyword(&parent.kind).ok_or_else(|| Error::invalid(format!("unknown section kind {}", parent.kind)))?;
    let section = doc
        .sections()
        .iter()
        .find(|s| *s.kind() == kind && s.name().as_deref() == Some(name))
        .ok_or_else(|| Error::not_found(format!("{} {name}", parent.kind)))?;
    Ok(section.statements("server").filter_map(|(i, l)| Server::new(l, i)).collect())
}

/// Server `name` of the parent and its position among the parent's `server` lines.
fn find<'d>(doc: &'d Document, parent: &SectionRef, name: &str) -> Result<(usize, Server<'d>)> {
    parent_servers(doc, parent)?
        .into_iter()
        .enumerate()
        .find(|(_, s)| s.name().as_deref() == Some(name))
        .ok_or_else(|| Error::not_found(format!("server {name} in {} {}", parent.kind, parent_name(parent))))
}

fn params_of(server: &Server<'_>) -> Vec<Param> {
    server.params().into_iter().map(|p| (p.keyword, p.value)).collect()
}

/// `host:port` split as the API shows it: `10.0.0.1:80` -> (`10.0.0.1`, 80), `[::1]:80` ->
/// (`::1`, 80); an address without a single port (a path, `+1000`, `${X}`) stays whole.
pub(crate) fn split_address(text: &str) -> (String, Option<u16>) {
    if let Some((host, port)) = text.rsplit_once(':') {
        if let Ok(port) = port.parse::<u16>() {
            if host.ends_with(']') || !host.contains(':') || host.contains('@') {
                let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
                return (host.to_string(), Some(port));
            }
        }
    }
    (text.to_string(), None)
}

/// The address word for the API's `address` and `port`.
pub(crate) fn join_address(address: &str, port: Option<u16>) -> String {
    match port {
        Some(port) if address.contains(':') && !address.contains('@') && !address.starts_with('[') => format!("[{address}]:{port}"),
        Some(port) => format!("{address}:{port}"),
        None => address.to_string(),
    }
}

fn shown(server: &Server<'_>) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), Value::from(server.name().unwrap_or_default().into_owned()));
    if let Some(text) = server.address_text() {
        let (address, port) = split_address(&text);
        out.insert("address".into(), Value::from(address));
        if let Some(port) = port {
            out.insert("port".into(), Value::from(port));
        }
    }
    out.extend(params::read(params::SERVER, &params_of(server)));
    Value::Object(out)
}

/// Every server of the parent (`backend`, `peers` or `ring`, see [`super::parent`]), in file
/// order; [`Error::NotFound`] without that section.
pub fn servers(doc: &Document, parent: &SectionRef) -> Result<Vec<Value>> {
    Ok(parent_servers(doc, parent)?.iter().map(shown).collect())
}

/// One server.
pub fn server(doc: &Document, parent: &SectionRef, name: &str) -> Result<Value> {
    find(doc, parent, name).map(|(_, s)| shown(&s))
}

/// The address word of `body`, required but in a peers section (the local peer's `server`
/// line may have none: configuration.txt 3.5).
fn address_for(parent: &SectionRef, body: &Map<String, Value>) -> Result<Option<String>> {
    let given = body.get("address").and_then(Value::as_str).is_some_and(|a| !a.is_empty());
    match given || parent.kind != "peers" {
        true => address_of(body).map(Some),
        false => Ok(None),
    }
}

fn address_of(body: &Map<String, Value>) -> Result<String> {
    let address = body.get("address").and_then(Value::as_str).filter(|a| !a.is_empty()).ok_or_else(|| Error::invalid("address is required"))?;
    let port = match body.get("port") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0).ok_or_else(|| Error::invalid(format!("port: expected 1-65535, got {v}")))?),
    };
    Ok(join_address(address, port))
}

fn name_of(body: &Map<String, Value>) -> Result<&str> {
    body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).ok_or_else(|| Error::invalid("name is required"))
}

/// `server NAME ADDRESS PARAMS...` as words.
fn line_words(name: &str, address: Option<String>, params: &[Param]) -> Vec<String> {
    let mut words = vec!["server".to_string(), name.to_string()];
    words.extend(address);
    words.extend(params::words(params));
    words
}

/// The op creating the server `body` describes in the parent, after its last server:
/// [`Error::Conflict`] when the name is taken, [`Error::Invalid`] for a body this surface
/// cannot write, [`Error::NotFound`] without the parent.
pub fn add_server(doc: &Document, parent: &SectionRef, body: &Map<String, Value>) -> Result<EditOp> {
    params::unknown_fields(body, params::names(params::SERVER).chain(OWN.iter().copied()))?;
    let name = name_of(body)?;
    let existing = parent_servers(doc, parent)?;
    if existing.iter().any(|s| s.name().as_deref() == Some(name)) {
        return Err(Error::Conflict(format!("server {name} already exists in {} {}", parent.kind, parent_name(parent))));
    }
    let params = params::edit(params::SERVER, &[], body)?;
    if !is_backend(parent) {
        let words = line_words(name, address_for(parent, body)?, &params);
        return Ok(EditOp::InsertLine { section: parent.clone(), keyword: "server".into(), position: existing.len(), words });
    }
    let address = address_of(body)?;
    Ok(EditOp::AddServer {
        backend: parent_name(parent).into(),
        name: name.into(),
        address,
        weight: None,
        backup: false,
        disabled: false,
        params: params::words(&params),
    })
}

/// The op making server `name` what `body` describes, or none when it already is.
pub fn replace_server(doc: &Document, parent: &SectionRef, name: &str, body: &Map<String, Value>) -> Result<Option<EditOp>> {
    params::unknown_fields(body, params::names(params::SERVER).chain(OWN.iter().copied()))?;
    let (position, current) = find(doc, parent, name)?;
    if let Some(other) = body.get("name").and_then(Value::as_str).filter(|n| *n != name) {
        return Err(Error::invalid(format!("the body names server {other}, the path {name}: renaming is not supported")));
    }
    let old = params_of(&current);
    let new = params::edit(params::SERVER, &old, body)?;
    let written = current.address_text().map(|t| t.into_owned());
    if !is_backend(parent) {
        let wanted = address_for(parent, body)?;
        let same = wanted.as_ref().map(|w| split_address(w)) == written.as_ref().map(|w| split_address(w));
        if new == old && same {
            return Ok(None);
        }
        let words = line_words(name, if same { written } else { wanted }, &new);
        return Ok(Some(EditOp::SetLine { section: parent.clone(), keyword: "server".into(), position, words }));
    }
    let address = address_of(body)?;
    let address_changed = written.as_deref() != Some(address.as_str()) && written.as_ref().map(|t| split_address(t)) != Some(split_address(&address));
    if new == old && !address_changed {
        return Ok(None);
    }
    Ok(Some(EditOp::UpdateServer {
        backend: parent_name(parent).into(),
        name: name.into(),
        address: address_changed.then_some(address),
        weight: None,
        backup: None,
        disabled: None,
        params: (new != old).then(|| params::words(&new)),
    }))
}

/// The op deleting server `name` ([`Error::NotFound`] without it).
pub fn delete_server(doc: &Document, parent: &SectionRef, name: &str) -> Result<EditOp> {
    let (position, _) = find(doc, parent, name)?;
    if !is_backend(parent) {
        return Ok(EditOp::DeleteLine { section: parent.clone(), keyword: "server".into(), position });
    }
    Ok(EditOp::DeleteServer { backend: parent_name(parent).into(), name: name.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = "backend app\n    # web tier\n    server web1 10.0.0.1:80   check inter 2s  # first\n    server web2 [::1]:8080\n";

    fn doc() -> Document {
        haproxy_parse::parse(TEXT).document
    }

    fn app() -> SectionRef {
        crate::dataplane::parent("backend", "app")
    }

    #[test]
    fn reads_servers() {
        assert_eq!(
            servers(&doc(), &app()).unwrap(),
            vec![
                json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000}),
                json!({"name": "web2", "address": "::1", "port": 8080}),
            ]
        );
        assert!(matches!(server(&doc(), &app(), "nope"), Err(Error::NotFound(_))));
        assert!(matches!(servers(&doc(), &crate::dataplane::parent("backend", "nope")), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_replace_as_read_changes_nothing_and_a_change_touches_one_line() {
        let d = doc();
        let read = server(&d, &app(), "web1").unwrap();
        assert_eq!(replace_server(&d, &app(), "web1", read.as_object().unwrap()).unwrap(), None);
        let body = json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000, "weight": 5});
        let op = replace_server(&d, &app(), "web1", body.as_object().unwrap()).unwrap().unwrap();
        let mut edited = d.clone();
        crate::ops::apply_ops(&mut edited, &[op]).unwrap();
        let text = haproxy_render::lossless(&edited);
        assert_eq!(text, TEXT.replace("check inter 2s  #", "check inter 2s weight 5  #"));
    }

    #[test]
    fn adds_and_refuses() {
        let d = doc();
        let taken = json!({"name": "web1", "address": "10.0.0.9"});
        assert!(matches!(add_server(&d, &app(), taken.as_object().unwrap()), Err(Error::Conflict(_))));
        let new = json!({"name": "web3", "address": "10.0.0.3", "port": 81, "check": "enabled", "weight": 10});
        let op = add_server(&d, &app(), new.as_object().unwrap()).unwrap();
        assert_eq!(op, EditOp::AddServer { backend: "app".into(), name: "web3".into(), address: "10.0.0.3:81".into(), weight: None, backup: false, disabled: false, params: vec!["check".into(), "weight".into(), "10".into()] });
        assert_eq!(join_address("::1", Some(80)), "[::1]:80");
        assert_eq!(split_address("/run/app.sock"), ("/run/app.sock".into(), None));
        assert_eq!(split_address("ipv4@10.0.0.1:80"), ("ipv4@10.0.0.1".into(), Some(80)));
    }

    const SECTIONS: &str = "peers fusion\n    peer peer1 127.0.0.1:5108\n    server local\n    server s1 10.1.1.1:8080 check   # remote\nring logbuffer\n    format rfc5424\n    # sends via TCP\n    server logserver 192.168.1.100:514 log-proto octet-count\n    timeout server 20s\n";

    fn edited(ops: &[EditOp]) -> String {
        let mut d = haproxy_parse::parse(SECTIONS).document;
        crate::ops::apply_ops(&mut d, ops).unwrap();
        haproxy_render::lossless(&d)
    }

    #[test]
    fn peers_and_ring_servers_are_their_server_lines() {
        let d = haproxy_parse::parse(SECTIONS).document;
        let peers = crate::dataplane::parent("peers", "fusion");
        let ring = crate::dataplane::parent("ring", "logbuffer");
        // The peer line is a peer entry, not a server.
        assert_eq!(servers(&d, &peers).unwrap(), vec![json!({"name": "local"}), json!({"name": "s1", "address": "10.1.1.1", "port": 8080, "check": "enabled"})]);
        assert_eq!(servers(&d, &ring).unwrap().len(), 1);
        assert!(matches!(servers(&d, &crate::dataplane::parent("ring", "nope")), Err(Error::NotFound(_))));
        // What a read shows changes nothing, the local peer without an address included.
        for name in ["local", "s1"] {
            let read = server(&d, &peers, name).unwrap();
            assert_eq!(replace_server(&d, &peers, name, read.as_object().unwrap()).unwrap(), None, "{name}");
        }
        let new = json!({"name": "s2", "address": "10.1.1.2", "port": 8080, "weight": 80});
        let op = add_server(&d, &peers, new.as_object().unwrap()).unwrap();
        assert_eq!(edited(&[op]), SECTIONS.replace("# remote\n", "# remote\n    server s2 10.1.1.2:8080 weight 80\n"));
        assert!(matches!(add_server(&d, &peers, json!({"name": "s1", "address": "10.0.0.1"}).as_object().unwrap()), Err(Error::Conflict(_))));
        assert!(add_server(&d, &ring, json!({"name": "nowhere"}).as_object().unwrap()).is_err(), "a ring's server needs an address");
        let changed = json!({"name": "logserver", "address": "192.168.1.100", "port": 1514});
        let op = replace_server(&d, &ring, "logserver", changed.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(edited(&[op]), SECTIONS.replace("192.168.1.100:514", "192.168.1.100:1514"), "log-proto is a word no field maps: it stays");
        let op = delete_server(&d, &peers, "s1").unwrap();
        assert_eq!(edited(&[op]), SECTIONS.replace("    server s1 10.1.1.1:8080 check   # remote\n", ""));
        assert!(matches!(delete_server(&d, &ring, "s1"), Err(Error::NotFound(_))));
    }
}
