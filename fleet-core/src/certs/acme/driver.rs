//! The server task that drives ACME orders, outside any HTTP request (see the module docs of
//! [`crate::certs::acme`] for the path an order takes).
//!
//! ```text
//! loop: claim an unfinished order whose lease ran out (conditional update: one replica wins)
//!         -> advance it as far as it goes, recording each step as an event
//!         -> error anywhere: challenge taken back (tokens, TXT records), order invalid with the
//!            reason (nothing deployed)
//!       sleep until woken (a new order) or `idle` passes
//! ```
//!
//! An order is resumable: its URL at the CA is stored when it is made there and its
//! certificate key is sealed before the CSR is sent, so a server that stopped mid-way (its
//! lease runs out) is followed by any replica reading the order back from the CA.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{OrderStatus as CaStatus, RetryPolicy};
use tokio::sync::{watch, Notify};

use super::client::{self, ca_error, Dns01, Http01};
use super::{http01, AcmeOrder, ChallengeKind, OrderStatus};
use crate::bundle::BundlePath;
use crate::certs::renewal::TrackRenewal;
use crate::certs::Upload;
use crate::model::{Actor, Role};
use crate::error::{Error, Result};
use crate::dns::{Propagation, RecordSet, RecordType};
use crate::secrets::Keyring;
use crate::store::OrderUpdate;
use crate::{DesiredWatch, NewCertificate, Store};

/// The TTL of DNS-01 TXT records, seconds: short, so a retried order is not held up by a
/// resolver's cache of the previous value.
const DNS01_TTL: u32 = 60;

/// How long the driver waits for what.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// How long a claimed order stays with this server without a step.
    pub lease: Duration,
    /// How long every agent of a cluster has to run the challenge version.
    pub agents_timeout: Duration,
    /// How long the CA has to validate, and to issue.
    pub ca_timeout: Duration,
    /// How often to look for orders when not woken.
    pub idle: Duration,
    /// DNS-01: how long every authoritative server has to serve the TXT records.
    pub propagation: Propagation,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            lease: Duration::from_secs(600),
            agents_timeout: Duration::from_secs(120),
            ca_timeout: Duration::from_secs(120),
            idle: Duration::from_secs(5),
            propagation: Propagation::default(),
        }
    }
}

/// Drives ACME orders; one per server, cheap to share.
#[derive(Clone)]
pub struct AcmeDriver {
    store: Store,
    desired: Arc<DesiredWatch>,
    ring: Arc<Keyring>,
    options: DriverOptions,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for AcmeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeDriver").field("options", &self.options).finish_non_exhaustive()
    }
}

/// One order being driven: what it published, so it can be taken back.
struct Run<'a> {
    order: &'a AcmeOrder,
    /// HTTP-01 tokens in the clusters' challenge maps.
    published: Vec<String>,
    /// DNS-01 TXT RRsets: (provider id, owner name).
    records: Vec<(i64, String)>,
}

impl AcmeDriver {
    /// A driver on `store`, applying through `desired` (so agents wake at once), opening
    /// account credentials and certificate keys with `ring`.
    pub fn new(store: Store, desired: Arc<DesiredWatch>, ring: Arc<Keyring>, options: DriverOptions) -> AcmeDriver {
        AcmeDriver { store, desired, ring, options, wake: Arc::new(Notify::new()) }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Makes the loop look for orders now (after one was created).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            loop {
                match self.store.claim_acme_order(self.lease_ms()).await {
                    Ok(Some(id)) => self.drive(id).await,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "acme: cannot claim orders");
                        break;
                    }
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.options.idle) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.options.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// Advances order `id` as far as it goes; a failure makes it invalid with the reason,
    /// after taking its tokens back.
    pub async fn drive(&self, id: i64) {
        let order = match self.store.acme_order(id).await {
            Ok(order) => order,
            Err(error) => {
                tracing::warn!(%error, id, "acme: cannot read order");
                return;
            }
        };
        let mut run = Run { order: &order, published: Vec::new(), records: Vec::new() };
        let outcome = self.advance(&mut run).await;
        let failed = match outcome {
            Ok(None) => return,
            Ok(Some(reason)) => reason,
            // The words without the variant's `invalid: ` prefix: the order's status says it.
            Err(Error::Invalid { message, .. }) => message,
            Err(error) => error.to_string(),
        };
        tracing::warn!(id, reason = %failed, "acme: order invalid");
        let cleanup = self.take_back(&mut run).await;
        let message = match cleanup {
            Ok(()) => format!("order invalid: {failed}"),
            Err(e) => format!("order invalid: {failed} (and its challenge could not be taken back: {e})"),
        };
        let update = OrderUpdate { error: Some(failed), ..OrderUpdate::default() };
        if let Err(error) = self.store.acme_order_step(id, OrderStatus::Invalid, &message, update, 0).await {
            tracing::warn!(%error, id, "acme: cannot record the failure");
        }
    }

