//! The files a bundle's configuration references, resolved to bundle paths as HAProxy resolves
//! them on a node, and checked against what the bundle holds and what the nodes provide.
//!
//! ```text
//! config files (load order) -> haproxy_parse::file_references (keyword, path, default-path)
//!   -> absolute path on the node (HAProxy starts in the managed directory; `default-path
//!      config|parent|origin` move that; `crt-base`/`ca-base` already applied)
//!   -> inside the managed directory: a bundle path (must be in the bundle)
//!      outside: must be listed in `settings.external`
//!   + a crt-list in the bundle: the certificates its lines name
//!     (haproxy_parse::crt_list_references), resolved from the config file naming the list
//! ```
//!
//! Why here and not in the parser: which files exist is a fact of the bundle and the cluster
//! (its managed directory, its `external` list), not of HAProxy's grammar. The parser says
//! which words are paths; this module says whether they name something the node will have.
//!
//! Zero false alarms (DESIGN.md): references HAProxy starts without (`server-state-file`,
//! `h1-case-adjust-file`), lines inside `.if` blocks and words only known at run time (`$VAR`)
//! are never judged; a `crt` naming a directory is satisfied by any bundle file under it, and a
//! certificate `x.pem` by `x.pem.rsa`, `x.pem.ecdsa` or `x.pem.dsa` (HAProxy 2.6 loads such a
//! multi-cert bundle when `x.pem` itself is missing, `ssl-load-extra-files` allowing).

use std::collections::BTreeMap;

use haproxy_model::{Diagnostic, Position, Severity};
use haproxy_parse::{FileReference, PathBase, ReferenceKind, SourceFile};

use super::{Bundle, BundlePath, FileKind};
use crate::model::ClusterSettings;

/// Where a reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path inside the managed directory.
    Bundle(BundlePath),
    /// An absolute path outside the managed directory.
    Outside(String),
}

/// One reference of a config file (or of a crt-list it loads), resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The config file that names it, or that loads the crt-list naming it: relative paths
    /// resolve from there. Where it is written is `reference.file`.
    pub config: BundlePath,
    /// What the parser found (keyword, position, path as HAProxy opens it ...).
    pub reference: FileReference,
    /// Where it leads on a node.
    pub target: Target,
}

/// Every file reference of `bundle`'s config files, resolved against `settings`' managed
/// directory, in load order; each crt-list the bundle holds is followed by the certificates
/// it names.
pub fn resolve(bundle: &Bundle, settings: &ClusterSettings) -> Vec<Resolved> {
    let managed = settings.managed_dir();
    let configs: Vec<_> = bundle.configs().collect();
    let sources: Vec<SourceFile<'_>> = configs
        .iter()
        .map(|c| SourceFile { name: c.path.as_str(), text: c.text().unwrap_or_default() })
        .collect();
    let mut out = Vec::new();
    for reference in haproxy_parse::file_references(&sources) {
        let Some(config) = configs.iter().find(|c| c.path.as_str() == reference.file).map(|c| c.path.clone()) else {
            continue;
        };
        let Some(resolved) = resolved(reference, config, managed) else { continue };
        let list = match &resolved.target {
            Target::Bundle(path) if resolved.reference.kind == ReferenceKind::CrtList => bundle.file(path).and_then(|f| f.text().map(|t| (path, t))),
            _ => None,
        };
        let entries = list
            .map(|(path, text)| haproxy_parse::crt_list_references(&resolved.reference, path.as_str(), text))
            .unwrap_or_default();
        let config = resolved.config.clone();
        out.push(resolved);
        out.extend(entries.into_iter().filter_map(|entry| self::resolved(entry, config.clone(), managed)));
    }
    out
}

/// `reference` of (or loaded by) `config`, resolved; `None` for the managed directory itself.
fn resolved(reference: FileReference, config: BundlePath, managed: &str) -> Option<Resolved> {
    let absolute = absolute(&reference, &config, managed);
    let target = match BundlePath::resolve(&absolute, managed, "") {
        Some(path) => Target::Bundle(path),
        None if inside(&absolute, managed) => return None,
        None => Target::Outside(absolute),
    };
    Some(Resolved { config, reference, target })
}

/// Errors for the references of `bundle` that name a file neither in the bundle nor listed in
/// `settings.external`, at the `file:line:col` of the path in its config file.
pub fn check(bundle: &Bundle, settings: &ClusterSettings) -> Vec<Diagnostic> {
    let managed = settings.managed_dir();
    let external: Vec<String> = settings.external.iter().map(|e| normalise(&join(managed, e))).collect();
    let mut out = Vec::new();
    for resolved in resolve(bundle, settings) {
        let r = &resolved.reference;
        if !r.required || r.conditional {
            continue;
        }
        let absolute = match &resolved.target {
            Target::Bundle(path) => format!("{}/{path}", managed.trim_end_matches('/')),
            Target::Outside(path) => path.clone(),
        };
        if external.iter().any(|e| absolute == *e || absolute.starts_with(&format!("{}/", e.trim_end_matches('/')))) {
            continue;
        }
        let message = match &resolved.target {
            Target::Bundle(path) if held(bundle, path, r.directory, r.kind == ReferenceKind::Certificate) => continue,
            Target::Bundle(path) => format!(
                "{}: {path} is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                r.keyword
            ),
            Target::Outside(path) => format!(
                "{}: {path} is outside the managed directory {managed} and not listed in the cluster's external files",
                r.keyword
            ),
        };
        let position = Position::new(r.position.line, r.position.column);
        out.push(Diagnostic { severity: Severity::Error, position, message, file: None }.in_file(&r.file));
    }
    out
}

