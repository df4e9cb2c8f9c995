//! ACME Renewal Information (RFC 9773): the CA's suggested renewal window for one certificate.
//!
//! ```text
//! GET <directory>                      -> {"renewalInfo": "<url>", ...}   (absent: no ARI)
//! GET <renewalInfo>/<CertID>           -> 200 {"suggestedWindow": {"start": RFC 3339,
//!                                                                  "end": RFC 3339},
//!                                              "explanationURL"?: "<url>"}
//!                                         Retry-After: <seconds> | <HTTP-date>
//! ```
//! The request is a plain GET, unauthenticated (RFC 9773 §4.2). `Retry-After` says when to ask
//! again; missing or absurd values are replaced by six hours and clamped to one minute .. one
//! day, the range RFC 9773 §4.3 calls reasonable. Parsing is pure ([`parse_renewal_info`]); the
//! fetch ([`AriClient`]) trusts the system roots plus the account's private CA when it has one.

use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use super::schedule::Window;

/// Re-check after this long when the CA sends no usable `Retry-After`.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(6 * 3600);
const MIN_RECHECK_MS: i64 = 60_000;
const MAX_RECHECK_MS: i64 = 24 * 3600 * 1000;

/// Why renewal information could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AriError {
    /// The CA (or the network) failed the request.
    #[error("renewal information request to {url} failed: {reason}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer is not a `renewalInfo` object.
    #[error("renewal information is malformed: {0}")]
    Malformed(String),
    /// The account's CA certificate is not PEM.
    #[error("the ACME CA certificate does not parse: {0}")]
    Trust(String),
}

/// The CA's answer, in Unix ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalInfo {
    /// `suggestedWindow`.
    pub window: Window,
    /// `explanationURL`, shown to operators when the CA moved a window (e.g. a revocation).
    pub explanation_url: Option<String>,
    /// When to ask again (from `Retry-After`), Unix ms.
    pub next_check_ms: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    suggested_window: BodyWindow,
    #[serde(rename = "explanationURL")]
    explanation_url: Option<String>,
}

#[derive(Deserialize)]
struct BodyWindow {
    start: String,
    end: String,
}

fn rfc3339_ms(text: &str) -> Result<i64, AriError> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| AriError::Malformed(format!("{text:?} is not an RFC 3339 time: {e}")))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| AriError::Malformed(format!("{text:?} is out of range")))
}

/// When to ask again, from a `Retry-After` value (delta-seconds or HTTP-date) seen at `now_ms`.
pub fn next_check(retry_after: Option<&str>, now_ms: i64) -> i64 {
    let delay_ms = retry_after
        .map(str::trim)
        .and_then(|value| match value.parse::<i64>() {
            Ok(seconds) => Some(seconds.saturating_mul(1000)),
            Err(_) => httpdate::parse_http_date(value)
                .ok()
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok())
                .map(|at| at.saturating_sub(now_ms)),
        })
        .unwrap_or(i64::try_from(DEFAULT_RECHECK.as_millis()).unwrap_or(MAX_RECHECK_MS));
    now_ms.saturating_add(delay_ms.clamp(MIN_RECHECK_MS, MAX_RECHECK_MS))
}

/// Reads a `renewalInfo` answer (RFC 9773 §4.2) received at `now_ms`.
pub fn parse_renewal_info(body: &[u8], retry_after: Option<&str>, now_ms: i64) -> Result<RenewalInfo, AriError> {
    let body: Body = serde_json::from_slice(body).map_err(|e| AriError::Malformed(e.to_string()))?;
    let window = Window { start_ms: rfc3339_ms(&body.suggested_window.start)?, end_ms: rfc3339_ms(&body.suggested_window.end)? };
    if window.end_ms < window.start_ms {
        return Err(AriError::Malformed("suggestedWindow ends before it starts".into()));
    }
    Ok(RenewalInfo { window, explanation_url: body.explanation_url, next_check_ms: next_check(retry_after, now_ms) })
}

/// Fetches renewal information over HTTP(S).
#[derive(Debug, Clone)]
pub struct AriClient {
    http: reqwest::Client,
}

impl AriClient {
    /// A client trusting the system roots and, when given, the account's CA (`ca_pem`).
    pub fn new(ca_pem: Option<&str>) -> Result<AriClient, AriError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("haproxy-fleet/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| AriError::Trust(e.to_string()))?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder.build().map_err(|e| AriError::Trust(e.to_string()))?;
        Ok(AriClient { http })
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, AriError> {
        let failed = |reason: String| AriError::Http { url: url.to_string(), reason };
        let response = self.http.get(url).send().await.map_err(|e| failed(crate::with_causes(&e)))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        Ok(response)
    }

    /// The directory's `renewalInfo` URL, `None` when the CA offers no ARI.
    pub async fn renewal_info_url(&self, directory_url: &str) -> Result<Option<String>, AriError> {
        let response = self.get(directory_url).await?;
        let body = response.bytes().await.map_err(|e| AriError::Http { url: directory_url.into(), reason: e.to_string() })?;
        let directory: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| AriError::Malformed(format!("directory: {e}")))?;
        Ok(directory.get("renewalInfo").and_then(serde_json::Value::as_str).map(str::to_string))
    }

    /// `GET <renewalInfo>/<cert_id>` when the directory offers ARI; `None` when it does not.
    pub async fn fetch(&self, directory_url: &str, cert_id: &str, now_ms: i64) -> Result<Option<RenewalInfo>, AriError> {
        let Some(base) = self.renewal_info_url(directory_url).await? else { return Ok(None) };
        let url = format!("{}/{cert_id}", base.trim_end_matches('/'));
        let response = self.get(&url).await?;
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await.map_err(|e| AriError::Http { url: url.clone(), reason: e.to_string() })?;
        parse_renewal_info(&body, retry_after.as_deref(), now_ms).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn the_rfc_shape_parses() {
        let body = br#"{"suggestedWindow":{"start":"2026-01-03T00:00:00Z","end":"2026-01-04T12:00:00.5Z"},
                        "explanationURL":"https://acme.example.com/docs/ari"}"#;
        let info = parse_renewal_info(body, Some("21600"), T0).unwrap();
        assert_eq!(info.window, Window { start_ms: T0 + 2 * 86_400_000, end_ms: T0 + 3 * 86_400_000 + 43_200_500 });
        assert_eq!(info.explanation_url.as_deref(), Some("https://acme.example.com/docs/ari"));
        assert_eq!(info.next_check_ms, T0 + 21_600_000);
    }

    #[test]
    fn retry_after_is_read_and_clamped() {
        assert_eq!(next_check(Some("Thu, 01 Jan 2026 01:00:00 GMT"), T0), T0 + 3_600_000);
        assert_eq!(next_check(Some("1"), T0), T0 + 60_000, "at least a minute");
        assert_eq!(next_check(Some("9999999"), T0), T0 + 86_400_000, "at most a day");
        assert_eq!(next_check(None, T0), T0 + 6 * 3_600_000);
        assert_eq!(next_check(Some("soon"), T0), T0 + 6 * 3_600_000);
    }

    #[test]
    fn malformed_answers_are_refused() {
        assert!(parse_renewal_info(b"{}", None, T0).is_err());
        let inverted = br#"{"suggestedWindow":{"start":"2026-01-04T00:00:00Z","end":"2026-01-03T00:00:00Z"}}"#;
        assert!(matches!(parse_renewal_info(inverted, None, T0), Err(AriError::Malformed(_))));
    }
}
