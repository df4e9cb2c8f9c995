//! ACME against a real CA on loopback (issue 13): pebble, its DNS answered by
//! pebble-challtestsrv (every name is 127.0.0.1), its HTTP-01 validation sent to the frontend
//! port of a real HAProxy that a real fleet-agent runs. The server drives the order: challenge
//! map version applied at runtime by the agent, validation, finalisation, the certificate
//! deployed and swapped at runtime. Pebble ships no certificate or configuration: both are made
//! here with openssl.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::agent_harness::{bring_up_with, bundle_config, free_port, free_ports, node_agents, prerequisites, temp_dir, Agent, Server};

/// `pebble` and `pebble-challtestsrv` (Debian package `pebble`, scripts/setup.d/40-pebble.sh).
fn pebble_bins() -> Option<(PathBuf, PathBuf)> {
    let pebble = std::env::var_os("FLEET_PEBBLE_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/pebble"));
    let challtestsrv = pebble.with_file_name("pebble-challtestsrv");
    if pebble.exists() && challtestsrv.exists() {
        Some((pebble, challtestsrv))
    } else {
        eprintln!("skipped: pebble is not installed (scripts/setup.d/40-pebble.sh installs it)");
        None
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(status.success(), "openssl {args:?} failed");
}

/// A running pebble and challtestsrv; both killed on drop.
struct Pebble {
    children: Vec<Child>,
    /// `https://127.0.0.1:<port>/dir`.
    directory: String,
    /// The root that signs pebble's TLS certificate.
    ca_pem: String,
    /// challtestsrv's management API.
    management: u16,
}

impl Pebble {
    /// Pebble validating HTTP-01 on `http_port`; with `eab`, accounts need that binding.
    fn start(dir: &Path, http_port: u16, eab: Option<(&str, &str)>) -> Pebble {
        Pebble::start_with(dir, http_port, eab, None)
    }

    /// [`Pebble::start`] issuing certificates valid for `validity_seconds` when given.
    fn start_with(dir: &Path, http_port: u16, eab: Option<(&str, &str)>, validity_seconds: Option<u64>) -> Pebble {
        Pebble::start_full(dir, http_port, eab, validity_seconds, None)
    }

    /// [`Pebble::start`] resolving through `dns` (a real BIND holding the zone, for DNS-01)
    /// instead of challtestsrv.
    fn start_dns(dir: &Path, http_port: u16, dns: std::net::SocketAddr) -> Pebble {
        Pebble::start_full(dir, http_port, None, None, Some(dns))
    }

