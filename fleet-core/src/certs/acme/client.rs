//! The ACME conversation, through instant-acme: registering an account (with an external
//! account binding and a private CA's root when given), restoring it from its sealed
//! credentials, reading an order's HTTP-01 or DNS-01 challenges, and the CSR an order is finalised with.
//!
//! instant-acme retries a request the CA refuses with `badNonce` (RFC 8555 §6.5) with the fresh
//! nonce of the refusal, so rejected nonces never reach the order's state. Every other refusal
//! comes back as the CA's problem document (RFC 7807), whose detail our errors carry.

use base64::Engine as _;
use instant_acme::{Account, AccountBuilder, AuthorizationStatus, ChallengeType, ExternalAccountKey, Identifier, Order};

use super::{http01, KeyType, NewAccount};
use crate::error::{Error, Result};

/// A CA's refusal or an unreachable CA, as [`Error::Invalid`] with `what` in front.
pub fn ca_error(what: &str, error: instant_acme::Error) -> Error {
    Error::invalid(format!("{what}: {}", describe(&error)))
}

/// instant-acme's error in words: the CA's problem detail and type when it sent one.
pub fn describe(error: &instant_acme::Error) -> String {
    match error {
        instant_acme::Error::Api(problem) => problem_text(problem),
        other => other.to_string(),
    }
}

/// `detail (type)` of a problem document, with its subproblems.
pub fn problem_text(problem: &instant_acme::Problem) -> String {
    let mut text = problem.detail.clone().unwrap_or_else(|| "no detail".into());
    if let Some(kind) = &problem.r#type {
        text.push_str(&format!(" ({kind})"));
    }
    for sub in &problem.subproblems {
        text.push_str(&format!("; {sub}"));
    }
    text
}

/// An account builder whose HTTP client trusts `ca_pem` (the first certificate in it) instead
/// of the system's roots when given. instant-acme reads the root from a file, so it is written
/// to a private temporary file for the moment of the call.
fn builder(ca_pem: Option<&str>) -> Result<AccountBuilder> {
    let Some(pem) = ca_pem else {
        return Account::builder().map_err(|e| ca_error("acme http client", e));
    };
    if crate::certs::pem_certificate_der(pem).is_none() {
        return Err(Error::invalid("ca_pem: no PEM certificate in it"));
    }
    let mut name = [0u8; 12];
    getrandom::getrandom(&mut name).map_err(|e| Error::Crypto(e.to_string()))?;
    let path = std::env::temp_dir().join(format!("fleet-acme-root-{}.pem", hex::encode(name)));
    std::fs::write(&path, pem).map_err(|e| Error::invalid(format!("ca_pem: cannot stage it: {e}")))?;
    let built = Account::builder_with_root(&path);
    let _ = std::fs::remove_file(&path);
    built.map_err(|e| ca_error("ca_pem", e))
}

/// What registration gives back: the account URL and the credentials to seal.
#[derive(Debug)]
pub struct Registered {
    /// The account URL (`kid`).
    pub account_url: String,
    /// instant-acme's credentials as JSON (holds the private key: seal it).
    pub credentials_json: String,
}

/// Checks `request` and registers a new account at its directory (RFC 8555 §7.3), binding it
/// to the external account when `eab_kid`/`eab_hmac` are given. Bad input and the CA's refusal
/// (e.g. `externalAccountRequired`) are [`Error::Invalid`].
pub async fn register(request: &NewAccount) -> Result<Registered> {
    let url = request.directory_url.trim();
    if !url.starts_with("https://") || url.len() <= "https://".len() {
        return Err(Error::invalid("directory_url: an https:// URL of the CA's ACME directory (RFC 8555 §7.1.1)"));
    }
    let eab = match (&request.eab_kid, &request.eab_hmac) {
        (None, None) => None,
        (Some(kid), Some(hmac)) if !kid.trim().is_empty() => {
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(hmac.trim().trim_end_matches('='))
                .map_err(|e| Error::invalid(format!("eab_hmac: not base64url: {e}")))?;
            if key.is_empty() {
                return Err(Error::invalid("eab_hmac: empty"));
            }
            Some(ExternalAccountKey::new(kid.trim().to_string(), &key))
        }
        _ => return Err(Error::invalid("eab_kid and eab_hmac go together")),
    };
    let contact = request.contact.urls();
    let contact_refs: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = instant_acme::NewAccount { contact: &contact_refs, terms_of_service_agreed: true, only_return_existing: false };
    let (account, credentials) = builder(request.ca_pem.as_deref())?
        .create(&new, url.to_string(), eab.as_ref())
        .await
        .map_err(|e| ca_error("the CA refused the account", e))?;
    let credentials_json = serde_json::to_string(&credentials).map_err(|e| Error::Corrupt(format!("acme credentials: {e}")))?;
    Ok(Registered { account_url: account.id().to_string(), credentials_json })
}

