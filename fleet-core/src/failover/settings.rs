//! A pool's failover settings as `PUT /api/v1/pools/{id}/failover` takes them, and what the
//! API shows of a pool's failover.

use serde::{Deserialize, Serialize};

use super::decide::{Failback, Policy};
use crate::dns::RecordType;
use crate::error::{Error, Result};

/// `PUT /api/v1/pools/{id}/failover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailoverSettings {
    /// The failover hostname (FQDN), inside the provider's zone.
    pub hostname: String,
    /// `A` and/or `AAAA` (default `["A"]`).
    #[serde(default = "default_types")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub record_types: Vec<RecordType>,
    /// The records' TTL, seconds (default 60): clients follow a move within it.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The DNS provider that changes the records.
    pub provider_id: i64,
    /// Move the record by itself when the active member fails (default true).
    #[serde(default = "yes")]
    pub automatic: bool,
    /// A member without a heartbeat for this long is down, 10..=120 (default 30).
    #[serde(default = "default_window")]
    pub detection_window_seconds: u64,
    /// At least this long between two moves (anti-flap), 0..=86400 (default 300).
    #[serde(default = "default_hold")]
    pub hold_seconds: u64,
    /// Go back to the member made active by hand once it has been healthy this many seconds;
    /// `null` (default): never by itself.
    #[serde(default)]
    pub failback: Option<u64>,
    /// The agent's own HTTP probe of a frontend on each member; a member whose probe fails is
    /// not healthy. `null` (default): heartbeats and HAProxy running only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<super::Probe>,
    /// Where to POST a JSON notification of every automatic move and every all-members-down
    /// episode (`http` or `https`),
    /// retried with backoff (5 attempts over about 15 s); `null` (default): none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The member to make active now (an agent name); absent keeps the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
}

fn default_types() -> Vec<RecordType> {
    vec![RecordType::A]
}

fn default_ttl() -> u32 {
    60
}

fn yes() -> bool {
    true
}

fn default_window() -> u64 {
    30
}

fn default_hold() -> u64 {
    300
}

impl FailoverSettings {
    /// Checks the fields that stand alone: a DNS hostname, A/AAAA only and once each, a TTL of
    /// 1..=86400, the window 10..=120 s (a heartbeat every 5 s: two missed at least), the hold
    /// 0..=86400 s. [`Error::Invalid`] naming the field.
    pub fn check(&self) -> Result<()> {
        let host = self.hostname.trim_end_matches('.');
        if !crate::certs::acme::valid_dns_name(host) || host.starts_with("*.") {
            return Err(Error::invalid(format!("hostname: {:?} is not a DNS name", self.hostname)));
        }
        if self.record_types.is_empty() {
            return Err(Error::invalid("record_types: A, AAAA or both"));
        }
        for (i, t) in self.record_types.iter().enumerate() {
            if !matches!(t, RecordType::A | RecordType::Aaaa) {
                return Err(Error::invalid(format!("record_types: {t} is not A or AAAA")));
            }
            if self.record_types[..i].contains(t) {
                return Err(Error::invalid(format!("record_types: {t} twice")));
            }
        }
        if !(1..=86_400).contains(&self.ttl) {
            return Err(Error::invalid("ttl: 1 to 86400 seconds"));
        }
        if !(10..=120).contains(&self.detection_window_seconds) {
            return Err(Error::invalid("detection_window_seconds: 10 to 120"));
        }
        if self.hold_seconds > 86_400 {
            return Err(Error::invalid("hold_seconds: 0 to 86400"));
        }
        if self.failback.is_some_and(|s| s > 86_400) {
            return Err(Error::invalid("failback: seconds of health, 0 to 86400, or null for never"));
        }
        if let Some(probe) = &self.probe {
            probe.check().map_err(Error::invalid)?;
        }
        if let Some(url) = &self.webhook_url {
            crate::notify::Webhook::new(url).map_err(|e| Error::invalid(format!("webhook_url: {e}")))?;
        }
        Ok(())
    }

