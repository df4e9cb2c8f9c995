//! Runtime-first apply: which changes between the running bundle and the new one HAProxy can
//! take through its runtime API, without a reload, and the commands that do it
//! (management.txt §9.3 of HAProxy 2.6).
//!
//! ```text
//! running bundle, new bundle --plan--> None (reload) | RuntimePlan [changes]
//!   map file       -> prepare map #id / add map @ver #id <<payload / commit map @ver #id
//!   ACL file       -> prepare acl #id / add acl @ver #id <pattern> ... / commit acl @ver #id
//!   certificate    -> set ssl cert <name> <<PEM / commit ssl cert <name>  (verified by SHA-1)
//!   server weight  -> set weight <backend>/<server> <n>
//!   server state   -> set server <backend>/<server> state maint|ready   (`disabled` keyword)
//!   server added   -> add server <backend>/<server> <args> / enable health / state ready
//!   server removed -> set server <backend>/<server> state maint / del server <backend>/<server>
//! ```
//!
//! Why it matters: on HAProxy 2.6 a reload of a large configuration takes seconds before the new
//! one serves and holds old and new workers in memory together, while runtime commands are
//! visible on the next request. The plan is conservative: any other difference (a path added,
//! a mode, any other config line, a pattern the CLI cannot carry) means a reload, and the agent
//! falls back to a reload whenever a runtime step fails. The files are written either way, so a
//! later reload loads what the runtime already serves.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use crate::runtime::{RuntimeRequest, ServerAction};

/// One change HAProxy takes at runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeChange {
    /// A map file's entries replaced (`prepare map` ... `commit map`).
    Map {
        /// The file.
        path: BundlePath,
        /// Its new entries, `key value` per line ([`pattern_lines`]).
        entries: Vec<String>,
    },
    /// An ACL pattern file's patterns replaced (`prepare acl` ... `commit acl`).
    Acl {
        /// The file.
        path: BundlePath,
        /// Its new patterns.
        patterns: Vec<String>,
    },
    /// A certificate's contents at an existing path (`set ssl cert` + `commit ssl cert`).
    Certificate {
        /// The file.
        path: BundlePath,
        /// The new PEM, blank lines removed (a blank line ends a CLI payload).
        pem: String,
        /// SHA-1 fingerprint of its first certificate, as `show ssl cert` prints it.
        fingerprint: Option<String>,
    },
    /// A server's weight or administrative state (`set weight`, `set server ... state`).
    Server(RuntimeRequest),
    /// A `server` line added to a backend: a dynamic server (management.txt `add server`).
    AddServer(DynamicServer),
    /// A `server` line removed from a backend (management.txt `del server`: put in maintenance
    /// first; HAProxy refuses while it has connections, and the agent then reloads).
    DelServer {
        /// The backend.
        backend: String,
        /// The server.
        server: String,
    },
}

/// A server HAProxy 2.6 can create at runtime as the configuration declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicServer {
    /// The backend (or `listen` section).
    pub backend: String,
    /// The server's name.
    pub server: String,
    /// The words after the name: address, then keywords from `add server`'s list.
    pub args: Vec<String>,
}

impl DynamicServer {
    /// The commands that create it and bring it to the state a reload would give it: created
    /// in maintenance (as `add server` makes every server), health checks enabled when it has
    /// `check` (they start disabled), then ready unless the line says `disabled`.
    pub fn commands(&self) -> Vec<String> {
        let name = format!("{}/{}", self.backend, self.server);
        let mut commands = vec![format!("add server {name} {}", self.args.join(" "))];
        if self.args.iter().any(|a| a == "check") {
            commands.push(format!("enable health {name}"));
        }
        if !self.args.iter().any(|a| a == "disabled") {
            commands.push(format!("set server {name} state ready"));
        }
        commands
    }
}

