//! Users (argon2id password hashes), sessions and API tokens (stored as SHA-256 of the token).
//!
//! Usernames are stored NFKC and unique by their skeleton (`users.username_key`, see
//! [`crate::auth::usernames`]); passwords pass [`crate::auth::passwords::check`] before they are
//! hashed. Logging in (throttled, two steps with a second factor) is in `login.rs`; changing
//! users in `accounts.rs`; the second factor in `mfa.rs`.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{unique_to_conflict, Store, Tx};
use crate::auth::{passwords, usernames};
use crate::error::{Error, Result};
use crate::model::{ApiToken, PoolRole, Role, User};
use crate::secret::{hash_password, new_token, sha256_hex};

/// The shortest password accepted, in characters ([`passwords::MIN_PASSWORD_CHARS`]).
pub const MIN_PASSWORD_LEN: usize = passwords::MIN_PASSWORD_CHARS;

/// The longest an API token may live, in ms (one year): automation renews its tokens.
pub const MAX_API_TOKEN_TTL_MS: i64 = 366 * 24 * 3_600_000;

/// How stale `api_tokens.last_used_at` may get before a use writes it again, in ms: a token
/// used on every request does not turn every read into a write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

/// The columns [`user_from_row`] reads, from `users u`.
pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.role, u.scoped, u.totp_secret, u.mfa_required, u.created_at";

pub(super) fn user_from_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    let scoped: i64 = row.try_get("scoped")?;
    let secret: Option<String> = row.try_get("totp_secret")?;
    let required: i64 = row.try_get("mfa_required")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: if scoped == 0 { Some(parse_role(&role)?) } else { None },
        pool_roles: Vec::new(),
        mfa_enabled: secret.is_some(),
        mfa_required: required != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn parse_role(role: &str) -> Result<Role> {
    role.parse().map_err(|_| Error::Corrupt(format!("unknown role {role:?}")))
}

/// The first characters of a token: enough to tell tokens apart in a list.
fn token_prefix(secret: &str) -> String {
    secret.chars().take(11).collect()
}