    fn start_full(dir: &Path, http_port: u16, eab: Option<(&str, &str)>, validity_seconds: Option<u64>, resolver: Option<std::net::SocketAddr>) -> Pebble {
        let (pebble, challtestsrv) = pebble_bins().unwrap();
        // A root and a leaf for 127.0.0.1 (webpki refuses a CA certificate used as a leaf).
        openssl(dir, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=pebble test root", "-keyout", "root.key", "-out", "root.pem"]);
        openssl(dir, &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]);
        std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
        openssl(dir, &["x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "cert.pem"]);
        // Distinct: a CI run saw pebble's directory port given to challtestsrv's DNS server too.
        let [listen, management, dns, challtest_management, tls_port] = free_ports::<5>();
        let mut macs = serde_json::Map::new();
        if let Some((kid, hmac)) = eab {
            macs.insert(kid.into(), json!(hmac));
        }
        let config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": eab.is_some(),
            "externalAccountMACKeys": macs,
        }});
        let mut config = config;
        if let Some(seconds) = validity_seconds {
            config["pebble"]["certificateValidityPeriod"] = json!(seconds);
        }
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let log = |name: &str| Stdio::from(std::fs::File::create(dir.join(name)).unwrap());
        let dns_server = Command::new(challtestsrv)
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}"), "-management", &format!("127.0.0.1:{challtest_management}")])
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .unwrap();
        let ca = Command::new(pebble)
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &resolver.map(|r| r.to_string()).unwrap_or_else(|| format!("127.0.0.1:{dns}"))])
            // No random sleep before validating; every order gets fresh authorisations. Pebble's
            // default 5 % of rejected nonces stays on: the client must retry them.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .unwrap();
        let me = Pebble {
            children: vec![dns_server, ca],
            directory: format!("https://127.0.0.1:{listen}/dir"),
            ca_pem: std::fs::read_to_string(dir.join("root.pem")).unwrap(),
            management: challtest_management,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", listen)).is_err() || TcpStream::connect(("127.0.0.1", challtest_management)).is_err() {
            assert!(Instant::now() < deadline, "pebble did not start: {}", std::fs::read_to_string(dir.join("pebble.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// Makes challtestsrv answer `host` with `address` (a node that does not listen there).
    fn add_a(&self, host: &str, address: &str) {
        let response = reqwest::blocking::Client::new()
            .post(format!("http://127.0.0.1:{}/add-a", self.management))
            .json(&json!({"host": host, "addresses": [address]}))
            .send()
            .unwrap();
        assert!(response.status().is_success());
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the TLS listener on `port` serves for `name`: `openssl x509` of the handshake's leaf
/// (serial, issuer, subjectAltName).
fn served(port: u16, name: &str) -> String {
    served_at("127.0.0.1", port, name)
}

/// [`served`] on `address`.
fn served_at(address: &str, port: u16, name: &str) -> String {
    let script = format!(
        "openssl s_client -connect {address}:{port} -servername {name} </dev/null 2>/dev/null | openssl x509 -noout -serial -issuer -ext subjectAltName"
    );
    let output = Command::new("sh").args(["-c", &script]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Polls the order until it is final.
fn wait_order(server: &Server, id: i64, agent: &Agent) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let order = server.get(&format!("/api/v1/acme/orders/{id}"));
        if order["status"] == json!("valid") || order["status"] == json!("invalid") {
            return order;
        }
        assert!(Instant::now() < deadline, "order not final: {order:#}\nagent log:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A cluster running a bundle with an HTTP frontend on `port` and TLS on `tls` serving a
/// placeholder certificate at `certs/site.pem`, where the order will put the issued one.
fn prepared(name: &str) -> Option<(Server, Agent, i64, u16, u16, PathBuf)> {
    prepared_with(name, &[])
}

/// [`prepared`] with more `fleet serve` arguments.
fn prepared_with(name: &str, args: &[&str]) -> Option<(Server, Agent, i64, u16, u16, PathBuf)> {
    let (haproxy, fleet, agent_bin) = prerequisites()?;
    pebble_bins()?;
    let (server, agent, cluster, port, dir) = bring_up_with(name, &haproxy, &fleet, &agent_bin, args);
    let tls = free_port();
    let placeholder = fleet_tests::self_signed_pem_for("placeholder.test")?;
    let version = server.commit_files(
        cluster,
        &[
            ("haproxy.cfg", "config", bundle_config(port, tls, "v", "").as_bytes()),
            ("maps/hosts.map", "map", b"test A\n"),
            ("certs/site.pem", "certificate", &placeholder),
        ],
    );
    server.apply(cluster, version);
    server.wait_status(cluster, "the bundle applied", |a| a["applied_version"] == json!(version));
    Some((server, agent, cluster, port, tls, dir))
}

#[test]
fn http01_through_the_node_issues_and_swaps_the_certificate_without_a_reload() {
    let Some((server, agent, cluster, port, tls, dir)) = prepared("acme-http01") else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start(&pebble_dir, port, None);
    let account = server.post(
        "/api/v1/acme/accounts",
        &json!({"directory_url": pebble.directory, "contact": "ops@acme.test", "ca_pem": pebble.ca_pem}),
    );
    assert!(account["account_url"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{account}");
    assert!(!account.to_string().contains("PRIVATE"), "no key in the answer: {account}");
    let listed = server.get("/api/v1/acme/accounts");
    assert!(listed.as_array().unwrap().iter().any(|a| a["id"] == account["id"]));
    let names = json!(["one.acme.test", "two.acme.test"]);
    let before = agent.reloads();

    // First order: the managed rule goes into frontend `fe` (one reload, the only one).
    let started = Instant::now();
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": names, "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "frontends": ["fe"], "path": "certs/site.pem"}),
    );
    assert_eq!(accepted["status"], json!("pending"));
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    eprintln!("first order valid in {:?} (rule inserted)", started.elapsed());
    assert_eq!(order["status"], json!("valid"), "{order:#}\n{}", agent.log());
    let certificate_id = order["certificate_id"].as_i64().expect("stored in the certificate store");
    let statuses: Vec<&str> = order["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"ready") && statuses.contains(&"processing"), "{statuses:?}");
    server.wait_status(cluster, "the certificate applied", |a| a["applied_version"] == json!(server.latest(cluster)));
    let first = served(tls, "one.acme.test");
    assert!(first.contains("DNS:one.acme.test") && first.contains("DNS:two.acme.test"), "{first}");
    assert!(first.contains("Pebble"), "issued by pebble: {first}");
    assert_eq!(agent.reloads(), before + 1, "only the rule insertion reloads");
    let text = server.get_text(&format!("/api/v1/clusters/{cluster}/files/haproxy.cfg"));
    assert!(text.contains("acme-challenge"), "the managed rule is visible in the config: {text}");

    // Second order (a renewal): the rule is there; challenge map and certificate both go in
    // through the runtime API, no reload at all.
    let before = agent.reloads();
    let started = Instant::now();
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": names, "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "path": "certs/site.pem"}),
    );
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    eprintln!("second order valid in {:?} (runtime only)", started.elapsed());
    assert_eq!(order["status"], json!("valid"), "{order:#}");
    assert_eq!(order["certificate_id"], json!(certificate_id), "a renewal is a new revision of the same stored certificate");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut second = served(tls, "one.acme.test");
    while second.lines().next() == first.lines().next() {
        assert!(Instant::now() < deadline, "the renewed certificate is not served: {second}");
        std::thread::sleep(Duration::from_millis(50));
        second = served(tls, "two.acme.test");
    }
    assert!(second.contains("DNS:two.acme.test"), "{second}");
    assert_eq!(agent.reloads(), before, "no reload for a challenge and a certificate swap");
    let map = server.get_text(&format!("/api/v1/clusters/{cluster}/files/acme/http-01.map"));
    assert!(map.trim().is_empty(), "the tokens were taken back: {map}");
}

/// `key_type: rsa2048`: the server makes an RSA-2048 key (RustCrypto `rsa`), rcgen on ring signs
/// the CSR with it, the CA accepts it at finalize, and the node serves the RSA certificate.
#[test]
fn an_rsa2048_order_is_issued_and_served() {
    let Some((server, agent, cluster, port, tls, dir)) = prepared("acme-rsa") else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start(&pebble_dir, port, None);
    let account = server.post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "ca_pem": pebble.ca_pem}));
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": ["rsa.acme.test"], "account_id": account["id"], "challenge": "http-01", "clusters": [cluster],
                "frontends": ["fe"], "path": "certs/site.pem", "key_type": "rsa2048"}),
    );
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    assert_eq!(order["status"], json!("valid"), "{order:#}\n{}", agent.log());
    let certificate = server.get(&format!("/api/v1/certificates/{}", order["certificate_id"]));
    assert_eq!((&certificate["key_type"], &certificate["key_bits"]), (&json!("rsa"), &json!(2048)), "{certificate:#}");
    server.wait_status(cluster, "the certificate applied", |a| a["applied_version"] == json!(server.latest(cluster)));
    let script = format!(
        "openssl s_client -connect 127.0.0.1:{tls} -servername rsa.acme.test </dev/null 2>/dev/null | openssl x509 -noout -text"
    );
    let output = Command::new("sh").args(["-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("rsaEncryption") && text.contains("(2048 bit)") && text.contains("DNS:rsa.acme.test"), "{text}");
}

#[test]
fn an_invalid_challenge_makes_the_order_invalid_and_deploys_nothing() {
    let Some((server, agent, cluster, port, _tls, dir)) = prepared("acme-invalid") else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start(&pebble_dir, port, None);
    // The CA resolves this name to an address no node listens on.
    pebble.add_a("unreachable.acme.test", "127.0.0.2");
    let account = server.post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem}));
    let latest = server.latest(cluster).unwrap();
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": ["unreachable.acme.test"], "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "frontends": ["fe"], "path": "certs/new.pem"}),
    );
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    assert_eq!(order["status"], json!("invalid"), "{order:#}");
    let error = order["error"].as_str().unwrap();
    assert!(error.contains("urn:ietf:params:acme:error:"), "the CA's problem detail: {error}");
    let files = server.get(&format!("/api/v1/clusters/{cluster}/files"));
    assert!(!files.to_string().contains("certs/new.pem"), "nothing deployed: {files}");
    let map = server.get_text(&format!("/api/v1/clusters/{cluster}/files/acme/http-01.map"));
    assert!(map.trim().is_empty(), "the token was taken back: {map}");
    assert!(server.latest(cluster).unwrap() > latest);
}

