# HAProxy 2.6 and its manuals: the real `haproxy -c` the tests compare against.
apt_install haproxy
export FLEET_HAPROXY_BIN="${FLEET_HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
