//! The gate on bundles (issue 11): config files checked as one configuration, and every file
//! they reference either in the bundle or declared as provided by the nodes (`external`),
//! refused at import and at commit with the `file:line:col` of the reference.

use std::sync::Arc;

use fleet_core::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::haproxy_check::HaproxyChecker;
use fleet_core::secrets::{Keyring, MasterKey};
use fleet_core::{Actor, ClusterSettings, EditOp, Error, ManualClock, OsRandom, Role, Store, StoreOptions};

use crate::support::{options, Harness, TempDir, T0};

const ADMIN: Actor<'static> = Actor { name: "admin", role: Role::Admin };

/// The main file: a certificate (relative to `crt-base`), a map in `map_str()`, an error page
/// and an ACL pattern file; `default_backend api` is defined by the second file.
const MAIN: &str = "global\n    crt-base /etc/haproxy/certs\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18443 ssl crt site.pem\n    http-request set-header x-app %[req.hdr(host),lower,map_str(maps/hosts.map,none)]\n    errorfile 503 errors/503.http\n    acl blocked src -f /etc/haproxy/acl/blocked.lst\n    http-request deny if blocked\n    default_backend api\n";

const API: &str = "backend api\n    server a1 127.0.0.1:8081\n";

fn file(path: &str, kind: FileKind, content: &[u8]) -> BundleFile {
    BundleFile::new(BundlePath::new(path).unwrap(), kind, content.to_vec())
}

fn configs() -> Vec<BundleFile> {
    vec![file("haproxy.cfg", FileKind::Config, MAIN.as_bytes()), file("conf.d/api.cfg", FileKind::Config, API.as_bytes())]
}

fn complete() -> Bundle {
    let mut files = configs();
    files.extend([
        file("certs/site.pem", FileKind::Certificate, b"-----BEGIN CERTIFICATE-----\n"),
        file("maps/hosts.map", FileKind::Map, b"a.example.com app\n"),
        file("errors/503.http", FileKind::Errorfile, b"HTTP/1.0 503 Service Unavailable\r\n\r\n"),
        file("acl/blocked.lst", FileKind::Acl, b"192.0.2.1\n"),
    ]);
    Bundle::new(files).unwrap()
}

async fn cluster(h: &Harness) -> i64 {
    let pool = h.store.create_pool("admin", "p", "").await.unwrap();
    h.store.create_cluster("admin", "c", pool.id, ClusterSettings::default()).await.unwrap().id
}

/// `file:line:col` of every error.
fn places(error: &Error) -> Vec<String> {
    let Error::Invalid { diagnostics, .. } = error else { panic!("not a refusal: {error}") };
    diagnostics.iter().filter(|d| d.is_error()).map(|d| d.display_with_path("?").to_string()).collect()
}

crate::store_tests!(
    missing_references_are_refused_where_they_are_written,
    a_backend_of_another_file_is_found,
    an_agent_adopts_only_a_first_version_through_the_same_gate
);

async fn missing_references_are_refused_where_they_are_written(h: Harness) {
    let id = cluster(&h).await;
    let bare = Bundle::new(configs()).unwrap();
    let error = h.store.import_bundle(ADMIN, id, &bare, "").await.unwrap_err();
    let found = places(&error);
    let at: Vec<&str> = found.iter().map(|p| p.split(": error: ").next().unwrap()).collect();
    assert_eq!(at, ["haproxy.cfg:11:34", "haproxy.cfg:12:65", "haproxy.cfg:13:19", "haproxy.cfg:14:24"], "{found:#?}");
    assert!(found[0].ends_with("crt: certs/site.pem is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)"), "{found:?}");
    assert!(found[1].contains("map_str: maps/hosts.map") && found[2].contains("errorfile: errors/503.http") && found[3].contains("-f: acl/blocked.lst"));
    let Error::Invalid { message, .. } = &error else { unreachable!() };
    assert!(message.starts_with("configuration has 4 errors; first at haproxy.cfg:11:34: crt: "), "{message}");
    assert!(h.store.latest_version(id).await.unwrap().is_none(), "nothing written");

    // Complete, it imports; dropping the map afterwards is refused at commit too.
    assert_eq!(h.store.import_bundle(ADMIN, id, &complete(), "").await.unwrap().version.number, 1);
    let map = BundlePath::new("maps/hosts.map").unwrap();
    let error = h.store.delete_file(ADMIN, id, Some(1), &map, "").await.unwrap_err();
    assert_eq!(places(&error).len(), 1, "{error}");
    let tx = h.store.begin("admin", id, 1).await.unwrap();
    let text = MAIN.replace("errors/503.http", "errors/504.http");
    h.store.stage("admin", tx.id, vec![EditOp::ReplaceText { text }]).await.unwrap();
    let error = h.store.commit(ADMIN, tx.id, "").await.unwrap_err();
    assert!(places(&error)[0].starts_with("haproxy.cfg:13:19: error: errorfile: errors/504.http is not in the bundle"), "{error}");

    // Declared as provided by the nodes, the same files need not be in the bundle.
    let settings = ClusterSettings {
        external: vec!["certs/site.pem".into(), "/etc/haproxy/maps".into(), "errors/503.http".into(), "/etc/haproxy/acl/blocked.lst".into()],
        ..ClusterSettings::default()
    };
    h.store.update_cluster_settings(ADMIN, id, settings).await.unwrap();
    assert_eq!(h.store.import_bundle(ADMIN, id, &bare, "").await.unwrap().version.number, 2);
}

