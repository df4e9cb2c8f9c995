//! `services/haproxy/configuration/...` resources: each handler reads the addressed document or
//! writes through [`super::flow`], with fleet-core's mapping ([`fleet_core::dataplane`]) between.

pub(crate) mod children;
pub(crate) mod sections;
pub(crate) mod servers;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::flow::version_header;

/// A JSON answer with `Configuration-Version`.
pub(crate) fn at_version(version: i64, body: impl serde::Serialize) -> Response {
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    (headers, axum::Json(body)).into_response()
}
