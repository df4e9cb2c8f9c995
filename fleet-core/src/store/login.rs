//! Logging in: throttled per username and per source network, the same argon2 work for unknown
//! usernames, and two steps when the user has a second factor.
//!
//! ```text
//! sign_in(username, password, source)
//!   throttled? ----------------------------------------------> Error::Throttled (429, Retry-After)
//!   password wrong / unknown user (dummy hash, same cost) ----> failure counted, Error::Unauthorized
//!   TOTP enrolled ---------------------------------------------> SignIn::MfaRequired { challenge }
//!        complete_mfa(challenge, code or recovery code) ------> SignIn::Session
//!   second factor required but none enrolled ------------------> SignIn::Session { enrol_only }
//!   else ------------------------------------------------------> SignIn::Session
//! ```
//!
//! Audit rows from unauthenticated requests are bounded: a failed login is recorded when it is
//! the first of its window for that username, and when a lockout begins (with the count), never
//! more than [`MAX_FAILED_LOGIN_ROWS_PER_HOUR`] an hour in all; the username is stored truncated
//! and escaped ([`usernames::escape_for_log`]). The throttle table itself holds at most
//! [`MAX_THROTTLE_KEYS`] keys: ended windows are pruned, then the oldest.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::auth::{user_from_row, USER_COLUMNS};
use super::mfa::open_totp;
use super::{Store, Tx};
use crate::auth::throttle::{self, Failures, ThrottlePolicy};
use crate::auth::{totp, usernames};
use crate::error::{Error, Result};
use crate::model::User;
use crate::secret::{dummy_password_hash, new_token, sha256_hex, verify_password};
use crate::secrets::Keyring;

/// At most this many failed-login audit rows are written per hour, whatever the traffic.
pub(crate) const MAX_FAILED_LOGIN_ROWS_PER_HOUR: i64 = 1_000;

/// The throttle table never holds more keys than this.
pub(crate) const MAX_THROTTLE_KEYS: i64 = 20_000;

/// How long the first step's challenge lasts, in ms.
pub(crate) const MFA_CHALLENGE_TTL_MS: i64 = 5 * 60_000;

/// Wrong codes a challenge takes before it is spent.
const MFA_CHALLENGE_ATTEMPTS: i64 = 5;

/// What a login presents.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// As typed (compared by skeleton).
    pub username: &'a str,
    /// As typed.
    pub password: &'a str,
    /// The connection's peer, for the per-network throttle.
    pub source: Option<IpAddr>,
}

/// How a login step ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignIn {
    /// A session: send `Authorization: Bearer <token>`.
    Session {
        /// The session token (shown once).
        token: String,
        /// Who logged in.
        user: User,
        /// The session may only enrol a second factor (the user must have one).
        mfa_enrolment_required: bool,
    },
    /// The password was right; now the second factor (`complete_mfa`).
    MfaRequired {
        /// The challenge to send back with the code.
        challenge: String,
        /// When it expires (Unix ms).
        expires_at: i64,
    },
}

impl Store {
    /// The first login step (see the module doc). Errors: [`Error::Throttled`] while a key is
    /// blocked, [`Error::Unauthorized`] for a wrong password or an unknown username.
    pub async fn sign_in(&self, credentials: Credentials<'_>, ttl_ms: i64) -> Result<SignIn> {
        let user = self.verify_credentials(credentials).await?;
        if user.mfa_enabled {
            return self.mfa_challenge(&user).await;
        }
        let mut tx = self.write_tx().await?;
        let token = self.open_session(&mut tx, &user, ttl_ms, user.mfa_required).await?;
        tx.commit().await?;
        Ok(SignIn::Session { token, mfa_enrolment_required: user.mfa_required, user })
    }

