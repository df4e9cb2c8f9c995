//! What a site file's certificates change on the server, and making those changes through
//! the certificate and ACME routes.
//!
//! ```text
//! accounts      no server account for the directory URL            -> + acme account (registered at the CA)
//! uploaded      not in the store                                   -> + certificate (upload)
//!               the leaf's fingerprint differs from the file's     -> ~ certificate (replace: a new
//!                                                                       version in every cluster using it)
//! acme          not in the store                                   -> + certificate (a self-signed
//!                                                                       placeholder the order later fills)
//! per cluster   not deployed there at its path                     -> + deploy (before the config)
//!               --prune: a deployment the file does not declare    -> - undeploy
//! acme orders   no order for these names into it issued or running (fleet-core
//!               acme::order_needed; renewals are the scheduler's) -> + acme order (after the clusters)
//! --prune       certificates the file does not declare             -> - certificate (after the clusters)
//! ```
//! Uploaded certificates compare by the leaf's fingerprint (a new chain or key alone on the
//! same leaf is not seen). Accounts are never changed or removed (the API has no route for it).

use fleet_core::certs::acme::{order_needed, AcmeOrder};
use serde::Serialize;
use serde_json::{json, Value};

use super::file::{CertificateSpec, Known, Loaded};
use crate::cli::client::http::{cluster_path, Api};
use crate::cli::client::resources::list;
use crate::cli::client::ClientError;

/// What is done to a certificate (or an ACME account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CertAction {
    Account,
    Upload,
    Placeholder,
    Replace,
    Deploy,
    Undeploy,
    Order,
    Delete,
}

/// One certificate change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CertChange {
    pub(crate) action: CertAction,
    /// The store's name (for an account: its directory URL).
    pub(crate) certificate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    /// Why, for people.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) detail: String,
    /// What is sent, with names for ids (resolved when applied); never printed: an upload's
    /// key is in it.
    #[serde(skip)]
    pub(crate) body: Value,
}

impl CertChange {
    fn new(action: CertAction, certificate: &str) -> CertChange {
        CertChange { action, certificate: certificate.to_string(), cluster: None, path: None, detail: String::new(), body: Value::Null }
    }

    /// `+`, `~` or `-`.
    pub(crate) fn sign(&self) -> char {
        match self.action {
            CertAction::Replace => '~',
            CertAction::Undeploy | CertAction::Delete => '-',
            _ => '+',
        }
    }

    /// One line for people.
    pub(crate) fn headline(&self) -> String {
        let name = &self.certificate;
        let place = || format!("{name} in cluster {} at {}", self.cluster.as_deref().unwrap_or("?"), self.path.as_deref().unwrap_or("?"));
        let detail = if self.detail.is_empty() { String::new() } else { format!(" ({})", self.detail) };
        match self.action {
            CertAction::Account => format!("acme account {name}"),
            CertAction::Upload => format!("certificate {name}{detail}"),
            CertAction::Placeholder => format!("certificate {name} (a self-signed placeholder until the ACME order fills it)"),
            CertAction::Replace => format!("certificate {name}{detail}"),
            CertAction::Deploy | CertAction::Undeploy => format!("certificate {}", place()),
            CertAction::Order => format!("acme order for certificate {name}{detail}"),
            CertAction::Delete => format!("certificate {name}"),
        }
    }
}

/// The server's certificates as the plan compares them.
#[derive(Debug, Default)]
pub(crate) struct Server {
    certificates: Vec<Value>,
    /// (certificate name, cluster name, path).
    deployments: Vec<(String, String, String)>,
    accounts: Vec<String>,
    orders: Vec<AcmeOrder>,
}

impl Server {
    fn certificate(&self, name: &str) -> Option<&Value> {
        self.certificates.iter().find(|c| c["name"] == name)
    }

    fn deployed(&self, name: &str, cluster: &str, path: &str) -> bool {
        self.deployments.iter().any(|(n, c, p)| n == name && c == cluster && p == path)
    }
}

/// Reads what the plan needs (nothing when the file declares no certificate and nothing is
/// pruned). `clusters` is `GET /clusters`.
pub(crate) fn read(api: &Api, site: &Loaded, known: &Known, clusters: &Value, prune: bool) -> Result<Server, ClientError> {
    if site.site.certificates.is_empty() && site.site.acme_accounts.is_empty() && !prune {
        return Ok(Server::default());
    }
    let mut server = Server { accounts: known.acme_accounts.clone(), ..Server::default() };
    server.certificates = list(&api.get("/certificates")?).into_iter().cloned().collect();
    let names: Vec<(i64, &str)> = list(clusters).iter().filter_map(|c| Some((c["id"].as_i64()?, c["name"].as_str()?))).collect();
    for certificate in &server.certificates {
        let status = api.get(&format!("/certificates/{}/status", certificate["id"]))?;
        for deployment in list(&status["deployments"]) {
            let cluster = names.iter().find(|(id, _)| Some(*id) == deployment["cluster_id"].as_i64()).map(|(_, n)| n.to_string());
            if let (Some(cluster), Some(path)) = (cluster, deployment["path"].as_str()) {
                server.deployments.push((certificate["name"].as_str().unwrap_or_default().to_string(), cluster, path.to_string()));
            }
        }
    }
    if site.site.certificates.iter().any(|c| c.acme.is_some()) {
        server.orders = api.get_as("/acme/orders")?;
    }
    Ok(server)
}

