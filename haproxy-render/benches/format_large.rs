//! How long `fmt` takes on a large configuration: parse + canonical format of a generated
//! 20,000 backends × 10 servers file (~330k lines, ~15 MB) written in a deliberately untidy
//! layout (tabs, runs of blanks, blank-line runs, CRLF), best of 3. It also checks what `fmt`
//! promises on that file: the output is canonical (formatting it again changes nothing) and every
//! word is kept. Exits non-zero when a promise is broken.
//!
//! Run: `cargo bench -p haproxy-render --bench format_large` (`-- --backends N --servers N`).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use haproxy_parse::parse;
use haproxy_render::format;

fn number(args: &[String], flag: &str, default: usize) -> usize {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// An untidy configuration: the same statements a tidy one would hold, laid out badly.
fn generate(backends: usize, servers: usize) -> String {
    let mut out = String::with_capacity(backends * (servers * 90 + 200));
    out.push_str("global\r\n\tmaxconn   200000\r\n\r\n\r\ndefaults\r\n  mode http\r\n  timeout connect 5s\r\n");
    out.push_str("  timeout client 30s\r\n  timeout server 30s\r\n\r\nfrontend www\r\n  bind :8080\r\n");
    for b in 0..backends {
        let _ = write!(out, "  use_backend be{b}   if {{ hdr(host) -i be{b}.example }}\r\n");
    }
    for b in 0..backends {
        let _ = write!(out, "\r\n\r\n# backend {b}\r\nbackend be{b}\r\n\tbalance  roundrobin\r\n");
        for s in 0..servers {
            let _ = write!(out, "    server s{s}\t10.{}.{}.{s}:8080   check inter 2s  weight 10 # n{s}  \r\n", b / 250, b % 250);
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (backends, servers) = (number(&args, "--backends", 20_000), number(&args, "--servers", 10));
    let input = generate(backends, servers);
    println!(
        "format_large: {backends} backends x {servers} servers, {} lines, {:.1} MB",
        input.lines().count(),
        input.len() as f64 / 1e6
    );
    let mut best = Duration::MAX;
    let mut output = String::new();
    for _ in 0..3 {
        let start = Instant::now();
        output = format(&parse(&input).document);
        best = best.min(start.elapsed());
    }
    println!("parse + format: {:.0} ms (best of 3), output {:.1} MB", best.as_secs_f64() * 1e3, output.len() as f64 / 1e6);
    if format(&parse(&output).document) != output {
        eprintln!("format_large: formatting the output again changed it");
        return ExitCode::FAILURE;
    }
    let words = |text: &str| parse(text).document.lines().map(|l| l.words().len()).sum::<usize>();
    if words(&input) != words(&output) {
        eprintln!("format_large: the number of words changed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
