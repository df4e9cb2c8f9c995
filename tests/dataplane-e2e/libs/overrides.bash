
# --- appended by tests/dataplane-e2e/run.sh (the fleet harness) --------------------------------
# There is no container: a test that reads dataplaneapi's log or edits files inside it fails,
# saying so. HAProxy's reload (`kill -s 12 1`) is fleet's own business (agents reload the nodes
# on a new version), so it succeeds without doing anything.
function dpa_docker_exec() {
  case "$*" in
    "kill -s 12 1") return 0 ;;
  esac
  echo "fleet e2e harness: no dataplaneapi container to run: $*" >&2
  return 1
}

function dpa_diff_docker_file() {
  echo "fleet e2e harness: no dataplaneapi container to read $1 from" >&2
  return 1
}
