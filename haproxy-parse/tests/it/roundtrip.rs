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

/// Edits must leave a document that parses back to itself.
fn assert_stable(doc: &haproxy_model::Document) {
    let text = lossless(doc);
    assert_eq!(&parse(&text).document, doc, "rendered {text:?}");
}

#[test]
fn a_braced_env_default_may_hold_a_double_quote() {
    // HAProxy reads `${T-"}` to its brace: the quote inside is the default, not the closing quote.
    let doc = parse("global\n  setenv X \"${T-\"}\" after\n").document;
    let line = &doc.sections()[0].lines()[0];
    assert_eq!(line.words().len(), 4);
    assert_eq!(line.value(2).as_deref(), Some("${T-\"}"));
}

#[test]
fn a_word_ending_in_a_backslash_stays_apart_from_what_follows() {
    let mut doc = parse("global\n  x foo\\").document;
    let line = &mut doc.sections_mut()[0].lines_mut()[0];
    line.push_word("bar");
    assert_eq!(line.values(), ["x", "foo\\", "bar"]);
    let mut doc2 = parse("global\n  x foo\\\n").document;
    doc2.sections_mut()[0].lines_mut()[0].set_comment(Some("# c"));
    assert_stable(&doc);
    assert_stable(&doc2);
    assert_eq!(doc2.sections()[0].lines()[0].values(), ["x", "foo\\"]);
}

#[test]
fn terminating_a_line_that_ends_in_a_lone_cr_keeps_it_an_lf_line() {
    let mut doc = parse("global\n  daemon \r").document;
    doc.sections_mut()[0].lines_mut()[0].set_ending(LineEnding::Lf);
    assert_stable(&doc);
    assert_eq!(lossless(&doc), "global\n  daemon \n");
}

#[test]
fn removing_the_last_line_after_an_empty_line_keeps_that_line() {
    let mut doc = parse("global\n  daemon\n\n  maxconn 1").document;
    doc.sections_mut()[0].remove_line(2);
    assert_stable(&doc);
    assert_eq!(lossless(&doc), "global\n  daemon\n\n");
}

#[test]
fn a_quoted_conditional_keyword_is_still_a_conditional() {
    let parsed = parse("global\n\".if\" defined(X)\n");
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    assert!(parsed.diagnostics[0].message.contains("never closed"));
}

#[test]
fn a_lone_cr_ends_a_word_even_inside_quotes() {
    // HAProxy stops reading a line at any `\r`; an open quote does not carry a word past it.
    let mut doc = parse("global\n  x \"abc\r").document;
    assert_eq!(doc.sections()[0].lines()[0].words()[1].raw(), "\"abc");
    doc.push_section(haproxy_model::Section::new(SectionKind::Backend, Some("b")));
    assert_stable(&doc);
}

#[test]
fn removing_the_word_after_a_lone_cr_keeps_an_lf_line() {
    let mut doc = parse("global\n\rdaemon\n").document;
    doc.sections_mut()[0].lines_mut()[0].remove_word(0);
    assert_stable(&doc);
}