/// The keywords `add server` takes in HAProxy 2.6 (management.txt "add server") that need no
/// more care here, with whether each takes a value. Left out, so a reload: `track` (the tracked
/// server must not be dynamic), `agent-*` (an agent may bring the server up on its own), and
/// `source`/`usesrc` (variable argument shapes).
const DYNAMIC_KEYWORDS: &[(&str, bool)] = &[
    ("allow-0rtt", false), ("alpn", true), ("addr", true), ("backup", false), ("ca-file", true), ("check", false),
    ("check-alpn", true), ("check-proto", true), ("check-send-proxy", false), ("check-sni", true), ("check-ssl", false),
    ("check-via-socks4", false), ("ciphers", true), ("ciphersuites", true), ("crl-file", true), ("crt", true),
    ("disabled", false), ("downinter", true), ("enabled", false), ("error-limit", true), ("fall", true),
    ("fastinter", true), ("force-sslv3", false), ("force-tlsv10", false), ("force-tlsv11", false), ("force-tlsv12", false),
    ("force-tlsv13", false), ("id", true), ("inter", true), ("maxconn", true), ("maxqueue", true), ("minconn", true),
    ("no-ssl-reuse", false), ("no-sslv3", false), ("no-tlsv10", false), ("no-tlsv11", false), ("no-tlsv12", false),
    ("no-tlsv13", false), ("no-tls-tickets", false), ("npn", true), ("observe", true), ("on-error", true),
    ("on-marked-down", true), ("on-marked-up", true), ("pool-low-conn", true), ("pool-max-conn", true),
    ("pool-purge-delay", true), ("port", true), ("proto", true), ("proxy-v2-options", true), ("rise", true),
    ("send-proxy", false), ("send-proxy-v2", false), ("send-proxy-v2-ssl", false), ("send-proxy-v2-ssl-cn", false),
    ("slowstart", true), ("sni", true), ("ssl", false), ("ssl-max-ver", true), ("ssl-min-ver", true), ("tfo", false),
    ("tls-tickets", false), ("verify", true), ("verifyhost", true), ("weight", true), ("ws", true),
];

/// `line` as a server HAProxy can add at runtime in `backend`, or `None`.
fn dynamic_server(backend: &str, line: &str) -> Option<DynamicServer> {
    if line.contains(['"', '\'', '\\']) {
        return None;
    }
    let words = words(line);
    let (&"server", Some(&name), Some(&address)) = (words.first()?, words.get(1), words.get(2)) else { return None };
    let mut args = vec![address.to_string()];
    let mut rest = words[3..].iter();
    while let Some(&word) = rest.next() {
        if let Some((_, false)) = word.strip_prefix("no-").and_then(|flag| DYNAMIC_KEYWORDS.iter().find(|(k, _)| *k == flag)) {
            // `no-check`, `no-backup` ... only cancel a `default-server` setting, and there is
            // none (see server_changes): the server gets what the reload gives it without them.
            // `add server` does not take them.
            continue;
        }
        let &(_, takes_value) = DYNAMIC_KEYWORDS.iter().find(|(k, _)| k == &word)?;
        args.push(word.to_string());
        if takes_value {
            args.push(rest.next()?.to_string());
        }
    }
    let server = DynamicServer { backend: backend.to_string(), server: name.to_string(), args };
    // The names go into CLI commands: the runtime API's own rules for them.
    let check = RuntimeRequest { backend: server.backend.clone(), server: server.server.clone(), action: ServerAction::Ready, value: None };
    check.validate().is_ok().then_some(server)
}

/// Everything a new bundle changes, when all of it can be done at runtime.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimePlan {
    /// In order: files first, then servers.
    pub changes: Vec<RuntimeChange>,
}

