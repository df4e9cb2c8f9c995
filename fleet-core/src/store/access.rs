//! What the HTTP API needs on top of the plain store operations: who a bearer token is, the first
//! administrator, and cluster-scoped access to transactions and texts (a transaction id in a URL
//! must belong to the cluster in that URL).

use std::future::Future;
use std::sync::Arc;

use sqlx::Row;

use crate::documents::Parsed;
use crate::error::{Error, Result};
use crate::model::{Actor, Role, Transaction};
use crate::ops::EditOp;
use crate::rbac::{Credential, Permission, Principal, Readable, Scope};
use crate::secret::{new_token, sha256_hex};

use super::{is_unique_violation, to_json, Store};

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
            let (user, enrol_only) = self.session_user(token).await?;
            let credential = if enrol_only { Credential::EnrolmentSession } else { Credential::Session };
            Ok(Principal::User { user, credential })
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

    /// `principal` as it acts in `scope`: a user's role becomes the one in effect in the pool
    /// of that cluster or that pool ([`Principal::in_pool`]). A cluster that does not exist
    /// leaves the principal as it is (the route then answers 404 or 403 as usual).
    pub async fn scoped(&self, principal: Principal, scope: Scope) -> Result<Principal> {
        if !principal.has_pool_roles() {
            return Ok(principal);
        }
        let pool_id = match scope {
            Scope::Pool(id) => Some(id),
            Scope::Cluster(id) => sqlx::query("SELECT pool_id FROM clusters WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .map(|row| row.try_get::<i64, _>("pool_id"))
                .transpose()?,
        };
        Ok(match pool_id {
            Some(pool_id) => principal.in_pool(pool_id),
            None => principal,
        })
    }

    /// What `principal` may read, for filtering lists ([`Readable`]): everything with a global
    /// role; else the clusters of the pools where the user holds a role, read now (a stream
    /// that runs long asks [`Store::reads_cluster`] about a cluster it does not know). Agents
    /// and users without any role: [`Error::Forbidden`].
    pub async fn readable(&self, principal: &Principal) -> Result<Readable> {
        principal.reader()?;
        if principal.user(Permission::Read).is_ok() {
            return Ok(Readable::All);
        }
        let pools: std::collections::HashSet<i64> = match principal {
            Principal::User { user, .. } => user.pool_roles.iter().map(|g| g.pool_id).collect(),
            Principal::Agent(_) => return Err(Error::Forbidden("agent tokens cannot call user routes".into())),
        };
        let rows = sqlx::query("SELECT id, pool_id FROM clusters").fetch_all(self.pool()).await?;
        let mut clusters = std::collections::HashSet::new();
        for row in rows {
            if pools.contains(&row.try_get::<i64, _>("pool_id")?) {
                clusters.insert(row.try_get::<i64, _>("id")?);
            }
        }
        Ok(Readable::Clusters(clusters))
    }

    /// True when `principal` may read cluster `cluster_id` (its role in that cluster's pool).
    pub async fn reads_cluster(&self, principal: &Principal, cluster_id: i64) -> Result<bool> {
        Ok(self.scoped(principal.clone(), Scope::Cluster(cluster_id)).await?.user(Permission::Read).is_ok())
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
    pub async fn commit_in(&self, actor: Actor<'_>, cluster_id: i64, id: i64, message: &str) -> Result<crate::model::Committed> {
        self.cluster_transaction(cluster_id, id).await?;
        self.commit(actor, id, message).await
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

    /// The whole bundle of a cluster at `at` (errors as [`Store::text_at`]).
    pub async fn bundle_at(&self, cluster_id: i64, at: TextAt) -> Result<(Option<i64>, crate::bundle::Bundle)> {
        match at {
            TextAt::Latest => match self.latest_version(cluster_id).await? {
                Some(v) => Ok((Some(v.info.number), self.bundle(cluster_id, v.info.number).await?)),
                None => Err(Error::not_found(format!("a version of cluster {cluster_id}"))),
            },
            TextAt::Version(n) => Ok((Some(n), self.bundle(cluster_id, n).await?)),
            TextAt::Transaction(id) => {
                let transaction = self.cluster_transaction(cluster_id, id).await?;
                Ok((None, self.candidate_bundle(&transaction).await?))
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
    /// The parsed text of a cluster at `at`, from the document cache when it holds it: a
    /// version is read by its sha256 first, and its text is fetched and parsed only on a miss;
    /// what a transaction would commit is cached under its base's sha256 and its ops. Errors
    /// as [`Store::text_at`].
    pub async fn document_at(&self, cluster_id: i64, at: TextAt) -> Result<Arc<Parsed>> {
        match at {
            TextAt::Latest => {
                let row = sqlx::query(
                    "SELECT number, sha256 FROM config_versions WHERE cluster_id = $1 ORDER BY number DESC LIMIT 1",
                )
                .bind(cluster_id)
                .fetch_optional(self.pool())
                .await?;
                let Some(row) = row else {
                    self.cluster(cluster_id).await?;
                    return Err(Error::not_found(format!("a version of cluster {cluster_id}")));
                };
                self.version_document(cluster_id, row.try_get("number")?, row.try_get("sha256")?).await
            }
            TextAt::Version(n) => self.document_of_version(cluster_id, n).await,
            TextAt::Transaction(id) => {
                let transaction = self.cluster_transaction(cluster_id, id).await?;
                self.candidate_document(&transaction).await
            }
        }
    }

    /// The latest version's number (0 before the first) and its parsed text (empty before the
    /// first): what a read addresses when it names no version. [`Error::NotFound`] without the
    /// cluster.
    pub async fn latest_document(&self, cluster_id: i64) -> Result<(i64, Arc<Parsed>)> {
        let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS latest FROM config_versions WHERE cluster_id = $1")
            .bind(cluster_id)
            .fetch_one(self.pool())
            .await?;
        let latest: i64 = row.try_get("latest")?;
        Ok((latest, self.document_of_version(cluster_id, latest).await?))
    }

    /// The parsed text of version `number`, where 0 is the empty text before the first version.
    pub(crate) async fn document_of_version(&self, cluster_id: i64, number: i64) -> Result<Arc<Parsed>> {
        if number == 0 {
            self.cluster(cluster_id).await?;
            return self.cached_document(sha256_hex(b""), async { Ok(String::new()) }).await;
        }
        let sha256 = self.version_sha256(cluster_id, number).await?;
        self.version_document(cluster_id, number, sha256).await
    }

    /// The sha256 of version `number`, without reading its text. Written as "the highest version
    /// up to `number`" because SQLite then answers from the covering index on
    /// `(cluster_id, number, sha256)`; with `number = $2` it picks the primary key and reads the
    /// row, walking the text's overflow pages (~5 ms for 18 MB) to reach the sha256 after it.
    async fn version_sha256(&self, cluster_id: i64, number: i64) -> Result<String> {
        let row = sqlx::query(
            "SELECT number, sha256 FROM config_versions WHERE cluster_id = $1 AND number <= $2 \
             ORDER BY number DESC LIMIT 1",
        )
        .bind(cluster_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) if row.try_get::<i64, _>("number")? == number => Ok(row.try_get("sha256")?),
            _ => Err(Error::not_found(format!("version {number} of cluster {cluster_id}"))),
        }
    }

    async fn version_document(&self, cluster_id: i64, number: i64, sha256: String) -> Result<Arc<Parsed>> {
        self.cached_document(sha256, async move { Ok(self.version(cluster_id, number).await?.text) }).await
    }

    /// What `transaction` would commit, parsed: its base version's cached document with the ops
    /// applied, rendered and parsed again (so line numbers are those of the text a commit would
    /// store), cached under the base's sha256 and the ops, which together fix the result.
    pub(crate) async fn candidate_document(&self, transaction: &Transaction) -> Result<Arc<Parsed>> {
        let base_sha = self.base_sha256(transaction).await?;
        let key = sha256_hex(format!("candidate\0{base_sha}\0{}", to_json(&transaction.ops)?).as_bytes());
        // File ops change the bundle (and may replace the first config file): then the text is
        // the candidate bundle's; config ops alone edit the parsed base directly.
        let file_ops = transaction.ops.iter().any(EditOp::is_file_op);
        let text = async {
            if file_ops {
                Ok(self.candidate_bundle(transaction).await?.text().to_string())
            } else {
                Ok(haproxy_render::lossless(&self.base_document(transaction).await?.edited(&transaction.ops)?))
            }
        };
        self.cached_document(key, text).await
    }

    /// The parsed base version of `transaction`.
    pub(crate) async fn base_document(&self, transaction: &Transaction) -> Result<Arc<Parsed>> {
        self.document_of_version(transaction.cluster_id, transaction.base_version).await
    }

    async fn base_sha256(&self, transaction: &Transaction) -> Result<String> {
        if transaction.base_version == 0 {
            return Ok(sha256_hex(b""));
        }
        self.version_sha256(transaction.cluster_id, transaction.base_version).await
    }

    /// The cached document under `key`, else `load`'s text parsed (on a blocking thread: a large
    /// configuration takes a while) and cached.
    pub(crate) async fn cached_document(&self, key: String, load: impl Future<Output = Result<String>>) -> Result<Arc<Parsed>> {
        if let Some(parsed) = self.shared.documents.get(&key) {
            return Ok(parsed);
        }
        let text = load.await?;
        let parsed = match tokio::task::spawn_blocking(move || Parsed::parse(&text)).await {
            Ok(parsed) => Arc::new(parsed),
            // A panic while parsing is a bug: let it surface as if the parse had run here.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(Error::Corrupt(format!("parse interrupted: {e}"))),
        };
        self.shared.documents.insert(&key, parsed.clone());
        Ok(parsed)
    }

    /// `text` parsed, cached under its sha256 like the version it is about to become.
    pub(crate) async fn parsed_text(&self, text: &str) -> Result<Arc<Parsed>> {
        self.cached_document(sha256_hex(text.as_bytes()), async { Ok(text.to_string()) }).await
    }

    /// How often reads were answered from the document cache.
    pub fn document_cache_stats(&self) -> crate::documents::CacheStats {
        self.shared.documents.stats()
    }
}
