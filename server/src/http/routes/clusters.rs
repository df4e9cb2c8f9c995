//! Pools, clusters, status, apply and enrolments.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleet_core::rbac::Permission;
use fleet_core::{ClusterSettings, EnrolmentRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ClusterPath;
use crate::errors::ApiResult;
use crate::http::auth::{Caller, ScopedCaller};
use crate::http::extract::{Json, Path, Query};
use crate::http::AppState;

/// `POST /api/v1/pools`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewPool {
    /// Unique: 1-100 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,100}$")]
    name: String,
    #[serde(default)]
    description: String,
}

/// Every pool.
#[utoipa::path(get, path = "/api/v1/pools", tag = "pools", responses((status = 200, description = "pools", body = Vec<fleet_core::Pool>)))]
pub(crate) async fn list_pools(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.reader()?;
    let pools = state.store.pools().await?.into_iter().filter(|p| caller.sees_pool(p.id));
    Ok(axum::Json(pools.collect::<Vec<_>>()))
}

/// Creates a pool (a global operator or admin: a role held in a pool does not reach here).
#[utoipa::path(post, path = "/api/v1/pools", tag = "pools", request_body = NewPool, responses((status = 201, description = "the pool", body = fleet_core::Pool)))]
pub(crate) async fn create_pool(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewPool>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let pool = state.store.create_pool(&user.username, &body.name, &body.description).await?;
    Ok((StatusCode::CREATED, axum::Json(pool)))
}

/// `/pools/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PoolPath {
    /// Pool id.
    pub(super) id: i64,
}

/// One pool.
#[utoipa::path(get, path = "/api/v1/pools/{id}", tag = "pools", params(PoolPath), responses((status = 200, description = "the pool", body = fleet_core::Pool)))]
pub(crate) async fn get_pool(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<PoolPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.pool_by_id(path.id).await?))
}

/// `?force=true` on a delete.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForceQuery {
    /// Also when agents are enrolled (or, for a pool, when it has clusters): their tokens are
    /// revoked (their next call answers 410 Gone and they exit, leaving HAProxy serving) and
    /// everything of the cluster or pool is deleted.
    #[serde(default)]
    force: bool,
}

/// Deletes a pool (a global admin; a role held in the pool does not reach here). A pool with
/// clusters is refused (409 naming them and the count of enrolled agents) unless `force=true`:
/// then every cluster goes too, its agents' tokens revoked. Audited; the audit log keeps its
/// history.
#[utoipa::path(delete, path = "/api/v1/pools/{id}", tag = "pools", params(PoolPath, ForceQuery),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such pool"),
        (status = 409, description = "the pool has clusters and force is not set")))]
pub(crate) async fn delete_pool(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<PoolPath>,
    Query(query): Query<ForceQuery>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.delete_pool(&admin.username, path.id, query.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/clusters`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewCluster {
    /// Unique: 1-100 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,100}$")]
    name: String,
    pool_id: i64,
    /// `{config_path, reload_mode}`; defaults when absent (`allowed_privileges` is set
    /// afterwards, by an admin, with `PUT /clusters/{id}/settings`).
    #[serde(default)]
    #[schema(schema_with = new_cluster_settings)]
    settings: Option<ClusterSettings>,
}

/// A new cluster's settings: `ClusterSettings` without `allowed_privileges` (null or absent:
/// the defaults).
fn new_cluster_settings() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    let no_privileges = ObjectBuilder::new().property("allowed_privileges", ArrayBuilder::new().max_items(Some(0)));
    let settings = AllOfBuilder::new().item(utoipa::openapi::Ref::from_schema_name("ClusterSettings")).item(no_privileges);
    Schema::OneOf(OneOfBuilder::new().item(ObjectBuilder::new().schema_type(Type::Null)).item(settings).build())
}

/// `?pool_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClustersQuery {
    /// Only the clusters of this pool.
    pool_id: Option<i64>,
}

/// Every cluster (of a pool).
#[utoipa::path(get, path = "/api/v1/clusters", tag = "clusters", params(ClustersQuery), responses((status = 200, description = "clusters", body = Vec<fleet_core::Cluster>)))]
pub(crate) async fn list_clusters(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ClustersQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.reader()?;
    let clusters = state.store.clusters(query.pool_id).await?.into_iter().filter(|c| caller.sees_pool(c.pool_id));
    Ok(axum::Json(clusters.collect::<Vec<_>>()))
}

/// Creates a cluster in a pool.
#[utoipa::path(post, path = "/api/v1/clusters", tag = "clusters", request_body = NewCluster, responses((status = 201, description = "the cluster", body = fleet_core::Cluster),
    (status = 404, description = "no such pool")))]
pub(crate) async fn create_cluster(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewCluster>,
) -> ApiResult<impl IntoResponse> {
    let caller = caller.in_pool(body.pool_id);
    let user = caller.user(Permission::Write)?;
    let settings = body.settings.unwrap_or_default();
    let cluster = state.store.create_cluster(&user.username, &body.name, body.pool_id, settings).await?;
    Ok((StatusCode::CREATED, axum::Json(cluster)))
}

/// One cluster.
#[utoipa::path(get, path = "/api/v1/clusters/{id}", tag = "clusters", params(ClusterPath), responses((status = 200, description = "the cluster", body = fleet_core::Cluster)))]
pub(crate) async fn get_cluster(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.cluster(path.id).await?))
}