/// The runtime plan from `running` to `new`, or `None` when a reload is needed: the same paths,
/// kinds and modes in the same order, and only map, ACL and certificate contents, server
/// `weight` / `disabled`, or whole `server` lines of backends changed (see [`server_changes`]).
pub fn plan(running: &Bundle, new: &Bundle) -> Option<RuntimePlan> {
    // keepalived files are the agent's keepalived driver's business, never HAProxy's: a version
    // that adds, removes or changes only those asks nothing of HAProxy.
    let haproxy_files = |bundle: &'_ Bundle| bundle.files().iter().filter(|f| f.kind != FileKind::Keepalived).cloned().collect::<Vec<_>>();
    let (old_files, new_files) = (haproxy_files(running), haproxy_files(new));
    if old_files.len() != new_files.len() {
        return None;
    }
    let mut files = Vec::new();
    let mut servers = Vec::new();
    for (old, new) in old_files.iter().zip(&new_files) {
        if old.path != new.path || old.kind != new.kind || old.mode != new.mode {
            return None;
        }
        if old.content == new.content {
            continue;
        }
        match new.kind {
            FileKind::Map => files.push(RuntimeChange::Map { path: new.path.clone(), entries: pattern_lines(new)? }),
            FileKind::Acl => {
                let patterns = pattern_lines(new)?;
                // `add acl` takes one word: a pattern with a blank or `;` needs the file reloaded.
                if patterns.iter().any(|p| p.contains(|c: char| c.is_whitespace() || c == ';')) {
                    return None;
                }
                files.push(RuntimeChange::Acl { path: new.path.clone(), patterns });
            }
            FileKind::Certificate => {
                let text = new.text()?;
                let pem: String = text.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{l}\n")).collect();
                files.push(RuntimeChange::Certificate { path: new.path.clone(), fingerprint: pem_sha1_fingerprint(&pem), pem });
            }
            FileKind::Config => servers.extend(server_changes(old.text()?, new.text()?)?),
            _ => return None,
        }
    }
    files.extend(servers);
    Some(RuntimePlan { changes: files })
}

/// The entries of a map or ACL file as HAProxy loads them (pattern.c `pat_ref_read_from_file`):
/// blank lines and `#` comments skipped, leading blanks dropped, the key and the rest of the
/// line (the value) separated by one space. `None` for a file that is not text.
pub fn pattern_lines(file: &BundleFile) -> Option<Vec<String>> {
    file.text().map(text_pattern_lines)
}

/// [`pattern_lines`] of a text.
pub fn text_pattern_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once([' ', '\t']) {
            Some((key, value)) => format!("{key} {}", value.trim_start_matches([' ', '\t'])),
            None => l.to_string(),
        })
        .collect()
}

/// The server changes between two texts of a config file, or `None` when any other line
/// differs. Compared as a line diff: a changed line must be the same `server` line of a
/// `backend` or `listen` section but for its `weight N` and `disabled` words; an added or a
/// removed line a `server` line there (added: one `add server` can make as written, and no
/// `default-server` anywhere, whose settings a dynamic server would not get); blank and comment
/// lines may come and go. Removals come first, so a server written anew is removed, then added.
fn server_changes(old: &str, new: &str) -> Option<Vec<RuntimeChange>> {
    use similar::DiffOp;
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (old.split('\n').collect(), new.split('\n').collect());
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    let ops = similar::capture_diff_slices_deadline(similar::Algorithm::Myers, &old_lines, &new_lines, Some(deadline));
    let mut section: Option<(&str, &str)> = None;
    let (mut removed, mut added, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for op in ops {
        let (old_range, new_range) = (op.old_range(), op.new_range());
        if let DiffOp::Equal { .. } = op {
            for line in &new_lines[new_range] {
                enter_section(&mut section, line);
            }
            continue;
        }
        // A changed block lies inside one section (headers are never part of one): its server
        // lines paired by name; the rest must be blank or comments.
        let (old_block, new_block) = (&old_lines[old_range], &new_lines[new_range]);
        let (before, after) = (server_lines(old_block)?, server_lines(new_block)?);
        if before.is_empty() && after.is_empty() {
            continue;
        }
        let Some(("backend" | "listen", backend)) = section else { return None };
        for (_, old_server) in &before {
            match after.iter().find(|(_, s)| s.name == old_server.name) {
                None => removed.push(RuntimeChange::DelServer { backend: backend.to_string(), server: old_server.name.to_string() }),
                Some((_, new_server)) => {
                    if old_server.rest != new_server.rest {
                        return None;
                    }
                    let request = |action, value| RuntimeRequest { backend: backend.to_string(), server: new_server.name.to_string(), action, value };
                    if old_server.weight != new_server.weight {
                        changes.push(request(ServerAction::Weight, Some(new_server.weight)));
                    }
                    if old_server.disabled != new_server.disabled {
                        changes.push(request(if new_server.disabled { ServerAction::Maint } else { ServerAction::Ready }, None));
                    }
                }
            }
        }
        for (i, new_server) in &after {
            if !before.iter().any(|(_, s)| s.name == new_server.name) {
                added.push(RuntimeChange::AddServer(dynamic_server(backend, new_block[*i])?));
            }
        }
    }
    if !added.is_empty() && new_lines.iter().any(|l| words(l).first() == Some(&"default-server")) {
        return None;
    }
    // The commands are built from checked names (`RuntimeRequest::command`): a name HAProxy
    // takes but the runtime API must not see is a reload.
    if !changes.iter().all(|r| r.validate().is_ok()) {
        return None;
    }
    let removed_ok = removed.iter().all(|c| match c {
        RuntimeChange::DelServer { backend, server } => {
            RuntimeRequest { backend: backend.clone(), server: server.clone(), action: ServerAction::Maint, value: None }.validate().is_ok()
        }
        _ => false,
    });
    removed_ok.then(|| removed.into_iter().chain(changes.into_iter().map(RuntimeChange::Server)).chain(added).collect())
}

/// Follows section headers: `section` becomes `(keyword, name)` at a header line.
fn enter_section<'a>(section: &mut Option<(&'a str, &'a str)>, line: &'a str) {
    let words = words(line);
    if let Some(first) = words.first().filter(|w| SECTIONS.contains(w)) {
        *section = Some((first, words.get(1).copied().unwrap_or("")));
    }
}

