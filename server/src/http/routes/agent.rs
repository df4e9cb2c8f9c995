//! The agent protocol (see `fleet_core::wire`): enrol with a one-time secret, long-poll the
//! desired state, report apply outcomes, heartbeat. Only agent tokens reach the last three, and
//! an agent only ever sees its own cluster.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use fleet_core::wire::{long_poll_wait, AgentIdentity, EnrolRequest, EnrolResponse, Heartbeat, HeartbeatAnswer, RETURN_MINIMAL};
use fleet_core::AgentReport;
use serde::Deserialize;
use utoipa::IntoParams;

use super::committed;
use super::files::TarImportQuery;
use crate::errors::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{Json, Prefer, Query, Raw, PREFERENCE_APPLIED};
use crate::http::AppState;

/// The peer's address, when the server knows it (it always does over TCP).
pub(crate) struct Peer(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())))
    }
}

/// Trades a one-time enrolment secret for the agent's own token (checked against the
/// enrolment's allowed source networks with the connection's peer address).
#[utoipa::path(post, path = "/api/v1/agent/enroll", security(()), tag = "agent", request_body = EnrolRequest,
    responses((status = 201, description = "the agent's identity and token (shown once)", body = EnrolResponse), (status = 401, description = "unknown, used or expired secret"),
        (status = 403, description = "source address not allowed")))]
pub(crate) async fn enroll(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Json(body): Json<EnrolRequest>,
) -> ApiResult<impl IntoResponse> {
    let (agent, token) = state.store.enrol(&body.secret, peer, &body.hostname, body.facts).await?;
    let release_public_key = state.releases.key.map(|key| key.to_string());
    let response = EnrolResponse { agent_id: agent.id, cluster_id: agent.cluster_id, name: agent.name, token, release_public_key };
    Ok((StatusCode::CREATED, axum::Json(response)))
}

/// `?message=` of an agent's upload. Unlike the operators' queries (which refuse a parameter
/// they do not know, so a typo is not silently ignored), the agents' routes ignore unknown
/// parameters: a newer agent may talk to an older server.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AgentMessageQuery {
    /// Why: stored with the version.
    #[serde(default)]
    message: String,
}

/// `?known=<sha256>&wait=<seconds>`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DesiredQuery {
    /// The checksum of the configuration the agent runs.
    known: Option<String>,
    /// How long to wait for a change (default 30, at most 300).
    wait: Option<u64>,
    /// True: the agent can build the new bundle from the one it runs (`known`), so the answer
    /// may carry only the changes (`delta`) instead of every file.
    delta: Option<bool>,
}

/// The desired configuration of the agent's cluster, as soon as it differs from `known`;
/// 304 when `wait` seconds pass without a change. During a staged rollout, an agent whose
/// stage has not started is told the previous version ([`fleet_core::rollouts::version_for`]).
#[utoipa::path(get, path = "/api/v1/agent/desired", tag = "agent", params(DesiredQuery),
    responses((status = 200, description = "the desired bundle and settings", body = fleet_core::wire::DesiredState), (status = 304, description = "no change"),
        (status = 429, description = "the agent already has as many long-polls waiting as --max-long-polls-per-agent allows")))]
pub(crate) async fn desired(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<DesiredQuery>,
) -> ApiResult<Response> {
    let agent = caller.agent()?;
    // Held while waiting: an agent (or a leaked token) cannot pile up long-polls.
    let _slot = state.poll_slots.acquire(agent.id, &agent.name)?;
    // A long-poll's future lives as long as it waits, once per agent: it keeps only the ids
    // (not the agent's facts and interfaces), and its rare large steps are boxed.
    let (agent_id, cluster_id) = (agent.id, agent.cluster_id);
    drop(caller);
    let _connected = state.metrics.agent_connected();
    let mut shutdown = state.shutdown.clone();
    let wait = state.desired.wait(cluster_id, agent_id, query.known.as_deref(), long_poll_wait(query.wait));
    let news = tokio::select! {
        news = wait => news?,
        // The server is stopping: answer "no change" so the agent polls again (elsewhere).
        _ = shutdown.wait_for(|stopping| *stopping) => None,
    };
    Ok(match news {
        // Encoded once per target (and base) and shared by every agent that needs it.
        Some(news) => {
            let body = Box::pin(state.desired.answer(&news, query.known.as_deref(), query.delta.unwrap_or(false))).await?;
            ([(header::CONTENT_TYPE, "application/json")], Body::from(Bytes::from_owner(body))).into_response()
        }
        None => StatusCode::NOT_MODIFIED.into_response(),
    })
}

