//! The site file (`fleet.toml`): what pools and clusters a fleet has, each cluster's settings
//! and config folder, and the agents it should have. TOML, because it is the format Rust tools
//! already keep in Git (Cargo.toml), has comments, no implicit typing (YAML's `no` -> false) and
//! its parser gives the span of every error, so a bad key is reported at `file:line:col`.
//!
//! ```toml
//! [[pool]]
//! name = "edge"
//!
//! [[cluster]]
//! name = "web"
//! pool = "edge"                                 # a pool of this file or of the server
//! config = "web"                                # the bundle folder, next to this file (default: the name)
//! config_path = "/etc/haproxy/haproxy.cfg"      # optional settings; absent: left as they are
//! reload_mode = "process"
//! agents = ["lb1", "lb2"]                       # an enrolment is made for each one missing
//! ```
//!
//! Certificates (`[[certificate]]`, `[[acme_account]]`), VIPs (`[[cluster.vip]]`) and DNS
//! failover (`[pool.failover]`) are read and checked by their own modules ([`super::certs`],
//! [`super::vips`], [`super::failover`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub(crate) use super::certs::{AcmeAccountSpec, CertificateSpec};
pub(crate) use super::failover::FailoverSpec;
pub(crate) use super::vips::VipSpec;

/// What the server already has that a site file may name: pools, clusters and their agents
/// (enrolled or pending), ACME accounts (directory URLs), DNS providers (name, id).
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    pub(crate) pools: Vec<String>,
    pub(crate) clusters: Vec<String>,
    pub(crate) agents: Vec<(String, String)>,
    pub(crate) acme_accounts: Vec<String>,
    pub(crate) dns_providers: Vec<(String, i64)>,
}

/// A site file, read and checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Site {
    /// Pools.
    #[serde(default, rename = "pool")]
    pub(crate) pools: Vec<PoolSpec>,
    /// Clusters.
    #[serde(default, rename = "cluster")]
    pub(crate) clusters: Vec<ClusterSpec>,
    /// ACME accounts certificates are ordered with.
    #[serde(default, rename = "acme_account")]
    pub(crate) acme_accounts: Vec<AcmeAccountSpec>,
    /// Certificates: uploaded from files, or ordered from an ACME CA.
    #[serde(default, rename = "certificate")]
    pub(crate) certificates: Vec<CertificateSpec>,
}

/// `[[pool]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolSpec {
    pub(crate) name: Spanned<String>,
    /// Used when the pool is created.
    #[serde(default)]
    pub(crate) description: String,
    /// The pool's DNS failover (`[pool.failover]`).
    #[serde(default)]
    pub(crate) failover: Option<Spanned<FailoverSpec>>,
}

/// `[[cluster]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterSpec {
    pub(crate) name: Spanned<String>,
    pub(crate) pool: Spanned<String>,
    /// The bundle folder, relative to the site file (default: the cluster's name).
    #[serde(default)]
    pub(crate) config: Option<Spanned<String>>,
    pub(crate) config_path: Option<String>,
    pub(crate) reload_mode: Option<Spanned<String>>,
    /// Agent names the cluster should have (enrolled, or with an enrolment pending).
    #[serde(default)]
    pub(crate) agents: Vec<Spanned<String>>,
    /// VRRP groups (`[[cluster.vip]]`).
    #[serde(default, rename = "vip")]
    pub(crate) vips: Vec<Spanned<VipSpec>>,
}

/// A site file with where it is.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) site: Site,
}

