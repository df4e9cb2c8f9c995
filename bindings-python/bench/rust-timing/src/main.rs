//! The Rust side of `bindings-python/bench/parse_bench.py`: times `haproxy_parse::parse` on one file, the same
//! work `haproxy_fleet.parse` does from Python, so the script can report the bindings' overhead.
//!
//! Usage: `parse_timing FILE [RUNS]`; prints `{"best_seconds": S, "median_seconds": M, "bytes": N}`.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_timing FILE [RUNS]");
        return ExitCode::from(64);
    };
    let runs: usize = match args.next().map(|r| r.parse()) {
        None => 7,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("parse_timing: RUNS must be a positive number");
            return ExitCode::from(64);
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("parse_timing: {path}: {e}");
            return ExitCode::from(66);
        }
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let parsed = haproxy_parse::parse(&text);
        let errors = parsed.has_errors();
        drop(parsed);
        times.push(start.elapsed().as_secs_f64());
        if errors {
            eprintln!("parse_timing: {path} has syntax errors");
            return ExitCode::FAILURE;
        }
    }
    times.sort_by(f64::total_cmp);
    let best = times.first().copied().unwrap_or_default();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    println!("{{\"best_seconds\": {best}, \"median_seconds\": {median}, \"bytes\": {}}}", text.len());
    ExitCode::SUCCESS
}
