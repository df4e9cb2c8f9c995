//! Alert rules as `POST /api/v1/alerts/rules` takes them and the API shows them.

use serde::{Deserialize, Serialize};

/// What an alert watches. Serialised with a `kind` tag
/// (`{"kind":"certificate_expiring","days":14}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// An agent is offline: no heartbeat within 3 of its heartbeat intervals. One alert per agent.
    AgentOffline,
    /// An agent's last apply did not run the version (`rejected`, `reload_failed`,
    /// `node_error`, `refused_by_node_policy`). One alert per agent.
    ApplyFailed,
    /// A node's managed files differ from what its agent applied (a hand edit, another tool;
    /// [`crate::monitor::drift`]). One alert per agent, resolved when the files match again.
    Drift,
    /// A backend has no server up on an online node (HAProxy says the backend is `DOWN`). One
    /// alert per node and backend.
    BackendDown,
    /// A server is `DOWN` on an online node (with `for_seconds`: down that long). One alert per
    /// node and server.
    ServerDown,
    /// A certificate expires within `days`. One alert per certificate.
    CertificateExpiring {
        /// Days before `not_after`, 1..=365.
        days: u32,
    },
    /// A VIP changed holder: a node's heartbeat shows it acquired the group's addresses (the
    /// MASTER transition as the server measures it). One notification per transition.
    VipMoved,
    /// A pool's DNS failover record moved (automatic, by hand or by cutover), or every member of
    /// the pool went down (the record keeps pointing where it did). One notification per move
    /// and per all-down episode. A failover belongs to a pool: a rule limited to a cluster hears
    /// of the failovers of the pool holding that cluster.
    DnsFailover,
}

impl Condition {
    /// True for conditions that notify an event once instead of a state that resolves.
    pub fn is_event(&self) -> bool {
        matches!(self, Condition::VipMoved | Condition::DnsFailover)
    }
}

/// Where an alert's notifications go. Serialised with a `type` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    /// A JSON document POSTed to `url` (`{"event":"alert.firing"|"alert.resolved"|"alert.event",
    /// "rule":{...},"alert":{...}}`).
    Webhook {
        /// `http` or `https`.
        url: String,
    },
    /// A Slack-compatible incoming webhook (`{"text": "..."}`), as Slack, Mattermost and
    /// Rocket.Chat accept.
    Slack {
        /// The incoming webhook URL.
        url: String,
    },
    /// E-mail through the server's SMTP relay (`fleet serve --smtp-url`).
    Email {
        /// Recipients.
        to: Vec<String>,
    },
}

/// `POST /api/v1/alerts/rules` and `PUT /api/v1/alerts/rules/{id}`. Unknown fields are not
/// refused here: a stored rule ([`AlertRule`]) is this object with its id and times beside, and
/// OpenAPI cannot describe a closed object extended that way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAlertRule {
    /// Unique name: letters, digits, blanks, `-`, `_`, `.`; 100 at most.
    pub name: String,
    /// What it watches.
    pub condition: Condition,
    /// Only this cluster's agents, VIPs and DNS failovers (a failover belongs to a pool: that of
    /// the pool holding the cluster); certificates are not filtered (a certificate belongs to
    /// the fleet); `null`: the whole fleet.
    #[serde(default)]
    pub cluster_id: Option<i64>,
    /// How long a condition must hold before the alert fires, seconds 0..=86400 (default 0).
    #[serde(default)]
    pub for_seconds: u64,
    /// Where notifications go (none: the alert is only listed).
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Evaluated at all (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    /// Random id below 2^53.
    pub id: i64,
    /// The rule as given.
    #[serde(flatten)]
    pub rule: NewAlertRule,
    /// Notifications are held back until this time, Unix ms (`POST .../silence`).
    pub silenced_until: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// Creation time, Unix ms (event conditions notify only what happens after it).
    pub created_at: i64,
}

impl NewAlertRule {
    /// Checks the fields: the name, `for_seconds`, the days of `certificate_expiring`, every
    /// channel's URL (`http`/`https`) and address (`local@domain`). The message names the field.
    pub fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.trim().is_empty()
            && self.name.chars().count() <= 100
            && self.name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
        if !name_ok {
            return Err(format!("name: {:?} must be 1 to 100 letters, digits, blanks, '-', '_' or '.'", self.name));
        }
        if self.for_seconds > 86_400 {
            return Err("for_seconds: 0 to 86400".into());
        }
        if let Condition::CertificateExpiring { days } = self.condition {
            if !(1..=365).contains(&days) {
                return Err("condition.days: 1 to 365".into());
            }
        }
        for (i, channel) in self.channels.iter().enumerate() {
            match channel {
                Channel::Webhook { url } | Channel::Slack { url } => {
                    crate::notify::Webhook::new(url).map_err(|e| format!("channels[{i}].url: {e}"))?;
                }
                Channel::Email { to } => {
                    if to.is_empty() {
                        return Err(format!("channels[{i}].to: at least one address"));
                    }
                    for address in to {
                        let valid = address.split_once('@').is_some_and(|(local, domain)| {
                            !local.is_empty() && domain.contains('.') && !address.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
                        });
                        if !valid {
                            return Err(format!("channels[{i}].to: {address:?} is not an e-mail address"));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(value: serde_json::Value) -> Result<NewAlertRule, String> {
        let rule: NewAlertRule = serde_json::from_value(value).map_err(|e| e.to_string())?;
        rule.check().map(|()| rule)
    }

    #[test]
    fn rules_are_read_and_checked() {
        let ok = rule(serde_json::json!({"name": "edge offline", "condition": {"kind": "agent_offline"},
            "channels": [{"type": "webhook", "url": "https://hooks.example.com/a"}, {"type": "email", "to": ["ops@example.com"]}]}))
        .unwrap();
        assert_eq!((ok.for_seconds, ok.enabled, ok.cluster_id), (0, true, None));
        assert!(rule(serde_json::json!({"name": "c", "condition": {"kind": "certificate_expiring", "days": 14}})).is_ok());
        for (bad, words) in [
            (serde_json::json!({"name": "", "condition": {"kind": "agent_offline"}}), "name"),
            (serde_json::json!({"name": "x", "condition": {"kind": "certificate_expiring", "days": 0}}), "days"),
            (serde_json::json!({"name": "x", "condition": {"kind": "agent_offline"}, "for_seconds": 100000}), "for_seconds"),
            (serde_json::json!({"name": "x", "condition": {"kind": "agent_offline"}, "channels": [{"type": "slack", "url": "ftp://x/"}]}), "channels[0].url"),
            (serde_json::json!({"name": "x", "condition": {"kind": "agent_offline"}, "channels": [{"type": "email", "to": ["nobody"]}]}), "channels[0].to"),
            (serde_json::json!({"name": "x", "condition": {"kind": "cpu_high"}}), "unknown variant"),
        ] {
            let error = rule(bad.clone()).unwrap_err();
            assert!(error.contains(words), "{bad}: {error}");
        }
    }
}