fn read_beside(site: &Loaded, relative: &str) -> Result<String, ClientError> {
    let path = site.beside(relative);
    std::fs::read_to_string(&path).map_err(|source| ClientError::Io { path: path.display().to_string(), source })
}

/// Accounts to register, certificates to upload, replace or stand in for: before any cluster.
pub(crate) fn plan_global(site: &Loaded, server: &Server) -> Result<Vec<CertChange>, ClientError> {
    let mut changes = Vec::new();
    for account in &site.site.acme_accounts {
        let url = account.directory_url.get_ref();
        if !server.accounts.iter().any(|a| a == url) {
            let ca_pem = account.ca_file.as_ref().map(|f| read_beside(site, f.get_ref())).transpose()?;
            let mut change = CertChange::new(CertAction::Account, url);
            change.body = json!({"directory_url": url, "contact": account.contact, "ca_pem": ca_pem, "eab_kid": account.eab_kid, "eab_hmac": account.eab_hmac});
            changes.push(change);
        }
    }
    for cert in &site.site.certificates {
        let name = cert.name();
        let existing = server.certificate(&name);
        match (&cert.file, cert.acme_names()) {
            (Some(file), _) => {
                let text = read_beside(site, file.get_ref())?;
                let key = cert.key.as_ref().map(|k| read_beside(site, k.get_ref())).transpose()?;
                let fingerprint = fleet_core::certs::leaf_fingerprint(&text).unwrap_or_default();
                let body = json!({"name": name, "certificate": text, "private_key": key});
                match existing.and_then(|c| c["fingerprint_sha256"].as_str()) {
                    None if existing.is_none() => {
                        let mut change = CertChange::new(CertAction::Upload, &name);
                        change.detail = format!("uploaded from {}", file.get_ref());
                        change.body = body;
                        changes.push(change);
                    }
                    Some(stored) if stored == fingerprint => {}
                    stored => {
                        let mut change = CertChange::new(CertAction::Replace, &name);
                        let short = |f: &str| f.chars().take(16).collect::<String>();
                        change.detail = format!("{} -> {} from {}", short(stored.unwrap_or("none")), short(&fingerprint), file.get_ref());
                        change.body = body;
                        changes.push(change);
                    }
                }
            }
            (None, Some(names)) if existing.is_none() => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
                let names: Vec<String> = fleet_core::certs::acme::normalized_names(names);
                let stand_in = fleet_core::certs::placeholder(&names, now).map_err(|e| ClientError::Failed(e.to_string()))?;
                let mut change = CertChange::new(CertAction::Placeholder, &name);
                change.body = json!({"name": name, "certificate": stand_in.chain_pem, "private_key": stand_in.key_pem});
                changes.push(change);
            }
            _ => {}
        }
    }
    Ok(changes)
}

/// The clusters a replacement in `changes` writes a new version into (they need a rollout).
pub(crate) fn replaced_in(server: &Server, changes: &[CertChange]) -> Vec<String> {
    let replaced: Vec<&str> = changes.iter().filter(|c| c.action == CertAction::Replace).map(|c| c.certificate.as_str()).collect();
    let mut clusters: Vec<String> = server.deployments.iter().filter(|(n, _, _)| replaced.contains(&n.as_str())).map(|(_, c, _)| c.clone()).collect();
    clusters.sort();
    clusters.dedup();
    clusters
}

fn in_cluster<'a>(site: &'a Loaded, cluster: &'a str) -> impl Iterator<Item = &'a CertificateSpec> + 'a {
    site.site.certificates.iter().filter(move |c| c.clusters.iter().any(|n| n.get_ref() == cluster))
}

/// The bundle paths the file's certificates take in `cluster` (present once deployed: the
/// offline check of its config counts them as there).
pub(crate) fn paths_in(site: &Loaded, cluster: &str) -> Vec<String> {
    in_cluster(site, cluster).map(CertificateSpec::path).collect()
}

/// Deploys into `cluster` and, with `prune`, undeploys what the file does not declare there.
pub(crate) fn plan_cluster(site: &Loaded, server: &Server, cluster: &str, prune: bool) -> Vec<CertChange> {
    let mut changes = Vec::new();
    for cert in in_cluster(site, cluster) {
        let (name, path) = (cert.name(), cert.path());
        if !server.deployed(&name, cluster, &path) {
            let mut change = CertChange::new(CertAction::Deploy, &name);
            (change.cluster, change.path) = (Some(cluster.to_string()), Some(path));
            changes.push(change);
        }
    }
    if prune {
        for (name, _, path) in server.deployments.iter().filter(|(_, c, _)| c == cluster) {
            if !in_cluster(site, cluster).any(|c| c.name() == *name && c.path() == *path) {
                let mut change = CertChange::new(CertAction::Undeploy, name);
                (change.cluster, change.path) = (Some(cluster.to_string()), Some(path.clone()));
                changes.push(change);
            }
        }
    }
    changes
}

