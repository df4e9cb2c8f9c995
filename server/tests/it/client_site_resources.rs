//! The site file's certificates, VIPs, DNS failover and ACME against a real `fleet serve`:
//! each planned resource by resource, applied, a second plan empty (exit 0), a change shown and
//! landed, `--prune` removing only when asked, bad sections named at file:line:col; an ACME
//! site (`fleet site new --tls acme`) ordered once from pebble, the order filling the
//! placeholder, and nothing left to do afterwards.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client_site::{expect, fleet};
use crate::serve_support::{start_on, Server};
use crate::support::Scratch;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A combined PEM (chain then key) for `name`, new each call.
fn combined_pem(name: &str) -> String {
    let made = fleet_core::certs::placeholder(&[name.to_string()], now_ms()).unwrap();
    format!("{}{}", made.chain_pem, made.key_pem)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn append(path: &Path, text: &str) {
    let old = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, old + text).unwrap();
}

fn kinds(run: &crate::client_site::Run) -> Vec<String> {
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["action"].as_str() {
            Some(action) => format!("{} {action}", c["change"].as_str().unwrap()),
            None => c["change"].as_str().unwrap().to_string(),
        })
        .collect()
}

const VIP: &str = "\n[[cluster.vip]]\nname = \"web\"\naddresses = [\"198.18.0.50/24\"]\nvrid = 51\ninterface = \"eth0\"\ntrack_haproxy = false\n\
nodes = [{ agent = \"lb1\", priority = 150 }]\n";

const FAILOVER: &str = "\n[pool.failover]\nhostname = \"www.example.com\"\nprovider = \"zone\"\nhold_seconds = 60\n";

