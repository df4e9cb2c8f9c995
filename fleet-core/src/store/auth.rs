//! Users (argon2id password hashes), sessions and API tokens (stored as SHA-256 of the token).

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{unique_to_conflict, Store};
use crate::error::{Error, Result};
use crate::model::{ApiToken, Role, User};
use crate::secret::{hash_password, new_token, sha256_hex, verify_password};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

fn user_from_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role.parse().map_err(|_| Error::Corrupt(format!("unknown role {role:?}")))?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates a user. The password is stored as an argon2id hash.
    pub async fn create_user(&self, actor: &str, username: &str, password: &str, role: Role) -> Result<User> {
        if username.is_empty() || username.len() > 100 || username.contains(char::is_whitespace) || username.contains(':') {
            return Err(Error::invalid(format!("invalid username {username:?}")));
        }
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(Error::invalid(format!("password must have at least {MIN_PASSWORD_LEN} characters")));
        }
        let hash = hash_password(password, self.random())?;
        let user = User { id: self.new_id()?, username: username.into(), role, created_at: self.now() };
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO users (id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(user.id)
            .bind(username)
            .bind(hash)
            .bind(role.as_str())
            .bind(user.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("user {username:?} already exists")))?;
        let details = json!({"user_id": user.id, "username": username, "role": role});
        self.audit(&mut tx, Audit { actor, action: "user.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// How many users exist (the server creates the first admin when there are none).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT id, username, role, created_at FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Checks a password and opens a session valid for `ttl_ms`; returns the user and the session
    /// token (shown once; only its hash is stored). Wrong credentials give [`Error::Unauthorized`]
    /// and an audit entry.
    pub async fn login(&self, username: &str, password: &str, ttl_ms: i64) -> Result<(User, String)> {
        let row = sqlx::query("SELECT id, username, role, created_at, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        let user = match &row {
            Some(row) if verify_password(password, &row.try_get::<String, _>("password_hash")?) => user_from_row(row)?,
            _ => {
                let mut tx = self.write_tx().await?;
                let details = json!({"username": username});
                self.audit(&mut tx, Audit { actor: username, action: "session.login_failed", cluster_id: None, version: None, details })
                    .await?;
                tx.commit().await?;
                return Err(Error::Unauthorized);
            }
        };
        let token = new_token("fs_", self.random())?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(sha256_hex(token.as_bytes()))
            .bind(user.id)
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .execute(&mut *tx)
            .await?;
        let details = json!({"user_id": user.id});
        self.audit(&mut tx, Audit { actor: &user.username, action: "session.login", cluster_id: None, version: None, details })
            .await?;
        tx.commit().await?;
        Ok((user, token))
    }

    /// The user behind a session token that has not expired.
    pub async fn session_user(&self, token: &str) -> Result<User> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(self.now())
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
        user_from_row(&row)
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let user = self.session_user(token).await?;
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

    /// Creates an API token acting as `user_id`; returns it with the secret (shown once).
    pub async fn create_api_token(&self, actor: &str, user_id: i64, name: &str) -> Result<(ApiToken, String)> {
        let secret = new_token("fa_", self.random())?;
        let token = ApiToken { id: self.new_id()?, user_id, name: name.into(), created_at: self.now() };
        let mut tx = self.write_tx().await?;
        let user = sqlx::query("SELECT id FROM users WHERE id = $1").bind(user_id).fetch_optional(&mut *tx).await?;
        if user.is_none() {
            return Err(Error::not_found(format!("user {user_id}")));
        }
        sqlx::query("INSERT INTO api_tokens (id, token_hash, user_id, name, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, NULL)")
            .bind(token.id)
            .bind(sha256_hex(secret.as_bytes()))
            .bind(user_id)
            .bind(name)
            .bind(token.created_at)
            .execute(&mut *tx)
            .await?;
        let details = json!({"token_id": token.id, "user_id": user_id, "name": name});
        self.audit(&mut tx, Audit { actor, action: "api_token.create", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// The user an API token acts as.
    pub async fn api_token_user(&self, secret: &str) -> Result<User> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
        user_from_row(&row)
    }

    /// Revokes an API token.
    pub async fn revoke_api_token(&self, actor: &str, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::not_found(format!("api token {id}")));
        }
        let details = json!({"token_id": id});
        self.audit(&mut tx, Audit { actor, action: "api_token.revoke", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }
}