/// The `server` lines of a changed block with their index in it, or `None` when another line
/// than a blank or a comment is among them.
fn server_lines<'a>(lines: &[&'a str]) -> Option<Vec<(usize, ServerLine<'a>)>> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !words(line).is_empty() {
            found.push((i, ServerLine::read(line)?));
        }
    }
    Some(found)
}

/// Section keywords (configuration.txt §3-§4 and the 2.6 additions).
const SECTIONS: &[&str] = &[
    "global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "mailers", "program",
    "http-errors", "ring", "cache", "log-forward", "fcgi-app",
];

/// The words of a line before its comment (blank-separated; lines using quotes or escapes are
/// not taken apart, so they never look like a runtime change).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().take_while(|w| !w.starts_with('#')).collect()
}

/// A `server` line split into what runtime may change and the rest.
#[derive(Debug, PartialEq, Eq)]
struct ServerLine<'a> {
    name: &'a str,
    weight: i64,
    disabled: bool,
    rest: Vec<&'a str>,
}

impl<'a> ServerLine<'a> {
    fn read(line: &'a str) -> Option<ServerLine<'a>> {
        if line.contains(['"', '\'', '\\']) {
            return None;
        }
        let words = words(line);
        let (&"server", Some(name)) = (words.first()?, words.get(1).copied()) else { return None };
        // HAProxy's default weight (configuration.txt §5.2 "weight").
        let mut server = ServerLine { name, weight: 1, disabled: false, rest: Vec::new() };
        let mut it = words.iter().copied();
        while let Some(word) = it.next() {
            match word {
                "weight" => server.weight = it.next()?.parse().ok()?,
                "disabled" => server.disabled = true,
                "enabled" => server.disabled = false,
                other => server.rest.push(other),
            }
        }
        Some(server)
    }
}

/// The map or ACL entry of `answer` to a `show map` / `show acl` listing whose file, resolved as
/// HAProxy resolved it (relative to the managed directory it runs in), is `path`: its `#<id>`.
/// Listing lines read `0 (maps/hosts.map) pattern loaded from file ...`.
pub fn loaded_id(answer: &str, path: &BundlePath, managed_dir: &str) -> Option<String> {
    answer.lines().find_map(|line| {
        let (id, rest) = line.trim().split_once(' ')?;
        id.parse::<u64>().ok()?;
        let file = rest.strip_prefix('(')?.split_once(')')?.0;
        (BundlePath::resolve(file, managed_dir, "").as_ref() == Some(path)).then(|| format!("#{id}"))
    })
}

/// The name of the certificate at `path` in a `show ssl cert` listing (committed entries,
/// not `*` transactions), as the `set ssl cert` command must spell it.
pub fn loaded_certificate<'a>(answer: &'a str, path: &BundlePath, managed_dir: &str) -> Option<&'a str> {
    answer
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('*'))
        .find(|name| BundlePath::resolve(name, managed_dir, "").as_ref() == Some(path))
}

