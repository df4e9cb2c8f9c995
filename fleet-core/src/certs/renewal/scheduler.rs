//! The renewal loop every server replica runs: refresh ARI windows that are due, then start an
//! order for each certificate that is due, under the database lease (see the module doc of
//! [`super`]). The order itself is the ACME machinery's job, reached through [`OrderStarter`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::ari::{next_check, AriClient};
use super::guard::RenewalPolicy;
use super::record::{RenewalAttempt, RenewalStart};
use crate::error::Result;
use crate::Store;

/// A boxed future, as [`OrderStarter`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs one renewal order to its end.
pub trait OrderStarter: Send + Sync {
    /// Orders a new certificate for `attempt.names` with `attempt.account_id`, sending
    /// `attempt.replaces` as the order's `replaces` (RFC 9773 §5) when set, installs it in place
    /// of certificate `attempt.certificate_id`, and returns the new leaf's DER; or why it failed.
    fn renew<'a>(&'a self, attempt: &'a RenewalAttempt) -> BoxFuture<'a, std::result::Result<Vec<u8>, String>>;

    /// The PEM of the private CA the account trusts for its directory, if any (ARI requests use
    /// the same trust as orders).
    fn ca_pem(&self, _account_id: Option<i64>) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }
}

/// What one [`RenewalScheduler::tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// ARI windows asked for.
    pub ari_checked: u32,
    /// Orders this replica ran, and how many of them issued a certificate.
    pub started: u32,
    /// Of `started`, those that issued.
    pub issued: u32,
    /// Due certificates another replica was already renewing.
    pub busy: u32,
    /// Due certificates the runaway guard refused.
    pub refused: u32,
}

/// One replica's renewal scheduler.
pub struct RenewalScheduler {
    store: Store,
    starter: Arc<dyn OrderStarter>,
    policy: RenewalPolicy,
    replica: String,
}

/// How many rows one tick looks at (the rest waits for the next tick).
const BATCH: i64 = 100;

impl RenewalScheduler {
    /// A scheduler for `replica` (a name unique among the server replicas, used as the lease
    /// holder's prefix).
    pub fn new(store: Store, starter: Arc<dyn OrderStarter>, policy: RenewalPolicy, replica: impl Into<String>) -> Self {
        RenewalScheduler { store, starter, policy, replica: replica.into() }
    }

    /// One pass: ARI refresh, then every due certificate.
    pub async fn tick(&self) -> Result<TickReport> {
        let mut report = TickReport::default();
        for renewal in self.store.renewals_needing_ari(BATCH).await? {
            let (Some(directory), Some(cert_id)) = (&renewal.directory_url, &renewal.cert_id) else { continue };
            report.ari_checked += 1;
            let ca = self.starter.ca_pem(renewal.account_id).await;
            let answer = match AriClient::new(ca.as_deref()) {
                Ok(client) => client.fetch(directory, cert_id, self.store.now()).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(info) => {
                    self.store.record_renewal_info(renewal.certificate_id, cert_id, info.as_ref()).await?;
                }
                Err(error) => {
                    tracing::warn!(certificate = renewal.certificate_id, %error, "ACME renewal information unavailable");
                    self.store.defer_renewal_info(renewal.certificate_id, next_check(None, self.store.now())).await?;
                }
            }
        }
        for renewal in self.store.renewals_due(BATCH).await? {
            match self.store.begin_renewal(renewal.certificate_id, &self.replica, &self.policy).await? {
                RenewalStart::Started(attempt) => {
                    report.started += 1;
                    if self.run(&attempt).await? {
                        report.issued += 1;
                    }
                }
                RenewalStart::Busy { .. } => report.busy += 1,
                RenewalStart::NotDue => {}
                RenewalStart::Refused(refused) => {
                    tracing::error!(certificate = renewal.certificate_id, error = %refused, "renewal refused by the runaway guard");
                    report.refused += 1;
                }
            }
        }
        Ok(report)
    }

    /// Runs one order while extending its leases; records the outcome. True when it issued.
    async fn run(&self, attempt: &RenewalAttempt) -> Result<bool> {
        let order = self.starter.renew(attempt);
        tokio::pin!(order);
        let mut refresh = tokio::time::interval(self.policy.lease_refresh.max(Duration::from_millis(10)));
        refresh.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut order => break outcome,
                _ = refresh.tick() => {
                    if !self.store.extend_renewal_lease(attempt, &self.policy).await? {
                        // Not fatal for the order in flight; the CA would refuse a duplicate
                        // `replaces` anyway. Say it loudly: the lease TTL is too short.
                        tracing::warn!(attempt = attempt.id, "renewal lease lost while the order ran");
                    }
                }
            }
        };
        let issued = outcome.is_ok();
        if let Err(error) = &outcome {
            tracing::error!(certificate = attempt.certificate_id, names = ?attempt.names, %error, "certificate renewal failed");
        }
        self.store.finish_renewal(attempt, outcome.as_deref().map_err(String::as_str), &self.policy).await?;
        Ok(issued)
    }

    /// Ticks every `interval` until `shutdown` turns true. A failed tick is logged and retried
    /// at the next one.
    pub async fn run_until(self, interval: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(%error, "renewal scheduler tick failed");
                    }
                }
                // The guard `wait_for` answers with is dropped inside the block: held by
                // `select!` it would make this future !Send, and `tokio::spawn` refuses it.
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
            }
        }
    }
}
