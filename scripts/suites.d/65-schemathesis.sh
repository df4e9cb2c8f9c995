# OpenAPI that tools can use (issue 12 §6): the document `fleet serve` serves passes
# openapi-spec-validator, and schemathesis (every check, a bounded number of generated requests
# per operation) finds no failure against a real server on loopback. Both tools live in their
# own venv under target/ (PyPI), kept between runs. Exclusions and per-route expectations are in
# scripts/schemathesis.toml, each with its reason. Takes ~2 min once the server is built.
# Sourced by scripts/test after the Rust tests (which build target/debug/fleet); apt_install
# comes from there. FLEET_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 20).

schemathesis_suite() {
  local py=python3
  if ! command -v "$py" >/dev/null 2>&1 || ! "$py" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    apt_install python3 python3-venv python3-pip
    py=/usr/bin/python3
  fi
  local tools=target/schemathesis-venv
  if [ ! -x "$tools/bin/schemathesis" ] || [ ! -x "$tools/bin/openapi-spec-validator" ]; then
    rm -rf "$tools"
    "$py" -m venv "$tools"
    "$tools/bin/pip" install -q --disable-pip-version-check "schemathesis>=4.3,<5" "openapi-spec-validator>=0.7,<1"
  fi
  # The same selection as the build stage (all targets: dev-dependency features too), so this is
  # a no-op after it; `--bin fleet` alone resolves other features and rebuilds the server.
  cargo build --workspace --all-targets --locked || return 1

  local work
  work=$(mktemp -d)
  local password="schemathesis-admin-password"
  FLEET_ADMIN_PASSWORD="$password" RUST_LOG=warn target/debug/fleet serve --listen 127.0.0.1:0 \
    --data "$work/data" --grace-seconds 1 >"$work/serve.out" 2>"$work/serve.err" &
  local pid=$!
  local base="" _
  for _ in $(seq 1 600); do
    base=$(sed -n 's/^listening on //p' "$work/serve.out" | head -n 1)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$base" ]; then
    echo "65-schemathesis.sh: fleet serve did not start" >&2
    cat "$work/serve.err" >&2
    kill "$pid" 2>/dev/null; rm -rf "$work"
    return 1
  fi

  local rc=0
  (
    set -e
    # An API token, not a session: schemathesis calls POST /auth/logout with the token it is
    # given, which ends a session but leaves API tokens working.
    local session token
    session=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$password\"}" | "$tools/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    token=$(curl -fsS -X POST "$base/api/v1/tokens" -H "authorization: Bearer $session" -H 'content-type: application/json' \
      -d '{"name":"schemathesis"}' | "$tools/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -fsS "$base/api/v1/openapi.json" -o "$work/openapi.json"
    "$tools/bin/openapi-spec-validator" "$work/openapi.json"
    # One worker: CPython 3.11.7's ast module fails under hypothesis's threads ("AST constructor
    # recursion depth mismatch").
    # Run from the scratch folder: schemathesis and hypothesis keep example databases in the
    # working directory, and a run must not leave files in the checkout.
    local root=$PWD
    (cd "$work" && "$root/$tools/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/api/v1/openapi.json" \
      --header "Authorization: Bearer $token" --checks all --workers 1 --generation-database none \
      --max-examples "${FLEET_SCHEMATHESIS_EXAMPLES:-20}" --no-color --report junit,har --report-dir "$root/target/schemathesis-report")
  ) || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "65-schemathesis.sh: server log:" >&2
    tail -n 50 "$work/serve.err" >&2
  fi
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$work"
  return "$rc"
}

schemathesis_suite
