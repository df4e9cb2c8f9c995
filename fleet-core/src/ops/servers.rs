//! Server and bind ops, through the typed editors of `haproxy_model::views` ([`ProxyMut`],
//! `ServerMut`): they change only the words they must and place new lines next to their kin.

use haproxy_model::views::ProxyMut;
use haproxy_model::Document;

use super::sections::{check_name, check_values, proxy_index, Side};
use super::{OpError, OpResult};

/// The highest weight HAProxy accepts (configuration.txt §5.2 `weight`).
const MAX_WEIGHT: u32 = 256;

/// A server to add.
pub(super) struct NewServer<'a> {
    pub(super) name: &'a str,
    pub(super) address: &'a str,
    pub(super) weight: Option<u32>,
    pub(super) backup: bool,
    pub(super) disabled: bool,
    pub(super) params: &'a [String],
}

/// What to change on a server; `None` leaves a field as it is.
pub(super) struct ServerChange<'a> {
    pub(super) address: Option<&'a str>,
    pub(super) weight: Option<u32>,
    pub(super) backup: Option<bool>,
    pub(super) disabled: Option<bool>,
    pub(super) params: Option<&'a [String]>,
}

fn check_weight(weight: Option<u32>) -> OpResult {
    match weight {
        Some(w) if w > MAX_WEIGHT => Err(OpError::new(format!("weight {w} is above {MAX_WEIGHT}"))),
        _ => Ok(()),
    }
}

fn check_address(address: &str) -> OpResult {
    if address.is_empty() || address.contains(char::is_whitespace) {
        return Err(OpError::new(format!("invalid address {address:?}")));
    }
    Ok(())
}

/// The typed editor of the backend (or listen) `backend`.
pub(super) fn backend_mut<'d>(doc: &'d mut Document, backend: &str) -> OpResult<ProxyMut<'d>> {
    proxy_mut(doc, Side::Backend, backend)
}

/// The typed editor of the proxy `name` on `side`.
pub(super) fn proxy_mut<'d>(doc: &'d mut Document, side: Side, name: &str) -> OpResult<ProxyMut<'d>> {
    let index = proxy_index(doc, side, name)?;
    doc.sections_mut()
        .get_mut(index)
        .and_then(ProxyMut::new)
        .ok_or_else(|| OpError::new(format!("{} {name:?} not found", side.label())))
}

/// `add_server`.
pub(super) fn add_server(doc: &mut Document, backend: &str, server: &NewServer<'_>) -> OpResult {
    check_name("server", server.name)?;
    check_address(server.address)?;
    check_weight(server.weight)?;
    check_values(server.params)?;
    let mut proxy = backend_mut(doc, backend)?;
    if proxy.view().server(server.name).is_some() {
        return Err(OpError::new(format!("server {:?} already exists in backend {backend:?}", server.name)));
    }
    let mut editor = proxy.add_server(server.name, server.address, server.params);
    if let Some(weight) = server.weight {
        editor.set_weight(weight);
    }
    if server.backup {
        editor.set_backup(true);
    }
    if server.disabled {
        editor.disable();
    }
    Ok(())
}

/// `update_server`.
pub(super) fn update_server(doc: &mut Document, backend: &str, name: &str, change: &ServerChange<'_>) -> OpResult {
    if change.address.is_none()
        && change.weight.is_none()
        && change.backup.is_none()
        && change.disabled.is_none()
        && change.params.is_none()
    {
        return Err(OpError::new("nothing to change"));
    }
    if let Some(address) = change.address {
        check_address(address)?;
    }
    check_weight(change.weight)?;
    if let Some(params) = change.params {
        check_values(params)?;
    }
    let mut proxy = backend_mut(doc, backend)?;
    let mut server = proxy
        .server_mut(name)
        .ok_or_else(|| OpError::new(format!("server {name:?} not found in backend {backend:?}")))?;
    if let Some(params) = change.params {
        server.set_params(params);
    }
    if let Some(address) = change.address {
        if server.view().address_text().as_deref() != Some(address) && !server.set_address_text(address) {
            return Err(OpError::new(format!("server {name:?} has no address to change")));
        }
    }
    if let Some(weight) = change.weight {
        if server.view().weight() != Some(weight) {
            server.set_weight(weight);
        }
    }
    if let Some(backup) = change.backup {
        if server.view().is_backup() != backup {
            server.set_backup(backup);
        }
    }
    match change.disabled {
        Some(true) if !server.view().is_disabled() => server.disable(),
        Some(false) if server.view().is_disabled() => server.enable(),
        _ => {}
    }
    Ok(())
}

/// `delete_server`.
pub(super) fn delete_server(doc: &mut Document, backend: &str, name: &str) -> OpResult {
    backend_mut(doc, backend)?
        .remove_server(name)
        .map(|_| ())
        .ok_or_else(|| OpError::new(format!("server {name:?} not found in backend {backend:?}")))
}

/// The position among the frontend's binds of the one listening on `address`.
fn bind_position(proxy: &ProxyMut<'_>, address: &str) -> Option<usize> {
    proxy.view().binds().iter().position(|b| b.address_text().as_deref() == Some(address))
}

/// `add_bind`.
pub(super) fn add_bind(doc: &mut Document, frontend: &str, address: &str, params: &[String]) -> OpResult {
    check_address(address)?;
    check_values(params)?;
    let mut proxy = proxy_mut(doc, Side::Frontend, frontend)?;
    if bind_position(&proxy, address).is_some() {
        return Err(OpError::new(format!("bind {address:?} already exists in frontend {frontend:?}")));
    }
    proxy.add_bind(address, params);
    Ok(())
}

/// `delete_bind`.
pub(super) fn delete_bind(doc: &mut Document, frontend: &str, address: &str) -> OpResult {
    let mut proxy = proxy_mut(doc, Side::Frontend, frontend)?;
    let n = bind_position(&proxy, address)
        .ok_or_else(|| OpError::new(format!("bind {address:?} not found in frontend {frontend:?}")))?;
    proxy.remove_bind(n);
    Ok(())
}
