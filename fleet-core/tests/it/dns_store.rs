//! DNS providers in the store: the TSIG secret is sealed at rest and never shown; bad input and
//! a taken name write nothing; the stored provider opens with the key ring and changes a real
//! BIND zone; a master-key rotation keeps it usable; delete removes the secret with the row.

use fleet_core::dns::{NewDnsProvider, RecordSet, RecordType};
use fleet_core::secrets::{KeyFile, Keyring};
use fleet_core::Error;
use fleet_tests::{Named, NAMED_KEY_NAME};

use crate::support::Harness;

crate::store_tests!(providers_are_stored_sealed_and_open_with_the_ring);

fn key_file() -> (std::path::PathBuf, KeyFile) {
    let dir = std::env::temp_dir().join(fleet_tests::unique_name("fleet-dns-key-"));
    (dir.clone(), KeyFile::new(dir.join("secret.key")))
}

fn request(name: &str, server: &str, secret: &str) -> NewDnsProvider {
    serde_json::from_value(serde_json::json!({"name": name, "kind": "rfc2136", "server": server, "zone": "fleet-test.example",
        "tsig_key_name": NAMED_KEY_NAME, "tsig_algorithm": "hmac-sha256", "tsig_secret": secret}))
    .unwrap()
}

async fn providers_are_stored_sealed_and_open_with_the_ring(h: Harness) {
    let (dir, file) = key_file();
    let ring: Keyring = h.store.keyring(&file).await.unwrap();
    let named = Named::start("fleet-test.example");
    // Without BIND the store half still runs against an address nothing answers on.
    let (server, secret) = match &named {
        Some(n) => (n.addr.to_string(), n.secret.clone()),
        None => ("127.0.0.1:1".to_string(), "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==".to_string()),
    };

    let info = h.store.create_dns_provider("admin", &ring, &request("bind", &server, &secret)).await.unwrap();
    assert_eq!(info.zone, "fleet-test.example.");
    let shown = serde_json::to_string(&h.store.dns_providers().await.unwrap()).unwrap();
    assert!(shown.contains("\"kind\":\"rfc2136\"") && !shown.contains(&secret), "{shown}");
    assert_eq!(h.store.dns_provider(info.id).await.unwrap(), info);
    let sealed = h.store.sealed_secret(&format!("dns-provider/{}", info.id)).await.unwrap().unwrap();
    assert!(sealed.sealed.as_str().starts_with("fleet-sealed:v1:") && !sealed.sealed.as_str().contains(&secret));

    // A taken name and bad input: refused, nothing more written.
    assert!(matches!(h.store.create_dns_provider("admin", &ring, &request("bind", &server, &secret)).await, Err(Error::Conflict(_))));
    let bad = h.store.create_dns_provider("admin", &ring, &request("other", "ns1.example", &secret)).await.unwrap_err();
    assert!(matches!(&bad, Error::Invalid { message, .. } if message.contains("expected ADDRESS")), "{bad}");
    assert_eq!(h.store.dns_providers().await.unwrap().len(), 1);
    assert_eq!(h.store.sealed_secrets().await.unwrap().len(), 1);

    // The stored provider changes the zone, also after the master key is rotated.
    let (ring, resealed) = h.store.rotate_master_key(&file).await.unwrap();
    assert_eq!(resealed, 1);
    let dns = h.store.open_dns_provider(info.id, &ring).await.unwrap();
    assert_eq!(dns.zone(), "fleet-test.example.");
    if let Some(named) = &named {
        let set = RecordSet { name: "edge.fleet-test.example".into(), record_type: RecordType::A, ttl: 60, values: vec!["192.0.2.7".into()] };
        dns.replace(&set).await.unwrap();
        assert_eq!(named.dig("edge.fleet-test.example", "A").unwrap(), vec!["192.0.2.7"]);
    }

    h.store.delete_dns_provider("admin", info.id).await.unwrap();
    assert!(matches!(h.store.dns_provider(info.id).await, Err(Error::NotFound(_))));
    assert!(matches!(h.store.open_dns_provider(info.id, &ring).await, Err(Error::NotFound(_))));
    assert!(h.store.sealed_secrets().await.unwrap().is_empty(), "the secret went with the provider");
    let actions: Vec<String> = h.store.audit_log(None, 10).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"dns_provider.create".to_string()) && actions.contains(&"dns_provider.delete".to_string()), "{actions:?}");
    let _ = std::fs::remove_dir_all(dir);
}
