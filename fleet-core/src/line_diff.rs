//! The unified diff of two texts, line by line, in time close to linear in their size.
//!
//! ```text
//! a, b -> lines -> anchors: lines that occur exactly once in a and once in b, kept in the
//!                  longest chain whose order agrees on both sides (patience sorting, O(n log n))
//!               -> between two anchors: Myers (similar), bounded by the deadline
//!               -> ops grouped with 3 lines of context -> hunks printed as similar prints them
//! ```
//!
//! Why not `similar`'s own algorithms: Myers is O(N·D), and its `Patience` runs Myers over the
//! lines unique *within each side*, so a change of every server line of a 100,000-line file
//! (each line unique, none shared) is a Myers run with D in the hundred thousands: seconds. Lines
//! unique in *both* sides (section headers, most server lines of an ordinary change) pin the
//! match instead, the gaps between them are short, and only a text that shares almost nothing
//! leaves one large gap, where the deadline turns the rest into one removed and one added block:
//! still a correct diff, just not a minimal one. This is Bram Cohen's patience diff.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use similar::algorithms::{myers, Capture, DiffHook, NoFinishHook, Replace};
use similar::group_diff_ops;
use similar::udiff::UnifiedHunkHeader;

/// The unified diff (3 lines of context) of `a` and `b`, headed `label_a` and `label_b`; empty
/// when they are equal. Gives up on minimality at `deadline` (see the module docs).
pub(crate) fn unified(a: &str, b: &str, label_a: &str, label_b: &str, deadline: Instant) -> String {
    if a == b {
        return String::new();
    }
    // Lines end at `\n` only, as HAProxy reads them (a lone `\r` is part of the line).
    let old: Vec<&str> = a.split_inclusive('\n').collect();
    let new: Vec<&str> = b.split_inclusive('\n').collect();
    let mut out = String::new();
    for group in group_diff_ops(ops(&old, &new, deadline), 3) {
        if group.is_empty() {
            continue;
        }
        if out.is_empty() {
            let _ = write!(out, "--- {label_a}\n+++ {label_b}\n");
        }
        // The same text as similar's `UnifiedDiff` of `diff_lines`.
        let _ = writeln!(out, "{}", UnifiedHunkHeader::new(&group));
        for op in &group {
            for change in op.iter_changes(&old[..], &new[..]) {
                let line = change.value();
                let _ = write!(out, "{}{line}", change.tag());
                if !line.ends_with(['\r', '\n']) {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// The line operations turning `old` into `new` (lines as `split_inclusive('\n')` gives them):
/// patience anchors, Myers between them, bounded by `deadline` (see the module docs). Also the
/// rule of the delta pushes' text patches ([`crate::bundle::delta`]).
pub(crate) fn ops(old: &[&str], new: &[&str], deadline: Instant) -> Vec<similar::DiffOp> {
    let mut hook = Replace::new(Capture::new());
    let mut at = (0, 0);
    // `Capture` never fails (its error type is `Infallible`). Each gap's Myers must not
    // `finish` the hook: that would flush `Replace`'s pending run of equal lines, and equal
    // runs split into pieces defeat the grouping into hunks (every piece would be context).
    for (i, j) in anchors(old, new) {
        let _ = myers::diff_deadline(&mut NoFinishHook::new(&mut hook), old, at.0..i, new, at.1..j, Some(deadline));
        let _ = hook.equal(i, j, 1);
        at = (i + 1, j + 1);
    }
    let _ = myers::diff_deadline(&mut hook, old, at.0..old.len(), new, at.1..new.len(), Some(deadline));
    hook.into_inner().into_ops()
}

/// The lines unique on both sides, as `(index in old, index in new)`, the longest chain of them
/// in the same order on both sides, in that order.
fn anchors(old: &[&str], new: &[&str]) -> Vec<(usize, usize)> {
    // Per line: (times in old, index in old, times in new, index in new).
    let mut seen: HashMap<&str, (u32, usize, u32, usize)> = HashMap::with_capacity(old.len());
    for (i, line) in old.iter().enumerate() {
        let entry = seen.entry(line).or_insert((0, i, 0, 0));
        entry.0 = entry.0.saturating_add(1);
    }
    for (j, line) in new.iter().enumerate() {
        if let Some(entry) = seen.get_mut(line) {
            entry.2 = entry.2.saturating_add(1);
            entry.3 = j;
        }
    }
    let mut pairs: Vec<(usize, usize)> =
        seen.into_values().filter(|&(x, _, y, _)| x == 1 && y == 1).map(|(_, i, _, j)| (i, j)).collect();
    pairs.sort_unstable();
    // Longest increasing subsequence of the new-side indexes (patience sorting): `tails[k]` is
    // the pair ending the best chain of length k + 1 found so far, `back` links each pair to the
    // one before it in its chain.
    let mut tails: Vec<usize> = Vec::new();
    let mut back: Vec<Option<usize>> = Vec::with_capacity(pairs.len());
    for (k, &(_, j)) in pairs.iter().enumerate() {
        let place = tails.partition_point(|&t| pairs[t].1 < j);
        back.push(place.checked_sub(1).map(|p| tails[p]));
        if place == tails.len() {
            tails.push(k);
        } else {
            tails[place] = k;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut next = tails.last().copied();
    while let Some(k) = next {
        chain.push(pairs[k]);
        next = back[k];
    }
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use similar::TextDiff;

    use super::*;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn same_output_as_similar_on_small_texts() {
        let a = "global\n    maxconn 100\n\nbackend app\n    server s1 10.0.0.1:80\n    server s2 10.0.0.2:80\n";
        let b = "global\n    maxconn 200\n\nbackend app\n    server s1 10.0.0.1:80\n    server s3 10.0.0.3:80\n";
        let theirs = TextDiff::from_lines(a, b).unified_diff().context_radius(3).header("a", "b").to_string();
        assert_eq!(unified(a, b, "a", "b", later()), theirs);
        assert_eq!(unified(a, a, "a", "b", later()), "");
    }

    #[test]
    fn a_missing_final_newline_is_marked() {
        let got = unified("a\nb\n", "a\nc", "x", "y", later());
        assert_eq!(got, TextDiff::from_lines("a\nb\n", "a\nc").unified_diff().header("x", "y").to_string());
        assert!(got.ends_with("+c\n\\ No newline at end of file\n"), "{got}");
    }

    #[test]
    fn anchors_keep_the_longest_agreeing_chain() {
        let old = ["h1\n", "x\n", "h2\n", "h3\n", "x\n"];
        let new = ["h2\n", "h1\n", "h3\n", "y\n"];
        // h1 and h2 swapped: only one of them can anchor, then h3.
        let chain = anchors(&old, &new);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1], (3, 2));
    }

    #[test]
    fn distant_changes_are_separate_small_hunks() {
        let a: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let b = a.replace("line 100\n", "line 100x\n").replace("line 200\n", "line 200x\n");
        let got = unified(&a, &b, "a", "b", later());
        assert_eq!(got, TextDiff::from_lines(&a, &b).unified_diff().header("a", "b").to_string());
        assert_eq!(got.lines().count(), 2 + 2 * 9, "{got}");
    }

    #[test]
    fn an_expired_deadline_still_gives_a_correct_diff() {
        let a: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let b: String = (0..2000).map(|i| format!("other {i}\n")).collect();
        let got = unified(&a, &b, "a", "b", Instant::now());
        assert_eq!(got.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).count(), 2000);
        assert_eq!(got.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).count(), 2000);
    }
}
