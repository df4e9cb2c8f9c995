//! ACME (RFC 8555): accounts at any CA, and orders driven by a server task through HTTP-01
//! answered by the fleet's own nodes, or DNS-01 through a DNS provider.
//!
//! ```text
//! POST accounts -> client::register (EAB, private CA root) -> credentials sealed (acme/account/<id>)
//! POST orders   -> row `pending`, lease 0 -> driver::AcmeDriver claims it (lease, any replica)
//!   new order at the CA -> per authorisation the http-01 token + key authorisation
//!   -> every cluster: a version whose map acme/http-01.map holds them (+ the managed rule in
//!      the marked frontends, once) -> applied -> wait until every agent runs it (runtime `add
//!      map`, no reload) -> tell the CA to validate -> ready | invalid (the CA's problem detail)
//!   -> key made and sealed (acme/order/<id>/key) -> CSR -> finalize -> processing -> chain
//!   -> tokens removed (a version, applied) -> chain + key stored in the certificate store
//!      (`Store::put_certificate`, or `replace_certificate` for a renewal) -> deployed at `path`
//!      in every cluster (a version; applied when `auto_apply`: agents swap it at runtime) -> valid
//! ```
//!
//! DNS-01 (RFC 8555 §8.4) takes the other branch at the challenge: per name, the TXT RRset
//! `_acme-challenge.<name>` (a wildcard's base name: `*.example.com` and `example.com` share
//! one RRset with two values) is replaced through the provider whose zone holds it (the
//! order's `dns_provider_id`, else the longest zone match), then every authoritative server of
//! the zone is asked until it serves the values ([`crate::dns::Propagation`]) before the CA is
//! told to validate; the RRsets are deleted once the CA has decided, valid or not.
//!
//! Why a map and not a per-token rule: adding a token then changes only a map file, which
//! agents apply through the runtime API without a reload (`apply::runtime_plan`), and whichever
//! node of an active-active pair the CA reaches answers, because every agent must report the
//! version before the CA is asked to validate.

pub mod client;
pub mod driver;
pub mod http01;
mod renew;

use serde::{Deserialize, Serialize};

/// Where an order stands (RFC 8555 §7.1.6, the order object's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    /// Waiting for its authorisations (the challenge is being published or validated).
    Pending,
    /// Authorised: the CSR can be sent.
    Ready,
    /// Finalised; the CA is issuing.
    Processing,
    /// Issued and deployed.
    Valid,
    /// Failed; `error` says why. Nothing was deployed.
    Invalid,
}

impl OrderStatus {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Ready => "ready",
            OrderStatus::Processing => "processing",
            OrderStatus::Valid => "valid",
            OrderStatus::Invalid => "invalid",
        }
    }

    /// The stored form read back.
    pub fn parse(text: &str) -> Option<OrderStatus> {
        Some(match text {
            "pending" => OrderStatus::Pending,
            "ready" => OrderStatus::Ready,
            "processing" => OrderStatus::Processing,
            "valid" => OrderStatus::Valid,
            "invalid" => OrderStatus::Invalid,
            _ => return None,
        })
    }

    /// True once the order will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Valid | OrderStatus::Invalid)
    }
}

/// How the CA checks control of the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeKind {
    /// RFC 8555 §8.3: `http://<name>/.well-known/acme-challenge/<token>`, answered by the nodes.
    #[serde(rename = "http-01")]
    Http01,
    /// RFC 8555 §8.4: a TXT record (the DNS provider room; not driven here yet).
    #[serde(rename = "dns-01")]
    Dns01,
}

impl ChallengeKind {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }
}

/// The certificate key an order makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (the default: small, fast handshakes, accepted everywhere).
    #[default]
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    /// RSA 2048 with SHA-256 (for clients that cannot use ECDSA); the key is generated with
    /// RustCrypto's `rsa`, the CSR signed by rcgen on ring.
    #[serde(rename = "rsa2048")]
    Rsa2048,
}

impl KeyType {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa2048",
        }
    }

    /// The stored form read back.
    pub fn parse(text: &str) -> Option<KeyType> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }
}

/// `contact`: one address or several; `mailto:` is added to a bare address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Contacts {
    /// One address.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Contacts {
    /// The contact URLs (RFC 8555 §7.3), empty ones left out.
    pub fn urls(&self) -> Vec<String> {
        let list = match self {
            Contacts::One(one) => vec![one.clone()],
            Contacts::Many(many) => many.clone(),
        };
        list.into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .map(|c| if c.contains(':') { c } else { format!("mailto:{c}") })
            .collect()
    }
}

