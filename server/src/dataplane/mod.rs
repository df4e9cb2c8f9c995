//! The Data Plane API (v3) compatibility surface: clients written for HAProxy's Data Plane API
//! (Terraform providers, controllers, scripts) drive a fleet cluster unchanged, at
//! `/dataplane/{cluster}/v3/...` (`{cluster}`: its id or name), with HTTP Basic credentials of
//! a fleet user.
//!
//! ```text
//! request -> auth (Basic -> fleet user, cluster from the path, pool scope) -> handler
//!   read:  flow::read_doc (version / transaction / latest) -> fleet_core::dataplane view -> JSON
//!   write: flow::write -> fleet_core::dataplane ops (only what differs) -> stage, or commit +
//!          apply + bounded wait for the rollout -> 200/201/204, 202 + Reload-ID, or 400
//!   errors: upstream's {"code", "message"} (errors.rs)
//! ```
//!
//! Field mapping lives in fleet-core ([`fleet_core::dataplane`]); handlers extract and map.
//! The surface is not part of this server's OpenAPI document: its specification is upstream's.
//! Routes are listed in the README ("Data Plane API compatibility").

mod auth;
mod config;
mod errors;
mod extract;
mod flow;
mod info;
mod maps;
mod raw;
mod reloads;
mod runtime;
mod storage;
mod transactions;
mod upload;

use axum::routing::get;
use axum::Router;
use fleet_core::dataplane::{Model, RuleKind};

use crate::http::AppState;
use config::{children, sections, servers};

const CONFIG: &str = "/{cluster}/v3/services/haproxy/configuration";

/// Routes of one section model, with its plural in the path.
fn sections_of(router: Router<AppState>, plural: &str, model: Model) -> Router<AppState> {
    router
        .route(
            &format!("{CONFIG}/{plural}"),
            get(move |dp, q| sections::list(model, dp, q)).post(move |dp, q, body| sections::create(model, dp, q, body)),
        )
        .route(
            &format!("{CONFIG}/{plural}/{{name}}"),
            get(move |dp, p, q| sections::get(model, dp, p, q))
                .put(move |dp, p, q, body| sections::replace(model, dp, p, q, body))
                .delete(move |dp, p, q| sections::delete(model, dp, p, q)),
        )
}

/// Rule routes of one kind under one parent kind (`frontends`, `backends`).
fn rules_of(router: Router<AppState>, parents: &str, rules: children::Rules) -> Router<AppState> {
    let base = format!("{CONFIG}/{parents}/{{parent_name}}/{}", children::segment(rules.1));
    router
        .route(&base, get(move |dp, p, q| children::list(rules, dp, p, q)).put(move |dp, p, q, body| children::replace_all(rules, dp, p, q, body)))
        .route(
            &format!("{base}/{{index}}"),
            get(move |dp, p, q| children::get(rules, dp, p, q))
                .post(move |dp, p, q, body| children::create(rules, dp, p, q, body))
                .put(move |dp, p, q, body| children::replace(rules, dp, p, q, body))
                .delete(move |dp, p, q| children::delete(rules, dp, p, q)),
        )
}

/// Server routes under one parent kind.
fn servers_of(router: Router<AppState>, parent: servers::Parent) -> Router<AppState> {
    let base = format!("{CONFIG}/{}/{{parent_name}}/servers", parent.1);
    router
        .route(&base, get(move |dp, p, q| servers::list(parent, dp, p, q)).post(move |dp, p, q, body| servers::create(parent, dp, p, q, body)))
        .route(
            &format!("{base}/{{name}}"),
            get(move |dp, p, q| servers::get(parent, dp, p, q))
                .put(move |dp, p, q, body| servers::replace(parent, dp, p, q, body))
                .delete(move |dp, p, q| servers::delete(parent, dp, p, q)),
        )
}

/// Bind routes under one parent kind.
fn binds_of(router: Router<AppState>, parent: children::BindParent) -> Router<AppState> {
    let base = format!("{CONFIG}/{}/{{parent_name}}/binds", parent.1);
    router
        .route(&base, get(move |dp, p, q| children::list_binds(parent, dp, p, q)).post(move |dp, p, q, body| children::create_bind(parent, dp, p, q, body)))
        .route(
            &format!("{base}/{{name}}"),
            get(move |dp, p, q| children::get_bind(parent, dp, p, q))
                .put(move |dp, p, q, body| children::replace_bind(parent, dp, p, q, body))
                .delete(move |dp, p, q| children::delete_bind(parent, dp, p, q)),
        )
}

/// The surface's router, mounted at `/dataplane`.
pub(crate) fn routes() -> Router<AppState> {
    let v3 = Router::new()
        .route("/{cluster}/v3/info", get(info::info))
        .route(&format!("{CONFIG}/version"), get(info::version))
        .route(&format!("{CONFIG}/raw"), get(raw::get).post(raw::post).layer(axum::middleware::map_response(raw::plain_errors)))
        .route("/{cluster}/v3/services/haproxy/transactions", get(transactions::list).post(transactions::begin))
        .route(
            "/{cluster}/v3/services/haproxy/transactions/{id}",
            get(transactions::get).put(transactions::commit).delete(transactions::delete),
        )
        .route("/{cluster}/v3/services/haproxy/reloads", get(reloads::list))
        .route("/{cluster}/v3/services/haproxy/reloads/{id}", get(reloads::get));
    // `server` lines of backends, peers sections and rings; `bind` lines of frontends,
    // log-forward and peers sections (configuration.txt 3.5, 3.9, 3.10, 4).
    let mut v3 = v3;
    for parent in [("backend", "backends"), ("peers", "peers"), ("ring", "rings")] {
        v3 = servers_of(v3, parent);
    }
    for parent in [("frontend", "frontends"), ("log-forward", "log_forwards"), ("peers", "peers")] {
        v3 = binds_of(v3, parent);
    }
    let mut v3 = sections_of(v3, "backends", Model::Backend);
    for kind in [RuleKind::Acl, RuleKind::HttpRequest, RuleKind::HttpResponse, RuleKind::TcpRequest] {
        v3 = rules_of(v3, "frontends", ("frontend", kind));
        v3 = rules_of(v3, "backends", ("backend", kind));
    }
    // A fcgi-app section's private ACLs (configuration.txt 10.1.1).
    let v3 = rules_of(v3, "fcgi_apps", ("fcgi-app", RuleKind::Acl));
    let v3 = rules_of(v3, "frontends", ("frontend", RuleKind::BackendSwitching));
    let v3 = v3.route(&format!("{CONFIG}/global"), get(sections::get_global).put(sections::replace_global));
    let v3 = sections_of(v3, "resolvers", Model::Resolvers);
    let v3 = sections_of(v3, "peer_section", Model::Peers);
    let v3 = sections_of(v3, "userlists", Model::Userlist);
    let v3 = sections_of(v3, "frontends", Model::Frontend);
    let v3 = sections_of(v3, "defaults", Model::Defaults);
    // `services/haproxy/storage/...` (maps, SSL certificates, general files over bundle files),
    // `services/haproxy/runtime/...` (server state and weight over runtime actions) and
    // `services/haproxy/runtime/maps` (map entries: versions agents take at runtime).
    let v3 = maps::routes(runtime::routes(storage::routes(v3)));
    Router::new().nest("/dataplane", v3.fallback(errors::no_route).method_not_allowed_fallback(errors::method_not_allowed))
}
