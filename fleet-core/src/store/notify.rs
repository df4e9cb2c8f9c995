//! Desired-state notifications: how a long-polling agent learns within milliseconds that an
//! apply changed its cluster's desired version.
//!
//! ```text
//! apply (this replica) --commit--> refresh(cluster) --watch channel--> every waiting agent
//!          \--pg_notify('fleet_desired', id)--> other replicas' listeners --> refresh(cluster)
//! ```
//!
//! Each cluster with waiters has a slot: a `watch` channel holding the cluster's current
//! [`DesiredState`] and an async lock under which the state is loaded from the database and
//! published, so publications happen in the order of the loads and the newest load wins. One
//! apply costs one database read however many agents wait: they compare checksums in memory.
//! On PostgreSQL a listener task turns other replicas' notifications into refreshes, and
//! refreshes every slot after its connection drops (a notification may have been missed).
//!
//! During a staged rollout the slot also holds the rollout's [`Gate`] and the previous
//! version's state: each waiter takes the state [`crate::rollouts::version_for`] names for its
//! agent, so a stage that starts (or a rollback) is one refresh that wakes only the agents
//! whose answer changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Backend, Store};
use crate::error::{Error, Result};
use crate::model::VersionInfo;
use crate::rollouts::{version_for, Gate, Rollout, Strategy};
use crate::wire::DesiredState;

/// The PostgreSQL channel carrying cluster ids whose desired version changed.
pub const DESIRED_CHANNEL: &str = "fleet_desired";

/// A cluster's published states: its desired version's and, while a staged rollout governs,
/// its gate with the previous version's state.
#[derive(Debug, Default)]
struct Published {
    desired: Option<Arc<DesiredState>>,
    gate: Option<(Gate, Option<Arc<DesiredState>>)>,
}

impl Published {
    /// The state agent `agent_id` is told.
    fn for_agent(&self, agent_id: i64) -> Option<Arc<DesiredState>> {
        let Some((gate, previous)) = &self.gate else { return self.desired.clone() };
        let number = version_for(Some(gate), self.desired.as_ref().map(|d| d.version), agent_id)?;
        [self.desired.as_ref(), previous.as_ref()].into_iter().flatten().find(|s| s.version == number).cloned()
    }
}

type Shared = Option<Arc<Published>>;

#[derive(Debug)]
struct Slot {
    /// Held while loading and publishing; `true` once the channel holds a loaded state.
    loaded: tokio::sync::Mutex<bool>,
    tx: watch::Sender<Shared>,
}

#[derive(Debug, Default)]
struct Slots(Mutex<HashMap<i64, Arc<Slot>>>);

impl Slots {
    fn get(&self, cluster_id: i64) -> Arc<Slot> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(cluster_id)
            .or_insert_with(|| Arc::new(Slot { loaded: tokio::sync::Mutex::new(false), tx: watch::Sender::new(None) }))
            .clone()
    }

    fn ids(&self) -> Vec<i64> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect()
    }
}

/// Desired states of clusters, with in-process wake-up and (on PostgreSQL) LISTEN/NOTIFY across
/// replicas. Create one per server process with [`DesiredWatch::start`].
#[derive(Debug)]
pub struct DesiredWatch {
    pub(super) store: Store,
    slots: Arc<Slots>,
    listener: Option<JoinHandle<()>>,
    /// Encoded answers, shared by the agents that need the same body ([`super::answers`]).
    pub(super) answers: super::answers::Answers,
}

