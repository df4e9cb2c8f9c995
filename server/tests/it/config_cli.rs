//! `fleet config parse|fmt|check|diff`: outputs and exit codes (0 fine, 1 problems, 2 usage or I/O).

use crate::support::{fleet, fleet_in, Scratch};

const GOOD: &str = "global\n  maxconn 100 # limit\n\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\nfrontend fe\n  bind :8080\n  default_backend app\n\nbackend app\n  server s1 127.0.0.1:8081 check\n";

const CANONICAL: &str = "global\n    maxconn 100 # limit\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend fe\n    bind :8080\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:8081 check\n";

#[test]
fn parse_emits_the_file_byte_for_byte() {
    let dir = Scratch::new();
    let text = "global\r\n\tmaxconn  100   # x \r\nbackend b\n  server s 'a b':80";
    let file = dir.file("h.cfg", text);
    let run = fleet(&["config", "parse", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, text);
}

#[test]
fn parse_emits_json_and_reads_stdin() {
    let run = fleet_in(std::path::Path::new("."), &["config", "parse", "-", "--emit", "json"], GOOD.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sections = json["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 4);
    assert_eq!(sections[3]["kind"], "backend");
    assert_eq!(sections[3]["name"], "app");
}

#[test]
fn parse_reports_syntax_errors_with_exit_1() {
    let run = fleet_in(std::path::Path::new("."), &["config", "parse", "-"], b"global\n  log \"stdout\n");
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("<stdin>:2:7: error: unterminated quote\n"), "{}", run.stderr);
}

#[test]
fn fmt_prints_the_canonical_layout() {
    let dir = Scratch::new();
    let file = dir.file("h.cfg", GOOD);
    let run = fleet(&["config", "fmt", &file]);
    assert_eq!((run.code, run.stdout.as_str()), (0, CANONICAL), "{}", run.stderr);
}

#[test]
fn fmt_check_fails_on_an_unformatted_file_and_names_it() {
    let dir = Scratch::new();
    let file = dir.file("h.cfg", GOOD);
    let run = fleet(&["config", "fmt", "--check", &file]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, format!("{file}: not formatted\n"));
    assert!(run.stdout.contains("-  maxconn 100 # limit\n+    maxconn 100 # limit\n"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), GOOD, "--check must not write");

    let formatted = dir.file("f.cfg", CANONICAL);
    let run = fleet(&["config", "fmt", "--check", &formatted]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, "", ""));
}

#[cfg(unix)]
#[test]
fn fmt_write_replaces_the_file_and_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new();
    let file = dir.file("h.cfg", GOOD);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = fleet(&["config", "fmt", "--write", &file]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), CANONICAL);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["h.cfg"], "no temporary file left behind");
}

#[cfg(unix)]
#[test]
fn fmt_write_follows_a_symbolic_link() {
    let dir = Scratch::new();
    let target = dir.file("real.cfg", GOOD);
    let link = dir.path().join("link.cfg");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = fleet(&["config", "fmt", "--write", link.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), CANONICAL);
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = Scratch::new();
    let file = dir.file("h.cfg", "global\n  log 'x\n");
    let run = fleet(&["config", "fmt", "--write", &file]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not formatted: fix the syntax errors first"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "global\n  log 'x\n");
}

#[test]
fn fmt_reads_stdin_but_cannot_write_it() {
    let run = fleet_in(std::path::Path::new("."), &["config", "fmt", "-"], GOOD.as_bytes());
    assert_eq!((run.code, run.stdout.as_str()), (0, CANONICAL));
    let run = fleet_in(std::path::Path::new("."), &["config", "fmt", "--write", "-"], GOOD.as_bytes());
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "fleet: error: `fmt --write` needs a file, not standard input\n");
}

#[test]
fn check_accepts_a_good_file_and_rejects_a_bad_one() {
    let dir = Scratch::new();
    let good = dir.file("good.cfg", GOOD);
    let run = fleet(&["config", "check", &good]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));

    let bad = dir.file("bad.cfg", GOOD.replace("default_backend app", "default_backend missing"));
    let run = fleet(&["config", "check", &bad]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with(&format!("{bad}:12:")), "{}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
}

