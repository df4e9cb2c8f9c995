//! The zero-false-alarm guard: generated configurations run through the offline check
//! (`haproxy_parse::check`) and the real `haproxy -c` 2.6. No file HAProxy accepts may get an
//! offline error; on the files HAProxy rejects, the share the offline check also rejects (the
//! agreement rate) is printed.
//!
//! The generator is seeded and deterministic (SplitMix64): `FLEET_DIFF_SEED` replays a run,
//! `FLEET_DIFF_CASES` sets how many files (2,000 by default). It varies what the offline check
//! has got wrong before: the condition grammar of configuration.txt §7.2 (`if`/`unless`, `!`
//! glued or alone, `||`, `or`, implicit and, anonymous ACLs negated or not, named ACLs defined
//! before or after use, defined twice, names with `-` and `.`), action arguments, quoting and
//! escaping with the empty word `""` and environment references that may expand to nothing,
//! conditional blocks and message directives with their argument rules, unknown
//! dot-directives, `no` / `default` prefixes, named defaults holding rules, listen sections,
//! whole sections inside `.if` blocks, and the keywords of every section type (`global`,
//! `program`, `ring`, `log-forward`, `http-errors`, `cache`, `fcgi-app`, `mailers`, `peers`,
//! `resolvers`, `userlist`). `FLEET_DIFF_SHOW_MISSED=1` (or `full`, with the files) lists the
//! rejected files the offline check let through.
//!
//! Checks run `$FLEET_HAPROXY_CHECK_BIN` (HAProxy without network, no DNS waits), else
//! `$FLEET_HAPROXY_BIN`, else `haproxy` on `PATH`, with `-dr`, a few at a time; only loopback and
//! TEST-NET addresses are written. Without HAProxy the test says so and passes.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The seed used when `FLEET_DIFF_SEED` is not set: CI runs the same files every time.
const DEFAULT_SEED: u64 = 0x0005_eed0_2026_0010;
const DEFAULT_CASES: usize = 2000;
const WORKERS: usize = 4;

/// SplitMix64: small, fast, and the same stream on every platform.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// The seed of case `index` of a run.
pub(crate) fn case_seed(base: u64, index: usize) -> u64 {
    Rng::new(base ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)).next()
}

// ----- the generator -----

const ACL_NAMES: &[&str] = &["a", "is-api", "host.example", "b_c", "web-1.ok", "x"];
const PREDEFINED: &[&str] = &["TRUE", "FALSE", "HTTP_1.1", "METH_GET", "LOCALHOST", "HTTP"];
const CRITERIA: &[&str] = &[
    "path /x",
    "path_beg /api /static",
    "src 127.0.0.1 192.0.2.0/24",
    "hdr(host) -i example.com",
    "method GET",
    "always_true",
    "path -m beg /a",
    "url_param(id) -m found",
    "req.hdr_cnt(host) gt 1",
    "path_end .css",
];
const BAD_CRITERIA: &[&str] = &["nosuchfetch", "path -m nosuchmatch /x", "src(", ""];

/// One condition term: a named or anonymous ACL, maybe negated in one of the ways HAProxy reads.
fn term(rng: &mut Rng, defined: &[&str]) -> Vec<String> {
    let bang = match rng.below(10) {
        0..=5 => "",
        6 | 7 => "!",
        8 => "! ",
        _ => "!!",
    };
    let anonymous = rng.chance(45);
    if anonymous {
        let criterion = if rng.chance(2) { rng.pick(BAD_CRITERIA) } else { rng.pick(CRITERIA) };
        let mut words = Vec::new();
        let open = format!("{bang}{{");
        words.extend(open.split(' ').map(str::to_string));
        words.extend(criterion.split_whitespace().map(str::to_string));
        if !rng.chance(3) {
            words.push("}".to_string());
        }
        words
    } else {
        // Mostly names HAProxy knows at this point; now and then one defined later or never.
        let name = match rng.below(40) {
            0 => "undefined-acl".to_string(),
            1 => rng.pick(ACL_NAMES).to_string(),
            2..=11 => rng.pick(PREDEFINED).to_string(),
            _ if defined.is_empty() => rng.pick(PREDEFINED).to_string(),
            _ => rng.pick(defined).to_string(),
        };
        format!("{bang}{name}").split(' ').map(str::to_string).collect()
    }
}

