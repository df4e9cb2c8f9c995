//! Bearer-token extraction: `Authorization: Bearer <token>` -> [`Principal`] (fleet-core decides
//! which kind of token it is and whether it is valid; routes then ask the principal for the
//! permission they need).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fleet_core::rbac::Principal;

use super::AppState;
use crate::errors::ApiError;

/// The authenticated caller of a route.
pub(crate) struct Caller(pub(crate) Principal);

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(fleet_core::Error::Unauthorized)?;
        Ok(Caller(state.store.authenticate(token).await?))
    }
}

/// The raw bearer token (logout needs the session token itself).
pub(crate) struct Token(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(Token(bearer(parts).ok_or(fleet_core::Error::Unauthorized)?.to_string()))
    }
}