#[test]
fn check_reads_several_files_and_directories_as_one_configuration() {
    let dir = Scratch::new();
    let main = dir.file("haproxy.cfg", "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\nfrontend fe\n  bind :8080\n  default_backend api\n");
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(conf_d.join("20-api.cfg"), "backend api\n  server a1 127.0.0.1:8081\n").unwrap();
    std::fs::write(conf_d.join("10-app.cfg"), "backend app\n  server s1 127.0.0.1:8082\n").unwrap();
    std::fs::write(conf_d.join(".hidden.cfg"), "bogus\n").unwrap();
    std::fs::write(conf_d.join("notes.txt"), "bogus\n").unwrap();
    let conf_d = conf_d.display().to_string();
    // Alone, the main file names a backend it does not define; with conf.d/ it is fine.
    assert_eq!(fleet(&["config", "check", &main]).code, 1);
    let run = fleet(&["config", "check", &main, &conf_d]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    // A name declared twice across files: an error in the later file naming the first place.
    let dup = dir.file("dup.cfg", "\nbackend app\n  server s2 127.0.0.1:8083\n");
    let run = fleet(&["config", "check", &main, &conf_d, &dup]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let first = format!("{conf_d}/10-app.cfg:1");
    assert!(
        run.stderr.starts_with(&format!("{dup}:2:9: error: backend 'app' has the same name as the backend declared at {first}\n")),
        "{}",
        run.stderr
    );
    // Every file starts out of any section, as in HAProxy.
    let stray = dir.file("stray.cfg", "  server s3 127.0.0.1:8084\n");
    let run = fleet(&["config", "check", &main, &conf_d, &stray]);
    assert!(run.stderr.starts_with(&format!("{stray}:1:3: error: unknown keyword 'server' out of section\n")), "{}", run.stderr);
    // fmt takes the same paths, each file on its own, in load order.
    let files = [main.clone(), format!("{conf_d}/10-app.cfg"), format!("{conf_d}/20-api.cfg")];
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    let canonical: Vec<String> = texts.iter().map(|t| t.replace("\n  ", "\n    ")).collect();
    let run = fleet(&["config", "fmt", &main, &conf_d]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout, canonical.concat(), "each file formatted, one after the other");
    let run = fleet(&["config", "fmt", "--check", &main, &conf_d]);
    assert_eq!(run.code, 1, "two-space indents are not canonical");
    assert_eq!(run.stderr, files.iter().map(|f| format!("{f}: not formatted\n")).collect::<String>());
    for (file, text) in files.iter().zip(&texts) {
        let diff = fleet_core::diff::diff_labeled(text, &text.replace("\n  ", "\n    "), file, file).unified;
        assert!(run.stdout.contains(&diff), "the diff of {file} in:\n{}", run.stdout);
    }
    let run = fleet(&["config", "fmt", "--write", &main, &conf_d]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, "", ""));
    let written: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    assert_eq!(written, canonical);
    assert_eq!(std::fs::read_to_string(dir.path().join("conf.d/.hidden.cfg")).unwrap(), "bogus\n", "only the loaded files");
    let run = fleet(&["config", "fmt", "--check", &main, &conf_d]);
    assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, "", ""));
}