async fn a_backend_of_another_file_is_found(h: Harness) {
    let id = cluster(&h).await;
    let committed = h.store.import_bundle(ADMIN, id, &complete(), "").await.unwrap();
    assert!(committed.warnings.iter().all(|d| !d.is_error()), "{:?}", committed.warnings);
    // Without the second file the backend is missing, in the first file at its line.
    let alone = complete().without_file(&BundlePath::new("conf.d/api.cfg").unwrap()).unwrap().unwrap();
    let error = h.store.import_bundle(ADMIN, id, &alone, "").await.unwrap_err();
    assert_eq!(places(&error), ["haproxy.cfg:16:21: error: no backend named 'api' (needed by default_backend)"]);
    // One name in two files: an error naming both places.
    let mut files = complete().into_files();
    files.push(file("conf.d/again.cfg", FileKind::Config, b"\nbackend api\n    server a2 127.0.0.1:8082\n"));
    let error = h.store.import_bundle(ADMIN, id, &Bundle::new(files).unwrap(), "").await.unwrap_err();
    assert_eq!(
        places(&error),
        ["conf.d/again.cfg:2:9: error: backend 'api' has the same name as the backend declared at conf.d/api.cfg:1"]
    );
}

/// `fleet-agent --adopt`: the node's tree becomes version 1, authored by the agent, through the
/// gate a user's import passes (references, privileged directives); then never again.
async fn an_agent_adopts_only_a_first_version_through_the_same_gate(h: Harness) {
    let id = cluster(&h).await;
    let (_, secret) = h.store.create_enrolment("admin", id, "edge1", vec![], 60_000).await.unwrap();
    let (agent, _) = h.store.enrol(&secret, None, "edge1.example", serde_json::json!({})).await.unwrap();
    let agent = fleet_core::AgentPrincipal::from(&agent);

    // A missing reference is refused at its place, nothing written.
    let error = h.store.adopt(&agent, &Bundle::new(configs()).unwrap(), "").await.unwrap_err();
    assert_eq!(places(&error)[0].split(": error: ").next(), Some("haproxy.cfg:11:34"), "{error}");
    // A privileged directive needs an admin's import: the agent acts as an operator.
    let mut files = complete().into_files();
    files[0] = file("haproxy.cfg", FileKind::Config, format!("{MAIN}
program p
    command /bin/true
").as_bytes());
    let error = h.store.adopt(&agent, &Bundle::new(files).unwrap(), "").await.unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)), "{error}");
    assert!(h.store.latest_version(id).await.unwrap().is_none(), "nothing written");

    let adopted = h.store.adopt(&agent, &complete(), "").await.unwrap().version;
    assert_eq!((adopted.number, adopted.author.as_str(), adopted.message.as_str()), (1, "agent:edge1", "adopted from edge1.example"));
    let entry = h.store.audit_log(Some(id), 10).await.unwrap().into_iter().find(|e| e.action == "version.adopt").unwrap();
    assert_eq!((entry.actor.as_str(), entry.version), ("agent:edge1", Some(1)));

    // Once the cluster has a version, adoption is a conflict that names it.
    let error = h.store.adopt(&agent, &complete(), "again").await.unwrap_err();
    assert!(matches!(&error, Error::Conflict(m) if m.starts_with(&format!("cluster {id} already has version 1: "))), "{error}");
    assert_eq!(h.store.latest_version(id).await.unwrap().unwrap().info.number, 1);
}