/// The version number in `prepare map` / `prepare acl`'s answer (`New version created: 3`).
pub fn prepared_version(answer: &str) -> Option<u32> {
    answer.split("New version created:").nth(1)?.split_whitespace().next()?.parse().ok()
}

/// How many entries `show map <id>` / `show acl <id>` lists (`0x55d... key value` lines).
pub fn listed_entries(answer: &str) -> usize {
    answer.lines().filter(|l| l.starts_with("0x")).count()
}

/// The `SHA1 FingerPrint` of `show ssl cert <name>`.
pub fn shown_fingerprint(answer: &str) -> Option<String> {
    answer.lines().find_map(|l| l.trim().strip_prefix("SHA1 FingerPrint:")).map(|f| f.trim().to_ascii_uppercase())
}

/// The certificate files `show ssl cert` lists as loaded (uncommitted transactions, marked `*`,
/// and comment lines left out).
pub fn listed_certificates(answer: &str) -> Vec<&str> {
    answer.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('*')).collect()
}

/// What `show ssl cert <filename>` says HAProxy serves for `filename`: the leaf's SHA-1 and
/// serial (the certificate store compares them with its own, `Heartbeat::certificates`).
pub fn served_certificate(filename: &str, answer: &str) -> Option<crate::wire::ServedCertificate> {
    let serial = answer.lines().find_map(|l| l.trim().strip_prefix("Serial:")).map(|s| s.trim().to_ascii_uppercase());
    Some(crate::wire::ServedCertificate {
        filename: filename.to_string(),
        sha1: shown_fingerprint(answer)?,
        serial: serial.unwrap_or_default(),
    })
}

