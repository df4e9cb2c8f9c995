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
        .route("/{cluster}/v3/services/haproxy/reloads/{id}", get(reloads::get))
        .route(&format!("{CONFIG}/backends/{{parent_name}}/servers"), get(servers::list).post(servers::create))
        .route(
            &format!("{CONFIG}/backends/{{parent_name}}/servers/{{name}}"),
            get(servers::get).put(servers::replace).delete(servers::delete),
        );
    let v3 = v3
        .route(&format!("{CONFIG}/frontends/{{parent_name}}/binds"), get(children::list_binds).post(children::create_bind))
        .route(
            &format!("{CONFIG}/frontends/{{parent_name}}/binds/{{name}}"),
            get(children::get_bind).put(children::replace_bind).delete(children::delete_bind),
        );
    let mut v3 = sections_of(v3, "backends", Model::Backend);
    for kind in [RuleKind::Acl, RuleKind::HttpRequest, RuleKind::HttpResponse, RuleKind::TcpRequest] {
        v3 = rules_of(v3, "frontends", ("frontend", kind));
        v3 = rules_of(v3, "backends", ("backend", kind));
    }
    let v3 = rules_of(v3, "frontends", ("frontend", RuleKind::BackendSwitching));
    let v3 = v3.route(&format!("{CONFIG}/global"), get(sections::get_global).put(sections::replace_global));
    let v3 = sections_of(v3, "resolvers", Model::Resolvers);
    let v3 = sections_of(v3, "peer_section", Model::Peers);
    let v3 = sections_of(v3, "userlists", Model::Userlist);
    let v3 = sections_of(v3, "frontends", Model::Frontend);
    let v3 = sections_of(v3, "defaults", Model::Defaults);
    // `services/haproxy/storage/...` (maps, SSL certificates, general files over bundle files)
    // and `services/haproxy/runtime/...` (server state and weight over runtime actions).
    let v3 = runtime::routes(storage::routes(v3));
    Router::new().nest("/dataplane", v3.fallback(errors::no_route).method_not_allowed_fallback(errors::method_not_allowed))
}
