//! A cluster's map files (fleet-core `maps`): each with its entry count and the config lines that
//! load it, its first entries, and forms to set an entry or remove keys. A change is one version
//! whose only change is the map file, which agents apply through the runtime API (no reload).

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::bundle::BundlePath;
use fleet_core::maps::{MapEdit, MapEntry};
use fleet_core::rbac::Permission;
use maud::html;
use serde::Deserialize;

use super::cluster::{open, tabs, Tab};
use super::error::UiResult;
use super::layout::{self, Nav};
use super::rules::{apply, Done};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// Entries shown per map (a map may hold millions; `fleet map show` lists them all).
const SHOWN: usize = 200;

/// `GET /ui/clusters/{cluster}/maps`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<Done>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let (_, maps) = state.store.map_files(cluster.id).await?;
    let mut entries = Vec::with_capacity(maps.len());
    for map in &maps {
        entries.push(state.store.map_entries(cluster.id, &map.path).await.unwrap_or_default());
    }
    let write = opened.user(Permission::Write).is_ok();
    let action = format!("/ui/clusters/{}/maps/change", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Maps))
        (layout::notice(query.done.as_deref()))
        p.muted { "Map files of the latest version: files of kind map and files a configuration loads as a map. Setting or removing an entry changes only its lines of the file, as a version the agents apply through HAProxy's runtime API, without a reload. Also " code { "fleet map" } " and " code { "POST /api/v1/clusters/" (cluster.id) "/maps/{path}" } "." }
        @if maps.is_empty() { p.muted { "No map files." } }
        @for (map, listed) in maps.iter().zip(&entries) {
            section {
                h2 { code { (map.path) } }
                p { (map.entries) " entries, " (map.size) " bytes; "
                    @if map.used_by.is_empty() { "no configuration line loads it." }
                    @else { "loaded by " @for (i, u) in map.used_by.iter().enumerate() { @if i > 0 { ", " } code { (u.keyword) } " at " (u.file) ":" (u.line) } "." }
                }
                @if !listed.is_empty() {
                    details { summary { "entries" @if listed.len() > SHOWN { " (the first " (SHOWN) ")" } }
                        table { thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                            tbody { @for e in listed.iter().take(SHOWN) { tr { td { code { (e.key) } } td { code { (e.value) } } } } } }
                    }
                }
                @if write {
                    form.row method="post" action=(action) {
                        (layout::csrf(&session))
                        input type="hidden" name="path" value=(map.path);
                        label { "Key" input name="key" placeholder="shop.example"; }
                        label { "Value" input name="value" placeholder="be_shop"; }
                        label { "Remove keys" input name="remove"; }
                        button type="submit" { "Change" }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Maps of {}", cluster.name), body))
}

/// The change form: an entry to set (key and value) and keys to remove.
#[derive(Deserialize)]
pub(crate) struct ChangeForm {
    path: String,
    key: Option<String>,
    value: Option<String>,
    remove: Option<String>,
}

/// `POST /ui/clusters/{cluster}/maps/change`.
pub(crate) async fn change(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<ChangeForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let user = opened.user(Permission::Write)?;
    let form = posted.form;
    let path = BundlePath::new(&form.path).map_err(|e| fleet_core::Error::invalid(format!("map path {:?}: {e}", form.path)))?;
    let mut edits = Vec::new();
    if let Some(key) = form.key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
        edits.push(MapEdit::Put(MapEntry { key, value: form.value.unwrap_or_default().trim().to_string() }));
    }
    edits.extend(form.remove.unwrap_or_default().split([' ', ',', '\n']).map(str::trim).filter(|k| !k.is_empty()).map(|k| MapEdit::Remove(k.to_string())));
    let message = format!("map {path}: {} edits (web UI)", edits.len());
    let done = match state.store.edit_map(user.into(), opened.cluster.id, &path, &edits, &message).await? {
        Some(committed) => format!("{path}: {}", apply(&state, &user.username, opened.cluster.id, committed.version.number).await?),
        None => format!("{path}: nothing to change"),
    };
    Ok(Redirect::to(&format!("/ui/clusters/{}/maps?done={}", urlencode(&name), urlencode(&done))).into_response())
}
