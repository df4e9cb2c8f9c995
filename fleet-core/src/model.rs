//! The domain's entities as plain data. The store reads and writes them; the server serialises
//! them as JSON. Times are Unix milliseconds from the injected clock.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use haproxy_model::Diagnostic;
use serde::{Deserialize, Serialize};

use crate::auth::privileged::Privilege;
use crate::bundle::BundlePath;
use crate::error::Error;

/// A group of clusters (a team, an environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pool {
    /// Random id below 2^53.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created_at: i64,
}

/// How agents make HAProxy load a new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReloadMode {
    /// The agent runs HAProxy in master-worker mode and reloads it through the master CLI.
    #[default]
    Process,
    /// `systemctl reload haproxy`.
    Systemd,
}

/// Per-cluster settings the agents follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ClusterSettings {
    /// Where the configuration lives on every node (an absolute path).
    #[cfg_attr(feature = "openapi", schema(pattern = "^/"))]
    pub config_path: String,
    /// How to reload.
    pub reload_mode: ReloadMode,
    /// The privileged directives ([`crate::auth::privileged`]) an admin may add to this
    /// cluster's configuration; none by default. Only an admin changes it. A set: a name given
    /// twice counts once (so the schema does not ask for unique items).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Privilege>))]
    pub allowed_privileges: BTreeSet<Privilege>,
    /// The directory a version's bundle lives in on every node; empty means the folder of
    /// `config_path` (so `/etc/haproxy` by default). Bundle paths are relative to it.
    pub managed_dir: String,
    /// Files the configuration references that the nodes provide themselves (absolute paths, or
    /// paths relative to the managed directory): the reference check accepts them though the
    /// bundle does not hold them.
    pub external: Vec<String>,
    /// What the agents do when a managed file on a node differs from what they applied (a hand
    /// edit, another tool): `report` (default: keep the node's file, report and audit it) or
    /// `enforce` (restore the applied file, reload, and audit it).
    pub drift: crate::monitor::DriftPolicy,
}

impl ClusterSettings {
    /// The managed directory: `managed_dir`, else the folder of `config_path`.
    pub fn managed_dir(&self) -> &str {
        if !self.managed_dir.is_empty() {
            return self.managed_dir.trim_end_matches('/');
        }
        match self.config_path.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((dir, _)) => dir,
            None => ".",
        }
    }

    /// The bundle path of the first config file: `config_path` relative to the managed
    /// directory (`haproxy.cfg` by default).
    pub fn config_name(&self) -> BundlePath {
        BundlePath::resolve(&self.config_path, self.managed_dir(), "")
            .or_else(|| BundlePath::new(self.config_path.rsplit('/').next().unwrap_or_default()).ok())
            .unwrap_or_else(|| BundlePath::new("haproxy.cfg").unwrap_or_else(|e| unreachable!("{e}")))
    }
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            config_path: "/etc/haproxy/haproxy.cfg".into(),
            reload_mode: ReloadMode::Process,
            allowed_privileges: BTreeSet::new(),
            managed_dir: String::new(),
            external: Vec::new(),
            drift: crate::monitor::DriftPolicy::Report,
        }
    }
}

/// A set of HAProxy nodes sharing one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cluster {
    /// Random id below 2^53.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The pool it belongs to.
    pub pool_id: i64,
    /// Agent-facing settings.
    pub settings: ClusterSettings,
    /// The version agents should run, once one was applied.
    pub desired_version: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// One immutable configuration version, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInfo {
    /// The cluster.
    pub cluster_id: i64,
    /// 1, 2, 3 ... per cluster.
    pub number: i64,
    /// Hex SHA-256 of the text of the first config file (the single-file API's view).
    pub sha256: String,
    /// The bundle's digest ([`crate::bundle::digest_of`]): what agents compare.
    pub digest: String,
    /// The version this one was made from (none for the first).
    pub parent: Option<i64>,
    /// Who made it.
    pub author: String,
    /// Why.
    pub message: String,
    /// When.
    pub created_at: i64,
}

/// One immutable configuration version with the full lossless text of its first config file
/// (the whole bundle is [`crate::bundle::Bundle`], read with `Store::bundle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigVersion {
    /// Number, checksum, author ...
    #[serde(flatten)]
    pub info: VersionInfo,
    /// The configuration exactly as stored.
    pub text: String,
}

/// What a successful import, replace, commit or restore returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The new version.
    pub version: VersionInfo,
    /// Warnings of the offline check on the new text (errors would have blocked it).
    pub warnings: Vec<Diagnostic>,
}

/// The life of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionState {
    /// Accepting staged ops.
    Open,
    /// Became a version.
    Committed,
    /// Dropped by its author.
    Discarded,
    /// Another commit won: its base is no longer the latest version.
    Outdated,
}

impl TransactionState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionState::Open => "open",
            TransactionState::Committed => "committed",
            TransactionState::Discarded => "discarded",
            TransactionState::Outdated => "outdated",
        }
    }
}

