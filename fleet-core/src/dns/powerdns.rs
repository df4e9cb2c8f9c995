//! PowerDNS Authoritative through its HTTP API (the built-in webserver, `api=yes`): one zone on
//! one server, changed by RRset.
//!
//! ```text
//! replace(set): PATCH {api_url}/api/v1/servers/{server_id}/zones/{zone}
//!               {"rrsets":[{"name","type","ttl","changetype":"REPLACE","records":[{"content","disabled":false}]}]}
//!               -> 204; the server swaps the whole RRset in one transaction
//! delete:       the same PATCH with "changetype":"DELETE" -> 204 (also when there was none)
//! read:         GET .../zones/{zone} -> "rrsets" (the one name and type)
//! check:        GET .../zones/{zone}?rrsets=false -> the zone's kind and serial
//! authorities:  NS of the zone asked of `dns_server` (PowerDNS's own DNS listener), as for RFC 2136
//! every request carries `X-API-Key`
//! ```
//!
//! The API answers 401 for a wrong key, 404 for a zone (or server id) it does not have and 422
//! for data it refuses, with `{"error": "..."}`; each is said in words first. TXT contents are
//! zone-file text: quoted character-strings of at most 255 bytes, `"` and `\` escaped.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::Deserialize;
use serde_json::json;

use super::record::{RecordSet, RecordType};
use super::rfc2136::absolute;
use super::{api, DnsError, DnsFuture, DnsProvider};

/// How long one request may take unless set otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A zone on a PowerDNS Authoritative server, changed through its HTTP API.
#[derive(Debug, Clone)]
pub struct PowerDns {
    /// `{api_url}/api/v1/servers/{server_id}/zones/{zone}`.
    zone_url: String,
    /// The base URL, for messages.
    api: String,
    api_key: String,
    zone: Name,
    zone_text: String,
    dns_server: SocketAddr,
    timeout: Duration,
    client: reqwest::Client,
}

/// One RRset as the API shows it.
#[derive(Debug, Deserialize)]
struct ApiRrset {
    name: String,
    #[serde(rename = "type")]
    record_type: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    records: Vec<ApiRecord>,
}

#[derive(Debug, Deserialize)]
struct ApiRecord {
    content: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Debug, Deserialize)]
struct ApiZone {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    serial: u64,
    #[serde(default)]
    rrsets: Vec<ApiRrset>,
}

