//! Replays every saved fuzz input (`fuzz/regressions/<target>/*`) through the same invariants
//! as the fuzz targets, on stable Rust, as part of `cargo test`. The invariant code is the fuzz
//! crate's own (`fuzz/src/*.rs`), included here with `#[path]`, so the two cannot drift apart.

// Test helpers outside #[test] functions: failing loudly is their job.

use std::path::{Path, PathBuf};

#[allow(dead_code, unreachable_pub)]
#[path = "../../../fuzz/src/roundtrip.rs"]
mod roundtrip;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../fuzz/src/edit.rs"]
mod edit;

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every saved input of `target`, reporting all failures at once.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let files = regressions(target);
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{} of {} inputs fail:\n{}", failures.len(), files.len(), failures.join("\n\n"));
    files.len()
}

#[test]
fn roundtrip_regressions_still_round_trip() {
    let count = replay("haproxy_roundtrip", roundtrip::check_roundtrip);
    assert!(count >= 5, "only {count} saved inputs for haproxy_roundtrip");
}

#[test]
fn edit_regressions_stay_stable() {
    let count = replay("haproxy_edit", edit::check_edit);
    assert!(count >= 3, "only {count} saved inputs for haproxy_edit");
}

/// The split between text and edit bytes is what makes corpus files valid seeds.
#[test]
fn edit_inputs_split_at_the_separator() {
    assert_eq!(edit::split_input(b"global\n"), Some(("global\n", &[][..])));
    assert_eq!(edit::split_input(b"global\n\xff\x01\x02"), Some(("global\n", &[1u8, 2][..])));
    assert_eq!(edit::split_input(b"\xc3\xff"), None);
}

/// The stability check really detects a broken document: a body line turned into a section
/// header behind the model's back makes `parse(render(x)) != x`.
#[test]
fn the_stability_check_catches_a_broken_document() {
    let mut document = haproxy_parse::parse("backend a\n  server s 127.0.0.1:80\n").document;
    edit::assert_stable(&document, "nothing");
    document.sections_mut()[0].lines_mut()[0].set_value(0, "frontend");
    let caught = std::panic::catch_unwind(|| edit::assert_stable(&document, "a header smuggled into a body"));
    assert!(caught.is_err());
}
