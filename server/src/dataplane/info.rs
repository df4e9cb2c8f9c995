//! `GET info` and `GET services/haproxy/configuration/version`.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use fleet_core::rbac::Permission;
use serde_json::json;

use super::auth::Dp;
use super::errors::DpResult;
use super::extract::Query;
use super::flow::{version_header, ReadQuery};

/// Upstream's `info` model: what answers (this server, as a Data Plane API) and where.
pub(crate) async fn info(dp: Dp) -> DpResult<Response> {
    dp.user(Permission::Read)?;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    let body = json!({
        "api": {"version": format!("HAProxy Fleet {} (Data Plane API v3 compatibility surface)", env!("CARGO_PKG_VERSION"))},
        "system": {"hostname": hostname, "time": now},
    });
    Ok(axum::Json(body).into_response())
}

/// The configuration's version: the latest version's number (0 before the first), or the base
/// of `?transaction_id=`, in the body and in `Configuration-Version`.
pub(crate) async fn version(dp: Dp, Query(query): Query<ReadQuery>) -> DpResult<Response> {
    let (version, _) = dp.read_doc(&query).await?;
    let mut headers = HeaderMap::new();
    version_header(&mut headers, version);
    Ok((headers, axum::Json(version)).into_response())
}
