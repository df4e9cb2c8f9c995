//! Changing users: one's own password, an admin's reset, role and pool-role changes, deletion,
//! and the server-wide security settings. A new password ends every session of its user.
//!
//! The last global admin cannot be deleted, demoted or scoped: the fleet always keeps someone
//! who can manage users.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::{to_json, Store, Tx};
use crate::auth::passwords;
use crate::error::{Error, Result};
use crate::model::{PoolRole, Role, User};
use crate::secret::hash_password;

/// A change to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserChange {
    /// The global role; `Some(None)` removes it (the user then acts only in its pools).
    #[serde(default, with = "double_option")]
    pub role: Option<Option<Role>>,
    /// Replaces every pool role.
    #[serde(default)]
    pub pool_roles: Option<Vec<PoolRole>>,
    /// Requires a second factor of this user.
    #[serde(default)]
    pub mfa_required: Option<bool>,
}

/// `null` and absent differ: absent keeps the role, `null` removes it.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Server-wide security settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecuritySettings {
    /// Every user holding the admin role (globally or in a pool) must use a second factor.
    #[serde(default)]
    pub mfa_required_for_admins: bool,
}

const SECURITY: &str = "security";

impl Store {
    /// Changes `user`'s own password after checking the current one; every session of the user
    /// ends (log in again). API tokens stay.
    pub async fn change_password(&self, user: &User, current: &str, new: &str) -> Result<()> {
        passwords::check(new, &user.username)?;
        self.check_own_password(user.id, current).await?;
        self.set_password(&user.username, user.id, new, "user.password_change").await
    }

    /// An admin sets `user_id`'s password; every session of that user ends.
    pub async fn reset_password(&self, actor: &str, user_id: i64, new: &str) -> Result<()> {
        let user = self.user(user_id).await?;
        passwords::check(new, &user.username)?;
        self.set_password(actor, user_id, new, "user.password_reset").await
    }

    async fn set_password(&self, actor: &str, user_id: i64, new: &str, action: &str) -> Result<()> {
        let hash = hash_password(new, self.random())?;
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(self.now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("user {user_id}")));
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        let details = json!({"user_id": user_id, "sessions_ended": ended.rows_affected()});
        self.audit(&mut tx, Audit { actor, action, cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes `user_id`'s roles or second-factor requirement.
    pub async fn update_user(&self, actor: &str, user_id: i64, change: &UserChange) -> Result<User> {
        let before = self.user(user_id).await?;
        let role = change.role.unwrap_or(before.role);
        let pool_roles = change.pool_roles.clone().unwrap_or_else(|| before.pool_roles.clone());
        if role.is_none() && pool_roles.is_empty() {
            return Err(Error::invalid("a user needs a role, globally or in at least one pool"));
        }
        let mut tx = self.write_tx().await?;
        if before.role == Some(Role::Admin) && role != Some(Role::Admin) {
            self.keep_an_admin(&mut tx, user_id).await?;
        }
        sqlx::query("UPDATE users SET role = $1, scoped = $2, mfa_required = COALESCE($3, mfa_required) WHERE id = $4")
            .bind(role.unwrap_or(Role::Viewer).as_str())
            .bind(i64::from(role.is_none()))
            .bind(change.mfa_required.map(i64::from))
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if change.pool_roles.is_some() {
            self.write_pool_roles(&mut tx, user_id, &pool_roles).await?;
        }
        let details = json!({"user_id": user_id, "role": role, "pool_roles": pool_roles, "mfa_required": change.mfa_required});
        self.audit(&mut tx, Audit { actor, action: "user.update", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        self.user(user_id).await
    }

    /// Deletes `user_id` with its sessions, tokens and pool roles. `actor_id` (the admin doing
    /// it) cannot delete itself.
    pub async fn delete_user(&self, actor: &str, actor_id: i64, user_id: i64) -> Result<()> {
        if actor_id == user_id {
            return Err(Error::Conflict("you cannot delete yourself".into()));
        }
        let user = self.user(user_id).await?;
        let mut tx = self.write_tx().await?;
        if user.role == Some(Role::Admin) {
            self.keep_an_admin(&mut tx, user_id).await?;
        }
        for table in ["sessions", "api_tokens", "pool_roles", "recovery_codes", "mfa_challenges"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(user_id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
        let details = json!({"user_id": user_id, "username": user.username});
        self.audit(&mut tx, Audit { actor, action: "user.delete", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Error::Conflict`] when `user_id` is the last global admin.
    async fn keep_an_admin(&self, tx: &mut Tx, user_id: i64) -> Result<()> {
        let others: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND scoped = 0 AND id <> $1")
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        if others == 0 {
            return Err(Error::Conflict("this is the last global admin: make another one first".into()));
        }
        Ok(())
    }

    /// The server-wide security settings.
    pub async fn security_settings(&self) -> Result<SecuritySettings> {
        let row = sqlx::query("SELECT value FROM server_settings WHERE name = $1").bind(SECURITY).fetch_optional(self.pool()).await?;
        match row {
            Some(row) => super::json_column(&row, "value"),
            None => Ok(SecuritySettings::default()),
        }
    }

    /// Replaces the server-wide security settings.
    pub async fn set_security_settings(&self, actor: &str, settings: SecuritySettings) -> Result<SecuritySettings> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM server_settings WHERE name = $1").bind(SECURITY).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2)")
            .bind(SECURITY)
            .bind(to_json(&settings)?)
            .execute(&mut *tx)
            .await?;
        let details = json!({"settings": settings});
        self.audit(&mut tx, Audit { actor, action: "settings.security", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(settings)
    }

    /// True when the server setting requires a second factor of `user` (an admin anywhere).
    pub(super) async fn mfa_due_by_setting(&self, user: &User) -> Result<bool> {
        let admin = user.role == Some(Role::Admin) || user.pool_roles.iter().any(|g| g.role == Role::Admin);
        Ok(admin && self.security_settings().await?.mfa_required_for_admins)
    }
}
