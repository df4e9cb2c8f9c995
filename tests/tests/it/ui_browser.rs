//! The web UI in a real headless Chromium ([`crate::browser`]): an operator's round trip against
//! `fleet serve` with a real agent and HAProxy (log in, import, enrol, apply, edit a weight, see
//! the diff, apply it, drain a server, the CSRF token, log out), and a keyboard-only walk of the
//! login and weight forms with the accessibility basics (labels, visible focus).
//!
//! Screenshots (PNG) of the key pages are written to `target/ui-screenshots/` (the test makes
//! the folder): `overview`, `cluster`, `diff`, `progress`, `backends`, and `keyboard-*` from the
//! keyboard walk. With `FLEET_UI_README_SHOTS=1` the round trip also writes the README's
//! pictures, `server/docs/ui-overview.png`, `ui-cluster.png` and `ui-diff.png`.
//!
//! Both tests skip (saying so) only when chromium or chromedriver is missing;
//! scripts/setup.d/60-chromium.sh installs them.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{binary, config, free_port, prerequisites, temp_dir, wait_served, Agent, Server, PASSWORD};
use crate::agent_runtime::{servers_state, FORCED_DRAIN};
use crate::browser::{self, Browser, PATIENCE};

/// Copies screenshot `name` to `server/docs/ui-<name>.png` when `FLEET_UI_README_SHOTS` is set.
fn readme_shot(shot: &Path, name: &str) {
    if std::env::var_os("FLEET_UI_README_SHOTS").is_some_and(|v| !v.is_empty() && v != "0") {
        let docs = fleet_tests::workspace_root().join("server").join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(shot, docs.join(format!("ui-{name}.png"))).unwrap();
    }
}

