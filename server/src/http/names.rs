//! Names wherever ids: `/api/v1/clusters/prod/...` and `/api/v1/pools/edge/...` address the
//! cluster or pool of that name, as its numeric id does.
//!
//! ```text
//! request -> resolve (this layer, before routing) -> /api/v1/clusters/<id>/... -> routes, auth
//!   segment parses as an integer -> an id, untouched (so a name that looks like a number is
//!                                   reached by its id)
//!   otherwise a valid name        -> Store::cluster_by_name / pool_by_name -> the id
//!   no such name                  -> 401 without valid credentials, else 404 naming it
//! ```
//!
//! Everything downstream — the scope check of `auth`, the extractors, the handlers — sees only
//! ids, so names are resolved once, here, and a role held in one pool reaches a cluster by name
//! exactly as by id.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use fleet_core::Store;
use crate::errors::ApiError;

/// What a path names, before resolution.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Named<'a> {
    /// `clusters` or `pools`.
    collection: &'static str,
    /// The name as written.
    name: &'a str,
    /// Where the segment starts and ends in the path.
    span: (usize, usize),
}

/// The cluster or pool a path addresses by name, if it does.
pub(crate) fn named(path: &str) -> Option<Named<'_>> {
    let rest = path.strip_prefix("/api/v1/")?;
    let (collection, tail) = rest.split_once('/')?;
    let collection = match collection {
        "clusters" => "clusters",
        "pools" => "pools",
        _ => return None,
    };
    let name = tail.split('/').next()?;
    let is_name = !name.is_empty()
        && name.len() <= 100
        && name.parse::<i64>().is_err()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let start = path.len() - tail.len();
    is_name.then_some(Named { collection, name, span: (start, start + name.len()) })
}

/// The middleware: rewrites a name to its id (see the module docs).
pub(crate) async fn resolve(State(store): State<Store>, request: Request, next: Next) -> Response {
    match named(request.uri().path()) {
        None => next.run(request).await,
        // Boxed: every request's future holds this one's, an agent's long-poll for as long as
        // it waits, and the lookups below would make it 2.5 KB instead of a few hundred bytes.
        Some(Named { collection, span, .. }) => Box::pin(by_name(store, request, next, collection, span)).await,
    }
}

/// Rewrites the name at `span` of `request`'s path, one of `collection` ([`named`] found
/// them), to its id.
async fn by_name(store: Store, mut request: Request, next: Next, collection: &'static str, span: (usize, usize)) -> Response {
    let path = request.uri().path();
    let name = &path[span.0..span.1];
    let found = match collection {
        "clusters" => store.cluster_by_name(name).await.map(|c| c.id),
        _ => store.pool_by_name(name).await.map(|p| p.id),
    };
    let id = match found {
        Ok(id) => id,
        Err(fleet_core::Error::NotFound(what)) => {
            // Only a caller with valid credentials learns which names do not exist.
            let (parts, _) = request.into_parts();
            let known = match super::auth::bearer(&parts) {
                Some(token) => store.authenticate(token).await.is_ok(),
                None => false,
            };
            return match known {
                true => ApiError::from(fleet_core::Error::NotFound(what)).into_response(),
                false => ApiError::from(fleet_core::Error::Unauthorized).into_response(),
            };
        }
        Err(other) => return ApiError::from(other).into_response(),
    };
    let mut rewritten = format!("{}{id}{}", &path[..span.0], &path[span.1..]);
    if let Some(query) = request.uri().query() {
        rewritten.push('?');
        rewritten.push_str(query);
    }
    // Scheme and authority stay (HTTP/2 requests carry the host there).
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = rewritten.parse().ok();
    match axum::http::Uri::from_parts(parts) {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return ApiError::bad_request("the path does not parse after resolving its name").into_response(),
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_paths_name_a_cluster_or_pool() {
        let n = named("/api/v1/clusters/prod/backends/app").unwrap();
        assert_eq!((n.collection, n.name), ("clusters", "prod"));
        assert_eq!(&"/api/v1/clusters/prod/backends/app"[n.span.0..n.span.1], "prod");
        assert_eq!(named("/api/v1/pools/edge.eu").unwrap().name, "edge.eu");
        assert_eq!(named("/api/v1/clusters/42/status"), None, "an id");
        assert_eq!(named("/api/v1/clusters/-7"), None, "an integer, even negative, is an id");
        assert_eq!(named("/api/v1/clusters"), None);
        assert_eq!(named("/api/v1/clusters/"), None);
        assert_eq!(named("/api/v1/users/bob"), None);
        assert_eq!(named("/api/v1/clusters/a%20b"), None, "not a name: left to the routes");
        assert_eq!(named("/ui/clusters/prod"), None);
    }
}
