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

use crate::error::{Error, Result};
use crate::model::{Agent, Role, User};

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

/// True when `role` grants `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::Read => true,
        Permission::Write | Permission::Audit => matches!(role, Role::Admin | Role::Operator),
        Permission::Admin => role == Role::Admin,
    }
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A login session (can log out).
    Session,
    /// An API token for automation.
    ApiToken,
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
    Agent(Agent),
}

impl Principal {
    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { user, .. } => user.username.clone(),
            Principal::Agent(agent) => format!("agent:{}", agent.name),
        }
    }

    /// The user, when it holds `permission`: [`Error::Forbidden`] for agents and for roles that
    /// do not grant it.
    pub fn user(&self, permission: Permission) -> Result<&User> {
        match self {
            Principal::User { user, .. } if allows(user.role, permission) => Ok(user),
            Principal::User { user, .. } => Err(Error::Forbidden(format!(
                "role {} may not {}",
                user.role.as_str(),
                permission.describe()
            ))),
            Principal::Agent(_) => Err(Error::Forbidden("agent tokens cannot call user routes".into())),
        }
    }

    /// Whom a new API token may act as: the caller itself (any role), or `requested` another
    /// user when the caller is an admin.
    pub fn api_token_owner(&self, requested: Option<i64>) -> Result<i64> {
        let user = self.user(Permission::Read)?;
        match requested {
            None => Ok(user.id),
            Some(id) if id == user.id => Ok(id),
            Some(id) => self.user(Permission::Admin).map(|_| id),
        }
    }

    /// The agent: [`Error::Forbidden`] for user tokens.
    pub fn agent(&self) -> Result<&Agent> {
        match self {
            Principal::Agent(agent) => Ok(agent),
            Principal::User { .. } => Err(Error::Forbidden("user tokens cannot act as an agent".into())),
        }
    }

    /// The agent, when it belongs to `cluster_id`.
    pub fn agent_of(&self, cluster_id: i64) -> Result<&Agent> {
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

    fn user(role: Role) -> Principal {
        Principal::User {
            user: User { id: 1, username: "u".into(), role, created_at: 0 },
            credential: Credential::Session,
        }
    }

    fn agent(cluster_id: i64) -> Principal {
        Principal::Agent(Agent {
            id: 2,
            cluster_id,
            name: "n1".into(),
            hostname: "h".into(),
            facts: serde_json::Value::Null,
            last_seen_at: None,
            applied_version: None,
            last_outcome: None,
            last_error: None,
            last_diagnostics: Vec::new(),
            created_at: 0,
        })
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
