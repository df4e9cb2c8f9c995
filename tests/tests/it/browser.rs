//! A real headless Chromium driven through WebDriver, for the web UI's tests: Debian's
//! `chromedriver` on a free loopback port per [`Browser`], which starts `chromium` for it
//! (headless, `--no-sandbox` since tests run as root, no network beyond loopback).
//!
//! fantoccini speaks the WebDriver protocol to chromedriver over plain HTTP; its calls are async,
//! so each [`Browser`] owns a small tokio runtime and blocks on them: the tests stay synchronous
//! like the rest of the harness (its blocking HTTP client, HAProxy's sockets). Every helper
//! panics with what it was doing, and the waiting ones give up after a bound.

use std::future::Future;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::agent_harness::{free_port, temp_dir};

/// How long the waiting helpers wait before failing the test.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// The window every test uses (CSS pixels): screenshots are this size.
const WINDOW: (u32, u32) = (1100, 720);

/// chromedriver and chromium.
pub(crate) struct Chrome {
    driver: PathBuf,
    browser: PathBuf,
}

fn find(variable: &str, name: &str) -> Option<PathBuf> {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())))
        .or_else(|| Some(PathBuf::from("/usr/bin").join(name)))
        .filter(|p| p.is_file())
}

/// `$FLEET_CHROMEDRIVER` and `$FLEET_CHROMIUM`, else `chromedriver` and `chromium` on `PATH` or
/// in `/usr/bin` (scripts/setup.d/60-chromium.sh installs both); `None` after saying why.
pub(crate) fn installed() -> Option<Chrome> {
    let (Some(driver), Some(browser)) = (find("FLEET_CHROMEDRIVER", "chromedriver"), find("FLEET_CHROMIUM", "chromium")) else {
        eprintln!("skipped: chromium and chromedriver not found (apt-get install chromium chromium-driver, or set FLEET_CHROMIUM and FLEET_CHROMEDRIVER)");
        return None;
    };
    Some(Chrome { driver, browser })
}

/// Where screenshots go: `target/ui-screenshots/` (beside the profile folder of this test
/// binary, `target/<profile>/deps/it-*`), made on first use.
pub(crate) fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What has the keyboard focus, and how it is drawn.
#[derive(Debug, Clone)]
pub(crate) struct Focus {
    /// Lower-case tag name.
    pub(crate) tag: String,
    pub(crate) id: String,
    pub(crate) name: String,
    /// The first 60 characters of its text.
    pub(crate) text: String,
    /// `data-server` of the table row it is in, if any.
    pub(crate) row: String,
    pub(crate) in_main: bool,
    /// Computed `outline-style` and `outline-width`.
    pub(crate) outline: (String, String),
    /// Whether its box is on screen.
    pub(crate) on_screen: bool,
}

impl Focus {
    /// A control or link drawn with a visible focus indicator, on screen.
    pub(crate) fn visibly_focused(&self) -> bool {
        self.outline.0 != "none" && self.outline.1 != "0px" && self.on_screen
    }
}