/// The account behind sealed `credentials_json`.
pub async fn restore(credentials_json: &str, ca_pem: Option<&str>) -> Result<Account> {
    let credentials = serde_json::from_str(credentials_json).map_err(|e| Error::Corrupt(format!("acme credentials: {e}")))?;
    builder(ca_pem)?.from_credentials(credentials).await.map_err(|e| ca_error("the CA's directory", e))
}

/// One name's HTTP-01 challenge: what the map must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http01 {
    /// The name it proves.
    pub name: String,
    /// The path's last segment.
    pub token: String,
    /// `token.thumbprint`, the response body.
    pub key_authorization: String,
}

/// One pending authorisation's challenge of the wanted type: the name, its token and key
/// authorisation.
struct Pending {
    name: String,
    token: String,
    key_authorization: instant_acme::KeyAuthorization,
}

/// The `kind` challenges of the order's pending authorisations (valid ones need none). Errors:
/// an authorisation neither pending nor valid, or a CA that offers no such challenge.
async fn pending(order: &mut Order, kind: super::ChallengeKind) -> Result<Vec<Pending>> {
    let (wanted, label) = challenge_type(kind);
    let mut found = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| ca_error("authorisation", e))?;
        match authz.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => return Err(Error::invalid(format!("authorisation for {} is {other:?}", authz.identifier()))),
        }
        let name = authz.identifier().to_string();
        let challenge =
            authz.challenge(wanted.clone()).ok_or_else(|| Error::invalid(format!("the CA offers no {label} challenge for {name}")))?;
        found.push(Pending { token: challenge.token.clone(), key_authorization: challenge.key_authorization(), name });
    }
    Ok(found)
}

fn challenge_type(kind: super::ChallengeKind) -> (ChallengeType, &'static str) {
    match kind {
        super::ChallengeKind::Http01 => (ChallengeType::Http01, "http-01"),
        super::ChallengeKind::Dns01 => (ChallengeType::Dns01, "dns-01"),
    }
}

/// The HTTP-01 challenges of the order's pending authorisations (valid ones need none).
pub async fn http01_challenges(order: &mut Order) -> Result<Vec<Http01>> {
    pending(order, super::ChallengeKind::Http01)
        .await?
        .into_iter()
        .map(|p| {
            if !http01::valid_token(&p.token) {
                return Err(Error::invalid(format!("the CA's http-01 token for {} is not base64url", p.name)));
            }
            Ok(Http01 { key_authorization: p.key_authorization.as_str().to_string(), token: p.token, name: p.name })
        })
        .collect()
}

/// One name's DNS-01 challenge: the TXT value its `_acme-challenge` record must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns01 {
    /// The name it proves (`*.example.com` for a wildcard).
    pub name: String,
    /// The record's owner ([`super::dns01_record_name`]).
    pub record: String,
    /// base64url(SHA-256(key authorisation)) (RFC 8555 §8.4).
    pub value: String,
}

/// The DNS-01 challenges of the order's pending authorisations (valid ones need none).
pub async fn dns01_challenges(order: &mut Order) -> Result<Vec<Dns01>> {
    Ok(pending(order, super::ChallengeKind::Dns01)
        .await?
        .into_iter()
        .map(|p| Dns01 { record: super::dns01_record_name(&p.name), value: p.key_authorization.dns_value(), name: p.name })
        .collect())
}

/// Tells the CA every pending challenge of `kind` is ready to be validated (RFC 8555 §7.5.1).
pub async fn set_ready(order: &mut Order, kind: super::ChallengeKind) -> Result<()> {
    let (wanted, label) = challenge_type(kind);
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| ca_error("authorisation", e))?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let name = authz.identifier().to_string();
        let mut challenge =
            authz.challenge(wanted.clone()).ok_or_else(|| Error::invalid(format!("the CA offers no {label} challenge for {name}")))?;
        challenge.set_ready().await.map_err(|e| ca_error(&format!("challenge for {name}"), e))?;
    }
    Ok(())
}

/// Why an order failed, in the CA's words: the order's problem, else every failed challenge's.
pub async fn failure(order: &mut Order) -> String {
    let mut reasons = Vec::new();
    if let Some(problem) = &order.state().error {
        reasons.push(problem_text(problem));
    }
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let Ok(authz) = authz else { continue };
        let name = authz.identifier().to_string();
        for challenge in &authz.challenges {
            if let Some(problem) = &challenge.error {
                reasons.push(format!("{name}: {}", problem_text(problem)));
            }
        }
    }
    if reasons.is_empty() {
        "the CA marked the order invalid without a reason".into()
    } else {
        reasons.join("; ")
    }
}

/// An ARI CertID (`base64url(AKI keyIdentifier).base64url(serial)`, RFC 9773 §4.1) as the
/// `replaces` of a new order; `None` when it is not in that form.
pub fn certificate_identifier(cert_id: &str) -> Option<instant_acme::CertificateIdentifier<'static>> {
    let (aki, serial) = cert_id.split_once('.')?;
    let part = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (part(aki) && part(serial)).then(|| instant_acme::CertificateIdentifier {
        authority_key_identifier: aki.to_string().into(),
        serial: serial.to_string().into(),
    })
}

