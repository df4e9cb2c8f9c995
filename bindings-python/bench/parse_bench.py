"""Parsing speed of haproxy_fleet from Python, against Rust and against pure-Python pyhaproxy.

1. A 20,000-backend configuration (10 servers each, ~280k lines, 12 MB): best time of
   ``haproxy_fleet.parse(text)`` versus the best time of ``haproxy_parse::parse`` in the
   ``parse_timing`` binary (release build, same profile as the wheel), in alternating rounds.
   Both include dropping the document. Limit: Python <= 1.5 x Rust.
2. A 2,000-backend configuration: ``haproxy_fleet.parse`` versus pyhaproxy 0.3.7
   (``Parser(filestring=...).build_configuration()``), installed into a throwaway venv by this
   script. Limit: haproxy_fleet >= 100 x faster.

Run with the Python that has the haproxy_fleet wheel installed, from anywhere:

    python bindings-python/bench/parse_bench.py [--rust-timing PATH] [--runs N] [--rounds N] [--json OUT]

``--rust-timing`` defaults to target/release/parse_timing, built on demand with
``cargo build --release -p haproxy-fleet-parse-timing`` (bench/rust-timing). Exits 1 when a limit
is missed, after printing both figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import haproxy_fleet

WORKSPACE = Path(__file__).resolve().parents[2]
MAX_RUST_RATIO = 1.5
MIN_PYHAPROXY_SPEEDUP = 100.0


def generate(backends: int, servers: int = 10) -> str:
    """A realistic configuration: global, defaults, one frontend routing by host, N backends."""
    out = [
        "global\n    maxconn 100000\n    log stdout format raw local0\n\n",
        "defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 5s\n"
        "    timeout client 30s\n    timeout server 30s\n\n",
        "frontend www\n    bind *:80\n    acl host_b0 hdr(host) -i b0.example.com\n"
        "    use_backend b0 if host_b0\n    default_backend b0\n",
    ]
    for b in range(backends):
        out.append(f"\nbackend b{b}\n    balance roundrobin\n    option httpchk GET /health\n")
        for s in range(servers):
            out.append(f"    server s{s} 10.{b // 250 % 250}.{b % 250}.{s + 1}:8080 check inter 2s weight {s + 1}\n")
    return "".join(out)


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rust_timing_binary(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "haproxy-fleet-parse-timing"],
        cwd=WORKSPACE,
        check=True,
    )
    return WORKSPACE / "target" / "release" / "parse_timing"


PYHAPROXY_TIMER = """
import sys, time
from pyhaproxy.parse import Parser
text = open(sys.argv[1]).read()
runs = int(sys.argv[2])
best = None
for _ in range(runs):
    start = time.perf_counter()
    configuration = Parser(filestring=text).build_configuration()
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
servers = sum(len(b.servers()) for b in configuration.backends)
print(best, len(configuration.backends), servers)
"""


def time_pyhaproxy(path: Path, runs: int, workdir: Path) -> tuple[float, int, int]:
    env_dir = workdir / "pyhaproxy-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "pyhaproxy==0.3.7"], check=True)
    # pyhaproxy's PEG parser recurses once per line.
    script = "import sys; sys.setrecursionlimit(1_000_000)\n" + PYHAPROXY_TIMER
    answer = subprocess.run([str(python), "-c", script, str(path), str(runs)], check=True, capture_output=True, text=True)
    best, backends, servers = answer.stdout.split()
    return float(best), int(backends), int(servers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rust-timing", help="path to the parse_timing binary (bench/rust-timing)")
    parser.add_argument("--runs", type=int, default=3, help="timed parses per round and side")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of Python and Rust timings")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="haproxy-fleet-bench-") as tmp:
        workdir = Path(tmp)

        big = generate(20_000)
        big_path = workdir / "big.cfg"
        big_path.write_text(big)
        assert haproxy_fleet.parse(big).render() == big, "round trip of the 20,000-backend config"
        # Rounds alternate between the two sides so that load from other processes on the
        # machine weighs on both alike; each side keeps its best time.
        timing = rust_timing_binary(args.rust_timing)
        python_big = rust_big = float("inf")
        for _ in range(args.rounds):
            python_big = min(python_big, best_of(args.runs, lambda: haproxy_fleet.parse(big)))
            rust = subprocess.run([str(timing), str(big_path), str(args.runs)], check=True, capture_output=True, text=True)
            rust_big = min(rust_big, float(json.loads(rust.stdout)["best_seconds"]))
        results.update(
            bytes_20000=len(big.encode()),
            python_20000_s=python_big,
            rust_20000_s=rust_big,
            ratio_python_over_rust=python_big / rust_big,
        )
        print(f"20,000 backends ({len(big.encode()) / 1e6:.1f} MB, {big.count(chr(10))} lines): "
              f"haproxy_fleet.parse {python_big * 1000:.1f} ms, Rust haproxy_parse::parse {rust_big * 1000:.1f} ms, "
              f"ratio {python_big / rust_big:.2f}x (limit {MAX_RUST_RATIO}x)")

        small = generate(2_000)
        small_path = workdir / "small.cfg"
        small_path.write_text(small)
        ours = best_of(args.runs, lambda: haproxy_fleet.parse(small))
        theirs, backends, servers = time_pyhaproxy(small_path, 2, workdir)
        ours_doc = haproxy_fleet.parse(small)
        assert backends == len(ours_doc.backends()) == 2_000, backends
        assert servers == 20_000, servers
        results.update(haproxy_fleet_2000_s=ours, pyhaproxy_2000_s=theirs, speedup_over_pyhaproxy=theirs / ours)
        print(f"2,000 backends ({len(small.encode()) / 1e6:.1f} MB): haproxy_fleet.parse {ours * 1000:.2f} ms, "
              f"pyhaproxy {theirs * 1000:.0f} ms, haproxy_fleet {theirs / ours:.0f}x faster (limit {MIN_PYHAPROXY_SPEEDUP:.0f}x)")

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    failed = []
    if results["ratio_python_over_rust"] > MAX_RUST_RATIO:
        failed.append(f"Python/Rust ratio {results['ratio_python_over_rust']:.2f} above {MAX_RUST_RATIO}")
    if results["speedup_over_pyhaproxy"] < MIN_PYHAPROXY_SPEEDUP:
        failed.append(f"speedup over pyhaproxy {results['speedup_over_pyhaproxy']:.0f} below {MIN_PYHAPROXY_SPEEDUP:.0f}")
    for message in failed:
        print(f"parse_bench: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
