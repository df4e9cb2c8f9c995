//! The shared conformance corpus (`../shared/corpus`), read in place: every file must re-render
//! byte for byte. When the folder is absent the tests say so and pass without checking.

use std::path::PathBuf;

use haproxy_parse::parse;
use haproxy_render::lossless;

pub(crate) use fleet_tests::corpus_dir;

fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_haproxy_file_round_trips_byte_for_byte() {
    let Some(corpus) = corpus_dir() else { return };
    let mut checked = 0;
    let mut failures = Vec::new();
    for folder in ["valid", "parse-only", "invalid"] {
        for path in files_under(&corpus.join("haproxy").join(folder)) {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{}: not UTF-8: {e}", path.display()));
            let rendered = lossless(&parse(&text).document);
            if rendered != text {
                failures.push(path.display().to_string());
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "not lossless: {failures:#?}");
    assert!(checked > 500, "only {checked} corpus files found");
}

#[test]
fn valid_files_have_no_syntax_errors() {
    let Some(corpus) = corpus_dir() else { return };
    for path in files_under(&corpus.join("haproxy/valid")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse(&text);
        let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

fn jsonl(corpus: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(corpus.join("haproxy/lines").join(name)).unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Places `line` in a section of type `section`, the way the corpus README asks.
pub(crate) fn in_section(section: &str, line: &str) -> String {
    let header = match section {
        "global" | "defaults" => section.to_string(),
        other => format!("{other} test"),
    };
    let body: String = line.split('\n').map(|l| format!("  {l}\n")).collect();
    format!("{header}\n{body}")
}

#[test]
fn every_config_parser_line_round_trips_in_its_section() {
    let Some(corpus) = corpus_dir() else { return };
    let entries = jsonl(&corpus, "ok.jsonl");
    assert!(entries.len() > 1000);
    for entry in entries {
        let text = in_section(entry["section"].as_str().unwrap(), entry["line"].as_str().unwrap());
        let parsed = parse(&text);
        assert_eq!(lossless(&parsed.document), text);
        // The line must land inside the section, not open one of its own.
        assert_eq!(parsed.document.sections().len(), 1, "{text}");
    }
}

#[test]
fn every_config_parser_snippet_round_trips() {
    let Some(corpus) = corpus_dir() else { return };
    let entries = jsonl(&corpus, "snippets.jsonl");
    assert!(entries.len() > 3000);
    for entry in entries {
        let text = entry["config"].as_str().unwrap();
        assert_eq!(lossless(&parse(text).document), text);
    }
}
