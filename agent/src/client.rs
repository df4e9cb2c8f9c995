//! The agent's side of the protocol (`fleet_core::wire`): enrol, long-poll, report, heartbeat,
//! runtime actions. Every call returns a [`ClientError`]; the loops decide whether to retry.

use std::path::Path;
use std::time::Duration;

use fleet_core::fingerprint::CaFingerprint;
use fleet_core::jobs::{agent_result_path, agent_snapshot_path, agent_snapshot_upload_path, JobPoll, JobResult, Snapshot, AGENT_JOBS_PATH};
use fleet_core::runtime::{ActionOutcome, RuntimeAction, AGENT_RUNTIME_PATH, AGENT_RUNTIME_RESULTS_PATH};
use fleet_core::wire::{
    AgentIdentity, Decommission, DesiredState, EnrolRequest, EnrolResponse, Heartbeat, HeartbeatAnswer, ADOPT_PATH, AGENT_RELEASES_PATH, DESIRED_PATH, ENROLL_PATH,
    HEARTBEAT_PATH, KEEPALIVED_ADOPT_PATH,
    ME_PATH, REPORT_PATH, RETURN_MINIMAL,
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
    /// True for 401/403/410: retrying with the same token will not help.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, ClientError::Status { status, .. } if [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::GONE].contains(status))
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
    /// Set by the first answer saying this agent was decommissioned (410 Gone with its
    /// tombstone): the agent stops calling and exits ([`Client::decommissioned`]).
    gone: std::sync::Arc<tokio::sync::watch::Sender<Option<Decommission>>>,
}


