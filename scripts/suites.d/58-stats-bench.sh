# The stats history query benchmark (issue 17, "a query of 24 h for one server answers in under
# 50 ms"): a SQLite store holding what retention keeps for one agent's 202 series (a day of raw
# 10 s points and 30 days of 5 min rollups each, ~3.5 million points), then the 24 h query of
# one server at a 10 s step; prints the figures and fails when its median reaches 50 ms. The
# release build of fleet-core with its store costs a few minutes on two cores.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "58-stats-bench: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench stats_query
