//! Keepalived files of the shared corpus (`../shared/corpus/keepalived`), read in place: every
//! file re-renders byte for byte, `fmt` is idempotent, valid files parse and check clean.

// Helpers outside `#[test]` functions are test code too.

use std::path::{Path, PathBuf};

use haproxy_parse::keepalived::{check, parse};
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