    async fn step(&self, id: i64, status: OrderStatus, message: &str, update: OrderUpdate) -> Result<()> {
        tracing::info!(id, status = status.as_str(), "acme: {message}");
        self.store.acme_order_step(id, status, message, update, self.lease_ms()).await
    }

    /// The order's path; `Ok(Some(reason))` when the CA made it invalid.
    async fn advance(&self, run: &mut Run<'_>) -> Result<Option<String>> {
        let order = run.order;
        let (credentials, ca_pem) = self.store.acme_account_secret(&self.ring, order.account_id).await?;
        let account = client::restore(&credentials, ca_pem.as_deref()).await?;
        let mut ca_order = match &order.order_url {
            Some(url) => account.order(url.clone()).await.map_err(|e| ca_error("the order at the CA", e))?,
            None => {
                let identifiers = client::identifiers(&order.names);
                let plain = instant_acme::NewOrder::new(&identifiers);
                // A renewal's `replaces` (RFC 9773 §5) is stored with its attempt, so whichever
                // replica drives the order sends it.
                let replaces = self.store.renewal_replaces(order.id).await?;
                let created = match replaces.as_deref().and_then(client::certificate_identifier) {
                    Some(replaces) => match account.new_order(&plain.replaces(replaces)).await {
                        // A CA without renewalInfo takes the renewal as a plain order.
                        Err(instant_acme::Error::Unsupported(_)) => account.new_order(&instant_acme::NewOrder::new(&identifiers)).await,
                        other => other,
                    },
                    None => account.new_order(&plain).await,
                }
                .map_err(|e| ca_error("the CA refused the order", e))?;
                let update = OrderUpdate { order_url: Some(created.url().to_string()), ..OrderUpdate::default() };
                self.step(order.id, OrderStatus::Pending, &format!("order created at the CA: {}", created.url()), update).await?;
                created
            }
        };
        let mut status = ca_order.state().status;
        if status == CaStatus::Pending {
            let names: Vec<String> = match order.challenge {
                ChallengeKind::Http01 => {
                    let challenges = client::http01_challenges(&mut ca_order).await?;
                    if !challenges.is_empty() {
                        self.publish(run, &challenges).await?;
                    }
                    challenges.into_iter().map(|c| c.name).collect()
                }
                ChallengeKind::Dns01 => {
                    let challenges = client::dns01_challenges(&mut ca_order).await?;
                    if !challenges.is_empty() {
                        self.publish_txt(run, &challenges).await?;
                    }
                    challenges.into_iter().map(|c| c.name).collect()
                }
            };
            if !names.is_empty() {
                client::set_ready(&mut ca_order, order.challenge).await?;
                self.step(order.id, OrderStatus::Pending, &format!("asked the CA to validate {}", names.join(", ")), OrderUpdate::default())
                    .await?;
            }
            let policy = RetryPolicy::new().initial_delay(Duration::from_millis(250)).backoff(1.5).timeout(self.options.ca_timeout);
            status = ca_order.poll_ready(&policy).await.map_err(|e| ca_error("waiting for validation", e))?;
            if status == CaStatus::Invalid {
                return Ok(Some(client::failure(&mut ca_order).await));
            }
            self.step(order.id, OrderStatus::Ready, "the CA validated every name", OrderUpdate::default()).await?;
        }
        let key = self.store.acme_order_key(&self.ring, order.id, || client::new_key(order.key_type)).await?;
        if status == CaStatus::Ready {
            let csr = client::csr(&order.names, &key)?;
            ca_order.finalize_csr(&csr).await.map_err(|e| ca_error("the CA refused the CSR", e))?;
            self.step(order.id, OrderStatus::Processing, "finalised: the CA is issuing", OrderUpdate::default()).await?;
        } else if status == CaStatus::Invalid {
            return Ok(Some(client::failure(&mut ca_order).await));
        }
        let policy = RetryPolicy::new().initial_delay(Duration::from_millis(250)).backoff(1.5).timeout(self.options.ca_timeout);
        let chain = ca_order.poll_certificate(&policy).await.map_err(|e| ca_error("waiting for the certificate", e))?;
        self.take_back(run).await?;
        let (certificate_id, made) = self.store_and_deploy(order, &chain, &key).await?;
        let mut rolled = self.roll_out(order, &made).await?;
        // A renewal's certificate is already tracked: the scheduler records the new one itself.
        if !self.store.is_renewal_order(order.id).await? {
            rolled.push(self.track(order, certificate_id, &chain).await);
        }
        let message = format!("certificate issued, stored as certificate {certificate_id} and deployed at {}: {}", order.path, rolled.join("; "));
        let update = OrderUpdate { certificate_pem: Some(chain), certificate_id: Some(certificate_id), ..OrderUpdate::default() };
        self.step(order.id, OrderStatus::Valid, &message, update).await?;
        Ok(None)
    }

