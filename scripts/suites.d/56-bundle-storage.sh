# The bundle storage benchmark (issue 11, "Benchmark"): 1,000 versions of a bundle whose 5 MB
# map changes by one line each time, on a SQLite store; prints the store's own accounting
# (chunk bytes, chunk-list bytes, total against the bundle size, what each version added) and
# fails when the total exceeds 2x the bundle plus what the changed blobs must add. ~40 s on a
# release build; FLEET_BENCH_VERSIONS=N runs a shorter history and projects it to 1,000.
cargo bench -p fleet-core --bench bundle_storage --locked
