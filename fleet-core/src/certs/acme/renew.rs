//! The ACME side of renewal: [`AcmeDriver`] is the renewal scheduler's
//! [`OrderStarter`](crate::certs::renewal::OrderStarter), and certificates it issues are tracked
//! for renewal.
//!
//! ```text
//! RenewalScheduler (lease on the names) --renew(attempt)--> an order like the first one:
//!   the certificate's names, its account, the challenge (and key type) of the order that last
//!   issued it, the clusters it is deployed in (with http-01: those that carry the challenge rule), its first path, certificate_id = it (a new revision, rolled out where it
//!   is used), `replaces` = its ARI CertID (dropped when the CA has no renewalInfo)
//!   -> the driver's loop runs it like any order -> the new leaf's DER, or the order's error
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use super::driver::AcmeDriver;
use super::{http01, ChallengeKind, NewOrder, OrderStatus};
use crate::certs::renewal::scheduler::BoxFuture;
use crate::certs::renewal::{OrderStarter, RenewalAttempt};
use crate::error::{Error, Result};

/// How long a renewal waits for its order.
const ORDER_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl OrderStarter for AcmeDriver {
    fn renew<'a>(&'a self, attempt: &'a RenewalAttempt) -> BoxFuture<'a, std::result::Result<Vec<u8>, String>> {
        Box::pin(async move { self.renew_now(attempt).await.map_err(|e| e.to_string()) })
    }

    fn ca_pem(&self, account_id: Option<i64>) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let id = account_id?;
            self.store().acme_account_ca_pem(id).await.ok().flatten()
        })
    }
}

impl AcmeDriver {
    /// Orders the renewal of `attempt.certificate_id` and waits for it (see the module docs).
    async fn renew_now(&self, attempt: &RenewalAttempt) -> Result<Vec<u8>> {
        let store = self.store();
        let account_id = attempt.account_id.ok_or_else(|| Error::invalid("no acme account to renew with"))?;
        let deployments = store.deployments(attempt.certificate_id).await?;
        let path = deployments
            .first()
            .map(|d| d.path.to_string())
            .ok_or_else(|| Error::invalid(format!("certificate {} is deployed nowhere: nothing answers the challenge", attempt.certificate_id)))?;
        // Proven as the last issuance was: a DNS-01 certificate (a wildcard, or names no node
        // answers for) renews through its DNS provider, every other one through the nodes.
        let previous = store.last_valid_order_of(attempt.certificate_id).await?;
        let (challenge, dns_provider_id) = match &previous {
            Some(order) if order.challenge == ChallengeKind::Dns01 => (ChallengeKind::Dns01, order.dns_provider_id),
            _ => (ChallengeKind::Http01, None),
        };
        let mut clusters = BTreeSet::new();
        for deployment in &deployments {
            let Some(latest) = store.latest_version(deployment.cluster_id).await? else { continue };
            if challenge == ChallengeKind::Dns01
                || !http01::frontends_with_rule(store.parsed_text(&latest.text).await?.document()).is_empty()
            {
                clusters.insert(deployment.cluster_id);
            }
        }
        if clusters.is_empty() {
            return Err(Error::invalid(format!("no cluster using certificate {} carries the acme challenge rule", attempt.certificate_id)));
        }
        let request = NewOrder {
            names: attempt.names.clone(),
            account_id,
            challenge,
            clusters: clusters.into_iter().collect(),
            frontends: Vec::new(),
            certificate_id: Some(attempt.certificate_id),
            path: Some(path),
            key_type: previous.map(|o| o.key_type).unwrap_or_default(),
            auto_apply: true,
            dns_provider_id,
        };
        let order = store.create_acme_order(&format!("renewal:{}", attempt.holder), &request).await?;
        store.link_renewal_order(attempt, order.id).await?;
        self.wake();
        let deadline = tokio::time::Instant::now() + ORDER_TIMEOUT;
        let finished = loop {
            let current = store.acme_order(order.id).await?;
            if current.status.is_final() {
                break current;
            }
            if tokio::time::Instant::now() >= deadline {
                break current;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        match finished.status {
            OrderStatus::Valid => finished
                .certificate_pem
                .as_deref()
                .and_then(crate::certs::pem_certificate_der)
                .ok_or_else(|| Error::Corrupt(format!("acme order {} is valid without a certificate", order.id))),
            OrderStatus::Invalid => Err(Error::invalid(format!("acme order {}: {}", order.id, finished.error.unwrap_or_default()))),
            status => Err(Error::invalid(format!("acme order {} still {} after {} min", order.id, status.as_str(), ORDER_TIMEOUT.as_secs() / 60))),
        }
    }
}
