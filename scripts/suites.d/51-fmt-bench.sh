# `fmt` on a large configuration: parse + canonical format of a generated, deliberately untidy
# 20,000 backends x 10 servers file (~15 MB), best of 3; fails when formatting the output again
# changes it or when a word is lost. Shares the release build of 50-bench.sh; a few seconds once built.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "51-fmt-bench: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench format_large
