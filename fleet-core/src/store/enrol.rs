//! Issuing an enrolment to an admin: the one-time secret plus the command that installs an
//! agent with it, in one answer shown once (the API's `POST /clusters/{id}/enrollments`).
//!
//! ```text
//! EnrolmentRequest --Store::issue_enrolment--> enrolment row (secret stored hashed)
//!                                              + install::command(server URL, secret, cluster settings)
//!                                              + install::script_install (when the server hands out
//!                                                the agent: /install/agent.sh, checked by SHA-256)
//! ```

use std::time::Duration;

use serde::Serialize;

use super::Store;
use crate::error::Result;
use crate::fingerprint::CaFingerprint;
use crate::install::{self, ScriptInstall};

/// What an admin asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentRequest {
    /// The agent's name in the cluster.
    pub name: String,
    /// Source networks allowed to enrol (empty: any).
    pub allowed_cidrs: Vec<String>,
    /// Lifetime of the secret; none takes the server's default.
    pub ttl: Option<Duration>,
}

/// A new enrolment as the admin sees it, once: the secret is stored hashed and never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedEnrolment {
    /// The enrolment's id.
    pub id: i64,
    /// The cluster the agent joins.
    pub cluster_id: i64,
    /// The agent name it is meant for.
    pub name: String,
    /// Source networks allowed to use it (empty: any).
    pub allowed_cidrs: Vec<String>,
    /// After this time (Unix ms) it cannot be used.
    pub expires_at: i64,
    /// The one-time secret.
    pub secret: String,
    /// The shell command that enrols an agent already installed on the node with this secret.
    pub install_command: String,
    /// The one-line install from this server's `/install/agent.sh` (download, SHA-256 check,
    /// run with this secret); none when the server hands out no agent binary.
    pub install_script: Option<ScriptInstall>,
}

/// Where an enrolment's install commands point: the server's URL, the CA agents pin (the server's
/// self-signed one, if any), and the install script the server hands out (if any).
#[derive(Debug, Clone, Copy)]
pub struct InstallSource<'a> {
    /// The URL agents reach the server at.
    pub server_url: &'a str,
    /// The server's self-signed CA, pinned by `--ca-fingerprint`.
    pub ca: Option<&'a CaFingerprint>,
    /// The text of `/install/agent.sh` as this server serves it at `server_url`.
    pub script: Option<&'a str>,
}

impl Store {
    /// Creates a one-time enrolment for `request.name` in a cluster (valid for `request.ttl`, else
    /// `default_ttl`) and the install commands that point agents at `source.server_url` with the
    /// cluster's settings, pinning the server's CA when there is one.
    pub async fn issue_enrolment(
        &self,
        actor: &str,
        cluster_id: i64,
        request: EnrolmentRequest,
        default_ttl: Duration,
        source: InstallSource<'_>,
    ) -> Result<IssuedEnrolment> {
        let ttl_ms = i64::try_from(request.ttl.unwrap_or(default_ttl).as_millis()).unwrap_or(i64::MAX);
        let cluster = self.cluster(cluster_id).await?;
        let (enrolment, secret) =
            self.create_enrolment(actor, cluster_id, &request.name, request.allowed_cidrs, ttl_ms).await?;
        let install_command = install::command(source.server_url, &secret, &cluster.settings, source.ca);
        let install_script = source
            .script
            .map(|script| install::script_install(source.server_url, script, &secret, &cluster.settings, source.ca));
        Ok(IssuedEnrolment {
            id: enrolment.id,
            cluster_id: enrolment.cluster_id,
            name: enrolment.name,
            allowed_cidrs: enrolment.allowed_cidrs,
            expires_at: enrolment.expires_at,
            secret,
            install_command,
            install_script,
        })
    }
}
