//! Server and bind ops: the lines of a backend's pool and a frontend's listeners.

use haproxy_model::{Document, Line, Section};

use super::sections::{check_name, check_values, proxy_index, set_words, Side};
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

/// Line index of `keyword NAME` (server) in `section`.
fn named_line(section: &Section, keyword: &str, name: &str) -> Option<usize> {
    section.statements(keyword).find(|(_, line)| line.value(1).as_deref() == Some(name)).map(|(i, _)| i)
}

/// Inserts `values` after the last `keyword` line, else after the last statement.
pub(super) fn insert_after_siblings(section: &mut Section, keyword: &str, values: &[String]) {
    match section.statements(keyword).last().map(|(i, _)| i + 1) {
        Some(at) => section.insert_line(at, Line::statement("", values)),
        None => {
            section.push_statement(values);
        }
    }
}

fn backend_section<'d>(doc: &'d mut Document, backend: &str) -> OpResult<&'d mut Section> {
    let index = proxy_index(doc, Side::Backend, backend)?;
    doc.sections_mut().get_mut(index).ok_or_else(|| OpError::new(format!("backend {backend:?} not found")))
}

fn frontend_section<'d>(doc: &'d mut Document, frontend: &str) -> OpResult<&'d mut Section> {
    let index = proxy_index(doc, Side::Frontend, frontend)?;
    doc.sections_mut().get_mut(index).ok_or_else(|| OpError::new(format!("frontend {frontend:?} not found")))
}

/// `add_server`.
pub(super) fn add_server(doc: &mut Document, backend: &str, server: &NewServer<'_>) -> OpResult {
    check_name("server", server.name)?;
    check_address(server.address)?;
    check_weight(server.weight)?;
    check_values(server.params)?;
    let section = backend_section(doc, backend)?;
    if named_line(section, "server", server.name).is_some() {
        return Err(OpError::new(format!("server {:?} already exists in backend {backend:?}", server.name)));
    }
    let mut values = vec!["server".to_string(), server.name.to_string(), server.address.to_string()];
    values.extend(server.params.iter().cloned());
    if let Some(weight) = server.weight {
        values.extend(["weight".to_string(), weight.to_string()]);
    }
    if server.backup {
        values.push("backup".into());
    }
    if server.disabled {
        values.push("disabled".into());
    }
    insert_after_siblings(section, "server", &values);
    Ok(())
}

/// Index (from 3, after `server NAME ADDRESS`) of the first word whose value is `value`.
fn param_index(line: &Line, value: &str) -> Option<usize> {
    (3..line.words().len()).find(|&i| line.value(i).as_deref() == Some(value))
}

/// Adds or removes a flag word (`backup`, `disabled`).
fn set_flag(line: &mut Line, flag: &str, on: bool) {
    match (param_index(line, flag), on) {
        (None, true) => line.push_word(flag),
        (Some(i), false) => {
            line.remove_word(i);
        }
        _ => {}
    }
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
    let section = backend_section(doc, backend)?;
    let index = named_line(section, "server", name)
        .ok_or_else(|| OpError::new(format!("server {name:?} not found in backend {backend:?}")))?;
    let Some(line) = section.lines_mut().get_mut(index) else {
        return Err(OpError::new(format!("server {name:?} not found in backend {backend:?}")));
    };
    if let Some(params) = change.params {
        set_words(line, 3, params);
    }
    if let Some(address) = change.address {
        if line.value(2).as_deref() != Some(address) {
            if line.words().len() > 2 {
                line.set_value(2, address);
            } else {
                line.push_word(address);
            }
        }
    }
    if let Some(weight) = change.weight {
        let weight = weight.to_string();
        match param_index(line, "weight") {
            Some(i) if i + 1 < line.words().len() => {
                if line.value(i + 1).as_deref() != Some(weight.as_str()) {
                    line.set_value(i + 1, &weight);
                }
            }
            Some(_) => line.push_word(&weight),
            None => {
                line.push_word("weight");
                line.push_word(&weight);
            }
        }
    }
    if let Some(backup) = change.backup {
        set_flag(line, "backup", backup);
    }
    if let Some(disabled) = change.disabled {
        // `enabled` is the explicit opposite; turn it into `disabled` rather than keep both.
        match (param_index(line, "enabled"), disabled) {
            (Some(i), true) => {
                line.set_value(i, "disabled");
            }
            _ => set_flag(line, "disabled", disabled),
        }
    }
    Ok(())
}

/// `delete_server`.
pub(super) fn delete_server(doc: &mut Document, backend: &str, name: &str) -> OpResult {
    let section = backend_section(doc, backend)?;
    let index = named_line(section, "server", name)
        .ok_or_else(|| OpError::new(format!("server {name:?} not found in backend {backend:?}")))?;
    section.remove_line(index);
    Ok(())
}

/// `add_bind`.
pub(super) fn add_bind(doc: &mut Document, frontend: &str, address: &str, params: &[String]) -> OpResult {
    check_address(address)?;
    check_values(params)?;
    let section = frontend_section(doc, frontend)?;
    if named_line(section, "bind", address).is_some() {
        return Err(OpError::new(format!("bind {address:?} already exists in frontend {frontend:?}")));
    }
    let mut values = vec!["bind".to_string(), address.to_string()];
    values.extend(params.iter().cloned());
    insert_after_siblings(section, "bind", &values);
    Ok(())
}

/// `delete_bind`.
pub(super) fn delete_bind(doc: &mut Document, frontend: &str, address: &str) -> OpResult {
    let section = frontend_section(doc, frontend)?;
    let index = named_line(section, "bind", address)
        .ok_or_else(|| OpError::new(format!("bind {address:?} not found in frontend {frontend:?}")))?;
    section.remove_line(index);
    Ok(())
}