#[test]
fn certificates_vips_and_failover_are_planned_applied_and_pruned() {
    let server = start_on(None, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = runtime.block_on(server.admin());
    let home = Scratch::new();
    let h = home.path();
    expect(fleet(h, &["login", "--server", &server.base]), 0);
    expect(fleet(h, &["site", "new", "shop", "--domain", "shop.example.com", "--backend", "10.0.0.1:8080"]), 0);
    let (site, toml, cfg) = ("shop/fleet.toml", h.join("shop/fleet.toml"), h.join("shop/shop/haproxy.cfg"));

    // An uploaded certificate: stored, deployed before the config that binds it, rolled out.
    std::fs::create_dir_all(h.join("shop/certs")).unwrap();
    std::fs::write(h.join("shop/certs/shop.pem"), combined_pem("shop.example.com")).unwrap();
    append(&toml, "\n[[certificate]]\nname = \"shop-tls\"\nfile = \"certs/shop.pem\"\nclusters = [\"shop\"]\n");
    append(&cfg, "\nfrontend tls\n    bind :8443 ssl crt certs/shop-tls.pem\n    default_backend app\n");
    let first = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(first.stdout.contains("+ certificate shop-tls (uploaded from certs/shop.pem)"), "{}", first.stdout);
    assert!(first.stdout.contains("+ certificate shop-tls in cluster shop at certs/shop-tls.pem"), "{}", first.stdout);
    assert!(!first.stdout.contains("error"), "the planned certificate counts as there: {}", first.stdout);
    let applied = expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    assert!(applied.stdout.contains("done: + certificate shop-tls in cluster shop"), "{}", applied.stdout);
    let again = expect(fleet(h, &["plan", "-f", site]), 0);
    assert!(again.stdout.contains("no changes"), "{}", again.stdout);
    let certificates = runtime.block_on(server.get("/api/v1/certificates", &admin)).expect(200);
    assert_eq!(certificates.as_array().unwrap().len(), 1, "{certificates}");

    // A new certificate in the file replaces the stored one and rolls the cluster out.
    std::fs::write(h.join("shop/certs/shop.pem"), combined_pem("shop.example.com")).unwrap();
    let replace = expect(fleet(h, &["plan", "-f", site, "-o", "json"]), 2);
    assert_eq!(kinds(&replace), ["certificate replace", "rollout"], "{}", replace.stdout);
    expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    expect(fleet(h, &["plan", "-f", site]), 0);
    let stored = &runtime.block_on(server.get("/api/v1/certificates", &admin)).expect(200)[0];
    let local = fleet_core::certs::leaf_fingerprint(&std::fs::read_to_string(h.join("shop/certs/shop.pem")).unwrap()).unwrap();
    assert_eq!(stored["fingerprint_sha256"], json!(local));
    assert_eq!(stored["revision"], json!(2));

    // A VIP on an enrolled agent and the pool's DNS failover through a provider of the server.
    let cluster = runtime.block_on(server.get("/api/v1/clusters/shop", &admin)).expect(200)["id"].as_i64().unwrap();
    runtime.block_on(server.agent(&admin, cluster, "lb1"));
    let provider = json!({"name": "zone", "kind": "rfc2136", "zone": "example.com", "server": "127.0.0.1:1", "tsig_key_name": "fleet-update",
        "tsig_algorithm": "hmac-sha256", "tsig_secret": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="});
    runtime.block_on(server.post("/api/v1/dns-providers", &admin, provider)).expect(201);
    edit(&toml, "agents = []\n", &format!("agents = [\"lb1\"]\n{VIP}"));
    edit(&toml, "name = \"default\"\n", &format!("name = \"default\"\n{FAILOVER}"));
    let added = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(added.stdout.contains("+ vip shop/web"), "{}", added.stdout);
    assert!(added.stdout.contains("+ failover of pool default: www.example.com"), "{}", added.stdout);
    expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    expect(fleet(h, &["plan", "-f", site]), 0);
    let vips = runtime.block_on(server.get(&format!("/api/v1/clusters/{cluster}/vips"), &admin)).expect(200);
    assert_eq!(vips[0]["nodes"][0]["priority"], json!(150), "{vips}");

    // Changes show field by field and land.
    edit(&toml, "priority = 150", "priority = 120");
    edit(&toml, "hold_seconds = 60", "hold_seconds = 90");
    let changed = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(changed.stdout.contains("~ vip shop/web: nodes"), "{}", changed.stdout);
    assert!(changed.stdout.contains("~ failover of pool default: hold_seconds"), "{}", changed.stdout);
    expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    expect(fleet(h, &["plan", "-f", site]), 0);
    let pool = runtime.block_on(server.get("/api/v1/pools/default", &admin)).expect(200)["id"].as_i64().unwrap();
    let failover = runtime.block_on(server.get(&format!("/api/v1/pools/{pool}/failover"), &admin)).expect(200);
    assert_eq!(failover["settings"]["hold_seconds"], json!(90), "{failover}");

    // Out of the file: kept unless --prune, then removed (the config stops binding it first).
    edit(&toml, VIP.replace("150", "120").as_str(), "");
    edit(&toml, "\n[[certificate]]\nname = \"shop-tls\"\nfile = \"certs/shop.pem\"\nclusters = [\"shop\"]\n", "");
    edit(&cfg, "\nfrontend tls\n    bind :8443 ssl crt certs/shop-tls.pem\n    default_backend app\n", "");
    let kept = expect(fleet(h, &["plan", "-f", site, "-o", "json"]), 2);
    assert_eq!(kinds(&kept), ["config", "rollout"], "{}", kept.stdout);
    let prune = expect(fleet(h, &["plan", "-f", site, "--prune", "-o", "json"]), 2);
    assert_eq!(kinds(&prune), ["config", "certificate undeploy", "rollout", "vip delete", "certificate delete"], "{}", prune.stdout);
    expect(fleet(h, &["apply", "-f", site, "--prune", "--auto-approve"]), 0);
    expect(fleet(h, &["plan", "-f", site, "--prune"]), 0);
    assert_eq!(runtime.block_on(server.get("/api/v1/certificates", &admin)).expect(200), json!([]));
    assert_eq!(runtime.block_on(server.get(&format!("/api/v1/clusters/{cluster}/vips"), &admin)).expect(200), json!([]));

    // Bad sections: an unknown key, and references to what exists nowhere, at file:line:col.
    let bad = |text: &str| {
        std::fs::write(h.join("shop/bad.toml"), format!("[[cluster]]\nname = \"shop\"\npool = \"default\"\nagents = [\"lb1\"]\n{text}")).unwrap();
        expect(fleet(h, &["plan", "-f", "shop/bad.toml"]), 1).stderr
    };
    let unknown = bad("\n[[certificate]]\nname = \"x\"\nfile = \"certs/shop.pem\"\nclustrs = [\"shop\"]\n");
    assert!(unknown.contains("bad.toml:9:1: error: unknown field `clustrs`"), "{unknown}");
    let cluster_ref = bad("\n[[certificate]]\nname = \"x\"\nfile = \"certs/shop.pem\"\nclusters = [\"nowhere\"]\n");
    assert!(cluster_ref.contains("bad.toml:9:13: error: no cluster named \"nowhere\""), "{cluster_ref}");
    let missing = bad("\n[[certificate]]\nname = \"x\"\nfile = \"certs/none.pem\"\n");
    assert!(missing.contains("bad.toml:8:8: error:") && missing.contains("certs/none.pem"), "{missing}");
    let agent = bad(&VIP.replace("\"lb1\", priority", "\"lb9\", priority"));
    assert!(agent.contains("bad.toml:12:10: error: no agent \"lb9\" in cluster shop"), "{agent}");
    let vip_key = bad(&VIP.replace("vrid = 51", "vrid = 51\nweight = 3"));
    assert!(vip_key.contains("bad.toml:10:1: error: unknown field `weight`"), "{vip_key}");
    let provider = bad("\n[[pool]]\nname = \"default\"\n[pool.failover]\nhostname = \"www.example.com\"\nprovider = \"nope\"\n");
    assert!(provider.contains("bad.toml:10:12: error: no DNS provider named \"nope\""), "{provider}");
    let account = bad("\n[[certificate]]\nacme = [\"shop.example.com\"]\nclusters = [\"shop\"]\naccount = \"https://ca.invalid/dir\"\n");
    assert!(account.contains("bad.toml:9:11: error: no ACME account for \"https://ca.invalid/dir\""), "{account}");
    let dns = bad("\n[[certificate]]\nacme = [\"shop.example.com\"]\nclusters = [\"shop\"]\nchallenge = \"dns-01\"\nfrontends = [\"shop\"]\n");
    assert!(dns.contains("bad.toml:9:13: error: frontends are for http-01"), "{dns}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(status.success(), "openssl {args:?} failed");
}

/// Pebble that takes every challenge as valid (the fleet's own HTTP-01 path runs against a
/// real HAProxy in the workspace suite, tests/tests/it/acme_pebble.rs); killed on drop.
struct Pebble {
    child: Child,
    directory: String,
}

impl Pebble {
    fn start(dir: &Path) -> Option<Pebble> {
        let bin = std::env::var_os("FLEET_PEBBLE_BIN").map(std::path::PathBuf::from).unwrap_or_else(|| "/usr/bin/pebble".into());
        if !bin.exists() {
            eprintln!("skipped: pebble is not installed (scripts/setup.d/40-pebble.sh installs it)");
            return None;
        }
        openssl(dir, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=pebble test root", "-keyout", "root.key", "-out", "root.pem"]);
        openssl(dir, &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]);
        std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
        openssl(dir, &["x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "cert.pem"]);
        let listen = free_port();
        let config = json!({"pebble": {"listenAddress": format!("127.0.0.1:{listen}"), "managementListenAddress": format!("127.0.0.1:{}", free_port()),
            "certificate": dir.join("cert.pem"), "privateKey": dir.join("key.pem"), "httpPort": free_port(), "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": false}});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let child = Command::new(bin)
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::from(std::fs::File::create(dir.join("pebble.log")).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", listen)).is_err() {
            assert!(Instant::now() < deadline, "pebble did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Pebble { child, directory: format!("https://127.0.0.1:{listen}/dir") })
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The orders once every one is final.
fn final_orders(runtime: &tokio::runtime::Runtime, server: &Server, admin: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let orders = runtime.block_on(server.get("/api/v1/acme/orders", admin)).expect(200);
        if orders.as_array().unwrap().iter().all(|o| o["status"] == "valid" || o["status"] == "invalid") {
            return orders;
        }
        assert!(Instant::now() < deadline, "orders still running: {orders}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stands in for an agent: reports every version the cluster is told to run as applied, so the
/// ACME driver sees each node answer the challenge (serving it is acme_pebble.rs's part).
fn report_applied(runtime: &tokio::runtime::Runtime, server: &Server, admin: &str, cluster: i64, token: String) -> tokio::task::JoinHandle<()> {
    let (base, admin, client) = (server.base.clone(), admin.to_string(), reqwest::Client::new());
    runtime.spawn(async move {
        let mut reported = None;
        loop {
            let cluster: Value = client.get(format!("{base}/api/v1/clusters/{cluster}")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
            let desired = cluster["desired_version"].as_i64();
            if desired.is_some() && desired != reported {
                let report = json!({"version": desired, "outcome": "applied"});
                let sent = client.post(format!("{base}/api/v1/agent/report")).bearer_auth(&token).json(&report).send().await.unwrap();
                assert!(sent.status().is_success(), "{}", sent.text().await.unwrap_or_default());
                reported = desired;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

#[test]
fn an_acme_site_is_ordered_once_and_then_matches() {
    let home = Scratch::new();
    let h = home.path();
    let Some(pebble) = Pebble::start(h) else { return };
    let server = start_on(None, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = runtime.block_on(server.admin());
    expect(fleet(h, &["login", "--server", &server.base]), 0);
    let args = ["site", "new", "shop", "--domain", "shop.example.com", "--backend", "10.0.0.1:8080", "--tls", "acme"];
    expect(fleet(h, &args), 0);
    let site = "shop/fleet.toml";
    // As written it names Let's Encrypt; the plan accepts it without asking the CA.
    let written = expect(fleet(h, &["plan", "-f", site]), 2);
    assert!(written.stdout.contains("+ acme account https://acme-v02.api.letsencrypt.org/directory"), "{}", written.stdout);
    assert!(written.stdout.contains("+ acme order for certificate shop.example.com (shop.example.com; first order)"), "{}", written.stdout);
    assert!(!written.stdout.contains("error"), "{}", written.stdout);

    // Pointed at pebble (its root beside the site file), it is ordered once; the cluster has a
    // (stand-in) agent, as HTTP-01 needs one.
    expect(fleet(h, &["pool", "create", "default"]), 0);
    expect(fleet(h, &["cluster", "create", "shop", "--pool", "default"]), 0);
    let cluster = runtime.block_on(server.get("/api/v1/clusters/shop", &admin)).expect(200)["id"].as_i64().unwrap();
    let token = runtime.block_on(server.agent(&admin, cluster, "lb1"));
    let reporter = report_applied(&runtime, &server, &admin, cluster, token);
    std::fs::copy(h.join("root.pem"), h.join("shop/pebble-root.pem")).unwrap();
    let toml = h.join("shop/fleet.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace("https://acme-v02.api.letsencrypt.org/directory", &pebble.directory);
    std::fs::write(&toml, text.replacen("contact = [", "ca_file = \"pebble-root.pem\"\ncontact = [", 1)).unwrap();
    let plan = expect(fleet(h, &["plan", "-f", site, "-o", "json"]), 2);
    let expected = ["certificate account", "certificate placeholder", "certificate deploy", "config", "rollout", "certificate order"];
    assert_eq!(kinds(&plan), expected, "{}", plan.stdout);
    expect(fleet(h, &["apply", "-f", site, "--auto-approve"]), 0);
    let orders = final_orders(&runtime, &server, &admin);
    assert_eq!(orders.as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(orders[0]["status"], "valid", "{orders}");

    // The order filled the placeholder's entry; nothing is left to do, pruning included.
    let certificates = runtime.block_on(server.get("/api/v1/certificates", &admin)).expect(200);
    assert_eq!(certificates.as_array().unwrap().len(), 1, "{certificates}");
    assert!(certificates[0]["issuer"].as_str().unwrap_or_default().contains("Pebble"), "{certificates}");
    let after = expect(fleet(h, &["plan", "-f", site, "--prune"]), 0);
    assert!(after.stdout.contains("no changes"), "{}", after.stdout);
    reporter.abort();
}