/// The `decommission` of a 410 answer's `{"error": {...}}`.
fn decommission_in(body: &str) -> Option<Decommission> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    serde_json::from_value(value.get("error")?.get("decommission")?.clone()).ok()
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
        Ok(Client { http, base: server.trim_end_matches('/').to_string(), token: None, gone: std::sync::Arc::new(tokio::sync::watch::Sender::new(None)) })
    }

    pub(crate) fn with_token(mut self, token: String) -> Client {
        self.token = Some(token);
        self
    }

    async fn check(&self, response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::GONE {
            if let Some(decommission) = decommission_in(&body) {
                self.gone.send_if_modified(|gone| gone.is_none() && gone.replace(decommission).is_none());
            }
        }
        Err(ClientError::Status { status, body: body.chars().take(500).collect() })
    }

    /// Resolves once the server said this agent was decommissioned (any call answered 410
    /// Gone with a tombstone): what to do before exiting.
    pub(crate) async fn decommissioned(&self) -> Decommission {
        let mut gone = self.gone.subscribe();
        let heard = gone.wait_for(Option::is_some).await.ok().and_then(|value| value.clone());
        match heard {
            Some(decommission) => decommission,
            // The sender lives in `self`: never dropped while this waits.
            None => std::future::pending().await,
        }
    }

    /// The decommission heard so far, if any.
    pub(crate) fn decommission(&self) -> Option<Decommission> {
        self.gone.borrow().clone()
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
        Ok(self.check(response).await?.json().await?)
    }

    /// The desired state when it differs from `known`, `None` when `wait` passes without news.
    /// With `delta`, the server may answer with the changes from `known` only (resolve them with
    /// [`DesiredState::resolve`]). The body is read whole before it is returned (a cut
    /// connection is an error).
    pub(crate) async fn desired(&self, known: Option<&str>, wait: Duration, delta: bool) -> Result<Option<DesiredState>, ClientError> {
        let mut query = vec![("wait", wait.as_secs().to_string())];
        if let Some(known) = known {
            query.push(("known", known.to_string()));
            if delta {
                query.push(("delta", "true".to_string()));
            }
        }
        let request = self.http.get(self.url(DESIRED_PATH)).query(&query).timeout(wait + Duration::from_secs(15));
        let response = self.check(self.authed(request).send().await?).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        Ok(Some(response.json().await?))
    }

    pub(crate) async fn report(&self, report: &AgentReport) -> Result<(), ClientError> {
        // The answer (the agent as recorded) is not read: none is asked for.
        let request = self.http.post(self.url(REPORT_PATH)).timeout(Duration::from_secs(30)).header("prefer", RETURN_MINIMAL).json(report);
        self.check(self.authed(request).send().await?).await?;
        Ok(())
    }

    /// Sends a heartbeat; the server's answer: what to measure next, the drift setting (an
    /// older server answers 204: the defaults).
    pub(crate) async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatAnswer, ClientError> {
        let request = self.http.post(self.url(HEARTBEAT_PATH)).timeout(Duration::from_secs(15)).json(heartbeat);
        let response = self.check(self.authed(request).send().await?).await?;
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
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
    }

    /// Who this agent is (its name names its per-node files).
    pub(crate) async fn me(&self) -> Result<AgentIdentity, ClientError> {
        let request = self.http.get(self.url(ME_PATH)).timeout(Duration::from_secs(15));
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
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
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
    }

    pub(crate) async fn runtime_actions(&self) -> Result<Vec<RuntimeAction>, ClientError> {
        let request = self.http.get(self.url(AGENT_RUNTIME_PATH)).timeout(Duration::from_secs(15));
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
    }

    pub(crate) async fn runtime_results(&self, outcomes: &[ActionOutcome]) -> Result<(), ClientError> {
        let request = self.http.post(self.url(AGENT_RUNTIME_RESULTS_PATH)).timeout(Duration::from_secs(15)).json(outcomes);
        self.check(self.authed(request).send().await?).await?;
        Ok(())
    }

    /// The signature file of release `version` for `platform` (its text, unverified).
    pub(crate) async fn release_signature(&self, version: &str, platform: &str) -> Result<String, ClientError> {
        let url = self.url(&format!("{AGENT_RELEASES_PATH}/{version}/signature"));
        let request = self.http.get(url).query(&[("platform", platform)]).timeout(Duration::from_secs(30));
        Ok(self.check(self.authed(request).send().await?).await?.text().await?)
    }

    /// The binary of release `version` for `platform` (its bytes, unverified).
    pub(crate) async fn release_binary(&self, version: &str, platform: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&format!("{AGENT_RELEASES_PATH}/{version}/binary"));
        let request = self.http.get(url).query(&[("platform", platform)]).timeout(Duration::from_secs(600));
        Ok(self.check(self.authed(request).send().await?).await?.bytes().await?.to_vec())
    }

    /// The jobs long-poll: what to start and cancel, `None` when `wait` passes without.
    pub(crate) async fn jobs(&self, wait: Duration) -> Result<Option<JobPoll>, ClientError> {
        let request = self
            .http
            .get(self.url(AGENT_JOBS_PATH))
            .query(&[("wait", wait.as_secs().to_string())])
            .timeout(wait + Duration::from_secs(15));
        let response = self.check(self.authed(request).send().await?).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        Ok(Some(response.json().await?))
    }

    /// Posts how the run of job `job_id` ended.
    pub(crate) async fn job_result(&self, job_id: i64, result: &JobResult) -> Result<(), ClientError> {
        let request = self.http.post(self.url(&agent_result_path(job_id))).timeout(Duration::from_secs(30)).json(result);
        self.check(self.authed(request).send().await?).await?;
        Ok(())
    }

    /// Uploads the tar of a `snapshot` run; the snapshot as stored.
    pub(crate) async fn snapshot_upload(&self, job_id: i64, archive: Vec<u8>, configs: &str) -> Result<Snapshot, ClientError> {
        let request = self
            .http
            .post(self.url(&agent_snapshot_upload_path(job_id)))
            .query(&[("configs", configs)])
            .header(reqwest::header::CONTENT_TYPE, "application/x-tar")
            .timeout(Duration::from_secs(300))
            .body(archive);
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
    }

    /// Snapshot `id` of the cluster as a desired state (version 0), for a `restore` run.
    pub(crate) async fn snapshot(&self, id: i64) -> Result<DesiredState, ClientError> {
        let request = self.http.get(self.url(&agent_snapshot_path(id))).timeout(Duration::from_secs(300));
        Ok(self.check(self.authed(request).send().await?).await?.json().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_is_read_from_the_error_body() {
        let body = r#"{"error":{"code":"decommissioned","message":"m","decommission":{"agent":"web-1","cluster_id":7,"reason":"decommissioned","stop_haproxy":true,"by":"admin","at":5}}}"#;
        let decommission = decommission_in(body).unwrap();
        assert_eq!((decommission.agent.as_str(), decommission.stop_haproxy), ("web-1", true));
        assert_eq!(decommission_in(r#"{"error":{"code":"gone","message":"m"}}"#), None);
        assert_eq!(decommission_in("<html>gone</html>"), None);
    }
}
