//! Cloudflare DNS through the Cloudflare API v4, written from its public documentation
//! (developers.cloudflare.com/api: Zones "List Zones", DNS Records "List / Create / Overwrite /
//! Delete DNS Record"). Authenticated with an API token (`Authorization: Bearer TOKEN`, the
//! token needs Zone:Read and DNS:Edit on the zone).
//!
//! ```text
//! zone id:  GET {api_base}/zones?name=example.com            -> result[0].id (looked up once)
//! list:     GET /zones/{id}/dns_records?type=A&name=www.example.com&per_page=100&page=N
//! replace:  make the records of name/type equal the values, idempotently:
//!             a value already there with the same ttl/proxied -> left alone
//!             a value already there, other ttl/proxied        -> PUT  /zones/{id}/dns_records/{rid}
//!             a missing value: reuse a record no value keeps  -> PUT  (content changed)
//!                              else                            -> POST /zones/{id}/dns_records
//!             records no value keeps (after the above)         -> DELETE /zones/{id}/dns_records/{rid}
//! delete:   list, then DELETE each
//! check:    the zone lookup
//! ```
//!
//! Cloudflare has no atomic RRset change: the order above (write first, delete last) means a
//! reader sees the old and new addresses together for a moment, never no address. Bodies carry
//! `type`, `name`, `content`, `ttl` (1 means "automatic"), and `proxied` for A/AAAA only (the
//! `proxied` setting; TXT cannot be proxied). Every answer is the v4 envelope
//! `{"success","errors":[{"code","message"}],"messages","result"}`.
//!
//! Propagation: [`DnsProvider::authorities`] is empty — Cloudflare's anycast name servers are
//! not ours to probe — so [`super::Propagation::confirm`] trusts the API's read-back.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use super::record::{RecordSet, RecordType};
use super::rfc2136::absolute;
use super::{api, DnsError, DnsFuture, DnsProvider};

/// The public API's base URL.
pub const CLOUDFLARE_API: &str = "https://api.cloudflare.com/client/v4";

/// How long one request may take unless set otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Records asked per page (the API's maximum for DNS records is larger; 100 is its default cap
/// for most lists).
const PER_PAGE: u32 = 100;

/// A zone on Cloudflare, changed through the API v4 with a token.
#[derive(Debug, Clone)]
pub struct Cloudflare {
    api: String,
    token: String,
    zone: Name,
    zone_text: String,
    proxied: bool,
    client: reqwest::Client,
    zone_id: OnceCell<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_pages: u32,
}

#[derive(Debug, Deserialize)]
struct Zone {
    id: String,
    name: String,
    #[serde(default)]
    status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct DnsRecord {
    id: String,
    content: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    proxied: bool,
}

impl Cloudflare {
    /// Zone `zone` through the API at `api_base` ([`CLOUDFLARE_API`], or a stand-in),
    /// authenticated with `token`; A/AAAA records are written with `proxied`. Errors: a bad
    /// URL, zone, or an empty token.
    pub fn new(api_base: &str, zone: &str, token: &str, proxied: bool) -> Result<Cloudflare, DnsError> {
        let api = api::base_url(api_base, "api_base")?;
        let token = token.trim();
        if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(DnsError::Invalid("api_token is empty or holds blanks or control characters".into()));
        }
        let zone = absolute(zone, "zone")?;
        Ok(Cloudflare {
            api,
            token: token.to_string(),
            zone_text: zone.to_ascii(),
            zone,
            proxied,
            client: api::client(DEFAULT_TIMEOUT)?,
            zone_id: OnceCell::new(),
        })
    }

