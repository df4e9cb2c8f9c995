//! The certificate store (fleet-core `certs`): upload, list, read, replace, delete, deploy into a
//! cluster's bundle, undeploy, and the expiry/rollout status. No route ever returns a private
//! key: the bodies are the store's records, which hold none.
//!
//! Access: a global certificate needs the global role (read to see it, write to change it); a
//! certificate bound to a cluster needs the role in that cluster's pool. Deploy and undeploy
//! need write in the target cluster's pool.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::bundle::BundlePath;
use fleet_core::certs::{Certificate, CrtListEntry, Upload};
use fleet_core::rbac::{Permission, Principal, Scope};
use fleet_core::{NewCertificate, Rollout};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{Json, Path};
use crate::http::AppState;

/// `/certificates/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CertificatePath {
    /// Certificate id.
    pub(super) id: i64,
}

/// The PEM texts of an upload or a replacement. `certificate` holds the server's certificate
/// first, optionally followed by its chain and even its key (HAProxy's combined file). For a
/// replacement without a key anywhere, the stored key is kept (a renewal on the same key).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReplaceBody {
    /// PEM: certificate, then optionally the chain (and the key).
    certificate: String,
    /// PEM: the chain, when not in `certificate`.
    #[serde(default)]
    chain: Option<String>,
    /// PEM: the unencrypted private key, when not in `certificate`.
    #[serde(default)]
    private_key: Option<String>,
    /// Accept a certificate past its notAfter.
    #[serde(default)]
    allow_expired: bool,
}

impl ReplaceBody {
    fn upload(&self) -> Upload<'_> {
        Upload {
            certificate: &self.certificate,
            chain: self.chain.as_deref(),
            private_key: self.private_key.as_deref(),
            allow_expired: self.allow_expired,
        }
    }
}

/// `POST /api/v1/certificates`: a name, an optional cluster, and the PEM texts.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewCertificateBody {
    /// Unique name: letters, digits, `.`, `_`, `-`; deploys default to `certs/<name>.pem`.
    name: String,
    /// Bind the certificate to one cluster (default: global, any cluster may use it).
    #[serde(default)]
    cluster_id: Option<i64>,
    #[serde(flatten)]
    pem: ReplaceBody,
}

/// `POST /api/v1/certificates/{id}/deploy`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DeployBody {
    /// The cluster whose bundle gets the certificate.
    cluster_id: i64,
    /// The bundle path (default `certs/<name>.pem`).
    #[serde(default)]
    path: Option<String>,
    /// Also set the certificate's line in this crt-list file: `{"path","options"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    crt_list: Option<CrtListEntry>,
}

/// `POST /api/v1/certificates/{id}/undeploy`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UndeployBody {
    /// The cluster.
    cluster_id: i64,
    /// The bundle path it was deployed at.
    path: String,
}

/// A certificate as listed: `{id, name, cluster_id, revision, subject, issuer, serial, sans,
/// not_before, not_after, key_type, key_bits, fingerprint_sha256, fingerprint_sha1, chain,
/// created_at, updated_at}` (times in Unix ms). Never a key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateBody(Certificate);

/// What a replacement answers: the new revision and one rollout per deployment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReplacedBody {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    certificate: Certificate,
    /// `{cluster_id, path, version, error}` per deployment: the new version, or why none.
    #[schema(value_type = Vec<Object>)]
    rollouts: Vec<Rollout>,
}

/// What a deploy answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeployedBody {
    cluster_id: i64,
    path: String,
    crt_list: Option<String>,
    /// The new version holding the certificate.
    version: i64,
    revision: i64,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// The caller as it acts on something bound to `cluster` (its pool's role), or globally.
async fn acting(state: &AppState, caller: Principal, cluster: Option<i64>) -> ApiResult<Principal> {
    Ok(match cluster {
        Some(id) => state.store.scoped(caller, Scope::Cluster(id)).await?,
        None => caller,
    })
}

/// Every certificate the caller may read.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates",
    responses((status = 200, description = "the certificates, by name", body = Vec<CertificateBody>)))]
pub(crate) async fn list_certificates(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.reader()?;
    let mut shown = Vec::new();
    for certificate in state.store.certificates().await? {
        if acting(&state, caller.clone(), certificate.cluster_id).await?.user(Permission::Read).is_ok() {
            shown.push(CertificateBody(certificate));
        }
    }
    Ok(axum::Json(shown))
}

/// Uploads a certificate. 422 with the reason for a key that does not match, a chain in the
/// wrong order or not linking, an expired certificate (without `allow_expired`), garbage;
/// nothing is stored then. 409 for a taken name.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates", request_body = NewCertificateBody,
    responses((status = 201, description = "the stored certificate (no key)", body = CertificateBody),
        (status = 409, description = "name taken"), (status = 422, description = "refused upload")))]
pub(crate) async fn create_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewCertificateBody>,
) -> ApiResult<impl IntoResponse> {
    let caller = acting(&state, caller, body.cluster_id).await?;
    let user = caller.user(Permission::Write)?;
    let new = NewCertificate { name: &body.name, cluster_id: body.cluster_id, upload: body.pem.upload() };
    let certificate = state.store.put_certificate(user.into(), &state.keyring, new).await?;
    Ok((StatusCode::CREATED, axum::Json(CertificateBody(certificate))))
}

/// The certificate `id` after the caller's permission on it.
pub(super) async fn readable(state: &AppState, caller: Principal, id: i64, permission: Permission) -> ApiResult<(Principal, Certificate)> {
    caller.reader()?;
    let certificate = state.store.certificate(id).await?;
    let caller = acting(state, caller, certificate.cluster_id).await?;
    caller.user(permission)?;
    Ok((caller, certificate))
}

