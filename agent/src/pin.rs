//! `fleet-agent --ca-fingerprint sha256:...`: the server is accepted only when the certificate
//! chain it presents holds the certificate with that SHA-256 (the server's self-signed CA, from
//! the install command), and the chain verifies up to it with that CA as the only trust anchor
//! (signatures, validity, the server's name). A certificate from any other CA, public ones
//! included, is refused, so whoever intercepts the enrolment cannot read the secret.
//!
//! ```text
//! chain [server cert, CA] --sha256 of each--> pinned one found? --no--> refused, naming the pin
//!                                                  yes: webpki with roots = {it} -> verified | refused
//! ```
//! Pinning the server certificate itself (a self-signed server) is accepted too: then it is the
//! certificate, compared byte for byte through its digest.

use std::sync::Arc;

use fleet_core::fingerprint::CaFingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The refusal when the pinned certificate is not in the chain.
#[derive(Debug, thiserror::Error)]
#[error("the server's certificate chain does not hold the pinned CA {0} (--ca-fingerprint): not the enrolling server, or a different CA")]
struct NotPinned(CaFingerprint);

/// A verifier that trusts only the pinned certificate.
#[derive(Debug)]
pub(crate) struct PinnedCa {
    pin: CaFingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedCa {
    pub(crate) fn new(pin: CaFingerprint, provider: Arc<CryptoProvider>) -> PinnedCa {
        PinnedCa { pin, provider }
    }
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pin.matches(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        let Some(ca) = intermediates.iter().find(|cert| self.pin.matches(cert)) else {
            // `General` prints its text; `CertificateError::Other` would print the Debug form.
            return Err(rustls::Error::General(NotPinned(self.pin).to_string()));
        };
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A rustls client configuration that trusts only `pin` (ring provider, as reqwest's), offering
/// HTTP/2 then HTTP/1.1 by ALPN (RFC 7301) as reqwest's own configuration does: a preconfigured
/// one is used as it is.
pub(crate) fn client_config(pin: CaFingerprint) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCa::new(pin, provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
