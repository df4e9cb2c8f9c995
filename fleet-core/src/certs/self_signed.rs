//! The server's own CA for `fleet serve --tls-self-signed`: made once (ECDSA P-256, ten years),
//! its private key sealed with the master key in the store (`sealed_secrets` row `tls/ca`), its
//! fingerprint put into every install command so agents pin it. The server certificate is
//! signed afresh at every start for the names the server is reached by (its key lives in
//! memory only), so a changed `--public-url` needs nothing but a restart.
//!
//! ```text
//! Store::self_signed_ca(ring) --row tls/ca--> SelfSignedCa::from_stored | SelfSignedCa::generate + seal + insert
//! SelfSignedCa::issue_server(names, now) -> ServerCertificate { chain_pem: leaf + CA, key_pem }
//! ```
//!
//! Keys come from ring's system random source inside rcgen, not from the store's injected
//! [`crate::Random`]: rcgen offers no other, and nothing here needs to be reproducible.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;

use super::{pem_certificate_der, CertError};
use crate::fingerprint::CaFingerprint;

/// The `sealed_secrets` row holding the CA (certificate public, key sealed).
pub const CA_SECRET_NAME: &str = "tls/ca";
/// The CA's subject common name.
const CA_COMMON_NAME: &str = "HAProxy Fleet CA";
/// How long the CA is valid.
const CA_DAYS: i64 = 3650;
/// How long a server certificate is valid (browsers' limit; it is re-signed at each start).
const SERVER_DAYS: i64 = 397;

/// The self-signed CA with its private key.
#[derive(Debug)]
pub struct SelfSignedCa {
    cert_pem: String,
    cert_der: Vec<u8>,
    key: KeyPair,
}

/// A server certificate signed by the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    /// The server certificate then the CA certificate, PEM (the CA is sent so agents that pin
    /// its fingerprint find it in the chain).
    pub chain_pem: String,
    /// The server certificate's private key, PKCS#8 PEM.
    pub key_pem: String,
}

fn generate_error(error: rcgen::Error) -> CertError {
    CertError::Generate(error.to_string())
}

/// `now_ms` moved by `days`, as the certificate time type (clamped to what it can hold).
fn at(now_ms: i64, days: i64) -> OffsetDateTime {
    let seconds = now_ms / 1000 + days * 86_400;
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The CA's parameters: its distinguished name is what the server certificates name as issuer.
fn ca_params(now_ms: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    // A clock a little off on the node must not make a fresh certificate "not yet valid".
    params.not_before = at(now_ms, -1);
    params.not_after = at(now_ms, CA_DAYS);
    params
}

impl SelfSignedCa {
    /// A new CA valid from a day before `now_ms` for ten years.
    pub fn generate(now_ms: i64) -> Result<SelfSignedCa, CertError> {
        let key = KeyPair::generate().map_err(generate_error)?;
        let cert = ca_params(now_ms).self_signed(&key).map_err(generate_error)?;
        Ok(SelfSignedCa { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key })
    }

    /// The CA read back: its certificate (PEM) and its private key (PEM, once unsealed).
    pub fn from_stored(cert_pem: &str, key_pem: &str) -> Result<SelfSignedCa, CertError> {
        let cert_der = pem_certificate_der(cert_pem)
            .ok_or_else(|| CertError::Stored { what: "CA certificate", reason: "no CERTIFICATE block".into() })?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| CertError::Stored { what: "CA key", reason: e.to_string() })?;
        Ok(SelfSignedCa { cert_pem: cert_pem.to_string(), cert_der, key })
    }

    /// The CA certificate, PEM (what `fleet-agent --ca-file` takes).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key, PKCS#8 PEM (to be sealed, never stored as is).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The fingerprint agents pin.
    pub fn fingerprint(&self) -> CaFingerprint {
        CaFingerprint::of_der(&self.cert_der)
    }

    /// A new server certificate for `names` (DNS names or IP addresses), valid from a day
    /// before `now_ms` for 397 days, with a fresh key.
    pub fn issue_server(&self, names: &[String], now_ms: i64) -> Result<ServerCertificate, CertError> {
        let mut params = CertificateParams::new(names.to_vec()).map_err(generate_error)?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, names.first().map_or("fleet", String::as_str));
        params.distinguished_name = name;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = at(now_ms, -1);
        params.not_after = at(now_ms, SERVER_DAYS);
        let key = KeyPair::generate().map_err(generate_error)?;
        let issuer = Issuer::new(ca_params(now_ms), &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(generate_error)?;
        Ok(ServerCertificate { chain_pem: format!("{}{}", cert.pem(), self.cert_pem), key_pem: key.serialize_pem() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_reads_back_with_the_same_fingerprint_and_signs_server_certificates() {
        let now = 1_767_225_600_000;
        let ca = SelfSignedCa::generate(now).unwrap();
        let back = SelfSignedCa::from_stored(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(back.fingerprint(), ca.fingerprint());
        let server = back.issue_server(&["fleet.example".into(), "127.0.0.1".into()], now).unwrap();
        assert_eq!(server.chain_pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert!(server.chain_pem.ends_with(ca.cert_pem()));
        assert!(server.key_pem.contains("PRIVATE KEY"));
        assert!(matches!(SelfSignedCa::from_stored("junk", &ca.key_pem()), Err(CertError::Stored { .. })));
    }
}
