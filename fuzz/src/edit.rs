//! The `haproxy_edit` invariant: after any typed edit, the document renders to text that parses
//! back to the same document (`parse(render(x)) == x`) and renders again to the same text
//! (`render(parse(render(x))) == render(x)`).
//!
//! Input layout: the bytes before the first `0xFF` (a byte UTF-8 never uses) are the
//! configuration text; the bytes after it drive [`arbitrary`] to pick a list of [`Edit`]s. A
//! plain configuration file is therefore a valid input with no edit, which lets the corpus seed
//! this target as it is, and the fuzzer grows edits by appending bytes.
//!
//! Edits go through the model's public API only, and respect its documented contracts: a body
//! line never starts with a section keyword (that would be a new section), a header keeps its
//! keyword (`Section::header_mut`), comments start with `#` and hold no line break. An edit that
//! would break a contract is skipped, not applied. Typed edits go through `ProxyMut` and its
//! server editor (`haproxy_model::views`) and check that the views read back what they set.
//!
//! Shared by the fuzz target and by `haproxy-parse/tests/it/fuzz_regressions.rs` (which includes
//! this file with `#[path]`).

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use haproxy_model::keywords::server::arity as server_arity;
use haproxy_model::keywords::Arity;
use haproxy_model::Param;
use haproxy_model::{Document, Line, LineEnding, LineKind, ProxyMut, Section, SectionKind, Word};
use haproxy_parse::parse;
use haproxy_render::lossless;

/// Separates the configuration text from the bytes that choose the edits.
pub const SEPARATOR: u8 = 0xFF;

/// At most this many edits per input, so that one input stays fast.
const MAX_EDITS: usize = 16;

/// Section keywords an added section may take (`Unknown` ones included).
const SECTION_KEYWORDS: &[&str] = &[
    "global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers", "mailers",
    "program", "http-errors", "ring", "cache", "fcgi-app", "crt-store", "log-forward", "traces",
];

/// One typed edit. Indices are reduced modulo the number of candidates.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    /// `Line::set_value` on any line of the file (header, body or preamble).
    SetValue { line: u32, word: u8, value: String },
    /// `Line::insert_word`.
    InsertWord { line: u32, word: u8, value: String },
    /// `Line::remove_word`.
    RemoveWord { line: u32, word: u8 },
    /// `Line::set_comment` (the text gets its `#`).
    SetComment { line: u32, comment: Option<String> },
    /// `Section::insert_line` of a new statement.
    InsertStatement { section: u16, at: u16, words: Vec<String> },
    /// `Section::push_statement`.
    PushStatement { section: u16, words: Vec<String> },
    /// `Section::insert_line` of a comment line.
    InsertComment { section: u16, at: u16, text: String },
    /// `Section::remove_line`.
    RemoveLine { section: u16, at: u16 },
    /// `Section::set_name`.
    SetName { section: u16, name: String },
    /// `Section::set_from`.
    SetFrom { section: u16, from: Option<String> },
    /// `Document::push_section` of `Section::new`.
    AddSection { keyword: u8, name: Option<String> },
    /// `Document::remove_section`.
    RemoveSection { section: u16 },
    /// A typed edit through `ProxyMut` on a proxy or defaults section.
    Proxy { section: u16, edit: ProxyEdit },
}

/// Typed edits of `haproxy_model::views`. Server indices are reduced modulo the server count.
#[derive(Debug, Arbitrary)]
pub enum ProxyEdit {
    SetMode(Option<String>),
    SetMaxconn(Option<u32>),
    SetDefaultBackend(Option<String>),
    SetTimeout { name: String, seconds: u32 },
    SetOption { name: String, state: Option<bool> },
    AddLog(Vec<String>),
    AddServer { name: String, address: String, params: Vec<String> },
    SetWeight { server: u8, weight: u32 },
    SetServerParam { server: u8, keyword: String, value: Option<String> },
    SetServerFlag { server: u8, keyword: String, on: bool },
    RemoveServer { server: u8 },
    AddBind { address: String, params: Vec<String> },
    AddAcl { name: String, criterion: String, patterns: Vec<String> },
    RemoveAcl { name: String },
    AddUseBackend { backend: String },
}

