//! The files a configuration names: certificates, crt-lists, CA and CRL files, maps, ACL
//! pattern files, error pages, Lua scripts, DH parameters ... with where each is written and
//! how HAProxy 2.6 resolves its path.
//!
//! ```text
//! files in load order -> parse -> walk statements (global state carried across files:
//!   default-path, crt-base, ca-base, server-state-base) -> Vec<FileReference>
//! ```
//!
//! What is a reference, from configuration.txt (2.6) and tried with `haproxy -c`:
//! - global: `lua-load`, `lua-load-per-thread` (§3.2), `ssl-dh-param-file`, `issuers-chain-path`
//!   (a directory), `server-state-file` (prefixed by `server-state-base`; a missing one is only
//!   a warning), `h1-case-adjust-file` (not read by `haproxy -c`);
//! - `bind` / `server` / `default-server` / `server-template` parameters (§5): `crt` (prefixed
//!   by `crt-base`; a `bind` may name a directory), `crt-list` (not prefixed: `haproxy -c`
//!   looks for it where it starts), `ca-file`, `ca-verify-file`, `crl-file` (prefixed by
//!   `ca-base`; `@system-ca` is no file), `ca-sign-file`;
//! - `errorfile <code> <file>` (proxies and `http-errors`), and the `errorfile`, `file` and
//!   `lf-file` arguments of `http-request` / `http-response` `return`, `deny` and `tarpit`
//!   rules and of `http-error` (§4.2 "http-request return");
//! - ACL pattern files: `-f <file>` in `acl` lines and in anonymous ACLs `{ fetch -f file }`
//!   of conditions (§7.1);
//! - the first argument of the `map*` converters (§7.3.1), wherever a sample expression is;
//! - `filter spoe ... config <file>` (§9.3);
//! - inside a crt-list file, the certificate each line names ([`crt_list_references`]).
//!
//! Relative paths: `default-path` (§3.1) decides where they start (where HAProxy was started,
//! the config file's directory, its parent, or a given origin); it is global state, kept from
//! one file to the next, as are the `*-base` prefixes (HAProxy concatenates them as strings).
//!
//! Words whose value is only known at run time (`$VAR`, `%[...]` outside a `map` argument) and
//! lines inside `.if` blocks are left out or marked: a caller cannot judge them offline.

use haproxy_model::{Conditional, Line, LineKind, Position};

use crate::files::SourceFile;

/// What HAProxy does with a referenced file, which hints at what the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReferenceKind {
    /// A PEM certificate and key, CA, CRL or issuer chain (`crt`, `ca-file`, `crl-file` ...).
    Certificate,
    /// A `crt-list` file.
    CrtList,
    /// A map file (`map*()` converters, `-M -f` in an ACL).
    Map,
    /// An ACL pattern file (`-f`).
    Acl,
    /// An error page (`errorfile`).
    Errorfile,
    /// A Lua script (`lua-load`).
    Lua,
    /// Anything else (DH parameters, SPOE configuration, server state, `return file` payloads).
    Other,
}

/// Where a relative path starts, from the `default-path` in force (configuration.txt §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathBase {
    /// The path is absolute.
    Absolute,
    /// The directory HAProxy was started in (`default-path current`, the default).
    Current,
    /// The directory of the configuration file that names it (`default-path config`).
    Config,
    /// The parent of that directory (`default-path parent`).
    Parent,
    /// A given directory (`default-path origin <path>`), as written.
    Origin(String),
}