impl FromStr for TransactionState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "open" => TransactionState::Open,
            "committed" => TransactionState::Committed,
            "discarded" => TransactionState::Discarded,
            "outdated" => TransactionState::Outdated,
            other => return Err(Error::Corrupt(format!("unknown transaction state {other:?}"))),
        })
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transaction: typed edit ops staged on a base version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    /// Random id below 2^53.
    pub id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// The version the ops apply to (0 for a cluster without versions).
    pub base_version: i64,
    /// The staged ops, in order.
    pub ops: Vec<crate::ops::EditOp>,
    /// Open, committed, discarded or outdated.
    pub state: TransactionState,
    /// Who began it.
    pub author: String,
    /// The version its commit created.
    pub committed_version: Option<i64>,
    /// When it began.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, users included.
    Admin,
    /// Change configurations and apply them.
    Operator,
    /// Read only.
    Viewer,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// True when this role may change configurations (admin, operator).
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "admin" => Role::Admin,
            "operator" => Role::Operator,
            "viewer" => Role::Viewer,
            other => return Err(Error::invalid(format!("unknown role {other:?} (admin, operator or viewer)"))),
        })
    }
}

/// Who makes a change: the name the audit log records and the role the policy of privileged
/// directives checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The username (or `system`, `agent:<name>`).
    pub name: &'a str,
    /// Its role.
    pub role: Role,
}

impl<'a> Actor<'a> {
    /// `name` acting with `role`.
    pub fn new(name: &'a str, role: Role) -> Actor<'a> {
        Actor { name, role }
    }
}

impl<'a> From<&'a User> for Actor<'a> {
    fn from(user: &'a User) -> Actor<'a> {
        // A user without a role where it acts reaches no write (rbac refuses it first): the
        // weakest role is the safe reading.
        Actor { name: &user.username, role: user.role.unwrap_or(Role::Viewer) }
    }
}

/// A person or automation that logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Random id below 2^53.
    pub id: i64,
    /// Unique login name (NFKC; unique by its skeleton, see `auth::usernames`).
    pub username: String,
    /// What they may do everywhere; `None` for a user who acts only through `pool_roles`. In
    /// a request's principal: the role in effect for the pool the request addresses.
    pub role: Option<Role>,
    /// Roles held in single pools (the higher of this and `role` applies there).
    #[serde(default)]
    pub pool_roles: Vec<PoolRole>,
    /// A TOTP second factor is enrolled.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// This user must use a second factor (also true for admins when the server requires it).
    #[serde(default)]
    pub mfa_required: bool,
    /// Creation time.
    pub created_at: i64,
}

/// A role held in one pool (and so in every cluster of that pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolRole {
    /// The pool.
    pub pool_id: i64,
    /// The role there.
    pub role: Role,
}

/// An API token's metadata (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// Random id below 2^53.
    pub id: i64,
    /// The user it acts as.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// The secret's first characters (`fa_1a2b3c4d`), to recognise it; never enough to use it.
    #[serde(default)]
    pub prefix: String,
    /// Creation time.
    pub created_at: i64,
    /// After this time (Unix ms) it no longer works; `None`: until revoked.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// When it was last used (to the minute).
    #[serde(default)]
    pub last_used_at: Option<i64>,
}

/// A one-time permission for an agent to join a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrolment {
    /// Random id below 2^53.
    pub id: i64,
    /// The cluster the agent joins.
    pub cluster_id: i64,
    /// The agent name it is meant for.
    pub name: String,
    /// Source networks allowed to use it (empty: any).
    pub allowed_cidrs: Vec<String>,
    /// After this time it cannot be used.
    pub expires_at: i64,
    /// When it was used, if it was.
    pub used_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// How an agent's last apply went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// The version runs.
    Applied,
    /// The version runs, applied through HAProxy's runtime API without a reload (only maps, ACL
    /// files, certificate contents or server weights/states changed; see
    /// [`crate::apply::runtime_plan`]). Counts as applied everywhere.
    AppliedRuntime,
    /// `haproxy -c` refused it; the old configuration keeps running.
    Rejected,
    /// The reload failed; the backup was restored.
    ReloadFailed,
    /// The node itself failed (a full disk, a permission refused, `haproxy` missing): the
    /// configuration was not judged, so this is never reported as `rejected`.
    NodeError,
    /// The version uses a privileged directive the node's own policy (`fleet-agent
    /// --allow-privileged`) does not allow: it was not staged, the old configuration keeps
    /// running.
    RefusedByNodePolicy,
}

impl ApplyOutcome {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Applied => "applied",
            ApplyOutcome::AppliedRuntime => "applied_runtime",
            ApplyOutcome::Rejected => "rejected",
            ApplyOutcome::ReloadFailed => "reload_failed",
            ApplyOutcome::NodeError => "node_error",
            ApplyOutcome::RefusedByNodePolicy => "refused_by_node_policy",
        }
    }
}

impl ApplyOutcome {
    /// True when the version runs (`applied` or `applied_runtime`): the agent's applied version
    /// becomes the reported one.
    pub fn runs_version(self) -> bool {
        matches!(self, ApplyOutcome::Applied | ApplyOutcome::AppliedRuntime)
    }
}