    /// Keeps the issued certificate renewed ([`Store::track_renewal`]); says how that went.
    async fn track(&self, order: &AcmeOrder, certificate_id: i64, chain: &str) -> String {
        let Some(der) = crate::certs::pem_certificate_der(chain) else {
            return "not tracked for renewal: the chain has no certificate".into();
        };
        let directory = match self.store.acme_account(order.account_id).await {
            Ok(account) => account.directory_url,
            Err(e) => return format!("not tracked for renewal: {e}"),
        };
        let request = TrackRenewal {
            certificate_id,
            names: &order.names,
            account_id: Some(order.account_id),
            directory_url: Some(&directory),
            der: &der,
        };
        match self.store.track_renewal(&request).await {
            Ok(_) => "tracked for renewal".into(),
            Err(e) => format!("not tracked for renewal: {e}"),
        }
    }

    /// Puts the key authorisations into every cluster's challenge map (and the managed rule
    /// into the marked frontends), applies that version, and waits until every agent runs it.
    async fn publish(&self, run: &mut Run<'_>, challenges: &[Http01]) -> Result<()> {
        let order = run.order;
        let entries: Vec<(String, String)> = challenges.iter().map(|c| (c.token.clone(), c.key_authorization.clone())).collect();
        run.published = challenges.iter().map(|c| c.token.clone()).collect();
        let mut versions = Vec::new();
        for &cluster in &order.clusters {
            let change = |bundle: &crate::bundle::Bundle| {
                let parsed = crate::documents::Parsed::parse(bundle.text());
                let ops = http01::rule_ops(parsed.document(), &order.frontends)?;
                let with_rule = crate::ops::apply_to_bundle(bundle, Arc::new(parsed), &ops)?;
                http01::bundle_with_tokens(&with_rule, &entries, &[])
            };
            let message = format!("acme order {}: http-01 challenge for {}", order.id, order.names.join(", "));
            let committed = self.store.acme_version(order.id, cluster, &message, change).await?;
            let number = committed.version.number;
            self.desired.apply(&format!("acme:order:{}", order.id), cluster, number).await?;
            versions.push((cluster, number));
        }
        let listed: Vec<String> = versions.iter().map(|(c, n)| format!("cluster {c} version {n}")).collect();
        self.step(order.id, OrderStatus::Pending, &format!("challenge published: {}", listed.join(", ")), OrderUpdate::default()).await?;
        for (cluster, number) in versions {
            self.wait_agents(cluster, number).await?;
        }
        self.step(order.id, OrderStatus::Pending, "every node of every cluster answers the challenge", OrderUpdate::default()).await
    }

