# PowerDNS Authoritative with its SQLite backend for the PowerDNS provider tests
# (fleet-core dns::PowerDns, tests/tests/it/dns_failover.rs): each test starts its own
# `pdns_server` on loopback with its own config dir, SQLite database (made with the schema the
# package ships), webserver/API and API key; zones are created with `pdnsutil`. The package's
# own service would listen on port 53: a policy-rc.d keeps apt from starting it, and it is
# disabled right after install; the tests never use it. FLEET_PDNS_BIN / FLEET_PDNSUTIL_BIN tell
# the tests where the binaries are; without them they look on PATH and in /usr/sbin, or say why
# they skip.
if ! dpkg-query -W -f='${Status}' pdns-backend-sqlite3 2>/dev/null | grep -q "install ok installed"; then
  pdns_policy_added=0
  if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    pdns_policy_added=1
  fi
  apt_install pdns-server pdns-backend-sqlite3 sqlite3
  if [ "$pdns_policy_added" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$(id -u)" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now pdns.service >/dev/null 2>&1 || true
  fi
fi
export FLEET_PDNS_BIN="${FLEET_PDNS_BIN:-$(command -v pdns_server || echo /usr/sbin/pdns_server)}"
export FLEET_PDNSUTIL_BIN="${FLEET_PDNSUTIL_BIN:-$(command -v pdnsutil || echo /usr/bin/pdnsutil)}"
