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

/// The real-world cases folder: `$FLEET_CASES`, else `../shared/cases` beside the workspace.
pub(crate) fn cases_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FLEET_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/cases"));
    if dir.join("expected.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!("cases folder not found at {}: skipping", dir.display());
        None
    }
}

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
        let name = format!("fleet-kadiff-{}", std::process::id());
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
