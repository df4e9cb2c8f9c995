//! Route handlers, one file per resource family. Each handler extracts, asks the caller's
//! principal for the permission it needs, calls fleet-core and maps the result.

mod accounts;
mod acme;
mod agent;
mod agents_admin;
mod certificates;
mod clusters;
mod config;
mod files;
mod proxies;
mod renewals;
mod runtime;
mod system;
mod transactions;
mod users;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::Committed;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// Every route of the API.
pub(super) fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(system::health))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi))
        .routes(routes!(users::login))
        .routes(routes!(users::logout))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::create_token))
        .routes(routes!(users::revoke_token))
        .routes(routes!(users::audit))
        .routes(routes!(users::login_mfa))
        .routes(routes!(users::update_user, users::delete_user))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::reset_mfa))
        .routes(routes!(users::list_tokens))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::mfa_enrol))
        .routes(routes!(accounts::mfa_confirm))
        .routes(routes!(accounts::mfa_recovery_codes))
        .routes(routes!(accounts::mfa_disable))
        .routes(routes!(accounts::get_security, accounts::put_security))
        .routes(routes!(agents_admin::list_agents))
        .routes(routes!(agents_admin::revoke_agent))
        .routes(routes!(agents_admin::rotate_agent_token))
        .routes(routes!(agents_admin::list_enrolments))
        .routes(routes!(agents_admin::revoke_enrolment))
        .routes(routes!(clusters::list_pools, clusters::create_pool))
        .routes(routes!(clusters::get_pool, clusters::delete_pool))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(clusters::get_cluster))
        .routes(routes!(clusters::put_settings))
        .routes(routes!(clusters::status))
        .routes(routes!(clusters::apply))
        .routes(routes!(clusters::create_enrolment))
        .routes(routes!(config::import))
        .routes(routes!(config::get_config, config::put_config))
        .routes(routes!(config::list_versions))
        .routes(routes!(config::get_version))
        .routes(routes!(config::diff))
        .routes(routes!(config::restore))
        .routes(routes!(files::list_files))
        .routes(routes!(files::get_file, files::put_file, files::delete_file))
        .routes(routes!(files::get_bundle))
        .routes(routes!(transactions::list, transactions::begin))
        .routes(routes!(transactions::get, transactions::commit, transactions::discard))
        .routes(routes!(transactions::stage))
        .routes(routes!(proxies::list_backends, proxies::add_backend))
        .routes(routes!(proxies::get_backend, proxies::update_backend, proxies::delete_backend))
        .routes(routes!(proxies::list_servers, proxies::add_server))
        .routes(routes!(proxies::get_server, proxies::update_server, proxies::delete_server))
        .routes(routes!(proxies::list_frontends, proxies::add_frontend))
        .routes(routes!(proxies::get_frontend, proxies::update_frontend, proxies::delete_frontend))
        .routes(routes!(proxies::list_binds, proxies::add_bind))
        .routes(routes!(proxies::delete_bind))
        .routes(routes!(proxies::list_acls, proxies::add_acl))
        .routes(routes!(proxies::delete_acl))
        .routes(routes!(proxies::list_rules, proxies::add_rule))
        .routes(routes!(proxies::delete_rule))
        .routes(routes!(certificates::list_certificates, certificates::create_certificate))
        .routes(routes!(certificates::get_certificate, certificates::replace_certificate, certificates::delete_certificate))
        .routes(routes!(certificates::deploy_certificate))
        .routes(routes!(certificates::undeploy_certificate))
        .routes(routes!(certificates::certificate_status))
        .routes(routes!(agent::enroll))
        .routes(routes!(agent::desired))
        .routes(routes!(agent::report))
        .routes(routes!(agent::heartbeat))
        .routes(routes!(agent::adopt))
        .routes(routes!(runtime::queue))
        .routes(routes!(runtime::get))
        .routes(routes!(runtime::pending))
        .routes(routes!(runtime::results))
        .routes(routes!(renewals::list_renewals))
        .routes(routes!(renewals::get_renewal))
        .routes(routes!(acme::list_accounts, acme::create_account))
        .routes(routes!(acme::create_order))
        .routes(routes!(acme::get_order))
}

/// The OpenAPI form of axum's catch-all segments: `{*path}` is `{path}` in the document (a
/// parameter that may hold slashes), so generators and validators read it.
pub(super) fn openapi_paths(openapi: &mut utoipa::openapi::OpenApi) {
    let paths = std::mem::take(&mut openapi.paths.paths);
    openapi.paths.paths = paths.into_iter().map(|(path, item)| (path.replace("{*", "{"), item)).collect();
}

/// `/clusters/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ClusterPath {
    /// Cluster id.
    id: i64,
}

/// An optional commit message (`?message=...`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MessageQuery {
    /// Why: stored with the version.
    #[serde(default)]
    message: String,
}

/// What import, replace, commit and restore answer.
#[derive(Debug, Serialize)]
struct CommittedBody {
    version: i64,
    sha256: String,
    digest: String,
    parent: Option<i64>,
    warnings: Vec<haproxy_model::Diagnostic>,
}

/// `201 {version, sha256, parent, warnings}`, counted in the metrics.
fn committed(state: &AppState, status: StatusCode, committed: Committed) -> Response {
    state.metrics.version_committed();
    let body = CommittedBody {
        version: committed.version.number,
        sha256: committed.version.sha256,
        digest: committed.version.digest,
        parent: committed.version.parent,
        warnings: committed.warnings,
    };
    (status, axum::Json(body)).into_response()
}
