//! Several configuration files checked as the one configuration HAProxy builds from them
//! (`haproxy -f haproxy.cfg -f conf.d/10-web.cfg ...`).
//!
//! ```text
//! files in load order -> lines numbered one after the other (file 2 follows file 1)
//!   -> one Document -> every offline check (check::check_with_layout)
//!   -> diagnostics mapped back to (file, line), each naming its file
//! ```
//!
//! What HAProxy 2.6 does with several files (tried with `haproxy -c -f a.cfg -f b.cfg`), and so
//! what this check does:
//! - names are global: a backend declared in one file serves a `use_backend` in another, and a
//!   proxy in a later file inherits the last `defaults` section of an earlier one;
//! - two proxies of one name in different files are refused ("backend 'x' has the same name as
//!   backend 'x' declared at a.cfg:9"): the message names both places;
//! - each file starts out of any section: a section open at the end of one file does not go on
//!   in the next ("unknown keyword 'server' out of section");
//! - `.if` blocks and the final newline are per file ("non-terminated '.if' block",
//!   "Missing LF on last line").

use haproxy_model::Diagnostic;

use crate::check::layout::{FileSpan, Layout};
use crate::{lex_lines, structure};

/// One configuration file of several loaded together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFile<'a> {
    /// The name diagnostics give the file (a path as the caller knows it).
    pub name: &'a str,
    /// The file's text.
    pub text: &'a str,
}

/// Parses `files` and runs every offline check on them as one configuration, in load order.
/// Every diagnostic names its file ([`Diagnostic::file`]) and a line of that file; they come
/// in file order, then line order. For a single file the findings are those of
/// [`crate::check`], with the file named.
pub fn check_files(files: &[SourceFile<'_>]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut scratch = Vec::new();
    let mut layout = Layout::default();
    let mut lines = Vec::new();
    let mut offset = 0u32;
    for file in files {
        let start = lines.len();
        let mut found = Vec::new();
        lines.extend(lex_lines(file.text, offset, &mut found, &mut scratch));
        structure::check_conditionals(lines[start..].iter(), &mut found);
        diagnostics.append(&mut found);
        if start > 0 {
            // Lines before the file's first section header are out of section, whatever
            // section the previous file left open.
            let opens = |l: &haproxy_model::Line| structure::opens_section(l);
            let first_header = lines[start..].iter().position(opens).map_or(lines.len(), |i| start + i);
            layout.stray.extend(lines[start..first_header].iter().map(|l| l.position().line));
        }
        let count = (lines.len() - start) as u32;
        layout.files.push(FileSpan { name: file.name.to_string(), offset, lines: count });
        offset = offset.saturating_add(count);
    }
    let document = structure::group(lines);
    diagnostics.extend(crate::check::check_with_layout(&document, Some(&layout)));
    let order: std::collections::HashMap<&str, usize> =
        layout.files.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
    for d in &mut diagnostics {
        if let Some((file, line)) = layout.locate(d.position.line) {
            d.position.line = line;
            d.file = Some(file.name.clone());
        }
    }
    diagnostics.sort_by_key(|d| {
        let file = d.file.as_deref().and_then(|f| order.get(f)).copied().unwrap_or(0);
        (file, d.position.line, d.position.column)
    });
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<SourceFile<'a>> {
        pairs.iter().map(|&(name, text)| SourceFile { name, text }).collect()
    }

    fn shown(found: &[Diagnostic]) -> Vec<String> {
        found.iter().map(|d| d.to_string()).collect()
    }

    const FRONT: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:8080\n    default_backend api\n";

    #[test]
    fn a_backend_in_a_later_file_serves_an_earlier_one() {
        let found = check_files(&files(&[("haproxy.cfg", FRONT), ("conf.d/api.cfg", "backend api\n    server a 127.0.0.1:81\n")]));
        assert!(found.iter().all(|d| !d.is_error()), "{:?}", shown(&found));
        let alone = check_files(&files(&[("haproxy.cfg", FRONT)]));
        assert_eq!(shown(&alone), ["haproxy.cfg:9:21: error: no backend named 'api' (needed by default_backend)"]);
    }

    #[test]
    fn duplicate_names_across_files_name_both_places() {
        let found = check_files(&files(&[("a.cfg", "backend api\n"), ("conf.d/b.cfg", "\nbackend api\n")]));
        assert_eq!(shown(&found), ["conf.d/b.cfg:2:9: error: backend 'api' has the same name as the backend declared at a.cfg:1"]);
    }

    #[test]
    fn a_section_does_not_go_on_in_the_next_file() {
        let found = check_files(&files(&[("a.cfg", "backend api\n"), ("b.cfg", "# servers\n    server s1 127.0.0.1:80\n")]));
        assert_eq!(shown(&found), ["b.cfg:2:5: error: unknown keyword 'server' out of section"]);
    }

    #[test]
    fn the_final_newline_and_if_blocks_are_per_file() {
        let found = check_files(&files(&[("a.cfg", ".if defined(X)\nbackend x\n"), ("b.cfg", ".endif\nbackend y"), ("c.cfg", "")]));
        let errors: Vec<_> = found.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
        assert_eq!(
            errors,
            [
                "a.cfg:1:1: error: '.if' block is never closed by '.endif'",
                "b.cfg:1:1: error: '.endif' appears without a previous '.if'",
                "b.cfg:2:10: error: missing newline at the end of the last line (HAProxy refuses a file that might be truncated)",
            ]
        );
    }

    #[test]
    fn one_file_finds_what_check_finds() {
        let text = "frontend fe\n    bind :80\n    use_backend nope\n    frobnicate\n";
        let one = check_files(&files(&[("h.cfg", text)]));
        let plain = crate::check(text).diagnostics;
        assert_eq!(one.len(), plain.len());
        for (a, b) in one.iter().zip(&plain) {
            assert_eq!((a.position, &a.message, a.file.as_deref()), (b.position, &b.message, Some("h.cfg")));
        }
    }
}
