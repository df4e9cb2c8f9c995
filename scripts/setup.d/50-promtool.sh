# promtool (Debian package prometheus) for the /metrics validation test
# (server/tests/it/metrics.rs runs `promtool check metrics` on a real /metrics answer). Only the
# binary is used: a policy-rc.d keeps apt from starting the package's own Prometheus service,
# which is disabled right after install. FLEET_PROMTOOL_BIN tells the test where promtool is;
# without it the test looks on PATH and in /usr/bin, or says why it skips.
if ! command -v promtool >/dev/null 2>&1; then
  promtool_policy_added=0
  if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    promtool_policy_added=1
  fi
  apt_install prometheus
  if [ "$promtool_policy_added" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$(id -u)" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi
export FLEET_PROMTOOL_BIN="${FLEET_PROMTOOL_BIN:-$(command -v promtool || echo /usr/bin/promtool)}"
