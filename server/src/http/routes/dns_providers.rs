//! DNS providers (`/api/v1/dns-providers`): the zones ACME DNS-01 and DNS failover change.
//! Secrets go in, sealed with the master key, and never come out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::dns::NewDnsProvider;
use fleet_core::rbac::Permission;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::errors::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{Json, Path};
use crate::http::AppState;

/// `/dns-providers/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ProviderPath {
    /// Provider id.
    id: i64,
}

/// Every DNS provider, by name, without secrets.
#[utoipa::path(get, path = "/api/v1/dns-providers", tag = "dns", responses((status = 200, description = "every provider, without secrets", body = Vec<fleet_core::dns::DnsProviderInfo>)))]
pub(crate) async fn list_providers(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.dns_providers().await?))
}

/// Creates a DNS provider (admin): `rfc2136` (server, tsig_key_name, tsig_algorithm,
/// tsig_secret), `powerdns` (api_url, server_id, dns_server, api_key) or `cloudflare`
/// (api_base, proxied, api_token). The kind's secret is sealed at rest and never returned.
#[utoipa::path(post, path = "/api/v1/dns-providers", tag = "dns",
    request_body = NewDnsProvider,
    responses((status = 201, description = "the provider, without its secret", body = fleet_core::dns::DnsProviderInfo), (status = 409, description = "the name is taken"),
        (status = 422, description = "bad zone, server, URL, key name, algorithm or secret, the kind's secret missing or another kind's given; nothing stored")))]
pub(crate) async fn create_provider(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<NewDnsProvider>,
) -> ApiResult<impl IntoResponse> {
    let admin = caller.user(Permission::Admin)?;
    let provider = state.store.create_dns_provider(&admin.username, &state.keyring, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(provider)))
}

/// One DNS provider, without its secret.
#[utoipa::path(get, path = "/api/v1/dns-providers/{id}", tag = "dns", params(ProviderPath),
    responses((status = 200, description = "the provider", body = fleet_core::dns::DnsProviderInfo), (status = 404, description = "no such provider")))]
pub(crate) async fn get_provider(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<ProviderPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Read)?;
    Ok(axum::Json(state.store.dns_provider(path.id).await?))
}

/// Deletes a DNS provider and its sealed secret (admin).
#[utoipa::path(delete, path = "/api/v1/dns-providers/{id}", tag = "dns", params(ProviderPath),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such provider")))]
pub(crate) async fn delete_provider(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<ProviderPath>) -> ApiResult<StatusCode> {
    let admin = caller.user(Permission::Admin)?;
    state.store.delete_dns_provider(&admin.username, path.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Test connection (admin): reads the provider's zone with its stored credentials (RFC 2136:
/// the apex SOA and an update that changes nothing; PowerDNS: the zone through the API;
/// Cloudflare: the zone looked up by name). A provider that fails is a 200 with `ok: false`
/// and the reason in words (bad key, unknown zone, unreachable).
#[utoipa::path(post, path = "/api/v1/dns-providers/{id}/test", tag = "dns", params(ProviderPath),
    responses((status = 200, description = "the outcome: ok, what was seen or why not, elapsed_ms", body = fleet_core::dns::ConnectionTest),
        (status = 404, description = "no such provider")))]
pub(crate) async fn test_provider(State(state): State<AppState>, Caller(caller): Caller, Path(path): Path<ProviderPath>) -> ApiResult<impl IntoResponse> {
    caller.user(Permission::Admin)?;
    Ok(axum::Json(state.store.test_dns_provider(path.id, &state.keyring).await?))
}
