//! Certificates: the store of the certificates HAProxy serves, and those the server makes itself.
//!
//! ```text
//! upload (PEM: certificate [chain] [key]) --inspect::inspect--> facts + chain + key, or a 422
//!   --Store::put_certificate--> certificates row + key sealed (sealed_secrets certificate/<id>)
//!   --Store::deploy_certificate--> certs/<name>.pem (chain + key, HAProxy's combined file) in
//!                                  a new bundle version, optionally a crt-list line
//!   --Store::replace_certificate--> a new bundle version in every cluster that uses it
//! agents report `show ssl cert` -> served_certificates -> Store::certificate_status
//! ```
//!
//! - [`pem`]: PEM texts split into certificates and one key.
//! - [`inspect`]: facts and refusals (key mismatch, chain order and links, expiry, garbage).
//! - [`record`]: the records and pure decisions (names, scope, expiry thresholds, crt-list lines).
//! - [`renewal`]: when and by whom ACME certificates are renewed (ARI, lease, runaway guard).
//! - [`self_signed`]: the `fleet serve --tls-self-signed` CA and the server certificate it signs.
//! - [`acme`]: accounts at an RFC 8555 CA and orders issued through the fleet's nodes (HTTP-01),
//!   stored here once valid.

pub mod acme;
pub mod inspect;
pub mod pem;
pub mod record;
pub mod renewal;
pub mod self_signed;

pub use inspect::{combined_pem, inspect, CertificateError, CertificateFacts, ChainLink, Inspected, Upload};
pub use record::{
    Certificate, CertificateStatus, CrtListEntry, Deployment, DeploymentStatus, NodeServes,
};

/// Why a certificate could not be made or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// rcgen refused the parameters or the key.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// A stored certificate or key does not decode.
    #[error("stored {what} does not decode: {reason}")]
    Stored {
        /// What was read.
        what: &'static str,
        /// Why not.
        reason: String,
    },
}

impl From<CertError> for crate::Error {
    fn from(error: CertError) -> Self {
        crate::Error::Crypto(error.to_string())
    }
}

/// The DER of the first `CERTIFICATE` block of a PEM text (RFC 7468).
pub fn pem_certificate_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The SHA-256 fingerprint (lowercase hex, as [`CertificateFacts::fingerprint_sha256`]) of the
/// first certificate of a PEM text: the leaf of a combined file or chain. `None` when the text
/// holds no decodable certificate.
pub fn leaf_fingerprint(pem: &str) -> Option<String> {
    pem_certificate_der(pem).map(|der| crate::secret::sha256_hex(&der))
}

/// A stand-in certificate for `names`, served until an ACME order issues the real one (the
/// order fills the same store entry): a leaf for `names` signed by a throwaway CA made here
/// and dropped, valid from a day before `now_ms` for 397 days. PEM chain (leaf, then the CA)
/// and PKCS#8 key, as an upload takes them. Errors: [`CertError::Generate`] for names rcgen
/// refuses.
pub fn placeholder(names: &[String], now_ms: i64) -> Result<self_signed::ServerCertificate, CertError> {
    self_signed::SelfSignedCa::generate(now_ms)?.issue_server(names, now_ms)
}
