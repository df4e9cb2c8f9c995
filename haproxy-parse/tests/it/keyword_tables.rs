//! The HAProxy keyword tables have one owner, `haproxy-model/src/keywords/`: the checker and
//! every other crate import them. This test reads the sources of every crate of the workspace
//! and fails when it finds a second copy of a table, i.e. a run of string literals that are all
//! entries of one model table (in any order) and hold at least half of its entries. Copies
//! drift: the checker's own tables once disagreed with the model's.

use std::path::{Path, PathBuf};

use haproxy_model::keywords::{acl, actions, bind, global, proxy, sample, sections, server};

/// Every table of the model, by name. `proxy::CONDITIONAL` is left out: lists of rule keywords
/// (which rules carry conditions, sample expressions, ordering) are subsets of one small
/// vocabulary by nature, not copies of each other.
fn tables() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = vec![
        ("acl::PREDEFINED", acl::PREDEFINED.to_vec()),
        ("actions::HTTP_REQUEST", actions::HTTP_REQUEST.to_vec()),
        ("actions::HTTP_RESPONSE", actions::HTTP_RESPONSE.to_vec()),
        ("actions::HTTP_AFTER_RESPONSE", actions::HTTP_AFTER_RESPONSE.to_vec()),
        ("actions::TCP_REQUEST_CONNECTION", actions::TCP_REQUEST_CONNECTION.to_vec()),
        ("actions::TCP_REQUEST_CONTENT", actions::TCP_REQUEST_CONTENT.to_vec()),
        ("actions::TCP_RESPONSE_CONTENT", actions::TCP_RESPONSE_CONTENT.to_vec()),
        ("actions::REQUIRED_ARGS", actions::REQUIRED_ARGS.iter().map(|(k, _)| *k).collect()),
        ("bind::VALUE_KEYWORDS", bind::VALUE_KEYWORDS.to_vec()),
        ("bind::FLAG_KEYWORDS", bind::FLAG_KEYWORDS.to_vec()),
        ("global::KEYWORDS", global::KEYWORDS.to_vec()),
        ("global::NEGATABLE", global::NEGATABLE.to_vec()),
        ("proxy::KEYWORDS", proxy::KEYWORDS.to_vec()),
        ("proxy::OPTIONS", proxy::OPTIONS.to_vec()),
        ("proxy::TIMEOUTS", proxy::TIMEOUTS.to_vec()),
        ("proxy::BALANCE_ALGORITHMS", proxy::BALANCE_ALGORITHMS.to_vec()),
        ("proxy::MATRIX", proxy::MATRIX.iter().map(|(k, _)| *k).collect()),
        ("proxy::REMOVED", proxy::REMOVED.iter().map(|(k, _)| *k).collect()),
        ("sample::CONVERTERS", sample::CONVERTERS.to_vec()),
        ("server::VALUE_KEYWORDS", server::VALUE_KEYWORDS.to_vec()),
        ("server::FLAG_KEYWORDS", server::FLAG_KEYWORDS.to_vec()),
    ];
    for (name, table) in [
        ("sections::USERLIST", sections::USERLIST),
        ("sections::PEERS", sections::PEERS),
        ("sections::RESOLVERS", sections::RESOLVERS),
        ("sections::MAILERS", sections::MAILERS),
        ("sections::PROGRAM", sections::PROGRAM),
        ("sections::HTTP_ERRORS", sections::HTTP_ERRORS),
        ("sections::RING", sections::RING),
        ("sections::CACHE", sections::CACHE),
        ("sections::FCGI_APP", sections::FCGI_APP),
        ("sections::LOG_FORWARD", sections::LOG_FORWARD),
    ] {
        out.push((name, table.to_vec()));
    }
    for (keyword, _, set) in proxy::CLOSED_SETS {
        out.push((keyword, set.to_vec()));
    }
    out
}

/// The string literals of Rust source `text`, in order (comments skipped, escapes kept raw).
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            // A char literal such as '"' would otherwise open a string.
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 3,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') && bytes.get(i + 3) == Some(&b'\'') => i += 4,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push(text.get(start..i.min(text.len())).unwrap_or_default().to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The run of consecutive literals that all belong to `table` holding the most distinct
/// entries: `(distinct entries, start, length)`.
fn longest_run(literals: &[String], table: &[&str]) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut start = 0;
    for (i, literal) in literals.iter().enumerate() {
        if !table.contains(&literal.as_str()) {
            start = i + 1;
            continue;
        }
        let run = &literals[start..=i];
        let distinct = run.iter().collect::<std::collections::HashSet<_>>().len();
        if distinct > best.0 {
            best = (distinct, start, run.len());
        }
    }
    best
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `src` folders of the workspace's crates (and of the fuzz workspace).
fn source_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let src = entry.path().join("src");
        if entry.path().join("Cargo.toml").is_file() && src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    files
}

#[test]
fn keyword_tables_have_no_second_copy() {
    let owner = Path::new(env!("CARGO_MANIFEST_DIR")).join("../haproxy-model/src/keywords");
    let owner = owner.canonicalize().unwrap();
    let tables = tables();
    let files = source_files();
    assert!(files.len() > 20, "only {} source files found", files.len());
    let mut copies = Vec::new();
    for file in &files {
        if file.canonicalize().unwrap().starts_with(&owner) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests beside the code list keywords as test data, not as tables.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        let found = literals(code);
        for (name, table) in &tables {
            if table.len() < 3 {
                continue;
            }
            // A copy: at least half of a table's entries (and three), written one after the
            // other. Shorter runs are code that names a few keywords, which is fine.
            let (distinct, at, length) = longest_run(&found, table);
            if distinct >= 3 && distinct * 2 >= table.len() {
                copies.push(format!(
                    "{}: {distinct} of the {} entries of {name} in a row: {:?}",
                    file.display(),
                    table.len(),
                    &found[at..at + length]
                ));
            }
        }
    }
    assert!(copies.is_empty(), "keyword tables copied outside haproxy-model/src/keywords:\n{}", copies.join("\n"));
}

#[test]
fn the_scanner_finds_a_copy() {
    let copy = "const T: &[&str] = &[\"client\", \"server\", // why\n \"connect\", \"check\"];";
    let found = literals(copy);
    assert_eq!(longest_run(&found, proxy::TIMEOUTS), (4, 0, 4));
    assert_eq!(literals("let c = '\"'; let s = \"a\\\"b\";"), vec!["a\\\"b".to_string()]);
}
