//! `fleet serve` bundle routes: a managed tree imported as tar, files listed, read, written and
//! deleted (direct versions and staged in transactions), private keys never returned, the
//! version downloaded as tar, diffs listing files.

use fleet_core::bundle::{tar, Bundle, BundleFile, BundlePath, FileKind};
use reqwest::Method;
use serde_json::Value;

use crate::serve_support::{start, Db, Server};

const CONFIG: &str = "global\n    maxconn 100\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
frontend web\n    bind 127.0.0.1:18443\n    http-request set-header X-Host %[req.hdr(host),map_str(/etc/haproxy/maps/hosts.map,none)]\n    default_backend app\n";
const BACKENDS: &str = "backend app\n    server s1 127.0.0.1:8080\n";
const KEY_PEM: &str = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n";

crate::serve_tests!(tar_import_files_and_download, file_writes_follow_the_config_rules, bundle_downloads_any_version);

fn p(s: &str) -> BundlePath {
    BundlePath::new(s).unwrap()
}

fn tree() -> Bundle {
    Bundle::new(vec![
        BundleFile::new(p("haproxy.cfg"), FileKind::Config, CONFIG.as_bytes().to_vec()),
        BundleFile::new(p("conf.d/app.cfg"), FileKind::Config, BACKENDS.as_bytes().to_vec()),
        BundleFile::new(p("maps/hosts.map"), FileKind::Map, b"a.example.com app\n".to_vec()),
        BundleFile::new(p("certs/site.pem"), FileKind::Certificate, KEY_PEM.as_bytes().to_vec()),
    ])
    .unwrap()
}

async fn import_tree(s: &Server, token: &str, id: i64) -> Value {
    let archive = tar::write_tar(tree().files(), 0).unwrap();
    let request = s
        .request(Method::POST, &format!("/api/v1/clusters/{id}/import?configs=haproxy.cfg,conf.d&message=tree"), Some(token))
        .header("content-type", "application/x-tar")
        .body(archive);
    s.send(request).await.expect(201)
}

async fn tar_import_files_and_download(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    let committed = import_tree(&s, &admin, id).await;
    assert_eq!(committed["version"], 1);
    assert_eq!(committed["digest"], tree().digest());

    let listing = s.get(&format!("/api/v1/clusters/{id}/files"), &admin).await.expect(200);
    let files: Vec<(String, String, bool)> = listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().into(), f["kind"].as_str().unwrap().into(), f["private_key"].as_bool().unwrap()))
        .collect();
    let expected = [("haproxy.cfg", "config", false), ("conf.d/app.cfg", "config", false), ("certs/site.pem", "certificate", true), ("maps/hosts.map", "map", false)];
    assert_eq!(files, expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c)));

    // Text reads with and without encoded slashes; the single-file API reads the first config.
    let map = s.get(&format!("/api/v1/clusters/{id}/files/maps/hosts.map"), &admin).await;
    assert_eq!((map.status.as_u16(), map.text.as_str()), (200, "a.example.com app\n"));
    let encoded = s.get(&format!("/api/v1/clusters/{id}/files/conf.d%2Fapp.cfg?version=1"), &admin).await;
    assert_eq!((encoded.status.as_u16(), encoded.text.as_str()), (200, BACKENDS));
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/config"), &admin).await.text, CONFIG);

    // Private keys never leave through user routes.
    let key = s.get(&format!("/api/v1/clusters/{id}/files/certs/site.pem"), &admin).await;
    assert_eq!(key.status, 403, "{}", key.text);
    assert!(!key.text.contains("c2VjcmV0"));
    let response = s.request(Method::GET, &format!("/api/v1/clusters/{id}/bundle"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-fleet-withheld"], "certs/site.pem");
    let archive = response.bytes().await.unwrap();
    let back = tar::read_tar(&archive, &[p("haproxy.cfg"), p("conf.d")]).unwrap();
    let expected: Vec<_> = tree().files().iter().filter(|f| !f.holds_private_key()).cloned().collect();
    assert_eq!(back.files(), expected.as_slice());
    let missing = s.get(&format!("/api/v1/clusters/{id}/files/nope.map"), &admin).await;
    assert_eq!(missing.status, 404);

    // A tree that leaves the managed directory is refused whole.
    let mut evil = tar::write_tar(tree().files(), 0).unwrap();
    evil.truncate(evil.len() - 1024);
    let mut header = ::tar::Header::new_gnu();
    header.set_entry_type(::tar::EntryType::Symlink);
    header.set_size(0);
    let mut extra = ::tar::Builder::new(Vec::new());
    extra.append_link(&mut header, "certs/other.pem", "../../etc/shadow").unwrap();
    evil.extend(extra.into_inner().unwrap());
    let request = s
        .request(Method::POST, &format!("/api/v1/clusters/{id}/import"), Some(&admin))
        .header("content-type", "application/x-tar")
        .body(evil);
    let refused = s.send(request).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("leaves the managed directory"), "{}", refused.text);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/versions"), &admin).await.json().as_array().unwrap().len(), 1);
}

