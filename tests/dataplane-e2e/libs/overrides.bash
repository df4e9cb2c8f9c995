
# --- appended by tests/dataplane-e2e/run.sh (the fleet harness) --------------------------------
# There is no container: a test that reads dataplaneapi's log or edits other files inside it
# fails, saying so. HAProxy's reload (`kill -s 12 1`) is fleet's own business (agents reload the
# nodes on a new version), so it succeeds without doing anything. An edit of the container's
# /etc/haproxy/haproxy.cfg by hand (`sed -i '<expr>' /etc/haproxy/haproxy.cfg`) is what editing
# the configuration by hand is in fleet: the latest version's text, edited with the same sed
# expression (sandboxed: no command or file access), imported as the next version through
# fleet's API (not the surface under test).
function dpa_docker_exec() {
  local config_edit="^sed -i '([^']*)' /etc/haproxy/haproxy\.cfg$"
  case "$*" in
    "kill -s 12 1") return 0 ;;
  esac
  if [[ "$*" =~ $config_edit ]]; then
    fleet_e2e_edit_config "${BASH_REMATCH[1]}"
    return
  fi
  echo "fleet e2e harness: no dataplaneapi container to run: $*" >&2
  return 1
}

# fleet_e2e_edit_config EXPR: the cluster's latest configuration edited by `sed EXPR`, imported
# as its next version.
function fleet_e2e_edit_config() {
  local edited
  edited=$(mktemp)
  curl -sS --fail-with-body -m 30 -H "authorization: Bearer ${FLEET_E2E_TOKEN}" \
    "${FLEET_E2E_API}/clusters/${FLEET_E2E_CLUSTER}/config" | sed --sandbox -e "$1" >"$edited" || { rm -f "$edited"; return 1; }
  curl -sS --fail-with-body -m 30 -X POST -H "authorization: Bearer ${FLEET_E2E_TOKEN}" \
    -H 'content-type: text/plain' --data-binary "@$edited" \
    "${FLEET_E2E_API}/clusters/${FLEET_E2E_CLUSTER}/import?message=e2e+edit+by+hand" >/dev/null
  local status=$?
  rm -f "$edited"
  return "$status"
}

function dpa_diff_docker_file() {
  echo "fleet e2e harness: no dataplaneapi container to read $1 from" >&2
  return 1
}
