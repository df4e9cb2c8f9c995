//! Stored DNS providers: what an operator configures (`POST /api/v1/dns-providers`), what is
//! shown back (never a secret), and the check that turns the request into a usable provider
//! before anything is stored.
//!
//! ```text
//! NewDnsProvider {name, zone, kind + kind's fields, tsig_secret}
//!   --check--> (DnsProviderSettings, secret)   every field parsed, the key built: bad input is
//!                                              refused here, before any row is written
//!   store: dns_providers row (settings as JSON) + sealed_secrets row `dns-provider/<id>`
//!   open(settings, secret) -> Box<dyn DnsProvider>
//! ```

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::rfc2136::absolute;
use super::{DnsError, DnsProvider, Rfc2136, TsigAlgorithm, TsigKey};

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
}

fn default_algorithm() -> TsigAlgorithm {
    TsigAlgorithm::HmacSha256
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
    /// The TSIG secret in base64 (rfc2136), as `tsig-keygen` prints it. Sealed at rest.
    #[serde(default)]
    pub tsig_secret: Option<String>,
}

impl NewDnsProvider {
    /// The settings in canonical form (absolute zone, `ADDRESS:PORT` server) and the secret to
    /// seal, after building the provider they make. Errors ([`DnsError::Invalid`]): a bad name,
    /// zone, server or key name, an unsupported algorithm, a missing or malformed secret.
    pub fn check(&self) -> Result<(String, DnsProviderSettings, String), DnsError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(DnsError::Invalid(format!(
                "provider name {:?}: 1 to 100 letters, digits, '-', '_' or '.'",
                self.name
            )));
        }
        let zone = absolute(&self.zone, "zone")?.to_ascii();
        match &self.settings {
            DnsProviderSettings::Rfc2136 { server, tsig_key_name, tsig_algorithm } => {
                let secret = self.tsig_secret.as_deref().unwrap_or_default().trim().to_string();
                if secret.is_empty() {
                    return Err(DnsError::Invalid("tsig_secret is required for an rfc2136 provider".into()));
                }
                let server = server_addr(server)?;
                let settings = DnsProviderSettings::Rfc2136 {
                    server: server.to_string(),
                    tsig_key_name: TsigKey::new(tsig_key_name, *tsig_algorithm, &secret)?.name(),
                    tsig_algorithm: *tsig_algorithm,
                };
                open(&zone, &settings, &secret)?;
                Ok((zone, settings, secret))
            }
        }
    }
}

/// The provider `settings` and `secret` make, for `zone`. Errors: settings that do not parse
/// (only from a database edited by hand: stored settings passed [`NewDnsProvider::check`]).
pub fn open(zone: &str, settings: &DnsProviderSettings, secret: &str) -> Result<Box<dyn DnsProvider>, DnsError> {
    match settings {
        DnsProviderSettings::Rfc2136 { server, tsig_key_name, tsig_algorithm } => {
            let key = TsigKey::new(tsig_key_name, *tsig_algorithm, secret)?;
            Ok(Box::new(Rfc2136::new(server_addr(server)?, zone, key)?))
        }
    }
}

/// `ADDRESS[:PORT]` (IPv6 in brackets with a port) as a socket address, port 53 by default.
fn server_addr(text: &str) -> Result<SocketAddr, DnsError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| DnsError::Invalid(format!("server {text:?}: expected ADDRESS or ADDRESS:PORT (an IP address)")))
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
        assert!(request(with("kind", "powerdns".into())).is_err());
    }
}
