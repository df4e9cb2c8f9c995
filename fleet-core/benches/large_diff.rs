//! `diff` of two ~100,000-line versions (issue 12 §5: "linear-ish with a deadline; a 100k-line
//! diff under 500 ms"; before, a rewrite of every server line took 15 s: Myers is O(N·D)).
//!
//! The base is `fleet_tests::large_config` with 5,900 backends of 10 servers (~100,300 lines,
//! ~5 MB). Each case diffs it against a changed copy through [`fleet_core::diff::diff`] (unified
//! text diff + structural summary + privileged directives), best of 3:
//!
//! - `few edits`: one server in 100 gets another weight, a backend added, one removed;
//! - `every server`: every server line changed (the case that was quadratic);
//! - `rules reversed`: the frontend's 11,800 `acl`/`use_backend` lines in reverse order (a
//!   reordered ordered list of 5,900 rules: the structural summary's order check);
//! - `unrelated`: every server address shifted and every backend renamed.
//!
//! Exits non-zero when any case takes 500 ms or more.
//!
//! Run: `cargo bench -p fleet-core --bench large_diff` (after `--`: `--backends N`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let mut backends = 5_900;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // `cargo bench` passes `--bench`, and maybe a filter.
        if arg == "--backends" {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => backends = n,
                None => {
                    eprintln!("large_diff: --backends needs a number");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let base = fleet_tests::large_config(backends, 10);
    println!("large_diff: base of {} lines, {:.1} MB", base.lines().count(), base.len() as f64 / 1e6);
    let mut ok = true;
    for (name, changed) in cases(&base, backends) {
        let mut best = Duration::MAX;
        let mut summary = 0;
        let mut unified = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let d = fleet_core::diff::diff(&base, &changed);
            best = best.min(start.elapsed());
            summary = d.summary.len();
            unified = d.unified.lines().count();
        }
        let verdict = if best < LIMIT { "ok" } else { "TOO SLOW" };
        let phases = phases(&base, &changed);
        ok &= best < LIMIT;
        println!(
            "large_diff: {name:<15} {:>9.1} ms  (summary: {summary} sections, unified: {unified} lines)  {verdict}",
            best.as_secs_f64() * 1000.0
        );
        println!("large_diff: {:<15} phases: {phases}", "");
    }
    println!("large_diff: bound {} ms per diff", LIMIT.as_millis());
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Where the time goes, each part alone (one run each, CPU time of the thread, so other work on
/// the machine does not count): the unified text diff, parsing both sides, the structural
/// summary, the privileged-directive scan.
fn phases(a: &str, b: &str) -> String {
    // CPU time of this thread (Linux schedstat, ns): the figure a busy machine does not inflate.
    let time = |f: &mut dyn FnMut()| {
        let cpu = || {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        };
        let start = cpu();
        f();
        match (start, cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
            _ => f64::NAN,
        }
    };
    let unified = time(&mut || {
        std::hint::black_box(fleet_core::diff::unified(a, b, "a", "b"));
    });
    let (mut da, mut db) = (None, None);
    let parse = time(&mut || {
        da = Some(haproxy_parse::parse(a).document);
        db = Some(haproxy_parse::parse(b).document);
    });
    let (Some(da), Some(db)) = (da, db) else { return String::new() };
    let summary = time(&mut || {
        std::hint::black_box(fleet_core::diff::summary(&da, &db));
    });
    let privileged = time(&mut || {
        std::hint::black_box(fleet_core::auth::privileged::introduced(&da, &db));
    });
    format!("cpu: unified {unified:.1} ms, parse x2 {parse:.1} ms, summary {summary:.1} ms, privileged {privileged:.1} ms")
}

fn cases(base: &str, backends: usize) -> Vec<(&'static str, String)> {
    let mut few = String::with_capacity(base.len());
    let mut every = String::with_capacity(base.len());
    let mut unrelated = String::with_capacity(base.len());
    let mut rules = Vec::new();
    let mut reversed = String::with_capacity(base.len());
    let removed = format!("backend be_app{:05}", backends / 2);
    let mut skipping = false;
    for (i, line) in base.lines().enumerate() {
        let server = line.trim_start().starts_with("server ");
        // few edits
        if line.starts_with("backend ") {
            skipping = line == removed;
        }
        if !skipping {
            if server && i % 100 == 0 {
                few.push_str(&line.replace("weight ", "weight 1"));
            } else {
                few.push_str(line);
            }
            few.push('\n');
        }
        // every server
        if server {
            every.push_str(&line.replace("maxconn 500", "maxconn 501"));
        } else {
            every.push_str(line);
        }
        every.push('\n');
        // unrelated
        unrelated.push_str(&line.replace(" 10.", " 11.").replace("be_app", "be_web"));
        unrelated.push('\n');
        // rules reversed
        let trimmed = line.trim_start();
        if trimmed.starts_with("acl host_app") || trimmed.starts_with("use_backend ") {
            rules.push(line);
        } else {
            if trimmed.starts_with("default_backend") {
                for rule in rules.drain(..).rev() {
                    reversed.push_str(rule);
                    reversed.push('\n');
                }
            }
            reversed.push_str(line);
            reversed.push('\n');
        }
    }
    few.push_str("\nbackend be_added\n    server s1 10.9.9.9:80\n");
    vec![("few edits", few), ("every server", every), ("rules reversed", reversed), ("unrelated", unrelated)]
}
