//! `format` over the shared conformance corpus (`$FLEET_CORPUS`, else `../shared/corpus`), read
//! in place: idempotent on every file, and never loses or alters a word or a comment.

use std::path::{Path, PathBuf};

use haproxy_model::Document;
use haproxy_parse::parse;
use haproxy_render::format;

pub(crate) use fleet_tests::corpus_dir;

/// Every HAProxy file of the corpus (valid, parse-only, invalid), sorted.
fn haproxy_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["valid", "parse-only", "invalid"] {
        let dir = corpus.join("haproxy").join(folder);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What `format` must keep: for every non-blank line, its word raws and its comment (trailing
/// blanks aside), in order.
fn content(document: &Document) -> Vec<(Vec<String>, Option<String>)> {
    document
        .lines()
        .filter(|line| !line.words().is_empty() || line.comment().is_some())
        .map(|line| {
            let words = line.words().iter().map(|w| w.raw().to_string()).collect();
            let comment = line.comment().map(|c| c.trim_end_matches([' ', '\t', '\r', '\u{b}', '\u{c}']).to_string());
            (words, comment)
        })
        .collect()
}

#[test]
fn format_is_idempotent_and_keeps_every_word_and_comment() {
    let Some(corpus) = corpus_dir() else { return };
    let files = haproxy_files(&corpus);
    assert!(files.len() > 500, "only {} corpus files found", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let document = parse(&text).document;
        let once = format(&document);
        let reparsed = parse(&once).document;
        let twice = format(&reparsed);
        if once != twice {
            failures.push(format!("{}: not idempotent", path.display()));
        }
        if content(&document) != content(&reparsed) {
            failures.push(format!("{}: words or comments changed", path.display()));
        }
        if once.contains("\r") && !text.contains('\r') {
            failures.push(format!("{}: introduced a carriage return", path.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn formatted_corpus_files_have_canonical_layout() {
    let Some(corpus) = corpus_dir() else { return };
    for path in haproxy_files(&corpus) {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format(&parse(&text).document);
        let name = path.display();
        assert!(!formatted.contains("\n\n\n"), "{name}: blank run kept");
        assert!(formatted.is_empty() || formatted.ends_with('\n'), "{name}: no final newline");
        assert!(!formatted.starts_with('\n'), "{name}: leading blank line");
        let formatted_document = parse(&formatted).document;
        for line in formatted_document.lines() {
            let indent = line.indent();
            assert!(indent.is_empty() || indent == "    ", "{name}: indent {indent:?} in {:?}", line.text());
            for word in line.words().iter().rev().skip(1) {
                assert_eq!(word.after(), " ", "{name}: {:?}", line.text());
            }
        }
        for section in formatted_document.sections() {
            assert_eq!(section.header().indent(), "", "{name}");
        }
    }
}

fn jsonl(corpus: &Path, name: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(corpus.join("haproxy/lines").join(name)).unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Idempotent and word-keeping on one text, or why not.
fn format_failure(text: &str) -> Option<String> {
    let document = parse(text).document;
    let once = format(&document);
    let reparsed = parse(&once).document;
    if format(&reparsed) != once {
        return Some(format!("not idempotent: {text:?} -> {once:?}"));
    }
    (content(&document) != content(&reparsed)).then(|| format!("words or comments changed: {text:?} -> {once:?}"))
}

#[test]
fn format_is_idempotent_on_every_config_parser_line_and_snippet() {
    let Some(corpus) = corpus_dir() else { return };
    let mut texts = Vec::new();
    for entry in jsonl(&corpus, "ok.jsonl") {
        let section = entry["section"].as_str().unwrap();
        let header = if matches!(section, "global" | "defaults") { section.to_string() } else { format!("{section} test") };
        let body: String = entry["line"].as_str().unwrap().split('\n').map(|l| format!("  {l}\n")).collect();
        texts.push(format!("{header}\n{body}"));
    }
    for entry in jsonl(&corpus, "snippets.jsonl") {
        texts.push(entry["config"].as_str().unwrap().to_string());
    }
    assert!(texts.len() > 5000, "only {} lines and snippets", texts.len());
    let failures: Vec<String> = texts.iter().filter_map(|t| format_failure(t)).collect();
    assert!(failures.is_empty(), "{} failures: {:#?}", failures.len(), &failures[..failures.len().min(20)]);
}
