//! Pools' DNS failover at rest (migration 0017; see [`crate::failover`]): settings, the active
//! member, the timeline, the lease that makes one server replica the decider of a pool, and the
//! moves themselves (the record through the pool's DNS provider).
//!
//! ```text
//! PUT settings -> checked (provider exists, hostname in its zone) -> stored; `active` given:
//!   a manual move
//! move(to): the member's addresses per record type -> provider.replace(RRset) each -> stored
//!   active (+ preferred when by hand) + last move + events; any failure: nothing stored as
//!   moved, the event says why (the record is left as the provider has it)
//! tick (decider): lease on the pool (conditional update: one replica) -> members' health
//!   (heartbeat within the window, HAProxy answering in it) -> decide -> move or event
//! ```

use std::net::IpAddr;

use serde_json::json;
use sqlx::Row;

use super::audit::Audit;
use super::{json_column, to_json, Store};
use crate::dns::{RecordSet, RecordType};
use crate::error::{Error, Result};
use crate::failover::settings::{FailoverEvent, FailoverMember, FailoverSettings, PoolFailover};
use crate::failover::{decide, healthy, Decision, Member, Memory, Observation, ProbeReport, State};
use crate::model::Agent;
use crate::secrets::Keyring;

/// How a move came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveCause<'a> {
    /// An operator (activate, settings): the member becomes the preferred one.
    Manual,
    /// An operator's cutover to the next ready standby: like [`MoveCause::Manual`], audited
    /// `failover.cutover`.
    Cutover,
    /// The decider holding the pool's lease: the move is stored only while it still holds it.
    Automatic {
        /// The replica's lease name.
        holder: &'a str,
    },
}

/// What one decider tick did for a pool ([`Store::failover_tick`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverTick {
    /// The decision.
    pub decision: Decision,
    /// The move made, as a notification tells it (`event`, `pool_id`, `hostname`, `from`, `to`,
    /// `reason`, `records`, `at`); `None` when nothing moved or the move failed.
    pub moved: Option<serde_json::Value>,
    /// Every member went down (first tick of the episode): the notification
    /// (`{"event":"dns_failover.all_down","pool_id","hostname","active","reason","at"}`).
    pub all_down: Option<serde_json::Value>,
}

/// The addresses the record points at for member `agent`, of `record_type`'s family: those it
/// declared (`fleet-agent --public-ip`, facts `public_ips`); when it declared none at all, the
/// first global unicast address of that family among the interfaces it reports
/// ([`reported_public_address`]).
fn member_addresses(agent: &Agent, record_type: RecordType) -> Vec<IpAddr> {
    let family = |a: &IpAddr| match record_type {
        RecordType::Aaaa => a.is_ipv6(),
        _ => a.is_ipv4(),
    };
    let declared: Vec<IpAddr> = agent
        .facts
        .get("public_ips")
        .and_then(|v| v.as_array())
        .map(|list| list.iter().filter_map(|v| v.as_str()?.parse::<IpAddr>().ok()).collect())
        .unwrap_or_default();
    if !declared.is_empty() {
        return declared.into_iter().filter(family).collect();
    }
    reported_public_address(&agent.interfaces, family).into_iter().collect()
}

/// The fallback when an agent declared no public address: the first address of `family` that
/// is global unicast, in the order the agent reported them (interfaces and addresses as the
/// kernel lists them, so an interface's primary address comes before secondary ones such as a
/// VIP keepalived added), on an interface that is up. Not global: unspecified, loopback,
/// link-local (169.254/16, fe80::/10), private (10/8, 172.16/12, 192.168/16), shared
/// (100.64/10), unique local (fc00::/7), multicast, broadcast, IPv4-mapped IPv6. One address
/// per family: a node with several public addresses declares the ones to publish.
fn reported_public_address(interfaces: &[crate::vip::NodeInterface], family: impl Fn(&IpAddr) -> bool) -> Option<IpAddr> {
    interfaces
        .iter()
        .filter(|i| i.up)
        .flat_map(|i| i.addresses.iter())
        .filter_map(|a| a.split('/').next()?.trim().parse::<IpAddr>().ok())
        .filter(|a| family(a))
        .find(global_unicast)
}

