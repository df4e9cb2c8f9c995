//! Bytes HAProxy refuses wherever they appear: the NUL byte.
//!
//! HAProxy 2.6 reads its configuration with `fgets` and refuses a line holding a NUL byte,
//! whatever the line is: a statement, a comment, a blank line, a line inside `.if 0` (tried
//! with `haproxy -c` on each: "Stray NUL character at position N", or, where the NUL cuts the
//! line short before its `\n`, "Missing LF on last line, file might have been truncated"; both
//! exit 1). So a NUL is an error even where the other checks are unsure (conditional blocks,
//! sections whose header is conditional): the caller adds these diagnostics after downgrading.
//!
//! The other control bytes (`\x01`-`\x1f`, `\x7f`) and bytes above `\x7f` are accepted by
//! `haproxy -c` in words and comments alike (tried the same way), so they are not reported:
//! the check must never be stricter than HAProxy.

use haproxy_model::{Diagnostic, Document, Position};

/// One error per line holding a NUL byte, at its first NUL: the column (1-based, in
/// characters) and, in the message, the byte offset from the start of the text (of its file,
/// when several files are checked: `starts_file` says where each begins).
pub(crate) fn check(document: &Document, starts_file: impl Fn(u32) -> bool, out: &mut Vec<Diagnostic>) {
    let mut offset = 0usize;
    for line in document.lines() {
        if starts_file(line.position().line) {
            offset = 0;
        }
        let mut rendered = String::new();
        line.render_into(&mut rendered);
        if let Some(at) = rendered.find('\0') {
            let column = rendered[..at].chars().count() + 1;
            let position = Position::new(line.position().line, column as u32);
            out.push(Diagnostic::error(
                position,
                format!(
                    "NUL byte at byte offset {}: HAProxy refuses a NUL anywhere in a configuration file (\"Stray NUL character\")",
                    offset + at
                ),
            ));
        }
        offset += rendered.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(u32, u32, String)> {
        let document = crate::parse(text).document;
        let mut out = Vec::new();
        check(&document, |_| false, &mut out);
        out.into_iter().map(|d| (d.position.line, d.position.column, d.message)).collect()
    }

    #[test]
    fn a_nul_anywhere_is_an_error_with_its_offset() {
        let got = found("global\n    maxconn 100\0\n# x\0y\n\0\n");
        let places: Vec<_> = got.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(places, [(2, 16), (3, 4), (4, 1)]);
        assert!(got[0].2.starts_with("NUL byte at byte offset 22:"), "{}", got[0].2);
        assert!(got[1].2.starts_with("NUL byte at byte offset 27:"), "{}", got[1].2);
        assert!(got[2].2.starts_with("NUL byte at byte offset 30:"), "{}", got[2].2);
    }

    #[test]
    fn other_control_and_high_bytes_pass() {
        assert!(found("global\n    maxconn 100\x01\n    # \x7f \u{e9}\x0b\x0c\r\n").is_empty());
    }
}

#[cfg(test)]
mod differential {
    //! The same texts through the real `haproxy -c`: refused exactly when a NUL is reported.

    use std::process::Command;

    const BASE: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout client 5s\n    \
timeout server 5s\n    timeout connect 5s\n\nbackend app\n    server s1 127.0.0.1:80\n";

    #[test]
    fn agrees_with_haproxy() {
        let Some(bin) = fleet_tests::haproxy_bin() else {
            eprintln!("haproxy not installed: skipping the differential NUL test");
            return;
        };
        let cases = [
            (BASE.to_string(), false),
            (BASE.replace("maxconn 100", "maxconn 100\0"), true),
            (BASE.replace("maxconn 100", "maxconn 1\x000"), true),
            (BASE.replace("    mode http\n", "    # a \0 comment\n    mode http\n"), true),
            (BASE.replace("\ndefaults", "\0\ndefaults"), true),
            (BASE.replace("backend app\n", "backend app\n.if 0\n    x \0\n.endif\n"), true),
            (format!("\0{BASE}"), true),
            (BASE.replace("maxconn 100", "maxconn 100\x01"), false),
            (BASE.replace("maxconn 100", "maxconn 100 # \x7f\x1b \u{e9}"), false),
            (BASE.replace("mode http", "mode http\x0b\x0c"), false),
        ];
        let dir = std::env::temp_dir().join(fleet_tests::unique_name("bytes-differential-"));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, (text, refused)) in cases.iter().enumerate() {
            let file = dir.join(format!("{i}.cfg"));
            std::fs::write(&file, text).unwrap();
            let status = Command::new(&bin).arg("-c").arg("-f").arg(&file).output().unwrap().status;
            // 0: valid, 2: valid but no listener; 1: refused.
            assert_eq!(status.code() == Some(1), *refused, "case {i}: haproxy said {status:?}");
            let errors = crate::check(text).diagnostics.into_iter().filter(|d| d.is_error()).count();
            assert_eq!(errors > 0, *refused, "case {i}: {:?}", crate::check(text).diagnostics);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