impl PowerDns {
    /// Zone `zone` on the PowerDNS at `api_url` (the webserver's base URL,
    /// `http://192.0.2.53:8081`; a trailing `/api/v1` is accepted), server `server_id`
    /// (`localhost` on a plain install), authenticated with `api_key`; `dns_server` is the
    /// address its DNS listener answers on, for the propagation check. Errors: a bad URL, zone,
    /// server id or an empty key.
    pub fn new(api_url: &str, server_id: &str, zone: &str, api_key: &str, dns_server: SocketAddr) -> Result<PowerDns, DnsError> {
        let base = api::base_url(api_url, "api_url")?;
        let base = base.strip_suffix("/api/v1").unwrap_or(&base).to_string();
        let server_id = server_id.trim();
        if server_id.is_empty() || !server_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(DnsError::Invalid(format!("server_id {server_id:?}: letters, digits, '-', '_' or '.' (PowerDNS calls its own \"localhost\")")));
        }
        let api_key = api_key.trim();
        if api_key.is_empty() || api_key.chars().any(|c| c.is_control()) {
            return Err(DnsError::Invalid("api_key is empty or holds control characters".into()));
        }
        let zone = absolute(zone, "zone")?;
        let zone_text = zone.to_ascii();
        Ok(PowerDns {
            zone_url: format!("{base}/api/v1/servers/{server_id}/zones/{zone_text}"),
            api: base,
            api_key: api_key.to_string(),
            zone,
            zone_text,
            dns_server,
            timeout: DEFAULT_TIMEOUT,
            client: api::client(DEFAULT_TIMEOUT)?,
        })
    }

    /// The same provider with another time limit per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<PowerDns, DnsError> {
        self.client = api::client(timeout)?;
        self.timeout = timeout;
        Ok(self)
    }

    /// `name` as an absolute name inside the zone, or `Invalid`.
    fn owner(&self, name: &str) -> Result<Name, DnsError> {
        let owner = absolute(name, "name")?;
        if !self.zone.zone_of(&owner) {
            return Err(DnsError::Invalid(format!("{} is not in zone {}", owner, self.zone)));
        }
        Ok(owner)
    }

    /// Sends one request with the key; a status other than `ok` is refused in words.
    async fn call(&self, what: &'static str, request: reqwest::RequestBuilder, ok: u16) -> Result<Vec<u8>, DnsError> {
        let (status, body) = api::send(&self.api, request.header("X-API-Key", &self.api_key)).await?;
        if status == ok {
            return Ok(body);
        }
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| api::excerpt(&body));
        let words = match status {
            401 | 403 => "the API key is refused".to_string(),
            404 => format!("zone {} does not exist on this server (or its server id is wrong)", self.zone_text),
            422 => "the server refuses the data".to_string(),
            _ => "error".to_string(),
        };
        let reason = if said.is_empty() { words } else { format!("{words}: {said}") };
        Err(DnsError::ApiRefused { api: self.api.clone(), what, status, reason })
    }

    async fn patch(&self, rrset: serde_json::Value) -> Result<(), DnsError> {
        let body = json!({ "rrsets": [rrset] }).to_string();
        let request = self.client.patch(&self.zone_url).header("Content-Type", "application/json").body(body);
        self.call("change", request, 204).await.map(|_| ())
    }
}

impl DnsProvider for PowerDns {
    fn zone(&self) -> &str {
        &self.zone_text
    }

    fn replace<'a>(&'a self, rrset: &'a RecordSet) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(&rrset.name)?;
            // The same checks as RFC 2136 (addresses parse, TXT is text, not empty).
            rrset.records(&owner)?;
            let records: Vec<_> =
                rrset.values.iter().map(|v| json!({"content": content(rrset.record_type, v), "disabled": false})).collect();
            self.patch(json!({"name": owner.to_ascii(), "type": rrset.record_type.to_string(), "ttl": rrset.ttl,
                "changetype": "REPLACE", "records": records}))
                .await
        })
    }

    fn delete<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            self.patch(json!({"name": owner.to_ascii(), "type": record_type.to_string(), "changetype": "DELETE"})).await
        })
    }

    fn read<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, Option<RecordSet>> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            let wanted = owner.to_ascii();
            // PowerDNS 4.8+ narrows the answer to `rrset_name`/`rrset_type`; older servers ignore
            // both and send the whole zone, filtered here either way.
            let request = self.client.get(&self.zone_url).query(&[("rrset_name", wanted.as_str()), ("rrset_type", &record_type.to_string())]);
            let body = self.call("read", request, 200).await?;
            let zone: ApiZone = api::json(&self.api, &body)?;
            let found = zone.rrsets.into_iter().find(|r| r.name.eq_ignore_ascii_case(&wanted) && r.record_type.eq_ignore_ascii_case(&record_type.to_string()));
            Ok(found.and_then(|r| {
                let values: Vec<String> = r.records.iter().filter(|c| !c.disabled).map(|c| value(record_type, &c.content)).collect();
                (!values.is_empty()).then(|| RecordSet { name: wanted.clone(), record_type, ttl: r.ttl, values })
            }))
        })
    }

    fn authorities(&self) -> DnsFuture<'_, Vec<SocketAddr>> {
        Box::pin(async move { super::authorities(self.dns_server, &self.zone_text, self.timeout).await })
    }

    fn check(&self) -> DnsFuture<'_, String> {
        Box::pin(async move {
            let request = self.client.get(&self.zone_url).query(&[("rrsets", "false")]);
            let body = self.call("zone lookup", request, 200).await?;
            let zone: ApiZone = api::json(&self.api, &body)?;
            Ok(format!("zone {} ({}, serial {}) on {} with the API key", zone.name, zone.kind, zone.serial, self.api))
        })
    }
}

