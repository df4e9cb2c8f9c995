//! `backends/{parent_name}/servers[/{name}]`.

use axum::http::StatusCode;
use axum::response::Response;
use fleet_core::dataplane;
use serde_json::Value;

use super::{at_version, params_first, SERVER_OWN};
use crate::dataplane::auth::Dp;
use crate::dataplane::errors::DpResult;
use crate::dataplane::extract::{Object, Path, Query};
use crate::dataplane::flow::{answer, Payload, ReadQuery, WriteQuery};

/// The servers of a backend.
pub(crate) async fn list(dp: Dp, Path((_, parent)): Path<(String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(Value::Array(dataplane::servers(parsed.document(), &parent)?), SERVER_OWN)))
}

/// One server.
pub(crate) async fn get(dp: Dp, Path((_, parent, name)): Path<(String, String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(dataplane::server(parsed.document(), &parent, &name)?, SERVER_OWN)))
}

/// Adds a server after the backend's last one.
pub(crate) async fn create(dp: Dp, Path((_, parent)): Path<(String, String)>, Query(query): Query<WriteQuery>, Object(body): Object) -> DpResult<Response> {
    let what = format!("POST backends/{parent}/servers");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::add_server(doc, &parent, &body)?])).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Object(body))))
}

/// Replaces a server: only the words of the fields that differ change.
pub(crate) async fn replace(
    dp: Dp,
    Path((_, parent, name)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("PUT backends/{parent}/servers/{name}");
    let written = dp.write(&query, &what, |doc| Ok(dataplane::replace_server(doc, &parent, &name, &body)?.into_iter().collect())).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}

/// Deletes a server.
pub(crate) async fn delete(dp: Dp, Path((_, parent, name)): Path<(String, String, String)>, Query(query): Query<WriteQuery>) -> DpResult<Response> {
    let what = format!("DELETE backends/{parent}/servers/{name}");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::delete_server(doc, &parent, &name)?])).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}