    /// What these settings (a site file's, say) change in the stored ones: the names of the
    /// fields that differ. `active` is left out: it is the member made active now, not a
    /// setting kept (the stored settings never hold it).
    pub fn differences(&self, stored: &FailoverSettings) -> Vec<&'static str> {
        let host = |h: &str| h.trim_end_matches('.').to_ascii_lowercase();
        let fields: [(&'static str, bool); 10] = [
            ("hostname", host(&self.hostname) != host(&stored.hostname)),
            ("record_types", self.record_types != stored.record_types),
            ("ttl", self.ttl != stored.ttl),
            ("provider", self.provider_id != stored.provider_id),
            ("automatic", self.automatic != stored.automatic),
            ("detection_window_seconds", self.detection_window_seconds != stored.detection_window_seconds),
            ("hold_seconds", self.hold_seconds != stored.hold_seconds),
            ("failback", self.failback != stored.failback),
            ("probe", self.effective_probe() != stored.effective_probe()),
            ("webhook_url", self.webhook_url != stored.webhook_url),
        ];
        fields.iter().filter(|(_, differs)| *differs).map(|(name, _)| *name).collect()
    }

    /// The decision's policy.
    pub fn policy(&self) -> Policy {
        Policy {
            automatic: self.automatic,
            hold_ms: i64::try_from(self.hold_seconds * 1000).unwrap_or(i64::MAX),
            failback: self.failback.map_or(Failback::Never, |seconds| Failback::WhenHealthyFor { seconds }),
        }
    }

    /// The probe members' agents run: `probe` with its `host` defaulting to the failover
    /// hostname (what the heartbeat answer carries, and what a report must match).
    pub fn effective_probe(&self) -> Option<super::Probe> {
        let mut probe = self.probe.clone()?;
        probe.host.get_or_insert_with(|| self.hostname.trim_end_matches('.').to_string());
        Some(probe)
    }

    /// The detection window in ms.
    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.detection_window_seconds * 1000).unwrap_or(i64::MAX)
    }
}

/// One member as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailoverMember {
    /// The agent's name.
    pub agent: String,
    /// Its cluster.
    pub cluster_id: i64,
    /// The addresses the record would point at: declared with `fleet-agent --public-ip`, else
    /// the first global unicast address per family among the interfaces the agent reports.
    pub addresses: Vec<String>,
    /// Healthy now (heartbeat within the window, HAProxy running, the probe not failing).
    pub healthy: bool,
    /// Its last report of the pool's probe, when the pool has one and the agent reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<super::ProbeReport>,
    /// Its last heartbeat (RFC 3339, UTC, as in the cluster status; Unix ms inside).
    #[serde(with = "crate::clock::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen_at: Option<i64>,
}

/// A pool's failover (`GET /api/v1/pools/{id}/failover`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolFailover {
    /// The pool.
    pub pool_id: i64,
    /// Its settings (`active` is the field below).
    pub settings: FailoverSettings,
    /// The member the record points at.
    pub active: Option<String>,
    /// The member last made active by hand (fail-back goes there).
    pub preferred: Option<String>,
    /// When the record last moved, Unix ms.
    pub last_move_at: Option<i64>,
    /// The members, in pool order (cluster, then agent name).
    pub members: Vec<FailoverMember>,
    /// What the provider's server answers for the hostname now, per record type
    /// (`A: 198.51.100.7`), or why it could not be asked.
    pub published: Vec<String>,
}

/// One entry of a pool's failover timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailoverEvent {
    /// Unix ms.
    pub at: i64,
    /// `detection`, `decision`, `dns_update`, `error`, `manual`, `all_down` (every member
    /// down: the record keeps pointing where it did; an alert and the webhook follow),
    /// `notification`, `settings`.
    pub kind: String,
    /// What happened, lowercase.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_changed_settings_and_leave_active_out() {
        let stored: FailoverSettings = serde_json::from_value(serde_json::json!({"hostname": "www.example.com", "provider_id": 7})).unwrap();
        let same = FailoverSettings { hostname: "WWW.example.com.".into(), active: Some("lb1".into()), ..stored.clone() };
        assert!(same.differences(&stored).is_empty());
        let changed = FailoverSettings { ttl: 30, provider_id: 8, failback: Some(60), ..stored.clone() };
        assert_eq!(changed.differences(&stored), ["ttl", "provider", "failback"]);
    }

    #[test]
    fn members_show_their_last_heartbeat_in_rfc3339() {
        let member = FailoverMember { agent: "a".into(), cluster_id: 1, addresses: vec![], healthy: true, probe: None, last_seen_at: Some(1_796_125_579_042) };
        let shown = serde_json::to_value(&member).unwrap();
        assert_eq!(shown["last_seen_at"], "2026-12-01T11:46:19.042Z");
        assert_eq!(serde_json::from_value::<FailoverMember>(shown).unwrap(), member);
        let never = FailoverMember { last_seen_at: None, ..member };
        assert_eq!(serde_json::to_value(&never).unwrap()["last_seen_at"], serde_json::Value::Null);
    }
}
