//! One exchange with a provider's JSON API over HTTP(S) (PowerDNS, Cloudflare): the client both
//! share, transport errors in the DNS error's words, the answer's body as JSON.
//!
//! ```text
//! client(timeout) -> reqwest::Client (rustls, native roots)
//! send(api, request) -> (status, body) | ApiUnreachable
//! json(api, body) -> T | ApiBadAnswer
//! ```

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::DnsError;

/// The HTTP client of one provider: `timeout` for each whole request.
pub(super) fn client(timeout: Duration) -> Result<reqwest::Client, DnsError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| DnsError::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// `text` as an `http`/`https` base URL without a final `/`, or `Invalid` naming `field`.
pub(super) fn base_url(text: &str, field: &str) -> Result<String, DnsError> {
    let text = text.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(text).map_err(|e| DnsError::Invalid(format!("{field} {text:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(DnsError::Invalid(format!("{field} {text:?}: expected an http:// or https:// URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(DnsError::Invalid(format!("{field} {text:?}: no query or fragment")));
    }
    Ok(text.to_string())
}

/// Sends `request` and returns the status and body. Errors: [`DnsError::ApiUnreachable`] when
/// no answer came (connection refused, TLS failure, timeout).
pub(super) async fn send(api: &str, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), DnsError> {
    let unreachable = |e: reqwest::Error| {
        let reason = if e.is_timeout() { "no answer in time".to_string() } else { error_chain(&e) };
        DnsError::ApiUnreachable { api: api.to_string(), reason }
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(unreachable)?;
    Ok((status, body.to_vec()))
}

/// `body` read as `T`. Error: [`DnsError::ApiBadAnswer`] quoting the start of the body.
pub(super) fn json<T: DeserializeOwned>(api: &str, body: &[u8]) -> Result<T, DnsError> {
    serde_json::from_slice(body).map_err(|e| DnsError::ApiBadAnswer { api: api.to_string(), reason: format!("{e}: {}", excerpt(body)) })
}

/// The first 200 characters of `body`, for error messages.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// reqwest's error with its sources (`error sending request: ... Connection refused`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let words = inner.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = inner.source();
    }
    text
}
