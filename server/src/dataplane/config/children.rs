//! Rules by index (`{parents}/{parent_name}/{acls,http_request_rules,...}[/{index}]`) and binds
//! by name (`{frontends,log_forwards,peers}/{parent_name}/binds[/{name}]`).

use axum::http::StatusCode;
use axum::response::Response;
use fleet_core::dataplane::{self, RuleKind};
use serde_json::{Map, Value};

use super::{at_version, params_first, BIND_OWN};
use crate::dataplane::auth::Dp;
use crate::dataplane::errors::{DpError, DpResult};
use crate::dataplane::extract::{Json, Object, Path, Query};
use crate::dataplane::flow::{answer, Payload, ReadQuery, WriteQuery};

/// Which rules under which parent: `("frontend", RuleKind::HttpRequest)`.
pub(crate) type Rules = (&'static str, RuleKind);

/// The path segment of a rule kind.
pub(crate) fn segment(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Acl => "acls",
        RuleKind::BackendSwitching => "backend_switching_rules",
        RuleKind::HttpRequest => "http_request_rules",
        RuleKind::HttpResponse => "http_response_rules",
        RuleKind::TcpRequest => "tcp_request_rules",
    }
}

/// The rules of a parent.
pub(crate) async fn list((parent, kind): Rules, dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, dataplane::rules(parsed.document(), &dataplane::parent(parent, &name), kind)?))
}

/// One rule.
pub(crate) async fn get((parent, kind): Rules, dp: Dp, Path((_, name, index)): Path<(String, String, usize)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, dataplane::rule(parsed.document(), &dataplane::parent(parent, &name), kind, index)?))
}

/// Inserts a rule at `index`.
pub(crate) async fn create(
    (parent, kind): Rules,
    dp: Dp,
    Path((_, name, index)): Path<(String, String, usize)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("POST {parent}s/{name}/{}/{index}", segment(kind));
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::insert_rule(doc, &dataplane::parent(parent, &name), kind, index, &body)?])).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Object(body))))
}

/// Replaces the rule at `index` (only the words that differ).
pub(crate) async fn replace(
    (parent, kind): Rules,
    dp: Dp,
    Path((_, name, index)): Path<(String, String, usize)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("PUT {parent}s/{name}/{}/{index}", segment(kind));
    let written = dp.write(&query, &what, |doc| Ok(dataplane::replace_rule(doc, &dataplane::parent(parent, &name), kind, index, &body)?.into_iter().collect())).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}

/// Replaces every rule of the kind.
pub(crate) async fn replace_all(
    (parent, kind): Rules,
    dp: Dp,
    Path((_, name)): Path<(String, String)>,
    Query(query): Query<WriteQuery>,
    Json(body): Json,
) -> DpResult<Response> {
    let Value::Array(items) = &body else { return Err(DpError::bad_request("the body must be a JSON array")) };
    let bodies: Vec<Map<String, Value>> = items.iter().map(|v| v.as_object().cloned().ok_or_else(|| DpError::bad_request("every item must be a JSON object"))).collect::<DpResult<_>>()?;
    let what = format!("PUT {parent}s/{name}/{}", segment(kind));
    let written = dp.write(&query, &what, |doc| dataplane::replace_rules(doc, &dataplane::parent(parent, &name), kind, &bodies)).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(body)))
}

/// Deletes the rule at `index`.
pub(crate) async fn delete((parent, kind): Rules, dp: Dp, Path((_, name, index)): Path<(String, String, usize)>, Query(query): Query<WriteQuery>) -> DpResult<Response> {
    let what = format!("DELETE {parent}s/{name}/{}/{index}", segment(kind));
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::delete_rule(doc, &dataplane::parent(parent, &name), kind, index)?])).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}

/// Whose binds: the parent's section keyword and the path's plural (`("log-forward",
/// "log_forwards")`).
pub(crate) type BindParent = (&'static str, &'static str);

/// The binds of a parent.
pub(crate) async fn list_binds((kind, _): BindParent, dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(Value::Array(dataplane::binds(parsed.document(), &dataplane::parent(kind, &name))?), BIND_OWN)))
}

/// One bind, by name.
pub(crate) async fn get_bind((kind, _): BindParent, dp: Dp, Path((_, name, bind)): Path<(String, String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, params_first(dataplane::bind(parsed.document(), &dataplane::parent(kind, &name), &bind)?, BIND_OWN)))
}

/// Adds a bind after the parent's last one.
pub(crate) async fn create_bind((kind, plural): BindParent, dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<WriteQuery>, Object(body): Object) -> DpResult<Response> {
    let what = format!("POST {plural}/{name}/binds");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::add_bind(doc, &dataplane::parent(kind, &name), &body)?])).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Object(body))))
}

/// Replaces a bind (only the words that differ).
pub(crate) async fn replace_bind(
    (kind, plural): BindParent,
    dp: Dp,
    Path((_, name, bind)): Path<(String, String, String)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("PUT {plural}/{name}/binds/{bind}");
    let written = dp.write(&query, &what, |doc| Ok(dataplane::replace_bind(doc, &dataplane::parent(kind, &name), &bind, &body)?.into_iter().collect())).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}

/// Deletes a bind.
pub(crate) async fn delete_bind((kind, plural): BindParent, dp: Dp, Path((_, name, bind)): Path<(String, String, String)>, Query(query): Query<WriteQuery>) -> DpResult<Response> {
    let what = format!("DELETE {plural}/{name}/binds/{bind}");
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::delete_bind(doc, &dataplane::parent(kind, &name), &bind)?])).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}