/// Waits until HAProxy's `show servers state app` satisfies `done`.
fn wait_haproxy(agent: &Agent, what: &str, done: impl Fn(&[(String, u32, u32)]) -> bool) -> Vec<(String, u32, u32)> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = servers_state(agent);
        if done(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "HAProxy never showed {what}: {state:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_operator_imports_edits_applies_drains_and_logs_out_in_a_real_browser() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    let Some(chrome) = browser::installed() else { return };
    let started = Instant::now();
    let dir = temp_dir("ui-browser");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agent = Agent::new(&agent_bin, &haproxy, &server, &dir);
    let cluster = server.cluster("web", &agent.config);
    let port = free_port();
    let ui = |path: &str| format!("{}{path}", server.url);
    let b = Browser::start(&chrome);
    let browser_up = started.elapsed();

    // A page without a session goes to the login, which comes back to it.
    b.goto(&ui("/ui/clusters/web"));
    assert!(b.url().contains("/ui/login?next=/ui/clusters/web"), "{}", b.url());
    b.type_into("#username", "admin");
    b.type_into("#password", PASSWORD);
    b.click(&b.button(None, "Log in"));
    b.wait_url("the cluster page after the login", |u| u.ends_with("/ui/clusters/web"));

    // Import through the form.
    b.type_into("#import-text", &config(port, "v1", ""));
    b.type_into("#import-message", "first import from the browser");
    b.click(&b.button(None, "Import"));
    b.wait_text("p.notice", "imported as version 1");
    let code = b.text(&b.find("pre.code"));
    assert!(code.contains("server s2 127.0.0.1:9 weight 10"), "the imported file is shown: {code}");
    assert_eq!(server.get(&format!("/api/v1/clusters/{cluster}/versions"))[0]["message"], json!("first import from the browser"));

    // Enrol the agent through the form: the install command carries its one-time secret.
    b.goto(&ui("/ui/clusters/web/agents"));
    b.type_into("input[name=name]", "node1");
    b.click(&b.button(None, "Create enrolment"));
    let install = b.wait_text("#install-command", "--enroll-secret");
    let secret = install.split_whitespace().skip_while(|w| *w != "--enroll-secret").nth(1).expect("a secret").trim_matches('\'');
    agent.start(Some(secret));
    server.wait_status(cluster, "the agent enrolled", |a| a["name"] == json!("node1"));

    // Apply version 1 from the cluster page (confirm dialog), the progress reaching "applied".
    b.goto(&ui("/ui/clusters/web"));
    b.click(&b.button(None, "Apply version 1"));
    let question = b.accept_confirm();
    assert_eq!(question, "Apply version 1 to every agent of web?");
    b.wait_text("#apply-progress", "applied on all 1 agents");
    wait_served(port, "v1", Duration::from_secs(10));
    b.goto(&ui("/ui/clusters/web"));
    b.wait_text("table.matrix", "1 / 1");
    // Tall enough to show the configuration under the agents.
    b.resize(Some((1100, 1180)));
    readme_shot(&b.screenshot("cluster"), "cluster");
    b.resize(None);

    // Edit a server's weight through the backends page: a new version, shown as a diff.
    b.goto(&ui("/ui/clusters/web/backends"));
    let row = b.find(r#"tr[data-server="app/s2"]"#);
    b.fill(&b.find(r#"tr[data-server="app/s2"] input[name=weight]"#), "42");
    b.click(&b.button(Some(&row), "Save"));
    b.wait_url("the diff of version 2", |u| u.contains("/ui/clusters/web/diff?from=1&to=2"));
    let added: Vec<String> = b.find_all("pre.diff span.add").iter().map(|e| b.text(e)).collect();
    let removed: Vec<String> = b.find_all("pre.diff span.del").iter().map(|e| b.text(e)).collect();
    assert!(added.iter().any(|l| l.starts_with('+') && l.contains("server s2 127.0.0.1:9 weight 42")), "added lines: {added:?}");
    assert!(removed.iter().any(|l| l.starts_with('-') && l.contains("server s2 127.0.0.1:9 weight 10")), "removed lines: {removed:?}");
    assert!(!added.iter().chain(&removed).any(|l| l.contains("server s1")), "only s2 changed: {added:?} {removed:?}");
    readme_shot(&b.screenshot("diff"), "diff");

    // Apply it from the diff page and watch the progress until the agent reports.
    b.click(&b.button(None, "Apply version 2"));
    assert_eq!(b.accept_confirm(), "Apply version 2 to every agent of web?");
    let progress = b.wait_text("#apply-progress", "applied on all 1 agents");
    assert!(progress.contains("Apply of version 2") && progress.contains("node1"), "{progress}");
    b.script("document.querySelector('#apply-progress').scrollIntoView({block: 'center'})", vec![]);
    b.screenshot("progress");
    // HAProxy itself runs the new weight.
    let state = wait_haproxy(&agent, "s2 at weight 42", |s| s.iter().any(|(name, _, weight)| name == "s2" && *weight == 42));
    assert!(state.iter().any(|(name, _, weight)| name == "s1" && *weight == 10), "{state:?}");

    b.goto(&ui("/ui/"));
    b.wait_text("table.matrix", "2 / 2");
    readme_shot(&b.screenshot("overview"), "overview");

    // Drain s1 with the runtime button: a confirmation, then the agent's own result.
    b.goto(&ui("/ui/clusters/web/backends"));
    let row = b.find(r#"tr[data-server="app/s1"]"#);
    b.click(&b.button(Some(&row), "Drain"));
    assert_eq!(b.accept_confirm(), "Drain app/s1 on every agent (no new sessions)?");
    let result = b.wait_text(r#"#runtime-result li[data-agent="node1"]"#, "node1");
    assert_eq!(result, "node1: ok");
    assert!(b.text(&b.find("#runtime-result")).contains("1 of 1 agents answered"));
    let state = wait_haproxy(&agent, "s1 drained", |s| s.iter().any(|(name, admin, _)| name == "s1" && admin & FORCED_DRAIN != 0));
    assert!(state.iter().any(|(name, admin, _)| name == "s2" && *admin == 0), "s2 untouched: {state:?}");
    // The next heartbeats bring the drained state back to the page.
    let deadline = Instant::now() + PATIENCE;
    loop {
        b.goto(&ui("/ui/clusters/web/backends"));
        let live = b.text(&b.find(r#"tr[data-server="app/s1"]"#));
        if live.contains("DRAIN") {
            break;
        }
        assert!(Instant::now() < deadline, "the page never showed s1 draining: {live}");
        std::thread::sleep(Duration::from_millis(300));
    }
    b.screenshot("backends");

    // The CSRF token is required: from inside the signed-in page, a form post without it, or
    // with a wrong one (field or header), is refused; the same post with it is answered.
    b.goto(&ui("/ui/clusters/web/edit"));
    let statuses = b.script_async(
        "const done = arguments[arguments.length - 1];
         const form = document.querySelector('form[action$=\"/commit\"]');
         const check = form.action.replace(/commit$/, 'check');
         const token = new FormData(form).get('csrf');
         const post = (url, edit, headers) => {
           const fields = new URLSearchParams(new FormData(form));
           edit(fields);
           return fetch(url, {method: 'POST', body: fields, headers: headers || {}, redirect: 'manual'}).then(r => r.status);
         };
         Promise.all([
           post(check, f => {}),
           post(check, f => f.delete('csrf')),
           post(check, f => f.set('csrf', '0'.repeat(64))),
           post(check, f => f.delete('csrf'), {'x-csrf-token': token}),
           post(check, f => f.delete('csrf'), {'x-csrf-token': token.slice(1) + '0'}),
           fetch(form.action.replace(/commit$/, 'apply'), {method: 'POST', body: new URLSearchParams({version: '1'}), redirect: 'manual'}).then(r => r.status),
         ]).then(done, e => done(String(e)));",
        vec![],
    );
    assert_eq!(statuses, json!([200, 403, 403, 200, 403, 403]), "with the token, without, wrong field, header, wrong header, apply without");
    assert_eq!(server.get(&format!("/api/v1/clusters/{cluster}"))["desired_version"], json!(2), "the refused apply changed nothing");

    // Log out: the session ends on the server too, and pages go back to the login.
    let session = b.cookie("fleet_session");
    let with_session = || reqwest::blocking::Client::new().get(ui("/api/v1/pools")).bearer_auth(&session).send().unwrap().status();
    assert_eq!(with_session(), 200, "the browser's session works on the API too");
    b.click(&b.button(Some(&b.find("form.logout")), "Log out"));
    b.wait_url("the login page after logging out", |u| u.ends_with("/ui/login"));
    b.goto(&ui("/ui/"));
    assert!(b.url().contains("/ui/login?next=/ui/"), "{}", b.url());
    assert_eq!(with_session(), 401, "the old session is over");
    eprintln!("browser round trip: {:?} in all, {browser_up:?} to start fleet serve and Chromium", started.elapsed());
}

/// The page's form controls all have a label (a `<label>` or `aria-label`).
fn assert_labelled(b: &Browser, page: &str) {
    let (count, unlabelled) = b.unlabelled_controls();
    assert!(count > 0, "no form controls on {page}");
    assert!(unlabelled.is_empty(), "controls without a label on {page}: {unlabelled:#?}");
}

#[test]
fn the_login_and_weight_forms_work_with_the_keyboard_alone() {
    let Some(fleet) = binary("fleet") else {
        eprintln!("skipped: build the binaries first: cargo build -p fleet-server");
        return;
    };
    let Some(chrome) = browser::installed() else { return };
    let started = Instant::now();
    let dir = temp_dir("ui-keyboard");
    let server = Server::start(&fleet, &dir.join("data"));
    let cluster = server.cluster("kb", &dir.join("etc").join("haproxy.cfg"));
    server.commit(cluster, &config(free_port(), "v1", ""));
    let b = Browser::start(&chrome);
    let tab = char::from(fantoccini::key::Key::Tab);
    let enter = char::from(fantoccini::key::Key::Enter);

    // The login form: Tab to each field, type, Enter on the button. No clicks.
    b.goto(&format!("{}/ui/login", server.url));
    assert_labelled(&b, "the login page");
    let focus = b.focus();
    let focus = if focus.id == "username" { focus } else { b.tab_to("the username field", 5, |f| f.id == "username") };
    assert!(focus.visibly_focused(), "{focus:?}");
    b.type_keys("admin");
    b.press(&[tab]);
    let focus = b.focus();
    assert_eq!(focus.id, "password");
    assert!(focus.visibly_focused(), "{focus:?}");
    b.type_keys(PASSWORD);
    b.press(&[tab]);
    let focus = b.focus();
    assert_eq!((focus.tag.as_str(), focus.text.as_str()), ("button", "Log in"));
    assert!(focus.visibly_focused(), "{focus:?}");
    b.screenshot("keyboard-login");
    b.press(&[enter]);
    b.wait_url("the overview after a keyboard login", |u| u.ends_with("/ui/"));

    // The backends page: the first Tab reaches the skip link, which leads into the content;
    // from there Tab reaches s2's weight field, then its Save button.
    b.goto(&format!("{}/ui/clusters/kb/backends", server.url));
    assert_labelled(&b, "the backends page");
    b.press(&[tab]);
    let skip = b.focus();
    assert_eq!((skip.tag.as_str(), skip.text.as_str()), ("a", "Skip to content"));
    assert!(skip.visibly_focused(), "the skip link shows when focused: {skip:?}");
    b.press(&[enter]);
    let first = b.tab_to("the content", 1, |_| true);
    assert!(first.in_main, "after the skip link, Tab goes into the content: {first:?}");
    b.tab_to("s2's weight field", 40, |f| f.name == "weight" && f.row == "app/s2");
    b.select_all();
    b.type_keys("7");
    let save = b.tab_to("s2's Save button", 1, |f| f.tag == "button" && f.text == "Save" && f.row == "app/s2");
    assert!(save.visibly_focused());
    b.screenshot("keyboard-weight");
    b.press(&[enter]);
    b.wait_url("the diff of the weight edit", |u| u.contains("/ui/clusters/kb/diff?from=1&to=2"));
    let added: Vec<String> = b.find_all("pre.diff span.add").iter().map(|e| b.text(e)).collect();
    assert!(added.iter().any(|l| l.contains("server s2 127.0.0.1:9 weight 7")), "{added:?}");

    // The editor's controls are labelled too, and its Check button works from the keyboard.
    b.goto(&format!("{}/ui/clusters/kb/edit", server.url));
    assert_labelled(&b, "the editor");
    b.tab_to("the Check button", 40, |f| f.tag == "button" && f.text == "Check");
    b.press(&[enter]);
    b.wait_text("#check-result", "a commit would be accepted");
    let versions: Value = server.get(&format!("/api/v1/clusters/{cluster}/versions"));
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "the check stored nothing");
    eprintln!("keyboard walk: {:?}", started.elapsed());
}
