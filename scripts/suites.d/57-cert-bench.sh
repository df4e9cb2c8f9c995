# The certificate benchmark (issue 13, "Benchmark"): 1,000 ECDSA P-256 certificates in one
# cluster on one agent with real HAProxy: `haproxy -c` on them, apply -> served (reload), and
# replace -> served for a renewal of one of them through the runtime API (the reload counter
# must not move). Needs the `fleet` and `fleet-agent` binaries (the debug build of the earlier
# steps serves); FLEET_BENCH_CERTS changes the count; ~15 seconds.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "57-cert-bench: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench cert_apply