#[test]
fn bad_orders_are_refused_and_eab_is_required_when_the_ca_says_so() {
    let Some((server, _agent, cluster, port, _tls, dir)) = prepared("acme-eab") else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    // A 32-byte HMAC key, base64url as CAs hand it out.
    let hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    let pebble = Pebble::start(&pebble_dir, port, Some(("kid-1", hmac)));
    let (status, refused) = server.try_post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem}));
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("externalAccountRequired"), "{refused}");
    let (status, wrong) = server.try_post(
        "/api/v1/acme/accounts",
        &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem, "eab_kid": "kid-1", "eab_hmac": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    );
    assert_eq!(status, 422, "a wrong HMAC is refused by the CA: {wrong}");
    let account = server.post(
        "/api/v1/acme/accounts",
        &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem, "eab_kid": "kid-1", "eab_hmac": hmac}),
    );
    assert_eq!(account["eab_kid"], json!("kid-1"));
    let (status, _) = server.try_post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory}));
    assert_eq!(status, 422, "the directory's TLS certificate is not trusted without ca_pem");

    let versions = || server.get(&format!("/api/v1/clusters/{cluster}/versions")).as_array().unwrap().len();
    let versions_before = versions();
    let order = |body: Value| server.try_post("/api/v1/acme/certificates", &body);
    let base = json!({"names": ["a.acme.test"], "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "frontends": ["fe"]});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    for (body, words) in [
        (with("names", json!([])), "names"),
        (with("names", json!(["not a name"])), "not a DNS name"),
        (with("names", json!(["*.acme.test"])), "dns-01"),
        (with("challenge", json!("dns-01")), "dns-01"),
        (with("frontends", json!(["nope"])), "nope"),
        (with("frontends", json!([])), "frontends"),
        (with("account_id", json!(1)), "acme account 1"),
        (with("clusters", json!([])), "clusters"),
        (with("key_type", json!("rsa4096")), "rsa4096"),
        (with("path", json!("../escape.pem")), "path"),
        (with("colour", json!("red")), "colour"),
    ] {
        let (status, answer) = order(body.clone());
        assert!(status == 422 || status == 404, "{body}: {status} {answer}");
        assert!(answer.to_string().contains(words), "{body}: {answer}");
    }
    assert_eq!(versions(), versions_before, "refusals make no version");
    let missing = server.get_status("/api/v1/acme/orders/1");
    assert_eq!(missing, 404);
}

