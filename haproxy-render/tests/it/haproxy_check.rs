//! The acceptance test that matters most for `fmt`: every file of `corpus/haproxy/valid`,
//! formatted, still passes the real `haproxy -c` with the manifest's `check_args` and exit
//! status, and the offline check (`haproxy_parse::check`) finds no error in it. Checks run as the corpus was made: from a folder that holds only the file, with an
//! environment of `PATH` alone. Two checks run at a time.

use std::path::Path;
use std::process::Command;

use haproxy_parse::parse;
use haproxy_render::format;

use crate::corpus::corpus_dir;

use fleet_tests::haproxy_check_bin as haproxy_bin;

/// One manifest row of a valid HAProxy file.
struct Expectation {
    path: String,
    check_args: Vec<String>,
    check_rc: i32,
}

fn valid_expectations(corpus: &Path) -> Vec<Expectation> {
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .map(|row| row.split('\t').collect::<Vec<_>>())
        .filter(|cols| cols.len() >= 8 && cols[0].starts_with("haproxy/valid/"))
        .map(|cols| Expectation {
            path: cols[0].to_string(),
            check_args: cols[6].split_whitespace().map(str::to_string).collect(),
            check_rc: cols[7].parse().unwrap(),
        })
        .collect()
}

/// Formats one file, checks it in a fresh folder, and returns a failure message if any.
fn check_formatted(haproxy: &Path, corpus: &Path, expectation: &Expectation, scratch: &Path) -> Option<String> {
    let source = corpus.join(&expectation.path);
    let text = std::fs::read_to_string(&source).unwrap();
    let formatted = format(&parse(&text).document);
    // The offline check must not raise a false alarm on the formatted file either.
    let errors: Vec<String> = haproxy_parse::check(&formatted)
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.display_with_path(&expectation.path).to_string())
        .collect();
    if !errors.is_empty() {
        return Some(format!("{}: offline check of the formatted file: {errors:#?}", expectation.path));
    }
    let name = source.file_name().unwrap();
    std::fs::create_dir_all(scratch).unwrap();
    std::fs::write(scratch.join(name), &formatted).unwrap();
    let output = Command::new(haproxy)
        .arg("-c")
        .args(&expectation.check_args)
        .arg("-f")
        .arg(name)
        .current_dir(scratch)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    std::fs::remove_dir_all(scratch).unwrap();
    let rc = output.status.code().unwrap_or(-1);
    (rc != expectation.check_rc).then(|| {
        format!(
            "{}: haproxy -c exited {rc}, expected {}\n{}",
            expectation.path,
            expectation.check_rc,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn formatted_valid_files_still_pass_haproxy_check() {
    let Some(corpus) = corpus_dir() else { return };
    let Some(haproxy) = haproxy_bin() else { return };
    let expectations = valid_expectations(&corpus);
    assert!(expectations.len() > 400, "only {} valid files in the manifest", expectations.len());
    let scratch = std::env::temp_dir().join(format!("haproxy-render-fmt-check-{}", std::process::id()));
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let (haproxy, corpus, expectations, scratch) = (&haproxy, &corpus, &expectations, &scratch);
                scope.spawn(move || {
                    expectations
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 2 == worker)
                        .filter_map(|(i, e)| check_formatted(haproxy, corpus, e, &scratch.join(i.to_string())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir(&scratch);
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), expectations.len(), failures.join("\n"));
}