/// Splits an input into its configuration text and its edit bytes; `None` when the text part
/// is not UTF-8.
pub fn split_input(data: &[u8]) -> Option<(&str, &[u8])> {
    let at = data.iter().position(|&b| b == SEPARATOR).unwrap_or(data.len());
    let text = std::str::from_utf8(&data[..at]).ok()?;
    Some((text, data.get(at + 1..).unwrap_or(&[])))
}

/// Checks one input; panics when an invariant does not hold (the fuzzer's crash signal).
pub fn check_edit(data: &[u8]) {
    let Some((text, edit_bytes)) = split_input(data) else { return };
    let mut document = parse(text).document;
    assert_stable(&document, "the parsed input");
    let mut u = Unstructured::new(edit_bytes);
    for _ in 0..MAX_EDITS {
        if u.is_empty() {
            break;
        }
        let Ok(edit) = Edit::arbitrary(&mut u) else { break };
        let description = format!("{edit:?}");
        apply(&mut document, edit);
        assert_stable(&document, &description);
    }
}

/// `parse(render(x)) == x` and `render(parse(render(x))) == render(x)`; `after` names the last edit.
pub fn assert_stable(document: &Document, after: &str) {
    let rendered = lossless(document);
    let reparsed = parse(&rendered).document;
    let expected = without_phantom_last_line(document);
    assert!(
        reparsed == expected,
        "parse(render(x)) != x after {after}\nrendered: {rendered:?}\n   model: {document:#?}\nreparsed: {reparsed:#?}"
    );
    let again = lossless(&reparsed);
    assert!(again == rendered, "render(parse(render(x))) != render(x) after {after}\n{rendered:?}\n{again:?}");
}

/// `document` without a last line that renders to nothing (no indent, word or comment, and no
/// line ending). Text cannot hold such a line, yet the model can reach it by removing the only
/// word of an unterminated last line (removing a whole word list is a line removal in disguise).
fn without_phantom_last_line(document: &Document) -> Document {
    let mut document = document.clone();
    let lines = match document.sections_mut().last_mut() {
        Some(section) => section.lines_mut(),
        None => document.preamble_mut(),
    };
    if lines.last().is_some_and(|l| l.ending() == LineEnding::None && l.text().is_empty()) {
        lines.pop();
    }
    document
}

/// Where a line sits: its role decides which edits keep the document well-formed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Preamble,
    Header,
    Body,
}

/// The `n`-th line of the file (modulo the line count), with its place.
fn line_mut(document: &mut Document, n: u32) -> Option<(Place, &mut Line)> {
    let total = document.lines().count();
    if total == 0 {
        return None;
    }
    let mut n = n as usize % total;
    if n < document.preamble().len() {
        return Some((Place::Preamble, &mut document.preamble_mut()[n]));
    }
    n -= document.preamble().len();
    for section in document.sections_mut() {
        if n == 0 {
            return Some((Place::Header, section.header_mut()));
        }
        n -= 1;
        if n < section.lines().len() {
            return Some((Place::Body, &mut section.lines_mut()[n]));
        }
        n -= section.lines().len();
    }
    None
}

/// True when `line` would open a section where it stands.
fn opens_section(line: &Line) -> bool {
    line.kind() == LineKind::Statement && line.keyword().is_some_and(|k| SectionKind::from_keyword(&k).is_some())
}

/// True when the words of `line` can be edited one by one: the line must be free of syntax
/// errors. A word with an unterminated quote runs to the end of the line, so the text after it
/// is not independent of it and the model does not support word edits there.
fn editable(line: &Line) -> bool {
    line.words().iter().all(|w| w.try_value().is_ok()) && haproxy_parse::parse_line(&line.text()).is_ok()
}