/// With `haproxy -c` configured its verdict on the materialised bundle decides: a certificate
/// named relatively (`crt certs/x.pem`) is found in the bundle, and a reference the offline
/// check refuses (an error page outside the managed directory, not declared) is accepted when
/// HAProxy finds it.
#[tokio::test]
async fn haproxy_checks_the_bundle_where_it_is_materialised() {
    let Some(bin) = fleet_tests::haproxy_check_bin() else { return };
    let Some(pem) = fleet_tests::self_signed_pem() else { return };
    let dir = TempDir::new();
    let page = dir.path().join("503.http");
    std::fs::write(&page, "HTTP/1.0 503 Service Unavailable\r\n\r\n").unwrap();
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let store_options = StoreOptions { haproxy: Some(HaproxyChecker::new(&bin)), ..options(Arc::new(ManualClock::new(T0)), 1) };
    let store = Store::open(&url, store_options).await.unwrap();
    // certs/x.pem holds its private key: the store seals it with its ring.
    store.use_keyring(Keyring::new(MasterKey::generate(&OsRandom).unwrap()));
    let pool = store.create_pool("admin", "p", "").await.unwrap();
    let id = store.create_cluster("admin", "c", pool.id, ClusterSettings::default()).await.unwrap().id;
    let main = format!(
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18445 ssl crt certs/x.pem\n    errorfile 503 {}\n    default_backend api\n",
        page.display()
    );
    let bundle = |with_cert: bool| {
        let mut files = vec![file("haproxy.cfg", FileKind::Config, main.as_bytes()), file("conf.d/api.cfg", FileKind::Config, API.as_bytes())];
        if with_cert {
            files.push(file("certs/x.pem", FileKind::Certificate, &pem));
        }
        Bundle::new(files).unwrap()
    };
    let committed = store.import_bundle(ADMIN, id, &bundle(true), "").await.unwrap();
    let warning = committed.warnings.iter().find(|d| d.message.starts_with("errorfile: ")).unwrap();
    assert!(warning.message.ends_with("(haproxy -c accepts the configuration)"), "{warning:?}");
    assert_eq!((warning.file.as_deref(), warning.position.line), (Some("haproxy.cfg"), 9));
    // Without the certificate HAProxy refuses too, at the `crt` line of the bundle's file.
    let error = store.import_bundle(ADMIN, id, &bundle(false), "").await.unwrap_err();
    let Error::Invalid { message, diagnostics } = &error else { panic!("{error}") };
    assert!(message.starts_with("haproxy -c rejected the configuration: first at haproxy.cfg:8:"), "{message}");
    assert!(diagnostics.iter().any(|d| d.is_error() && d.message.starts_with("haproxy: ") && d.file.as_deref() == Some("haproxy.cfg")), "{diagnostics:?}");
    assert!(!message.contains("fleet-haproxy-check"), "the temporary folder is not shown: {message}");
    store.close().await;
}

/// The files a crt-list names, judged as `haproxy -c` 2.6 judges them: certificates relative
/// to the `crt-base` of the `bind` line and `ca-file`/`crl-file` options relative to its
/// `ca-base`, a missing one refused at the crt-list's line and column, a multi-cert bundle
/// (`b.pem.rsa` for `b.pem`) accepted, an absolute path into the managed directory found in the
/// bundle (HAProxy's check runs on the bundle's copy of the crt-list). Offline check and HAProxy
/// agree.
#[test]
fn crt_list_entries_agree_with_haproxy() {
    use fleet_core::candidate::{check_bundle, haproxy_check_bundle};
    let Some(bin) = fleet_tests::haproxy_check_bin() else { return };
    let Some(pem) = fleet_tests::self_signed_pem() else { return };
    let checker = HaproxyChecker::new(&bin);
    let main = "global\n    crt-base certs\n    ca-base cas\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:18446 ssl crt-list lists/sites.txt\n    default_backend api\n";
    let plain = "# sites\na.pem !*\n    b.pem [alpn h2] b.example.com\n/etc/haproxy/certs/a.pem a2.example.com\n";
    let with_ca = "# sites\na.pem !*\n    b.pem [alpn h2 ca-file ca.pem verify optional] b.example.com\n";
    let bundle = |list: &str, others: &[&str]| {
        let mut files = vec![
            file("haproxy.cfg", FileKind::Config, main.as_bytes()),
            file("conf.d/api.cfg", FileKind::Config, API.as_bytes()),
            file("lists/sites.txt", FileKind::CrtList, list.as_bytes()),
            file("certs/a.pem", FileKind::Certificate, &pem),
        ];
        files.extend(others.iter().map(|path| file(path, FileKind::Certificate, &pem)));
        Bundle::new(files).unwrap()
    };
    let cases = [
        (plain, &["certs/b.pem"][..], None),
        (plain, &["certs/b.pem.rsa"][..], None),
        (plain, &["certs/other.pem"][..], Some(("lists/sites.txt:3:5: error: crt-list entry: certs/b.pem", "unable to stat SSL certificate from file 'certs/b.pem'"))),
        (with_ca, &["certs/b.pem", "cas/ca.pem"][..], None),
        (with_ca, &["certs/b.pem"][..], Some(("lists/sites.txt:3:28: error: ca-file: cas/ca.pem", "unable to load cas/ca.pem"))),
    ];
    let settings = ClusterSettings::default();
    for (list, others, refused) in cases {
        let b = bundle(list, others);
        let offline: Vec<String> = check_bundle(&b, &settings).iter().filter(|d| d.is_error()).map(|d| d.display_with_path("?").to_string()).collect();
        let verdict = haproxy_check_bundle(&b, &settings, &checker).unwrap();
        let case = format!("list {list:?} with {others:?}");
        assert_eq!(verdict.accepted, refused.is_none(), "haproxy -c, {case}: {}", verdict.output);
        match refused {
            None => assert!(offline.is_empty(), "offline check, {case}: {offline:?}"),
            Some((at, haproxy)) => {
                assert!(verdict.output.contains(haproxy), "{}", verdict.output);
                assert_eq!(offline.len(), 1, "{offline:?}");
                assert!(offline[0].starts_with(at) && offline[0].ends_with(" is not in the bundle (add the file, or list it in the cluster's external files if the nodes provide it)"), "{offline:?}");
            }
        }
    }
}
