//! A candidate configuration: the text a change would produce, and the gate every candidate
//! passes before it can become a version.
//!
//! ```text
//! text -> offline check --no errors--> version (warnings returned)
//!              \--errors--> haproxy -c configured? --no--> refused (422 with every diagnostic)
//!                                  \--yes--> accepted: version; the offline errors become warnings
//!                                            rejected: refused with HAProxy's diagnostics
//! ```
//!
//! The gate is never stricter than HAProxy (DESIGN.md): the offline check cannot know what
//! HAProxy sees where it runs (its environment for `.if defined(X)`, its build, its files), so
//! where a real `haproxy -c` is at hand its verdict decides. It is only run when the offline
//! check finds errors: a clean candidate needs no second opinion, and a server often lacks the
//! certificates and maps the nodes have, which HAProxy would then miss.
//!
//! A version is a bundle ([`crate::bundle`]): [`check_bundle`] checks its config files as the one
//! configuration HAProxy builds from them (`-f a.cfg -f b.cfg`) and the files they reference;
//! [`haproxy_check_bundle`] runs `haproxy -c` on the bundle written to a private temporary
//! folder, started there as a node starts it in the managed directory. Relative paths resolve
//! in that folder; absolute paths into the managed directory (`/etc/haproxy/certs/a.pem`) are
//! rewritten into it in the checked copies of config files and crt-lists
//! ([`crate::apply::release::text_for_check`], the agent's rule for its staged releases; line
//! numbers kept), so
//! both forms are checked against the bundle's own files. Absolute paths elsewhere
//! (`/etc/ssl/...`) are HAProxy's to find on the server, as they are on the nodes.

use std::path::Path;

use haproxy_model::Diagnostic;

use crate::bundle::{references, Bundle, FileKind};
use crate::error::{Error, Result};
use crate::haproxy_check::{CheckError, CheckedFile, HaproxyChecker, Scratch, Verdict};
use crate::model::ClusterSettings;
use crate::documents::Parsed;
use crate::ops::EditOp;

/// Runs the offline check on `text`: errors become [`Error::Invalid`] (with every diagnostic),
/// otherwise the warnings are returned.
pub fn check_text(text: &str) -> Result<Vec<Diagnostic>> {
    decide(haproxy_parse::check(text).diagnostics, None)
}

/// The whole gate: the offline check, then `haproxy -c` through `checker` when the offline
/// check finds errors. Blocks while HAProxy runs; async callers run it on a blocking thread.
pub fn gate(text: &str, checker: Option<&HaproxyChecker>) -> Result<Vec<Diagnostic>> {
    let offline = haproxy_parse::check(text).diagnostics;
    match checker {
        Some(checker) if offline.iter().any(Diagnostic::is_error) => decide(offline, Some(checker.check_text(text))),
        _ => decide(offline, None),
    }
}

/// The offline check of a bundle: its config files checked as one configuration
/// ([`haproxy_parse::check_files`]), its file references ([`references::check`]) and, as
/// warnings, its keepalived files ([`haproxy_parse::keepalived::check`]). Every diagnostic
/// names its bundle file.
pub fn check_bundle(bundle: &Bundle, settings: &ClusterSettings) -> Vec<Diagnostic> {
    let sources: Vec<haproxy_parse::SourceFile<'_>> = bundle
        .configs()
        .map(|c| haproxy_parse::SourceFile { name: c.path.as_str(), text: c.text().unwrap_or_default() })
        .collect();
    let mut found = haproxy_parse::check_files(&sources);
    found.extend(references::check(bundle, settings));
    // A node's keepalived.conf gets keepalived's offline check as warnings: the node's own
    // `keepalived -t` decides (the agent runs it before installing a file, and rejects the
    // version), and a file adopted from a node is taken whatever it holds. The warnings name
    // the line before any node is asked. Includes are the node's to resolve.
    for file in bundle.files().iter().filter(|f| f.kind == FileKind::Keepalived) {
        let text = String::from_utf8_lossy(&file.content);
        found.extend(haproxy_parse::keepalived::check(&text).diagnostics.into_iter().map(|mut d| {
            d.severity = haproxy_model::Severity::Warning;
            d.in_file(file.path.as_str())
        }));
    }
    // Config files in load order, then the files they load (crt-lists) by name.
    let order = |d: &Diagnostic| match d.file.as_deref() {
        Some(file) => sources.iter().position(|s| s.name == file).unwrap_or(sources.len()),
        None => 0,
    };
    found.sort_by(|a, b| (order(a), &a.file, a.position.line, a.position.column).cmp(&(order(b), &b.file, b.position.line, b.position.column)));
    found
}