/// One file a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReference {
    /// The configuration file that names it ([`SourceFile::name`]).
    pub file: String,
    /// Where the path is written in that file (the path word; for a `map` converter, the word
    /// holding the expression).
    pub position: Position,
    /// The keyword, parameter or converter naming it (`crt`, `errorfile`, `map_str`, `-f` ...).
    pub keyword: String,
    /// What the file is to HAProxy.
    pub kind: ReferenceKind,
    /// The path HAProxy opens, `*-base` prefix applied (`certs/site.pem`,
    /// `/etc/haproxy/maps/hosts.map`).
    pub path: String,
    /// Where `path` starts when it is relative.
    pub base: PathBase,
    /// True when the path may name a directory whose files HAProxy loads (`crt` on a `bind`,
    /// `issuers-chain-path`).
    pub directory: bool,
    /// False when HAProxy starts without the file (it only warns, or does not read it at
    /// check time): a missing one is no error.
    pub required: bool,
    /// True when the line sits inside a `.if` block: whether HAProxy reads it depends on the
    /// node.
    pub conditional: bool,
    /// The `crt-base` in force on the line, which HAProxy puts before the relative certificate
    /// paths a crt-list names (read by [`crt_list_references`]).
    pub crt_base: Option<String>,
    /// The `ca-base` in force on the line, which HAProxy puts before the relative `ca-file`,
    /// `ca-verify-file` and `crl-file` paths of a crt-list's options.
    pub ca_base: Option<String>,
    /// The `default-path` in force on the line, even when `path` is absolute: where relative
    /// paths read from inside the file start.
    pub default_path: PathBase,
}

/// Global state HAProxy carries from one line, and one file, to the next.
#[derive(Debug, Clone)]
struct State {
    default_path: PathBase,
    crt_base: Option<String>,
    ca_base: Option<String>,
    state_base: Option<String>,
}

