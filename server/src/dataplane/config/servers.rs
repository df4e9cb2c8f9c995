//! `{backends,peers,rings}/{parent_name}/servers[/{name}]`: the `server` lines of a backend, a
//! peers section or a ring ([`fleet_core::dataplane::servers`]).

use axum::http::StatusCode;
use axum::response::Response;
use fleet_core::dataplane;
use serde_json::Value;

use super::{at_version, params_first, SERVER_OWN};
use crate::dataplane::auth::Dp;
use crate::dataplane::errors::DpResult;
use crate::dataplane::extract::{Object, Path, Query};
use crate::dataplane::flow::{answer, Payload, ReadQuery, WriteQuery};

/// Whose servers: the parent's section keyword and the path's plural (`("ring", "rings")`).
pub(crate) type Parent = (&'static str, &'static str);

/// The servers of a parent.
pub(crate) async fn list((kind, _): Parent, dp: Dp, Path((_, parent)): Path<(String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(Value::Array(dataplane::servers(parsed.document(), &dataplane::parent(kind, &parent))?), SERVER_OWN)))
}

/// One server.
pub(crate) async fn get((kind, _): Parent, dp: Dp, Path((_, parent, name)): Path<(String, String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(dataplane::server(parsed.document(), &dataplane::parent(kind, &parent), &name)?, SERVER_OWN)))
}

/// Adds a server after the parent's last one.
pub(crate) async fn create((kind, plural): Parent, dp: Dp, Path((_, parent)): Path<(String, String)>, Query(query): Query<WriteQuery>, Object(body): Object) -> DpResult<Response> {
    let what = format!("POST {plural}/{parent}/servers");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::add_server(doc, &dataplane::parent(kind, &parent), &body)?])).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Object(body))))
}

/// Replaces a server: only the words of the fields that differ change.
pub(crate) async fn replace(
    (kind, plural): Parent,
    dp: Dp,
    Path((_, parent, name)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("PUT {plural}/{parent}/servers/{name}");
    let written = dp.write(&query, &what, |doc| Ok(dataplane::replace_server(doc, &dataplane::parent(kind, &parent), &name, &body)?.into_iter().collect())).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}

/// Deletes a server.
pub(crate) async fn delete((kind, plural): Parent, dp: Dp, Path((_, parent, name)): Path<(String, String, String)>, Query(query): Query<WriteQuery>) -> DpResult<Response> {
    let what = format!("DELETE {plural}/{parent}/servers/{name}");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::delete_server(doc, &dataplane::parent(kind, &parent), &name)?])).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}
