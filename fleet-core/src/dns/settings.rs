//! Stored DNS providers: what an operator configures (`POST /api/v1/dns-providers`), what is
//! shown back (never a secret), and the check that turns the request into a usable provider
//! before anything is stored.
//!
//! ```text
//! NewDnsProvider {name, zone, kind + kind's fields, the kind's secret field}
//!   --check--> (DnsProviderSettings, secret)   every field parsed, the provider built: bad
//!                                              input is refused here, before any row is written
//!
//! kind       settings                                         secret (sealed, never shown)
//! rfc2136    server, tsig_key_name, tsig_algorithm            tsig_secret (base64)
//! powerdns   api_url, server_id (localhost), dns_server       api_key
//! cloudflare api_base (https://api.cloudflare.com/client/v4),  api_token (bearer)
//!            proxied (false)
//!   store: dns_providers row (settings as JSON) + sealed_secrets row `dns-provider/<id>`
//!   open(settings, secret) -> Box<dyn DnsProvider>
//! ```

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::cloudflare::CLOUDFLARE_API;
use super::rfc2136::absolute;
use super::{Cloudflare, DnsError, DnsProvider, PowerDns, Rfc2136, TsigAlgorithm, TsigKey};

/// The port of a server given without one.
const DNS_PORT: u16 = 53;

/// What kind of provider, and its settings that are not secret. Serialised with a `kind` tag
/// beside the other fields (`{"kind":"rfc2136","server":"192.0.2.53:53",...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum DnsProviderSettings {
    /// RFC 2136 dynamic update with TSIG.
    Rfc2136 {
        /// The primary server, `ADDRESS:PORT` (`192.0.2.53:53`, `[2001:db8::53]:53`); a bare
        /// address means port 53.
        server: String,
        /// The TSIG key's name, as the server's `key` statement names it.
        tsig_key_name: String,
        /// `hmac-sha256` (default), `hmac-sha384` or `hmac-sha512`.
        #[serde(default = "default_algorithm")]
        tsig_algorithm: TsigAlgorithm,
    },
    /// PowerDNS Authoritative's HTTP API.
    Powerdns {
        /// The webserver's base URL (`http://192.0.2.53:8081`; a trailing `/api/v1` is
        /// accepted and dropped).
        api_url: String,
        /// The server id in the API's paths; `localhost` (default) on every plain install.
        #[serde(default = "default_server_id")]
        server_id: String,
        /// Where PowerDNS answers DNS, `ADDRESS:PORT` (a bare address means port 53): the
        /// propagation check asks the zone's name servers of it and checks each.
        dns_server: String,
    },
    /// Cloudflare API v4.
    Cloudflare {
        /// The API's base URL: `https://api.cloudflare.com/client/v4` (default); another only
        /// for a stand-in or a proxy.
        #[serde(default = "default_api_base")]
        api_base: String,
        /// Whether A/AAAA records are proxied through Cloudflare (orange cloud); default false,
        /// so the record points at the member itself.
        #[serde(default)]
        proxied: bool,
    },
}

fn default_algorithm() -> TsigAlgorithm {
    TsigAlgorithm::HmacSha256
}

fn default_server_id() -> String {
    "localhost".into()
}

fn default_api_base() -> String {
    CLOUDFLARE_API.into()
}

impl DnsProviderSettings {
    /// The kind's name, as in `"kind"` (`rfc2136`, `powerdns`, `cloudflare`).
    pub fn kind(&self) -> &'static str {
        match self {
            DnsProviderSettings::Rfc2136 { .. } => "rfc2136",
            DnsProviderSettings::Powerdns { .. } => "powerdns",
            DnsProviderSettings::Cloudflare { .. } => "cloudflare",
        }
    }

    /// The request field that carries this kind's secret.
    pub fn secret_field(&self) -> &'static str {
        match self {
            DnsProviderSettings::Rfc2136 { .. } => "tsig_secret",
            DnsProviderSettings::Powerdns { .. } => "api_key",
            DnsProviderSettings::Cloudflare { .. } => "api_token",
        }
    }
}

/// A stored provider as users see it: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DnsProviderInfo {
    /// Random id below 2^53.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The zone it changes, absolute (`example.com.`).
    pub zone: String,
    /// Its kind and settings.
    #[serde(flatten)]
    pub settings: DnsProviderSettings,
    /// Who created it.
    pub created_by: String,
    /// Creation time, Unix ms.
    pub created_at: i64,
}