    /// Waits until every agent of `cluster` runs version `number` or later.
    async fn wait_agents(&self, cluster: i64, number: i64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.options.agents_timeout;
        loop {
            let status = self.store.status(cluster).await?;
            if status.agents.is_empty() {
                return Err(Error::invalid(format!("cluster {cluster} has no agent to answer the challenge")));
            }
            let behind: Vec<String> = status
                .agents
                .iter()
                .filter(|a| a.applied_version.is_none_or(|v| v < number))
                .map(|a| match &a.last_error {
                    Some(error) => format!("{} (at {:?}: {error})", a.name, a.applied_version),
                    None => format!("{} (at {:?})", a.name, a.applied_version),
                })
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::invalid(format!(
                    "cluster {cluster}: agents did not run the challenge version {number} within {} s: {}",
                    self.options.agents_timeout.as_secs(),
                    behind.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes each `_acme-challenge` RRset hold its names' values through the provider whose
    /// zone holds it, then waits until every authoritative server of each zone serves them.
    async fn publish_txt(&self, run: &mut Run<'_>, challenges: &[Dns01]) -> Result<()> {
        let order = run.order;
        // `*.example.com` and `example.com` share one owner: one RRset with both values.
        let mut records: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for challenge in challenges {
            records.entry(challenge.record.as_str()).or_default().push(challenge.value.clone());
        }
        let mut published = Vec::new();
        for (record, values) in records {
            let info = self.store.dns_provider_for(record, order.dns_provider_id).await?;
            let provider = self.store.open_dns_provider(info.id, &self.ring).await?;
            let rrset = RecordSet::txt(record, DNS01_TTL, values);
            // Listed before the update: a lost answer may still have changed the zone.
            run.records.push((info.id, record.to_string()));
            provider.replace(&rrset).await?;
            self.step(order.id, OrderStatus::Pending, &format!("TXT {record} published through dns provider {}", info.name), OrderUpdate::default())
                .await?;
            published.push((provider, rrset));
        }
        let mut seen = Vec::new();
        for (provider, rrset) in &published {
            let how = self.options.propagation.confirm(provider.as_ref(), rrset).await?;
            seen.push(format!("{} on {how}", rrset.name));
        }
        // Said as seen: every authoritative server, or only the provider's API (Cloudflare).
        self.step(order.id, OrderStatus::Pending, &format!("the dns-01 records are served: {}", seen.join("; ")), OrderUpdate::default()).await
    }

    /// Takes back what this run published: HTTP-01 tokens from every cluster's map (a version,
    /// applied), DNS-01 TXT RRsets from their zones. Every record is tried; the first error
    /// is returned.
    async fn take_back(&self, run: &mut Run<'_>) -> Result<()> {
        let mut first_error = None;
        for (provider_id, record) in std::mem::take(&mut run.records) {
            let deleted = async {
                let provider = self.store.open_dns_provider(provider_id, &self.ring).await?;
                provider.delete(&record, RecordType::Txt).await.map_err(Error::from)
            };
            if let Err(e) = deleted.await {
                tracing::warn!(%e, record, "acme: cannot delete the dns-01 record");
                first_error.get_or_insert(Error::Conflict(format!("TXT {record}: {e}")));
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        if run.published.is_empty() {
            return Ok(());
        }
        let order = run.order;
        let tokens = std::mem::take(&mut run.published);
        for &cluster in &order.clusters {
            let message = format!("acme order {}: challenge tokens removed", order.id);
            let change = |bundle: &crate::bundle::Bundle| http01::bundle_with_tokens(bundle, &[], &tokens);
            let committed = self.store.acme_version(order.id, cluster, &message, change).await?;
            self.desired.apply(&format!("acme:order:{}", order.id), cluster, committed.version.number).await?;
        }
        Ok(())
    }

    /// Stores the issued chain and key in the certificate store: as a new revision of the
    /// order's `certificate_id`, else of the certificate named after the first name (a renewal),
    /// else as a new global certificate of that name; the store writes a new revision into every
    /// cluster that already uses it. Then places it at the order's path in each of the order's
    /// clusters where it is not yet. Returns its id and, per cluster, the versions made.
    async fn store_and_deploy(&self, order: &AcmeOrder, chain: &str, key: &str) -> Result<(i64, Vec<Made>)> {
        let actor_name = format!("acme:order:{}", order.id);
        let actor = Actor::new(&actor_name, Role::Operator);
        let upload = Upload { certificate: chain, chain: None, private_key: Some(key), allow_expired: false };
        let name = order.names.first().ok_or_else(|| Error::Corrupt(format!("acme order {} has no name", order.id)))?;
        let existing = match order.certificate_id {
            Some(id) => Some(self.store.certificate(id).await?),
            None => self.store.certificate_by_name(name).await?,
        };
        let mut made = Vec::new();
        let id = match existing {
            Some(certificate) => {
                let replaced = self.store.replace_certificate(actor, &self.ring, certificate.id, upload).await?;
                for rollout in replaced.rollouts {
                    made.push(Made { cluster_id: rollout.cluster_id, version: rollout.version, error: rollout.error });
                }
                certificate.id
            }
            None => self.store.put_certificate(actor, &self.ring, NewCertificate { name, cluster_id: None, upload }).await?.id,
        };
        let path = BundlePath::new(&order.path).map_err(|e| Error::Corrupt(format!("acme order {}: path: {e}", order.id)))?;
        let deployments = self.store.deployments(id).await?;
        for &cluster in &order.clusters {
            if deployments.iter().any(|d| d.cluster_id == cluster && d.path == path) {
                continue;
            }
            let deployed = self.store.deploy_certificate(actor, &self.ring, id, cluster, Some(path.clone()), None).await?;
            made.push(Made { cluster_id: cluster, version: Some(deployed.committed.version.number), error: None });
        }
        Ok((id, made))
    }

    /// Applies the versions `made` when the order says so, each cluster's newest one, where
    /// nothing unapplied lies between the version its agents run and the first one made here.
    /// Returns what happened in each cluster, in words.
    async fn roll_out(&self, order: &AcmeOrder, made: &[Made]) -> Result<Vec<String>> {
        let mut clusters: Vec<i64> = made.iter().map(|m| m.cluster_id).collect();
        clusters.sort_unstable();
        clusters.dedup();
        let mut said = Vec::new();
        for cluster in clusters {
            let versions: Vec<i64> = made.iter().filter(|m| m.cluster_id == cluster).filter_map(|m| m.version).collect();
            for error in made.iter().filter(|m| m.cluster_id == cluster).filter_map(|m| m.error.as_deref()) {
                said.push(format!("cluster {cluster} kept the old certificate: {error}"));
            }
            let (Some(&first), Some(&last)) = (versions.iter().min(), versions.iter().max()) else { continue };
            if !order.auto_apply {
                said.push(format!("cluster {cluster} version {last} committed, not applied (auto_apply false)"));
                continue;
            }
            let runs = self.store.cluster(cluster).await?.desired_version;
            if runs.is_some_and(|runs| runs + 1 != first) {
                said.push(format!("cluster {cluster} version {last} committed, not applied: its agents run an older version with unapplied changes after it"));
                continue;
            }
            self.desired.apply(&format!("acme:order:{}", order.id), cluster, last).await?;
            said.push(format!("cluster {cluster} version {last} applied"));
        }
        Ok(said)
    }
}

/// A version the certificate store made, or why it made none.
#[derive(Debug)]
struct Made {
    cluster_id: i64,
    version: Option<i64>,
    error: Option<String>,
}