/// Deletes a cluster with its versions and everything of it (an admin, in its pool or
/// globally). While agents are enrolled it is refused (409 naming how many) unless
/// `force=true`: their tokens are revoked first (their next call answers 410 Gone and they
/// exit, leaving HAProxy serving). Audited; the audit log keeps its history.
#[utoipa::path(delete, path = "/api/v1/clusters/{id}", tag = "clusters", params(ClusterPath, ForceQuery),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such cluster"),
        (status = 409, description = "the cluster has enrolled agents and force is not set")))]
pub(crate) async fn delete_cluster(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<ForceQuery>,
) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.delete_cluster(&admin.username, path.id, query.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a cluster's settings (`{config_path, reload_mode, allowed_privileges}`; an absent
/// field takes its default). Changing `allowed_privileges` needs the admin role.
#[utoipa::path(put, path = "/api/v1/clusters/{id}/settings", tag = "clusters", params(ClusterPath),
    request_body(content = ClusterSettings, description = "the cluster's settings"),
    responses((status = 200, description = "the cluster", body = fleet_core::Cluster), (status = 403, description = "allowed_privileges changed by a non-admin")))]
pub(crate) async fn put_settings(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Json(settings): Json<ClusterSettings>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    Ok(axum::Json(state.store.update_cluster_settings(user.into(), path.id, settings).await?))
}

/// The desired version and every agent's last report.
#[utoipa::path(get, path = "/api/v1/clusters/{id}/status", tag = "clusters", params(ClusterPath), responses((status = 200, description = "status", body = fleet_core::ClusterStatus)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.status(path.id).await?))
}

/// `POST /clusters/{id}/apply`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ApplyRequest {
    /// The version the agents should run.
    version: i64,
    /// How it reaches the agents: `"all"` at once (the default), or stages
    /// `{"canary":{"agents":1},"batches":{"percent":50},"max_failures":0}`.
    #[serde(default)]
    strategy: Option<fleet_core::rollouts::StrategySpec>,
}

/// `?wait=SECONDS`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyQuery {
    /// Answer when the rollout ended (succeeded, halted, rolled back or aborted), or after
    /// this many seconds with the rollout as it stands (default 0: at once; at most 3600).
    #[param(minimum = 0, maximum = 3600)]
    wait: Option<u64>,
}

/// Sets the desired version by a strategy (every agent at once by default); long-polling
/// agents of the first stage are answered at once. Answers the rollout (`rollout_id`, `state`,
/// `agents` with each one's `outcome`), after its end with `?wait=`.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/apply", tag = "clusters", params(ClusterPath, ApplyQuery), request_body = ApplyRequest,
    responses((status = 200, description = "the desired version and its rollout", body = Applied),
        (status = 422, description = "a strategy that does not check (the field is named), or a wait beyond 3600 s"),
        (status = 409, description = "another apply of the cluster won at the same moment")))]
pub(crate) async fn apply(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    Query(query): Query<ApplyQuery>,
    Json(body): Json<ApplyRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = caller.user(Permission::Write)?;
    let wait = query.wait.unwrap_or(0);
    // An unknown cluster is a 404 before the query's and the body's rules.
    state.store.cluster(path.id).await?;
    if wait > super::rollouts::MAX_WAIT_SECONDS {
        return Err(fleet_core::Error::invalid(format!("wait must be at most {} seconds, not {wait}", super::rollouts::MAX_WAIT_SECONDS)).into());
    }
    let strategy = body.strategy.map(|s| s.strategy()).unwrap_or_default();
    let (info, rollout) = state.desired.start_rollout(&user.username, path.id, body.version, &strategy).await?;
    let rollout = super::rollouts::settled(&state, rollout, wait).await?;
    Ok(axum::Json(Applied { desired_version: info.number, sha256: info.sha256, rollout }))
}

/// What `apply` answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Applied {
    /// The version the agents now follow (stage by stage for a staged strategy).
    desired_version: i64,
    /// Hex SHA-256 of its first config file.
    sha256: String,
    /// The rollout.
    #[serde(flatten)]
    rollout: fleet_core::rollouts::Rollout,
}

/// `POST /clusters/{id}/enrollments`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewEnrolment {
    /// The agent's name in the cluster: 1-100 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,100}$")]
    name: String,
    /// Source networks allowed to enrol (empty: any).
    #[serde(default)]
    allowed_cidrs: Vec<String>,
    /// Lifetime of the secret, 1 s to 7 days (default: the server's `--enrolment-ttl`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604_800)]
    ttl_seconds: Option<u64>,
}

/// Creates a one-time enrolment: `{id, secret, install_command, install_script, expires_at}`
/// (admin). `install_script` (`{url, sha256, command}`) is the one-line install from this
/// server's `/install/agent.sh`, null when it hands out no agent binary.
#[utoipa::path(post, path = "/api/v1/clusters/{id}/enrollments", tag = "agents", params(ClusterPath), request_body = NewEnrolment,
    responses((status = 201, description = "the secret (shown once) and the install command", body = fleet_core::IssuedEnrolment)))]
pub(crate) async fn create_enrolment(
    State(state): State<AppState>,
    ScopedCaller(caller): ScopedCaller,
    Path(path): Path<ClusterPath>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Json(body): Json<NewEnrolment>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let request = EnrolmentRequest {
        name: body.name,
        allowed_cidrs: body.allowed_cidrs,
        ttl: body.ttl_seconds.map(Duration::from_secs),
    };
    let issued = crate::http::issue_enrolment(&state, &headers, &uri, &admin.username, path.id, request).await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}