/// Records an apply outcome: `{version, outcome, error}`. With `Prefer: return=minimal`
/// (RFC 7240) the answer is 204, without the agent read back.
#[utoipa::path(post, path = "/api/v1/agent/report", tag = "agent", request_body = AgentReport,
    params(("Prefer" = Option<String>, Header, description = "`return=minimal`: answer 204, not the agent")),
    responses((status = 200, description = "the agent as recorded", body = fleet_core::Agent),
        (status = 204, description = "recorded (`Prefer: return=minimal`)")))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Caller(caller): Caller,
    prefer: Prefer,
    Json(body): Json<AgentReport>,
) -> ApiResult<Response> {
    let agent = caller.agent()?;
    if prefer.return_minimal() {
        state.store.record_report(agent.id, &body).await?;
        return Ok((StatusCode::NO_CONTENT, [(PREFERENCE_APPLIED, RETURN_MINIMAL)]).into_response());
    }
    Ok(axum::Json(state.store.report(agent.id, &body).await?).into_response())
}

/// Records that the agent is alive, with its current facts, its heartbeat interval (which tells
/// `online` from `offline`), HAProxy's stats (the cluster's stats history), the drift of its
/// managed files (audited when it starts, changes or ends, and for every file restored) and the certificates its HAProxy serves (`show ssl cert`),
/// which the certificate status compares with the store. Answers what to measure for the next
/// heartbeat (its pool's failover probe) and what the agent must follow between versions (the
/// cluster's drift setting).
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "agent", request_body = Heartbeat,
    responses((status = 200, description = "recorded; the failover probe to run and the cluster's drift setting", body = HeartbeatAnswer),
        (status = 401, description = "not an agent token"), (status = 422, description = "a stats sample of more than 20,000 rows")))]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<Heartbeat>,
) -> ApiResult<axum::Json<HeartbeatAnswer>> {
    let agent = caller.agent()?;
    let answer = state.store.heartbeat(agent.id, body).await?;
    Ok(axum::Json(answer))
}

/// Uploads the node's managed tree (a tar archive, as `tar -C /etc/haproxy -cf - .` writes it)
/// as its cluster's **first** version (`fleet-agent --adopt`), through the gate a user's import
/// passes; 409 when the cluster has a version already.
#[utoipa::path(post, path = "/api/v1/agent/adopt", tag = "agent", params(TarImportQuery),
    request_body(content = Vec<u8>, content_type = "application/x-tar"),
    responses((status = 201, description = "the new version", body = super::CommittedBody), (status = 403, description = "a privileged directive (needs an admin's import)"),
        (status = 409, description = "the cluster already has a version"), (status = 422, description = "not a valid tree, or the configuration is refused")))]
pub(crate) async fn adopt(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<TarImportQuery>,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let agent = caller.agent()?;
    let bundle = query.read(&state, agent.cluster_id, &body).await?;
    let done = state.store.adopt(agent, &bundle, &query.message).await?;
    Ok(committed(&state, StatusCode::CREATED, done))
}

/// Who the calling agent is: its id, cluster and name (the name its per-node files carry,
/// `keepalived/<name>.conf`); `fleet-agent` asks once at start.
#[utoipa::path(get, path = "/api/v1/agent/me", tag = "agent",
    responses((status = 200, description = "the agent's identity", body = AgentIdentity), (status = 401, description = "not an agent token")))]
pub(crate) async fn agent_me(Caller(caller): Caller) -> ApiResult<axum::Json<AgentIdentity>> {
    let agent = caller.agent()?;
    Ok(axum::Json(AgentIdentity { agent_id: agent.id, cluster_id: agent.cluster_id, name: agent.name.clone() }))
}

/// Uploads the node's keepalived.conf, byte for byte whatever it contains, as
/// `keepalived/<agent name>.conf` (kind `keepalived`) of the cluster's next version
/// (`fleet-agent --keepalived --adopt`); 409 when the cluster has no version yet or already
/// has a file for this agent (the cluster then manages it).
#[utoipa::path(post, path = "/api/v1/agent/keepalived", tag = "agent", params(AgentMessageQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "the new version", body = super::CommittedBody),
        (status = 409, description = "the cluster has no version, or already has this node's keepalived file"),
        (status = 413, description = "larger than a bundle file may be")))]
pub(crate) async fn adopt_keepalived(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AgentMessageQuery>,
    Raw(body): Raw,
) -> ApiResult<Response> {
    let agent = caller.agent()?;
    let done = state.store.adopt_keepalived(agent, &body, &query.message).await?;
    Ok(committed(&state, StatusCode::CREATED, done))
}
