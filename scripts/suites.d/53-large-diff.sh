# The large diff benchmark (issue 12 §5, "a 100k-line diff under 500 ms"): `diff` (unified text
# diff + structural summary + privileged directives) of a ~100,000-line config against four
# changed copies (a few edits, every server line changed, the frontend's rules reversed, every
# name changed); prints the figures and exits non-zero, failing the run, when any case takes
# 500 ms or more. Shares the release build of fleet-core with 52-document-cache.sh.
[ "${FLEET_BENCH:-0}" = "1" ] || { echo "53-large-diff: skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"; return 0; }
cargo bench --workspace --locked --bench large_diff