/// Every file `files` (in load order) reference, in file then line order.
pub fn file_references(files: &[SourceFile<'_>]) -> Vec<FileReference> {
    let mut state = State { default_path: PathBase::Current, crt_base: None, ca_base: None, state_base: None };
    let mut out = Vec::new();
    for file in files {
        let parsed = crate::parse(file.text);
        let mut depth = 0usize;
        let mut section = String::new();
        for line in parsed.document.lines() {
            match line.kind() {
                LineKind::Conditional(Conditional::If) => depth += 1,
                LineKind::Conditional(Conditional::Endif) => depth = depth.saturating_sub(1),
                LineKind::Statement => {
                    if crate::structure::opens_section(line) {
                        section = line.keyword().unwrap_or_default().into_owned();
                        continue;
                    }
                    let mut walker = Walker { file: file.name, line, state: &mut state, conditional: depth > 0, out: &mut out };
                    walker.statement(&section);
                }
                _ => {}
            }
        }
    }
    out
}

/// Reads one statement.
struct Walker<'a, 'l> {
    file: &'a str,
    line: &'l Line,
    state: &'a mut State,
    conditional: bool,
    out: &'a mut Vec<FileReference>,
}

impl Walker<'_, '_> {
    fn value(&self, index: usize) -> Option<String> {
        let word = self.line.words().get(index)?;
        // `$VAR` in any quoting and `%[...]`: only known at run time.
        (!word.raw().contains('$') && !word.raw().contains("%[")).then(|| word.value().into_owned())
    }

    fn statement(&mut self, section: &str) {
        let Some(keyword) = self.line.keyword() else { return };
        let keyword = keyword.into_owned();
        match (section, keyword.as_str()) {
            ("global", "default-path") => self.default_path(),
            ("global", "crt-base") => self.state.crt_base = self.value(1),
            ("global", "ca-base") => self.state.ca_base = self.value(1),
            ("global", "server-state-base") => self.state.state_base = self.value(1),
            ("global", "lua-load" | "lua-load-per-thread") => self.push(1, &keyword, ReferenceKind::Lua, None, false, true),
            ("global", "ssl-dh-param-file") => self.push(1, &keyword, ReferenceKind::Other, None, false, true),
            ("global", "issuers-chain-path") => self.push(1, &keyword, ReferenceKind::Certificate, None, true, true),
            ("global", "h1-case-adjust-file") => self.push(1, &keyword, ReferenceKind::Other, None, false, false),
            ("global", "server-state-file") => {
                let base = self.state.state_base.clone();
                self.push(1, &keyword, ReferenceKind::Other, base, false, false)
            }
            (_, "errorfile") => self.push(2, &keyword, ReferenceKind::Errorfile, None, false, true),
            (_, "bind") => self.parameters(2, true),
            (_, "server" | "default-server" | "server-template") => {
                let first = match keyword.as_str() {
                    "default-server" => 1,
                    "server-template" => 4,
                    _ => 3,
                };
                self.parameters(first, false)
            }
            (_, "acl") => {
                self.acl_flags(3);
                self.conditions(3);
            }
            (_, "filter") if self.line.value(1).as_deref() == Some("spoe") => {
                if let Some(at) = self.position_of("config", 2) {
                    self.push(at + 1, "filter spoe config", ReferenceKind::Other, None, false, true);
                }
                self.maps(1);
            }
            (_, "http-request" | "http-response" | "http-error") => {
                // Only `return`, `deny` and `tarpit` (and `http-error`) carry payload files: an
                // argument word `file` elsewhere is a header value or the like.
                let action = self.line.value(1).unwrap_or_default();
                if keyword == "http-error" || matches!(&*action, "return" | "deny" | "tarpit") {
                    self.payloads();
                }
                self.conditions(1);
                self.maps(1);
            }
            _ => {
                self.conditions(1);
                self.maps(1);
            }
        }
    }

    /// `default-path { current | config | parent | origin <path> }`.
    fn default_path(&mut self) {
        self.state.default_path = match self.line.value(1).as_deref() {
            Some("current") => PathBase::Current,
            Some("config") => PathBase::Config,
            Some("parent") => PathBase::Parent,
            Some("origin") => match self.value(2) {
                Some(origin) => PathBase::Origin(origin),
                None => return,
            },
            _ => return,
        };
    }

    /// The index of word `name` at or after `from`, before any condition.
    fn position_of(&self, name: &str, from: usize) -> Option<usize> {
        let words = self.line.words();
        (from..words.len())
            .take_while(|&i| !matches!(&*words[i].value(), "if" | "unless"))
            .find(|&i| words[i].value() == name)
    }

    /// `bind` and `server` parameters naming files.
    fn parameters(&mut self, first: usize, bind: bool) {
        let count = self.line.words().len();
        let mut index = first;
        while index + 1 < count {
            let name = self.line.words()[index].value().into_owned();
            let (kind, base) = match name.as_str() {
                "crt" => (ReferenceKind::Certificate, self.state.crt_base.clone()),
                "crt-list" if bind => (ReferenceKind::CrtList, None),
                "ca-file" | "ca-verify-file" | "crl-file" => (ReferenceKind::Certificate, self.state.ca_base.clone()),
                "ca-sign-file" if bind => (ReferenceKind::Certificate, None),
                _ => {
                    index += 1;
                    continue;
                }
            };
            if !self.value(index + 1).is_some_and(|v| v.starts_with('@')) {
                self.push(index + 1, &name, kind, base, bind && name == "crt", true);
            }
            index += 2;
        }
    }

    /// `return`/`deny`/`tarpit` payloads: `errorfile <file>`, `file <file>`, `lf-file <file>`.
    fn payloads(&mut self) {
        let words = self.line.words().len();
        for index in 2..words.saturating_sub(1) {
            let name = self.line.words()[index].value();
            if matches!(&*name, "if" | "unless") {
                break;
            }
            let kind = match &*name {
                "errorfile" => ReferenceKind::Errorfile,
                "file" | "lf-file" => ReferenceKind::Other,
                _ => continue,
            };
            let name = name.into_owned();
            self.push(index + 1, &name, kind, None, false, true);
        }
    }

    /// ACL flags from word `from` (`-i`, `-m <method>`, `-M`, `-f <file>` ..., `--` ends them).
    fn acl_flags(&mut self, from: usize) {
        let words = self.line.words().len();
        let mut index = from;
        let mut files = Vec::new();
        let mut map = false;
        while index < words {
            let flag = self.line.words()[index].value().into_owned();
            match flag.as_str() {
                "-f" => {
                    files.push(index + 1);
                    index += 2;
                }
                "-m" => index += 2,
                "-M" => {
                    map = true;
                    index += 1;
                }
                "--" => break,
                f if f.starts_with('-') && f.len() > 1 => index += 1,
                _ => break,
            }
        }
        let kind = if map { ReferenceKind::Map } else { ReferenceKind::Acl };
        for at in files.into_iter().filter(|&at| at < words) {
            self.push(at, "-f", kind, None, false, true);
        }
    }

    /// Anonymous ACLs (`{ fetch -f file }`) in a condition after `if`/`unless`.
    fn conditions(&mut self, from: usize) {
        let words = self.line.words().len();
        let Some(start) = (from..words).find(|&i| matches!(&*self.line.words()[i].value(), "if" | "unless")) else {
            return;
        };
        for index in start + 1..words {
            if self.line.words()[index].value() == "{" {
                self.acl_flags(index + 2);
            }
        }
    }

    /// The file argument of `map*` converters in any word from `from` on.
    fn maps(&mut self, from: usize) {
        for index in from..self.line.words().len() {
            let word = &self.line.words()[index];
            let value = word.value();
            // A quoted word is a string unless it holds a log-format sample (`"%[...]"`).
            let quoted = word.raw().contains(['"', '\'']);
            if !value.contains("map") || (quoted && !value.contains("%[")) {
                continue;
            }
            let unquoted = word.raw() == value;
            for (converter, argument, at) in map_arguments(&value) {
                if argument.contains('$') || argument.is_empty() {
                    continue;
                }
                // At the argument itself when the word is written as it reads, else at the word.
                let shift = if unquoted { value[..at].chars().count() as u32 } else { 0 };
                let position = Position::new(self.line.position().line, self.line.column_of(index) + shift);
                self.record(position, converter, ReferenceKind::Map, argument, None, false, true);
            }
        }
    }

    fn push(&mut self, index: usize, keyword: &str, kind: ReferenceKind, base: Option<String>, directory: bool, required: bool) {
        let Some(path) = self.value(index).filter(|p| !p.is_empty()) else { return };
        let position = Position::new(self.line.position().line, self.line.column_of(index));
        self.record(position, keyword.to_string(), kind, path, base, directory, required);
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        position: Position,
        keyword: String,
        kind: ReferenceKind,
        path: String,
        prefix: Option<String>,
        directory: bool,
        required: bool,
    ) {
        // HAProxy prefixes a relative path with the base as a string (`crt-base /a` + `b.pem`).
        let path = match prefix.filter(|_| !path.starts_with('/')) {
            Some(prefix) if prefix.contains('$') => return,
            Some(prefix) => format!("{}/{path}", prefix.trim_end_matches('/')),
            None => path,
        };
        let base = if path.starts_with('/') { PathBase::Absolute } else { self.state.default_path.clone() };
        self.out.push(FileReference {
            file: self.file.to_string(),
            position,
            keyword,
            kind,
            path,
            base,
            directory,
            required,
            conditional: self.conditional,
            crt_base: self.state.crt_base.clone(),
            ca_base: self.state.ca_base.clone(),
            default_path: self.state.default_path.clone(),
        });
    }
}

/// The files a crt-list names, as HAProxy 2.6 reads it when it parses the `bind` line of
/// `list` (configuration.txt §5.1 "crt-list", `crtlist_parse_file`): one entry a line,
/// `<crtfile> [\[<sslbindconf> ...\]] [[!]<snifilter> ...]`; lines that start with `#` and
/// blank lines are skipped; words end at blanks, `[` and `]` (no quoting). The certificate gets
/// the `crt-base` in force on the `bind` line; `ca-file`, `ca-verify-file` and `crl-file` among
/// the bracketed options (tried with `haproxy -c`: a missing one is fatal) get the `ca-base`.
/// Relative paths start where the `default-path` in force puts them. `file` names the crt-list
/// in the result (its bundle path), each reference at its line and column there.
///
/// Never stricter than HAProxy: lines HAProxy refuses for their shape (starting with `[`,
/// brackets that do not pair, an unknown option) and indented `#` lines are not judged, or
/// only up to where they go wrong.
pub fn crt_list_references(list: &FileReference, file: &str, text: &str) -> Vec<FileReference> {
    let mut out = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        if line.starts_with('#') || line.starts_with('\r') {
            continue;
        }
        let tokens = crt_list_tokens(line);
        let Some(&(column, CrtListToken::Word(path))) = tokens.first() else { continue };
        if path.starts_with('#') {
            continue;
        }
        let mut found = vec![(column, "crt-list entry", path, list.crt_base.as_deref())];
        let open = tokens.iter().position(|(_, t)| *t == CrtListToken::Open);
        let close = tokens.iter().position(|(_, t)| *t == CrtListToken::Close);
        if let (Some(open), Some(close)) = (open, close) {
            let options = tokens.get(open + 1..close).unwrap_or_default();
            found.extend(ssl_bind_files(options, list.ca_base.as_deref()));
        }
        for (column, keyword, path, prefix) in found {
            let path = match prefix.filter(|_| !path.starts_with('/')) {
                Some(prefix) if prefix.contains('$') => continue,
                Some(prefix) => format!("{}/{path}", prefix.trim_end_matches('/')),
                None => path.to_string(),
            };
            out.push(FileReference {
                file: file.to_string(),
                position: Position::new(index as u32 + 1, column),
                keyword: keyword.to_string(),
                kind: ReferenceKind::Certificate,
                base: if path.starts_with('/') { PathBase::Absolute } else { list.default_path.clone() },
                path,
                directory: false,
                required: list.required,
                conditional: list.conditional,
                crt_base: list.crt_base.clone(),
                ca_base: list.ca_base.clone(),
                default_path: list.default_path.clone(),
            });
        }
    }
    out
}