impl FromStr for ApplyOutcome {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "applied" => ApplyOutcome::Applied,
            "applied_runtime" => ApplyOutcome::AppliedRuntime,
            "rejected" => ApplyOutcome::Rejected,
            "reload_failed" => ApplyOutcome::ReloadFailed,
            "node_error" => ApplyOutcome::NodeError,
            "refused_by_node_policy" => ApplyOutcome::RefusedByNodePolicy,
            other => return Err(Error::invalid(format!("unknown apply outcome {other:?}"))),
        })
    }
}

/// Who an agent token speaks for ([`crate::rbac::Principal::Agent`]): what authorisation and
/// the agent's own routes read of it. Every request of every agent looks it up, so it is read
/// without what the agent last reported ([`Agent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPrincipal {
    /// The agent's id.
    pub id: i64,
    /// The cluster it serves.
    pub cluster_id: i64,
    /// Unique within the cluster.
    pub name: String,
    /// The node's hostname.
    pub hostname: String,
}

impl From<&Agent> for AgentPrincipal {
    fn from(agent: &Agent) -> AgentPrincipal {
        AgentPrincipal { id: agent.id, cluster_id: agent.cluster_id, name: agent.name.clone(), hostname: agent.hostname.clone() }
    }
}

/// An enrolled agent and what it last reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    /// Random id below 2^53.
    pub id: i64,
    /// The cluster it serves.
    pub cluster_id: i64,
    /// Unique within the cluster.
    pub name: String,
    /// The node's hostname.
    pub hostname: String,
    /// Facts the agent reported (HAProxy version, OS ...).
    pub facts: serde_json::Value,
    /// Last heartbeat or report (RFC 3339, UTC; Unix ms inside).
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen_at: Option<i64>,
    /// `online` while heartbeats arrive, `offline` after 3 of its heartbeat intervals without
    /// one ([`crate::monitor::node_state`], as of the read).
    #[serde(default)]
    pub state: crate::monitor::NodeState,
    /// The heartbeat interval the agent reported (`fleet-agent --heartbeat-seconds`), in ms;
    /// null for agents that do not report it (5 s is assumed).
    #[serde(default)]
    pub heartbeat_ms: Option<i64>,
    /// Managed files that differ on the node from what the agent applied: null, or the files
    /// with their diffs and since when ([`crate::monitor::drift`]).
    #[serde(default)]
    pub drift: Option<crate::monitor::Drift>,
    /// The version it runs.
    pub applied_version: Option<i64>,
    /// How its last apply went.
    pub last_outcome: Option<ApplyOutcome>,
    /// HAProxy's message when the last apply failed.
    pub last_error: Option<String>,
    /// HAProxy's alerts of the last apply, located in the version's text.
    #[serde(default)]
    pub last_diagnostics: Vec<Diagnostic>,
    /// What its keepalived driver last reported (`fleet-agent --keepalived`).
    #[serde(default)]
    pub keepalived: Option<crate::vip::KeepalivedReport>,
    /// The node's interfaces and addresses as last reported.
    #[serde(default)]
    pub interfaces: Vec<crate::vip::NodeInterface>,
    /// Enrolment time.
    pub created_at: i64,
}

/// What an agent reports after an apply attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentReport {
    /// The version it tried.
    pub version: i64,
    /// What happened.
    pub outcome: ApplyOutcome,
    /// HAProxy's message on failure.
    pub error: Option<String>,
    /// HAProxy's alerts and warnings located in the version's text (line and column of the
    /// version, not of the file the node staged); absent from older agents' reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

impl AgentReport {
    /// The report of a version that runs.
    pub fn applied(version: i64) -> AgentReport {
        AgentReport { version, outcome: ApplyOutcome::Applied, error: None, diagnostics: Vec::new() }
    }

    /// The report of a version applied through the runtime API, without a reload.
    pub fn applied_runtime(version: i64) -> AgentReport {
        AgentReport { outcome: ApplyOutcome::AppliedRuntime, ..AgentReport::applied(version) }
    }

    /// The report of a failed apply, with the message for the operator.
    pub fn failed(version: i64, outcome: ApplyOutcome, error: impl Into<String>) -> AgentReport {
        AgentReport { version, outcome, error: Some(error.into()), diagnostics: Vec::new() }
    }
}

/// A cluster's rollout state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterStatus {
    /// The cluster.
    pub cluster_id: i64,
    /// The version agents should run.
    pub desired_version: Option<i64>,
    /// Every agent's last report.
    pub agents: Vec<Agent>,
    /// Each VRRP group and who holds it, measured ([`crate::vip::status`]).
    pub vips: Vec<crate::vip::VipStatus>,
}

/// One audit log entry: every state change writes one in the same database transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Random id below 2^53.
    pub id: i64,
    /// When.
    pub at: i64,
    /// Who (a username, `agent:<name>`, `system`).
    pub actor: String,
    /// What, as a dotted verb (`version.commit`, `cluster.create` ...).
    pub action: String,
    /// The cluster concerned.
    pub cluster_id: Option<i64>,
    /// The version concerned.
    pub version: Option<i64>,
    /// Anything else, as JSON.
    pub details: serde_json::Value,
}