/// `GET /clusters/{id}/bundle?version=N`: the files of version N, not the latest; named for it.
async fn bundle_downloads_any_version(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "history").await;
    assert_eq!(import_tree(&s, &admin, id).await["version"], 1);
    let mut files = tree().into_files();
    let map_file = files.iter_mut().find(|f| f.path == p("maps/hosts.map")).unwrap();
    map_file.content = b"a.example.com app\nb.example.com app\n".to_vec();
    let request = s
        .request(Method::POST, &format!("/api/v1/clusters/{id}/import?configs=haproxy.cfg,conf.d&message=two"), Some(&admin))
        .header("content-type", "application/x-tar")
        .body(tar::write_tar(&files, 0).unwrap());
    assert_eq!(s.send(request).await.expect(201)["version"], 2);

    let download = |query: &'static str| {
        let request = s.request(Method::GET, &format!("/api/v1/clusters/{id}/bundle{query}"), Some(&admin));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let name = response.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_string());
            (status, name, response.bytes().await.unwrap())
        }
    };
    let map = |archive: &[u8]| {
        let bundle = tar::read_tar(archive, &[p("haproxy.cfg"), p("conf.d")]).unwrap();
        String::from_utf8(bundle.file(&p("maps/hosts.map")).unwrap().content.clone()).unwrap()
    };
    let (status, name, one) = download("?version=1").await;
    assert_eq!((status, name.as_deref()), (200, Some(format!("attachment; filename=\"cluster-{id}-v1.tar\"").as_str())));
    assert_eq!(map(&one), "a.example.com app\n");
    let (status, name, two) = download("?version=2").await;
    assert_eq!((status, name.as_deref()), (200, Some(format!("attachment; filename=\"cluster-{id}-v2.tar\"").as_str())));
    assert_eq!(map(&two), "a.example.com app\nb.example.com app\n");
    assert_eq!(download("").await.2, two, "the latest by default, byte for byte");
    assert_eq!(download("?version=2").await.2, two, "the same version gives the same bytes");
    assert_eq!(download("?version=3").await.0, 404);
    assert_eq!(download("?version=x").await.0, 400);
}