/// `if|unless <terms joined by and / || / or>`, sometimes with a dangling operator or `""`.
fn condition(rng: &mut Rng, defined: &[&str]) -> String {
    let mut words = vec![if rng.chance(70) { "if" } else { "unless" }.to_string()];
    let terms = 1 + rng.below(4);
    for i in 0..terms {
        if i > 0 {
            match rng.below(6) {
                0 | 1 => {}
                2 | 3 => words.push("||".to_string()),
                4 => words.push("or".to_string()),
                _ => words.push("OR".to_string()),
            }
        }
        words.extend(term(rng, defined));
    }
    match rng.below(60) {
        0 => words.push("||".to_string()),
        1 => words.push("!".to_string()),
        2 => words.insert(1 + rng.below(words.len()), "\"\"".to_string()),
        3 => words.insert(1, "||".to_string()),
        _ => {}
    }
    words.join(" ")
}

/// A header value written in one of the quoting forms of configuration.txt §2.2.
fn value(rng: &mut Rng) -> String {
    if rng.chance(5) {
        return rng.pick(&["\"\"", "''"]).to_string();
    }
    rng.pick(&[
        "v1",
        "\"two words\"",
        "'single quoted'",
        "escaped\\ blank",
        "\"a\"\"b\"",
        "%[src]",
        "\"%[req.hdr(host)]\"",
        "\"quote\\\"inside\"",
        "pre\"fix\"",
        "\"$HOME\"",
        "'$HOME'",
        "\\#not-a-comment",
        "\"${FLEET_DIFF_NEVER_SET}\"",
        "\"${PATH}\"",
        "\"${FLEET_DIFF_NEVER_SET-fallback}\"",
        "x${FLEET_DIFF_NEVER_SET}y",
        "\"\\\\\"",
    ])
    .to_string()
}

/// An HTTP rule action with its arguments.
fn action(rng: &mut Rng, response: bool) -> String {
    let header = if rng.chance(3) { "\"\"" } else { rng.pick(&["X-A", "X-Empty", "\"X-Quoted\"", "'X-S'"]) };
    let common = match rng.below(if response { 9 } else { 14 }) {
        0 => format!("set-header {header} {}", value(rng)),
        1 => format!("add-header {header} {}", value(rng)),
        2 => format!("del-header {header}"),
        3 => format!("replace-header {header} ^(.*)$ {}", value(rng)),
        4 => "deny".to_string(),
        5 => format!("set-var(txn.v) str({})", rng.pick(&["x", "\"\"", "", "'a b'"])),
        6 => format!("set-var-fmt(txn.v) {}", value(rng)),
        7 => "allow".to_string(),
        8 => format!("return status 200 content-type text/plain string {}", value(rng)),
        9 => format!("set-path {}", value(rng)),
        10 => format!("redirect location {}", value(rng)),
        11 => format!("replace-path /a {}", value(rng)),
        12 if rng.chance(20) => format!("set-header {header} {} {}", value(rng), value(rng)),
        12 => format!("set-header {header} {}", value(rng)),
        _ => "tarpit".to_string(),
    };
    common
}

/// A proxy statement that may carry a condition.
fn rule(rng: &mut Rng, defined: &[&str]) -> String {
    let mut cond = condition(rng, defined);
    if rng.chance(3) {
        // HAProxy's argument list ends here: the condition after it is never read.
        cond.insert_str(0, "\"\" ");
    }
    match rng.below(10) {
        0..=4 => format!("http-request {} {cond}", action(rng, false)),
        5 | 6 => format!("http-response {} {cond}", action(rng, true)),
        7 => format!("use_backend be {cond}"),
        8 => format!("tcp-request content {} {cond}", rng.pick(&["accept", "reject"])),
        _ => format!("http-after-response {} {cond}", rng.pick(&["set-header X-B v", "set-header X-B \"\"", "del-header X-B"])),
    }
}