/// A value as PowerDNS content: addresses as they are, TXT as quoted character-strings.
fn content(record_type: RecordType, value: &str) -> String {
    match record_type {
        RecordType::Txt => quote_txt(value),
        _ => value.trim().to_string(),
    }
}

/// A content as a value: TXT's character-strings unquoted and joined.
fn value(record_type: RecordType, content: &str) -> String {
    match record_type {
        RecordType::Txt => unquote_txt(content),
        _ => content.trim().to_string(),
    }
}

/// `text` as zone-file character-strings: `"..." "..."`, each at most 255 bytes, `"` and `\`
/// escaped with `\`, bytes outside printable ASCII as `\DDD` (RFC 1035 §5.1).
fn quote_txt(text: &str) -> String {
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut length = 0usize;
    for byte in text.bytes() {
        if length == 255 {
            strings.push(format!("\"{current}\""));
            current.clear();
            length = 0;
        }
        match byte {
            b'"' | b'\\' => {
                current.push('\\');
                current.push(char::from(byte));
            }
            0x20..=0x7e => current.push(char::from(byte)),
            other => current.push_str(&format!("\\{other:03}")),
        }
        length += 1;
    }
    strings.push(format!("\"{current}\""));
    strings.join(" ")
}

/// The text of zone-file character-strings (`"a" "b"` -> `ab`), the reverse of [`quote_txt`];
/// an unquoted word is taken as it is.
fn unquote_txt(content: &str) -> String {
    let mut bytes = Vec::new();
    let mut chars = content.trim().bytes().peekable();
    let mut quoted = false;
    while let Some(byte) = chars.next() {
        match byte {
            b'"' => quoted = !quoted,
            b'\\' => {
                let digits: Vec<u8> = std::iter::from_fn(|| chars.next_if(u8::is_ascii_digit)).take(3).collect();
                if digits.len() == 3 {
                    let code = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
                    bytes.push(u8::try_from(code).unwrap_or(b'?'));
                } else if let Some(next) = (digits.is_empty()).then(|| chars.next()).flatten() {
                    bytes.push(next);
                } else {
                    bytes.extend(digits);
                }
            }
            b' ' | b'\t' if !quoted => {}
            other => bytes.push(other),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_contents_round_trip_through_quoting() {
        for text in ["token", "with \"quotes\" and \\", "é ünïcode", &"x".repeat(600)] {
            let quoted = quote_txt(text);
            assert_eq!(unquote_txt(&quoted), text, "{quoted}");
        }
        assert_eq!(quote_txt("a\"b"), r#""a\"b""#);
        assert_eq!(quote_txt(&"y".repeat(256)).matches('"').count(), 4, "split after 255 bytes");
        assert_eq!(unquote_txt("\"abc\" \"def\""), "abcdef");
    }

    #[test]
    fn settings_are_checked_before_anything_is_sent() {
        let dns: SocketAddr = ([127, 0, 0, 1], 53).into();
        let made = PowerDns::new("http://127.0.0.1:8081/api/v1/", "localhost", "example.com", "key", dns).unwrap();
        assert_eq!(made.zone_url, "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.com.");
        assert!(PowerDns::new("ftp://x", "localhost", "example.com", "key", dns).unwrap_err().to_string().contains("http"));
        assert!(PowerDns::new("http://h:8081", "local/host", "example.com", "key", dns).is_err());
        assert!(PowerDns::new("http://h:8081", "localhost", "example.com", " ", dns).unwrap_err().to_string().contains("api_key"));
    }
}