#[test]
fn check_with_haproxy_names_the_file_of_each_finding() {
    let Some(haproxy) = fleet_tests::haproxy_check_bin() else { return };
    let dir = Scratch::new();
    let main = dir.file("haproxy.cfg", "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\nfrontend fe\n  bind 127.0.0.1:18090\n  default_backend api\n");
    let api = dir.file("api.cfg", "backend api\n  server a1 127.0.0.1:8081\n  frobnicate on\n");
    let bin = haproxy.display().to_string();
    let run = fleet(&["config", "check", &main, &api, "--haproxy-bin", &bin]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{api}:3:3: error: haproxy: unknown keyword 'frobnicate'")), "{}", run.stderr);
    let fixed = dir.file("api.cfg", "backend api\n  server a1 127.0.0.1:8081\n");
    let run = fleet(&["config", "check", &main, &fixed, "--haproxy-bin", &bin]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn diff_compares_directories_file_by_file() {
    let dir = Scratch::new();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for d in [&old, &new] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("a.cfg"), GOOD).unwrap();
    }
    std::fs::write(old.join("gone.cfg"), "backend x\n").unwrap();
    std::fs::write(new.join("b.cfg"), GOOD.replace("maxconn 100", "maxconn 200")).unwrap();
    std::fs::write(old.join("b.cfg"), GOOD).unwrap();
    let (o, n) = (old.display().to_string(), new.display().to_string());
    let run = fleet(&["config", "diff", &o, &n]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains(&format!("--- {o}/b.cfg\n+++ {n}/b.cfg\n")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("only in {o}: gone.cfg\n")), "{}", run.stdout);
    assert!(!run.stdout.contains("a.cfg"), "{}", run.stdout);
    assert_eq!(fleet(&["config", "diff", &o, &o]).code, 0);
    assert_eq!(fleet(&["config", "diff", &o, &format!("{o}/a.cfg")]).code, 2);
}

#[test]
fn input_that_is_not_utf8_is_an_error_naming_the_file_and_offset() {
    let dir = Scratch::new();
    let file = dir.file("latin1.cfg", b"global\n  # caf\xe9\n".as_slice());
    for command in ["parse", "fmt", "check"] {
        let run = fleet(&["config", command, &file]);
        assert_eq!(run.code, 2, "{command}");
        assert_eq!(
            run.stderr,
            format!("fleet: error: {file}: not UTF-8: invalid byte sequence at byte offset 14 (line 2)\n"),
            "{command}"
        );
    }
}

#[test]
fn a_missing_file_is_an_io_error() {
    let run = fleet(&["config", "check", "/nonexistent/haproxy.cfg"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("fleet: error: /nonexistent/haproxy.cfg: No such file"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["config"][..],
        &["config", "check"],
        &["config", "fmt", "--check", "--write", "x.cfg"],
        &["config", "parse", "x.cfg", "--emit", "yaml"],
        &["config", "frobnicate"],
        &["config", "check", "--haproxy-arg=-dr", "x.cfg"],
    ] {
        let run = fleet(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(fleet(&["config", "--help"]).code, 0);
}

#[test]
fn diff_prints_the_summary_then_the_unified_diff() {
    let dir = Scratch::new();
    let a = dir.file("a.cfg", GOOD);
    let b = dir.file("b.cfg", GOOD.replace("127.0.0.1:8081 check", "127.0.0.1:8081 check weight 5"));
    let run = fleet(&["config", "diff", &a, &b]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected_head = format!(
        "~ backend app\n    ~ server s1 (weight)\n\n--- {a}\n+++ {b}\n@@ -12,4 +12,4 @@\n"
    );
    assert!(run.stdout.starts_with(&expected_head), "{}", run.stdout);
    assert!(run.stdout.contains("+  server s1 127.0.0.1:8081 check weight 5\n"));

    let run = fleet(&["config", "diff", &a, &a]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));

    let formatted = dir.file("c.cfg", CANONICAL);
    let run = fleet(&["config", "diff", &a, &formatted]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("no structural changes (layout or comments only)\n"), "{}", run.stdout);

    let run = fleet(&["config", "diff", "--json", &a, &b]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["summary"][0]["directives"][0]["directive"], "server s1");
}

#[test]
fn diff_marks_privileged_directives() {
    let dir = Scratch::new();
    let a = dir.file("a.cfg", GOOD);
    let checked = GOOD
        .replace("global\n", "global\n  insecure-fork-wanted\n  external-check\n")
        .replace("\nbackend app\n", "\nbackend app\n  option external-check\n  external-check command /bin/true\n");
    let b = dir.file("b.cfg", checked);
    let run = fleet(&["config", "diff", &a, &b]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "! privileged: insecure-fork-wanted (insecure-fork) at line 2\n\
             ! privileged: external-check (external-check) at line 3\n\
             ! privileged: external-check command /bin/true (external-check) at line 18\n\n--- "
        ),
        "{}",
        run.stdout
    );
    let run = fleet(&["config", "diff", "--json", &a, &b]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["privileged"][2]["directive"], "external-check command /bin/true");
    assert_eq!(json["privileged"][2]["line"], 18);
    // Taking them out is not privileged.
    let run = fleet(&["config", "diff", &b, &a]);
    assert!(!run.stdout.contains("! privileged"), "{}", run.stdout);
}

#[test]
fn check_reports_every_file_even_when_one_cannot_be_read() {
    let dir = Scratch::new();
    let bad = dir.file("bad.cfg", "frontend fe\n  default_backend nowhere\n");
    let run = fleet(&["config", "check", "/nonexistent.cfg", &bad]);
    assert_eq!(run.code, 2, "an unreadable file outranks problems found");
    assert!(run.stderr.starts_with("fleet: error: /nonexistent.cfg: "), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{bad}:2:")), "{}", run.stderr);
}