/// Two nodes of one cluster, each on its own loopback address (`FLEET_NODE_ADDR` in the shared
/// configuration), and the CA resolving each name to a different node: both names validate
/// only if the key authorisations reached both nodes before the CA was asked.
#[test]
fn an_active_active_pair_answers_whichever_node_the_ca_reaches() {
    let Some((haproxy, fleet, agent_bin)) = prerequisites() else { return };
    if pebble_bins().is_none() {
        return;
    }
    let Some(placeholder) = fleet_tests::self_signed_pem_for("placeholder.test") else { return };
    let nodes = [("node-a", "127.0.0.1"), ("node-b", "127.0.0.2")];
    let dir = temp_dir("acme-pair");
    let server = Server::start(&fleet, &dir.join("data"));
    let mut agents = node_agents(&agent_bin, &haproxy, &server, &dir, &nodes);
    let cluster = server.cluster("acme-pair", &agents[0].config);
    let (port, tls) = (free_port(), free_port());
    let config = format!(
        "global\n    log stderr local0 notice\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind \"${{FLEET_NODE_ADDR}}:{port}\"\n    bind \"${{FLEET_NODE_ADDR}}:{tls}\" ssl crt certs/site.pem\n    \
         http-request return status 200 content-type text/plain string app\n"
    );
    let first = server.commit(cluster, "defaults\n    mode http\n");
    let version = server.commit_files(cluster, &[("haproxy.cfg", "config", config.as_bytes()), ("certs/site.pem", "certificate", &placeholder)]);
    assert!(version > first);
    server.apply(cluster, version);
    for ((name, _), agent) in nodes.iter().zip(agents.iter_mut()) {
        agent.start(Some(&server.enrolment_secret(cluster, name)));
    }
    let both_run = |number: i64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = server.get(&format!("/api/v1/clusters/{cluster}/status"));
            let agents = status["agents"].as_array().cloned().unwrap_or_default();
            if agents.len() == 2 && agents.iter().all(|a| a["applied_version"].as_i64() >= Some(number)) {
                return;
            }
            assert!(Instant::now() < deadline, "both nodes do not run version {number}: {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    both_run(version);

    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start(&pebble_dir, port, None);
    pebble.add_a("b.pair.test", "127.0.0.2");
    let account = server.post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem}));
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": ["a.pair.test", "b.pair.test"], "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "frontends": ["fe"], "path": "certs/site.pem"}),
    );
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agents[0]);
    assert_eq!(order["status"], json!("valid"), "{order:#}\n{}\n{}", agents[0].log(), agents[1].log());
    both_run(server.latest(cluster).unwrap());
    for (_, address) in nodes {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut leaf = served_at(address, tls, "a.pair.test");
        while !leaf.contains("DNS:b.pair.test") {
            assert!(Instant::now() < deadline, "{address} does not serve the issued certificate: {leaf}");
            std::thread::sleep(Duration::from_millis(50));
            leaf = served_at(address, tls, "a.pair.test");
        }
    }
}

