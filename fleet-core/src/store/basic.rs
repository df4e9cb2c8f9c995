//! HTTP Basic credentials (the Data Plane API compatibility surface): a username and either the
//! account's password or one of its API tokens, checked on every request without a session.
//!
//! ```text
//! basic_auth(username, secret, source)
//!   secret is an API token (fa_...) of that username -> Principal (credential: api token)
//!   else the password check of a login (throttled, counted, same argon2 work for unknown names)
//!     the user has a second factor enrolled -> Error::Forbidden (send an API token instead)
//!     the user must enrol one first         -> Error::Forbidden
//!     else                                  -> Principal (credential: basic)
//! ```
//!
//! A second factor cannot travel in Basic credentials, so an account that has one uses an API
//! token as its password: the token was created after both factors were checked.

use super::Store;
use crate::auth::usernames;
use crate::error::{Error, Result};
use crate::rbac::{Credential, Principal};
use crate::store::Credentials;

impl Store {
    /// The principal of HTTP Basic credentials (see the module docs). Errors:
    /// [`Error::Unauthorized`] for a wrong secret or an unknown user (counted as a failed
    /// login), [`Error::Throttled`] while the username or network is blocked,
    /// [`Error::Forbidden`] for a password of an account with a second factor.
    pub async fn basic_auth(&self, credentials: Credentials<'_>) -> Result<Principal> {
        if credentials.password.starts_with("fa_") {
            let user = self.api_token_user(credentials.password).await?;
            if usernames::skeleton(&user.username) != usernames::skeleton(credentials.username) {
                return Err(Error::Unauthorized);
            }
            return Ok(Principal::User { user, credential: Credential::ApiToken });
        }
        let user = self.verify_credentials(credentials).await?;
        if user.mfa_enabled || user.mfa_required {
            return Err(Error::Forbidden("this account has a second factor: send one of its API tokens as the password".into()));
        }
        Ok(Principal::User { user, credential: Credential::Basic })
    }
}