/// A Chromium session; the browser and chromedriver end on drop.
pub(crate) struct Browser {
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session in it.
    pub(crate) fn start(chrome: &Chrome) -> Browser {
        let port = free_port();
        let log = temp_dir("chromedriver").join("chromedriver.log");
        let driver = Command::new(&chrome.driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chrome.driver.display()));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver does not listen on port {port}; see {}", log.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            // Nothing but loopback: no update, sync or safe-browsing calls; any other host fails
            // to resolve and any other address goes to a proxy nobody runs (loopback bypasses it).
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-domain-reliability".into(),
            "--disable-client-side-phishing-detection".into(),
            "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication".into(),
            "--metrics-recording-only".into(),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1".into(),
            "--proxy-server=http://127.0.0.1:9".into(),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        // Confirmation dialogs stay open until the test answers them.
        capabilities.insert("unhandledPromptBehavior".into(), json!("ignore"));
        capabilities.insert("goog:chromeOptions".into(), json!({"binary": chrome.browser, "args": args}));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = runtime
            .block_on(ClientBuilder::new(connector).capabilities(capabilities).connect(&format!("http://127.0.0.1:{port}")))
            .unwrap_or_else(|e| panic!("no Chromium session from chromedriver: {e}; see {}", log.display()));
        Browser { client: Some(client), runtime, driver }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn run<T, E: std::fmt::Display>(&self, what: &str, future: impl Future<Output = Result<T, E>>) -> T {
        self.runtime.block_on(future).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    pub(crate) fn goto(&self, url: &str) {
        self.run(&format!("open {url}"), self.client().goto(url));
    }

    /// The address of the page shown.
    pub(crate) fn url(&self) -> String {
        self.run("current url", self.client().current_url()).to_string()
    }

    /// Waits until the address satisfies `done` and that page has loaded (its deferred scripts,
    /// htmx among them, have run: a click on an htmx button before then would post the plain
    /// form instead); returns the address.
    pub(crate) fn wait_url(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let url = self.url();
            if done(&url) && self.script("return document.readyState", vec![]) == json!("complete") {
                return url;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: at {url}\n{}", self.body_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_find(&self, css: &str) -> Option<Element> {
        self.runtime.block_on(self.client().find(Locator::Css(css))).ok()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub(crate) fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(element) = self.try_find(css) {
                return element;
            }
            assert!(Instant::now() < deadline, "no {css} on {}:\n{}", self.url(), self.body_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every element matching `css` now.
    pub(crate) fn find_all(&self, css: &str) -> Vec<Element> {
        self.run(&format!("find {css}"), self.client().find_all(Locator::Css(css)))
    }

    /// The button labelled `label` (its whole text), inside `scope` when given.
    pub(crate) fn button(&self, scope: Option<&Element>, label: &str) -> Element {
        let xpath = format!(".//button[normalize-space()='{label}']");
        let what = format!("button {label:?}");
        match scope {
            Some(element) => self.run(&what, element.find(Locator::XPath(&xpath))),
            None => self.run(&what, self.client().find(Locator::XPath(&format!("/{xpath}")))),
        }
    }

    pub(crate) fn click(&self, element: &Element) {
        self.run("click", element.click());
    }

    /// Clears the field matching `css`, then types `text` into it.
    pub(crate) fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css);
        self.fill(&field, text);
    }

    /// Clears `field`, then types `text` into it.
    pub(crate) fn fill(&self, field: &Element, text: &str) {
        self.run("clear", field.clear());
        self.run("type", field.send_keys(text));
    }

    pub(crate) fn text(&self, element: &Element) -> String {
        self.run("text", element.text())
    }

    /// The visible text of the page, for failure messages.
    pub(crate) fn body_text(&self) -> String {
        self.try_find("body").and_then(|b| self.runtime.block_on(b.text()).ok()).unwrap_or_default()
    }

    /// Waits until the element matching `css` (found again each time: htmx swaps it) shows
    /// `needle`; returns its text.
    pub(crate) fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.try_find(css).and_then(|e| self.runtime.block_on(e.text()).ok());
            if let Some(text) = text.as_deref().filter(|t| t.contains(needle)) {
                return text.to_string();
            }
            assert!(Instant::now() < deadline, "{css} never showed {needle:?} (last: {text:?})");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a `window.confirm` dialog, accepts it and returns its question.
    pub(crate) fn accept_confirm(&self) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(question) = self.runtime.block_on(self.client().get_alert_text()) {
                self.run("accept the dialog", self.client().accept_alert());
                return question;
            }
            assert!(Instant::now() < deadline, "no confirmation dialog opened");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `script` in the page (`arguments` holds `args`); its return value.
    pub(crate) fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("script", self.client().execute(script, args))
    }

    /// Runs asynchronous `script`, which calls `arguments[arguments.length - 1]` with its result.
    pub(crate) fn script_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("async script", self.client().execute_async(script, args))
    }

    /// The value of cookie `name` (HttpOnly ones too: WebDriver sees them).
    pub(crate) fn cookie(&self, name: &str) -> String {
        self.run(&format!("cookie {name}"), self.client().get_named_cookie(name)).value().to_string()
    }