async fn file_writes_follow_the_config_rules(db: Db) {
    let Some(s) = start(db).await else { return };
    let admin = s.admin().await;
    let id = s.cluster(&admin, "edge").await;
    import_tree(&s, &admin, id).await;
    let put = |path: &str, query: &str, body: &'static str| {
        s.request(Method::PUT, &format!("/api/v1/clusters/{id}/files/{path}?{query}"), Some(&admin)).body(body)
    };
    let v2 = s.send(put("maps/hosts.map", "version=1&message=b", "a.example.com app\nb.example.com app\n")).await.expect(200);
    assert_eq!(v2["version"], 2);
    let stale = s.send(put("maps/hosts.map", "version=1", "x y\n")).await;
    assert_eq!(stale.status, 409);
    let no_base = s.send(put("maps/hosts.map", "", "x y\n")).await;
    assert_eq!(no_base.status, 400, "{}", no_base.text);
    let bad_mode = s.send(put("x.acl", "version=2&mode=9z", "10.0.0.0/8\n")).await;
    assert_eq!(bad_mode.status, 422);
    let bad_path = s.send(put("a%2F..%2F..%2Fb", "version=2", "x")).await;
    assert_eq!(bad_path.status, 422, "{}", bad_path.text);

    // Staged in a transaction with typed edits, committed as one version.
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=2"), &admin, Value::Null).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    s.send(put("acl/blocked.acl", &format!("transaction_id={tid}&mode=640"), "192.0.2.0/24\n")).await.expect(200);
    let deleted = s.delete(&format!("/api/v1/clusters/{id}/files/conf.d/app.cfg?transaction_id={tid}"), &admin).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let committed = s.put(&format!("/api/v1/clusters/{id}/transactions/{tid}"), &admin, Value::Null).await;
    // Without conf.d/app.cfg the frontend's default backend is gone: the gate refuses it.
    assert_eq!(committed.status, 422, "{}", committed.text);
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=2"), &admin, Value::Null).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    s.send(put("acl/blocked.acl", &format!("transaction_id={tid}&mode=640"), "192.0.2.0/24\n")).await.expect(200);
    // Reads at a transaction holding file ops see the candidate bundle's first config file.
    let frontends = s.get(&format!("/api/v1/clusters/{id}/frontends?transaction_id={tid}"), &admin).await.expect(200);
    assert_eq!(frontends, s.get(&format!("/api/v1/clusters/{id}/frontends?version=2"), &admin).await.expect(200));
    s.put(&format!("/api/v1/clusters/{id}/transactions/{tid}"), &admin, Value::Null).await.expect(200);
    // A put over the first config file in a transaction is what its proxies read.
    let tx = s.post(&format!("/api/v1/clusters/{id}/transactions?version=3"), &admin, Value::Null).await.expect(201);
    let tid = tx["id"].as_i64().unwrap();
    let replaced = format!("{CONFIG}\nbackend extra\n    server x 127.0.0.1:1\n");
    s.send(s.request(Method::PUT, &format!("/api/v1/clusters/{id}/files/haproxy.cfg?transaction_id={tid}"), Some(&admin)).body(replaced))
        .await
        .expect(200);
    let extra = s.get(&format!("/api/v1/clusters/{id}/backends/extra?transaction_id={tid}"), &admin).await;
    assert_eq!(extra.status, 200, "{}", extra.text);
    s.delete(&format!("/api/v1/clusters/{id}/transactions/{tid}"), &admin).await.expect(204);

    let diff = s.get(&format!("/api/v1/clusters/{id}/versions/3/diff"), &admin).await.expect(200);
    let changed: Vec<_> = diff["files"].as_array().unwrap().iter().map(|f| (f["path"].clone(), f["change"].clone(), f["mode"].clone())).collect();
    assert_eq!(changed, [(Value::from("acl/blocked.acl"), Value::from("added"), serde_json::json!([null, 0o640]))]);
    let diff2 = s.get(&format!("/api/v1/clusters/{id}/versions/2/diff"), &admin).await.expect(200);
    assert!(diff2["files"][0]["unified"].as_str().unwrap().contains("+b.example.com app\n"), "{diff2}");
    assert_eq!(diff2["unified"], "", "the first config file did not change");

    // Deleting directly, and a viewer may not write.
    s.delete(&format!("/api/v1/clusters/{id}/files/acl/blocked.acl?version=3"), &admin).await.expect(200);
    assert_eq!(s.get(&format!("/api/v1/clusters/{id}/files"), &admin).await.json()["files"].as_array().unwrap().len(), 4);
    s.post("/api/v1/users", &admin, serde_json::json!({"username": "viewer", "password": "viewer-password-long", "role": "viewer"})).await.expect(201);
    let viewer = s.login("viewer", "viewer-password-long").await;
    let forbidden = s.send(s.request(Method::PUT, &format!("/api/v1/clusters/{id}/files/x.map?version=4"), Some(&viewer)).body("k v\n")).await;
    assert_eq!(forbidden.status, 403);
}