/// ACME orders wanted: for a certificate without an order for exactly its names, or whose
/// last order failed.
pub(crate) fn plan_orders(site: &Loaded, known: &Known, server: &Server) -> Vec<CertChange> {
    let mut changes = Vec::new();
    for cert in &site.site.certificates {
        let Some(names) = cert.acme_names() else { continue };
        let name = cert.name();
        let detail = match server.certificate(&name).and_then(|c| c["id"].as_i64()) {
            None => "first order".to_string(),
            Some(id) => match order_needed(&server.orders, names, id, &name) {
                Some(why) => why,
                None => continue,
            },
        };
        let mut change = CertChange::new(CertAction::Order, &name);
        change.detail = format!("{}; {detail}", names.join(", "));
        change.path = Some(cert.path());
        change.body = json!({
            "names": names,
            "account": cert.account(site, known),
            "challenge": cert.challenge.as_ref().map_or("http-01", |c| c.get_ref().as_str()),
            "clusters": cert.clusters.iter().map(|c| c.get_ref()).collect::<Vec<_>>(),
            "frontends": cert.frontends,
            "path": cert.path(),
            "key_type": cert.key_type.as_ref().map(|k| k.get_ref()),
        });
        changes.push(change);
    }
    changes
}

/// With --prune: the certificates the file does not declare.
pub(crate) fn plan_prune(site: &Loaded, server: &Server) -> Vec<CertChange> {
    server
        .certificates
        .iter()
        .filter_map(|c| c["name"].as_str())
        .filter(|name| !site.site.certificates.iter().any(|c| c.name() == *name))
        .map(|name| CertChange::new(CertAction::Delete, name))
        .collect()
}

fn certificate_id(api: &Api, name: &str) -> Result<i64, ClientError> {
    list(&api.get("/certificates")?)
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["id"].as_i64())
        .ok_or_else(|| ClientError::Failed(format!("no certificate named {name:?} on the server")))
}

fn cluster_id(api: &Api, name: &str) -> Result<Value, ClientError> {
    Ok(api.get(&cluster_path(name, ""))?["id"].clone())
}

/// Makes one change; the server's answer.
pub(crate) fn execute(api: &Api, change: &CertChange) -> Result<Value, ClientError> {
    let name = &change.certificate;
    let placement = || -> Result<Value, ClientError> {
        Ok(json!({"cluster_id": cluster_id(api, change.cluster.as_deref().unwrap_or_default())?, "path": change.path}))
    };
    match change.action {
        CertAction::Account => api.post("/acme/accounts", &change.body),
        CertAction::Upload | CertAction::Placeholder => api.post("/certificates", &change.body),
        CertAction::Replace => api.json(reqwest::Method::PUT, &format!("/certificates/{}", certificate_id(api, name)?), crate::cli::client::http::Body::Json(&change.body)),
        CertAction::Deploy => api.post(&format!("/certificates/{}/deploy", certificate_id(api, name)?), &placement()?),
        CertAction::Undeploy => api.post(&format!("/certificates/{}/undeploy", certificate_id(api, name)?), &placement()?),
        CertAction::Delete => api.delete(&format!("/certificates/{}", certificate_id(api, name)?)),
        CertAction::Order => {
            let mut body = change.body.clone();
            let url = body["account"].as_str().unwrap_or_default().to_string();
            let account = list(&api.get("/acme/accounts")?).iter().find(|a| a["directory_url"] == url.as_str()).map(|a| a["id"].clone());
            body["account_id"] = account.ok_or_else(|| ClientError::Failed(format!("no ACME account for {url:?} on the server")))?;
            let clusters: Vec<String> = list(&body["clusters"]).iter().filter_map(|c| c.as_str().map(str::to_string)).collect();
            body["clusters"] = clusters.iter().map(|c| cluster_id(api, c)).collect::<Result<Vec<_>, _>>()?.into();
            body["certificate_id"] = json!(certificate_id(api, name)?);
            if let Some(object) = body.as_object_mut() {
                object.remove("account");
                object.retain(|_, v| !v.is_null());
            }
            api.post("/acme/certificates", &body)
        }
    }
}

/// The versions a change made, by cluster: a deploy's or undeploy's, a replacement's one per
/// cluster using it.
pub(crate) fn versions(api: &Api, change: &CertChange, result: &Value) -> Result<Vec<(String, i64)>, ClientError> {
    match change.action {
        CertAction::Deploy | CertAction::Undeploy => Ok(change.cluster.iter().zip(result["version"].as_i64()).map(|(c, v)| (c.clone(), v)).collect()),
        CertAction::Replace => {
            let clusters = api.get("/clusters")?;
            let mut made = Vec::new();
            for rollout in list(&result["rollouts"]) {
                let name = list(&clusters).iter().find(|c| c["id"] == rollout["cluster_id"]).and_then(|c| c["name"].as_str()).map(str::to_string);
                if let (Some(name), Some(version)) = (name, rollout["version"].as_i64()) {
                    made.push((name, version));
                }
            }
            Ok(made)
        }
        _ => Ok(Vec::new()),
    }
}