fn global_unicast(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b);
            !(v4.is_unspecified() || v4.is_loopback() || v4.is_link_local() || v4.is_private() || shared || v4.is_multicast() || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            let link_local = first & 0xffc0 == 0xfe80;
            let unique_local = first & 0xfe00 == 0xfc00;
            !(v6.is_unspecified() || v6.is_loopback() || link_local || unique_local || v6.is_multicast() || v6.to_ipv4_mapped().is_some())
        }
    }
}

/// The RRsets pointing the pool's hostname at `member`, one per record type; an error naming
/// the type the member declared no address of.
fn record_sets(settings: &FailoverSettings, member: &Agent) -> Result<Vec<RecordSet>> {
    let mut sets = Vec::new();
    for record_type in &settings.record_types {
        let addresses = member_addresses(member, *record_type);
        if addresses.is_empty() {
            return Err(Error::invalid(format!(
                "agent {} has no {record_type} address: none declared (fleet-agent --public-ip) and none global among its interfaces",
                member.name
            )));
        }
        sets.push(RecordSet { name: settings.hostname.clone(), record_type: *record_type, ttl: settings.ttl, values: addresses.iter().map(ToString::to_string).collect() });
    }
    Ok(sets)
}

/// RRsets as the timeline and the notification show them: `A 198.51.100.1, 198.51.100.2`,
/// values sorted so a read-back compares equal to what was published.
fn records_text(sets: &[RecordSet]) -> Vec<String> {
    sets.iter()
        .map(|set| {
            let mut values = set.values.clone();
            values.sort();
            format!("{} {}", set.record_type, values.join(", "))
        })
        .collect()
}

/// What the server measured of an agent: its last heartbeat, whether HAProxy answered the
/// runtime API for it (the heartbeat carries `runtime` only then), and its report of the pool's
/// current probe.
fn observation(agent: &Agent, settings: &FailoverSettings) -> Observation {
    Observation {
        last_heartbeat_at: agent.last_seen_at,
        haproxy_running: Some(agent.facts.get("runtime").is_some_and(|r| !r.is_null())),
        probe_ok: probe_report(agent, settings).map(|r| r.ok),
    }
}

/// The agent's last report (facts `failover_probe`) of the pool's current probe; a report of
/// another probe (the settings changed since) does not count.
fn probe_report(agent: &Agent, settings: &FailoverSettings) -> Option<ProbeReport> {
    let current = settings.effective_probe()?;
    let report: ProbeReport = serde_json::from_value(agent.facts.get("failover_probe")?.clone()).ok()?;
    (report.probe == current).then_some(report)
}

impl Store {
    /// The agents of every cluster of pool `pool_id`, in pool order (cluster id, agent name).
    async fn pool_agents(&self, pool_id: i64) -> Result<Vec<Agent>> {
        let mut agents = Vec::new();
        for cluster in self.clusters(Some(pool_id)).await? {
            agents.extend(self.status_agents(cluster.id).await?);
        }
        Ok(agents)
    }

