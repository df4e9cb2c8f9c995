//! Who may do what: the one role matrix the server consults on every route.
//!
//! | permission         | viewer | operator | admin | agent |
//! |--------------------|--------|----------|-------|-------|
//! | read               | yes    | yes      | yes   | no    |
//! | write (edit, apply)| no     | yes      | yes   | no    |
//! | audit log          | no     | yes      | yes   | no    |
//! | users, enrolments  | no     | no       | yes   | no    |
//! | agent routes       | no     | no       | no    | own cluster only |
//!
//! Users and agents are different principals: a user token never acts as an agent and an agent
//! token never reaches a user route, whatever the role.
//!
//! **Scoped access.** A user may hold a role globally, or only in some pools ([`crate::model::PoolRole`]), or
//! both. The rules, each applied in one place:
//!
//! - A route that acts on one cluster or one pool names it in its path (`/clusters/{id}/...`,
//!   `/pools/{id}/...`), and only there: it is checked with the role in effect in that pool, the
//!   higher of the global role and the role held there ([`Principal::in_pool`], applied by the
//!   server's path-scoped extractor before the route runs). A query parameter (`?pool_id=`,
//!   `?cluster_id=`) never narrows the caller: it only filters what a route answers.
//! - Every other route acts on a fleet-wide noun (users, tokens of others, security settings,
//!   creating or deleting pools, DNS providers, ACME accounts, fleet-wide alert rules, the whole
//!   audit log) and sees only the global role: a role held in a pool grants nothing there.
//! - A route that takes a cluster in its query or body to act on it (the audit log of one
//!   cluster, the events of one cluster, a new cluster in a pool, an ACME order for clusters)
//!   narrows explicitly to that cluster's pool ([`crate::Store::scoped`]), and refuses when the
//!   role there does not suffice.
//! - Lists (pools, clusters, certificates, alerts, alert rules, events, renewals) show what the
//!   caller may read ([`Readable`]): everything with a global role, else the data of its pools'
//!   clusters and nothing fleet-wide.
//!
//! A user with no global role has none of the permissions above outside its pools.
//!
//! **Second factor.** A session opened by a user who must use a second factor and has none yet
//! ([`Credential::EnrolmentSession`]) may only enrol one ([`Principal::account`]): every other
//! route answers 403 until it is done.

use crate::error::{Error, Result};
use crate::model::{AgentPrincipal, Role, User};

/// What a user route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Permission {
    /// Read pools, clusters, configurations, versions, status.
    Read,
    /// Change configurations, pools and clusters; apply versions.
    Write,
    /// Read the audit log.
    Audit,
    /// Create users, API tokens for others, enrolments.
    Admin,
}

impl Permission {
    fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Audit => "read the audit log",
            Permission::Admin => "administer",
        }
    }
}

/// What a request addresses, for scoped access: a cluster (through its pool) or a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/clusters/{id}/...`, `?cluster_id=`.
    Cluster(i64),
    /// `/pools/{id}`, `?pool_id=`.
    Pool(i64),
}

/// How much a role grants: viewer < operator < admin.
fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 1,
        Role::Operator => 2,
        Role::Admin => 3,
    }
}

/// The role `user` has in pool `pool_id`: the higher of its global role and its role there.
pub fn role_in_pool(user: &User, pool_id: i64) -> Option<Role> {
    let pooled = user.pool_roles.iter().filter(|g| g.pool_id == pool_id).map(|g| g.role);
    user.role.into_iter().chain(pooled).max_by_key(|r| rank(*r))
}

/// True when `role` grants `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::Read => true,
        Permission::Write | Permission::Audit => matches!(role, Role::Admin | Role::Operator),
        Permission::Admin => role == Role::Admin,
    }
}

/// What a caller may read of data bound to a cluster, or to none (fleet-wide data: audit
/// entries of users and settings, fleet-wide alert rules and their alerts), for filtering lists
/// ([`crate::Store::readable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable {
    /// Everything: a global role.
    All,
    /// Only these clusters (those of the pools where the user holds a role); nothing fleet-wide.
    Clusters(std::collections::HashSet<i64>),
}

