//! `fleet serve` renewal status: a certificate the ACME path keeps renewed (tracked here through
//! a second `Store` on the server's PostgreSQL database, as another replica's order driver
//! would) shows its next renewal in `GET /certificates/{id}/renewal`, in the certificate's
//! status and in `GET /acme/renewals`; a certificate uploaded by hand has none (404, null).

use fleet_core::certs::pem_certificate_der;
use fleet_core::certs::renewal::TrackRenewal;
use fleet_core::{Store, StoreOptions};
use fleet_tests::pki::TestPki;
use serde_json::json;

use crate::serve_support::{start, Db};

const DAY: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_status_over_the_api() {
    let Some(s) = start(Db::Postgres).await else { return };
    let admin = s.admin().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let pki = TestPki::new("Renewal", now - 10 * DAY, now + 400 * DAY);
    let leaf = pki.acme_leaf(&["renew.example.test"], now - DAY, now + 5 * DAY, &[0x87, 0x65, 0x43, 0x21]);
    let chain = format!("{}{}", leaf.cert_pem, pki.chain_pem());
    let body = json!({"name": "renew", "certificate": chain, "private_key": leaf.key_pem});
    let id = s.post("/api/v1/certificates", &admin, body).await.expect(201)["id"].as_i64().unwrap();

    // Uploaded by hand: not kept renewed.
    assert_eq!(s.get(&format!("/api/v1/certificates/{id}/renewal"), &admin).await.status, 404);
    assert_eq!(s.get(&format!("/api/v1/certificates/{id}/status"), &admin).await.expect(200)["renewal"], json!(null));
    assert_eq!(s.get("/api/v1/acme/renewals", &admin).await.expect(200), json!([]));

    let replica = Store::open(s.database.as_deref().unwrap(), StoreOptions::default()).await.unwrap();
    let der = pem_certificate_der(&leaf.cert_pem).unwrap();
    let names = vec!["renew.example.test".to_string()];
    let track = TrackRenewal { certificate_id: id, names: &names, account_id: None, directory_url: None, der: &der };
    replica.track_renewal(&track).await.unwrap();
    replica.close().await;

    // A 6-day certificate renews with 2 days left: 3 days from now.
    let renewal = s.get(&format!("/api/v1/certificates/{id}/renewal"), &admin).await.expect(200);
    assert_eq!(renewal["certificate_id"], json!(id));
    assert_eq!(renewal["plan"]["source"], "lifetime");
    let renew_at = renewal["plan"]["renew_at_ms"].as_i64().unwrap();
    assert_eq!(renew_at, (now - DAY) / 1000 * 1000 + 4 * DAY);
    assert_eq!(renewal["next_attempt_ms"], json!(renew_at));
    assert_eq!(renewal["due"], json!(false));
    assert!(renewal["cert_id"].as_str().unwrap().ends_with(".AIdlQyE"));
    let status = s.get(&format!("/api/v1/certificates/{id}/status"), &admin).await.expect(200);
    assert_eq!(status["renewal"]["plan"]["renew_at_ms"], json!(renew_at));
    let list = s.get("/api/v1/acme/renewals", &admin).await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(s.get("/api/v1/certificates/987654321/renewal", &admin).await.status, 404);
}
