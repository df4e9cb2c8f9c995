# The large-configuration benchmark (issue 2, acceptance "Benchmark"): parse + lossless render of a
# generated 20,000 backends x 10 servers config, side by side with `haproxy -c` on the same file
# (FLEET_HAPROXY_BIN, exported by setup.d/10-haproxy.sh). It exits non-zero, failing the run, when
# parse + render takes more than 1/10 of haproxy's time or peaks above 250 MB.
# Takes about 30 s once built (haproxy -c itself takes ~6 s a run on this file).
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "50-bench: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench large_config