/// The kind each referenced bundle file has by the way it is used (`crt` -> certificate,
/// `map_str()` -> map, `-f` -> ACL ...), for files an import could only guess from their name.
/// A file used in two ways keeps the first use in load order.
pub fn implied_kinds(bundle: &Bundle, settings: &ClusterSettings) -> BTreeMap<BundlePath, FileKind> {
    let mut kinds = BTreeMap::new();
    for resolved in resolve(bundle, settings) {
        let Target::Bundle(path) = resolved.target else { continue };
        let kind = match resolved.reference.kind {
            ReferenceKind::Certificate => FileKind::Certificate,
            ReferenceKind::CrtList => FileKind::CrtList,
            ReferenceKind::Map => FileKind::Map,
            ReferenceKind::Acl => FileKind::Acl,
            ReferenceKind::Errorfile => FileKind::Errorfile,
            ReferenceKind::Lua => FileKind::Lua,
            _ => continue,
        };
        kinds.entry(path).or_insert(kind);
    }
    kinds
}

/// `bundle` with every non-config file that a reference uses given the kind that use implies
/// ([`implied_kinds`]); config files and unreferenced files keep theirs.
pub fn with_implied_kinds(bundle: Bundle, settings: &ClusterSettings) -> Bundle {
    let kinds = implied_kinds(&bundle, settings);
    if kinds.is_empty() {
        return bundle;
    }
    let mut files = bundle.clone().into_files();
    for file in files.iter_mut().filter(|f| f.kind != FileKind::Config) {
        if let Some(&kind) = kinds.get(&file.path) {
            file.kind = kind;
        }
    }
    // Only kinds changed: paths, configs and sizes are as before, so this cannot fail.
    Bundle::new(files).unwrap_or(bundle)
}

/// True when `path` names a bundle file, or (for a directory reference) a folder holding one,
/// or (for a certificate) one of the multi-cert bundle files HAProxy tries in its place.
fn held(bundle: &Bundle, path: &BundlePath, directory: bool, certificate: bool) -> bool {
    if bundle.file(path).is_some() {
        return true;
    }
    // `SSL_SOCK_KEYTYPE_NAMES` in HAProxy 2.6's ssl_sock.c.
    let suffixed = |suffix: &str| bundle.files().iter().any(|f| f.path.as_str().strip_prefix(path.as_str()) == Some(suffix));
    if certificate && [".dsa", ".ecdsa", ".rsa"].into_iter().any(suffixed) {
        return true;
    }
    let prefix = format!("{path}/");
    directory && bundle.files().iter().any(|f| f.path.as_str().starts_with(&prefix))
}

/// The absolute path HAProxy opens for `reference` on a node that starts HAProxy in `managed`.
fn absolute(reference: &FileReference, config: &BundlePath, managed: &str) -> String {
    let config_dir = || match config.as_str().rsplit_once('/') {
        Some((dir, _)) => join(managed, dir),
        None => managed.to_string(),
    };
    let base = match &reference.base {
        PathBase::Absolute => return normalise(&reference.path),
        PathBase::Current => managed.to_string(),
        PathBase::Config => config_dir(),
        PathBase::Parent => join(&config_dir(), ".."),
        PathBase::Origin(origin) => join(managed, origin),
        _ => managed.to_string(),
    };
    normalise(&join(&base, &reference.path))
}

/// `path` when absolute, else `path` under `dir`.
fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", dir.trim_end_matches('/'))
    }
}

/// `path` without `.`, `..` and doubled slashes, resolved lexically (symlinks are not followed:
/// the bundle has none).
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// True when `path` is the managed directory itself.
fn inside(path: &str, managed: &str) -> bool {
    normalise(path) == normalise(managed)
}

#[cfg(test)]
mod tests {
    use super::super::BundleFile;
    use super::*;

    fn bundle(files: &[(&str, FileKind, &str)]) -> Bundle {
        let files = files
            .iter()
            .map(|&(path, kind, content)| {
                BundleFile::new(BundlePath::new(path).unwrap_or_else(|e| unreachable!("{e}")), kind, content.as_bytes().to_vec())
            })
            .collect();
        Bundle::new(files).unwrap_or_else(|e| unreachable!("{e}"))
    }

    const CONFIG: &str = "global\n    crt-base /etc/haproxy/certs\n\nfrontend fe\n    bind :443 ssl crt site.pem\n    errorfile 503 errors/503.http\n    http-request set-var(txn.b) req.hdr(host),map_str(/etc/haproxy/maps/hosts.map)\n    acl bad src -f acl/bad.lst\n    default_backend be\n";

