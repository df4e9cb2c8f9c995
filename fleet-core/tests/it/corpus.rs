//! Every valid HAProxy file of the conformance corpus imports and reads back byte for byte.

use crate::support::{corpus_dir, Harness};

crate::store_tests!(every_valid_corpus_file_imports_and_reads_back_byte_for_byte);

async fn every_valid_corpus_file_imports_and_reads_back_byte_for_byte(h: Harness) {
    let Some(corpus) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    let pool = h.store.create_pool("admin", "corpus", "").await.unwrap();
    let id = h.store.create_cluster("admin", "corpus", pool.id, Default::default()).await.unwrap().id;
    // Real configurations chroot, set users and open stats sockets: an admin of a cluster that
    // allows every privileged directive imports them.
    let admin = fleet_core::Actor::new("importer", fleet_core::Role::Admin);
    let settings = fleet_core::ClusterSettings {
        allowed_privileges: fleet_core::auth::privileged::Privilege::all().collect(),
        ..Default::default()
    };
    h.store.update_cluster_settings(admin, id, settings).await.unwrap();
    let mut rejected = Vec::new();
    let mut imported = 0;
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns.get(1) != Some(&"haproxy") || columns.get(2) != Some(&"valid") {
            continue;
        }
        let text = std::fs::read_to_string(corpus.join(columns[0])).unwrap();
        match h.store.import(admin, id, &text, columns[0]).await {
            Ok(committed) => {
                let back = h.store.version(id, committed.version.number).await.unwrap();
                assert_eq!(back.text, text, "{} changed in the database", columns[0]);
                imported += 1;
            }
            Err(e) => rejected.push(format!("{}: {e}", columns[0])),
        }
    }
    assert!(rejected.is_empty(), "valid files rejected on import: {rejected:#?}");
    assert!(imported > 100, "only {imported} valid files found");
    eprintln!("imported and read back {imported} corpus files");
}