/// The whole gate on a bundle: [`check_bundle`], then [`haproxy_check_bundle`] through
/// `checker` when the offline check finds errors. Blocks while HAProxy runs.
pub fn gate_bundle(bundle: &Bundle, settings: &ClusterSettings, checker: Option<&HaproxyChecker>) -> Result<Vec<Diagnostic>> {
    let offline = check_bundle(bundle, settings);
    match checker {
        Some(checker) if offline.iter().any(Diagnostic::is_error) => {
            decide(offline, Some(haproxy_check_bundle(bundle, settings, checker)))
        }
        _ => decide(offline, None),
    }
}

/// `haproxy -c` on `bundle` as a node loads it: every file written under a private temporary
/// folder (mode 0700) at its bundle path with its mode (plus owner read, so the check can read
/// a file a node's root would), config files with absolute paths into the managed directory
/// rewritten into the folder, HAProxy run from the folder with one `-f` per config file in
/// load order. Diagnostics name bundle paths, and messages the managed directory, never the
/// temporary folder.
pub fn haproxy_check_bundle(bundle: &Bundle, settings: &ClusterSettings, checker: &HaproxyChecker) -> Result<Verdict, CheckError> {
    let scratch = Scratch::new()?;
    let root = scratch.path.join("bundle");
    let root_text = root.display().to_string();
    let managed = settings.managed_dir();
    // HAProxy reads a crt-list while it parses the `bind` line naming it: absolute certificate
    // paths in it must lead into the folder too. A crt-list is known by its kind or its use.
    let lists: std::collections::BTreeSet<_> = references::implied_kinds(bundle, settings)
        .into_iter()
        .filter(|(_, kind)| *kind == FileKind::CrtList)
        .map(|(path, _)| path)
        .collect();
    let mut texts: Vec<(&str, String)> = Vec::new();
    for file in bundle.files() {
        let path = root.join(file.path.as_str());
        let relocated = match file.text() {
            Some(text) if file.kind == FileKind::Config => {
                let copy = crate::apply::release::text_for_check(text, managed, &root_text).unwrap_or_else(|| text.to_string());
                texts.push((file.path.as_str(), copy.clone()));
                Some(copy)
            }
            Some(text) if file.kind == FileKind::CrtList || lists.contains(&file.path) => {
                crate::apply::release::text_for_check(text, managed, &root_text)
            }
            _ => None,
        };
        write_private(&path, relocated.as_ref().map_or(&file.content[..], |t| t.as_bytes()), file.mode | 0o400)?;
    }
    let checked: Vec<CheckedFile<'_>> = texts.iter().map(|(name, text)| CheckedFile { name, text }).collect();
    let mut verdict = checker.check_files(&root, &checked)?;
    let shown = managed.trim_end_matches('/');
    for d in &mut verdict.diagnostics {
        d.message = d.message.replace(&root_text, shown);
    }
    for m in &mut verdict.general {
        m.message = m.message.replace(&root_text, shown);
    }
    verdict.output = verdict.output.replace(&root_text, shown);
    Ok(verdict)
}

/// Writes `content` to `path` with permission bits `mode`, creating its folders (mode 0700).
fn write_private(path: &Path, content: &[u8], mode: u32) -> Result<(), CheckError> {
    use std::io::Write as _;
    let io = |source| CheckError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(content).map_err(io)?;
    // The process umask may have cleared bits of `mode`: set them as asked.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).map_err(io)?;
    Ok(())
}

