//! Sealed secrets in the store and the master key around them (`fleet_core::secrets`): the key
//! file is created once and never replaced by a new key while secrets need the old one, a wrong
//! key is refused at once, and rotation reseals every row so the old key opens none of them.

use fleet_core::secrets::{KeyFile, Keyring, MasterKey, Purpose};
use fleet_core::{Error, OsRandom, StoredSecret};

use crate::support::Harness;

crate::store_tests!(key_file_is_created_once_and_a_wrong_key_is_refused, rotation_reseals_every_secret);

fn key_file(name: &str) -> (std::path::PathBuf, KeyFile) {
    let dir = std::env::temp_dir().join(format!("fleet-sealed-{name}-{}-{}", std::process::id(), fleet_tests::unique_name("")));
    (dir.clone(), KeyFile::new(dir.join("secret.key")))
}

async fn store_ca(h: &Harness, ring: &Keyring) -> StoredSecret {
    let sealed = ring.seal(&Purpose::tls_ca_key(), b"ca private key", &OsRandom).unwrap();
    let secret = StoredSecret { name: "tls/ca".into(), purpose: Purpose::tls_ca_key(), public: Some("CERT".into()), sealed };
    h.store.insert_sealed_secret(&secret).await.unwrap()
}

async fn key_file_is_created_once_and_a_wrong_key_is_refused(h: Harness) {
    let (dir, file) = key_file("once");
    let ring = h.store.keyring(&file).await.unwrap();
    assert_eq!(file.load().unwrap(), Some(ring.clone()), "created at first start");
    let first = store_ca(&h, &ring).await;
    // A second replica racing to create the CA gets the first one.
    let other = Keyring::new(MasterKey::generate(&OsRandom).unwrap());
    let loser = StoredSecret { sealed: other.seal(&Purpose::tls_ca_key(), b"x", &OsRandom).unwrap(), ..first.clone() };
    assert_eq!(h.store.insert_sealed_secret(&loser).await.unwrap(), first);
    assert_eq!(h.store.keyring(&file).await.unwrap(), ring, "loaded, not re-created");

    // Another key in the file: refused, naming both key ids; the file is left alone.
    let (wrong_dir, wrong) = key_file("wrong");
    wrong.write(&other).unwrap();
    let message = h.store.keyring(&wrong).await.unwrap_err().to_string();
    assert!(
        message.contains(&format!("was sealed with key {}, but the secret key file holds {}", ring.primary().id(), other.primary().id())),
        "{message}"
    );
    assert_eq!(wrong.load().unwrap(), Some(other));

    // No file while secrets exist: refused, and no new key file appears.
    let (missing_dir, missing) = key_file("missing");
    let error = h.store.keyring(&missing).await.unwrap_err();
    assert!(matches!(&error, Error::Crypto(m) if m.contains("is missing but the database holds 1 secret(s)")), "{error}");
    assert!(!missing.path().exists());
    for dir in [dir, wrong_dir, missing_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn rotation_reseals_every_secret(h: Harness) {
    let (dir, file) = key_file("rotate");
    let old = h.store.keyring(&file).await.unwrap();
    store_ca(&h, &old).await;
    let sealed = old.seal(&Purpose::new("acme-account", "prod"), b"credential", &OsRandom).unwrap();
    let acme = StoredSecret { name: "acme/prod".into(), purpose: Purpose::new("acme-account", "prod"), public: None, sealed };
    h.store.insert_sealed_secret(&acme).await.unwrap();

    let (new, count) = h.store.rotate_master_key(&file).await.unwrap();
    assert_eq!(count, 2);
    assert_ne!(new.primary().id(), old.primary().id());
    assert_eq!(file.load().unwrap(), Some(new.clone()), "the file keeps only the new key");
    for secret in h.store.sealed_secrets().await.unwrap() {
        assert_eq!(secret.sealed.key_id().unwrap(), *new.primary().id(), "{}", secret.name);
        assert!(old.open(&secret.purpose, &secret.sealed).is_err(), "the old key no longer opens {}", secret.name);
    }
    let ca = h.store.sealed_secret("tls/ca").await.unwrap().unwrap();
    assert_eq!(new.open(&ca.purpose, &ca.sealed).unwrap(), b"ca private key");
    assert_eq!(ca.public.as_deref(), Some("CERT"));
    assert_eq!(h.store.keyring(&file).await.unwrap(), new, "the server starts with the rotated file");
    let _ = std::fs::remove_dir_all(dir);
}
