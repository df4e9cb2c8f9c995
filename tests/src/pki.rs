//! Test certificate chains: a root CA, an intermediate CA and leaf certificates for chosen names
//! and validity (Unix ms, so a test's manual clock decides what is expired), made with rcgen.
//!
//! ```text
//! TestPki::new(name, not_before, not_after) -> root -> intermediate
//! pki.leaf(names, not_before, not_after)    -> Leaf { cert_pem, key_pem }  (ECDSA P-256)
//! pki.acme_leaf(names, nb, na, serial)     -> the same with an AKI and a chosen serial
//! pki.chain_pem()                           -> intermediate then root, PEM
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber};
use time::OffsetDateTime;

/// A leaf certificate and its private key.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate alone, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
}

/// A root and an intermediate CA that sign leaves.
pub struct TestPki {
    root_pem: String,
    intermediate_pem: String,
    intermediate_params: CertificateParams,
    intermediate_key: KeyPair,
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap()
}

fn ca_params(cn: &str, not_before: i64, not_after: i64) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = at(not_before);
    params.not_after = at(not_after);
    params
}

impl TestPki {
    /// `<name> Root` signs `<name> Intermediate`; both valid from `not_before` to `not_after`.
    pub fn new(name: &str, not_before: i64, not_after: i64) -> TestPki {
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params(&format!("{name} Root"), not_before, not_after);
        let root = root_params.self_signed(&root_key).unwrap();
        let intermediate_key = KeyPair::generate().unwrap();
        let intermediate_params = ca_params(&format!("{name} Intermediate"), not_before, not_after);
        let root_issuer = Issuer::new(root_params, &root_key);
        let intermediate = intermediate_params.signed_by(&intermediate_key, &root_issuer).unwrap();
        TestPki { root_pem: root.pem(), intermediate_pem: intermediate.pem(), intermediate_params, intermediate_key }
    }

    /// A leaf for `names` (the first is the CN) signed by the intermediate, with a new key.
    pub fn leaf(&self, names: &[&str], not_before: i64, not_after: i64) -> Leaf {
        self.make_leaf(names, not_before, not_after, None)
    }

    /// A leaf as an ACME CA issues it: with an Authority Key Identifier (half of its ARI CertID,
    /// RFC 9773) and the serial `serial` (big-endian; DER adds a `00` when the high bit is set).
    pub fn acme_leaf(&self, names: &[&str], not_before: i64, not_after: i64, serial: &[u8]) -> Leaf {
        self.make_leaf(names, not_before, not_after, Some(serial))
    }

    fn make_leaf(&self, names: &[&str], not_before: i64, not_after: i64, acme_serial: Option<&[u8]>) -> Leaf {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, names[0]);
        params.distinguished_name = name;
        params.not_before = at(not_before);
        params.not_after = at(not_after);
        if let Some(serial) = acme_serial {
            params.serial_number = Some(SerialNumber::from_slice(serial));
            params.use_authority_key_identifier_extension = true;
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.intermediate_params, &self.intermediate_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// The intermediate's certificate, PEM.
    pub fn intermediate_pem(&self) -> &str {
        &self.intermediate_pem
    }

    /// The root's certificate, PEM (what a client trusts).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// What follows a leaf in a served chain: the intermediate, PEM.
    pub fn chain_pem(&self) -> String {
        self.intermediate_pem.clone()
    }
}
