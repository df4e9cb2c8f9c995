//! The TOTP second factor of a user: enrol (a pending secret, its `otpauth://` URI and QR
//! code), confirm with a first code (the secret becomes active and ten recovery codes are
//! issued, stored as SHA-256), turn off (own, with the password; or an admin's reset for a lost
//! device). Logging in with it is in `login.rs`.
//!
//! The shared secret is sealed with the master key (purpose `totp:<user id>`) in
//! `users.totp_pending` / `users.totp_secret`: a copy of the database alone cannot mint codes.
//! Rows written before sealing are sealed when the key ring is opened at start
//! ([`Store::seal_plain_totp`]), and `fleet secrets rotate` reseals them with the rest.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::{Store, Tx};
use crate::auth::totp;
use crate::error::{Error, Result};
use crate::model::User;
use crate::secret::{sha256_hex, verify_password};
use crate::secrets::{Keyring, Purpose, Sealed};

/// The issuer authenticator apps show beside the account.
pub(crate) const TOTP_ISSUER: &str = "HAProxy Fleet";

/// What enrolment shows once: the secret to type or scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaEnrolment {
    /// Base32 secret (for manual entry).
    pub secret: String,
    /// The `otpauth://totp/...` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// What a user's TOTP secret is sealed for.
pub(super) fn totp_purpose(user_id: i64) -> Purpose {
    Purpose::new("totp", &user_id.to_string())
}

/// A stored TOTP secret (sealed) opened: the base32 secret.
pub(super) fn open_totp(ring: &Keyring, user_id: i64, stored: &str) -> Result<String> {
    let plain = ring.open(&totp_purpose(user_id), &Sealed::parse(stored)?)?;
    String::from_utf8(plain).map_err(|_| Error::Corrupt(format!("user {user_id}: the TOTP secret is not text")))
}

impl Store {
    /// Starts enrolling a second factor for `user` (replacing an unconfirmed one); the secret
    /// is stored sealed with `ring`. The factor is active only after [`Store::confirm_mfa`].
    /// [`Error::Conflict`] when one is active.
    pub async fn begin_mfa(&self, ring: &Keyring, user: &User) -> Result<MfaEnrolment> {
        if user.mfa_enabled {
            return Err(Error::Conflict("a second factor is already enrolled: turn it off first".into()));
        }
        let secret = totp::new_secret(self.random())?;
        let sealed = ring.seal(&totp_purpose(user.id), secret.as_bytes(), self.random())?;
        sqlx::query("UPDATE users SET totp_pending = $1 WHERE id = $2").bind(sealed.as_str()).bind(user.id).execute(self.pool()).await?;
        let otpauth_uri = totp::otpauth_uri(TOTP_ISSUER, &user.username, &secret);
        let qr_svg = totp::qr_svg(&otpauth_uri)?;
        Ok(MfaEnrolment { secret, otpauth_uri, qr_svg })
    }

    /// Confirms enrolment with a current `code`: the factor becomes active, the session limits
    /// of an enrolment-only session end (its sessions become full ones), and the recovery codes
    /// are returned (shown once). [`Error::Invalid`] for a wrong code.
    pub async fn confirm_mfa(&self, ring: &Keyring, user: &User, code: &str) -> Result<Vec<String>> {
        let row = sqlx::query("SELECT totp_pending FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("user {}", user.id)))?;
        let pending: Option<String> = row.try_get("totp_pending")?;
        let pending = pending.ok_or_else(|| Error::Conflict("no enrolment in progress: start one first".into()))?;
        let step = totp::verify(&open_totp(ring, user.id, &pending)?, code, self.now(), None)?
            .ok_or_else(|| Error::invalid("wrong code: check the authenticator's clock and try the current code"))?;
        let codes = totp::new_recovery_codes(self.random())?;
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 \
             WHERE id = $2 AND totp_pending = $3 AND totp_secret IS NULL",
        )
        .bind(step)
        .bind(user.id)
        .bind(&pending)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict("the enrolment changed meanwhile: start again".into()));
        }
        self.replace_recovery_codes(&mut tx, user.id, &codes).await?;
        sqlx::query("UPDATE sessions SET enrol_only = 0 WHERE user_id = $1").bind(user.id).execute(&mut *tx).await?;
        let details = json!({"user_id": user.id});
        self.audit(&mut tx, Audit { actor: &user.username, action: "mfa.enrol", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// New recovery codes for `user` (the old ones stop working), after checking `password`.
    pub async fn regenerate_recovery_codes(&self, user: &User, password: &str) -> Result<Vec<String>> {
        self.check_own_password(user.id, password).await?;
        if !user.mfa_enabled {
            return Err(Error::Conflict("no second factor is enrolled".into()));
        }
        let codes = totp::new_recovery_codes(self.random())?;
        let mut tx = self.write_tx().await?;
        self.replace_recovery_codes(&mut tx, user.id, &codes).await?;
        let details = json!({"user_id": user.id});
        self.audit(&mut tx, Audit { actor: &user.username, action: "mfa.recovery_codes", cluster_id: None, version: None, details })
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn replace_recovery_codes(&self, tx: &mut Tx, user_id: i64, codes: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
        for code in codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                .bind(user_id)
                .bind(sha256_hex(totp::normalize_recovery_code(code).as_bytes()))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Spends recovery `code` of `user` when it is one of its unused codes.
    pub(super) async fn use_recovery_code(&self, tx: &mut Tx, user: &User, code: &str) -> Result<bool> {
        let normalized = totp::normalize_recovery_code(code);
        if normalized.len() != 10 {
            return Ok(false);
        }
        let used = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(self.now())
            .bind(user.id)
            .bind(sha256_hex(normalized.as_bytes()))
            .execute(&mut **tx)
            .await?;
        if used.rows_affected() == 0 {
            return Ok(false);
        }
        let details = json!({"user_id": user.id});
        self.audit(tx, Audit { actor: &user.username, action: "mfa.recovery_code_used", cluster_id: None, version: None, details })
            .await?;
        Ok(true)
    }

    /// How many unused recovery codes `user_id` has.
    pub async fn recovery_codes_left(&self, user_id: i64) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// Turns off `user`'s own second factor, after checking its `password`.
    pub async fn disable_own_mfa(&self, user: &User, password: &str) -> Result<()> {
        self.check_own_password(user.id, password).await?;
        self.clear_mfa(&user.username, user.id).await
    }

    /// Removes the second factor of `user_id` (an admin's reset for a lost device). The user
    /// enrols again at its next login when one is required.
    pub async fn reset_mfa(&self, actor: &str, user_id: i64) -> Result<()> {
        self.clear_mfa(actor, user_id).await
    }

    async fn clear_mfa(&self, actor: &str, user_id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("user {user_id}")));
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        let details = json!({"user_id": user_id});
        self.audit(&mut tx, Audit { actor, action: "mfa.disable", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Error::Forbidden`] unless `password` is `user_id`'s (checked off the async threads).
    /// Throttled like a login under the user's name, so a stolen session cannot guess the
    /// password through this check ([`Error::Throttled`]).
    pub(super) async fn check_own_password(&self, user_id: i64, password: &str) -> Result<()> {
        let row = sqlx::query("SELECT username, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("user {user_id}")))?;
        let username: String = row.try_get("username")?;
        let keys = super::login::throttle_keys(&username, None);
        self.check_throttle(&keys).await?;
        let hash: String = row.try_get("password_hash")?;
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
        if ok {
            Ok(())
        } else {
            self.login_failed(&keys, &username, None).await?;
            Err(Error::Forbidden("the current password is wrong".into()))
        }
    }
}