/// Renewal end to end: an issued certificate is tracked, and when a third of its lifetime is
/// left (pebble issues 30-second certificates here) the server's renewal scheduler orders the
/// next one through the same path, and the node swaps it in without a reload.
#[test]
fn the_scheduler_renews_an_issued_certificate_through_the_nodes() {
    let Some((server, agent, cluster, port, tls, dir)) = prepared_with("acme-renew", &["--renewal-interval-seconds", "1"]) else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start_with(&pebble_dir, port, None, Some(30));
    let account = server.post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem}));
    let accepted = server.post(
        "/api/v1/acme/certificates",
        &json!({"names": ["renew.acme.test"], "account_id": account["id"], "challenge": "http-01", "clusters": [cluster], "frontends": ["fe"], "path": "certs/site.pem"}),
    );
    let order = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    assert_eq!(order["status"], json!("valid"), "{order:#}");
    let certificate_id = order["certificate_id"].as_i64().unwrap();
    let renewal = server.get(&format!("/api/v1/certificates/{certificate_id}/renewal"));
    assert_eq!(renewal["plan"]["source"], json!("lifetime"), "tracked for renewal: {renewal}");
    server.wait_status(cluster, "the certificate applied", |a| a["applied_version"] == json!(server.latest(cluster)));
    let first = served(tls, "renew.acme.test");
    assert!(first.contains("DNS:renew.acme.test"), "{first}");
    let reloads = agent.reloads();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut now = served(tls, "renew.acme.test");
    while now.lines().next() == first.lines().next() {
        assert!(Instant::now() < deadline, "not renewed: {}", server.get(&format!("/api/v1/certificates/{certificate_id}/renewal")));
        std::thread::sleep(Duration::from_millis(200));
        now = served(tls, "renew.acme.test");
    }
    assert!(now.contains("DNS:renew.acme.test"), "{now}");
    assert_eq!(agent.reloads(), reloads, "the renewal went in at runtime");
}

