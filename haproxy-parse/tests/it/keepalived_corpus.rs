//! Keepalived files of the shared corpus (`../shared/corpus/keepalived`) and of the real-world
//! cases (`../shared/cases`), read in place: every file re-renders byte for byte, `fmt` is
//! idempotent, valid files parse and check clean, and (where keepalived runs, as root) the
//! offline check agrees with `keepalived -t` on every file and its `fmt` output.

// Helpers outside `#[test]` functions are test code too.

use std::path::{Path, PathBuf};
use std::process::Command;

use haproxy_parse::keepalived::{check, parse, resolve_includes};
use haproxy_render::keepalived::{format, lossless};

use crate::corpus::corpus_dir;

fn keepalived_files(corpus: &Path, folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("keepalived").join(folder))
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn all_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = keepalived_files(corpus, "valid");
    files.extend(keepalived_files(corpus, "other"));
    files
}

#[test]
fn every_keepalived_file_round_trips_byte_for_byte() {
    let Some(corpus) = corpus_dir() else { return };
    let files = all_files(&corpus);
    assert!(files.len() >= 26, "only {} keepalived files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lossless(&parse(&text).document), text, "{}", path.display());
    }
}

#[test]
fn fmt_is_idempotent_and_keeps_the_words() {
    let Some(corpus) = corpus_dir() else { return };
    for path in all_files(&corpus) {
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse(&text);
        let once = format(&parsed.document);
        let reparsed = parse(&once);
        assert!(reparsed.diagnostics.is_empty(), "{}: {:?}", path.display(), reparsed.diagnostics);
        assert_eq!(format(&reparsed.document), once, "{}: not idempotent", path.display());
        assert_eq!(words(&parsed.document), words(&reparsed.document), "{}: words changed", path.display());
    }
}

