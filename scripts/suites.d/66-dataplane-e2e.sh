# Data Plane API compatibility (issue 22): upstream dataplaneapi's own end-to-end bats files for
# the implemented groups, run against the debug `fleet serve` by tests/dataplane-e2e/run.sh
# (adapted harness, pass rate per group, every failure listed in known-failures.tsv). Takes
# well under a minute once the server is built; nothing is downloaded but the Debian packages.
# Sourced by scripts/test after the Rust tests (which build target/debug/fleet); apt_install
# comes from there.
apt_install bats bats-assert bats-support jq curl
tests/dataplane-e2e/run.sh