/// One certificate.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates", params(CertificatePath),
    responses((status = 200, description = "the certificate (no key)", body = CertificateBody), (status = 404, description = "no such certificate")))]
pub(crate) async fn get_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
) -> ApiResult<impl IntoResponse> {
    let (_, certificate) = readable(&state, caller, path.id, Permission::Read).await?;
    Ok(axum::Json(CertificateBody(certificate)))
}

/// Replaces a certificate with a new revision (checked like an upload) and writes it into every
/// cluster that uses it: one new version each, listed in `rollouts`.
#[utoipa::path(put, path = "/api/v1/certificates/{id}", tag = "certificates", params(CertificatePath), request_body = ReplaceBody,
    responses((status = 200, description = "the new revision and its rollouts", body = ReplacedBody),
        (status = 404, description = "no such certificate"), (status = 422, description = "refused upload")))]
pub(crate) async fn replace_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
    Json(body): Json<ReplaceBody>,
) -> ApiResult<impl IntoResponse> {
    let (caller, _) = readable(&state, caller, path.id, Permission::Write).await?;
    let user = caller.user(Permission::Write)?;
    let replaced = state.store.replace_certificate(user.into(), &state.keyring, path.id, body.upload()).await?;
    for rollout in &replaced.rollouts {
        if rollout.version.is_some() {
            state.metrics.version_committed();
        }
    }
    Ok(axum::Json(ReplacedBody { certificate: replaced.certificate, rollouts: replaced.rollouts }))
}

/// Deletes a certificate and its key. 409 while it is deployed anywhere: undeploy it first.
#[utoipa::path(delete, path = "/api/v1/certificates/{id}", tag = "certificates", params(CertificatePath),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such certificate"),
        (status = 409, description = "still deployed")))]
pub(crate) async fn delete_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
) -> ApiResult<StatusCode> {
    let (caller, _) = readable(&state, caller, path.id, Permission::Write).await?;
    let user = caller.user(Permission::Write)?;
    state.store.delete_certificate(user.into(), path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Places the certificate into a cluster's bundle as HAProxy's combined file (certificate,
/// chain, key; mode 0600) at `path` (default `certs/<name>.pem`), optionally with a crt-list
/// line: one new version on the cluster's latest.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/deploy", tag = "certificates", params(CertificatePath), request_body = DeployBody,
    responses((status = 201, description = "the new version", body = DeployedBody), (status = 404, description = "no such certificate or cluster"),
        (status = 409, description = "the path holds another certificate"), (status = 422, description = "bad path, or bound to another cluster")))]
pub(crate) async fn deploy_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
    Json(body): Json<DeployBody>,
) -> ApiResult<impl IntoResponse> {
    // The certificate itself must be readable: a fleet-wide one (its key lands in the bundle)
    // needs a global role, one bound to a cluster the role in that cluster's pool.
    readable(&state, caller.clone(), path.id, Permission::Read).await?;
    let caller = acting(&state, caller, Some(body.cluster_id)).await?;
    let user = caller.user(Permission::Write)?;
    let file = body.path.as_deref().map(BundlePath::new).transpose().map_err(|e| invalid(e.to_string()))?;
    let deployed = state.store.deploy_certificate(user.into(), &state.keyring, path.id, body.cluster_id, file, body.crt_list.as_ref()).await?;
    state.metrics.version_committed();
    let deployment = deployed.deployment;
    let answer = DeployedBody {
        cluster_id: deployment.cluster_id,
        path: deployment.path.to_string(),
        crt_list: deployment.crt_list.map(|p| p.to_string()),
        version: deployed.committed.version.number,
        revision: deployment.revision,
    };
    Ok((StatusCode::CREATED, axum::Json(answer)))
}

/// Removes the certificate from a cluster's bundle (and its crt-list line): one new version.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/undeploy", tag = "certificates", params(CertificatePath), request_body = UndeployBody,
    responses((status = 200, description = "the new version", body = super::CommittedBody), (status = 404, description = "not deployed there")))]
pub(crate) async fn undeploy_certificate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
    Json(body): Json<UndeployBody>,
) -> ApiResult<impl IntoResponse> {
    // The certificate itself must be readable: a fleet-wide one (its key lands in the bundle)
    // needs a global role, one bound to a cluster the role in that cluster's pool.
    readable(&state, caller.clone(), path.id, Permission::Read).await?;
    let caller = acting(&state, caller, Some(body.cluster_id)).await?;
    let user = caller.user(Permission::Write)?;
    let file = BundlePath::new(&body.path).map_err(|e| invalid(e.to_string()))?;
    let committed = state.store.undeploy_certificate(user.into(), path.id, body.cluster_id, &file).await?;
    Ok(super::committed(&state, StatusCode::OK, committed))
}

/// Expiry and rollout: `{certificate, days_left, warning_days, warning, deployments: [{cluster_id,
/// path, crt_list, version, revision, current, nodes: [{agent_id, agent, filename, sha1, serial,
/// current, reported_at}]}], renewal}`; a node whose `current` is false serves another
/// certificate; `renewal` is the ACME renewal (as `GET .../renewal`), null when not kept renewed.
#[utoipa::path(get, path = "/api/v1/certificates/{id}/status", tag = "certificates", params(CertificatePath),
    responses((status = 200, description = "the status", body = fleet_core::certs::CertificateStatus), (status = 404, description = "no such certificate")))]
pub(crate) async fn certificate_status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(path): Path<CertificatePath>,
) -> ApiResult<impl IntoResponse> {
    readable(&state, caller, path.id, Permission::Read).await?;
    Ok(axum::Json(state.store.certificate_status(path.id).await?))
}
