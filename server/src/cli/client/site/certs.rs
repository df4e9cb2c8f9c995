//! Certificates in a site file: uploaded ones (PEM files beside the site file) and ACME ones
//! (names a CA issues for), each deployed into the clusters it names; and the ACME accounts
//! the orders use.
//!
//! ```toml
//! [[acme_account]]
//! directory_url = "https://acme-v02.api.letsencrypt.org/directory"
//! contact = ["ops@example.com"]
//! # ca_file = "pebble-root.pem"     # PEM of a private CA's root, beside this file
//!
//! [[certificate]]
//! name = "shop"                     # the certificate store's name
//! file = "certs/shop.pem"           # certificate, chain and key (or the key in `key`)
//! clusters = ["web"]                # deployed into each at `path` (default certs/<name>.pem)
//!
//! [[certificate]]
//! acme = ["shop.example.com"]       # the names; the store name defaults to the first
//! clusters = ["web"]
//! frontends = ["http"]              # http-01: the frontends that answer the challenge
//! # account = "https://..."         # the account's directory URL (default: the only one)
//! # challenge = "http-01"           # or "dns-01"; key_type = "ecdsa-p256"
//! ```
//! What the plan does with them is [`super::certs_plan`].

use serde::Deserialize;
use toml::Spanned;

use super::file::{Known, Loaded, SiteError};

/// `[[acme_account]]`: registered at the CA when the server has no account for its directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcmeAccountSpec {
    pub(crate) directory_url: Spanned<String>,
    #[serde(default)]
    pub(crate) contact: Vec<String>,
    /// A private CA's root (PEM file beside the site file).
    #[serde(default)]
    pub(crate) ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) eab_kid: Option<String>,
    #[serde(default)]
    pub(crate) eab_hmac: Option<String>,
}

/// `[[certificate]]`: `file` (uploaded) or `acme` (ordered), not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateSpec {
    /// The store's name (default for ACME: the first name).
    #[serde(default)]
    pub(crate) name: Option<Spanned<String>>,
    /// Uploaded: the PEM file (certificate first, then its chain; the key too unless `key`).
    #[serde(default)]
    pub(crate) file: Option<Spanned<String>>,
    /// Uploaded: the key's PEM file, when not in `file`.
    #[serde(default)]
    pub(crate) key: Option<Spanned<String>>,
    /// ACME: the DNS names.
    #[serde(default)]
    pub(crate) acme: Option<Spanned<Vec<String>>>,
    /// ACME: the account's directory URL (default: the only account of the file or server).
    #[serde(default)]
    pub(crate) account: Option<Spanned<String>>,
    /// ACME: `http-01` (default) or `dns-01`.
    #[serde(default)]
    pub(crate) challenge: Option<Spanned<String>>,
    /// ACME, http-01: the frontends that get the challenge rule.
    #[serde(default)]
    pub(crate) frontends: Vec<String>,
    /// ACME: `ecdsa-p256` (default), `ecdsa-p384`, `rsa2048`.
    #[serde(default)]
    pub(crate) key_type: Option<Spanned<String>>,
    /// The clusters it is deployed into.
    #[serde(default)]
    pub(crate) clusters: Vec<Spanned<String>>,
    /// Its path in each bundle (default `certs/<name>.pem`).
    #[serde(default)]
    pub(crate) path: Option<Spanned<String>>,
}

impl CertificateSpec {
    /// The store's name.
    pub(crate) fn name(&self) -> String {
        match (&self.name, &self.acme) {
            (Some(name), _) => name.get_ref().clone(),
            (None, Some(names)) => names.get_ref().first().map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase()).unwrap_or_default(),
            (None, None) => String::new(),
        }
    }

    /// The bundle path in each cluster.
    pub(crate) fn path(&self) -> String {
        match &self.path {
            Some(path) => path.get_ref().clone(),
            None => format!("certs/{}.pem", self.name()),
        }
    }

    /// The ACME names, when ordered.
    pub(crate) fn acme_names(&self) -> Option<&[String]> {
        self.acme.as_ref().map(|names| names.get_ref().as_slice())
    }

    /// The ACME account's directory URL: the one named, else the only one of the file, else
    /// the only one of the server.
    pub(crate) fn account(&self, site: &Loaded, known: &Known) -> Option<String> {
        if let Some(account) = &self.account {
            return Some(account.get_ref().clone());
        }
        let mut all: Vec<String> = site.site.acme_accounts.iter().map(|a| a.directory_url.get_ref().clone()).collect();
        all.extend(known.acme_accounts.iter().cloned());
        all.sort();
        all.dedup();
        match all.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }
}