/// Applies a word-level edit to a copy of the line and keeps it only when the line keeps its role:
/// a header keeps its keyword, other lines do not become headers.
fn edit_line(document: &mut Document, n: u32, f: impl FnOnce(&mut Line)) {
    let Some((place, line)) = line_mut(document, n) else { return };
    if !editable(line) {
        return;
    }
    let mut edited = line.clone();
    f(&mut edited);
    let keeps_role = match place {
        Place::Header => edited.words().first().map(Word::raw) == line.words().first().map(Word::raw),
        Place::Preamble | Place::Body => !opens_section(&edited),
    };
    if keeps_role {
        *line = edited;
    }
}

/// A comment as `set_comment` expects it: `#`, then text without line breaks.
fn comment_text(text: &str) -> String {
    let text: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
    format!("#{text}")
}

fn section_index(document: &Document, n: u16) -> Option<usize> {
    let len = document.sections().len();
    (len > 0).then(|| n as usize % len)
}

/// Applies `edit` to `document`, skipping it when it would break a contract of the model.
pub fn apply(document: &mut Document, edit: Edit) {
    match edit {
        Edit::SetValue { line, word, value } => edit_line(document, line, |l| {
            if l.set_value(word as usize, &value) {
                assert_eq!(l.value(word as usize).as_deref(), Some(value.as_str()), "set_value then value");
            }
        }),
        Edit::InsertWord { line, word, value } => edit_line(document, line, |l| l.insert_word(word as usize, &value)),
        Edit::RemoveWord { line, word } => edit_line(document, line, |l| {
            l.remove_word(word as usize);
        }),
        Edit::SetComment { line, comment } => {
            edit_line(document, line, |l| l.set_comment(comment.as_deref().map(comment_text).as_deref()))
        }
        Edit::InsertStatement { section, at, words } => {
            let statement = Line::statement("", &words);
            if opens_section(&statement) {
                return;
            }
            if let Some(s) = section_index(document, section) {
                document.sections_mut()[s].insert_line(at as usize, statement);
            }
        }
        Edit::PushStatement { section, words } => {
            if opens_section(&Line::statement("", &words)) {
                return;
            }
            if let Some(s) = section_index(document, section) {
                document.sections_mut()[s].push_statement(&words);
            }
        }
        Edit::InsertComment { section, at, text } => {
            if let Some(s) = section_index(document, section) {
                document.sections_mut()[s].insert_line(at as usize, Line::comment_line("", &comment_text(&text)[1..]));
            }
        }
        Edit::RemoveLine { section, at } => {
            if let Some(s) = section_index(document, section) {
                let section = &mut document.sections_mut()[s];
                let len = section.lines().len();
                if len > 0 {
                    section.remove_line(at as usize % len);
                }
            }
        }
        Edit::SetName { section, name } => {
            if let Some(s) = section_index(document, section).filter(|&s| editable(document.sections()[s].header())) {
                document.sections_mut()[s].set_name(&name);
            }
        }
        Edit::SetFrom { section, from } => {
            if let Some(s) = section_index(document, section).filter(|&s| editable(document.sections()[s].header())) {
                document.sections_mut()[s].set_from(from.as_deref());
            }
        }
        Edit::AddSection { keyword, name } => {
            let keyword = SECTION_KEYWORDS[keyword as usize % SECTION_KEYWORDS.len()];
            if let Some(kind) = SectionKind::from_keyword(keyword) {
                document.push_section(Section::new(kind, name.as_deref()));
            }
        }
        Edit::RemoveSection { section } => {
            if let Some(s) = section_index(document, section) {
                document.remove_section(s);
            }
        }
        Edit::Proxy { section, edit } => {
            let Some(s) = section_index(document, section) else { return };
            let section = &mut document.sections_mut()[s];
            // Views edit words in place: the same limits as word edits apply to every line.
            if !std::iter::once(section.header()).chain(section.lines()).all(editable) {
                return;
            }
            if let Some(mut proxy) = ProxyMut::new(section) {
                apply_proxy(&mut proxy, edit);
            }
        }
    }
}