    /// Stores pool `pool_id`'s failover settings (admin): the provider must exist and hold the
    /// hostname. With `active`, that member is made active at once (a manual move).
    pub async fn put_failover(&self, actor: &str, ring: &Keyring, pool_id: i64, settings: &FailoverSettings) -> Result<PoolFailover> {
        settings.check()?;
        self.pool_by_id(pool_id).await?;
        let provider = self.dns_provider(settings.provider_id).await.map_err(|e| match e {
            Error::NotFound(_) => Error::invalid(format!("provider_id: no dns provider {}", settings.provider_id)),
            other => other,
        })?;
        if !crate::dns::in_zone(&settings.hostname, &provider.zone) {
            return Err(Error::invalid(format!("hostname: {} is not in zone {} of dns provider {}", settings.hostname, provider.zone, provider.name)));
        }
        // The member to make active is published first, under the new settings: a member that
        // is not one, has no address or that the provider refuses stores nothing.
        let published = match &settings.active {
            Some(agent) => match self.publish_member(ring, pool_id, settings, agent).await {
                Ok(published) => Some((agent, published)),
                Err(e) => {
                    let message = format!("settings not changed: cannot point {} at {agent}: {e}", settings.hostname);
                    self.failover_event(pool_id, "error", &message).await?;
                    return Err(e);
                }
            },
            None => None,
        };
        let stored = FailoverSettings { active: None, ..settings.clone() };
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query("UPDATE pool_failover SET settings = $1, updated_at = $2 WHERE pool_id = $3")
            .bind(to_json(&stored)?)
            .bind(now)
            .bind(pool_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO pool_failover (pool_id, settings, lease_until, updated_at) VALUES ($1, $2, 0, $3)")
                .bind(pool_id)
                .bind(to_json(&stored)?)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        self.audit(&mut tx, Audit { actor, action: "failover.settings", cluster_id: None, version: None, details: json!({"pool_id": pool_id, "settings": stored}) })
            .await?;
        tx.commit().await?;
        self.failover_event(pool_id, "settings", &format!("settings changed by {actor}: {} via dns provider {}", settings.hostname, provider.name)).await?;
        if let Some((agent, published)) = published {
            let state = self.failover_row(pool_id).await?.1;
            self.store_move(actor, pool_id, &settings.hostname, &state, agent, MoveCause::Manual, &format!("made active by {actor}"), published).await?;
        }
        self.failover(pool_id).await
    }

    /// The stored settings and state; [`Error::NotFound`] when the pool has no failover.
    async fn failover_row(&self, pool_id: i64) -> Result<(FailoverSettings, State)> {
        let row = sqlx::query("SELECT settings, active, preferred, last_move_at FROM pool_failover WHERE pool_id = $1")
            .bind(pool_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("failover of pool {pool_id}")))?;
        let settings: FailoverSettings = json_column(&row, "settings")?;
        let state = State { active: row.try_get("active")?, preferred: row.try_get("preferred")?, last_move_at: row.try_get("last_move_at")? };
        Ok((settings, state))
    }

    /// Pool `pool_id`'s failover with its members' health and what the provider's server
    /// answers for the hostname. 404 when the pool has none.
    pub async fn failover(&self, pool_id: i64) -> Result<PoolFailover> {
        let (settings, state) = self.failover_row(pool_id).await?;
        let now = self.now();
        let members = self
            .pool_agents(pool_id)
            .await?
            .iter()
            .map(|a| FailoverMember {
                agent: a.name.clone(),
                cluster_id: a.cluster_id,
                addresses: settings.record_types.iter().flat_map(|t| member_addresses(a, *t)).map(|ip| ip.to_string()).collect(),
                healthy: healthy(&observation(a, &settings), settings.window_ms(), now),
                probe: probe_report(a, &settings),
                last_seen_at: a.last_seen_at,
            })
            .collect();
        let mut published = Vec::new();
        match self.dns_provider_for_read(settings.provider_id).await {
            Ok(provider) => {
                for record_type in &settings.record_types {
                    published.push(match provider.read(&settings.hostname, *record_type).await {
                        Ok(Some(set)) => format!("{record_type}: {}", set.values.join(", ")),
                        Ok(None) => format!("{record_type}: nothing"),
                        Err(e) => format!("{record_type}: cannot ask: {e}"),
                    });
                }
            }
            Err(e) => published.push(format!("cannot ask: {e}")),
        }
        Ok(PoolFailover { pool_id, settings, active: state.active, preferred: state.preferred, last_move_at: state.last_move_at, members, published })
    }

    /// The provider opened with the store's ring (reads need its TSIG key too).
    async fn dns_provider_for_read(&self, id: i64) -> Result<Box<dyn crate::dns::DnsProvider>> {
        let ring = self.ring().ok_or_else(|| Error::Crypto("this store has no key ring to open the dns provider's secret".into()))?;
        self.open_dns_provider(id, &ring).await
    }

    /// Like [`Self::failover_row`] for an action on the pool (a move): a pool that exists but
    /// has no failover yet is an [`Error::Conflict`] naming what to do, not a 404.
    async fn configured(&self, pool_id: i64) -> Result<(FailoverSettings, State)> {
        match self.failover_row(pool_id).await {
            Err(Error::NotFound(_)) => {
                self.pool_by_id(pool_id).await?;
                Err(Error::Conflict(format!("pool {pool_id} has no failover: set one with PUT /api/v1/pools/{pool_id}/failover")))
            }
            other => other,
        }
    }