/// The DNS identifiers of `names`.
pub fn identifiers(names: &[String]) -> Vec<Identifier> {
    names.iter().map(|n| Identifier::Dns(n.clone())).collect()
}

/// A new certificate private key of `key_type`, PKCS#8 PEM: ECDSA from rcgen (on ring), RSA
/// from RustCrypto's `rsa` (ring signs with RSA keys but cannot generate them; [`csr`] signs with
/// either through rcgen).
pub fn new_key(key_type: KeyType) -> Result<String> {
    let alg = match key_type {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyType::Rsa2048 => return new_rsa_key(2048),
    };
    let key = rcgen::KeyPair::generate_for(alg).map_err(|e| Error::Crypto(format!("certificate key: {e}")))?;
    Ok(key.serialize_pem())
}

/// A new RSA key of `bits` bits (public exponent 65537) from the OS random source, PKCS#8 PEM.
fn new_rsa_key(bits: usize) -> Result<String> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let fail = |e: &dyn std::fmt::Display| Error::Crypto(format!("certificate key: {e}"));
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).map_err(|e| fail(&e))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
    Ok(pem.as_str().to_owned())
}

/// A CSR (DER, RFC 2986) for `names` signed with `key_pem`, with an empty subject: the names
/// are in the subjectAltName extension, where CAs read them.
pub fn csr(names: &[String], key_pem: &str) -> Result<Vec<u8>> {
    let fail = |e: rcgen::Error| Error::Crypto(format!("csr: {e}"));
    let key = rcgen::KeyPair::from_pem(key_pem).map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(fail)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).map_err(fail)?;
    Ok(csr.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csr_names_every_name() {
        let key = new_key(KeyType::EcdsaP256).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = csr(&["a.example.com".into(), "b.example.com".into()], &key).unwrap();
        let text = String::from_utf8_lossy(&der);
        assert!(text.contains("a.example.com") && text.contains("b.example.com"));
    }

    /// Every key type makes a PKCS#8 key of its kind and size, and a CSR signed with it that
    /// verifies against the public key it carries (what the CA checks at finalize).
    #[test]
    fn every_key_type_signs_a_csr_that_verifies() {
        use x509_parser::prelude::FromDer;
        use x509_parser::public_key::PublicKey;
        for (key_type, algorithm, bits) in [
            (KeyType::EcdsaP256, &rcgen::PKCS_ECDSA_P256_SHA256, 256),
            (KeyType::EcdsaP384, &rcgen::PKCS_ECDSA_P384_SHA384, 384),
            (KeyType::Rsa2048, &rcgen::PKCS_RSA_SHA256, 2048),
        ] {
            let key = new_key(key_type).unwrap();
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n") && key.ends_with("-----END PRIVATE KEY-----\n"), "{key}");
            assert_eq!(rcgen::KeyPair::from_pem(&key).unwrap().algorithm(), algorithm, "{key_type:?}");
            let der = csr(&["a.example.com".into()], &key).unwrap();
            let (rest, request) = x509_parser::certification_request::X509CertificationRequest::from_der(&der).unwrap();
            assert!(rest.is_empty());
            request.verify_signature().unwrap();
            let spki = &request.certification_request_info.subject_pki;
            let parsed = spki.parsed().unwrap();
            assert_eq!(parsed.key_size(), bits, "{key_type:?}");
            if let PublicKey::RSA(rsa) = parsed {
                assert_eq!(rsa.try_exponent().unwrap(), 65537);
            }
            let names: Vec<String> = request
                .requested_extensions()
                .into_iter()
                .flatten()
                .filter_map(|e| match e {
                    x509_parser::extensions::ParsedExtension::SubjectAlternativeName(san) => Some(san.general_names.iter().map(|n| n.to_string()).collect::<Vec<_>>()),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(names, ["DNSName(a.example.com)"], "{key_type:?}");
        }
        // Two RSA keys differ (fresh randomness each time).
        assert_ne!(new_key(KeyType::Rsa2048).unwrap(), new_key(KeyType::Rsa2048).unwrap());
    }

    #[tokio::test]
    async fn registration_input_is_checked_before_any_request() {
        let base = NewAccount {
            directory_url: "http://ca.invalid/dir".into(),
            contact: super::super::Contacts::Many(vec![]),
            ca_pem: None,
            eab_kid: None,
            eab_hmac: None,
        };
        let message = |r: Result<Registered>| r.unwrap_err().to_string();
        assert!(message(register(&base).await).contains("https://"));
        let eab = NewAccount { directory_url: "https://ca.invalid/dir".into(), eab_kid: Some("k".into()), ..base.clone() };
        assert!(message(register(&eab).await).contains("go together"));
        let pem = NewAccount { directory_url: "https://ca.invalid/dir".into(), ca_pem: Some("junk".into()), ..base };
        assert!(message(register(&pem).await).contains("ca_pem"));
    }
}