/// A word of a crt-list line, or one of its brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrtListToken<'a> {
    Word(&'a str),
    Open,
    Close,
}

/// The tokens of a crt-list line with their 1-based columns, split as `crtlist_parse_line`
/// splits it: on C's `isspace` characters, `[` and `]`.
fn crt_list_tokens(line: &str) -> Vec<(u32, CrtListToken<'_>)> {
    let mut out = Vec::new();
    let mut word: Option<(usize, u32)> = None;
    for (column, (at, c)) in (1u32..).zip(line.char_indices()) {
        let separator = matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '[' | ']');
        if separator {
            if let Some((from, col)) = word.take() {
                out.push((col, CrtListToken::Word(&line[from..at])));
            }
            match c {
                '[' => out.push((column, CrtListToken::Open)),
                ']' => out.push((column, CrtListToken::Close)),
                _ => {}
            }
        } else if word.is_none() {
            word = Some((at, column));
        }
    }
    if let Some((from, col)) = word {
        out.push((col, CrtListToken::Word(&line[from..])));
    }
    out
}

/// The files named by the `ssl_bind_kws` options between a crt-list line's brackets, as
/// `(column, keyword, path, prefix)`. Each option takes one argument but `allow-0rtt` and
/// `no-ca-names` (HAProxy 2.6's `ssl_bind_kws`); an unknown one ends the reading (HAProxy
/// refuses the line). `@system-ca` and the like are no files.
fn ssl_bind_files<'a>(options: &[(u32, CrtListToken<'a>)], ca_base: Option<&'a str>) -> Vec<(u32, &'static str, &'a str, Option<&'a str>)> {
    let mut found = Vec::new();
    let mut index = 0;
    while let Some(&(_, CrtListToken::Word(name))) = options.get(index) {
        let keyword = match name {
            "allow-0rtt" | "no-ca-names" => {
                index += 1;
                continue;
            }
            "ca-file" => "ca-file",
            "ca-verify-file" => "ca-verify-file",
            "crl-file" => "crl-file",
            "alpn" | "ciphers" | "ciphersuites" | "curves" | "ecdhe" | "npn" | "ssl-min-ver" | "ssl-max-ver" | "verify" => {
                index += 2;
                continue;
            }
            _ => break,
        };
        if let Some(&(column, CrtListToken::Word(path))) = options.get(index + 1) {
            if !path.starts_with('@') {
                found.push((column, keyword, path, ca_base));
            }
        }
        index += 2;
    }
    found
}

