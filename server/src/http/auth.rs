//! Bearer-token extraction: `Authorization: Bearer <token>` -> [`Principal`] (fleet-core decides
//! which kind of token it is and whether it is valid; routes then ask the principal for the
//! permission they need).
//!
//! Scoped access is applied here, once for every route: when the request addresses a cluster
//! (`/clusters/{id}/...`, `?cluster_id=`) or a pool (`/pools/{id}`, `?pool_id=`), the principal
//! is narrowed to that pool ([`fleet_core::Store::scoped`]) before the handler asks it for a
//! permission, so a role held in one pool reaches that pool's clusters and nothing else.

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
        let principal = state.store.authenticate(token).await?;
        Ok(Caller(match scope(parts.uri.path(), parts.uri.query()) {
            Some(scope) => state.store.scoped(principal, scope).await?,
            None => principal,
        }))
    }
}

/// What a request addresses: the cluster or pool in its path, else in its query.
pub(crate) fn scope(path: &str, query: Option<&str>) -> Option<Scope> {
    let mut segments = path.trim_start_matches("/api/v1/").split('/');
    let in_path = match (segments.next(), segments.next().and_then(|id| id.parse::<i64>().ok())) {
        (Some("clusters"), Some(id)) => Some(Scope::Cluster(id)),
        (Some("pools"), Some(id)) => Some(Scope::Pool(id)),
        _ => None,
    };
    in_path.or_else(|| {
        query?.split('&').find_map(|pair| match pair.split_once('=')? {
            ("cluster_id", id) => id.parse().ok().map(Scope::Cluster),
            ("pool_id", id) => id.parse().ok().map(Scope::Pool),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_of_a_request() {
        assert_eq!(scope("/api/v1/clusters/7/backends/app", None), Some(Scope::Cluster(7)));
        assert_eq!(scope("/api/v1/pools/3", None), Some(Scope::Pool(3)));
        assert_eq!(scope("/api/v1/clusters", Some("pool_id=4")), Some(Scope::Pool(4)));
        assert_eq!(scope("/api/v1/audit", Some("limit=5&cluster_id=9")), Some(Scope::Cluster(9)));
        assert_eq!(scope("/api/v1/clusters/x", None), None);
        assert_eq!(scope("/api/v1/users", None), None);
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