impl Readable {
    /// True when data bound to `cluster` (`None`: fleet-wide) may be shown.
    pub fn sees(&self, cluster: Option<i64>) -> bool {
        match (self, cluster) {
            (Readable::All, _) => true,
            (Readable::Clusters(ids), Some(id)) => ids.contains(&id),
            (Readable::Clusters(_), None) => false,
        }
    }
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A login session (can log out).
    Session,
    /// An API token for automation.
    ApiToken,
    /// A session whose user must enrol a second factor before anything else.
    EnrolmentSession,
    /// HTTP Basic with the account's password, checked on each request (the Data Plane API
    /// compatibility surface; [`crate::Store::basic_auth`]).
    Basic,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// A person or automation, with its role.
    User {
        /// The user.
        user: User,
        /// Session or API token.
        credential: Credential,
    },
    /// An enrolled agent.
    Agent(AgentPrincipal),
}

impl Principal {
    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { user, .. } => user.username.clone(),
            Principal::Agent(agent) => format!("agent:{}", agent.name),
        }
    }

    /// The user, when it holds `permission` (in the scope the principal was narrowed to, see
    /// [`Principal::in_pool`]): [`Error::Forbidden`] for agents, for roles that do not grant it
    /// and for a session that must enrol a second factor first.
    pub fn user(&self, permission: Permission) -> Result<&User> {
        let user = self.account()?;
        if let Principal::User { credential: Credential::EnrolmentSession, .. } = self {
            return Err(Error::Forbidden("enrol a second factor first (POST /api/v1/auth/mfa/enrol)".into()));
        }
        match user.role {
            Some(role) if allows(role, permission) => Ok(user),
            Some(role) => Err(Error::Forbidden(format!("role {} may not {}", role.as_str(), permission.describe()))),
            None => Err(Error::Forbidden(format!("no role here allows to {}", permission.describe()))),
        }
    }

    /// The user acting on its own account (password, tokens, second factor), whatever its role:
    /// [`Error::Forbidden`] for agents.
    pub fn account(&self) -> Result<&User> {
        match self {
            Principal::User { user, .. } => Ok(user),
            Principal::Agent(_) => Err(Error::Forbidden("agent tokens cannot call user routes".into())),
        }
    }

    /// The user when it may read something: a global role or a role in some pool (lists are
    /// then filtered with [`Principal::sees_pool`]).
    pub fn reader(&self) -> Result<&User> {
        let user = self.account()?;
        match self.user(Permission::Read) {
            Err(_) if user.role.is_none() && !user.pool_roles.is_empty() && self.credential_is_full() => Ok(user),
            other => other,
        }
    }

    /// True when the user may see pool `pool_id` and its clusters.
    pub fn sees_pool(&self, pool_id: i64) -> bool {
        match self {
            Principal::User { user, .. } => role_in_pool(user, pool_id).is_some(),
            Principal::Agent(_) => false,
        }
    }

    /// The principal as it acts in pool `pool_id`: its user's role becomes the higher of its
    /// global role and its role in that pool. Agents are unchanged.
    pub fn in_pool(self, pool_id: i64) -> Principal {
        match self {
            Principal::User { mut user, credential } => {
                user.role = role_in_pool(&user, pool_id);
                Principal::User { user, credential }
            }
            agent => agent,
        }
    }

    fn credential_is_full(&self) -> bool {
        !matches!(self, Principal::User { credential: Credential::EnrolmentSession, .. })
    }

    /// True when narrowing to a scope can change anything (the user holds pool roles).
    pub fn has_pool_roles(&self) -> bool {
        matches!(self, Principal::User { user, .. } if !user.pool_roles.is_empty())
    }

    /// Whom a new API token may act as: the caller itself (any role), or `requested` another
    /// user when the caller is an admin.
    pub fn api_token_owner(&self, requested: Option<i64>) -> Result<i64> {
        let user = self.reader()?;
        match requested {
            None => Ok(user.id),
            Some(id) if id == user.id => Ok(id),
            Some(id) => self.user(Permission::Admin).map(|_| id),
        }
    }

    /// The agent: [`Error::Forbidden`] for user tokens.
    pub fn agent(&self) -> Result<&AgentPrincipal> {
        match self {
            Principal::Agent(agent) => Ok(agent),
            Principal::User { .. } => Err(Error::Forbidden("user tokens cannot act as an agent".into())),
        }
    }

    /// The agent, when it belongs to `cluster_id`.
    pub fn agent_of(&self, cluster_id: i64) -> Result<&AgentPrincipal> {
        let agent = self.agent()?;
        if agent.cluster_id == cluster_id {
            Ok(agent)
        } else {
            Err(Error::Forbidden(format!("agent {} does not belong to cluster {cluster_id}", agent.name)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PoolRole;

    fn user(role: Role) -> Principal {
        Principal::User {
            user: User { id: 1, username: "u".into(), role: Some(role), ..scoped(vec![]) },
            credential: Credential::Session,
        }
    }

    fn scoped(pool_roles: Vec<PoolRole>) -> User {
        User { id: 1, username: "s".into(), role: None, pool_roles, mfa_enabled: false, mfa_required: false, created_at: 0 }
    }

    fn agent(cluster_id: i64) -> Principal {
        Principal::Agent(AgentPrincipal { id: 2, cluster_id, name: "n1".into(), hostname: "h".into() })
    }

    #[test]
    fn the_role_matrix() {
        use Permission::*;
        let expected = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Operator, [true, true, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        for (role, grants) in expected {
            for (permission, granted) in [Read, Write, Audit, Admin].into_iter().zip(grants) {
                assert_eq!(user(role).user(permission).is_ok(), granted, "{role:?} {permission:?}");
            }
        }
    }

    #[test]
    fn pool_roles_apply_in_their_pool_only() {
        use Permission::*;
        let user = scoped(vec![PoolRole { pool_id: 7, role: Role::Operator }, PoolRole { pool_id: 8, role: Role::Viewer }]);
        let principal = Principal::User { user, credential: Credential::Session };
        assert!(principal.user(Read).is_err(), "no global role");
        assert!(principal.reader().is_ok());
        assert!(principal.sees_pool(7) && principal.sees_pool(8) && !principal.sees_pool(9));
        let in7 = principal.clone().in_pool(7);
        assert!(in7.user(Write).is_ok() && in7.user(Admin).is_err());
        let in8 = principal.clone().in_pool(8);
        assert!(in8.user(Read).is_ok() && in8.user(Write).is_err());
        assert!(principal.clone().in_pool(9).user(Read).is_err());
        // A global viewer who operates one pool: the higher role applies there.
        let mut both = scoped(vec![PoolRole { pool_id: 7, role: Role::Admin }]);
        both.role = Some(Role::Viewer);
        let both = Principal::User { user: both, credential: Credential::ApiToken };
        assert_eq!(both.clone().in_pool(7).user(Admin).unwrap().role, Some(Role::Admin));
        assert_eq!(both.clone().in_pool(9).user(Read).unwrap().role, Some(Role::Viewer));
        assert!(both.user(Admin).is_err());
        let nobody = Principal::User { user: scoped(vec![]), credential: Credential::Session };
        assert!(nobody.reader().is_err());
    }

    #[test]
    fn an_enrolment_session_only_reaches_its_account() {
        let mut user = scoped(vec![]);
        user.role = Some(Role::Admin);
        let principal = Principal::User { user, credential: Credential::EnrolmentSession };
        assert!(matches!(principal.user(Permission::Read), Err(Error::Forbidden(_))));
        assert!(principal.account().is_ok());
    }

    #[test]
    fn users_and_agents_do_not_mix() {
        assert!(matches!(agent(1).user(Permission::Read), Err(Error::Forbidden(_))));
        assert!(matches!(user(Role::Admin).agent(), Err(Error::Forbidden(_))));
        assert!(agent(1).agent_of(1).is_ok());
        assert!(matches!(agent(1).agent_of(2), Err(Error::Forbidden(_))));
        assert_eq!(agent(1).actor(), "agent:n1");
        assert_eq!(user(Role::Viewer).api_token_owner(None).unwrap(), 1);
        assert!(matches!(user(Role::Operator).api_token_owner(Some(7)), Err(Error::Forbidden(_))));
        assert_eq!(user(Role::Admin).api_token_owner(Some(7)).unwrap(), 7);
        assert!(agent(1).api_token_owner(None).is_err());
    }
}
