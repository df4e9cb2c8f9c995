# BIND 9 for the DNS provider tests (fleet-core dns: RFC 2136 updates signed with TSIG, the
# propagation check): each test starts its own `named` on loopback with a generated config in a
# temp dir. bind9-utils brings tsig-keygen and named-checkconf, bind9-dnsutils brings dig for
# debugging. FLEET_NAMED_BIN tells the tests where named is; without it they print why they skip.
apt_install bind9 bind9-utils bind9-dnsutils
export FLEET_NAMED_BIN="${FLEET_NAMED_BIN:-$(command -v named || echo /usr/sbin/named)}"
