//! `fleet serve`'s HTTPS: the operator's certificate (`--tls-cert`/`--tls-key`) or the server's
//! own CA (`--tls-self-signed`, made and sealed by fleet-core), turned into a rustls server
//! configuration that offers HTTP/2 and HTTP/1.1 by ALPN.
//!
//! ```text
//! --tls-cert F --tls-key F  -> chain + key from PEM files                        -> ServerConfig
//! --tls-self-signed         -> Store::self_signed_ca(ring) -> issue_server(names) -> ServerConfig
//!                              + the CA's fingerprint for install commands, + <data>/tls/ca.pem
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleet_core::fingerprint::CaFingerprint;
use fleet_core::secrets::Keyring;
use fleet_core::{Clock, Store, SystemClock};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS flags of `fleet serve`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain (server certificate first).
    #[arg(long, value_name = "FILE", requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with the server's own CA: made at first start (its key sealed with the
    /// master key in the database), it signs a certificate for the `--public-url` host at every
    /// start; install commands carry its fingerprint so agents pin it. The CA certificate is
    /// also written to `<data>/tls/ca.pem` for `fleet-agent --ca-file` and other clients.
    #[arg(long)]
    tls_self_signed: bool,
}

/// The TLS setup of a running server.
pub(crate) struct Tls {
    /// What rustls serves with.
    pub(crate) config: Arc<rustls::ServerConfig>,
    /// The self-signed CA's fingerprint (none with an operator's certificate).
    pub(crate) ca: Option<CaFingerprint>,
}

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{0}")]
    Store(#[from] fleet_core::Error),
    #[error("--tls-self-signed: {0}")]
    Certificate(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The rustls configuration for `args`, `None` for plain HTTP. `listen` and `public_url` name
/// the server in a self-signed certificate.
pub(crate) async fn setup(
    args: &TlsArgs,
    store: &Store,
    ring: &Keyring,
    data: &Path,
    listen: SocketAddr,
    public_url: Option<&str>,
) -> Result<Option<Tls>, TlsError> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let chain = read_chain(cert)?;
        let key = read_key(key)?;
        return Ok(Some(Tls { config: server_config(chain, key)?, ca: None }));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    let ca = store.self_signed_ca(ring).await?;
    let names = server_names(listen, public_url);
    let issued = ca.issue_server(&names, SystemClock.now_ms()).map_err(|e| TlsError::Certificate(e.to_string()))?;
    let chain = CertificateDer::pem_slice_iter(issued.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).map_err(|e| TlsError::Certificate(e.to_string()))?;
    let folder = data.join("tls");
    let ca_file = folder.join("ca.pem");
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&ca_file, ca.cert_pem()))
        .map_err(|source| TlsError::Write { path: ca_file.display().to_string(), source })?;
    tracing::info!(fingerprint = %ca.fingerprint(), names = ?names, ca_file = %ca_file.display(), "self-signed TLS");
    Ok(Some(Tls { config: server_config(chain, key)?, ca: Some(ca.fingerprint()) }))
}

/// The names a self-signed server certificate covers: the `--public-url` host, the listen
/// address when it is a specific one, and the loopback names.
fn server_names(listen: SocketAddr, public_url: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(host) = public_url.and_then(url_host) {
        names.push(host);
    }
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names.extend(["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()]);
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names
}

/// The host of `scheme://host[:port][/path]`, brackets of an IPv6 literal removed.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_string())
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read { path: path.display().to_string(), source })?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.display().to_string(), reason: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::Pem { path: path.display().to_string(), reason: "no CERTIFICATE block".into() });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read { path: path.display().to_string(), source })?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Pem { path: path.display().to_string(), reason: e.to_string() })
}

/// rustls with the ring provider, TLS 1.2 and 1.3, HTTP/2 preferred over HTTP/1.1 by ALPN.
fn server_config(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_names_cover_the_public_host_the_listen_address_and_loopback() {
        let listen: SocketAddr = "0.0.0.0:8443".parse().unwrap();
        assert_eq!(
            server_names(listen, Some("https://fleet.example:8443/")),
            ["fleet.example", "localhost", "127.0.0.1", "::1"]
        );
        let listen: SocketAddr = "10.1.2.3:8443".parse().unwrap();
        assert_eq!(server_names(listen, Some("https://[2001:db8::1]:8443")), ["2001:db8::1", "10.1.2.3", "localhost", "127.0.0.1", "::1"]);
        assert_eq!(server_names("127.0.0.1:0".parse().unwrap(), None), ["127.0.0.1", "localhost", "::1"]);
        assert_eq!(url_host("https://user@host.example"), Some("host.example".into()));
    }
}
