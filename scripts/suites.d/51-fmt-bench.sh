# `fmt` on a large configuration: parse + canonical format of a generated, deliberately untidy
# 20,000 backends x 10 servers file (~15 MB), best of 3; fails when formatting the output again
# changes it or when a word is lost. Shares the release build of 50-bench.sh; a few seconds once built.
cargo bench --workspace --locked --bench format_large