/// `POST /api/v1/acme/accounts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccount {
    /// The CA's directory (`https://...`), any RFC 8555 CA.
    pub directory_url: String,
    /// Contact addresses.
    #[serde(default = "no_contact")]
    pub contact: Contacts,
    /// PEM of the root that signs the directory's TLS certificate, for a private CA.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// External account binding key id (RFC 8555 §7.3.4), when the CA requires one.
    #[serde(default)]
    pub eab_kid: Option<String>,
    /// Its HMAC key, base64url as CAs hand it out.
    #[serde(default)]
    pub eab_hmac: Option<String>,
}

fn no_contact() -> Contacts {
    Contacts::Many(Vec::new())
}

/// A stored account; its credentials stay sealed and are never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcmeAccount {
    /// Random id below 2^53.
    pub id: i64,
    /// The CA's directory.
    pub directory_url: String,
    /// Contact URLs.
    pub contact: Vec<String>,
    /// True when a private root is trusted for the directory.
    pub private_ca: bool,
    /// The external account binding key id, if one was used.
    pub eab_kid: Option<String>,
    /// The account URL at the CA.
    pub account_url: String,
    /// Who registered it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
}

/// `POST /api/v1/acme/certificates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrder {
    /// DNS names, the first one names the default path.
    pub names: Vec<String>,
    /// The account that orders.
    pub account_id: i64,
    /// How control is proven.
    pub challenge: ChallengeKind,
    /// The clusters that answer the challenge and receive the certificate.
    pub clusters: Vec<i64>,
    /// HTTP frontends that get the managed challenge rule; without, those that have it.
    #[serde(default)]
    pub frontends: Vec<String>,
    /// The certificate store's entry to fill.
    #[serde(default)]
    pub certificate_id: Option<i64>,
    /// Where the combined PEM goes in each bundle (default `certs/<first name>.pem`).
    #[serde(default)]
    pub path: Option<String>,
    /// Default `ecdsa-p256`.
    #[serde(default)]
    pub key_type: KeyType,
    /// Apply the version carrying the certificate (default true).
    #[serde(default = "yes")]
    pub auto_apply: bool,
    /// DNS-01: the provider that changes the `_acme-challenge` records; without, the provider
    /// whose zone holds each name.
    #[serde(default)]
    pub dns_provider_id: Option<i64>,
}

fn yes() -> bool {
    true
}

/// One thing that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderEvent {
    /// Unix ms.
    pub at: i64,
    /// The order's status after it.
    pub status: OrderStatus,
    /// What happened, lowercase.
    pub message: String,
}

/// A stored order with its events (`GET /api/v1/acme/orders/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcmeOrder {
    /// Random id below 2^53.
    pub id: i64,
    /// Where it stands.
    pub status: OrderStatus,
    /// The account that orders.
    pub account_id: i64,
    /// DNS names.
    pub names: Vec<String>,
    /// How control is proven.
    pub challenge: ChallengeKind,
    /// Clusters that answer and receive.
    pub clusters: Vec<i64>,
    /// Frontends that carry the challenge rule.
    pub frontends: Vec<String>,
    /// The certificate store's entry.
    pub certificate_id: Option<i64>,
    /// Path of the combined PEM in each bundle.
    pub path: String,
    /// The key made.
    pub key_type: KeyType,
    /// Whether the certificate's version is applied.
    pub auto_apply: bool,
    /// DNS-01: the provider named in the request, if one was.
    pub dns_provider_id: Option<i64>,
    /// The order at the CA.
    pub order_url: Option<String>,
    /// Why it is invalid (the CA's problem detail when the CA said so).
    pub error: Option<String>,
    /// The issued chain (PEM), once valid.
    pub certificate_pem: Option<String>,
    /// Who ordered.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// What happened, oldest first.
    pub events: Vec<OrderEvent>,
}

/// `names` as an order stores them: trimmed, without a final dot, lowercase, each once, in
/// their first order (the first names the default path and store entry).
pub fn normalized_names(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names.iter().map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|n| seen.insert(n.clone())).collect()
}

/// Why certificate `certificate_id` (named `certificate_name`) needs a new order for exactly
/// `names` (compared as sets, normalised), or `None` when it does not: an order for those names
/// into it was issued (`valid`; renewing it is the renewal scheduler's task) or is still
/// running. Otherwise: none yet, or the newest failed (with the CA's reason). An order without
/// a `certificate_id` fills the certificate named after its first name. What a declared ACME
/// certificate (a site file's) is compared with.
pub fn order_needed(orders: &[AcmeOrder], names: &[String], certificate_id: i64, certificate_name: &str) -> Option<String> {
    let mut wanted = normalized_names(names);
    wanted.sort();
    let matching: Vec<&AcmeOrder> = orders
        .iter()
        .filter(|o| {
            let mut asked = normalized_names(&o.names);
            asked.sort();
            let fills = match o.certificate_id {
                Some(id) => id == certificate_id,
                None => o.names.first().is_some_and(|first| first.eq_ignore_ascii_case(certificate_name)),
            };
            asked == wanted && fills
        })
        .collect();
    if matching.iter().any(|o| o.status != OrderStatus::Invalid) {
        return None;
    }
    Some(match matching.iter().max_by_key(|o| (o.created_at, o.id)) {
        None => "no order for these names yet".to_string(),
        Some(failed) => format!("order {} failed: {}", failed.id, failed.error.as_deref().unwrap_or("no reason given")),
    })
}

