//! The web UI over plain HTTP against a real `fleet serve` (the browser tests in the `tests`
//! crate drive the same pages through Chromium): sessions, CSRF on every form, security
//! headers, escaping, roles, the editor's check and the typed forms.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::serve_support::{start, start_on, Db, Server, ADMIN_PASSWORD};

/// A cookie-keeping client that does not follow redirects (the tests look at them).
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// An answer: status, headers, body.
struct Page {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
        self.text[at..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    fn new(server: &Server) -> Browser {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Browser { base: server.base.clone(), client, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Page { status, headers, text: response.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self.client.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep(response).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response =
            self.client.post(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep(response).await
    }

    /// Logs in through the form.
    async fn log_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/ui/login").await;
        let csrf = form.csrf();
        self.post("/ui/login", &[("csrf", &csrf), ("username", username), ("password", password), ("next", "/ui/")]).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_carry_security_headers() {
    let server = start(Db::Sqlite).await.unwrap();
    let mut browser = Browser::new(&server);
    assert_eq!(browser.get("/").await.location(), "/ui/");
    let overview = browser.get("/ui/clusters/prod?page=2").await;
    assert_eq!(overview.status, 303);
    assert_eq!(overview.location(), "/ui/login?next=/ui/clusters/prod%3Fpage%3D2", "back to the page asked for after the login");

    let login = browser.get("/ui/login").await;
    let csp = login.headers.get(CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"), "{csp}");
    assert_eq!(login.headers.get("x-frame-options").unwrap(), "DENY");
    assert!(login.text.contains("<label for=\"username\">") && login.text.contains("<label for=\"password\">"), "labelled controls");

    // The login form needs its double-submit token: without it, or with another, 403.
    let refused = browser.post("/ui/login", &[("username", "admin"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let forged = browser.post("/ui/login", &[("csrf", "0000"), ("username", "admin"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(forged.status, 403);
    assert!(!browser.cookies.contains_key("fleet_session"));

    let wrong = browser.log_in("admin", "not-the-password").await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.text.contains("wrong username or password"));

    let signed_in = browser.log_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).find(|c| c.starts_with("fleet_session=")).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no Secure flag over plain HTTP (the browser would drop the cookie)");

    let home = browser.get("/ui/").await;
    assert_eq!(home.status, 200);
    assert!(home.text.contains("Fleet overview"));
    assert!(home.headers.get(CONTENT_SECURITY_POLICY).is_some());
    let htmx = browser.get("/ui/assets/htmx.min.js").await;
    assert_eq!(htmx.status, 200);
    assert!(htmx.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(browser.get("/ui/assets/nope.js").await.status, 404);

    // Logging out ends the session itself: the old cookie no longer opens a page.
    let old = browser.cookies.clone();
    let csrf = home.csrf();
    let out = browser.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/ui/login"));
    browser.cookies = old;
    assert_eq!(browser.get("/ui/").await.status, 303, "the session ended in the store, not only in the browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_csrf_token_of_their_own_session() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "prod").await;
    let mut alice = Browser::new(&server);
    alice.log_in("admin", ADMIN_PASSWORD).await;
    let mut bob = Browser::new(&server);
    bob.log_in("admin", ADMIN_PASSWORD).await;
    let page = alice.get("/ui/clusters/prod").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let text = "global\n    maxconn 10\n\ndefaults\n    mode http\n\nbackend app\n    server web1 127.0.0.1:8080\n";

    let none = alice.post("/ui/clusters/prod/import", &[("text", text), ("message", "first")]).await;
    assert_eq!(none.status, 403, "no token");
    let bobs = bob.get("/ui/").await.csrf();
    let other = alice.post("/ui/clusters/prod/import", &[("csrf", &bobs), ("text", text), ("message", "first")]).await;
    assert_eq!(other.status, 403, "another session's token");
    let versions = server.get(&format!("/api/v1/clusters/{cluster}/versions"), &admin).await.expect(200);
    assert_eq!(versions, json!([]), "nothing stored by refused forms");

    let done = alice.post("/ui/clusters/prod/import", &[("csrf", &page.csrf()), ("text", text), ("message", "first")]).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert!(done.location().starts_with("/ui/clusters/prod?done="));
    let versions = server.get(&format!("/api/v1/clusters/{cluster}/versions"), &admin).await.expect(200);
    assert_eq!(versions[0]["author"], "admin");

    // htmx requests carry the token in a header instead.
    let response = server
        .client
        .post(format!("{}/ui/clusters/prod/check", server.base))
        .header("cookie", alice.cookie_header())
        .header("x-csrf-token", page.csrf())
        .header("hx-request", "true")
        .form(&[("base", "1"), ("path", "haproxy.cfg"), ("text", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("a commit would be accepted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_escape_what_configs_hold_and_show_findings_at_their_lines() {
    let haproxy = std::env::var("FLEET_HAPROXY_BIN").unwrap_or_else(|_| "haproxy".into());
    let with_haproxy = std::process::Command::new(&haproxy).arg("-v").output().is_ok_and(|o| o.status.success());
    let server = if with_haproxy { start_on(None, &["--haproxy-bin", &haproxy]) } else { start(Db::Sqlite).await.unwrap() };
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "edge-1").await;
    let text = "global\n    maxconn 10 # <script>alert(1)</script>\n\ndefaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n\nfrontend fe\n    bind 127.0.0.1:1\n    default_backend app\n\nbackend app\n    server web1 127.0.0.1:8080 weight 5\n";
    server.post_text(&format!("/api/v1/clusters/{cluster}/import"), &admin, text).await.expect(201);
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/edge-1").await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<script>alert"), "config text is escaped");
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.text.contains("<span class=\"hl-section\">backend</span>"), "colours come from the parsed document");
    assert!(page.text.contains("data-n=\"15\""), "line numbers");

    // The editor's check: an unknown keyword is an offline error at its line, and HAProxy's
    // own verdict is shown beside it when the server has one.
    let broken = text.replace("    mode http\n", "    mode http\n    frobnicate on\n");
    let csrf = page.csrf();
    let check = browser.post("/ui/clusters/edge-1/check", &[("csrf", &csrf), ("base", "1"), ("path", "haproxy.cfg"), ("text", &broken)]).await;
    assert_eq!(check.status, 200, "{}", check.text);
    assert!(check.text.contains("6:5"), "the finding's line and column: {}", check.text);
    assert!(check.text.contains("frobnicate on"), "the line itself is shown");
    assert!(check.text.contains("a commit would be refused"));
    if with_haproxy {
        assert!(check.text.contains("refused"), "haproxy -c refused it too: {}", check.text);
    }

    // A typed form: a server's weight, committed as version 2, then its diff.
    let backends = browser.get("/ui/clusters/edge-1/backends").await;
    assert!(backends.text.contains("data-server=\"app/web1\""));
    let saved = browser
        .post("/ui/clusters/edge-1/edit/server", &[("csrf", &csrf), ("base", "1"), ("backend", "app"), ("name", "web1"), ("op", "update"), ("weight", "42")])
        .await;
    assert_eq!((saved.status, saved.location()), (303, "/ui/clusters/edge-1/diff?from=1&to=2"));
    let diff = browser.get(saved.location()).await;
    assert!(diff.text.contains("<span class=\"add\">+    server web1 127.0.0.1:8080 weight 42</span>"), "{}", diff.text);
    let stale = browser
        .post("/ui/clusters/edge-1/edit/server", &[("csrf", &csrf), ("base", "1"), ("backend", "app"), ("name", "web1"), ("op", "update"), ("weight", "7")])
        .await;
    assert_eq!(stale.status, 409, "a form drawn from version 1 cannot overwrite version 2");
    let missing = browser
        .post("/ui/clusters/edge-1/edit/server", &[("csrf", &csrf), ("base", "2"), ("backend", "app"), ("name", "nope"), ("op", "update"), ("weight", "7")])
        .await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    let open = server.get(&format!("/api/v1/clusters/{cluster}/transactions"), &admin).await.expect(200);
    assert_eq!(open, json!([]), "refused edits leave no transaction open");

    // A runtime action is queued for every agent (none here) and names what it does.
    let queued = browser.post("/ui/clusters/edge-1/runtime", &[("csrf", &csrf), ("backend", "app"), ("server", "web1"), ("action", "drain")]).await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    assert!(queued.text.contains("drain app/web1") && queued.text.contains("0 of 0 agents answered"), "{}", queued.text);
    let bad = browser.post("/ui/clusters/edge-1/runtime", &[("csrf", &csrf), ("backend", "app"), ("server", "web1"), ("action", "explode")]).await;
    assert_eq!(bad.status, 400);

    // Removing a server is a new version too.
    let removed = browser.post("/ui/clusters/edge-1/edit/server", &[("csrf", &csrf), ("base", "2"), ("backend", "app"), ("name", "web1"), ("op", "delete")]).await;
    assert_eq!(removed.location(), "/ui/clusters/edge-1/diff?from=2&to=3");
    let diff = browser.get(removed.location()).await;
    assert!(diff.text.contains("<span class=\"del\">-    server web1 127.0.0.1:8080 weight 42</span>"), "{}", diff.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_but_cannot_write() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "ro").await;
    server.post_text(&format!("/api/v1/clusters/{cluster}/import"), &admin, "global\n    maxconn 10\n").await.expect(201);
    server.post("/api/v1/users", &admin, json!({"username": "vera", "password": "viewer-password-42", "role": "viewer"})).await.expect(201);
    let mut vera = Browser::new(&server);
    vera.log_in("vera", "viewer-password-42").await;
    let page = vera.get("/ui/clusters/ro").await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("Apply version"), "no write buttons for a viewer");
    let edit = vera.post("/ui/clusters/ro/import", &[("csrf", &page.csrf()), ("text", "global\n")]).await;
    assert_eq!(edit.status, 403);
    assert_eq!(vera.get("/ui/users").await.status, 403, "users are for admins");
    assert_eq!(vera.get("/ui/clusters/nope").await.status, 404);
}

/// The UI shares the API's principal: a pool admin of pool A reaches pool A's pages and nothing
/// fleet-wide (users, audit, alerts) nor of pool B, whatever the query string says, and a form
/// posted to pool B's cluster is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_admin_reaches_its_pool_only() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let mine = server.cluster(&admin, "mine").await;
    let theirs = server.cluster(&admin, "theirs").await;
    for id in [mine, theirs] {
        server.post_text(&format!("/api/v1/clusters/{id}/import"), &admin, "global\n    maxconn 10\n").await.expect(201);
    }
    let pool = server.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200)["pool_id"].clone();
    let body = json!({"username": "pa", "password": "pool-admin-password-42", "pool_roles": [{"pool_id": pool, "role": "admin"}]});
    server.post("/api/v1/users", &admin, body).await.expect(201);
    let mut pa = Browser::new(&server);
    pa.log_in("pa", "pool-admin-password-42").await;

    let overview = pa.get("/ui/").await;
    assert_eq!(overview.status, 200);
    assert!(overview.text.contains("mine") && !overview.text.contains("theirs"), "only its pool on the overview");
    let page = pa.get("/ui/clusters/mine").await;
    assert_eq!(page.status, 200);
    assert_eq!(pa.get("/ui/pools/pool-mine/failover").await.status, 200);
    for query in ["", "?pool_id=1", &format!("?pool_id={pool}"), &format!("?cluster_id={mine}"), "?cluster=mine"] {
        for global in ["/ui/users", "/ui/audit", "/ui/alerts"] {
            assert_eq!(pa.get(&format!("{global}{query}")).await.status, 403, "{global}{query}");
        }
        for other in ["/ui/clusters/theirs", "/ui/clusters/theirs/versions", "/ui/clusters/theirs/agents", "/ui/clusters/theirs/backends",
            "/ui/pools/pool-theirs/failover"] {
            assert_eq!(pa.get(&format!("{other}{query}")).await.status, 403, "{other}{query}");
        }
    }
    let csrf = page.csrf();
    assert_eq!(pa.post("/ui/clusters/theirs/import", &[("csrf", &csrf), ("text", "global\n")]).await.status, 403);
    assert_eq!(pa.post("/ui/clusters/theirs/enrolments", &[("csrf", &csrf), ("name", "n9")]).await.status, 403);
    assert_eq!(pa.post("/ui/users", &[("csrf", &csrf), ("username", "eve"), ("password", "pool-admin-password-42"), ("role", "admin")]).await.status, 403);
    assert_eq!(server.get("/api/v1/users", &admin).await.expect(200).as_array().unwrap().len(), 2, "no user was made");
}

/// The schedules page shows the schedules the session may read (a pool admin: its pool's
/// only), with their expression, zone, target and next run time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedules_page_shows_what_the_session_may_read() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let mine = server.cluster(&admin, "mine").await;
    let theirs = server.cluster(&admin, "theirs").await;
    for (name, cluster) in [("mine-nightly", mine), ("theirs-nightly", theirs)] {
        let body = json!({"name": name, "cron": "30 2 * * *", "timezone": "Europe/Paris", "target": {"type": "job", "cluster_id": cluster, "job": {"kind": "diagnostics"}}});
        server.post("/api/v1/schedules", &admin, body).await.expect(201);
    }
    let pool = server.get(&format!("/api/v1/clusters/{mine}"), &admin).await.expect(200)["pool_id"].clone();
    let body = json!({"username": "pa", "password": "pool-admin-password-42", "pool_roles": [{"pool_id": pool, "role": "admin"}]});
    server.post("/api/v1/users", &admin, body).await.expect(201);
    let mut root = Browser::new(&server);
    root.log_in("admin", ADMIN_PASSWORD).await;
    let page = root.get("/ui/schedules").await;
    assert_eq!(page.status, 200);
    for shown in ["mine-nightly", "theirs-nightly", "<code>30 2 * * *</code> in Europe/Paris", "<code>diagnostics</code> on mine", "No runs yet.", "aria-current=\"page\">Schedules"] {
        assert!(page.text.contains(shown), "{shown}: {}", page.text);
    }
    let mut pa = Browser::new(&server);
    pa.log_in("pa", "pool-admin-password-42").await;
    let page = pa.get("/ui/schedules").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("mine-nightly") && !page.text.contains("theirs"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_shows_the_one_line_install_checked_by_its_script_digest() {
    let agent = std::env::temp_dir().join(fleet_tests::unique_name("ui-agent-"));
    std::fs::write(&agent, b"an agent").unwrap();
    let server = start_on(None, &["--agent-binary", agent.to_str().unwrap()]);
    let admin = server.admin().await;
    server.cluster(&admin, "enrol-me").await;
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/enrol-me/agents").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let issued = browser.post("/ui/clusters/enrol-me/enrolments", &[("csrf", &page.csrf()), ("name", "n1")]).await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let script = reqwest::get(format!("{}/install/agent.sh", server.base)).await.unwrap().text().await.unwrap();
    let digest = fleet_core::secret::sha256_hex(script.as_bytes());
    assert!(issued.text.contains("id=\"install-script\""), "{}", issued.text);
    assert!(issued.text.contains(&format!("echo '{digest}  fleet-agent-install.sh' | sha256sum -c -")), "{}", issued.text);
    assert!(issued.text.contains("id=\"install-command\""), "the command for an installed agent stays");
    let _ = std::fs::remove_file(agent);
}

/// The Jobs & snapshots tab: run a job on the cluster's agents, see it queued per agent,
/// cancel it; a viewer sees the jobs but no forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_tab_runs_and_cancels_jobs() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "jb").await;
    server.agent(&admin, cluster, "n1").await;
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/jb/jobs").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Run a job") && page.text.contains("No jobs yet") && page.text.contains("No snapshots"), "{}", page.text);
    let ran = browser.post("/ui/clusters/jb/jobs", &[("csrf", &page.csrf()), ("kind", "diagnostics"), ("agents", ""), ("timeout", "30")]).await;
    assert_eq!(ran.status, 303, "{}", ran.text);
    let jobs = server.get(&format!("/api/v1/clusters/{cluster}/jobs"), &admin).await.expect(200);
    let id = jobs[0]["id"].as_i64().unwrap();
    assert_eq!((jobs[0]["kind"].as_str(), jobs[0]["timeout_ms"].as_i64(), jobs[0]["author"].as_str()), (Some("diagnostics"), Some(30_000), Some("admin")));
    let page = browser.get(ran.location()).await;
    assert!(page.text.contains(&format!("job {id} queued")) && page.text.contains("queued") && page.text.contains("Cancel"), "{}", page.text);
    let bad = browser.post("/ui/clusters/jb/jobs", &[("csrf", &page.csrf()), ("kind", "shell"), ("agents", ""), ("timeout", "")]).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let cancelled = browser.post(&format!("/ui/clusters/jb/jobs/{id}/cancel"), &[("csrf", &page.csrf())]).await;
    assert_eq!(cancelled.status, 303);
    let job = server.get(&format!("/api/v1/clusters/{cluster}/jobs/{id}"), &admin).await.expect(200);
    assert_eq!(job["status"], json!("cancelled"), "{job:#}");

    server.post("/api/v1/users", &admin, json!({"username": "vic", "password": "viewer-password-42", "role": "viewer"})).await.expect(201);
    let mut vic = Browser::new(&server);
    vic.log_in("vic", "viewer-password-42").await;
    let page = vic.get("/ui/clusters/jb/jobs").await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("Run a job") && page.text.contains("diagnostics"), "{}", page.text);
}

/// The Rules tab: a cluster's rules in the order they run, with mode and entries; a list's
/// entries changed and a rule deleted from the page (each a version); a viewer sees no forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_tab_lists_rules_and_changes_entries() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "wf").await;
    let text = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18093\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:9\n";
    server.post_text(&format!("/api/v1/clusters/{cluster}/import"), &admin, text).await.expect(201);
    let rules = format!("/api/v1/clusters/{cluster}/rules");
    server.post(&rules, &admin, json!({"name": "bad", "kind": "ip_deny", "entries": ["192.0.2.1"], "priority": 5})).await.expect(201);
    server.post(&rules, &admin, json!({"name": "probe", "kind": "header_filter", "header": "X-Probe", "match": "present", "dry_run": true})).await.expect(201);
    server.post(&rules, &admin, json!({"name": "api", "kind": "rate_limit", "limit": 10, "period_seconds": 10})).await.expect(201);
    let agent = server.agent(&admin, cluster, "n1").await;
    server.post("/api/v1/agent/heartbeat", &agent, json!({"rule_hits": [{"rule": "api", "tracked": 3, "over_limit": 1, "max_rate": 11}]})).await.expect(200);
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/wf/rules").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("3 tracked, 1 over the limit (max rate 11)"), "the node's hits of the rate limit: {}", page.text);
    assert!(page.text.contains("ip_deny") && page.text.contains("192.0.2.1") && page.text.contains("dry run") && page.text.contains("enforced"), "{}", page.text);
    assert!(page.text.find(">bad<").unwrap() < page.text.find(">probe<").unwrap(), "priority order");
    let changed = browser.post("/ui/clusters/wf/rules/bad/entries", &[("csrf", &page.csrf()), ("add", "198.51.100.0/24 2001:db8::1"), ("remove", "192.0.2.1")]).await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    let bad = server.get(&format!("{rules}/bad"), &admin).await.expect(200);
    assert_eq!(bad["entries"], json!(["198.51.100.0/24", "2001:db8::1"]));
    let deleted = browser.post("/ui/clusters/wf/rules/probe/delete", &[("csrf", &page.csrf())]).await;
    assert_eq!(deleted.status, 303);
    let page = browser.get(deleted.location()).await;
    assert!(page.text.contains("rule probe deleted") && !page.text.contains(">probe<"), "{}", page.text);

    server.post("/api/v1/users", &admin, json!({"username": "vic", "password": "viewer-password-42", "role": "viewer"})).await.expect(201);
    let mut vic = Browser::new(&server);
    vic.log_in("vic", "viewer-password-42").await;
    let page = vic.get("/ui/clusters/wf/rules").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("bad") && !page.text.contains("Delete"), "{}", page.text);
}

/// The Maps tab: a cluster's map files with the lines loading them and their entries; an entry
/// set and a key removed from the page (each a version changing only those lines); a viewer sees
/// no form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maps_tab_lists_map_files_and_changes_entries() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "mp").await;
    let hosts = "# hosts\nold.example be_old\n";
    server.put_text(&format!("/api/v1/clusters/{cluster}/files/maps/hosts.map?version=0&kind=map"), &admin, hosts).await.expect(200);
    let text = "frontend fe\n    bind 127.0.0.1:18094\n    http-request set-var(txn.be) req.hdr(host),map_str(maps/hosts.map,app)\n    default_backend app\n\nbackend app\n    server s1 127.0.0.1:9\n";
    server.post_text(&format!("/api/v1/clusters/{cluster}/import"), &admin, text).await.expect(201);
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/mp/maps").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("maps/hosts.map") && page.text.contains("haproxy.cfg:3") && page.text.contains("be_old"), "{}", page.text);
    let changed = browser.post("/ui/clusters/mp/maps/change", &[("csrf", &page.csrf()), ("path", "maps/hosts.map"), ("key", "new.example"), ("value", "be_new"), ("remove", "old.example")]).await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    let file = server.get(&format!("/api/v1/clusters/{cluster}/files/maps/hosts.map"), &admin).await.text;
    assert_eq!(file, "# hosts\nnew.example be_new\n", "only the lines of those keys changed");
    let refused = browser.post("/ui/clusters/mp/maps/change", &[("csrf", &page.csrf()), ("path", "maps/hosts.map"), ("key", "#bad"), ("value", "x")]).await;
    assert_ne!(refused.status, 303, "a key HAProxy reads as a comment is refused");

    server.post("/api/v1/users", &admin, json!({"username": "vic", "password": "viewer-password-42", "role": "viewer"})).await.expect(201);
    let mut vic = Browser::new(&server);
    vic.log_in("vic", "viewer-password-42").await;
    let page = vic.get("/ui/clusters/mp/maps").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("be_new") && !page.text.contains("Remove keys"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_page_shows_the_rollout_with_its_stages_and_controls() {
    let server = start(Db::Sqlite).await.unwrap();
    let admin = server.admin().await;
    let cluster = server.cluster(&admin, "ro").await;
    for name in ["n1", "n2"] {
        server.agent(&admin, cluster, name).await;
    }
    server.post_text(&format!("/api/v1/clusters/{cluster}/import"), &admin, "backend app\n    server s1 10.0.0.1:80\n").await.expect(201);
    let mut browser = Browser::new(&server);
    browser.log_in("admin", ADMIN_PASSWORD).await;
    let page = browser.get("/ui/clusters/ro").await;
    assert!(page.text.contains("Staged apply of version 1") && !page.text.contains("Current rollout"), "{}", page.text);
    let started = browser.post("/ui/clusters/ro/rollouts", &[("csrf", &page.csrf()), ("version", "1"), ("canary", "1"), ("batch_percent", "50"), ("pause", "0"), ("soak", "5"), ("max_failures", "0"), ("on_failure", "rollback")]).await;
    assert_eq!(started.status, 303, "{}", started.text);
    let page = browser.get(started.location()).await;
    assert!(page.text.contains("started") && page.text.contains("Current rollout") && page.text.contains("on failure rollback"), "{}", page.text);
    assert!(page.text.contains("data-stage=\"canary\"") && page.text.contains("data-stage=\"batch 1\"") && page.text.contains(">applying<") && page.text.contains(">pending<"), "{}", page.text);
    let rid = server.get(&format!("/api/v1/clusters/{cluster}/rollouts"), &admin).await.expect(200)[0]["rollout_id"].as_i64().unwrap();
    let paused = browser.post(&format!("/ui/clusters/ro/rollouts/{rid}/pause"), &[("csrf", &page.csrf())]).await;
    assert_eq!(paused.status, 303);
    let page = browser.get(paused.location()).await;
    assert!(page.text.contains(&format!("rollout {rid} is paused")) && page.text.contains("Resume"), "{}", page.text);
    let aborted = browser.post(&format!("/ui/clusters/ro/rollouts/{rid}/abort"), &[("csrf", &page.csrf())]).await;
    let page = browser.get(aborted.location()).await;
    assert!(page.text.contains(&format!("rollout {rid} is aborted")) && !page.text.contains(">Pause<"), "{}", page.text);
    let bad = browser.post("/ui/clusters/ro/rollouts", &[("csrf", &page.csrf()), ("version", "1"), ("canary", "0")]).await;
    assert_eq!(bad.status, 422, "{}", bad.text);
}
