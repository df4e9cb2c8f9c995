# pebble and pebble-challtestsrv (both in Debian's `pebble` package): the ACME tests
# (tests/tests/it/acme_pebble.rs) run a real RFC 8555 CA on loopback. The package ships no
# certificate or configuration: the tests generate both in a temp dir.
command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1 || apt_install pebble
export FLEET_PEBBLE_BIN="${FLEET_PEBBLE_BIN:-$(command -v pebble || echo /usr/bin/pebble)}"