    /// The password check of a login, throttled and counted like [`Store::sign_in`]'s, without
    /// opening anything: the user with its pool roles.
    pub(super) async fn verify_credentials(&self, credentials: Credentials<'_>) -> Result<User> {
        let keys = throttle_keys(credentials.username, credentials.source);
        self.check_throttle(&keys).await?;
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
             WHERE u.username_key = $1 OR (u.username_key IS NULL AND u.username = $2)"
        ))
        .bind(usernames::skeleton(credentials.username))
        .bind(credentials.username)
        .fetch_optional(self.pool())
        .await?;
        // Unknown users are checked against a dummy hash: the same argon2 work either way.
        let hash = match &row {
            Some(row) => row.try_get::<String, _>("password_hash")?,
            None => dummy_password_hash().to_string(),
        };
        let password = credentials.password.to_string();
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
        let user = match row {
            Some(row) if verified => self.with_pool_roles(user_from_row(&row)?).await?,
            _ => return Err(self.login_failed(&keys, credentials.username, credentials.source).await?),
        };
        self.forget_failures(&keys[..1]).await?;
        Ok(user)
    }

    /// Checks a password and opens a session (no second factor: a user with one gets
    /// [`Error::Forbidden`] and must use [`Store::sign_in`]). Kept for callers that log in
    /// without a source address.
    pub async fn login(&self, username: &str, password: &str, ttl_ms: i64) -> Result<(User, String)> {
        match self.sign_in(Credentials { username, password, source: None }, ttl_ms).await? {
            SignIn::Session { token, user, .. } => Ok((user, token)),
            SignIn::MfaRequired { .. } => Err(Error::Forbidden("a second factor is required: log in in two steps".into())),
        }
    }

    /// The second login step: `code` is the current TOTP code or an unused recovery code.
    /// A wrong code counts as a failed login for the username; a challenge takes a few wrong
    /// codes, then is spent ([`Error::Unauthorized`]).
    /// The TOTP secret is opened with `ring`.
    pub async fn complete_mfa(&self, ring: &Keyring, challenge: &str, code: &str, source: Option<IpAddr>, ttl_ms: i64) -> Result<SignIn> {
        let now = self.now();
        let challenge_hash = sha256_hex(challenge.as_bytes());
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.totp_last_step, c.attempts FROM mfa_challenges c JOIN users u ON u.id = c.user_id \
             WHERE c.token_hash = $1 AND c.expires_at > $2"
        ))
        .bind(&challenge_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or(Error::Unauthorized)?;
        let user = user_from_row(&row)?;
        let keys = throttle_keys(&user.username, source);
        self.check_throttle(&keys).await?;
        let secret: Option<String> = row.try_get("totp_secret")?;
        let last_step: Option<i64> = row.try_get("totp_last_step")?;
        let mut tx = self.write_tx().await?;
        let accepted = match &secret {
            Some(secret) => match totp::verify(&open_totp(ring, user.id, secret)?, code, now, last_step)? {
                Some(step) => {
                    // Conditional: two requests with one code cannot both pass.
                    let done = sqlx::query(
                        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                    )
                    .bind(step)
                    .bind(user.id)
                    .execute(&mut *tx)
                    .await?;
                    done.rows_affected() == 1
                }
                None => self.use_recovery_code(&mut tx, &user, code).await?,
            },
            None => false,
        };
        if !accepted {
            let spent = sqlx::query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1 AND attempts + 1 >= $2")
                .bind(&challenge_hash)
                .bind(MFA_CHALLENGE_ATTEMPTS)
                .execute(&mut *tx)
                .await?;
            if spent.rows_affected() > 0 {
                sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1").bind(&challenge_hash).execute(&mut *tx).await?;
            } else {
                sqlx::query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1")
                    .bind(&challenge_hash)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            return Err(self.login_failed(&keys, &user.username, source).await?);
        }
        sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1 OR expires_at <= $2")
            .bind(&challenge_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let user = self.with_pool_roles(user).await?;
        let token = self.open_session(&mut tx, &user, ttl_ms, false).await?;
        tx.commit().await?;
        self.forget_failures(&keys[..1]).await?;
        Ok(SignIn::Session { token, user, mfa_enrolment_required: false })
    }

    async fn mfa_challenge(&self, user: &User) -> Result<SignIn> {
        let challenge = new_token("fc_", self.random())?;
        let expires_at = self.now().saturating_add(MFA_CHALLENGE_TTL_MS);
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1").bind(self.now()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO mfa_challenges (token_hash, user_id, expires_at, attempts) VALUES ($1, $2, $3, 0)")
            .bind(sha256_hex(challenge.as_bytes()))
            .bind(user.id)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SignIn::MfaRequired { challenge, expires_at })
    }

    /// [`Error::Throttled`] when any key is blocked now.
    pub(super) async fn check_throttle(&self, keys: &[(String, ThrottlePolicy)]) -> Result<()> {
        let now = self.now();
        let mut wait = None::<i64>;
        for (key, _) in keys {
            if let Some(failures) = self.failures(key).await? {
                if let Some(ms) = failures.wait_ms(now) {
                    wait = Some(wait.map_or(ms, |w| w.max(ms)));
                }
            }
        }
        match wait {
            Some(retry_after_ms) => Err(Error::Throttled { retry_after_ms }),
            None => Ok(()),
        }
    }

    async fn failures(&self, key: &str) -> Result<Option<Failures>> {
        let row = sqlx::query(FAILURES).bind(key).fetch_optional(self.pool()).await?;
        row.as_ref().map(failures_from_row).transpose()
    }

    /// Counts a failure under every key, audits it within the bounds, and returns the error
    /// the caller answers with.
    pub(super) async fn login_failed(&self, keys: &[(String, ThrottlePolicy)], username: &str, source: Option<IpAddr>) -> Result<Error> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let mut user_failures = Failures::default();
        for (i, (key, policy)) in keys.iter().enumerate() {
            // Read in the write transaction: concurrent failures are counted one after another.
            let row = sqlx::query(FAILURES).bind(key).fetch_optional(&mut *tx).await?;
            let old = row.as_ref().map(failures_from_row).transpose()?.unwrap_or_default();
            let new = old.failed(now, policy);
            sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1").bind(key).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO login_throttle (throttle_key, failures, last_failure_at, blocked_until) VALUES ($1, $2, $3, $4)")
                .bind(key)
                .bind(new.count)
                .bind(new.last_at)
                .bind(new.blocked_until)
                .execute(&mut *tx)
                .await?;
            if i == 0 {
                user_failures = new;
            }
        }
        self.bound_throttle_table(&mut tx, now).await?;
        let locked = user_failures.blocked_until > now;
        let worth_a_row = user_failures.count == 1 || (locked && user_failures.count == throttle::PER_USER.free_failures + 1);
        if worth_a_row && self.failed_rows_last_hour(&mut tx, now).await? < MAX_FAILED_LOGIN_ROWS_PER_HOUR {
            let shown = usernames::escape_for_log(username);
            let action = if locked { "session.login_locked" } else { "session.login_failed" };
            let details = json!({
                "username": shown,
                "source": source.map(|s| s.to_string()),
                "failures": user_failures.count,
                "blocked_until": locked.then_some(user_failures.blocked_until),
            });
            self.audit(&mut tx, Audit { actor: &shown, action, cluster_id: None, version: None, details }).await?;
        }
        tx.commit().await?;
        Ok(Error::Unauthorized)
    }

    async fn failed_rows_last_hour(&self, tx: &mut Tx, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE at > $1 AND action IN ('session.login_failed', 'session.login_locked')",
        )
        .bind(now.saturating_sub(3_600_000))
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Prunes ended windows, then the oldest keys beyond [`MAX_THROTTLE_KEYS`].
    async fn bound_throttle_table(&self, tx: &mut Tx, now: i64) -> Result<()> {
        let window = throttle::PER_USER.window_ms.max(throttle::PER_NETWORK.window_ms);
        sqlx::query("DELETE FROM login_throttle WHERE last_failure_at < $1 AND blocked_until < $2")
            .bind(now.saturating_sub(window))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM login_throttle").fetch_one(&mut **tx).await?.try_get("n")?;
        if count > MAX_THROTTLE_KEYS {
            sqlx::query(
                "DELETE FROM login_throttle WHERE throttle_key IN \
                 (SELECT throttle_key FROM login_throttle ORDER BY last_failure_at LIMIT $1)",
            )
            .bind(count - MAX_THROTTLE_KEYS)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    async fn forget_failures(&self, keys: &[(String, ThrottlePolicy)]) -> Result<()> {
        for (key, _) in keys {
            sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1").bind(key).execute(self.pool()).await?;
        }
        Ok(())
    }
}

const FAILURES: &str = "SELECT failures, last_failure_at, blocked_until FROM login_throttle WHERE throttle_key = $1";

fn failures_from_row(row: &sqlx::any::AnyRow) -> Result<Failures> {
    Ok(Failures { count: row.try_get("failures")?, last_at: row.try_get("last_failure_at")?, blocked_until: row.try_get("blocked_until")? })
}

/// The keys a login counts under: the username first, then the source network.
pub(super) fn throttle_keys(username: &str, source: Option<IpAddr>) -> Vec<(String, ThrottlePolicy)> {
    let mut keys = vec![(throttle::user_key(username), throttle::PER_USER)];
    if let Some(source) = source {
        keys.push((throttle::network_key(source), throttle::PER_NETWORK));
    }
    keys
}
