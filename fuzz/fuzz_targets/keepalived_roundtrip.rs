//! keepalived.conf, any UTF-8 input: parsing and checking never panic, `lossless(parse(s)) == s`
//! byte for byte, and for input without syntax errors `fmt` is idempotent and keeps every word.
#![no_main]

use haproxy_model::keepalived::{Document, Statement};
use haproxy_parse::keepalived::{check, parse};
use haproxy_render::keepalived::{format, lossless};
use libfuzzer_sys::fuzz_target;

/// Every word's raw text and the braces, in reading order: what keepalived reads.
fn words(document: &Document) -> Vec<String> {
    fn walk(statements: &[Statement], out: &mut Vec<String>) {
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = check(text);
    assert_eq!(lossless(&parsed.document), text, "not lossless");
    if parsed.has_errors() {
        return;
    }
    let once = format(&parsed.document);
    let reparsed = parse(&once);
    assert!(!reparsed.has_errors(), "fmt output has errors: {:?}\n{once}", reparsed.diagnostics);
    assert_eq!(words(&reparsed.document), words(&parsed.document), "fmt changed the words");
    assert_eq!(format(&reparsed.document), once, "fmt is not idempotent");
});
