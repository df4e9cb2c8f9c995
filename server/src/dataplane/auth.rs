//! Who calls the surface and on which cluster: HTTP Basic credentials of a fleet user (its
//! password, or one of its API tokens when it has a second factor; [`fleet_core::Store::basic_auth`])
//! and the cluster named in the path, by id or name, with the principal narrowed to that
//! cluster's pool, as the API's `ScopedCaller` does.
//!
//! ```text
//! Authorization: Basic ... -> 401 when missing or wrong (before the cluster is looked up, so
//!                             names do not leak) -> /dataplane/{cluster}/... -> 404 unknown
//!                          -> Store::scoped -> each handler asks for read or write
//! ```

use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use fleet_core::rbac::{Permission, Principal, Scope};
use fleet_core::{Credentials, User};
use std::net::SocketAddr;

use super::errors::{DpError, DpResult};
use crate::http::AppState;

/// The authenticated caller and the cluster its request addresses.
pub(crate) struct Dp {
    pub(crate) state: AppState,
    pub(crate) principal: Principal,
    pub(crate) cluster_id: i64,
}

impl Dp {
    /// The user, when its role allows `permission` on this cluster (else 403).
    pub(crate) fn user(&self, permission: Permission) -> DpResult<&User> {
        Ok(self.principal.user(permission)?)
    }
}

/// `(username, secret)` of a Basic `Authorization` header.
fn basic(parts: &Parts) -> Option<(String, String)> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    Some((user.to_string(), secret.to_string()))
}

/// The `{cluster}` segment of `/dataplane/{cluster}/v3/...`.
fn cluster_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/dataplane/")?.split('/').next().filter(|s| !s.is_empty())
}

impl FromRequestParts<AppState> for Dp {
    type Rejection = DpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, DpError> {
        let (username, secret) = basic(parts).ok_or_else(DpError::unauthorized)?;
        let source = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let principal = state.store.basic_auth(Credentials { username: &username, password: &secret, source }).await?;
        let path = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path().to_string(), |u| u.0.path().to_string());
        let segment = cluster_segment(&path).ok_or_else(|| DpError::bad_request("no cluster in the path"))?;
        let cluster = match segment.parse::<i64>() {
            Ok(id) => state.store.cluster(id).await?,
            Err(_) => state.store.cluster_by_name(segment).await?,
        };
        let principal = state.store.scoped(principal, Scope::Cluster(cluster.id)).await?;
        Ok(Dp { state: state.clone(), principal, cluster_id: cluster.id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_of_a_path() {
        assert_eq!(cluster_segment("/dataplane/prod/v3/info"), Some("prod"));
        assert_eq!(cluster_segment("/dataplane/7/v3/services/haproxy/configuration/version"), Some("7"));
        assert_eq!(cluster_segment("/dataplane//v3"), None);
        assert_eq!(cluster_segment("/api/v1/clusters/7"), None);
    }
}
