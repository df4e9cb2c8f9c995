//! Typed edits from forms: each posts one or two fleet-core [`EditOp`]s, committed as the next
//! version on the version the form was drawn from ([`fleet_core::Store::edit`]: begin, stage,
//! commit, discarded on any refusal), then shows the diff. The ops, their checks and the
//! gate are fleet-core's: the same as `POST /api/v1/clusters/{id}/backends/...`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use fleet_core::EditOp;
use serde::Deserialize;

use super::cluster::open;
use super::error::{UiError, UiResult};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// Commits `ops` on `base` with `message`, then goes to the new version's diff.
async fn commit(state: &AppState, name: &str, session: &Session, base: i64, ops: Vec<EditOp>, message: String) -> UiResult<Response> {
    let opened = open(state, session, name).await?;
    let committed = state.store.edit(opened.actor(Permission::Write)?, opened.cluster.id, base, ops, &message).await?;
    let n = committed.version.number;
    Ok(Redirect::to(&format!("/ui/clusters/{}/diff?from={}&to={n}", urlencode(name), n - 1)).into_response())
}

/// Blank-separated words of a form field (no quoting: a word with blanks needs the editor).
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// Parses an optional weight field.
fn weight(text: Option<&str>) -> UiResult<Option<u32>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse::<u32>().map(Some).map_err(|_| UiError::bad_request(format!("weight {t:?} is not a whole number"))),
    }
}

/// `POST .../edit/server`: `op=add` (name, address, weight?), `op=update` (weight) or
/// `op=delete`.
#[derive(Deserialize)]
pub(crate) struct ServerForm {
    base: i64,
    backend: String,
    name: String,
    op: String,
    address: Option<String>,
    weight: Option<String>,
}

/// `POST /ui/clusters/{cluster}/edit/server`.
pub(crate) async fn server(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<ServerForm>) -> UiResult<Response> {
    let f = posted.form;
    let weight = weight(f.weight.as_deref())?;
    let (op, message) = match f.op.as_str() {
        "add" => {
            let address = non_empty(f.address).ok_or_else(|| UiError::bad_request("a new server needs an address"))?;
            let op = EditOp::AddServer { backend: f.backend.clone(), name: f.name.clone(), address, weight, backup: false, disabled: false, params: Vec::new() };
            (op, format!("add server {}/{}", f.backend, f.name))
        }
        "update" => {
            let weight = weight.ok_or_else(|| UiError::bad_request("give the new weight"))?;
            let op = EditOp::UpdateServer { backend: f.backend.clone(), name: f.name.clone(), address: None, weight: Some(weight), backup: None, disabled: None, params: None };
            (op, format!("set the weight of {}/{} to {weight}", f.backend, f.name))
        }
        "delete" => (EditOp::DeleteServer { backend: f.backend.clone(), name: f.name.clone() }, format!("remove server {}/{}", f.backend, f.name)),
        other => return Err(UiError::bad_request(format!("unknown server edit {other:?}"))),
    };
    commit(&state, &name, &posted.session, f.base, vec![op], message).await
}

/// `POST .../edit/backend`.
#[derive(Deserialize)]
pub(crate) struct BackendForm {
    base: i64,
    name: String,
    balance: Option<String>,
}

/// `POST /ui/clusters/{cluster}/edit/backend`: a new backend, with `balance` when given.
pub(crate) async fn backend(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<BackendForm>) -> UiResult<Response> {
    let f = posted.form;
    let lines = non_empty(f.balance).map(|b| vec![format!("balance {b}")]).unwrap_or_default();
    let op = EditOp::AddBackend { name: f.name.clone(), from: None, lines };
    commit(&state, &name, &posted.session, f.base, vec![op], format!("add backend {}", f.name)).await
}

/// `POST .../edit/bind`.
#[derive(Deserialize)]
pub(crate) struct BindForm {
    base: i64,
    frontend: String,
    address: String,
    params: Option<String>,
}

/// `POST /ui/clusters/{cluster}/edit/bind`.
pub(crate) async fn bind(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<BindForm>) -> UiResult<Response> {
    let f = posted.form;
    let op = EditOp::AddBind { frontend: f.frontend.clone(), address: f.address.trim().to_string(), params: words(f.params.as_deref().unwrap_or("")) };
    commit(&state, &name, &posted.session, f.base, vec![op], format!("bind {} on {}", f.address.trim(), f.frontend)).await
}

/// `POST .../edit/acl`.
#[derive(Deserialize)]
pub(crate) struct AclForm {
    base: i64,
    proxy: String,
    name: String,
    words: String,
}

/// `POST /ui/clusters/{cluster}/edit/acl`.
pub(crate) async fn acl(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<AclForm>) -> UiResult<Response> {
    let f = posted.form;
    let op = EditOp::AddAcl { proxy: f.proxy.clone(), name: f.name.clone(), words: words(&f.words) };
    commit(&state, &name, &posted.session, f.base, vec![op], format!("acl {} in {}", f.name, f.proxy)).await
}

/// `POST .../edit/use-backend`.
#[derive(Deserialize)]
pub(crate) struct UseBackendForm {
    base: i64,
    frontend: String,
    backend: String,
    condition: Option<String>,
}

/// `POST /ui/clusters/{cluster}/edit/use-backend`: `use_backend <backend> [if|unless ...]`.
pub(crate) async fn use_backend(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<UseBackendForm>) -> UiResult<Response> {
    let f = posted.form;
    let mut rule = vec!["use_backend".to_string(), f.backend.trim().to_string()];
    rule.extend(words(f.condition.as_deref().unwrap_or("")));
    let op = EditOp::AddRule { proxy: f.frontend.clone(), words: rule, position: None };
    commit(&state, &name, &posted.session, f.base, vec![op], format!("use_backend {} in {}", f.backend.trim(), f.frontend)).await
}