    /// The same provider with another time limit per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Cloudflare, DnsError> {
        self.client = api::client(timeout)?;
        Ok(self)
    }

    /// `name` inside the zone, as Cloudflare spells names (no final dot), or `Invalid`.
    fn owner(&self, name: &str) -> Result<String, DnsError> {
        let owner = absolute(name, "name")?;
        if !self.zone.zone_of(&owner) {
            return Err(DnsError::Invalid(format!("{} is not in zone {}", owner, self.zone)));
        }
        Ok(owner.to_ascii().trim_end_matches('.').to_ascii_lowercase())
    }

    /// One request with the token; the envelope's `result` on success, else refused in words.
    async fn call<T: serde::de::DeserializeOwned>(&self, what: &'static str, request: reqwest::RequestBuilder) -> Result<(Option<T>, u32), DnsError> {
        let (status, body) = api::send(&self.api, request.bearer_auth(&self.token)).await?;
        let envelope: Result<Envelope<T>, _> = api::json(&self.api, &body);
        match envelope {
            Ok(envelope) if (200..300).contains(&status) && envelope.success => {
                Ok((envelope.result, envelope.result_info.map(|i| i.total_pages).unwrap_or(1)))
            }
            Ok(envelope) => Err(self.refused(what, status, &envelope.errors)),
            Err(_) if !(200..300).contains(&status) => Err(self.refused(what, status, &[ApiMessage { code: 0, message: api::excerpt(&body) }])),
            Err(e) => Err(e),
        }
    }

    fn refused(&self, what: &'static str, status: u16, errors: &[ApiMessage]) -> DnsError {
        // 6003/6111: malformed or missing Authorization; 9106/9109/10000: token not accepted
        // or not allowed on this resource (the API's documented authentication errors).
        let auth = matches!(status, 401 | 403) || errors.iter().any(|e| matches!(e.code, 6003 | 6111 | 9106 | 9109 | 10000));
        let words = if auth {
            "the API token is refused".to_string()
        } else if status == 404 {
            format!("not found in zone {}", self.zone_text)
        } else {
            "error".to_string()
        };
        let said: Vec<String> = errors.iter().filter(|e| !e.message.is_empty()).map(|e| format!("{} {}", e.code, e.message)).collect();
        let reason = if said.is_empty() { words } else { format!("{words}: {}", said.join("; ")) };
        DnsError::ApiRefused { api: self.api.clone(), what, status, reason }
    }

    /// The zone's id, looked up by name once.
    async fn zone_id(&self) -> Result<&str, DnsError> {
        self.zone_id
            .get_or_try_init(|| async { self.lookup_zone().await.map(|z| z.id) })
            .await
            .map(String::as_str)
    }

    async fn lookup_zone(&self) -> Result<Zone, DnsError> {
        let name = self.zone_text.trim_end_matches('.');
        let request = self.client.get(format!("{}/zones", self.api)).query(&[("name", name)]);
        let (zones, _) = self.call::<Vec<Zone>>("zone lookup", request).await?;
        zones.unwrap_or_default().into_iter().find(|z| z.name.eq_ignore_ascii_case(name)).ok_or_else(|| DnsError::ApiRefused {
            api: self.api.clone(),
            what: "zone lookup",
            status: 200,
            reason: format!("zone {name} is not in this account, or the token may not read it (no zone of that name listed)"),
        })
    }

    /// Every record of `owner`/`record_type`, all pages.
    async fn list(&self, owner: &str, record_type: RecordType) -> Result<Vec<DnsRecord>, DnsError> {
        let zone_id = self.zone_id().await?;
        let mut records = Vec::new();
        let mut page = 1u32;
        loop {
            let request = self.client.get(format!("{}/zones/{zone_id}/dns_records", self.api)).query(&[
                ("type", record_type.to_string()),
                ("name", owner.to_string()),
                ("per_page", PER_PAGE.to_string()),
                ("page", page.to_string()),
            ]);
            let (found, pages) = self.call::<Vec<DnsRecord>>("read", request).await?;
            records.extend(found.unwrap_or_default());
            if page >= pages {
                return Ok(records);
            }
            page += 1;
        }
    }

    fn body(&self, owner: &str, record_type: RecordType, ttl: u32, value: &str) -> serde_json::Value {
        let mut body = json!({"type": record_type.to_string(), "name": owner, "content": value, "ttl": ttl});
        if matches!(record_type, RecordType::A | RecordType::Aaaa) {
            body["proxied"] = json!(self.proxied);
        }
        body
    }

    async fn send_record(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> Result<(), DnsError> {
        let mut request = self.client.request(method, format!("{}{path}", self.api));
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        self.call::<serde_json::Value>("change", request).await.map(|_| ())
    }
}

