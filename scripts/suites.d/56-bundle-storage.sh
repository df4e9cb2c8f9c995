# The bundle storage benchmark (issue 11, "Benchmark"): versions of a bundle whose 5 MB map
# changes by one line each time, on a SQLite store; prints the store's own accounting (chunk
# bytes, chunk-list bytes, total against the bundle size, what each version added) and fails
# when the total exceeds 2x the bundle plus what the changed blobs must add. 250 versions by
# default (~15 s after the release build), projected to 1,000; FLEET_BENCH_VERSIONS=1000 runs
# the whole history (40-80 s).
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "56-bundle-storage: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench bundle_storage
