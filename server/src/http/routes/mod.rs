//! Route handlers, one file per resource family. Each handler extracts, asks the caller's
//! principal for the permission it needs, calls fleet-core and maps the result.

mod accounts;
mod acme;
pub(crate) mod agent;
mod agents_admin;
mod certificates;
mod clusters;
mod config;
mod alerts;
mod backup;
mod dns_providers;
mod events;
mod failover;
mod files;
pub(crate) mod install;
mod jobs;
mod maps;
mod proxies;
pub(crate) mod releases;
mod renewals;
mod rules;
mod runtime;
mod rollouts;
mod schedules;
mod stats;
mod system;
mod transactions;
mod users;
mod vips;

pub(crate) use agent::Peer;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fleet_core::Committed;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// Every route of the API.
pub(super) fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(system::health))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi))
        .routes(routes!(backup::create_backup))
        .routes(routes!(install::agent_script))
        .routes(routes!(install::agent_binary))
        .routes(routes!(releases::list_releases))
        .routes(routes!(releases::release_binary))
        .routes(routes!(releases::release_signature))
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
        .routes(routes!(agents_admin::decommission_agent))
        .routes(routes!(agents_admin::list_enrolments))
        .routes(routes!(agents_admin::revoke_enrolment))
        .routes(routes!(clusters::list_pools, clusters::create_pool))
        .routes(routes!(clusters::get_pool, clusters::delete_pool))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(clusters::get_cluster, clusters::delete_cluster))
        .routes(routes!(clusters::put_settings))
        .routes(routes!(clusters::status))
        .routes(routes!(stats::cluster_stats))
        .routes(routes!(clusters::apply))
        .routes(routes!(rollouts::list_rollouts))
        .routes(routes!(rollouts::get_rollout))
        .routes(routes!(rollouts::pause_rollout))
        .routes(routes!(rollouts::resume_rollout))
        .routes(routes!(rollouts::abort_rollout))
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
        .routes(routes!(dns_providers::list_providers, dns_providers::create_provider))
        .routes(routes!(dns_providers::get_provider, dns_providers::delete_provider))
        .routes(routes!(dns_providers::test_provider))
        .routes(routes!(certificates::undeploy_certificate))
        .routes(routes!(certificates::certificate_status))
        .routes(routes!(agent::enroll))
        .routes(routes!(agent::desired))
        .routes(routes!(agent::report))
        .routes(routes!(agent::heartbeat))
        .routes(routes!(agent::adopt))
        .routes(routes!(agent::agent_me))
        .routes(routes!(agent::adopt_keepalived))
        .routes(routes!(runtime::queue))
        .routes(routes!(runtime::get))
        .routes(routes!(runtime::pending))
        .routes(routes!(runtime::results))
        .routes(routes!(jobs::list_jobs, jobs::create_job))
        .routes(routes!(jobs::get_job))
        .routes(routes!(jobs::cancel_job))
        .routes(routes!(jobs::list_snapshots))
        .routes(routes!(jobs::get_snapshot))
        .routes(routes!(jobs::diff_snapshot))
        .routes(routes!(jobs::promote_snapshot))
        .routes(routes!(jobs::agent_jobs))
        .routes(routes!(jobs::agent_job_result))
        .routes(routes!(jobs::agent_snapshot_upload))
        .routes(routes!(jobs::agent_snapshot))
        .routes(routes!(renewals::list_renewals))
        .routes(routes!(renewals::get_renewal))
        .routes(routes!(acme::list_accounts, acme::create_account))
        .routes(routes!(acme::create_order))
        .routes(routes!(acme::list_orders))
        .routes(routes!(acme::get_order))
        .routes(routes!(vips::list_vips, vips::create_vip))
        .routes(routes!(vips::get_vip, vips::update_vip, vips::delete_vip))
        .routes(routes!(vips::failover_vip))
        .routes(routes!(rules::list_traffic_rules, rules::create_traffic_rule))
        .routes(routes!(rules::get_traffic_rule, rules::update_traffic_rule, rules::delete_traffic_rule))
        .routes(routes!(rules::traffic_rule_entries))
        .routes(routes!(rules::traffic_rule_hits))
        .routes(routes!(rules::put_geo_map))
        .routes(routes!(maps::list_maps))
        .routes(routes!(maps::get_map, maps::change_map))
        .routes(routes!(failover::get_failover, failover::put_failover))
        .routes(routes!(failover::activate))
        .routes(routes!(failover::cutover))
        .routes(routes!(failover::events))
        .routes(routes!(alerts::list_alert_rules, alerts::create_alert_rule))
        .routes(routes!(alerts::get_alert_rule, alerts::put_alert_rule, alerts::delete_alert_rule))
        .routes(routes!(alerts::silence_alert_rule))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(events::event_stream))
        .routes(routes!(schedules::list_schedules, schedules::create_schedule))
        .routes(routes!(schedules::preview))
        .routes(routes!(schedules::get_schedule, schedules::put_schedule, schedules::delete_schedule))
        .routes(routes!(schedules::schedule_runs))
}

/// The OpenAPI form of axum's catch-all segments: `{*path}` is `{path}` in the document (a
/// parameter that may hold slashes), so generators and validators read it; and a cluster's or
/// pool's `{id}` is an id or a name, as the API takes it.
pub(super) fn openapi_paths(openapi: &mut utoipa::openapi::OpenApi) {
    let paths = std::mem::take(&mut openapi.paths.paths);
    openapi.paths.paths = paths.into_iter().map(|(path, item)| (path.replace("{*", "{"), item)).collect();
    for (path, item) in openapi.paths.paths.iter_mut() {
        if path.starts_with("/api/v1/clusters/{id}") || path.starts_with("/api/v1/pools/{id}") {
            for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "id" && parameter.parameter_in == utoipa::openapi::path::ParameterIn::Path {
                        parameter.schema = Some(id_or_name());
                        parameter.description = Some("the id, or the name (a name that reads as an integer is reached by its id)".into());
                    }
                }
            }
        }
    }
}

