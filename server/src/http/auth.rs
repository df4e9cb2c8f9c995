//! Bearer-token extraction: `Authorization: Bearer <token>` -> [`Principal`] (fleet-core decides
//! which kind of token it is and whether it is valid; routes then ask the principal for the
//! permission they need).
//!
//! Each route states its scope by the extractor it takes (the rules are fleet-core's, see
//! [`fleet_core::rbac`]):
//!
//! - [`Caller`]: the principal as it is everywhere, with its global role. Routes on fleet-wide
//!   nouns (users, settings, tokens, creating or deleting pools, DNS providers, ACME, alert
//!   rules, the audit log) and lists (filtered with [`fleet_core::Store::readable`]) take it;
//!   a route that acts on a cluster named in its query or body narrows it there explicitly.
//! - [`ScopedCaller`]: the principal narrowed to the pool of the cluster or pool in the path
//!   (`/clusters/{id}/...`, `/pools/{id}/...`; [`fleet_core::Store::scoped`]), so a role held
//!   in one pool reaches that pool's clusters and nothing else. Only the path narrows: the
//!   query string never does (a `?pool_id=` on `/users` once made a pool admin a global one).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fleet_core::rbac::{Principal, Scope};

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

/// The authenticated caller of a route on one cluster or pool, narrowed to that pool (see the
/// module docs). A path that addresses neither leaves the global principal.
pub(crate) struct ScopedCaller(pub(crate) Principal);

impl FromRequestParts<AppState> for ScopedCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        Ok(ScopedCaller(match scope(parts.uri.path()) {
            Some(scope) => state.store.scoped(principal, scope).await?,
            None => principal,
        }))
    }
}

/// What a request's path addresses: `/api/v1/clusters/{id}/...` or `/api/v1/pools/{id}/...`
/// (names were resolved to ids before routing). The query string is not read.
pub(crate) fn scope(path: &str) -> Option<Scope> {
    let mut segments = path.strip_prefix("/api/v1/")?.split('/');
    match (segments.next(), segments.next().and_then(|id| id.parse::<i64>().ok())) {
        (Some("clusters"), Some(id)) => Some(Scope::Cluster(id)),
        (Some("pools"), Some(id)) => Some(Scope::Pool(id)),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_of_a_request() {
        assert_eq!(scope("/api/v1/clusters/7/backends/app"), Some(Scope::Cluster(7)));
        assert_eq!(scope("/api/v1/pools/3"), Some(Scope::Pool(3)));
        assert_eq!(scope("/api/v1/pools/3/failover"), Some(Scope::Pool(3)));
        assert_eq!(scope("/api/v1/clusters"), None);
        assert_eq!(scope("/api/v1/clusters/x"), None);
        assert_eq!(scope("/api/v1/users/4"), None);
        assert_eq!(scope("/ui/clusters/4"), None);
    }
}