fn api_token_from_row(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    /// Creates a user with a global role. The username is normalised (NFKC) and must not share
    /// its skeleton with another user's ([`Error::Conflict`]); the password must pass
    /// [`passwords::check`]. Stored as an argon2id hash.
    pub async fn create_user(&self, actor: &str, username: &str, password: &str, role: Role) -> Result<User> {
        self.create_user_with(actor, username, password, Some(role), &[]).await
    }

    /// Creates a user with a global role (or none) and roles in single pools.
    pub async fn create_user_with(
        &self,
        actor: &str,
        username: &str,
        password: &str,
        role: Option<Role>,
        pool_roles: &[PoolRole],
    ) -> Result<User> {
        let username = usernames::normalize(username)?;
        passwords::check(password, &username)?;
        if role.is_none() && pool_roles.is_empty() {
            return Err(Error::invalid("a user needs a role, globally or in at least one pool"));
        }
        let hash = hash_password(password, self.random())?;
        let now = self.now();
        let id = self.new_id()?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO users (id, username, username_key, password_hash, role, scoped, mfa_required, password_changed_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)",
        )
        .bind(id)
        .bind(&username)
        .bind(usernames::skeleton(&username))
        .bind(hash)
        .bind(role.unwrap_or(Role::Viewer).as_str())
        .bind(i64::from(role.is_none()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_to_conflict(e, || format!("user {username:?} already exists (names are compared ignoring case and look-alike letters)")))?;
        self.write_pool_roles(&mut tx, id, pool_roles).await?;
        let details = json!({"user_id": id, "username": username, "role": role, "pool_roles": pool_roles});
        self.audit(&mut tx, Audit { actor, action: "user.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        self.user(id).await
    }

    /// Replaces the pool roles of `user_id` (pools must exist).
    pub(super) async fn write_pool_roles(&self, tx: &mut Tx, user_id: i64, pool_roles: &[PoolRole]) -> Result<()> {
        sqlx::query("DELETE FROM pool_roles WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
        for grant in pool_roles {
            let pool = sqlx::query("SELECT id FROM pools WHERE id = $1").bind(grant.pool_id).fetch_optional(&mut **tx).await?;
            if pool.is_none() {
                return Err(Error::not_found(format!("pool {}", grant.pool_id)));
            }
            sqlx::query("INSERT INTO pool_roles (user_id, pool_id, role) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(grant.pool_id)
                .bind(grant.role.as_str())
                .execute(&mut **tx)
                .await
                .map_err(|e| unique_to_conflict(e, || format!("pool {} is given twice", grant.pool_id)))?;
        }
        Ok(())
    }

    /// The pool roles of `user`, filled in.
    pub(super) async fn with_pool_roles(&self, mut user: User) -> Result<User> {
        let rows = sqlx::query("SELECT pool_id, role FROM pool_roles WHERE user_id = $1 ORDER BY pool_id")
            .bind(user.id)
            .fetch_all(self.pool())
            .await?;
        user.pool_roles = rows
            .iter()
            .map(|r| Ok(PoolRole { pool_id: r.try_get("pool_id")?, role: parse_role(&r.try_get::<String, _>("role")?)? }))
            .collect::<Result<_>>()?;
        user.mfa_required = user.mfa_required || self.mfa_due_by_setting(&user).await?;
        Ok(user)
    }

    /// One user.
    pub async fn user(&self, id: i64) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("user {id}")))?;
        self.with_pool_roles(user_from_row(&row)?).await
    }

    /// How many users exist (the server creates the first admin when there are none).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"))
            .fetch_all(self.pool())
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(self.with_pool_roles(user_from_row(row)?).await?);
        }
        Ok(users)
    }

    /// Gives every user made before usernames had skeletons its `username_key`. A legacy name
    /// whose skeleton another user already holds keeps none: it still logs in by its exact
    /// name, and an admin can delete or recreate it.
    pub(super) async fn backfill_username_keys(&self) -> Result<()> {
        let rows = sqlx::query("SELECT id, username FROM users WHERE username_key IS NULL").fetch_all(self.pool()).await?;
        for row in &rows {
            let name: String = row.try_get("username")?;
            let done = sqlx::query("UPDATE users SET username_key = $1 WHERE id = $2")
                .bind(usernames::skeleton(&name))
                .bind(row.try_get::<i64, _>("id")?)
                .execute(self.pool())
                .await;
            match done {
                Ok(_) => {}
                Err(e) if super::is_unique_violation(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Opens a session for `user` valid for `ttl_ms`; `enrol_only` limits it to enrolling a
    /// second factor. Returns the token (shown once; only its hash is stored).
    pub(super) async fn open_session(&self, tx: &mut Tx, user: &User, ttl_ms: i64, enrol_only: bool) -> Result<String> {
        let token = new_token("fs_", self.random())?;
        let now = self.now();
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, enrol_only) VALUES ($1, $2, $3, $4, $5)")
            .bind(sha256_hex(token.as_bytes()))
            .bind(user.id)
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .bind(i64::from(enrol_only))
            .execute(&mut **tx)
            .await?;
        let details = json!({"user_id": user.id, "enrol_only": enrol_only});
        self.audit(tx, Audit { actor: &user.username, action: "session.login", cluster_id: None, version: None, details }).await?;
        Ok(token)
    }

    /// The user behind a session token that has not expired, and whether the session may only
    /// enrol a second factor.
    pub async fn session_user(&self, token: &str) -> Result<(User, bool)> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.enrol_only FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        ))
        .bind(sha256_hex(token.as_bytes()))
        .bind(self.now())
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
        let enrol_only: i64 = row.try_get("enrol_only")?;
        Ok((self.with_pool_roles(user_from_row(&row)?).await?, enrol_only != 0))
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let (user, _) = self.session_user(token).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(token.as_bytes()))
            .execute(&mut *tx)
            .await?;
        let details = json!({"user_id": user.id});
        self.audit(&mut tx, Audit { actor: &user.username, action: "session.logout", cluster_id: None, version: None, details })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an API token acting as `user_id`, valid until revoked; returns it with the secret
    /// (shown once).
    pub async fn create_api_token(&self, actor: &str, user_id: i64, name: &str) -> Result<(ApiToken, String)> {
        self.create_api_token_for(actor, user_id, name, None).await
    }

    /// Creates an API token acting as `user_id` that expires after `ttl_ms` (at most
    /// [`MAX_API_TOKEN_TTL_MS`]; `None`: until revoked).
    pub async fn create_api_token_for(
        &self,
        actor: &str,
        user_id: i64,
        name: &str,
        ttl_ms: Option<i64>,
    ) -> Result<(ApiToken, String)> {
        if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid("a token name has 1 to 100 characters, none of them control characters"));
        }
        if let Some(ttl) = ttl_ms {
            if ttl <= 0 || ttl > MAX_API_TOKEN_TTL_MS {
                return Err(Error::invalid(format!(
                    "a token lives between 1 s and {} days",
                    MAX_API_TOKEN_TTL_MS / 86_400_000
                )));
            }
        }
        let secret = new_token("fa_", self.random())?;
        let now = self.now();
        let token = ApiToken {
            id: self.new_id()?,
            user_id,
            name: name.into(),
            prefix: token_prefix(&secret),
            created_at: now,
            expires_at: ttl_ms.map(|ttl| now.saturating_add(ttl)),
            last_used_at: None,
        };
        let mut tx = self.write_tx().await?;
        let user = sqlx::query("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *tx).await?;
        if user.is_none() {
            return Err(Error::not_found(format!("user {user_id}")));
        }
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, name, prefix, created_at, expires_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(token.id)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(user_id)
        .bind(name)
        .bind(&token.prefix)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
        let details = json!({"token_id": token.id, "user_id": user_id, "name": name, "expires_at": token.expires_at});
        self.audit(&mut tx, Audit { actor, action: "api_token.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// The user an API token acts as, while it has not expired; records when it was used (to
    /// the minute).
    pub async fn api_token_user(&self, secret: &str) -> Result<User> {
        let now = self.now();
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)"
        ))
        .bind(sha256_hex(secret.as_bytes()))
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now.saturating_sub(at) >= LAST_USED_GRANULARITY_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(row.try_get::<i64, _>("token_id")?)
                .execute(self.pool())
                .await?;
        }
        self.with_pool_roles(user_from_row(&row)?).await
    }

    /// The API tokens acting as `user_id`, newest first (metadata and prefix only).
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at, expires_at, last_used_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    /// Revokes an API token (any user's: an admin's action).
    pub async fn revoke_api_token(&self, actor: &str, id: i64) -> Result<()> {
        self.revoke_api_token_of(actor, id, None).await
    }

    /// Revokes API token `id`; with `owner`, only when it acts as that user ([`Error::NotFound`]
    /// otherwise, so tokens of others are not revealed).
    pub async fn revoke_api_token_of(&self, actor: &str, id: i64, owner: Option<i64>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let deleted = match owner {
            Some(user_id) => {
                sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(&mut *tx).await?
            }
            None => sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(&mut *tx).await?,
        };
        if deleted.rows_affected() == 0 {
            return Err(Error::not_found(format!("api token {id}")));
        }
        let details = json!({"token_id": id});
        self.audit(&mut tx, Audit { actor, action: "api_token.revoke", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }
}