    /// The timeline, newest first (at most `limit`); empty for a pool without failover.
    pub async fn failover_events(&self, pool_id: i64, limit: i64) -> Result<Vec<FailoverEvent>> {
        self.pool_by_id(pool_id).await?;
        let rows = sqlx::query("SELECT at, kind, message FROM failover_events WHERE pool_id = $1 ORDER BY at DESC, id DESC LIMIT $2")
            .bind(pool_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(FailoverEvent { at: r.try_get("at")?, kind: r.try_get("kind")?, message: r.try_get("message")? })).collect()
    }

    /// Pool `pool_id`'s stored failover settings (no health, no DNS query).
    pub async fn failover_settings(&self, pool_id: i64) -> Result<FailoverSettings> {
        Ok(self.failover_row(pool_id).await?.0)
    }

    /// Adds an entry to pool `pool_id`'s timeline.
    pub(crate) async fn failover_event(&self, pool_id: i64, kind: &str, message: &str) -> Result<()> {
        sqlx::query("INSERT INTO failover_events (id, pool_id, at, kind, message) VALUES ($1, $2, $3, $4, $5)")
            .bind(self.new_id()?)
            .bind(pool_id)
            .bind(self.now())
            .bind(kind)
            .bind(message)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Points the pool's record at member `agent` by an operator's hand (audited
    /// `failover.activate`; the member becomes the preferred one fail-back returns to). Errors
    /// (nothing stored as moved, an `error` event says why): not a member, no address for a
    /// record type, the provider refusing or unreachable.
    pub async fn activate(&self, actor: &str, ring: &Keyring, pool_id: i64, agent: &str, why: &str) -> Result<()> {
        self.move_record(actor, ring, pool_id, agent, MoveCause::Manual, why).await.map(|_| ())
    }

    /// Publishes member `agent`'s addresses, then stores the move; the notification document.
    /// An automatic move is published and stored only while its decider holds the pool's lease
    /// and the record still points where the decision saw it (a replica that lost the lease
    /// mid-tick stores nothing: [`Error::Conflict`]).
    async fn move_record(&self, actor: &str, ring: &Keyring, pool_id: i64, agent: &str, cause: MoveCause<'_>, why: &str) -> Result<serde_json::Value> {
        let (settings, state) = self.configured(pool_id).await?;
        if let MoveCause::Automatic { holder } = cause {
            self.holds_lease(pool_id, holder).await?;
        }
        let result = self.publish_member(ring, pool_id, &settings, agent).await;
        if let Err(e) = &result {
            self.failover_event(pool_id, "error", &format!("cannot point {} at {agent}: {e}", settings.hostname)).await?;
        }
        self.store_move(actor, pool_id, &settings.hostname, &state, agent, cause, why, result?).await
    }

    /// Stores a published move from `state` to `agent` with its audit entry and event; the
    /// notification document.
    #[allow(clippy::too_many_arguments)]
    async fn store_move(
        &self,
        actor: &str,
        pool_id: i64,
        hostname: &str,
        state: &State,
        agent: &str,
        cause: MoveCause<'_>,
        why: &str,
        published: Vec<String>,
    ) -> Result<serde_json::Value> {
        let now = self.now();
        let (preferred, action, kind) = match cause {
            MoveCause::Manual => (Some(agent.to_string()), "failover.activate", "manual"),
            MoveCause::Cutover => (Some(agent.to_string()), "failover.cutover", "manual"),
            MoveCause::Automatic { .. } => (state.preferred.clone(), "failover.move", "dns_update"),
        };
        let mut tx = self.write_tx().await?;
        let stored = match cause {
            MoveCause::Manual | MoveCause::Cutover => sqlx::query("UPDATE pool_failover SET active = $1, preferred = $2, last_move_at = $3, updated_at = $3 WHERE pool_id = $4")
                .bind(agent)
                .bind(preferred)
                .bind(now)
                .bind(pool_id)
                .execute(&mut *tx)
                .await?,
            // Compare-and-set on the lease and on the member the decision moved away from.
            MoveCause::Automatic { holder } => sqlx::query(
                "UPDATE pool_failover SET active = $1, preferred = $2, last_move_at = $3, updated_at = $3 \
                 WHERE pool_id = $4 AND lease_holder = $5 AND lease_until >= $3 AND (active = $6 OR (active IS NULL AND $6 IS NULL))",
            )
            .bind(agent)
            .bind(preferred)
            .bind(now)
            .bind(pool_id)
            .bind(holder)
            .bind(state.active.clone())
            .execute(&mut *tx)
            .await?,
        };
        if stored.rows_affected() == 0 {
            return Err(Error::Conflict(format!("pool {pool_id}: the decider's lease or the active member changed during the move")));
        }
        let details = json!({"pool_id": pool_id, "from": state.active, "to": agent, "why": why, "records": published});
        self.audit(&mut tx, Audit { actor, action, cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        self.failover_event(pool_id, kind, &format!("{hostname} now points at {agent} ({}): {why}", published.join("; "))).await?;
        Ok(json!({"event": "dns_failover.move", "pool_id": pool_id, "hostname": hostname, "from": state.active, "to": agent,
            "reason": why, "records": published, "at": crate::clock::rfc3339(now)}))
    }

    /// Ok when `holder` holds pool `pool_id`'s lease now; [`Error::Conflict`] otherwise.
    async fn holds_lease(&self, pool_id: i64, holder: &str) -> Result<()> {
        let held = sqlx::query("SELECT pool_id FROM pool_failover WHERE pool_id = $1 AND lease_holder = $2 AND lease_until >= $3")
            .bind(pool_id)
            .bind(holder)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await?;
        match held {
            Some(_) => Ok(()),
            None => Err(Error::Conflict(format!("pool {pool_id}: {holder} no longer holds the failover lease"))),
        }
    }

    async fn publish_member(&self, ring: &Keyring, pool_id: i64, settings: &FailoverSettings, agent: &str) -> Result<Vec<String>> {
        let member = self
            .pool_agents(pool_id)
            .await?
            .into_iter()
            .find(|a| a.name == agent)
            .ok_or_else(|| Error::invalid(format!("agent: {agent} is not a member of pool {pool_id}")))?;
        let sets = record_sets(settings, &member)?;
        let provider = self.open_dns_provider(settings.provider_id, ring).await?;
        for set in &sets {
            provider.replace(set).await?;
        }
        Ok(records_text(&sets))
    }

    /// Moves the record to the next ready standby (healthy, addressed, in pool order), audited
    /// `failover.cutover` (the standby becomes the preferred member, as with activate).
    pub async fn cut_over(&self, actor: &str, ring: &Keyring, pool_id: i64) -> Result<PoolFailover> {
        let (settings, state) = self.configured(pool_id).await?;
        let now = self.now();
        let next = self
            .pool_agents(pool_id)
            .await?
            .into_iter()
            .filter(|a| Some(&a.name) != state.active.as_ref())
            .find(|a| healthy(&observation(a, &settings), settings.window_ms(), now) && settings.record_types.iter().all(|t| !member_addresses(a, *t).is_empty()))
            .ok_or_else(|| Error::Conflict(format!("pool {pool_id} has no ready standby to cut over to")))?;
        self.move_record(actor, ring, pool_id, &next.name, MoveCause::Cutover, &format!("cut over by {actor}")).await?;
        self.failover(pool_id).await
    }

    /// Takes the decider's lease on every pool with automatic failover whose lease ran out or
    /// is `holder`'s, until `now + lease_ms`; returns those pools. A conditional update per
    /// pool: of several replicas one wins each pool.
    pub async fn claim_failover_pools(&self, holder: &str, lease_ms: i64) -> Result<Vec<i64>> {
        let now = self.now();
        let rows = sqlx::query("SELECT pool_id FROM pool_failover WHERE lease_until < $1 OR lease_holder = $2").bind(now).bind(holder).fetch_all(self.pool()).await?;
        let mut claimed = Vec::new();
        for row in rows {
            let pool_id: i64 = row.try_get("pool_id")?;
            let taken = sqlx::query(
                "UPDATE pool_failover SET lease_holder = $1, lease_until = $2 WHERE pool_id = $3 AND (lease_until < $4 OR lease_holder = $1)",
            )
            .bind(holder)
            .bind(now + lease_ms)
            .bind(pool_id)
            .bind(now)
            .execute(self.pool())
            .await?;
            if taken.rows_affected() == 1 {
                claimed.push(pool_id);
            }
        }
        Ok(claimed)
    }

    /// One decision for pool `pool_id` ([`crate::failover::decide`]) by the decider `holder`
    /// (which must hold the pool's lease for a move to be stored) and its move, with the
    /// timeline: a detection when the active member turns unhealthy, the decision, the update.
    pub async fn failover_tick(&self, holder: &str, ring: &Keyring, pool_id: i64, memory: &mut Memory) -> Result<FailoverTick> {
        let (settings, state) = self.failover_row(pool_id).await?;
        let now = self.now();
        let agents = self.pool_agents(pool_id).await?;
        let mut members = Vec::new();
        for agent in &agents {
            let up = healthy(&observation(agent, &settings), settings.window_ms(), now);
            let since = match memory.health.get(&agent.name) {
                Some((was, since)) if *was == up => *since,
                Some(_) => {
                    let word = if up { "healthy again" } else { "unhealthy" };
                    self.failover_event(pool_id, "detection", &format!("{} is {word}", agent.name)).await?;
                    now
                }
                None => agent.last_seen_at.unwrap_or(now).min(now),
            };
            memory.health.insert(agent.name.clone(), (up, since));
            let addressable = settings.record_types.iter().all(|t| !member_addresses(agent, *t).is_empty());
            members.push(Member { agent: agent.name.clone(), healthy: up, since, addressable });
        }
        let decision = decide(&settings.policy(), &state, &members, now);
        let mut moved = None;
        let mut all_down = None;
        match &decision {
            Decision::Move { to, reason } => {
                self.failover_event(pool_id, "decision", &format!("move to {to}: {reason}")).await?;
                let actor = format!("failover:{holder}");
                match self.move_record(&actor, ring, pool_id, to, MoveCause::Automatic { holder }, reason).await {
                    Ok(notice) => moved = Some(notice),
                    Err(e) => tracing::warn!(%e, pool_id, "failover: move failed"),
                }
            }
            Decision::AllDown if !memory.alerted => {
                memory.alerted = true;
                let at = state.active.as_deref().map_or_else(|| "nothing (no member was ever active)".to_string(), |a| a.to_string());
                let reason = format!("no healthy member with an address: {} keeps pointing at {at}", settings.hostname);
                // `all_down` (an alert with condition dns_failover fires on it) and the webhook.
                self.failover_event(pool_id, "all_down", &reason).await?;
                all_down = Some(json!({"event": "dns_failover.all_down", "pool_id": pool_id, "hostname": settings.hostname,
                    "active": state.active, "reason": reason, "at": crate::clock::rfc3339(now)}));
            }
            Decision::Hold { to, until } if !memory.held => {
                memory.held = true;
                let wait = (until - now + 999) / 1000;
                self.failover_event(pool_id, "decision", &format!("hold: would move to {to}, but the last move was less than {} s ago (anti-flap); {wait} s to go", settings.hold_seconds)).await?;
            }
            Decision::Stay => self.sync_addresses(holder, ring, pool_id, &settings, &state, &agents, memory).await?,
            _ => {}
        }
        // The one-time notes end with the condition that caused them.
        memory.alerted &= matches!(decision, Decision::AllDown);
        memory.held &= matches!(decision, Decision::Hold { .. });
        Ok(FailoverTick { decision, moved, all_down })
    }

    /// Dynamic DNS: when the active member's declared addresses (`--public-ip`) differ from what
    /// the record holds, re-publishes them (audited `failover.sync`, no move: the hold time is
    /// not reset). What the record holds is read from the provider once after each move, then
    /// remembered.
    #[allow(clippy::too_many_arguments)]
    async fn sync_addresses(
        &self,
        holder: &str,
        ring: &Keyring,
        pool_id: i64,
        settings: &FailoverSettings,
        state: &State,
        agents: &[Agent],
        memory: &mut Memory,
    ) -> Result<()> {
        let Some(active) = state.active.as_deref().and_then(|name| agents.iter().find(|a| a.name == name)) else { return Ok(()) };
        let Ok(wanted) = record_sets(settings, active) else { return Ok(()) };
        let wanted_text = records_text(&wanted);
        if memory.published_as_of != state.last_move_at {
            memory.published = None;
            memory.published_as_of = state.last_move_at;
        }
        let published = match &memory.published {
            Some(published) => published.clone(),
            None => {
                let provider = self.open_dns_provider(settings.provider_id, ring).await?;
                let mut sets = Vec::new();
                for record_type in &settings.record_types {
                    match provider.read(&settings.hostname, *record_type).await {
                        Ok(Some(set)) => sets.push(set),
                        Ok(None) => {}
                        // Not known: try again next tick.
                        Err(_) => return Ok(()),
                    }
                }
                let text = records_text(&sets);
                memory.published = Some(text.clone());
                text
            }
        };
        if published == wanted_text {
            memory.sync_error = None;
            return Ok(());
        }
        self.holds_lease(pool_id, holder).await?;
        let provider = self.open_dns_provider(settings.provider_id, ring).await?;
        for set in &wanted {
            if let Err(e) = provider.replace(set).await {
                let message = format!("cannot follow {}'s address change ({}): {e}", active.name, wanted_text.join("; "));
                if memory.sync_error.as_deref() != Some(message.as_str()) {
                    self.failover_event(pool_id, "error", &message).await?;
                    memory.sync_error = Some(message);
                }
                return Ok(());
            }
        }
        memory.published = Some(wanted_text.clone());
        memory.sync_error = None;
        let mut tx = self.write_tx().await?;
        let details = json!({"pool_id": pool_id, "agent": active.name, "from": published, "to": wanted_text});
        self.audit(&mut tx, Audit { actor: &format!("failover:{holder}"), action: "failover.sync", cluster_id: None, version: None, details }).await?;
        tx.commit().await?;
        let message = format!("{} now points at {} ({}): its address changed", settings.hostname, active.name, wanted_text.join("; "));
        self.failover_event(pool_id, "dns_update", &message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vip::NodeInterface;

    fn agent(public_ips: Option<serde_json::Value>, interfaces: Vec<NodeInterface>) -> Agent {
        let mut facts = serde_json::json!({});
        if let Some(ips) = public_ips {
            facts["public_ips"] = ips;
        }
        Agent {
            id: 1,
            cluster_id: 1,
            name: "n".into(),
            hostname: String::new(),
            facts,
            last_seen_at: None,
            state: crate::monitor::NodeState::Offline,
            heartbeat_ms: None,
            drift: None,
            applied_version: None,
            last_outcome: None,
            last_error: None,
            last_diagnostics: Vec::new(),
            keepalived: None,
            interfaces,
            created_at: 0,
        }
    }

    fn interface(name: &str, up: bool, addresses: &[&str]) -> NodeInterface {
        NodeInterface { name: name.into(), up, addresses: addresses.iter().map(|a| a.to_string()).collect() }
    }

    fn text(addresses: Vec<IpAddr>) -> Vec<String> {
        addresses.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_member_without_a_declared_address_falls_back_to_its_first_global_interface_address() {
        let interfaces = vec![
            interface("lo", true, &["127.0.0.1/8", "::1/128"]),
            interface("eth1", false, &["203.0.113.9/24"]),
            interface("eth0", true, &["10.0.0.5/24", "169.254.1.1/16", "100.64.0.1/10", "fe80::1/64", "fd00::1/64", "198.51.100.7/24", "198.51.100.50/24", "2001:db8::7/64"]),
        ];
        let undeclared = agent(None, interfaces.clone());
        assert_eq!(text(member_addresses(&undeclared, RecordType::A)), ["198.51.100.7"], "the first global one; not loopback, a down interface, private, link-local or shared; not the secondary");
        assert_eq!(text(member_addresses(&undeclared, RecordType::Aaaa)), ["2001:db8::7"], "not link-local or unique local");
        // A declaration wins, even for a family it does not cover.
        let declared = agent(Some(serde_json::json!(["192.0.2.1"])), interfaces.clone());
        assert_eq!(text(member_addresses(&declared, RecordType::A)), ["192.0.2.1"]);
        assert!(member_addresses(&declared, RecordType::Aaaa).is_empty());
        // An empty declaration is no declaration.
        assert_eq!(text(member_addresses(&agent(Some(serde_json::json!([])), interfaces), RecordType::A)), ["198.51.100.7"]);
        // Nothing global: no address, so not addressable.
        let private = agent(None, vec![interface("eth0", true, &["192.168.1.5/24", "172.16.0.1/12", "::ffff:198.51.100.1/128"])]);
        assert!(member_addresses(&private, RecordType::A).is_empty());
        assert!(member_addresses(&private, RecordType::Aaaa).is_empty());
    }
}