/// Conditional blocks, message directives and unknown dot-directives around `inner` lines.
fn directive_block(rng: &mut Rng, inner: Vec<String>) -> Vec<String> {
    let set = rng.chance(50);
    let test = if set { "defined(PATH)" } else { "defined(FLEET_DIFF_NEVER_SET)" };
    let mut out = vec![format!(".if {test}")];
    out.extend(inner);
    match rng.below(16) {
        0 => out.push(".elseif defined(PATH)".to_string()),
        1 | 2 => out.push(".else".to_string()),
        3 | 4 => out.push(".elif defined(PATH)".to_string()),
        5 => out.push(".else x".to_string()),
        6 | 7 => out.push(".notice \"in block\"".to_string()),
        8 => out.push(".warning two words".to_string()),
        9 => out.push(".alert \"stop\"".to_string()),
        _ => {}
    }
    out.push(if rng.chance(3) { ".endif x".to_string() } else { ".endif".to_string() });
    out
}

fn message(rng: &mut Rng) -> String {
    if rng.chance(60) {
        let kind = rng.pick(&[".notice", ".warning", ".diag"]);
        let text = rng.pick(&["\"quoted message\"", "one", "", "\"a\" \"\" b"]);
        return format!("{kind} {text}").trim_end().to_string();
    }
    let kind = rng.pick(&[".notice", ".warning", ".diag", ".alert", ".elseif", ".include", ".endif"]);
    let text = rng.pick(&["\"quoted message\"", "one", "two words", "", "\"a\" \"\" b", "\"a\" \"b\""]);
    format!("{kind} {text}").trim_end().to_string()
}

/// The other section types, each with keywords of its own and now and then a wrong line.
fn other_section(rng: &mut Rng, index: usize) -> (Vec<String>, bool) {
    let (header, lines, needs_master): (String, Vec<&str>, bool) = match rng.below(10) {
        0 => (
            format!("program prog{index}"),
            vec!["no option start-on-reload", "option start-on-reload", "user nobody", "group nogroup"],
            true,
        ),
        1 => (format!("ring ring{index}"), vec!["description \"d\"", "format rfc5424", "maxlen 1200", "size 32764", "timeout connect 5s", "timeout server 10s", "server s1 127.0.0.1:6514"], false),
        2 => (format!("log-forward lf{index}"), vec!["bind 127.0.0.1:1514", "dgram-bind 127.0.0.1:1514", "log global", "no log", "maxconn 10", "backlog 10", "timeout client 5s"], false),
        3 => (format!("http-errors he{index}"), vec!["errorfile 503 /dev/null", "errorfile 404 /dev/null"], false),
        4 => (format!("cache c{index}"), vec!["max-object-size 10000", "max-object-size 10000", "max-age 240", "process-vary on", "max-secondary-entries 10"], false),
        5 => (format!("fcgi-app f{index}"), vec!["index index.php", "log-stderr global", "option keep-conn", "no option keep-conn", "path-info ^(/.+\\.php)(/.*)?$", "pass-header X-A", "set-param P v"], false),
        6 => (format!("mailers m{index}"), vec!["mailer smtp1 192.0.2.1:587", "timeout mail 20s"], false),
        7 => (format!("peers p{index}"), vec!["peer local 127.0.0.1:10000", "disabled", "enabled", "no log", "log 127.0.0.1:514 local0"], false),
        8 => (format!("resolvers r{index}"), vec!["nameserver dns1 192.0.2.53:53", "accepted_payload_size 8192", "hold valid 10s", "resolve_retries 3", "timeout resolve 1s", "timeout retry 1s"], false),
        _ => (format!("userlist u{index}"), vec!["user alice insecure-password secret groups admins", "user bob password $5$abc$def"], false),
    };
    let mut out = vec![header];
    out.extend(required_lines(&out[0]).iter().map(|l| format!("    {l}")));
    for line in lines {
        if rng.chance(70) {
            out.push(format!("    {line}"));
        }
    }
    match rng.below(30) {
        0 => out.push("    no".to_string()),
        1 => out.push("    no timeout x 5s".to_string()),
        2 => out.push("    default log".to_string()),
        3 => out.push("    nosuchkeyword 1".to_string()),
        4 => out.push(format!("    {}", message(rng))),
        5 => out.push("    option x".to_string()),
        _ => {}
    }
    (out, needs_master)
}