    /// Presses and releases each key of `keys` in turn, as a keyboard would.
    pub(crate) fn press(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &key in keys {
            actions = actions.then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        }
        self.run("key actions", self.client().perform_actions(actions));
    }

    /// Types `text` key by key.
    pub(crate) fn type_keys(&self, text: &str) {
        self.press(&text.chars().collect::<Vec<_>>());
    }

    /// Ctrl+A: selects the whole text of the focused field.
    pub(crate) fn select_all(&self) {
        let control = char::from(Key::Control);
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: control })
            .then(KeyAction::Down { value: 'a' })
            .then(KeyAction::Up { value: 'a' })
            .then(KeyAction::Up { value: control });
        self.run("ctrl+a", self.client().perform_actions(actions));
    }

    /// What has the focus now.
    pub(crate) fn focus(&self) -> Focus {
        let value = self.script(
            "const e = document.activeElement; const s = getComputedStyle(e); const r = e.getBoundingClientRect();
             const row = e.closest('tr');
             return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.getAttribute('name') || '',
                     text: (e.textContent || '').trim().slice(0, 60), row: row && row.dataset.server || '',
                     in_main: !!e.closest('main'), outline: [s.outlineStyle, s.outlineWidth],
                     on_screen: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth};",
            vec![],
        );
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
        Focus {
            tag: text("tag"),
            id: text("id"),
            name: text("name"),
            text: text("text"),
            row: text("row"),
            in_main: value["in_main"].as_bool().unwrap_or(false),
            outline: (value["outline"][0].as_str().unwrap_or_default().into(), value["outline"][1].as_str().unwrap_or_default().into()),
            on_screen: value["on_screen"].as_bool().unwrap_or(false),
        }
    }

    /// Presses Tab until `wanted` has the focus (at most `limit` times), checking at every stop
    /// that the focused element shows its focus; returns it.
    pub(crate) fn tab_to(&self, what: &str, limit: usize, wanted: impl Fn(&Focus) -> bool) -> Focus {
        let mut path = Vec::new();
        for _ in 0..limit {
            self.press(&[char::from(Key::Tab)]);
            let focus = self.focus();
            assert!(focus.visibly_focused(), "focus is not visible on {focus:?} (after {path:?})");
            if wanted(&focus) {
                return focus;
            }
            path.push(format!("{} {}{}", focus.tag, focus.id, focus.text));
        }
        panic!("{what} not reached in {limit} tabs: {path:?}");
    }

    /// Form controls of the page with no accessible name: no `<label>` with text, no
    /// `aria-label` or `aria-labelledby` (buttons: no text either); and how many there are.
    pub(crate) fn unlabelled_controls(&self) -> (u64, Vec<String>) {
        let value = self.script(
            "const bad = []; let count = 0;
             for (const e of document.querySelectorAll('input, select, textarea, button')) {
               if (e.type === 'hidden') continue;
               count++;
               const aria = (e.getAttribute('aria-label') || '').trim() !== '' || !!e.getAttribute('aria-labelledby');
               const label = Array.from(e.labels || []).some(l => l.textContent.trim() !== '');
               const text = e.tagName === 'BUTTON' && e.textContent.trim() !== '';
               if (!aria && !label && !text) bad.push(e.outerHTML.slice(0, 160));
             }
             return {count, bad};",
            vec![],
        );
        let bad = value["bad"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        (value["count"].as_u64().unwrap(), bad)
    }

    /// Resizes the window to `width` x `height` (outer size, CSS pixels), or back to the
    /// default with `None`.
    pub(crate) fn resize(&self, size: Option<(u32, u32)>) {
        let (width, height) = size.unwrap_or(WINDOW);
        self.run("resize", self.client().set_window_size(width, height));
    }

    /// Saves a PNG of the window as `target/ui-screenshots/<name>.png`; returns its path.
    pub(crate) fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.run("screenshot", self.client().screenshot());
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let path = screenshots_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Ends the session: chromedriver stops its Chromium.
            let _ = self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