impl Drop for DesiredWatch {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

async fn load(store: &Store, cluster_id: i64) -> Result<Shared> {
    let cluster = store.cluster(cluster_id).await?;
    let state = |number: i64| {
        let settings = cluster.settings.clone();
        async move { Ok::<_, Error>(Arc::new(DesiredState::new(cluster_id, number, &store.bundle(cluster_id, number).await?, settings))) }
    };
    let desired = match cluster.desired_version {
        Some(number) => Some(state(number).await?),
        None => None,
    };
    let gate = match store.latest_rollout(cluster_id).await?.as_ref().and_then(Gate::of) {
        Some(gate) => {
            let previous = match gate.previous {
                Some(number) => Some(state(number).await?),
                None => None,
            };
            Some((gate, previous))
        }
        None => None,
    };
    Ok(Some(Arc::new(Published { desired, gate })))
}

async fn refresh(store: &Store, slot: &Slot, cluster_id: i64) -> Result<()> {
    let mut loaded = slot.loaded.lock().await;
    let state = load(store, cluster_id).await?;
    slot.tx.send_replace(state);
    *loaded = true;
    Ok(())
}

impl DesiredWatch {
    /// Starts watching. `database_url` is the store's URL: on PostgreSQL a listener connection
    /// is opened on it (an error when that fails); on SQLite (one server process) it is unused.
    pub async fn start(store: Store, database_url: &str) -> Result<DesiredWatch> {
        let slots = Arc::new(Slots::default());
        let listener = match store.backend() {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let mut listener = PgListener::connect(database_url).await?;
                listener.listen(DESIRED_CHANNEL).await?;
                Some(tokio::spawn(listen(listener, store.clone(), slots.clone())))
            }
        };
        Ok(DesiredWatch { store, slots, listener, answers: Default::default() })
    }

    /// Sets the cluster's desired version (see [`Store::apply`]) and wakes every agent waiting
    /// on it, here and on the other replicas.
    pub async fn apply(&self, actor: &str, cluster_id: i64, number: i64) -> Result<VersionInfo> {
        let info = self.store.apply(actor, cluster_id, number).await?;
        self.changed(cluster_id).await?;
        Ok(info)
    }

    /// Applies version `number` by `strategy` ([`Store::start_rollout`]) and wakes the agents
    /// its first stage tells.
    pub async fn start_rollout(&self, actor: &str, cluster_id: i64, number: i64, strategy: &Strategy) -> Result<(VersionInfo, Rollout)> {
        let started = self.store.start_rollout(actor, cluster_id, number, strategy).await?;
        self.changed(cluster_id).await?;
        Ok(started)
    }

    /// Pauses, resumes or aborts a rollout ([`Store::control_rollout`]).
    pub async fn control_rollout(&self, actor: &str, cluster_id: i64, id: i64, control: super::Control) -> Result<Rollout> {
        let rollout = self.store.control_rollout(actor, cluster_id, id, control).await?;
        self.changed(cluster_id).await?;
        Ok(rollout)
    }

    /// Publishes a change of the cluster's desired state (its version or its settings).
    pub async fn changed(&self, cluster_id: i64) -> Result<()> {
        refresh(&self.store, &self.slots.get(cluster_id), cluster_id).await?;
        if self.store.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(DESIRED_CHANNEL)
                .bind(cluster_id.to_string())
                .execute(self.store.pool())
                .await?;
        }
        Ok(())
    }

    /// The desired state of agent `agent_id` of the cluster (its desired version, or during a
    /// staged rollout the one [`crate::rollouts::version_for`] names) as soon as it is news to
    /// an agent that knows `known` (a sha256): at once when it already differs, else when an
    /// apply or a rollout's stage changes it, or `None` when `wait` ends first (also when no
    /// version was ever applied).
    pub async fn wait(&self, cluster_id: i64, agent_id: i64, known: Option<&str>, wait: Duration) -> Result<Option<Arc<DesiredState>>> {
        let slot = self.slots.get(cluster_id);
        let mut rx = slot.tx.subscribe();
        {
            let mut loaded = slot.loaded.lock().await;
            if !*loaded {
                // Boxed: once per cluster, while the caller (a long-poll) keeps this future
                // for as long as it waits.
                slot.tx.send_replace(Box::pin(load(&self.store, cluster_id)).await?);
                *loaded = true;
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let current = rx.borrow_and_update().as_ref().and_then(|p| p.for_agent(agent_id));
            if let Some(state) = current.filter(|s| s.is_news_to(known)) {
                return Ok(Some(state));
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(Error::Corrupt("desired-state channel closed".into())),
                Err(_elapsed) => return Ok(None),
            }
        }
    }
}