/// What HAProxy refuses a section without, written every time.
fn required_lines(header: &str) -> &'static [&'static str] {
    match header.split(' ').next() {
        Some("cache") => &["total-max-size 4"],
        Some("fcgi-app") => &["docroot /var/www"],
        Some("program") => &["command /bin/true"],
        Some("userlist") => &["group admins"],
        _ => &[],
    }
}

/// ACL definitions, rules, conditional blocks and messages for one proxy section.
fn proxy_body(rng: &mut Rng) -> Vec<String> {
    let mut defined: Vec<&str> = Vec::new();
    let mut body: Vec<String> = Vec::new();
    for _ in 0..1 + rng.below(5) {
        match rng.below(10) {
            0..=2 => {
                let name = rng.pick(ACL_NAMES);
                let criterion = if rng.chance(2) { rng.pick(BAD_CRITERIA) } else { rng.pick(CRITERIA) };
                body.push(format!("acl {name} {criterion}"));
                defined.push(name);
            }
            3..=7 => body.push(rule(rng, &defined)),
            8 => {
                let inner = vec![format!("    {}", rule(rng, &defined))];
                body.extend(directive_block(rng, inner));
            }
            _ if rng.chance(50) => body.push(message(rng)),
            _ if rng.chance(80) => body.push(rng.pick(&["no option dontlognull", "option httplog", "no log", "log global"]).to_string()),
            _ => body.push(rng.pick(&["default log", "no timeout client", "no acl x", "no option httplog"]).to_string()),
        }
    }
    body
}

/// A body line: directives at the margin, statements indented.
fn write_body_line(text: &mut String, line: &str) {
    if line.starts_with('.') {
        let _ = writeln!(text, "{line}");
    } else {
        let _ = writeln!(text, "    {}", line.trim_start());
    }
}