/// SHA-1 over the DER of the first `CERTIFICATE` block of a PEM, upper-case hex, as
/// `show ssl cert` prints it (RFC 7468 textual encoding).
pub fn pem_sha1_fingerprint(pem: &str) -> Option<String> {
    let body = pem.split("-----BEGIN CERTIFICATE-----").nth(1)?.split("-----END CERTIFICATE-----").next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = BASE64.decode(b64).ok()?;
    Some(Sha1::digest(der).iter().map(|b| format!("{b:02X}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_certificates_from_show_ssl_cert() {
        let listing = "# transaction\n*certs/new.pem\n# filename\ncerts/site.pem\n/etc/haproxy/other.pem\n\n";
        assert_eq!(listed_certificates(listing), ["certs/site.pem", "/etc/haproxy/other.pem"]);
        let shown = "Filename: certs/site.pem\nStatus: Used\nSerial: 55E59E49\nSHA1 FingerPrint: 5134935c0b1c\nSubject: /CN=a.test\n";
        let served = served_certificate("certs/site.pem", shown).unwrap_or_else(|| unreachable!());
        assert_eq!((served.sha1.as_str(), served.serial.as_str()), ("5134935C0B1C", "55E59E49"));
        assert_eq!(served_certificate("x", "Unknown certificate"), None);
    }

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    const CONFIG: &str = "global\n    maxconn 100\n\nbackend app\n    server s1 127.0.0.1:80 weight 10 check\n    server s2 127.0.0.1:81\n";

    fn bundle(config: &str, map: &str, pem: &str) -> Bundle {
        Bundle::new(vec![
            BundleFile::new(p("haproxy.cfg"), FileKind::Config, config.as_bytes().to_vec()),
            BundleFile::new(p("maps/hosts.map"), FileKind::Map, map.as_bytes().to_vec()),
            BundleFile::new(p("certs/site.pem"), FileKind::Certificate, pem.as_bytes().to_vec()),
            BundleFile::new(p("errors/503.http"), FileKind::Errorfile, b"HTTP/1.0 503\r\n\r\n".to_vec()),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn maps_certificates_and_server_weights_are_runtime() {
        let old = bundle(CONFIG, "a.test A\n", "pem1\n");
        let config = CONFIG.replace("weight 10 check", "weight 20 check # busier").replace("127.0.0.1:81", "127.0.0.1:81 disabled");
        let new = bundle(&config, "# hosts\n  a.test   A  \n\nb.test B with spaces\n", "pem2\n\n");
        let plan = plan(&old, &new).unwrap();
        let server = |server: &str, action, value| {
            RuntimeChange::Server(RuntimeRequest { backend: "app".into(), server: server.into(), action, value })
        };
        assert_eq!(
            plan.changes,
            vec![
                RuntimeChange::Certificate { path: p("certs/site.pem"), pem: "pem2\n".into(), fingerprint: None },
                RuntimeChange::Map { path: p("maps/hosts.map"), entries: vec!["a.test A".into(), "b.test B with spaces".into()] },
                server("s1", ServerAction::Weight, Some(20)),
                server("s2", ServerAction::Maint, None),
            ]
        );
        assert_eq!(super::plan(&new, &old).map(|p| p.changes.len()), Some(4), "and back: weight, ready");
        assert_eq!(super::plan(&old, &old), Some(RuntimePlan::default()));
    }

    #[test]
    fn keepalived_files_added_changed_or_removed_ask_nothing_of_haproxy() {
        let old = bundle(CONFIG, "a A\n", "pem\n");
        let with = |text: &str| {
            old.with_file(BundleFile::new(p("keepalived/lb1.conf"), FileKind::Keepalived, text.as_bytes().to_vec()))
                .unwrap_or_else(|e| unreachable!("{e}"))
        };
        let (one, two) = (with("# v1\n"), with("# v2\n"));
        assert_eq!(plan(&old, &one), Some(RuntimePlan::default()));
        assert_eq!(plan(&one, &two), Some(RuntimePlan::default()));
        assert_eq!(plan(&two, &old), Some(RuntimePlan::default()));
        let config = CONFIG.replace("weight 10", "weight 30");
        let changed = bundle(&config, "a A\n", "pem\n");
        assert_eq!(plan(&two, &changed).map(|p| p.changes.len()), Some(1), "the config's change still planned");
    }

    #[test]
    fn servers_added_and_removed_are_dynamic_servers() {
        let old = bundle(CONFIG, "a A\n", "pem\n");
        let config = CONFIG
            .replace("    server s2 127.0.0.1:81\n", "    # new\n    server s3 127.0.0.1:82 check inter 2s weight 5\n\n    server s4 [::1]:83 disabled no-check no-backup\n")
            .replace("weight 10", "weight 30");
        let plan = plan(&old, &bundle(&config, "a A\n", "pem\n")).unwrap();
        let added = |server: &str, args: &[&str]| {
            RuntimeChange::AddServer(DynamicServer {
                backend: "app".into(),
                server: server.into(),
                args: args.iter().map(|a| a.to_string()).collect(),
            })
        };
        assert_eq!(
            plan.changes,
            vec![
                RuntimeChange::DelServer { backend: "app".into(), server: "s2".into() },
                RuntimeChange::Server(RuntimeRequest { backend: "app".into(), server: "s1".into(), action: ServerAction::Weight, value: Some(30) }),
                added("s3", &["127.0.0.1:82", "check", "inter", "2s", "weight", "5"]),
                added("s4", &["[::1]:83", "disabled"]),
            ]
        );
        let RuntimeChange::AddServer(s3) = &plan.changes[2] else { unreachable!() };
        assert_eq!(
            s3.commands(),
            ["add server app/s3 127.0.0.1:82 check inter 2s weight 5", "enable health app/s3", "set server app/s3 state ready"]
        );
        let RuntimeChange::AddServer(s4) = &plan.changes[3] else { unreachable!() };
        assert_eq!(s4.commands(), ["add server app/s4 [::1]:83 disabled"], "a disabled server stays in maintenance; no-check and no-backup (add server does not take them) state what it is without them");
    }

    #[test]
    fn anything_else_is_a_reload() {
        let old = bundle(CONFIG, "a A\n", "pem\n");
        for config in [
            CONFIG.replace("maxconn 100", "maxconn 200"),
            CONFIG.replace("127.0.0.1:80", "127.0.0.1:90"),
            CONFIG.replace("    server s2 127.0.0.1:81\n", "    server s2 127.0.0.1:81\n    server s3 127.0.0.1:82 track app/s1\n"),
            CONFIG.replace("    server s2 127.0.0.1:81\n", "    server s2 127.0.0.1:81\n    server s3 127.0.0.1:82 source 10.0.0.1\n"),
            CONFIG.replace("backend app\n", "backend app\n    default-server inter 3s\n") + "",
            CONFIG.replace("backend app\n", "backend app\n    default-server inter 3s\n").replace("    server s2 127.0.0.1:81\n", "    server s2 127.0.0.1:81\n    server s3 127.0.0.1:82\n"),
            CONFIG.replace("    maxconn 100\n", "    maxconn 100\n    server s3 127.0.0.1:82\n"),
            CONFIG.replace("weight 10", "weight \"10\""),
            CONFIG.replace("backend app", "frontend app"),
        ] {
            assert_eq!(plan(&old, &bundle(&config, "a A\n", "pem\n")), None, "{config}");
        }
        let files = old.clone().into_files();
        let mut error_page = files.clone();
        error_page[2].content = b"HTTP/1.0 503\r\n\r\nsorry".to_vec();
        assert_eq!(plan(&old, &Bundle::new(error_page).unwrap_or_else(|e| unreachable!("{e}"))), None);
        let mut mode = files.clone();
        mode[3].mode = 0o600;
        assert_eq!(plan(&old, &Bundle::new(mode).unwrap_or_else(|e| unreachable!("{e}"))), None);
        let fewer = Bundle::new(files[..3].to_vec()).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(plan(&old, &fewer), None);
        let acl = |text: &str| {
            Bundle::new(vec![
                BundleFile::new(p("a.cfg"), FileKind::Config, b"global\n".to_vec()),
                BundleFile::new(p("bad.acl"), FileKind::Acl, text.as_bytes().to_vec()),
            ])
            .unwrap_or_else(|e| unreachable!("{e}"))
        };
        assert!(plan(&acl("10.0.0.1\n"), &acl("10.0.0.2\n10.0.0.3\n")).is_some());
        assert_eq!(plan(&acl("10.0.0.1\n"), &acl("two words\n")), None);
    }

    #[test]
    fn runtime_answers_are_read() {
        let listing = "# id (file) description\n0 (maps/hosts.map) pattern loaded from file 'maps/hosts.map' used by map at file 'haproxy.cfg' line 12. curr_ver=0 next_ver=0 entry_cnt=2\n\
                       1 (/etc/haproxy/maps/other.map) pattern loaded ...\n";
        assert_eq!(loaded_id(listing, &p("maps/hosts.map"), "/etc/haproxy").as_deref(), Some("#0"));
        assert_eq!(loaded_id(listing, &p("maps/other.map"), "/etc/haproxy").as_deref(), Some("#1"));
        assert_eq!(loaded_id(listing, &p("maps/none.map"), "/etc/haproxy"), None);
        let certs = "# transaction\n*certs/site.pem\n# filename\ncerts/site.pem\n/etc/haproxy/certs/b.pem\n";
        assert_eq!(loaded_certificate(certs, &p("certs/site.pem"), "/etc/haproxy"), Some("certs/site.pem"));
        assert_eq!(loaded_certificate(certs, &p("certs/b.pem"), "/etc/haproxy"), Some("/etc/haproxy/certs/b.pem"));
        assert_eq!(prepared_version("New version created: 3\n\n"), Some(3));
        assert_eq!(listed_entries("0x7f63c404ad10 a.test X\n0x7f63c404ae30 c.test C\n\n"), 2);
        assert_eq!(shown_fingerprint("Subject: /CN=x\nSHA1 FingerPrint: 1157efc0\n").as_deref(), Some("1157EFC0"));
    }

    #[test]
    fn fingerprints_are_sha1_of_the_first_certificate() {
        // "hello" as the DER bytes: sha1("hello") = aaf4c61d...
        let pem = "-----BEGIN CERTIFICATE-----\naGVs\nbG8=\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nx\n";
        assert_eq!(pem_sha1_fingerprint(pem).as_deref(), Some("AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D"));
        assert_eq!(pem_sha1_fingerprint("no pem"), None);
    }
}
