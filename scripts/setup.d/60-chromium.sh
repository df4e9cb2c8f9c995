# Headless Chromium and its WebDriver server (Debian's `chromium` and `chromium-driver`): the
# browser tests of the web UI (tests/tests/it/ui_browser.rs) drive a real Chromium through
# chromedriver on loopback. FLEET_CHROMEDRIVER and FLEET_CHROMIUM tell the tests where both are;
# without them the tests look on PATH and in /usr/bin, or say why they skip.
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || apt_install chromium chromium-driver
export FLEET_CHROMEDRIVER="${FLEET_CHROMEDRIVER:-$(command -v chromedriver || echo /usr/bin/chromedriver)}"
export FLEET_CHROMIUM="${FLEET_CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
