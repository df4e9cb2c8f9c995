//! The agent's side of the protocol (`fleet_core::wire`): enrol, long-poll, report, heartbeat,
//! runtime actions. Every call returns a [`ClientError`]; the loops decide whether to retry.

use std::path::Path;
use std::time::Duration;

use fleet_core::fingerprint::CaFingerprint;
use fleet_core::runtime::{ActionOutcome, RuntimeAction, AGENT_RUNTIME_PATH, AGENT_RUNTIME_RESULTS_PATH};
use fleet_core::wire::{
    AgentIdentity, DesiredState, EnrolRequest, EnrolResponse, Heartbeat, HeartbeatAnswer, ADOPT_PATH, DESIRED_PATH, ENROLL_PATH, HEARTBEAT_PATH, KEEPALIVED_ADOPT_PATH,
    ME_PATH, REPORT_PATH,
};
use fleet_core::AgentReport;
use reqwest::StatusCode;

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("cannot read CA file {path}: {source}")]
    CaFile { path: String, source: std::io::Error },
    #[error("invalid CA file {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
    #[error("--ca-fingerprint: {0}")]
    Pin(rustls::Error),
    /// With its causes: a refused certificate says why (`invalid peer certificate: ...`).
    #[error("server unreachable: {}", fleet_core::with_causes(.0))]
    Transport(#[from] reqwest::Error),
    #[error("server answered {status}: {body}")]
    Status { status: StatusCode, body: String },
}

impl ClientError {
    /// True for 401/403: retrying with the same token will not help.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, ClientError::Status { status, .. } if *status == StatusCode::UNAUTHORIZED || *status == StatusCode::FORBIDDEN)
    }
}

/// Which certificates the agent accepts from the server.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trust<'a> {
    /// The system's roots (a certificate from a public CA).
    System,
    /// The CA certificate in this PEM file (`--ca-file`), besides the system's roots.
    CaFile(&'a Path),
    /// Only a chain holding the certificate with this fingerprint (`--ca-fingerprint`).
    Pinned(CaFingerprint),
}

/// An HTTP client bound to one server.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}


async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        Ok(response)
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(ClientError::Status { status, body: body.chars().take(500).collect() })
    }
}

impl Client {
    pub(crate) fn new(server: &str, trust: Trust<'_>) -> Result<Client, ClientError> {
        let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).user_agent(concat!(
            "fleet-agent/",
            env!("CARGO_PKG_VERSION")
        ));
        let http = match trust {
            Trust::System => builder.build().map_err(ClientError::Build)?,
            Trust::CaFile(path) => {
                let pem = std::fs::read(path).map_err(|source| ClientError::CaFile { path: path.display().to_string(), source })?;
                let invalid = |e: reqwest::Error| ClientError::Ca { path: path.display().to_string(), reason: fleet_core::with_causes(&e) };
                let cert = reqwest::Certificate::from_pem(&pem).map_err(invalid)?;
                // The PEM is only decoded when the client is built.
                builder.add_root_certificate(cert).build().map_err(invalid)?
            }
            Trust::Pinned(pin) => {
                let config = crate::pin::client_config(pin).map_err(ClientError::Pin)?;
                builder.use_preconfigured_tls(config).build().map_err(ClientError::Build)?
            }
        };
        Ok(Client { http, base: server.trim_end_matches('/').to_string(), token: None })
    }

    pub(crate) fn with_token(mut self, token: String) -> Client {
        self.token = Some(token);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub(crate) async fn enrol(&self, request: &EnrolRequest) -> Result<EnrolResponse, ClientError> {
        let response = self.http.post(self.url(ENROLL_PATH)).timeout(Duration::from_secs(30)).json(request).send().await?;
        Ok(check(response).await?.json().await?)
    }

    /// The desired state when it differs from `known`, `None` when `wait` passes without news.
    /// The body is read whole before it is returned (a cut connection is an error).
    pub(crate) async fn desired(&self, known: Option<&str>, wait: Duration) -> Result<Option<DesiredState>, ClientError> {
        let mut query = vec![("wait", wait.as_secs().to_string())];
        if let Some(known) = known {
            query.push(("known", known.to_string()));
        }
        let request = self.http.get(self.url(DESIRED_PATH)).query(&query).timeout(wait + Duration::from_secs(15));
        let response = check(self.authed(request).send().await?).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        Ok(Some(response.json().await?))
    }

    pub(crate) async fn report(&self, report: &AgentReport) -> Result<(), ClientError> {
        let request = self.http.post(self.url(REPORT_PATH)).timeout(Duration::from_secs(30)).json(report);
        check(self.authed(request).send().await?).await?;
        Ok(())
    }

    /// Sends a heartbeat; the server's answer: what to measure next, the drift setting (an
    /// older server answers 204: the defaults).
    pub(crate) async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatAnswer, ClientError> {
        let request = self.http.post(self.url(HEARTBEAT_PATH)).timeout(Duration::from_secs(15)).json(heartbeat);
        let response = check(self.authed(request).send().await?).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(HeartbeatAnswer::default());
        }
        Ok(response.json().await?)
    }

    /// Uploads `archive` (a tar of the managed tree, config files `configs` in load order) as the
    /// cluster's first version; the server's answer (`{version, ...}`).
    pub(crate) async fn adopt(&self, archive: Vec<u8>, configs: &str) -> Result<serde_json::Value, ClientError> {
        let request = self
            .http
            .post(self.url(ADOPT_PATH))
            .query(&[("configs", configs)])
            .header(reqwest::header::CONTENT_TYPE, "application/x-tar")
            .timeout(Duration::from_secs(300))
            .body(archive);
        Ok(check(self.authed(request).send().await?).await?.json().await?)
    }

    /// Who this agent is (its name names its per-node files).
    pub(crate) async fn me(&self) -> Result<AgentIdentity, ClientError> {
        let request = self.http.get(self.url(ME_PATH)).timeout(Duration::from_secs(15));
        Ok(check(self.authed(request).send().await?).await?.json().await?)
    }

    /// Uploads the node's keepalived.conf (its bytes) as this node's file of a new version; the
    /// server's answer (`{version, ...}`).
    pub(crate) async fn adopt_keepalived(&self, content: Vec<u8>) -> Result<serde_json::Value, ClientError> {
        let request = self
            .http
            .post(self.url(KEEPALIVED_ADOPT_PATH))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .timeout(Duration::from_secs(60))
            .body(content);
        Ok(check(self.authed(request).send().await?).await?.json().await?)
    }

    pub(crate) async fn runtime_actions(&self) -> Result<Vec<RuntimeAction>, ClientError> {
        let request = self.http.get(self.url(AGENT_RUNTIME_PATH)).timeout(Duration::from_secs(15));
        Ok(check(self.authed(request).send().await?).await?.json().await?)
    }

    pub(crate) async fn runtime_results(&self, outcomes: &[ActionOutcome]) -> Result<(), ClientError> {
        let request = self.http.post(self.url(AGENT_RUNTIME_RESULTS_PATH)).timeout(Duration::from_secs(15)).json(outcomes);
        check(self.authed(request).send().await?).await?;
        Ok(())
    }
}
