# Python bindings (issue 7): builds the haproxy_fleet wheel with maturin, installs it into a
# FRESH venv, runs the pytest suite (which starts the real `fleet serve` built by the Rust step),
# checks the type stubs against the extension (mypy stubtest, mypy --strict), then, with
# FLEET_BENCH=1, the parse benchmark (20,000 backends vs Rust <= 1.5x, 2,000 backends vs
# pyhaproxy >= 100x).
# Sourced by scripts/test after the Rust tests; apt_install comes from there. Takes ~3 min once
# the Rust crates are built (the release build of the extension, pyhaproxy's ~13 s parse).

python_suite() {
  local py=python3
  if ! command -v "$py" >/dev/null 2>&1 || ! "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    apt_install python3 python3-venv python3-pip
    py=/usr/bin/python3
  fi
  echo "python: $("$py" --version) at $(command -v "$py")"

  # maturin lives in its own venv under target/ (PyPI only), kept between runs.
  local tools=target/python-tools
  if [ ! -x "$tools/bin/maturin" ]; then
    rm -rf "$tools"
    "$py" -m venv "$tools"
    "$tools/bin/pip" install -q --disable-pip-version-check "maturin>=1.5,<2"
  fi
  rm -f target/wheels/haproxy_fleet-*.whl
  (cd bindings-python && "../$tools/bin/maturin" build --release --locked --out ../target/wheels)

  # A fresh venv every run: the wheel must install on its own.
  local env_dir=target/python-suite
  rm -rf "$env_dir"
  "$py" -m venv "$env_dir"
  # moto[server]: the real S3-compatible server the off-site backup test starts (test_backup.py).
  # pyyaml, jsonschema, bravado: the Data Plane API tests read upstream's Swagger 2.0 file at run
  # time (test_dataplane_spec.py validates answers with it, test_dataplane_client.py is the
  # client built from it), so nothing is generated and no Rust crate is added to the build.
  "$env_dir/bin/pip" install -q --disable-pip-version-check pytest "aiosmtpd>=1.4,<2" "moto[server]>=5,<6" \
    "pyyaml>=6,<7" "jsonschema>=4.18,<5" "bravado>=11,<13" target/wheels/haproxy_fleet-*.whl

  local rc=0
  (cd bindings-python/tests && FLEET_BIN="$PWD/../../target/debug/fleet" \
    "../../$env_dir/bin/python" -m pytest -q -p no:cacheprovider) || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "60-python.sh: pytest collected no tests" >&2
    return 1
  fi
  [ "$rc" -eq 0 ] || return "$rc"

  # The .pyi stubs must match what the extension exports, and the pure-Python half must type-check.
  "$env_dir/bin/pip" install -q --disable-pip-version-check "mypy>=1.10,<3"
  (cd "$env_dir" && bin/python -m mypy.stubtest haproxy_fleet._native haproxy_fleet.keepalived)
  "$env_dir/bin/python" -m mypy --strict --cache-dir target/python-mypy-cache bindings-python/python/haproxy_fleet

  # The parse benchmark needs a release build of the Rust timing binary: a heavy benchmark.
  if [ "${FLEET_BENCH:-0}" = "1" ]; then
    cargo build --release --workspace --locked --bin parse_timing
    "$env_dir/bin/python" bindings-python/bench/parse_bench.py \
      --rust-timing target/release/parse_timing --json target/python-bench.json
  else
    echo "60-python.sh: parse benchmark skipped (a heavy benchmark: FLEET_BENCH=1 ./scripts/test runs it)"
  fi
}

python_suite