impl DnsProvider for Cloudflare {
    fn zone(&self) -> &str {
        &self.zone_text
    }

    fn replace<'a>(&'a self, rrset: &'a RecordSet) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(&rrset.name)?;
            rrset.records(&absolute(&owner, "name")?)?;
            let zone_id = self.zone_id().await?.to_string();
            let existing = self.list(&owner, rrset.record_type).await?;
            let have: Vec<String> = existing.iter().map(|r| canonical(rrset.record_type, &value(rrset.record_type, &r.content))).collect();
            let mut kept = vec![false; existing.len()];
            let mut missing = Vec::new();
            for want in rrset.value_set() {
                match (0..existing.len()).find(|i| !kept[*i] && have[*i] == want) {
                    Some(i) => {
                        kept[i] = true;
                        let record = &existing[i];
                        let proxied_ok = !matches!(rrset.record_type, RecordType::A | RecordType::Aaaa) || record.proxied == self.proxied;
                        if record.ttl != rrset.ttl || !proxied_ok {
                            let body = self.body(&owner, rrset.record_type, rrset.ttl, &record.content);
                            self.send_record(reqwest::Method::PUT, &format!("/zones/{zone_id}/dns_records/{}", record.id), Some(body)).await?;
                        }
                    }
                    None => missing.push(want),
                }
            }
            let mut free = (0..existing.len()).filter(|i| !kept[*i]);
            for want in missing {
                let body = self.body(&owner, rrset.record_type, rrset.ttl, &want);
                match free.next() {
                    Some(i) => self.send_record(reqwest::Method::PUT, &format!("/zones/{zone_id}/dns_records/{}", existing[i].id), Some(body)).await?,
                    None => self.send_record(reqwest::Method::POST, &format!("/zones/{zone_id}/dns_records"), Some(body)).await?,
                }
            }
            for i in free.by_ref() {
                self.send_record(reqwest::Method::DELETE, &format!("/zones/{zone_id}/dns_records/{}", existing[i].id), None).await?;
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, ()> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            let zone_id = self.zone_id().await?.to_string();
            for record in self.list(&owner, record_type).await? {
                self.send_record(reqwest::Method::DELETE, &format!("/zones/{zone_id}/dns_records/{}", record.id), None).await?;
            }
            Ok(())
        })
    }

    fn read<'a>(&'a self, name: &'a str, record_type: RecordType) -> DnsFuture<'a, Option<RecordSet>> {
        Box::pin(async move {
            let owner = self.owner(name)?;
            let records = self.list(&owner, record_type).await?;
            let Some(ttl) = records.iter().map(|r| r.ttl).min() else { return Ok(None) };
            let values = records.iter().map(|r| value(record_type, &r.content)).collect();
            Ok(Some(RecordSet { name: format!("{owner}."), record_type, ttl, values }))
        })
    }

    /// None: Cloudflare's name servers are not probed (see the module docs); the propagation
    /// check trusts the API's read-back.
    fn authorities(&self) -> DnsFuture<'_, Vec<SocketAddr>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn check(&self) -> DnsFuture<'_, String> {
        Box::pin(async move {
            let zone = self.lookup_zone().await?;
            Ok(format!("zone {} (id {}, status {}) readable with the API token at {}", zone.name, zone.id, zone.status, self.api))
        })
    }
}

/// A record's content as a value: a TXT content the API shows quoted (`"text"`) unquoted.
fn value(record_type: RecordType, content: &str) -> String {
    match record_type {
        RecordType::Txt if content.len() >= 2 && content.starts_with('"') && content.ends_with('"') => {
            content[1..content.len() - 1].replace("\" \"", "").replace("\\\"", "\"").replace("\\\\", "\\")
        }
        _ => content.to_string(),
    }
}

/// One spelling per value, as [`RecordSet::value_set`] makes it.
fn canonical(record_type: RecordType, value: &str) -> String {
    RecordSet { name: String::new(), record_type, ttl: 0, values: vec![value.to_string()] }.value_set().into_iter().next().unwrap_or_default()
}
