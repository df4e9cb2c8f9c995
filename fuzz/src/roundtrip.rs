//! The `haproxy_roundtrip` invariant: any UTF-8 text parses without panicking and renders back
//! byte for byte (`lossless(parse(s)) == s`); the offline checker does not panic either, and
//! every diagnostic points at a line of the input. The canonical `format` keeps every word's raw
//! text in order and is idempotent (`format(parse(format(d))) == format(d)`).
//!
//! Shared by the fuzz target and by `haproxy-parse/tests/it/fuzz_regressions.rs` (which includes
//! this file with `#[path]`), so saved inputs replay through exactly the same checks.

use haproxy_model::Document;
use haproxy_parse::{check, parse};
use haproxy_render::{format, lossless};

/// Checks one input; panics when an invariant does not hold (the fuzzer's crash signal).
/// Input that is not UTF-8 is skipped: configuration text is read as UTF-8 before parsing.
pub fn check_roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse(text);
    let rendered = lossless(&parsed.document);
    assert!(rendered == text, "lossless render differs from the input\n input: {text:?}\noutput: {rendered:?}");

    // A file of n lines (the last one maybe unterminated) can be pointed at up to line n + 1.
    let lines = text.split('\n').count();
    let checked = check(text);
    for diagnostic in &checked.diagnostics {
        assert!(
            diagnostic.position.line as usize <= lines,
            "diagnostic past the end of a {lines}-line input: {diagnostic:?}\ninput: {text:?}"
        );
    }

    let once = format(&parsed.document);
    let reformatted = parse(&once).document;
    assert!(
        words(&reformatted) == words(&parsed.document),
        "format changed the words\n input: {text:?}\nformat: {once:?}"
    );
    let twice = format(&reformatted);
    assert!(twice == once, "format is not idempotent\n input: {text:?}\n  once: {once:?}\n twice: {twice:?}");
}

/// Every word's raw text, in file order: what `format` must not change.
fn words(document: &Document) -> Vec<&str> {
    document.lines().flat_map(|line| line.words().iter().map(|w| w.raw())).collect()
}