/// A cluster's or pool's `{id}` in a path: the numeric id or the name (a name that reads as an
/// integer is reached by its id only).
fn id_or_name() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let id = ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(100))
        .pattern(Some("^[A-Za-z0-9._-]*[A-Za-z._][A-Za-z0-9._-]*$"));
    OneOfBuilder::new().item(id).item(name).into()
}

/// Documents the error answers of every operation, with the shared `Error` schema
/// (`crate::errors`). The statuses a route can answer follow from what it extracts, in the
/// order the extractors run, so they are derived here once from the operation's shape instead
/// of being repeated (and forgotten) on each route:
///
/// ```text
/// parameters or a body -> 400 (a path, query or JSON body that does not parse)
/// bearer token         -> 401 (none, unknown or expired), 403 (role, pool scope, kind of token)
/// path parameters      -> 404 (no such cluster, version, name ...)
/// a body               -> 413 (over the route's body limit), 422 (not the body's shape or rules)
/// `?transaction_id=` write -> 422 (the staged op does not apply to the transaction's text)
/// a JSON body          -> 415 (not sent as application/json)
/// a write              -> 409 (a name taken, a stale base, a transaction not open ...), 507 (disk full)
/// ```
///
/// A route adds what only it can answer (429 of login throttling, of the open-transaction and
/// long-poll limits ...) in its own `responses(...)`; a status a route declares keeps its
/// description, and gets the `Error` schema when it has no content.
pub(super) fn document_errors(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, ParameterIn};
    use utoipa::openapi::security::SecurityRequirement;

    let public = [SecurityRequirement::default()];
    for item in openapi.paths.paths.values_mut() {
        for (method, operation) in [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Patch, &mut item.patch),
            (HttpMethod::Delete, &mut item.delete),
        ] {
            let Some(operation) = operation else { continue };
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let in_path = parameters.iter().any(|p| p.parameter_in == ParameterIn::Path);
            let body = operation.request_body.as_ref();
            let json_body = body.is_some_and(|b| b.content.contains_key("application/json"));
            let secured = operation.security.as_deref() != Some(&public[..]);
            let write = method != HttpMethod::Get;
            let stages = write && parameters.iter().any(|p| p.parameter_in == ParameterIn::Query && p.name == "transaction_id");
            let auth_route = operation.tags.as_deref().is_some_and(|tags| tags.iter().any(|t| t == "auth"));
            let statuses = [
                (!parameters.is_empty() || body.is_some(), "400", "malformed request: a path, query or body that does not parse"),
                (secured, "401", "missing, unknown or expired credentials (`WWW-Authenticate: Bearer`)"),
                (secured, "403", "the caller's role, pool scope or kind of token does not allow this"),
                (in_path, "404", "no such resource"),
                (write && !auth_route, "409", "conflicts with the current state: a name taken, a stale base version, a transaction no longer open"),
                (body.is_some(), "413", "the body is over this route's limit (names the limit and its flag)"),
                (json_body, "415", "the body was not sent as application/json"),
                (body.is_some() || stages, "422", "the body is not the route's shape or breaks its rules, or the op does not apply to the transaction (with line and column for configurations)"),
                (write, "507", "the database's disk is full: nothing was written; retry once space is freed"),
            ];
            let responses = &mut operation.responses.responses;
            for (_, status, description) in statuses.into_iter().filter(|(applies, _, _)| *applies) {
                responses.entry(status.to_string()).or_insert_with(|| error_response(description).into());
            }
            for (status, response) in responses.iter_mut() {
                if let (true, utoipa::openapi::RefOr::T(response)) = (status.as_str() >= "400", response) {
                    if response.content.is_empty() {
                        *response = error_response(&response.description);
                    }
                }
            }
        }
    }
}

/// An error answer: `description`, with the `Error` schema as JSON.
fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build()
}

/// Whether a feature's change (a VIP, a traffic rule) has its version applied (`?apply=false`
/// only commits it).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyQuery {
    /// Apply the new version (default true) when the agents run the version before it.
    #[serde(default = "yes")]
    pub(crate) apply: bool,
}

fn yes() -> bool {
    true
}

/// Applies `version`, made by a feature's change, when `apply` and the agents run the version
/// just before it (`Store::apply_blocker`): `None` once applied, else why it was not.
pub(crate) async fn apply_change(state: &AppState, actor: &str, cluster_id: i64, version: i64, apply: bool) -> crate::errors::ApiResult<Option<String>> {
    let not_applied = if apply {
        state.store.apply_blocker(cluster_id, version).await?
    } else {
        Some("apply=false".to_string())
    };
    if not_applied.is_none() {
        state.desired.apply(actor, cluster_id, version).await?;
    }
    Ok(not_applied)
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
#[serde(deny_unknown_fields)]
pub(crate) struct MessageQuery {
    /// Why: stored with the version.
    #[serde(default)]
    message: String,
}

/// What import, replace, commit and restore answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommittedBody {
    /// The new version's number.
    version: i64,
    /// Hex SHA-256 of the first config file's text.
    sha256: String,
    /// The bundle's digest (what agents compare).
    digest: String,
    /// The version it was made from.
    parent: Option<i64>,
    /// Warnings of the offline check (errors would have refused the version).
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
