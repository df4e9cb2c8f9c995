//! Hand-written lossless cases: the awkward corners of the grammar.

use haproxy_model::{LineEnding, SectionKind};
use haproxy_parse::parse;
use haproxy_render::lossless;

fn round_trip(text: &str) {
    assert_eq!(lossless(&parse(text).document), text, "input {text:?}");
}

#[test]
fn keeps_layout_exactly() {
    for text in [
        "",
        "\n",
        "global",
        "global\r\n\tmaxconn 10 \r\n",
        "# lead\n\nglobal # c\n  log stdout format raw local0\t\n\n\n",
        "frontend fe\n    bind :80\n.if defined(X)\n  bind :81\n.endif\n",
        "backend b\n  server s 127.0.0.1:80 check # last",
        "defaults\n  timeout client \"${T-5s}\"\n",
        "listen l\n  http-request set-header X-A 'a b'\\ c\n",
        " \t \n\r\n\r",
        "frontend fe\n bind :80\r  odd\n",
    ] {
        round_trip(text);
    }
}

#[test]
fn groups_lines_into_sections() {
    let parsed = parse("# c\nglobal\n  daemon\n\ndefaults d from x\nbackend app from d\n  server a 1.2.3.4:80\n");
    let doc = &parsed.document;
    assert_eq!(doc.preamble().len(), 1);
    let kinds: Vec<_> = doc.sections().iter().map(|s| s.kind().clone()).collect();
    assert_eq!(kinds, [SectionKind::Global, SectionKind::Defaults, SectionKind::Backend]);
    assert_eq!(doc.sections()[1].name().as_deref(), Some("d"));
    assert_eq!(doc.sections()[1].from().as_deref(), Some("x"));
    assert_eq!(doc.sections()[2].from().as_deref(), Some("d"));
    assert_eq!(doc.sections()[0].lines().len(), 2);
}

#[test]
fn reads_line_endings() {
    let doc = parse("global\r\n  daemon").document;
    assert_eq!(doc.sections()[0].header().ending(), LineEnding::CrLf);
    assert_eq!(doc.sections()[0].lines()[0].ending(), LineEnding::None);
}

#[test]
fn reports_unbalanced_conditionals() {
    let parsed = parse("global\n.if defined(A)\n  daemon\n.endif\n.endif\n.if 1\n");
    let messages: Vec<_> = parsed.diagnostics.iter().map(|d| (d.position.line, d.message.as_str())).collect();
    assert_eq!(
        messages,
        [(5, "'.endif' appears without a previous '.if'"), (6, "'.if' block is never closed by '.endif'")]
    );
}

#[test]
fn never_panics_on_odd_input() {
    for text in ["\"", "'", "\\", "a\\", "\"${", "\"$", "\\x", "#", "\u{0}", "\"\\", ".if", ".endif", ".else\n.else"] {
        round_trip(text);
    }
}