fn valid_store_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Checks the certificates and accounts: names given once and valid, exactly one of `file` and
/// `acme`, files that exist, clusters of the file or the server, ACME names, challenge, key
/// type and an account that resolves; each problem at its file:line:col.
pub(crate) fn check(site: &Loaded, known: &Known, errors: &mut Vec<SiteError>) {
    for (i, account) in site.site.acme_accounts.iter().enumerate() {
        if site.site.acme_accounts[..i].iter().any(|a| a.directory_url.get_ref() == account.directory_url.get_ref()) {
            errors.push(site.error_at(account.directory_url.span(), &format!("{:?} is declared twice", account.directory_url.get_ref())));
        }
        if let Some(file) = &account.ca_file {
            if !site.beside(file.get_ref()).is_file() {
                errors.push(site.error_at(file.span(), &format!("no file {}", site.beside(file.get_ref()).display())));
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    for cert in &site.site.certificates {
        let anchor = cert.name.as_ref().map(Spanned::span).or_else(|| cert.acme.as_ref().map(Spanned::span)).or_else(|| cert.file.as_ref().map(Spanned::span));
        let Some(anchor) = anchor else {
            errors.push(SiteError(format!("{}: error: a [[certificate]] needs `file` or `acme`", site.path.display())));
            continue;
        };
        let name = cert.name();
        if !valid_store_name(&name) {
            errors.push(site.error_at(anchor.clone(), &format!("certificate name {name:?}: letters, digits, '.', '_' or '-'")));
        } else if names.contains(&name) {
            errors.push(site.error_at(anchor.clone(), &format!("certificate {name:?} is declared twice")));
        }
        names.push(name.clone());
        match (&cert.file, &cert.acme) {
            (Some(_), Some(acme)) => errors.push(site.error_at(acme.span(), "a certificate is uploaded (`file`) or ordered (`acme`), not both")),
            (None, None) => errors.push(site.error_at(anchor.clone(), "a certificate needs `file` (uploaded) or `acme` (ordered)")),
            (Some(_), None) => {
                if cert.name.is_none() {
                    errors.push(site.error_at(anchor.clone(), "an uploaded certificate needs a `name`"));
                }
                let acme_only = [cert.account.as_ref(), cert.challenge.as_ref(), cert.key_type.as_ref()];
                if let Some(key) = acme_only.into_iter().flatten().next() {
                    errors.push(site.error_at(key.span(), "account, challenge and key_type are for `acme` certificates"));
                }
            }
            (None, Some(acme)) => check_acme(site, known, cert, acme, errors),
        }
        for (file, certificate) in [(&cert.file, true), (&cert.key, false)] {
            let Some(file) = file else { continue };
            let path = site.beside(file.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(text) if certificate && fleet_core::certs::leaf_fingerprint(&text).is_none() => {
                    errors.push(site.error_at(file.span(), &format!("{}: no PEM certificate in it", path.display())));
                }
                Ok(_) => {}
                Err(e) => errors.push(site.error_at(file.span(), &format!("{}: {e}", path.display()))),
            }
        }
        for cluster in &cert.clusters {
            let declared = site.site.clusters.iter().any(|c| c.name.get_ref() == cluster.get_ref());
            if !declared && !known.clusters.iter().any(|c| c == cluster.get_ref()) {
                errors.push(site.error_at(cluster.span(), &format!("no cluster named {:?} in this file or on the server", cluster.get_ref())));
            }
        }
        if let Some(path) = &cert.path {
            if let Err(e) = fleet_core::bundle::BundlePath::new(path.get_ref()) {
                errors.push(site.error_at(path.span(), &format!("path {:?}: {e}", path.get_ref())));
            }
        }
    }
}

fn check_acme(site: &Loaded, known: &Known, cert: &CertificateSpec, acme: &Spanned<Vec<String>>, errors: &mut Vec<SiteError>) {
    if acme.get_ref().is_empty() {
        errors.push(site.error_at(acme.span(), "acme: at least one DNS name"));
    }
    if let Some(bad) = acme.get_ref().iter().find(|n| !fleet_core::certs::acme::valid_dns_name(n.trim().trim_end_matches('.'))) {
        errors.push(site.error_at(acme.span(), &format!("acme: {bad:?} is not a DNS name")));
    }
    if let Some(challenge) = &cert.challenge {
        match challenge.get_ref().as_str() {
            "http-01" => {}
            "dns-01" if !cert.frontends.is_empty() => errors.push(site.error_at(challenge.span(), "frontends are for http-01 (dns-01 needs no frontend)")),
            "dns-01" => {}
            other => errors.push(site.error_at(challenge.span(), &format!("challenge {other:?}: use \"http-01\" or \"dns-01\""))),
        }
    }
    if let Some(key_type) = &cert.key_type {
        if fleet_core::certs::acme::KeyType::parse(key_type.get_ref()).is_none() {
            errors.push(site.error_at(key_type.span(), &format!("key_type {:?}: use \"ecdsa-p256\", \"ecdsa-p384\" or \"rsa2048\"", key_type.get_ref())));
        }
    }
    if cert.key.is_some() {
        errors.push(site.error_at(acme.span(), "`key` is for uploaded certificates (the order makes the key)"));
    }
    if cert.clusters.is_empty() {
        errors.push(site.error_at(acme.span(), "an ACME certificate needs `clusters` (they answer the challenge and receive it)"));
    }
    match &cert.account {
        Some(account) => {
            let url = account.get_ref();
            let declared = site.site.acme_accounts.iter().any(|a| a.directory_url.get_ref() == url);
            if !declared && !known.acme_accounts.iter().any(|a| a == url) {
                errors.push(site.error_at(account.span(), &format!("no ACME account for {url:?} in this file or on the server")));
            }
        }
        None => {
            if cert.account(site, known).is_none() {
                errors.push(site.error_at(acme.span(), "which ACME account? declare one [[acme_account]] or name its directory URL in `account`"));
            }
        }
    }
}