/// The listener task: refreshes the clusters other replicas name, and every slot after the
/// connection was lost.
async fn listen(mut listener: PgListener, store: Store, slots: Arc<Slots>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(cluster_id) = notification.payload().parse::<i64>() {
                    // A failed refresh leaves the old state; the next notification retries.
                    let _ = refresh(&store, &slots.get(cluster_id), cluster_id).await;
                }
            }
            Ok(None) => refresh_all(&store, &slots).await,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                refresh_all(&store, &slots).await;
            }
        }
    }
}

async fn refresh_all(store: &Store, slots: &Slots) {
    for cluster_id in slots.ids() {
        let _ = refresh(store, &slots.get(cluster_id), cluster_id).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::DesiredWatch;
    use crate::clock::{ManualClock, SeededRandom};
    use crate::model::{Actor, ClusterSettings, Role};
    use crate::store::{Store, StoreOptions};

    async fn store() -> (Store, String, std::path::PathBuf) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("fleet-notify-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("fleet.db").display());
        let options = StoreOptions {
            clock: Arc::new(ManualClock::new(1_767_225_600_000)),
            random: Arc::new(SeededRandom::new(7)),
            ..StoreOptions::default()
        };
        (Store::open(&url, options).await.unwrap(), url, dir)
    }

    const TEXT: &str = "backend app\n    server s1 10.0.0.1:80\n";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_wake_on_apply_and_time_out_otherwise() {
        let (store, url, dir) = store().await;
        store.create_user("system", "admin", "glacier-tuba-quarry", Role::Admin).await.unwrap();
        let pool = store.create_pool("admin", "p", "").await.unwrap();
        let cluster = store.create_cluster("admin", "c", pool.id, ClusterSettings::default()).await.unwrap();
        let watch = Arc::new(DesiredWatch::start(store.clone(), &url).await.unwrap());

        // Nothing applied: nothing is news, the wait times out.
        let started = Instant::now();
        assert!(watch.wait(cluster.id, 0, None, Duration::from_millis(100)).await.unwrap().is_none());
        assert!(started.elapsed() >= Duration::from_millis(100));

        store.import(Actor::new("admin", Role::Admin), cluster.id, TEXT, "").await.unwrap();
        let v1 = watch.apply("admin", cluster.id, 1).await.unwrap();
        // Stale or unknown: answered at once.
        let state = watch.wait(cluster.id, 0, None, Duration::from_secs(10)).await.unwrap().unwrap();
        let bundle = state.bundle().unwrap();
        assert_eq!((state.version, state.sha256.as_str(), bundle.text()), (1, v1.digest.as_str(), TEXT));
        assert!(watch.wait(cluster.id, 0, Some("other"), Duration::from_secs(10)).await.unwrap().is_some());
        // Current: waits until an apply changes it.
        assert!(watch.wait(cluster.id, 0, Some(&v1.digest), Duration::from_millis(50)).await.unwrap().is_none());
        let waiter = {
            let (watch, known) = (watch.clone(), v1.digest.clone());
            tokio::spawn(async move { watch.wait(cluster.id, 0, Some(&known), Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        store.import(Actor::new("admin", Role::Admin), cluster.id, &TEXT.replace("10.0.0.1", "10.0.0.2"), "").await.unwrap();
        assert!(!waiter.is_finished(), "a new version alone is not an apply");
        watch.apply("admin", cluster.id, 2).await.unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap().unwrap().unwrap().unwrap();
        assert_eq!(woke.version, 2);
        // Rolling back to version 1 is news to an agent on version 2.
        watch.apply("admin", cluster.id, 1).await.unwrap();
        assert_eq!(watch.wait(cluster.id, 0, Some(&woke.sha256), Duration::from_secs(1)).await.unwrap().unwrap().version, 1);
        // Unknown clusters are errors, not endless waits.
        assert!(watch.wait(cluster.id + 1, 0, None, Duration::from_secs(1)).await.is_err());
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
