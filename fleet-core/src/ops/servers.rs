//! Server and bind ops, through the typed editors of `haproxy_model` ([`ProxyMut`],
//! `ServerMut`): they change only the words they must, place new lines next to their kin, and
//! decide what a valid server or bind is ([`haproxy_model::EditError`]), so the HTTP API and the
//! Python bindings accept and refuse the same edits.

use haproxy_model::{check_server_address, check_server_params, check_weight, Document, ProxyMut, Side};

use super::{OpError, OpResult};

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

/// The typed editor of the proxy `name` on `side`.
pub(super) fn proxy_mut<'d>(doc: &'d mut Document, side: Side, name: &str) -> OpResult<ProxyMut<'d>> {
    Ok(doc.try_proxy_mut(side, name)?)
}

/// `add_server`.
pub(super) fn add_server(doc: &mut Document, backend: &str, server: &NewServer<'_>) -> OpResult {
    if let Some(weight) = server.weight {
        check_weight(weight)?;
    }
    let mut proxy = proxy_mut(doc, Side::Backend, backend)?;
    let mut editor = proxy.add_server(server.name, server.address, server.params)?;
    if let Some(weight) = server.weight {
        editor.set_weight(weight)?;
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
        check_server_address(address)?;
    }
    if let Some(weight) = change.weight {
        check_weight(weight)?;
    }
    if let Some(params) = change.params {
        check_server_params(params)?;
    }
    let mut proxy = proxy_mut(doc, Side::Backend, backend)?;
    let mut server = proxy
        .server_mut(name)
        .ok_or_else(|| OpError::new(format!("server {name:?} not found in {backend:?}")))?;
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
            server.set_weight(weight)?;
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
    proxy_mut(doc, Side::Backend, backend)?.remove_server(name)?;
    Ok(())
}

/// `add_bind`.
pub(super) fn add_bind(doc: &mut Document, frontend: &str, address: &str, params: &[String]) -> OpResult {
    proxy_mut(doc, Side::Frontend, frontend)?.add_bind(address, params)?;
    Ok(())
}

/// `delete_bind`.
pub(super) fn delete_bind(doc: &mut Document, frontend: &str, address: &str) -> OpResult {
    proxy_mut(doc, Side::Frontend, frontend)?.remove_bind_at(address)?;
    Ok(())
}
