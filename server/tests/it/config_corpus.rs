//! `fleet config check --haproxy-bin` over the corpus: every file of `haproxy/valid` is accepted
//! (exit 0; warnings allowed), every file of `haproxy/invalid` is rejected (exit 1), each with
//! the manifest's `check_args`. Each file is checked from a folder that holds only that file, as
//! the corpus was made; two checks run at a time.

use std::path::{Path, PathBuf};

use crate::support::{corpus_dir, fleet_in, haproxy_bin, Scratch};

/// `(path, check_args)` of the manifest rows under `folder`.
fn rows(corpus: &Path, folder: &str) -> Vec<(PathBuf, Vec<String>)> {
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .map(|row| row.split('\t').collect::<Vec<_>>())
        .filter(|cols| cols.len() >= 8 && cols[0].starts_with(folder))
        .map(|cols| (corpus.join(cols[0]), cols[6].split_whitespace().map(str::to_string).collect()))
        .collect()
}

/// Checks every file and returns `(file, exit code, stderr)` of those whose exit code is not `want`.
fn check_all(haproxy: &Path, files: &[(PathBuf, Vec<String>)], want: i32) -> Vec<(String, i32, String)> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (path, check_args) in files.iter().skip(worker).step_by(2) {
                        let dir = Scratch::new();
                        let name = path.file_name().unwrap().to_str().unwrap();
                        dir.file(name, std::fs::read(path).unwrap());
                        let mut args = vec!["config", "check", name, "--haproxy-bin", haproxy.to_str().unwrap()];
                        let extra: Vec<String> = check_args.iter().map(|a| format!("--haproxy-arg={a}")).collect();
                        args.extend(extra.iter().map(String::as_str));
                        let run = fleet_in(dir.path(), &args, b"");
                        if run.code != want {
                            failures.push((path.display().to_string(), run.code, run.stderr));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

#[test]
fn check_with_haproxy_accepts_every_valid_file() {
    let (Some(corpus), Some(haproxy)) = (corpus_dir(), haproxy_bin()) else { return };
    let files = rows(&corpus, "haproxy/valid/");
    assert!(files.len() > 400, "only {} valid files", files.len());
    let failures = check_all(&haproxy, &files, 0);
    assert!(failures.is_empty(), "{} of {} valid files rejected: {failures:#?}", failures.len(), files.len());
}

#[test]
fn check_with_haproxy_rejects_every_invalid_file() {
    let (Some(corpus), Some(haproxy)) = (corpus_dir(), haproxy_bin()) else { return };
    let files = rows(&corpus, "haproxy/invalid/");
    assert!(files.len() > 40, "only {} invalid files", files.len());
    let failures = check_all(&haproxy, &files, 1);
    assert!(failures.is_empty(), "{} of {} invalid files accepted: {failures:#?}", failures.len(), files.len());
}