/// `POST /api/v1/dns-providers`: a provider to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDnsProvider {
    /// Unique name: letters, digits, `-`, `_`, `.`; 100 at most.
    pub name: String,
    /// The zone (`example.com`); every name the provider changes must lie in it.
    pub zone: String,
    /// Kind and settings.
    #[serde(flatten)]
    pub settings: DnsProviderSettings,
    /// rfc2136: the TSIG secret in base64, as `tsig-keygen` prints it. Sealed at rest.
    #[serde(default)]
    pub tsig_secret: Option<String>,
    /// powerdns: the API key (`api-key` in pdns.conf), sent as `X-API-Key`. Sealed at rest.
    #[serde(default)]
    pub api_key: Option<String>,
    /// cloudflare: an API token with Zone:Read and DNS:Edit on the zone, sent as
    /// `Authorization: Bearer`. Sealed at rest.
    #[serde(default)]
    pub api_token: Option<String>,
}

impl NewDnsProvider {
    /// The settings in canonical form (absolute zone, `ADDRESS:PORT` servers, URLs without a
    /// final `/`) and the secret to seal, after building the provider they make. Errors
    /// ([`DnsError::Invalid`]): a bad name, zone, server, URL or key name, an unsupported
    /// algorithm, the kind's secret missing or malformed, another kind's secret field given.
    pub fn check(&self) -> Result<(String, DnsProviderSettings, String), DnsError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(DnsError::Invalid(format!(
                "provider name {:?}: 1 to 100 letters, digits, '-', '_' or '.'",
                self.name
            )));
        }
        let zone = absolute(&self.zone, "zone")?.to_ascii();
        let secret = self.secret()?;
        let settings = match &self.settings {
            DnsProviderSettings::Rfc2136 { server, tsig_key_name, tsig_algorithm } => DnsProviderSettings::Rfc2136 {
                server: server_addr(server, "server")?.to_string(),
                tsig_key_name: TsigKey::new(tsig_key_name, *tsig_algorithm, &secret)?.name(),
                tsig_algorithm: *tsig_algorithm,
            },
            DnsProviderSettings::Powerdns { api_url, server_id, dns_server } => DnsProviderSettings::Powerdns {
                api_url: super::api::base_url(api_url, "api_url")?,
                server_id: server_id.trim().to_string(),
                dns_server: server_addr(dns_server, "dns_server")?.to_string(),
            },
            DnsProviderSettings::Cloudflare { api_base, proxied } => {
                DnsProviderSettings::Cloudflare { api_base: super::api::base_url(api_base, "api_base")?, proxied: *proxied }
            }
        };
        open(&zone, &settings, &secret)?;
        Ok((zone, settings, secret))
    }

    /// The kind's own secret field, trimmed; `Invalid` when it is missing or empty, or when a
    /// secret field of another kind is given (a likely mix-up, refused rather than ignored).
    fn secret(&self) -> Result<String, DnsError> {
        let fields = [("tsig_secret", &self.tsig_secret), ("api_key", &self.api_key), ("api_token", &self.api_token)];
        let own = self.settings.secret_field();
        let kind = self.settings.kind();
        if let Some((other, _)) = fields.iter().find(|(field, value)| *field != own && value.is_some()) {
            return Err(DnsError::Invalid(format!("{other} is not a field of a {kind} provider: its secret is {own}")));
        }
        let secret = fields.iter().find(|(field, _)| *field == own).and_then(|(_, v)| v.as_deref()).unwrap_or_default().trim();
        if secret.is_empty() {
            return Err(DnsError::Invalid(format!("{own} is required for a {kind} provider")));
        }
        Ok(secret.to_string())
    }
}

/// The provider `settings` and `secret` make, for `zone`. Errors: settings that do not parse
/// (only from a database edited by hand: stored settings passed [`NewDnsProvider::check`]).
pub fn open(zone: &str, settings: &DnsProviderSettings, secret: &str) -> Result<Box<dyn DnsProvider>, DnsError> {
    match settings {
        DnsProviderSettings::Rfc2136 { server, tsig_key_name, tsig_algorithm } => {
            let key = TsigKey::new(tsig_key_name, *tsig_algorithm, secret)?;
            Ok(Box::new(Rfc2136::new(server_addr(server, "server")?, zone, key)?))
        }
        DnsProviderSettings::Powerdns { api_url, server_id, dns_server } => {
            Ok(Box::new(PowerDns::new(api_url, server_id, zone, secret, server_addr(dns_server, "dns_server")?)?))
        }
        DnsProviderSettings::Cloudflare { api_base, proxied } => Ok(Box::new(Cloudflare::new(api_base, zone, secret, *proxied)?)),
    }
}