/// The name of an account's sealed credentials.
pub(crate) fn account_secret_name(id: i64) -> String {
    format!("acme/account/{id}")
}

/// The name of an order's sealed certificate key.
pub(crate) fn order_key_secret_name(id: i64) -> String {
    format!("acme/order/{id}/key")
}

/// The owner of a name's DNS-01 TXT record (RFC 8555 §8.4): `_acme-challenge.` before the
/// name, a wildcard's `*.` dropped (RFC 8555 §7.1.3: the CA validates the base domain).
pub fn dns01_record_name(name: &str) -> String {
    format!("_acme-challenge.{}", name.strip_prefix("*.").unwrap_or(name))
}

/// True for a DNS name a public CA could issue for (RFC 1035 labels, `*.` allowed first):
/// letters, digits, hyphens, 1..=63 per label, 253 in all, at least two labels.
pub fn valid_dns_name(name: &str) -> bool {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = bare.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: i64, names: &[&str], certificate_id: Option<i64>, status: OrderStatus) -> AcmeOrder {
        AcmeOrder {
            id,
            status,
            account_id: 1,
            names: names.iter().map(|n| n.to_string()).collect(),
            challenge: ChallengeKind::Http01,
            clusters: vec![1],
            frontends: vec![],
            certificate_id,
            path: "certs/a.pem".into(),
            key_type: KeyType::EcdsaP256,
            auto_apply: true,
            dns_provider_id: None,
            order_url: None,
            error: None,
            certificate_pem: None,
            created_by: "admin".into(),
            created_at: id,
            updated_at: id,
            events: vec![],
        }
    }

    #[test]
    fn an_order_is_needed_until_one_for_the_same_names_is_issued_or_running() {
        let names = vec!["www.example.com".to_string(), "example.com".to_string()];
        let failed = order(1, &["example.com", "www.example.com"], Some(9), OrderStatus::Invalid);
        assert_eq!(order_needed(&[], &names, 9, "www.example.com").as_deref(), Some("no order for these names yet"));
        assert_eq!(order_needed(std::slice::from_ref(&failed), &names, 9, "www.example.com").as_deref(), Some("order 1 failed: no reason given"));
        let issued = order(2, &["WWW.example.com.", "example.com"], Some(9), OrderStatus::Valid);
        let renewal_failed = order(3, &["www.example.com", "example.com"], Some(9), OrderStatus::Invalid);
        assert_eq!(order_needed(&[failed.clone(), issued, renewal_failed], &names, 9, "www.example.com"), None, "issued: renewals are not ours");
        let running = order(4, &["example.com", "www.example.com"], Some(9), OrderStatus::Pending);
        assert_eq!(order_needed(&[failed.clone(), running], &names, 9, "www.example.com"), None);
        let other_names = order(5, &["www.example.com"], Some(9), OrderStatus::Valid);
        let other_certificate = order(6, &["www.example.com", "example.com"], Some(8), OrderStatus::Valid);
        assert!(order_needed(&[other_names, other_certificate], &names, 9, "www.example.com").is_some());
        let by_name = order(7, &["www.example.com", "example.com"], None, OrderStatus::Valid);
        assert_eq!(order_needed(std::slice::from_ref(&by_name), &names, 9, "www.example.com"), None, "filled by name");
        assert!(order_needed(&[by_name], &names, 9, "other").is_some());
    }

    #[test]
    fn contacts_get_mailto() {
        assert_eq!(Contacts::One("ops@example.com".into()).urls(), vec!["mailto:ops@example.com"]);
        assert_eq!(Contacts::Many(vec!["mailto:a@b.c".into(), " ".into()]).urls(), vec!["mailto:a@b.c"]);
    }

    #[test]
    fn dns01_records_drop_the_wildcard() {
        assert_eq!(dns01_record_name("*.example.com"), "_acme-challenge.example.com");
        assert_eq!(dns01_record_name("www.example.com"), "_acme-challenge.www.example.com");
    }

    #[test]
    fn dns_names() {
        assert!(valid_dns_name("a.example.com"));
        assert!(valid_dns_name("*.example.com"));
        assert!(!valid_dns_name("localhost"));
        assert!(!valid_dns_name("a..b"));
        assert!(!valid_dns_name("-a.b"));
        assert!(!valid_dns_name("a b.c"));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [OrderStatus::Pending, OrderStatus::Ready, OrderStatus::Processing, OrderStatus::Valid, OrderStatus::Invalid] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(KeyType::parse("ecdsa-p384"), Some(KeyType::EcdsaP384));
    }
}
