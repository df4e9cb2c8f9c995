# The bundle apply benchmark (issue 11, "Benchmark"): commit -> served on one agent with real
# HAProxy, a map-only change (runtime API, no reload) against a config change (reload), on a
# config with 1,000 extra backends; prints p50/p99/max of each. Needs the `fleet` and
# `fleet-agent` binaries (the debug build of the earlier steps serves); ~1 minute.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "55-bundle-bench: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench bundle_apply