/// `ADDRESS[:PORT]` (IPv6 in brackets with a port) as a socket address, port 53 by default;
/// `Invalid` naming `field`.
fn server_addr(text: &str, field: &str) -> Result<SocketAddr, DnsError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| DnsError::Invalid(format!("{field} {text:?}: expected ADDRESS or ADDRESS:PORT (an IP address)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==";

    fn request(json: serde_json::Value) -> Result<NewDnsProvider, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn the_pinned_request_shape_is_read_and_made_canonical() {
        let new = request(serde_json::json!({"name": "bind", "kind": "rfc2136", "server": "127.0.0.1", "zone": "Example.COM",
            "tsig_key_name": "fleet-key", "tsig_algorithm": "hmac-sha512", "tsig_secret": SECRET}))
        .unwrap();
        let (zone, settings, secret) = new.check().unwrap();
        assert_eq!(zone, "Example.COM.");
        assert_eq!(secret, SECRET);
        assert_eq!(
            settings,
            DnsProviderSettings::Rfc2136 { server: "127.0.0.1:53".into(), tsig_key_name: "fleet-key.".into(), tsig_algorithm: TsigAlgorithm::HmacSha512 }
        );
        let shown = serde_json::to_value(DnsProviderInfo { id: 1, name: "bind".into(), zone, settings, created_by: "a".into(), created_at: 0 }).unwrap();
        assert_eq!(shown["kind"], "rfc2136");
        assert_eq!(shown["server"], "127.0.0.1:53");
        assert!(shown.get("tsig_secret").is_none());
    }

    #[test]
    fn bad_requests_are_refused_with_their_reason() {
        let base = serde_json::json!({"name": "bind", "kind": "rfc2136", "server": "[::1]:5353", "zone": "example.com",
            "tsig_key_name": "k", "tsig_secret": SECRET});
        assert!(request(base.clone()).unwrap().check().is_ok());
        let with = |key: &str, value: serde_json::Value| {
            let mut body = base.clone();
            body[key] = value;
            body
        };
        let refused = |body: serde_json::Value| request(body).unwrap().check().unwrap_err().to_string();
        assert!(refused(with("server", "ns1.example.com".into())).contains("expected ADDRESS"));
        assert!(refused(with("tsig_secret", serde_json::Value::Null)).contains("tsig_secret is required"));
        assert!(refused(with("tsig_secret", "%%%".into())).contains("not base64"));
        assert!(refused(with("name", "a b".into())).contains("provider name"));
        assert!(refused(with("zone", "".into())).contains("zone is empty"));
        assert!(request(with("tsig_algorithm", "hmac-md5".into())).is_err());
        assert!(request(with("kind", "powerdns".into())).is_err(), "powerdns needs api_url and dns_server");
        assert!(refused(with("api_key", "k".into())).contains("api_key is not a field of a rfc2136 provider: its secret is tsig_secret"));
    }

    #[test]
    fn each_kind_takes_its_own_secret_field() {
        let pdns = serde_json::json!({"name": "pdns", "kind": "powerdns", "zone": "example.com", "api_url": "http://127.0.0.1:8081/",
            "dns_server": "127.0.0.1:5300", "api_key": " key "});
        let (_, settings, secret) = request(pdns.clone()).unwrap().check().unwrap();
        assert_eq!(secret, "key");
        assert_eq!(
            settings,
            DnsProviderSettings::Powerdns { api_url: "http://127.0.0.1:8081".into(), server_id: "localhost".into(), dns_server: "127.0.0.1:5300".into() }
        );
        let mut without = pdns.clone();
        without.as_object_mut().unwrap().remove("api_key");
        assert_eq!(request(without).unwrap().check().unwrap_err().to_string(), "api_key is required for a powerdns provider");
        let mut mixed = pdns.clone();
        mixed["tsig_secret"] = SECRET.into();
        assert!(request(mixed).unwrap().check().unwrap_err().to_string().contains("tsig_secret is not a field of a powerdns provider"));
        let mut bad_dns = pdns;
        bad_dns["dns_server"] = "ns1.example.com".into();
        assert!(request(bad_dns).unwrap().check().unwrap_err().to_string().starts_with("dns_server \"ns1.example.com\""));

        let cf = serde_json::json!({"name": "cf", "kind": "cloudflare", "zone": "example.com", "api_token": "tok"});
        let (_, settings, secret) = request(cf.clone()).unwrap().check().unwrap();
        assert_eq!(secret, "tok");
        assert_eq!(settings, DnsProviderSettings::Cloudflare { api_base: "https://api.cloudflare.com/client/v4".into(), proxied: false });
        let shown = serde_json::to_value(DnsProviderInfo { id: 1, name: "cf".into(), zone: "example.com.".into(), settings, created_by: "a".into(), created_at: 0 }).unwrap();
        assert_eq!(shown["kind"], "cloudflare");
        assert!(shown.get("api_token").is_none());
        let mut bad_url = cf;
        bad_url["api_base"] = "not a url".into();
        assert!(request(bad_url).unwrap().check().unwrap_err().to_string().starts_with("api_base"));
    }
}
