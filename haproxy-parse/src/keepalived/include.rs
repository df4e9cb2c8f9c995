//! Resolving `include` lines: the one place the keepalived side touches the file system.
//!
//! Parsing keeps `include PATTERN` as written; this explicit call expands each pattern the way
//! keepalived does (a glob relative to the including file's folder, `*`, `?` and `[...]` in any
//! path component, matches in sorted order) and parses every file found, recursively.

use std::path::{Path, PathBuf};

use haproxy_model::keepalived::{Document, Statement};
use thiserror::Error;

use super::{parse, Parsed};

/// keepalived stops at this include depth; so do we (an include loop would never end).
const MAX_DEPTH: usize = 16;

/// One file pulled in by an `include`.
#[derive(Debug, Clone)]
pub struct IncludedFile {
    /// The pattern as written on the include line.
    pub pattern: String,
    /// The file found.
    pub path: PathBuf,
    /// Its parsed content.
    pub parsed: Parsed,
}

/// Why includes could not be resolved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IncludeError {
    /// A matched file could not be read.
    #[error("cannot read included file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Includes nest deeper than keepalived allows (probably a loop).
    #[error("includes nest deeper than {MAX_DEPTH} levels at {0}")]
    TooDeep(PathBuf),
}

fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| wildcard_match(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && wildcard_match(rest, &name[1..]),
        Some(('[', rest)) => {
            let Some(end) = rest.iter().position(|&c| c == ']') else {
                return name.first() == Some(&'[') && wildcard_match(rest, &name[1..]);
            };
            let Some((&first, tail)) = name.split_first() else { return false };
            let (negate, set) = match rest[..end].split_first() {
                Some(('!' | '^', set)) => (true, set),
                _ => (false, &rest[..end]),
            };
            let mut matched = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    matched |= set[i] <= first && first <= set[i + 2];
                    i += 3;
                } else {
                    matched |= set[i] == first;
                    i += 1;
                }
            }
            matched != negate && wildcard_match(&rest[end + 1..], tail)
        }
        Some((&c, rest)) => name.first() == Some(&c) && wildcard_match(rest, &name[1..]),
    }
}

/// Expands `pattern` (relative to `base`) into the existing files it names, sorted.
fn expand(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { base.join(pattern) };
    let mut candidates = vec![PathBuf::new()];
    for component in full.components() {
        let text = component.as_os_str().to_string_lossy();
        let wild = text.contains(['*', '?', '[']);
        let mut next = Vec::new();
        for dir in &candidates {
            if !wild {
                next.push(dir.join(component.as_os_str()));
                continue;
            }
            let pattern: Vec<char> = text.chars().collect();
            let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.') && wildcard_match(&pattern, &name.chars().collect::<Vec<_>>()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| dir.join(name)));
        }
        candidates = next;
    }
    candidates.into_iter().filter(|p| p.is_file()).collect()
}

fn include_patterns(statements: &[Statement], out: &mut Vec<String>) {
    for statement in statements {
        // Every include form (`includer`, `includem` ... differ only in which failures
        // keepalived reports), in any block.
        if super::check::is_include(statement) {
            if let Some(pattern) = statement.arg(0) {
                out.push(pattern.into_owned());
            }
        }
        if let Some(block) = statement.block() {
            include_patterns(block.statements(), out);
        }
    }
}

fn resolve_into(
    document: &Document,
    base: &Path,
    depth: usize,
    out: &mut Vec<IncludedFile>,
) -> Result<(), IncludeError> {
    let mut patterns = Vec::new();
    include_patterns(document.statements(), &mut patterns);
    for pattern in patterns {
        for path in expand(base, &pattern) {
            if depth >= MAX_DEPTH {
                return Err(IncludeError::TooDeep(path));
            }
            let text =
                std::fs::read_to_string(&path).map_err(|source| IncludeError::Read { path: path.clone(), source })?;
            let parsed = parse(&text);
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let nested = parsed.document.clone();
            out.push(IncludedFile { pattern: pattern.clone(), path, parsed });
            resolve_into(&nested, &folder, depth + 1, out)?;
        }
    }
    Ok(())
}

/// Every file the document's `include` lines name (recursively, in reading order), parsed.
/// `base` is the folder of the including file. Patterns that match nothing are skipped, as
/// keepalived does.
pub fn resolve_includes(document: &Document, base: &Path) -> Result<Vec<IncludedFile>, IncludeError> {
    let mut out = Vec::new();
    resolve_into(document, base, 0, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        wildcard_match(&pattern.chars().collect::<Vec<_>>(), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn matches_globs() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", "a.cfg"));
        assert!(matches("vi_?.conf", "vi_1.conf"));
        assert!(matches("[ab]*", "beta"));
        assert!(!matches("[!ab]*", "beta"));
        assert!(matches("[0-9]x", "7x"));
    }

    #[test]
    fn resolves_relative_includes_recursively() {
        let dir = std::env::temp_dir().join(format!("ka-include-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "include ../inner.inc\nvrrp_script a {\n}\n").unwrap();
        std::fs::write(dir.join("conf.d/b.conf"), "vrrp_script b {\n}\n").unwrap();
        std::fs::write(dir.join("conf.d/skip.txt"), "x\n").unwrap();
        std::fs::write(dir.join("inner.inc"), "global_defs {\n}\n").unwrap();
        std::fs::write(dir.join("role.inc"), "state MASTER\n").unwrap();
        let doc = parse("include conf.d/*.conf\nvrrp_instance V {\n    includer role.inc\n}\n").document;
        let files = resolve_includes(&doc, &dir).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.conf", "inner.inc", "b.conf", "role.inc"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
