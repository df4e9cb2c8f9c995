//! The `haproxy_roundtrip` invariant: any UTF-8 text parses without panicking and renders back
//! byte for byte (`lossless(parse(s)) == s`); the offline checker does not panic either, and
//! every diagnostic points at a line of the input.
//!
//! Shared by the fuzz target and by `haproxy-parse/tests/it/fuzz_regressions.rs` (which includes
//! this file with `#[path]`), so saved inputs replay through exactly the same checks.

use haproxy_parse::{check, parse};
use haproxy_render::lossless;

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
}