/// A problem in a site file, at `path:line:col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SiteError(pub(crate) String);

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Loaded {
    /// `path:line:col: error: message` for the byte range `span` of the file.
    pub(crate) fn error_at(&self, span: Range<usize>, message: &str) -> SiteError {
        let (line, col) = line_col(&self.text, span.start);
        SiteError(format!("{}:{line}:{col}: error: {message}", self.path.display()))
    }

    /// A path the site file names, relative to its folder.
    pub(crate) fn beside(&self, relative: &str) -> PathBuf {
        self.path.parent().unwrap_or(Path::new(".")).join(relative)
    }

    /// The folder of cluster `spec`'s bundle.
    pub(crate) fn config_dir(&self, spec: &ClusterSpec) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        match &spec.config {
            Some(dir) => base.join(dir.get_ref()),
            None => base.join(spec.name.get_ref()),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Reads and checks a site file: its syntax and keys (TOML), duplicate names, each cluster's
/// pool (declared in the file, or on the server: `known`), its reload mode and its config
/// folder; then the certificates, VIPs and failovers (their modules' `check`).
#[cfg(test)]
pub(crate) fn load(path: &Path, known: &Known) -> Result<Loaded, Vec<SiteError>> {
    let loaded = read(path)?;
    check(&loaded, known)?;
    Ok(loaded)
}

/// Reads a site file: its syntax and keys (TOML).
pub(crate) fn read(path: &Path) -> Result<Loaded, Vec<SiteError>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![SiteError(format!("{}: {e}", path.display()))])?;
    let empty = Site { pools: Vec::new(), clusters: Vec::new(), acme_accounts: Vec::new(), certificates: Vec::new() };
    let shell = Loaded { path: path.to_path_buf(), text: text.clone(), site: empty };
    let site: Site = toml::from_str(&text).map_err(|e| {
        let message = e.message().trim_end().to_string();
        vec![match e.span() {
            Some(span) => shell.error_at(span, &message),
            None => SiteError(format!("{}: error: {message}", path.display())),
        }]
    })?;
    Ok(Loaded { site, ..shell })
}

/// Checks a site file read by [`read`] against itself and what the server has (`known`).
pub(crate) fn check(loaded: &Loaded, known: &Known) -> Result<(), Vec<SiteError>> {
    let mut errors = Vec::new();
    for names in [loaded.site.pools.iter().map(|p| &p.name).collect::<Vec<_>>(), loaded.site.clusters.iter().map(|c| &c.name).collect()] {
        for (i, name) in names.iter().enumerate() {
            if names[..i].iter().any(|earlier| earlier.get_ref() == name.get_ref()) {
                errors.push(loaded.error_at(name.span(), &format!("{:?} is declared twice", name.get_ref())));
            }
        }
    }
    for cluster in &loaded.site.clusters {
        let pool = cluster.pool.get_ref();
        if !loaded.site.pools.iter().any(|p| p.name.get_ref() == pool) && !known.pools.iter().any(|p| p == pool) {
            errors.push(loaded.error_at(cluster.pool.span(), &format!("no pool named {pool:?} in this file or on the server")));
        }
        if let Some(mode) = &cluster.reload_mode {
            if !matches!(mode.get_ref().as_str(), "process" | "systemd") {
                errors.push(loaded.error_at(mode.span(), &format!("reload_mode {:?}: use \"process\" or \"systemd\"", mode.get_ref())));
            }
        }
        let dir = loaded.config_dir(cluster);
        if !dir.is_dir() {
            let span = cluster.config.as_ref().map(Spanned::span).unwrap_or_else(|| cluster.name.span());
            errors.push(loaded.error_at(span, &format!("no config folder {}", dir.display())));
        }
    }
    super::certs::check(loaded, known, &mut errors);
    super::vips::check(loaded, known, &mut errors);
    super::failover::check(loaded, known, &mut errors);
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(dir.join("web")).unwrap();
        let path = dir.join("fleet.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn bad_keys_and_references_name_their_place() {
        let dir = std::env::temp_dir().join(format!("fleet-site-file-{}", std::process::id()));
        let path = write(&dir, "[[pool]]\nname = \"edge\"\n\n[[cluster]]\nname = \"web\"\npool = \"edge\"\nreload = \"x\"\n");
        let errors = load(&path, &Known::default()).unwrap_err();
        assert!(errors[0].0.starts_with(&format!("{}:7:1: error: unknown field `reload`", path.display())), "{errors:?}");

        let path = write(&dir, "[[cluster]]\nname = \"web\"\npool = \"nowhere\"\nreload_mode = \"cron\"\n[[cluster]]\nname = \"api\"\npool = \"edge\"\n");
        let errors: Vec<String> = load(&path, &Known { pools: vec!["edge".into()], ..Known::default() }).unwrap_err().into_iter().map(|e| e.0).collect();
        assert!(errors[0].contains(":3:8: error: no pool named \"nowhere\""), "{errors:?}");
        assert!(errors[1].contains(":4:15: error: reload_mode \"cron\""), "{errors:?}");
        assert!(errors[2].contains(":6:8: error: no config folder"), "{errors:?}");

        let path = write(&dir, "[[pool]]\nname = \"edge\"\n[[cluster]]\nname = \"web\"\npool = \"edge\"\nagents = [\"lb1\"]\n");
        let site = load(&path, &Known::default()).unwrap().site;
        assert_eq!(site.clusters[0].agents[0].get_ref(), "lb1");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
