#!/usr/bin/env bash
# The fleet harness's setup/teardown for upstream's bats files (replaces upstream's
# e2e/libs/haproxy_config_setup.bash, whose choice of haproxy.cfg it keeps): instead of copying
# the file into a container, reloading HAProxy and restarting dataplaneapi, the chosen file is
# imported as the next version of the cluster (byte for byte, through fleet's own API, not the
# surface under test), then /info must answer as upstream waits for it.
# Env (set by tests/dataplane-e2e/run.sh): FLEET_E2E_API, FLEET_E2E_TOKEN, FLEET_E2E_CLUSTER.

# fleet_e2e_import FILE: FILE becomes the cluster's latest version.
fleet_e2e_import() {
  curl -sS --fail-with-body -m 30 -X POST -H "authorization: Bearer ${FLEET_E2E_TOKEN}" \
    -H 'content-type: text/plain' --data-binary "@$1" \
    "${FLEET_E2E_API}/clusters/${FLEET_E2E_CLUSTER}/import?message=e2e+${BATS_TEST_NUMBER:-0}" >/dev/null
}

# fleet_e2e_version_ge M.m: HAPROXY_VERSION >= M.m (upstream's haproxy_version_ge, which not
# every test loads).
fleet_e2e_version_ge() {
  local have_major have_minor want_major want_minor
  IFS=. read -r have_major have_minor _ <<<"$HAPROXY_VERSION"
  IFS=. read -r want_major want_minor _ <<<"$1"
  [[ $have_major -gt $want_major || ( $have_major -eq $want_major && $have_minor -ge $want_minor ) ]]
}

# fleet_e2e_wait_info: upstream's wait for /info after a restart, bounded the same way.
fleet_e2e_wait_info() {
  local tries=0
  until dpa_curl GET "/info" >/dev/null; do
    if [[ tries -eq 50 ]]; then
      echo -e "\nerror: no response from the surface on /info"
      exit 1
    fi
    sleep 0.1
    tries=$((tries + 1))
  done
}

setup() {
  # allow for running just one test in a directory
  if [[ -n $TESTNUMBER ]] && [[ "$BATS_TEST_NUMBER" -ne $TESTNUMBER ]]; then
      skip
  fi
  if [[ -n "$TESTDESCRIPTION" ]] && [[ "$BATS_TEST_DESCRIPTION" != "$TESTDESCRIPTION" ]]; then
      skip
  fi

  # A test that reads dataplaneapi's own log (/var/log/dataplaneapi.log inside upstream's
  # container) checks what upstream's process did inside, not what the API answers: there is no
  # such process or log here, so it is skipped, saying why (the summary counts it as skipped).
  if declare -f "$BATS_TEST_NAME" | grep -q '/var/log/dataplaneapi\.log'; then
    skip "reads dataplaneapi's own log inside upstream's container"
  fi

  # Upstream's choice: data/haproxy_<M.m>.cfg when HAPROXY_VERSION >= M.m, else data/haproxy.cfg,
  # else the default fixture.
  local chosen="${E2E_DIR}/fixtures/haproxy.cfg"
  if [ -f "${BATS_TEST_DIRNAME}/data/haproxy.cfg" ]; then
    chosen="${BATS_TEST_DIRNAME}/data/haproxy.cfg"
  fi
  local candidate file_version
  for candidate in "${BATS_TEST_DIRNAME}"/data/haproxy_[0-9]*.[0-9]*.cfg; do
    [ -f "$candidate" ] || continue
    file_version=$(echo "$candidate" | sed 's/.*_\([0-9]\+\.[0-9]\+\)\.cfg/\1/')
    if fleet_e2e_version_ge "$file_version"; then
      chosen="$candidate"
    fi
  done

  run fleet_e2e_import "$chosen"
  assert_success
  fleet_e2e_wait_info
}

# teardown returns the default configuration, as upstream's does.
teardown() {
  run fleet_e2e_import "${E2E_DIR}/fixtures/haproxy.cfg"
  assert_success
  fleet_e2e_wait_info
}