/// One whole configuration.
pub(crate) fn generate(seed: u64) -> String {
    let rng = &mut Rng::new(seed);
    let mut sections: Vec<Vec<String>> = Vec::new();
    let mut needs_master = false;
    for index in 0..rng.below(3) {
        let (lines, master) = other_section(rng, index);
        needs_master |= master;
        sections.push(lines);
    }
    let mut text = String::new();
    if needs_master || rng.chance(20) {
        text.push_str("global\n    master-worker\n");
    }
    if rng.chance(10) {
        let _ = writeln!(text, "{}", message(rng));
    }
    if rng.chance(25) {
        text.push_str("global\n");
        if rng.chance(10) {
            text.push_str(rng.pick(&["    default log\n", "    no maxconn 1\n", "    unknown-global x\n"]));
        }
        for _ in 0..1 + rng.below(3) {
            let line = rng.pick(&[
                "maxconn 100",
                "no busy-polling",
                "nbthread 2",
                "log 127.0.0.1:514 local0",
                "no log",
                "stats timeout 5s",
                ".notice \"global\"",
                "setenv FLEET_DIFF_SET x",
            ]);
            let indent = if line.starts_with('.') { "" } else { "    " };
            let _ = writeln!(text, "{indent}{line}");
        }
    }
    text.push_str("defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n");
    let named_defaults = rng.chance(15);
    if named_defaults {
        // Rules and ACLs in defaults need a named section, and a proxy that uses it.
        text.push_str("defaults d1\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n");
        for line in proxy_body(rng) {
            write_body_line(&mut text, &line);
        }
    }
    let conditional_backend = rng.chance(10);
    text.push_str(if named_defaults { "frontend fe from d1\n" } else { "frontend fe\n" });
    text.push_str("    bind 127.0.0.1:18080\n");
    for line in proxy_body(rng) {
        write_body_line(&mut text, &line);
    }
    if conditional_backend {
        text.push_str("    use_backend be2 if { path /two }\n");
    }
    text.push_str("    default_backend be\nbackend be\n    server s1 192.0.2.10:80\n");
    if rng.chance(20) {
        for line in proxy_body(rng) {
            write_body_line(&mut text, &line);
        }
    }
    if conditional_backend {
        let test = rng.pick(&["defined(PATH)", "defined(FLEET_DIFF_NEVER_SET)"]);
        let _ = writeln!(text, ".if {test}\nbackend be2\n    server s2 192.0.2.11:80\n.endif");
    }
    if rng.chance(12) {
        // A conditional section header followed, after `.endif`, by a backend-only line: in
        // `backend be` when HAProxy skips the block, in `frontend fe2` (refused) when it reads it.
        let test = rng.pick(&["defined(PATH)", "defined(FLEET_DIFF_NEVER_SET)"]);
        let after = rng.pick(&["    server s4 192.0.2.13:80", "    balance roundrobin", "    http-request deny"]);
        let _ = writeln!(text, ".if {test}\nfrontend fe2\n    bind 127.0.0.1:18082\n    default_backend be\n.endif\n{after}");
    }
    if rng.chance(15) {
        text.push_str("listen li\n    bind 127.0.0.1:18081\n");
        for line in proxy_body(rng) {
            write_body_line(&mut text, &line);
        }
        text.push_str("    server s3 192.0.2.12:80\n");
    }
    for section in sections {
        for line in section {
            let _ = writeln!(text, "{line}");
        }
    }
    text
}

// ----- running haproxy -----

pub(crate) use fleet_tests::haproxy_check_bin as haproxy_bin;

/// HAProxy's verdict on `text`: `Ok(())` when `haproxy -c` accepts it, else its alerts.
pub(crate) fn haproxy_check(haproxy: &Path, text: &str, scratch: &Path) -> Result<(), String> {
    haproxy_check_files(haproxy, &[text], scratch)
}

/// HAProxy's verdict on `files` loaded in order (`-f 1.cfg -f 2.cfg ...`, run from `scratch`).
pub(crate) fn haproxy_check_files(haproxy: &Path, files: &[&str], scratch: &Path) -> Result<(), String> {
    std::fs::create_dir_all(scratch).unwrap();
    let mut command = Command::new(haproxy);
    command.args(["-c", "-dr"]);
    for (index, text) in files.iter().enumerate() {
        let name = format!("{}.cfg", index + 1);
        std::fs::write(scratch.join(&name), text).unwrap();
        command.arg("-f").arg(name);
    }
    let output = command
        .current_dir(scratch)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", haproxy.display()));
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(stderr.lines().filter(|l| l.contains("ALERT")).collect::<Vec<_>>().join("\n"))
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    rejected_caught: usize,
    accepted_with_warnings: usize,
    false_alarms: Vec<String>,
    /// HAProxy's first alert on each rejected file the offline check let through.
    missed: Vec<String>,
}

