# keepalived 2.2 and iproute2: `keepalived -t` on the corpus and on generated VRRP configs, and
# the two-namespace failover test (tests/tests/it/keepalived_vrrp.rs), which needs root and
# `ip netns`; without them those tests print why they skip.
apt_install keepalived iproute2
export FLEET_KEEPALIVED_BIN="${FLEET_KEEPALIVED_BIN:-$(command -v keepalived || echo /usr/sbin/keepalived)}"
