//! Servers of a backend (`/backends/{parent}/servers`): `server NAME ADDRESS[:PORT] PARAMS...`
//! as `{name, address, port, ...params}` and the edit op a create, replace or delete stages.
//!
//! A replace computes the line's new parameter words from its current ones ([`params::edit`])
//! and stages one `update_server` with only what differs: a body equal to what a read shows
//! changes nothing, and a changed field rewrites only its words.

use haproxy_model::{Document, Server, Side};
use serde_json::{Map, Value};

use super::params::{self, Param};
use crate::error::{Error, Result};
use crate::ops::EditOp;

/// The fields a server body holds besides its parameters.
const OWN: &[&str] = &["name", "address", "port", "metadata"];

fn backend_servers<'d>(doc: &'d Document, backend: &str) -> Result<Vec<Server<'d>>> {
    let proxy = doc.proxy(Side::Backend, backend).ok_or_else(|| Error::not_found(format!("backend {backend}")))?;
    Ok(proxy.servers())
}

fn find<'d>(doc: &'d Document, backend: &str, name: &str) -> Result<Server<'d>> {
    backend_servers(doc, backend)?
        .into_iter()
        .find(|s| s.name().as_deref() == Some(name))
        .ok_or_else(|| Error::not_found(format!("server {name} in backend {backend}")))
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

/// Every server of `backend`, in file order; [`Error::NotFound`] without that backend.
pub fn servers(doc: &Document, backend: &str) -> Result<Vec<Value>> {
    Ok(backend_servers(doc, backend)?.iter().map(shown).collect())
}

/// One server.
pub fn server(doc: &Document, backend: &str, name: &str) -> Result<Value> {
    find(doc, backend, name).map(|s| shown(&s))
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

/// The op creating the server `body` describes in `backend`: [`Error::Conflict`] when the name
/// is taken, [`Error::Invalid`] for a body this surface cannot write.
pub fn add_server(doc: &Document, backend: &str, body: &Map<String, Value>) -> Result<EditOp> {
    params::unknown_fields(body, params::names(params::SERVER).chain(OWN.iter().copied()))?;
    let name = name_of(body)?;
    if backend_servers(doc, backend)?.iter().any(|s| s.name().as_deref() == Some(name)) {
        return Err(Error::Conflict(format!("server {name} already exists in backend {backend}")));
    }
    let words = params::words(&params::edit(params::SERVER, &[], body)?);
    Ok(EditOp::AddServer {
        backend: backend.into(),
        name: name.into(),
        address: address_of(body)?,
        weight: None,
        backup: false,
        disabled: false,
        params: words,
    })
}

/// The op making server `name` what `body` describes, or none when it already is.
pub fn replace_server(doc: &Document, backend: &str, name: &str, body: &Map<String, Value>) -> Result<Option<EditOp>> {
    params::unknown_fields(body, params::names(params::SERVER).chain(OWN.iter().copied()))?;
    let current = find(doc, backend, name)?;
    if let Some(other) = body.get("name").and_then(Value::as_str).filter(|n| *n != name) {
        return Err(Error::invalid(format!("the body names server {other}, the path {name}: renaming is not supported")));
    }
    let old = params_of(&current);
    let new = params::edit(params::SERVER, &old, body)?;
    let address = address_of(body)?;
    let address_changed = current.address_text().as_deref() != Some(address.as_str())
        && current.address_text().map(|t| split_address(&t)) != Some(split_address(&address));
    if new == old && !address_changed {
        return Ok(None);
    }
    Ok(Some(EditOp::UpdateServer {
        backend: backend.into(),
        name: name.into(),
        address: address_changed.then_some(address),
        weight: None,
        backup: None,
        disabled: None,
        params: (new != old).then(|| params::words(&new)),
    }))
}

/// The op deleting server `name` ([`Error::NotFound`] without it).
pub fn delete_server(doc: &Document, backend: &str, name: &str) -> Result<EditOp> {
    find(doc, backend, name)?;
    Ok(EditOp::DeleteServer { backend: backend.into(), name: name.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &str = "backend app\n    # web tier\n    server web1 10.0.0.1:80   check inter 2s  # first\n    server web2 [::1]:8080\n";

    fn doc() -> Document {
        haproxy_parse::parse(TEXT).document
    }

    #[test]
    fn reads_servers() {
        assert_eq!(
            servers(&doc(), "app").unwrap(),
            vec![
                json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000}),
                json!({"name": "web2", "address": "::1", "port": 8080}),
            ]
        );
        assert!(matches!(server(&doc(), "app", "nope"), Err(Error::NotFound(_))));
        assert!(matches!(servers(&doc(), "nope"), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_replace_as_read_changes_nothing_and_a_change_touches_one_line() {
        let d = doc();
        let read = server(&d, "app", "web1").unwrap();
        assert_eq!(replace_server(&d, "app", "web1", read.as_object().unwrap()).unwrap(), None);
        let body = json!({"name": "web1", "address": "10.0.0.1", "port": 80, "check": "enabled", "inter": 2000, "weight": 5});
        let op = replace_server(&d, "app", "web1", body.as_object().unwrap()).unwrap().unwrap();
        let mut edited = d.clone();
        crate::ops::apply_ops(&mut edited, &[op]).unwrap();
        let text = haproxy_render::lossless(&edited);
        assert_eq!(text, TEXT.replace("check inter 2s  #", "check inter 2s weight 5  #"));
    }

    #[test]
    fn adds_and_refuses() {
        let d = doc();
        let taken = json!({"name": "web1", "address": "10.0.0.9"});
        assert!(matches!(add_server(&d, "app", taken.as_object().unwrap()), Err(Error::Conflict(_))));
        let new = json!({"name": "web3", "address": "10.0.0.3", "port": 81, "check": "enabled", "weight": 10});
        let op = add_server(&d, "app", new.as_object().unwrap()).unwrap();
        assert_eq!(op, EditOp::AddServer { backend: "app".into(), name: "web3".into(), address: "10.0.0.3:81".into(), weight: None, backup: false, disabled: false, params: vec!["check".into(), "weight".into(), "10".into()] });
        assert_eq!(join_address("::1", Some(80)), "[::1]:80");
        assert_eq!(split_address("/run/app.sock"), ("/run/app.sock".into(), None));
        assert_eq!(split_address("ipv4@10.0.0.1:80"), ("ipv4@10.0.0.1".into(), Some(80)));
    }
}
