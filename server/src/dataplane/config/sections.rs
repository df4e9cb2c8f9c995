//! `backends`, `frontends` and `defaults` (`/configuration/{backends,frontends,defaults}[/{name}]`).

use axum::http::StatusCode;
use axum::response::Response;
use fleet_core::dataplane::{self, Model};
use serde_json::Value;

use super::at_version;
use crate::dataplane::auth::Dp;
use crate::dataplane::errors::DpResult;
use crate::dataplane::extract::{Object, Path, Query};
use crate::dataplane::flow::{answer, Payload, ReadQuery, WriteQuery};

/// The plural the paths use, for commit messages.
fn plural(model: Model) -> &'static str {
    match model {
        Model::Backend => "backends",
        Model::Frontend => "frontends",
        Model::Defaults => "defaults",
        Model::Global => "global",
        Model::Resolvers => "resolvers",
        Model::Peers => "peer_section",
        Model::Userlist => "userlists",
    }
}

/// Every section of the kind (with their child lists for `full_section=true`).
pub(crate) async fn list(model: Model, dp: Dp, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    let doc = parsed.document();
    let sections = if query.full_section() { dataplane::full_sections(doc, model) } else { dataplane::sections(doc, model) };
    Ok(at_version(version, sections))
}

/// One section (with its child lists for `full_section=true`).
pub(crate) async fn get(model: Model, dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    let doc = parsed.document();
    let section = if query.full_section() { dataplane::full_section(doc, model, &name)? } else { dataplane::section(doc, model, &name)? };
    Ok(at_version(version, section))
}

/// Creates a section.
pub(crate) async fn create(model: Model, dp: Dp, Query(query): Query<WriteQuery>, Object(body): Object) -> DpResult<Response> {
    let what = format!("POST {}", plural(model));
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::add_section(doc, model, &body)?])).await?;
    Ok(answer(written, StatusCode::CREATED, Payload::Json(Value::Object(body))))
}

/// Replaces a section's mapped directives (only those that differ are rewritten).
pub(crate) async fn replace(
    model: Model,
    dp: Dp,
    Path((_, name)): Path<(String, String)>,
    Query(query): Query<WriteQuery>,
    Object(body): Object,
) -> DpResult<Response> {
    let what = format!("PUT {}/{name}", plural(model));
    let written = dp.write(&query, &what, |doc| dataplane::replace_section(doc, model, &name, &body)).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}

/// Deletes a section.
pub(crate) async fn delete(model: Model, dp: Dp, Path((_, name)): Path<(String, String)>, Query(query): Query<WriteQuery>) -> DpResult<Response> {
    let what = format!("DELETE {}/{name}", plural(model));
    let written = dp.write(&query, &what, |doc| Ok(vec![dataplane::delete_section(doc, model, &name)?])).await?;
    Ok(answer(written, StatusCode::NO_CONTENT, Payload::None))
}

/// The `global` section's fields.
pub(crate) async fn get_global(dp: Dp, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, parsed) = dp.read_doc(&query).await?;
    Ok(at_version(version, dataplane::global(parsed.document())))
}

/// Replaces the `global` section's mapped directives.
pub(crate) async fn replace_global(dp: Dp, Query(query): Query<WriteQuery>, Object(body): Object) -> DpResult<Response> {
    let written = dp.write(&query, "PUT global", |doc| dataplane::replace_global(doc, &body)).await?;
    Ok(answer(written, StatusCode::OK, Payload::Json(Value::Object(body))))
}