#[test]
fn no_file_haproxy_accepts_gets_an_offline_error() {
    let Some(haproxy) = haproxy_bin() else {
        eprintln!("haproxy not found (set FLEET_HAPROXY_CHECK_BIN, FLEET_HAPROXY_BIN or PATH): skipping");
        return;
    };
    let seed: u64 = std::env::var("FLEET_DIFF_SEED")
        .ok()
        .and_then(|v| {
            let v = v.trim();
            v.strip_prefix("0x").map_or_else(|| v.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok())
        })
        .unwrap_or(DEFAULT_SEED);
    let cases: usize = env_or("FLEET_DIFF_CASES", DEFAULT_CASES);
    eprintln!("differential: seed {seed:#x}, {cases} cases, {WORKERS} workers, haproxy {}", haproxy.display());
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for worker in 0..WORKERS {
            let (haproxy, next, tally) = (&haproxy, &next, &tally);
            scope.spawn(move || {
                let scratch =
                    std::env::temp_dir().join(format!("haproxy-parse-differential-{}-{worker}", std::process::id()));
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= cases {
                        break;
                    }
                    let case = case_seed(seed, index);
                    let text = generate(case);
                    let offline = haproxy_parse::check(&text).diagnostics;
                    let errors: Vec<String> =
                        offline.iter().filter(|d| d.is_error()).map(|d| d.display_with_path("1.cfg").to_string()).collect();
                    let verdict = haproxy_check(haproxy, &text, &scratch);
                    let mut tally = tally.lock().unwrap();
                    match verdict {
                        Ok(()) => {
                            tally.accepted += 1;
                            tally.accepted_with_warnings += usize::from(!offline.is_empty());
                            if !errors.is_empty() {
                                tally.false_alarms.push(format!(
                                    "case {index} (seed {case:#x}): haproxy -c accepts, offline check says:\n{}\n--- config ---\n{text}",
                                    errors.join("\n")
                                ));
                            }
                        }
                        Err(alerts) => {
                            tally.rejected += 1;
                            tally.rejected_caught += usize::from(!errors.is_empty());
                            if errors.is_empty() {
                                let first = alerts.lines().next().unwrap_or_default();
                                let alert = first.split(" : config : ").last().unwrap_or(first);
                                tally.missed.push(if std::env::var_os("FLEET_DIFF_SHOW_MISSED").is_some_and(|v| v == "full") {
                                    format!("{alert}\n{text}")
                                } else {
                                    alert.to_string()
                                });
                            }
                        }
                    }
                }
                let _ = std::fs::remove_dir_all(&scratch);
            });
        }
    });
    let tally = tally.into_inner().unwrap();
    let elapsed = started.elapsed();
    let rate = if tally.rejected == 0 { 100.0 } else { 100.0 * tally.rejected_caught as f64 / tally.rejected as f64 };
    eprintln!(
        "differential: seed {seed:#x}: {cases} cases in {:.1}s; haproxy accepts {} ({} with offline warnings), \
         false alarms {}; haproxy rejects {}, offline rejects {} of them: agreement {rate:.1}%",
        elapsed.as_secs_f64(),
        tally.accepted,
        tally.accepted_with_warnings,
        tally.false_alarms.len(),
        tally.rejected,
        tally.rejected_caught,
    );
    if std::env::var_os("FLEET_DIFF_SHOW_MISSED").is_some() {
        eprintln!("rejected by haproxy, no offline error:\n{}", tally.missed.join("\n"));
    }
    assert!(
        tally.false_alarms.is_empty(),
        "{} false alarms (replay with FLEET_DIFF_SEED={seed:#x}); the first ones:\n{}",
        tally.false_alarms.len(),
        tally.false_alarms.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    // The generator must exercise both verdicts, or the rate above means nothing.
    if cases >= 200 {
        assert!(tally.accepted * 10 >= cases, "only {} of {cases} generated files are valid", tally.accepted);
        assert!(tally.rejected * 10 >= cases, "only {} of {cases} generated files are invalid", tally.rejected);
    }
}

#[test]
fn the_generator_is_deterministic() {
    assert_eq!(generate(42), generate(42));
    assert_ne!(generate(case_seed(1, 0)), generate(case_seed(1, 1)));
}