/// DNS-01 against a real BIND 9 with TSIG: pebble resolves through that BIND, the server puts
/// `_acme-challenge` TXT records into the zone by RFC 2136 (provider picked by zone), waits
/// until the zone's authoritative server serves them, and removes them afterwards. A wildcard
/// and its base name share one RRset; the node then serves the wildcard certificate.
#[test]
fn dns01_through_bind_issues_a_wildcard_and_removes_the_records() {
    let Some((server, agent, cluster, port, tls, dir)) = prepared("acme-dns01") else { return };
    let Some(named) = fleet_tests::Named::start("fleet-test.example") else { return };
    let pebble_dir = dir.join("pebble");
    std::fs::create_dir_all(&pebble_dir).unwrap();
    let pebble = Pebble::start_dns(&pebble_dir, port, named.addr);
    let account = server.post("/api/v1/acme/accounts", &json!({"directory_url": pebble.directory, "contact": [], "ca_pem": pebble.ca_pem}));
    let names = json!(["fleet-test.example", "*.fleet-test.example"]);
    let order = json!({"names": names, "account_id": account["id"], "challenge": "dns-01", "clusters": [cluster], "path": "certs/site.pem"});
    let (status, refused) = server.try_post("/api/v1/acme/certificates", &order);
    assert_eq!(status, 422, "no provider holds the zone yet: {refused}");
    assert!(refused.to_string().contains("no dns provider holds _acme-challenge.fleet-test.example"), "{refused}");
    let provider = server.post(
        "/api/v1/dns-providers",
        &json!({"name": "bind", "kind": "rfc2136", "server": named.addr.to_string(), "zone": "fleet-test.example",
                "tsig_key_name": fleet_tests::NAMED_KEY_NAME, "tsig_algorithm": "hmac-sha256", "tsig_secret": named.secret}),
    );
    assert!(provider["id"].as_i64().is_some(), "{provider}");
    let before = agent.reloads();
    let accepted = server.post("/api/v1/acme/certificates", &order);
    let done = wait_order(&server, accepted["id"].as_i64().unwrap(), &agent);
    assert_eq!(done["status"], json!("valid"), "{done:#}\nnamed:\n{}", named.log());
    let events: Vec<&str> = done["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(events.iter().any(|e| e.contains("TXT _acme-challenge.fleet-test.example published through dns provider bind")), "{events:#?}");
    assert!(events.iter().any(|e| e.contains("the dns-01 records are served") && e.contains("every authoritative server")), "{events:#?}");
    server.wait_status(cluster, "the certificate applied", |a| a["applied_version"] == json!(server.latest(cluster)));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut leaf = served(tls, "www.fleet-test.example");
    while !leaf.contains("Pebble") {
        assert!(Instant::now() < deadline, "the wildcard certificate is not served: {leaf}");
        std::thread::sleep(Duration::from_millis(50));
        leaf = served(tls, "www.fleet-test.example");
    }
    assert!(leaf.contains("DNS:*.fleet-test.example") && leaf.contains("DNS:fleet-test.example"), "{leaf}");
    assert_eq!(agent.reloads(), before, "a certificate swap needs no reload");
    if let Some(left) = named.dig("_acme-challenge.fleet-test.example", "TXT") {
        assert!(left.is_empty(), "the TXT records were taken back: {left:?}");
    }
}