    fn shown(found: &[Diagnostic]) -> Vec<String> {
        found.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn missing_files_are_errors_at_their_place() {
        let b = bundle(&[("haproxy.cfg", FileKind::Config, CONFIG), ("conf.d/be.cfg", FileKind::Config, "backend be\n    server s 127.0.0.1:80 ssl ca-file /etc/ssl/ca.pem\n")]);
        assert_eq!(
            shown(&check(&b, &ClusterSettings::default())),
            [
                "haproxy.cfg:5:23: error: crt: certs/site.pem is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                "haproxy.cfg:6:19: error: errorfile: errors/503.http is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                "haproxy.cfg:7:55: error: map_str: maps/hosts.map is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                "haproxy.cfg:8:20: error: -f: acl/bad.lst is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                "conf.d/be.cfg:2:39: error: ca-file: /etc/ssl/ca.pem is outside the managed directory /etc/haproxy and not listed in the cluster's external files",
            ]
        );
    }

    #[test]
    fn files_in_the_bundle_or_external_satisfy_references() {
        let b = bundle(&[
            ("haproxy.cfg", FileKind::Config, CONFIG),
            ("conf.d/be.cfg", FileKind::Config, "backend be\n    server s 127.0.0.1:80 ssl ca-file /etc/ssl/ca.pem\n"),
            ("certs/site.pem", FileKind::Other, "pem"),
            ("errors/503.http", FileKind::Other, "HTTP/1.0 503\r\n\r\n"),
            ("maps/hosts.map", FileKind::Other, "a b\n"),
        ]);
        let settings = ClusterSettings { external: vec!["/etc/ssl".into(), "acl/bad.lst".into()], ..ClusterSettings::default() };
        assert_eq!(shown(&check(&b, &settings)), Vec::<String>::new());
        let kinds = implied_kinds(&b, &settings);
        let p = |s: &str| BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(kinds.get(&p("certs/site.pem")), Some(&FileKind::Certificate));
        assert_eq!(kinds.get(&p("maps/hosts.map")), Some(&FileKind::Map));
        let refined = with_implied_kinds(b, &settings);
        assert_eq!(refined.file(&p("errors/503.http")).map(|f| f.kind), Some(FileKind::Errorfile));
    }

    #[test]
    fn certificates_listed_in_a_crt_list_are_checked_where_listed() {
        let config = "global\n    crt-base /etc/haproxy/certs\nfrontend fe\n    bind :443 ssl crt-list lists/sites.txt\n";
        let list = "a.pem !*\n# b.pem\n  b.pem [alpn h2] b.example.com\n/etc/ssl/c.pem\nmulti.pem\n";
        let b = bundle(&[
            ("haproxy.cfg", FileKind::Config, config),
            ("lists/sites.txt", FileKind::Other, list),
            ("certs/a.pem", FileKind::Other, "pem"),
            ("certs/multi.pem.ecdsa", FileKind::Other, "pem"),
        ]);
        assert_eq!(
            shown(&check(&b, &ClusterSettings::default())),
            [
                "lists/sites.txt:3:3: error: crt-list entry: certs/b.pem is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)",
                "lists/sites.txt:4:1: error: crt-list entry: /etc/ssl/c.pem is outside the managed directory /etc/haproxy and not listed in the cluster's external files",
            ]
        );
        let settings = ClusterSettings { external: vec!["certs/b.pem".into(), "/etc/ssl".into()], ..ClusterSettings::default() };
        assert_eq!(shown(&check(&b, &settings)), Vec::<String>::new());
        let refined = with_implied_kinds(b, &settings);
        let kind = |s: &str| refined.file(&BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))).map(|f| f.kind);
        assert_eq!((kind("lists/sites.txt"), kind("certs/a.pem")), (Some(FileKind::CrtList), Some(FileKind::Certificate)));
        // A crt-list the nodes provide is not read: nothing to judge inside it.
        let without = bundle(&[("haproxy.cfg", FileKind::Config, config)]);
        let external = ClusterSettings { external: vec!["lists".into()], ..ClusterSettings::default() };
        assert_eq!(shown(&check(&without, &external)), Vec::<String>::new());
    }

    #[test]
    fn directories_default_path_and_conditions() {
        let text = "global\n    default-path config\n    server-state-file /var/lib/haproxy/state\nfrontend fe\n    bind :443 ssl crt certs/\n.if defined(X)\n    errorfile 503 gone.http\n.endif\n";
        let b = bundle(&[("sites/web.cfg", FileKind::Config, text), ("sites/certs/a.pem", FileKind::Certificate, "pem")]);
        assert!(check(&b, &ClusterSettings::default()).is_empty(), "{:?}", check(&b, &ClusterSettings::default()));
        let moved = bundle(&[("sites/web.cfg", FileKind::Config, text), ("certs/a.pem", FileKind::Certificate, "pem")]);
        assert_eq!(check(&moved, &ClusterSettings::default()).len(), 1, "default-path config: certs/ is sites/certs/");
    }
}
