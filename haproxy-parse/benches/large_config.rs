//! The large-configuration benchmark (issue 2, acceptance "Benchmark").
//!
//! Generates a config of 20,000 backends × 10 servers (~330k lines, ~15 MB), writes it to a
//! temporary folder, then measures side by side in one run:
//!
//! - parse + lossless render, best of 5, checking the output equals the input byte for byte;
//! - the real `haproxy -c -f FILE` (`FLEET_HAPROXY_BIN`, else `haproxy` on `PATH`), best of 2;
//! - peak memory of one parse + render.
//!
//! Peak memory is measured in a child process (this binary re-run with `--peak FILE`) that reads
//! the file, parses, renders, compares and then reports its own `VmHWM` from
//! `/proc/self/status`. A child starts from a clean heap, so the figure is not inflated by the
//! generator's string or by the timing runs, and `VmHWM` is the kernel's count of resident
//! pages: it includes allocator slack and fragmentation, which a counting global allocator would
//! miss, and it needs no `unsafe` (the workspace forbids it).
//!
//! Exits non-zero when parse + render takes more than 1/10 of `haproxy -c`'s time, when the peak
//! exceeds 250 MB, when the round trip is not exact, or when `haproxy -c` rejects the file.
//!
//! Run: `cargo bench -p haproxy-parse --bench large_config` (options after `--`: `--backends N`,
//! `--servers N`, `--keep` to leave the generated file in place).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use haproxy_parse::parse;
use haproxy_render::lossless;

/// The acceptance limits.
const MAX_RATIO: f64 = 0.1;
const MAX_PEAK_MB: f64 = 250.0;

struct Options {
    backends: usize,
    servers: usize,
    keep: bool,
    /// Child mode: measure the peak memory of parse + render of this file and print it.
    peak_of: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options { backends: 20_000, servers: 10, keep: false, peak_of: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backends" => options.backends = number(args.next(), "--backends")?,
            "--servers" => options.servers = number(args.next(), "--servers")?,
            "--keep" => options.keep = true,
            "--peak" => options.peak_of = Some(args.next().ok_or("--peak needs a file")?.into()),
            // `cargo bench` passes `--bench`; a filter string may follow from the command line.
            _ => {}
        }
    }
    Ok(options)
}

fn number(value: Option<String>, flag: &str) -> Result<usize, String> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
}


/// Parses and renders `text`, returning the rendering.
fn parse_render(text: &str) -> String {
    let parsed = parse(text);
    lossless(&parsed.document)
}

/// The best of `runs` timings of `f`.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    // `runs` is at least 1 at every call site; fall back to a fresh run if not.
    (best, last.unwrap_or_else(f))
}

/// The `haproxy` binary to compare against, if there is one.
fn haproxy_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("FLEET_HAPROXY_BIN") {
        let bin = PathBuf::from(bin);
        return bin.is_file().then_some(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
}

/// Times `haproxy -c -f file`, best of `runs`; fails when HAProxy rejects the file.
fn time_haproxy(bin: &Path, file: &Path, runs: usize) -> Result<Duration, String> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        let output = Command::new(bin)
            .arg("-c")
            .arg("-f")
            .arg(file)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let elapsed = start.elapsed();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
            return Err(format!(
                "haproxy -c rejected the generated file ({}):\n{}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        best = best.min(elapsed);
    }
    Ok(best)
}

/// Child mode: parse + render `file` once and print this process's peak resident memory in kB.
fn measure_peak(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rendered = parse_render(&text);
    if rendered != text {
        return Err("lossless render differs from the input".to_string());
    }
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    let hwm = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    // Keep both strings alive up to the measurement.
    drop((text, rendered));
    println!("{hwm}");
    Ok(())
}

/// Runs the child and returns its peak resident memory in MB.
fn peak_mb(file: &Path) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = Command::new(exe)
        .arg("--peak")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run the peak-memory child: {e}"))?;
    if !output.status.success() {
        return Err(format!("peak-memory child failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let kb: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("peak-memory child printed no number: {e}"))?;
    Ok(kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run(options: &Options) -> Result<bool, String> {
    let dir = std::env::temp_dir().join(format!("fleet-large-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("haproxy.cfg");
    let text = fleet_tests::large_config(options.backends, options.servers);
    std::fs::write(&file, &text).map_err(|e| format!("{}: {e}", file.display()))?;
    let result = measure(options, &file, &text);
    if options.keep {
        eprintln!("generated file kept at {}", file.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("warning: cannot remove {}: {e}", dir.display());
    }
    result
}

fn measure(options: &Options, file: &Path, text: &str) -> Result<bool, String> {
    let lines = text.lines().count();
    let (ours, rendered) = best_of(5, || parse_render(text));
    if rendered != text {
        return Err("lossless render of the generated file differs from the input".to_string());
    }
    drop(rendered);
    let haproxy = match haproxy_bin() {
        Some(bin) => Some(time_haproxy(&bin, file, 2)?),
        None => {
            println!("haproxy not found (set FLEET_HAPROXY_BIN or put it on PATH): skipping the time ratio");
            None
        }
    };
    let peak = peak_mb(file)?;
    let ratio = haproxy.map(|h| ours.as_secs_f64() / h.as_secs_f64());

    println!(
        "large_config: {} backends x {} servers, parse + lossless render best of 5, haproxy -c best of 2",
        options.backends, options.servers
    );
    println!("{:<24} {:>12}", "file size (MB)", format!("{:.1}", text.len() as f64 / 1e6));
    println!("{:<24} {:>12}", "lines", lines);
    println!("{:<24} {:>12}", "parse+render (ms)", format!("{:.1}", ms(ours)));
    println!("{:<24} {:>12}", "haproxy -c (ms)", haproxy.map_or("n/a".into(), |h| format!("{:.1}", ms(h))));
    println!(
        "{:<24} {:>12}",
        format!("ratio (max {MAX_RATIO})"),
        ratio.map_or("n/a".into(), |r| format!("{r:.4}"))
    );
    println!("{:<24} {:>12}", format!("peak MB (max {MAX_PEAK_MB})"), format!("{peak:.1}"));

    let mut ok = true;
    if let Some(r) = ratio {
        if r > MAX_RATIO {
            println!("FAIL: parse+render takes {r:.3} of haproxy -c's time (limit {MAX_RATIO})");
            ok = false;
        }
    }
    if peak > MAX_PEAK_MB {
        println!("FAIL: peak memory {peak:.1} MB exceeds {MAX_PEAK_MB} MB");
        ok = false;
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("large_config: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match &options.peak_of {
        Some(file) => measure_peak(file).map(|()| true),
        None => run(&options),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("large_config: {e}");
            ExitCode::FAILURE
        }
    }
}
