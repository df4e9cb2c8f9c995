# The parsed-document cache benchmark (issue 10, "a typed read on the 20k-backend file under
# 5 ms"): one server read through the store (SQLite) on a 20,000 backends x 10 servers version,
# uncached (parse + read) and cached; prints the figures and fails when the cached read's median
# reaches 5 ms. The release build of fleet-core with its store costs a few minutes on two cores.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "52-document-cache: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench document_cache