/// Every word in reading order, braces included: what keepalived reads, layout aside.
pub(crate) fn words(document: &haproxy_model::keepalived::Document) -> Vec<String> {
    fn walk(statements: &[haproxy_model::keepalived::Statement], out: &mut Vec<String>) {
        for statement in statements {
            out.extend(statement.words().iter().map(|w| w.raw().to_string()));
            if let Some(block) = statement.block() {
                out.push("{".into());
                walk(block.statements(), out);
                if block.close().is_some() {
                    out.push("}".into());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(document.statements(), &mut out);
    out
}

#[test]
fn valid_files_parse_and_check_without_errors() {
    let Some(corpus) = corpus_dir() else { return };
    for path in keepalived_files(&corpus, "valid") {
        let text = std::fs::read_to_string(&path).unwrap();
        let checked = check(&text);
        let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_lvs_syncd_sample_has_the_unknown_keyword_keepalived_reports() {
    let Some(corpus) = corpus_dir() else { return };
    let text = std::fs::read_to_string(corpus.join("keepalived/other/sample-vrrp.lvs_syncd.conf")).unwrap();
    let checked = check(&text);
    // keepalived -t: "(sample-vrrp.lvs_syncd.conf: Line 4) Unknown keyword 'VI_2'".
    assert!(
        checked.diagnostics.iter().any(|d| d.position.line == 4 && d.message.contains("'VI_2'")),
        "{:?}",
        checked.diagnostics
    );
}

pub(crate) use fleet_tests::cases_dir;

/// A network namespace holding the interfaces the corpus and the cases name, deleted on drop.
/// keepalived -t refuses a file whose interfaces do not exist; this kernel has no dummy
/// interfaces, so each one is an end of a veth pair.
struct Namespace(String);

impl Namespace {
    fn new(interfaces: &[&str]) -> Result<Namespace, String> {
        let ip = |args: &[&str]| -> Result<(), String> {
            let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
            }
        };
        // Tests run in parallel threads of one process: the counter keeps names apart.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("fleet-kadiff-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Namespace(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"])?;
        for (n, interface) in interfaces.iter().enumerate() {
            let peer = format!("kapeer{n}");
            ip(&["-n", &ns.0, "link", "add", interface, "type", "veth", "peer", "name", &peer])?;
            ip(&["-n", &ns.0, "link", "set", interface, "up"])?;
        }
        Ok(ns)
    }

    /// `keepalived -t -f FILE` inside the namespace: accepted or not, and its messages.
    fn keepalived_t(&self, bin: &Path, file: &Path) -> (bool, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .arg(bin)
            .args(["-t", "-f"])
            .arg(file)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// keepalived and a namespace to run it in, or why the differential test cannot run here.
fn keepalived_lab() -> Result<(PathBuf, Namespace), String> {
    let bin =
        std::env::var_os("FLEET_KEEPALIVED_BIN").map_or_else(|| PathBuf::from("/usr/sbin/keepalived"), PathBuf::from);
    if !bin.is_file() {
        return Err(format!("keepalived not found at {} (set FLEET_KEEPALIVED_BIN)", bin.display()));
    }
    // The interfaces the corpus README and the cases name.
    let ns = Namespace::new(&["eth0", "eth1", "eth2", "eth3", "eth0.1"])?;
    Ok((bin, ns))
}

/// Every keepalived file of the corpus and of the cases folder.
fn differential_inputs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(corpus) = corpus_dir() {
        files.extend(all_files(&corpus));
    }
    if let Some(cases) = cases_dir() {
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        cases.sort();
        files.extend(cases);
    }
    files
}

/// Writes `text` as `name` in `dir`, with copies of the files its includes name at the same
/// relative paths, so that keepalived reads the copy as it reads the original.
fn write_with_includes(dir: &Path, original: &Path, name: &str, text: &str) -> PathBuf {
    let folder = original.parent().unwrap();
    for included in resolve_includes(&parse(text).document, folder).unwrap() {
        let relative = included.path.strip_prefix(folder).unwrap();
        let target = dir.join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&included.path, target).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn offline_check_agrees_with_keepalived_t_on_corpus_cases_and_their_fmt_output() {
    let (bin, ns) = match keepalived_lab() {
        Ok(lab) => lab,
        Err(why) => {
            eprintln!("keepalived differential: skipping: {why}");
            return;
        }
    };
    let inputs = differential_inputs();
    if inputs.is_empty() {
        eprintln!("keepalived differential: skipping: no corpus and no cases");
        return;
    }
    let scratch = std::env::temp_dir().join(format!("fleet-kadiff-{}", std::process::id()));
    let (mut runs, mut rejected, mut flagged) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for (n, original) in inputs.iter().enumerate() {
        let text = std::fs::read_to_string(original).unwrap();
        let formatted = format(&parse(&text).document);
        let dir = scratch.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let name = original.file_name().unwrap().to_string_lossy().into_owned();
        let copy = write_with_includes(&dir, original, &name, &formatted);
        let original_run = ns.keepalived_t(&bin, original);
        let original_accepted = original_run.0;
        let fmt_run = ns.keepalived_t(&bin, &copy);
        for (label, (accepted, messages), text) in [("original", original_run, text.as_str()), ("fmt", fmt_run, &formatted)] {
            let offline: Vec<String> = check(text)
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{}:{}: {}", d.position.line, d.position.column, d.message))
                .collect();
            runs += 1;
            // The gate is never stricter than keepalived: an offline error only where it fails.
            if accepted && !offline.is_empty() {
                disagreements.push(format!("{} ({label}): keepalived -t accepts, offline errors {offline:#?}", original.display()));
            }
            if label == "fmt" && accepted != original_accepted {
                disagreements.push(format!("{}: fmt output judged differently by keepalived -t:\n{messages}", original.display()));
            }
            if !accepted {
                rejected += 1;
                if !offline.is_empty() {
                    flagged += 1;
                } else {
                    eprintln!("keepalived differential: not caught offline: {} ({label}):\n{messages}", original.display());
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let percent = if rejected == 0 { 100.0 } else { f64::from(flagged) * 100.0 / f64::from(rejected) };
    eprintln!(
        "keepalived differential: {} files, {runs} runs (originals and fmt output); keepalived -t rejects {rejected}, \
         the offline check has errors on {flagged} of them ({percent:.0}%); offline errors on accepted runs: {}",
        inputs.len(),
        disagreements.iter().filter(|d| d.contains("accepts")).count()
    );
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// A small deterministic generator (xorshift64*), so a failing case can be rebuilt from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The faults the generator can plant, one per configuration (or none): each is something an
/// offline rule looks at, so every rule is tried alone against keepalived -t.
const FAULTS: &[&str] = &[
    "removed global keyword",
    "garp interval 0",
    "script without script",
    "no interface",
    "no virtual_router_id",
    "vrid out of range",
    "priority out of range",
    "no virtual address",
    "invalid virtual address",
    "undefined parameter",
    "long auth_pass",
    "auth without password",
    "auth with version 3",
    "AH with initial MASTER",
    "strict MASTER not owner",
    "deprecated lvs_sync_daemon_interface",
    "unknown instance keyword",
    "missing track_script",
    "route without dev",
    "rule without preference",
    "sync group without group",
    "sync group with one instance",
    "sync group naming a missing instance",
    "virtual_server without protocol",
    "virtual_server without forwarding method",
    "HTTP_GET without url",
    "MISC_CHECK without misc_path",
    "keyword of another checker",
    "fwmark with protocol",
    "duplicate vrid",
    "sync group mixing owner and backup",
];

/// One configuration that keepalived -t accepts, varied at random in ways that must stay valid
/// (parameters, `@` lines, includes, unicast, AH as owner, strict mode without auth ...), with
/// the one planted `fault` if any.
fn generated_config(rng: &mut Rng, fault: Option<&str>) -> String {
    let is = |name: &str| fault == Some(name);
    let mut out = String::new();
    let define = rng.chance(30);
    if define {
        out.push_str("$ADDR=192.0.2.50\n");
    }
    // Without script security keepalived -t refuses every script (exit 6).
    out.push_str("global_defs {\n    router_id lb_a\n    enable_script_security\n    script_user root\n");
    let strict = rng.chance(10);
    if strict {
        out.push_str("    vrrp_strict\n");
    }
    if rng.chance(20) {
        out.push_str(&format!("    {}\n", rng.pick(&["lvs_flush_onstop", "vrrp_garp_interval 0.5", "vrrp_gna_interval 2", "vrrp_version 2"])));
    }
    if is("removed global keyword") {
        out.push_str(&format!("    {}\n", rng.pick(&["lvs_id X", "notify_deleted /bin/true", "bogus_knob 1"])));
    }
    if is("garp interval 0") {
        out.push_str(&format!("    {} 0\n", rng.pick(&["vrrp_garp_interval", "vrrp_gna_interval"])));
    }
    out.push_str("}\n");
    let script_line = if is("script without script") { "" } else { "    script \"/bin/true\"\n" };
    out.push_str(&format!("vrrp_script chk {{\n{script_line}    interval 2\n}}\n"));
    let instances = if is("duplicate vrid") || fault.is_some_and(|f| f.starts_with("sync group")) { 2 } else { 1 + rng.next() % 2 };
    // Members of a sync group start alike: an address owner beside a BACKUP is a fault of its own.
    let sync = fault.is_some_and(|f| f.starts_with("sync group")) || instances == 2 && rng.chance(30);
    for n in 0..instances {
        let first = n == 0;
        out.push_str(&format!("vrrp_instance V{n} {{\n"));
        let unicast = rng.chance(10);
        if !first || !is("no interface") {
            out.push_str("    interface eth0\n");
        }
        if unicast && !(first && is("no interface")) {
            out.push_str("    unicast_peer {\n        192.0.2.9\n    }\n");
        }
        if !(first && is("no virtual_router_id")) {
            let vrid = match (first, fault) {
                (true, Some("vrid out of range")) => rng.pick(&["0", "256"]).to_string(),
                (false, Some("duplicate vrid")) => "51".to_string(),
                _ => format!("{}", 51 + n),
            };
            out.push_str(&format!("    virtual_router_id {vrid}\n"));
        }
        let auth = if first {
            match fault {
                Some("long auth_pass") => Some(("PASS", "123456789")),
                Some("auth without password") => Some(("PASS", "")),
                Some("auth with version 3") => Some(("PASS", "s3cret")),
                Some("AH with initial MASTER") => Some(("AH", "s3cret")),
                _ if !strict && rng.chance(15) => Some((rng.pick(&["PASS", "AH"]), "s3cret")),
                _ => None,
            }
        } else {
            None
        };
        let (state, priority) = if first && (is("AH with initial MASTER") || is("strict MASTER not owner")) {
            ("MASTER", "100")
        } else if is("sync group mixing owner and backup") {
            if first { ("MASTER", "255") } else { ("BACKUP", "100") }
        } else if sync {
            ("BACKUP", "100")
        } else if auth.is_some_and(|(kind, _)| kind == "AH") || strict {
            // Valid with AH and in strict mode: MASTER owns the address, BACKUP does not.
            *[("MASTER", "255"), ("BACKUP", "100")].get((rng.next() % 2) as usize).unwrap_or(&("BACKUP", "100"))
        } else {
            (rng.pick(&["MASTER", "BACKUP"]), rng.pick(&["100", "150", "255"]))
        };
        out.push_str(&format!("    state {state}\n"));
        let priority = if first && is("priority out of range") { rng.pick(&["0", "256"]) } else { priority };
        out.push_str(&format!("    priority {priority}\n"));
        if first && is("strict MASTER not owner") {
            out.push_str("    strict_mode\n");
        }
        if first && is("auth with version 3") {
            out.push_str("    version 3\n");
        }
        if rng.chance(10) {
            out.push_str("    @lb_a advert_int 2\n    @^lb_a advert_int 1\n");
        }
        if first && is("deprecated lvs_sync_daemon_interface") {
            out.push_str("    lvs_sync_daemon_interface eth1\n");
        }
        if first && is("unknown instance keyword") {
            out.push_str(&format!("    {} 1\n", rng.pick(&["bogus_knob", "notify_deleted", "lvs_id"])));
        }
        if let Some((kind, pass)) = auth {
            let pass = if pass.is_empty() { String::new() } else { format!("        auth_pass {pass}\n") };
            out.push_str(&format!("    authentication {{\n        auth_type {kind}\n{pass}    }}\n"));
        }
        if rng.chance(20) || first && is("missing track_script") {
            let name = if first && is("missing track_script") { "missing" } else { "chk" };
            out.push_str(&format!("    track_script {{\n        {name}\n    }}\n"));
        }
        if !(first && is("no virtual address")) {
            let address = if first && is("invalid virtual address") {
                rng.pick(&["192.0.2./24", "10.0.0.1/33", "1.2.3.4.5", "10.0.0.1/32x"]).to_string()
            } else if first && is("undefined parameter") || define && rng.chance(30) {
                "${ADDR}/32".to_string()
            } else {
                format!("{} dev eth0", rng.pick(&["192.0.2.1/32", "192.0.2.2", "10.0.0.1/", "192.0.2.3/24"]))
            };
            out.push_str(&format!("    virtual_ipaddress {{\n        {address}\n    }}\n"));
        }
        if rng.chance(10) || first && is("route without dev") {
            let route = if first && is("route without dev") {
                "192.168.0.0/16 via 192.0.2.254"
            } else {
                rng.pick(&["192.168.0.0/16 via 192.0.2.254 dev eth0", "192.168.0.0/16 via 192.0.2.254 no_track"])
            };
            out.push_str(&format!("    virtual_routes {{\n        {route}\n    }}\n"));
        }
        if rng.chance(10) || first && is("rule without preference") {
            let preference = if first && is("rule without preference") { "" } else { " preference 100" };
            out.push_str(&format!("    virtual_rules {{\n        from 10.1.0.0/16 table 5{preference}\n    }}\n"));
        }
        out.push_str("}\n");
    }
    if sync {
        let body = match fault {
            Some("sync group without group") => "    V0\n    V1\n",
            Some("sync group with one instance") => "    group {\n        V0\n    }\n",
            Some("sync group naming a missing instance") => "    group {\n        V0\n        V1\n        V9\n    }\n",
            _ => "    group {\n        V0\n        V1\n    }\n",
        };
        out.push_str(&format!("vrrp_sync_group G {{\n{body}}}\n"));
    }
    let lvs = fault.is_some_and(|f| f.contains("virtual_server") || f.contains("CHECK") || f.contains("GET") || f.contains("checker") || f.contains("fwmark"));
    if lvs || rng.chance(30) {
        let fwmark = is("fwmark with protocol") || rng.chance(15);
        let address = if fwmark { "fwmark 1" } else { "192.0.2.10 80" };
        let protocol = if fwmark && !is("fwmark with protocol") || is("virtual_server without protocol") { "" } else { "    protocol TCP\n" };
        let method = if is("virtual_server without forwarding method") { "" } else { "    lb_kind NAT\n" };
        let checker = match fault {
            Some("HTTP_GET without url") => "HTTP_GET {\n            connect_timeout 3\n        }".to_string(),
            Some("MISC_CHECK without misc_path") => "MISC_CHECK {\n            misc_timeout 3\n        }".to_string(),
            Some("keyword of another checker") => "TCP_CHECK {\n            misc_path /bin/true\n        }".to_string(),
            _ => rng
                .pick(&[
                    "TCP_CHECK {\n            connect_timeout 3\n        }",
                    "HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n        }",
                    "MISC_CHECK {\n            misc_path /bin/true\n        }",
                ])
                .to_string(),
        };
        out.push_str(&format!(
            "virtual_server {address} {{\n    lb_algo rr\n{method}{protocol}    real_server 192.0.2.11 80 {{\n        {checker}\n    }}\n}}\n"
        ));
    }
    out
}

#[test]
fn offline_errors_on_generated_configs_are_confirmed_by_keepalived_t() {
    let (bin, ns) = match keepalived_lab() {
        Ok(lab) => lab,
        Err(why) => {
            eprintln!("keepalived generated differential: skipping: {why}");
            return;
        }
    };
    let seed: u64 = std::env::var("FLEET_KA_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x6b61_6c76);
    let cases: usize = std::env::var("FLEET_KA_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(400);
    let dir = std::env::temp_dir().join(format!("fleet-kagen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(seed | 1);
    let (mut rejected, mut flagged, mut accepted_count) = (0, 0, 0);
    let mut problems = Vec::new();
    let mut missed: Vec<&str> = Vec::new();
    for n in 0..cases {
        // Half the configurations are meant to be valid, half carry one fault.
        let fault = if rng.chance(50) { None } else { Some(FAULTS[(rng.next() % FAULTS.len() as u64) as usize]) };
        let text = generated_config(&mut rng, fault);
        let path = dir.join(format!("case{n}.conf"));
        std::fs::write(&path, &text).unwrap();
        let (accepted, messages) = ns.keepalived_t(&bin, &path);
        let offline: Vec<String> =
            check(&text).diagnostics.into_iter().filter(|d| d.is_error()).map(|d| d.message).collect();
        if accepted {
            accepted_count += 1;
            if !offline.is_empty() {
                problems.push(format!("case {n} ({fault:?}): false alarm {offline:?}\n{text}"));
            }
        } else {
            rejected += 1;
            flagged += usize::from(!offline.is_empty());
            if fault.is_none() {
                // A generator bug: a configuration meant to be valid that keepalived refuses.
                problems.push(format!("case {n}: keepalived -t rejects a valid case\n{messages}\n{text}"));
            } else if offline.is_empty() {
                // Allowed (the check stays silent where a parameter or include leaves doubt),
                // but counted and named.
                missed.push(fault.unwrap_or_default());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let percent = if rejected == 0 { 100.0 } else { flagged as f64 * 100.0 / rejected as f64 };
    eprintln!(
        "keepalived generated differential: seed {seed:#x}, {cases} configs ({} fault kinds); keepalived -t accepts \
         {accepted_count}, rejects {rejected}; offline errors on {flagged} of the rejected ({percent:.0}%); \
         faults missed offline: {missed:?}; problems: {}",
        FAULTS.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n---\n"));
    // Every fault kind has an offline rule; misses come only from planted doubt ($ parameters).
    assert!(percent >= 90.0, "agreement on rejected configurations fell to {percent:.0}%");
}