/// Where a diagnostic is, for a message: `line 4, column 5`, or `conf.d/b.cfg:4:5` when it
/// names its file.
fn place(d: &Diagnostic) -> String {
    match &d.file {
        Some(file) => format!("{file}:{}:{}", d.position.line, d.position.column),
        None => format!("line {}, column {}", d.position.line, d.position.column),
    }
}

/// The gate's decision on the offline check's findings and, when it ran, HAProxy's verdict:
/// the warnings to return with the new version, or why it is refused.
///
/// - no verdict: offline errors refuse the candidate;
/// - HAProxy could not run: the same, saying why HAProxy gave no verdict;
/// - HAProxy accepts: every offline error becomes a warning ([`Verdict::merge`]);
/// - HAProxy rejects: refused with HAProxy's diagnostics first, offline errors it confirms
///   (same line) kept as errors, the others as warnings.
pub fn decide(offline: Vec<Diagnostic>, haproxy: Option<Result<Verdict, CheckError>>) -> Result<Vec<Diagnostic>> {
    let verdict = match haproxy {
        Some(Ok(verdict)) => verdict,
        Some(Err(error)) => return refuse_offline(offline, &format!("; haproxy -c gave no verdict: {error}")),
        None => return refuse_offline(offline, ""),
    };
    let accepted = verdict.accepted;
    let general: Vec<String> = verdict.general.iter().map(|m| m.message.clone()).collect();
    let mut diagnostics = verdict.merge(offline);
    if accepted {
        return Ok(diagnostics);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut message = match verdict.diagnostics.iter().find(|d| d.is_error()) {
        Some(d) => format!(
            "haproxy -c rejected the configuration: first at {}: {}",
            place(d),
            d.message.strip_prefix("haproxy: ").unwrap_or(&d.message)
        ),
        None => "haproxy -c rejected the configuration".to_string(),
    };
    for line in &general {
        message.push_str("; ");
        message.push_str(line.strip_prefix("haproxy: ").unwrap_or(line));
    }
    if errors == 0 && general.is_empty() {
        message.push_str(&format!(" (exit status {})", verdict.status));
    }
    // Stable: errors first, each group in the (file, line) order the inputs come in.
    diagnostics.sort_by_key(|d| !d.is_error());
    Err(Error::Invalid { message, diagnostics })
}

/// Refuses on offline errors when there are any (`note` says why HAProxy did not decide).
fn refuse_offline(mut diagnostics: Vec<Diagnostic>, note: &str) -> Result<Vec<Diagnostic>> {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let Some(first) = diagnostics.iter().find(|d| d.is_error()) else { return Ok(diagnostics) };
    let message = format!(
        "configuration has {errors} error{}; first at {}: {}{note}",
        if errors == 1 { "" } else { "s" },
        place(first),
        first.message
    );
    diagnostics.sort_by_key(|d| !d.is_error());
    Err(Error::Invalid { message, diagnostics })
}

/// Applies `ops` to the configuration `base` and renders the result losslessly. Does not run
/// the offline check (intermediate states of a transaction may reference things added later).
pub fn apply_to_text(base: &str, ops: &[EditOp]) -> Result<String> {
    Ok(haproxy_render::lossless(&Parsed::parse(base).edited(ops)?))
}

#[cfg(test)]
mod tests {
    use haproxy_model::{Position, Severity};

    use super::*;

    /// A config the offline check refuses and HAProxy 2.6 accepts when it also loads
    /// [`API_FILE`] (as a node loading `-f haproxy.cfg -f conf.d/` does): line 9 names a backend
    /// the other file defines.
    pub(crate) const SPLIT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend www\n    bind 127.0.0.1:18080\n    default_backend api\n\nbackend app\n    balance roundrobin\n    server s1 127.0.0.1:8080\n";

    /// The other file, with its own defaults.
    pub(crate) const API_FILE: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nbackend api\n    server a1 127.0.0.1:8081\n";

    fn offline_error(line: u32) -> Vec<Diagnostic> {
        vec![Diagnostic::error(Position::new(line, 5), "offline says no"), Diagnostic::warning(Position::new(1, 1), "w")]
    }

    #[test]
    fn without_haproxy_offline_errors_refuse() {
        let Err(Error::Invalid { message, diagnostics }) = decide(offline_error(4), None) else { panic!() };
        assert_eq!(message, "configuration has 1 error; first at line 4, column 5: offline says no");
        assert!(diagnostics[0].is_error());
        assert_eq!(decide(vec![Diagnostic::warning(Position::new(1, 1), "w")], None).unwrap().len(), 1);
    }

    #[test]
    fn haproxy_accepting_turns_offline_errors_into_warnings() {
        let verdict = Verdict::read("", "haproxy.cfg", 0, "");
        let warnings = decide(offline_error(4), Some(Ok(verdict))).unwrap();
        assert!(warnings.iter().all(|d| d.severity == Severity::Warning), "{warnings:?}");
        assert!(warnings.iter().any(|d| d.message == "offline says no (haproxy -c accepts the configuration)"));
    }

    #[test]
    fn haproxy_rejecting_refuses_with_its_own_diagnostics_first() {
        let text = "a\nb\nc\n    bogus on\n";
        let output = "[ALERT]    (1) : config : parsing [haproxy.cfg:4] : unknown keyword 'bogus' in 'frontend' section\n";
        let verdict = Verdict::read(text, "haproxy.cfg", 1, output);
        let Err(Error::Invalid { message, diagnostics }) = decide(offline_error(2), Some(Ok(verdict))) else { panic!() };
        assert_eq!(message, "haproxy -c rejected the configuration: first at line 4, column 5: unknown keyword 'bogus' in 'frontend' section");
        assert_eq!((diagnostics[0].position, diagnostics[0].is_error()), (Position::new(4, 5), true));
        assert!(diagnostics.iter().filter(|d| d.is_error()).count() == 1, "the unconfirmed offline error is a warning: {diagnostics:?}");
    }

    #[test]
    fn haproxy_that_cannot_run_leaves_the_offline_verdict() {
        let error = CheckError::Killed { bin: "haproxy".into() };
        let Err(Error::Invalid { message, .. }) = decide(offline_error(4), Some(Err(error))) else { panic!() };
        assert!(message.ends_with("; haproxy -c gave no verdict: haproxy was killed by a signal"), "{message}");
    }

    fn bundle_of(files: Vec<(&str, crate::bundle::FileKind, Vec<u8>)>) -> Bundle {
        let files = files
            .into_iter()
            .map(|(path, kind, content)| {
                crate::bundle::BundleFile::new(crate::bundle::BundlePath::new(path).unwrap(), kind, content)
            })
            .collect();
        Bundle::new(files).unwrap()
    }

    #[test]
    fn real_haproxy_checks_a_bundle_where_it_is_materialised() {
        use crate::bundle::FileKind;
        let Some(bin) = crate::haproxy_check::test_haproxy() else { return };
        let Some(pem) = fleet_tests::self_signed_pem() else { return };
        let checker = HaproxyChecker::new(&bin);
        let settings = ClusterSettings::default();
        let main = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18443 ssl crt certs/x.pem\n    bind 127.0.0.1:18444 ssl crt /etc/haproxy/certs/x.pem\n    default_backend be\n";
        let be = "backend be\n    server s1 127.0.0.1:8080\n";
        let with_cert = bundle_of(vec![
            ("haproxy.cfg", FileKind::Config, main.as_bytes().to_vec()),
            ("conf.d/be.cfg", FileKind::Config, be.as_bytes().to_vec()),
            ("certs/x.pem", FileKind::Certificate, pem),
        ]);
        assert!(check_bundle(&with_cert, &settings).is_empty(), "{:?}", check_bundle(&with_cert, &settings));
        // Relative and absolute managed-dir paths both find the bundle's certificate.
        let verdict = haproxy_check_bundle(&with_cert, &settings, &checker).unwrap();
        assert!(verdict.accepted, "{}", verdict.output);
        // Without it, HAProxy and the offline check agree, at the bundle's own file and line.
        let without = bundle_of(vec![
            ("haproxy.cfg", FileKind::Config, main.as_bytes().to_vec()),
            ("conf.d/be.cfg", FileKind::Config, be.as_bytes().to_vec()),
        ]);
        let verdict = haproxy_check_bundle(&without, &settings, &checker).unwrap();
        assert!(!verdict.accepted);
        let first = verdict.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert_eq!((first.file.as_deref(), first.position.line), (Some("haproxy.cfg"), 8), "{verdict:?}");
        assert!(!verdict.output.contains("fleet-haproxy-check"), "the temporary folder is not shown: {}", verdict.output);
        let Err(Error::Invalid { message, diagnostics }) = gate_bundle(&without, &settings, Some(&checker)) else { panic!() };
        assert!(message.starts_with("haproxy -c rejected the configuration: first at haproxy.cfg:8:"), "{message}");
        assert!(diagnostics.iter().any(|d| d.is_error() && d.message.starts_with("crt: certs/x.pem is not in the bundle")), "{diagnostics:?}");
    }

    #[test]
    fn real_haproxy_decides_on_a_config_split_across_files() {
        let Some(bin) = crate::haproxy_check::test_haproxy() else { return };
        assert!(haproxy_parse::check(SPLIT).diagnostics.iter().any(Diagnostic::is_error), "the offline check flags line 9");
        let api = std::env::temp_dir().join(format!("fleet-candidate-api-{}.cfg", std::process::id()));
        std::fs::write(&api, API_FILE).unwrap();
        let checker = HaproxyChecker::new(&bin).with_args(["-f".to_string(), api.display().to_string()]);
        let warnings = gate(SPLIT, Some(&checker)).unwrap();
        assert!(warnings.iter().all(|d| !d.is_error()), "{warnings:?}");
        // Both refuse: an unknown keyword.
        let bad = SPLIT.replace("    balance roundrobin\n", "    balance roundrobin\n    frobnicate on\n");
        let Err(Error::Invalid { message, diagnostics }) = gate(&bad, Some(&checker)) else { panic!() };
        assert!(message.starts_with("haproxy -c rejected the configuration: first at line 13, column 5"), "{message}");
        assert_eq!(diagnostics[0].position, Position::new(13, 5));
        // Without the other file HAProxy refuses too: its verdict decides either way.
        assert!(gate(SPLIT, Some(&HaproxyChecker::new(&bin))).is_err());
        let _ = std::fs::remove_file(&api);
    }

    #[test]
    fn keepalived_files_get_keepalived_s_offline_check_as_warnings_at_their_lines() {
        use crate::bundle::FileKind;
        let config = b"defaults\n    mode http\n".to_vec();
        let good = b"vrrp_instance web {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        198.18.0.50/24\n    }\n}\n".to_vec();
        let clean = bundle_of(vec![("haproxy.cfg", FileKind::Config, config.clone()), ("keepalived/lb1.conf", FileKind::Keepalived, good)]);
        assert!(!check_bundle(&clean, &ClusterSettings::default()).iter().any(Diagnostic::is_error));
        let broken = b"vrrp_instance web {\n    interface eth0\n".to_vec();
        let bad = bundle_of(vec![("haproxy.cfg", FileKind::Config, config), ("keepalived/lb1.conf", FileKind::Keepalived, broken)]);
        let found = check_bundle(&bad, &ClusterSettings::default());
        assert!(!found.iter().any(Diagnostic::is_error), "the node's keepalived -t decides: {found:?}");
        let warning = found.iter().find(|d| d.message.contains("never closed")).expect("an unclosed block is named");
        assert_eq!((warning.file.as_deref(), warning.position.line), (Some("keepalived/lb1.conf"), 1), "{found:?}");
    }
}