/// The name of server `n` (modulo the server count) of the proxy.
fn server_name(proxy: &ProxyMut<'_>, n: u8) -> Option<String> {
    let servers = proxy.view().servers();
    let server = servers.get(n as usize % servers.len().max(1))?;
    server.name().map(|name| name.into_owned())
}

/// True when the last parameter is a value-taking keyword whose value is missing
/// (`server s 1.2.3.4:80 inter`): a parameter appended after it reads as its value. Known view
/// limitation, reported; read-backs are not checked on such lines.
fn ends_early(params: &[Param]) -> bool {
    params.last().is_some_and(|p| p.value.is_none() && server_arity(&p.keyword) == Some(Arity::Value))
}

/// Applies a typed view edit, and checks that the views read back what was set where that is
/// unambiguous.
fn apply_proxy(proxy: &mut ProxyMut<'_>, edit: ProxyEdit) {
    match edit {
        ProxyEdit::SetMode(mode) => {
            proxy.set_mode(mode.as_deref());
            assert_eq!(proxy.view().mode().as_deref(), mode.as_deref(), "set_mode then mode");
        }
        ProxyEdit::SetMaxconn(maxconn) => {
            proxy.set_maxconn(maxconn);
            assert_eq!(proxy.view().maxconn(), maxconn, "set_maxconn then maxconn");
        }
        ProxyEdit::SetDefaultBackend(backend) => proxy.set_default_backend(backend.as_deref()),
        ProxyEdit::SetTimeout { name, seconds } => {
            proxy.set_timeout_duration(&name, Duration::from_secs(u64::from(seconds)));
        }
        ProxyEdit::SetOption { name, state } => proxy.set_option(&name, state),
        ProxyEdit::AddLog(args) => {
            proxy.add_log(&args);
        }
        ProxyEdit::AddServer { name, address, params } => {
            unchanged_when_refused(proxy, |p| p.add_server(&name, &address, &params).map(drop));
        }
        ProxyEdit::SetWeight { server, weight } => {
            let Some(name) = server_name(proxy, server) else { return };
            if let Some(mut server) = proxy.server_mut(&name) {
                let dangling = ends_early(&server.view().params());
                let accepted = server.set_weight(weight).is_ok();
                if accepted && !dangling {
                    assert_eq!(server.view().weight(), Some(weight), "set_weight then weight");
                }
            }
        }
        ProxyEdit::SetServerParam { server, keyword, value } => {
            let Some(name) = server_name(proxy, server) else { return };
            if let Some(mut server) = proxy.server_mut(&name) {
                server.set_param(&keyword, value.as_deref());
            }
        }
        ProxyEdit::SetServerFlag { server, keyword, on } => {
            let Some(name) = server_name(proxy, server) else { return };
            if let Some(mut server) = proxy.server_mut(&name) {
                server.set_flag(&keyword, on);
            }
        }
        ProxyEdit::RemoveServer { server } => {
            if let Some(name) = server_name(proxy, server) {
                let _ = proxy.remove_server(&name);
            }
        }
        ProxyEdit::AddBind { address, params } => {
            unchanged_when_refused(proxy, |p| p.add_bind(&address, &params).map(drop));
        }
        ProxyEdit::AddAcl { name, criterion, patterns } => {
            unchanged_when_refused(proxy, |p| p.add_acl(&name, &criterion, &patterns).map(drop));
        }
        ProxyEdit::RemoveAcl { name } => {
            unchanged_when_refused(proxy, |p| p.remove_acl(&name).map(drop));
        }
        ProxyEdit::AddUseBackend { backend } => {
            unchanged_when_refused(proxy, |p| p.add_use_backend(&backend, None).map(drop));
        }
    }
}

/// Runs an editor that may refuse the edit, and checks that a refusal changed nothing.
fn unchanged_when_refused(
    proxy: &mut ProxyMut<'_>,
    edit: impl FnOnce(&mut ProxyMut<'_>) -> Result<(), haproxy_model::EditError>,
) {
    let before = proxy.view().section().clone();
    if let Err(error) = edit(proxy) {
        assert_eq!(proxy.view().section(), &before, "a refused edit ({error}) changed the section");
    }
}
