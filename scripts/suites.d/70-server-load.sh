# The server load benchmark (issue 5, acceptance "load benchmark"): 1,000 enrolled agents
# long-poll one `fleet serve` (SQLite) on loopback, 3 applies each reach all of them; prints
# p50/p99/max apply -> answer and the server's peak RSS, and fails when an agent is not answered
# or the p99 is above FLEET_BENCH_MAX_P99_MS (default 1000 ms; measured ~40 ms). About 10 s once
# built (the release build of the server is the slow part).
cargo bench -p fleet-server --bench long_poll --locked
