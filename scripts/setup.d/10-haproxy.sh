# HAProxy 2.6 and its manuals: the real `haproxy -c` the tests compare against.
apt_install haproxy haproxy-doc
export FLEET_HAPROXY_BIN="${FLEET_HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}"

# Tests that only run `haproxy -c` (the corpus checks) use FLEET_HAPROXY_CHECK_BIN: HAProxy in a
# network namespace of its own, with no network. Server names that do not resolve then fail at
# once instead of waiting out the resolver's timeout (5 s for each of 26 corpus files here);
# `-dr`, which the manifest gives those files, ignores the failure either way. Tests that serve
# traffic keep using FLEET_HAPROXY_BIN.
if [ -z "${FLEET_HAPROXY_CHECK_BIN:-}" ] && unshare -n true 2>/dev/null; then
  mkdir -p target/tools
  cat > target/tools/haproxy-check <<SCRIPT
#!/bin/sh
exec unshare -n "$FLEET_HAPROXY_BIN" "\$@"
SCRIPT
  chmod +x target/tools/haproxy-check
  export FLEET_HAPROXY_CHECK_BIN="$PWD/target/tools/haproxy-check"
fi