/// `(converter, file, byte offset of the file)` for every `map*(file, ...)` converter in a
/// sample expression: a name `map` or `map_<match>[_<output>]` that follows `,` or starts an
/// expression.
fn map_arguments(expression: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    let bytes = expression.as_bytes();
    let mut from = 0;
    while let Some(at) = expression[from..].find("map").map(|i| i + from) {
        from = at + 3;
        let starts = at == 0 || matches!(bytes[at - 1], b',' | b'[' | b' ');
        let name_end = expression[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expression.len(), |i| at + i);
        let name = &expression[at..name_end];
        let shaped = name == "map" || name.strip_prefix("map_").is_some_and(|rest| !rest.is_empty());
        if !starts || !shaped || bytes.get(name_end) != Some(&b'(') {
            continue;
        }
        let args = &expression[name_end + 1..];
        let end = args.find([',', ')']).unwrap_or(args.len());
        let raw = &args[..end];
        let argument = raw.trim().trim_matches(|c| c == '"' || c == '\'');
        let offset = name_end + 1 + raw.find(argument).unwrap_or(0);
        found.push((name.to_string(), argument.to_string(), offset));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(files: &[(&str, &str)]) -> Vec<(String, u32, u32, String, ReferenceKind, String, PathBase)> {
        let files: Vec<_> = files.iter().map(|&(name, text)| SourceFile { name, text }).collect();
        file_references(&files)
            .into_iter()
            .map(|r| (r.file, r.position.line, r.position.column, r.keyword, r.kind, r.path, r.base))
            .collect()
    }

    #[test]
    fn every_kind_of_reference_is_found_where_it_is_written() {
        let text = "global\n    lua-load /etc/haproxy/a.lua\n    ssl-dh-param-file dh.pem\n    crt-base /etc/haproxy/certs\n    ca-base ca\n\
            frontend fe\n    bind :443 ssl crt site.pem ca-file ca.pem crl-file @system-ca crt-list list.txt\n\
            \x20   acl blocked src -i -f blocked.lst\n    http-request deny if { path_beg -m beg -f paths.acl } || blocked\n\
            \x20   use_backend %[req.hdr(host),lower,map_dom(maps/hosts.map,web)]\n    errorfile 503 errors/503.http\n\
            \x20   http-request return status 200 file pages/ok.html if { path / }\n    http-request set-header x-kind file if { path /f }\n\
            backend web\n    server s1 10.0.0.1:443 ssl crt client.pem ca-file /etc/ssl/ca.pem\n";
        let found = refs(&[("haproxy.cfg", text)]);
        let short: Vec<_> = found.iter().map(|r| (r.1, r.2, r.3.as_str(), r.5.as_str())).collect();
        assert_eq!(
            short,
            [
                (2, 14, "lua-load", "/etc/haproxy/a.lua"),
                (3, 23, "ssl-dh-param-file", "dh.pem"),
                (7, 23, "crt", "/etc/haproxy/certs/site.pem"),
                (7, 40, "ca-file", "ca/ca.pem"),
                (7, 76, "crt-list", "list.txt"),
                (8, 27, "-f", "blocked.lst"),
                (9, 47, "-f", "paths.acl"),
                (10, 47, "map_dom", "maps/hosts.map"),
                (11, 19, "errorfile", "errors/503.http"),
                (12, 41, "file", "pages/ok.html"),
                (15, 36, "crt", "/etc/haproxy/certs/client.pem"),
                (15, 55, "ca-file", "/etc/ssl/ca.pem"),
            ]
        );
        assert_eq!(found[5].4, ReferenceKind::Acl);
        assert_eq!(found[7].4, ReferenceKind::Map);
        assert_eq!(found[1].6, PathBase::Current);
        assert_eq!(found[0].6, PathBase::Absolute);
    }

    #[test]
    fn default_path_and_bases_carry_across_files_and_dynamic_words_are_left_out() {
        let found = refs(&[
            ("haproxy.cfg", "global\n    default-path config\n    crt-base certs\n"),
            ("conf.d/web.cfg", "frontend fe\n    bind :443 ssl crt \"${SITE}.pem\" crt site.pem\n    acl a path -M -f m.map\n"),
        ]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].0.as_str(), found[0].5.as_str(), &found[0].6), ("conf.d/web.cfg", "certs/site.pem", &PathBase::Config));
        assert_eq!(found[1].4, ReferenceKind::Map);
    }

    #[test]
    fn crt_list_entries_get_the_bind_lines_bases() {
        let config = "global\n    default-path config\n    crt-base certs\n    ca-base /etc/ssl\nfrontend fe\n    bind :443 ssl crt-list lists/sites.txt\n";
        let files = [SourceFile { name: "conf/haproxy.cfg", text: config }];
        let list = file_references(&files).remove(0);
        assert_eq!((list.kind, list.crt_base.as_deref(), &list.default_path), (ReferenceKind::CrtList, Some("certs"), &PathBase::Config));
        let text = "site.pem !*\n# comment\n\n  \t\n   other.pem[alpn h2 ca-file ca.pem verify optional crl-file /crl.pem] a.example.com\r\n/abs/c.pem [no-ca-names ca-verify-file v.pem ca-file @system-ca]\n  # indented\n[alpn h2] bad.pem\r\n\ttab.pem [bogus 1 ca-file x.pem]\nd.pem [ca-file y.pem\n";
        let entries = crt_list_references(&list, "lists/sites.txt", text);
        let short: Vec<_> = entries.iter().map(|r| (r.file.as_str(), r.position.line, r.position.column, r.path.as_str(), &r.base)).collect();
        assert_eq!(
            short,
            [
                ("lists/sites.txt", 1, 1, "certs/site.pem", &PathBase::Config),
                ("lists/sites.txt", 5, 4, "certs/other.pem", &PathBase::Config),
                ("lists/sites.txt", 5, 30, "/etc/ssl/ca.pem", &PathBase::Absolute),
                ("lists/sites.txt", 5, 62, "/crl.pem", &PathBase::Absolute),
                ("lists/sites.txt", 6, 1, "/abs/c.pem", &PathBase::Absolute),
                ("lists/sites.txt", 6, 40, "/etc/ssl/v.pem", &PathBase::Absolute),
                ("lists/sites.txt", 9, 2, "certs/tab.pem", &PathBase::Config),
                ("lists/sites.txt", 10, 1, "certs/d.pem", &PathBase::Config),
            ]
        );
        let keywords: Vec<_> = entries.iter().map(|r| r.keyword.as_str()).collect();
        assert_eq!(keywords[..4], ["crt-list entry", "crt-list entry", "ca-file", "crl-file"]);
        assert!(entries.iter().all(|r| r.kind == ReferenceKind::Certificate && r.required));
    }

    #[test]
    fn map_converters_are_read_from_sample_expressions() {
        assert_eq!(map_arguments("req.hdr(host),map(/a.map)"), [("map".to_string(), "/a.map".to_string(), 18)]);
        assert_eq!(map_arguments("src,map_ip_int(\"ips.map\",0),bitmap"), [("map_ip_int".to_string(), "ips.map".to_string(), 16)]);
        assert!(map_arguments("set-map(x.map)").is_empty());
        assert!(map_arguments("path,mapx(a)").is_empty());
    }
}
