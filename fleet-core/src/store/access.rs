//! What the HTTP API needs on top of the plain store operations: who a bearer token is, the first
//! administrator, and cluster-scoped access to transactions and texts (a transaction id in a URL
//! must belong to the cluster in that URL).

use crate::error::{Error, Result};
use crate::model::{Role, Transaction};
use crate::ops::EditOp;
use crate::rbac::{Credential, Principal};
use crate::secret::new_token;

use super::{is_unique_violation, Store};

/// The first administrator's login name.
pub const ADMIN_USERNAME: &str = "admin";

/// What [`Store::bootstrap_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// There were users already: nothing changed.
    Existing,
    /// `admin` was created with the given password.
    Created,
    /// `admin` was created with this random password (show it once).
    Generated(String),
}

/// Which text a read addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAt {
    /// The latest version.
    Latest,
    /// Version N.
    Version(i64),
    /// What an open transaction would commit.
    Transaction(i64),
}

impl Store {
    /// The principal behind a bearer token: a session (`fs_`), an API token (`fa_`) or an agent
    /// token (`fg_`). Anything else, unknown or expired, is [`Error::Unauthorized`].
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if token.starts_with("fs_") {
            let user = self.session_user(token).await?;
            Ok(Principal::User { user, credential: Credential::Session })
        } else if token.starts_with("fa_") {
            let user = self.api_token_user(token).await?;
            Ok(Principal::User { user, credential: Credential::ApiToken })
        } else if token.starts_with("fg_") {
            Ok(Principal::Agent(self.agent_by_token(token).await?))
        } else {
            Err(Error::Unauthorized)
        }
    }

    /// Creates the `admin` user when there are no users, with `password` or, when none, a random
    /// password that is returned once in [`AdminBootstrap::Generated`].
    pub async fn bootstrap_admin(&self, password: Option<&str>) -> Result<AdminBootstrap> {
        if self.user_count().await? > 0 {
            return Ok(AdminBootstrap::Existing);
        }
        let generated = match password {
            Some(_) => None,
            None => Some(new_token("", self.random())?.chars().take(24).collect::<String>()),
        };
        let chosen = password.or(generated.as_deref()).unwrap_or_default();
        match self.create_user("system", ADMIN_USERNAME, chosen, Role::Admin).await {
            Ok(_) => Ok(generated.map_or(AdminBootstrap::Created, AdminBootstrap::Generated)),
            // Another replica created it at the same moment.
            Err(Error::Conflict(_)) => Ok(AdminBootstrap::Existing),
            Err(Error::Storage(e)) if is_unique_violation(&e) => Ok(AdminBootstrap::Existing),
            Err(e) => Err(e),
        }
    }

    /// Transaction `id` of cluster `cluster_id` ([`Error::NotFound`] when it belongs to another).
    pub async fn cluster_transaction(&self, cluster_id: i64, id: i64) -> Result<Transaction> {
        let transaction = self.transaction(id).await?;
        if transaction.cluster_id == cluster_id {
            Ok(transaction)
        } else {
            Err(Error::not_found(format!("transaction {id} of cluster {cluster_id}")))
        }
    }

    /// Stages `ops` in transaction `id`, which must belong to `cluster_id`.
    pub async fn stage_in(&self, author: &str, cluster_id: i64, id: i64, ops: Vec<EditOp>) -> Result<Transaction> {
        self.cluster_transaction(cluster_id, id).await?;
        self.stage(author, id, ops).await
    }

    /// Commits transaction `id` of `cluster_id`.
    pub async fn commit_in(&self, author: &str, cluster_id: i64, id: i64, message: &str) -> Result<crate::model::Committed> {
        self.cluster_transaction(cluster_id, id).await?;
        self.commit(author, id, message).await
    }

    /// Discards transaction `id` of `cluster_id`.
    pub async fn discard_in(&self, author: &str, cluster_id: i64, id: i64) -> Result<()> {
        self.cluster_transaction(cluster_id, id).await?;
        self.discard(author, id).await
    }

    /// The text of a cluster at `at`. A cluster without versions reads as
    /// [`Error::NotFound`] for `Latest`.
    pub async fn text_at(&self, cluster_id: i64, at: TextAt) -> Result<String> {
        match at {
            TextAt::Latest => self
                .latest_version(cluster_id)
                .await?
                .map(|v| v.text)
                .ok_or_else(|| Error::not_found(format!("a version of cluster {cluster_id}"))),
            TextAt::Version(n) => Ok(self.version(cluster_id, n).await?.text),
            TextAt::Transaction(id) => {
                self.cluster_transaction(cluster_id, id).await?;
                Ok(self.preview(id).await?.text)
            }
        }
    }

    /// The text of version `number`, where 0 is the empty text before the first version.
    pub async fn version_text(&self, cluster_id: i64, number: i64) -> Result<String> {
        if number == 0 {
            self.cluster(cluster_id).await?;
            return Ok(String::new());
        }
        Ok(self.version(cluster_id, number).await?.text)
    }
}
