//! DNS failover in a site file: a pool's `[pool.failover]` (the fields of
//! `PUT /api/v1/pools/{id}/failover`, with the DNS provider by name), planned against the
//! pool's stored settings and set through that route.
//!
//! ```toml
//! [[pool]]
//! name = "edge"
//! [pool.failover]
//! hostname = "www.example.com"
//! provider = "example-zone"          # a DNS provider of the server, by name
//! # record_types = ["A"], ttl = 60, automatic = true, detection_window_seconds = 30,
//! # hold_seconds = 300, failback = 600, probe = { frontend = "web" }, webhook_url = "https://..."
//! ```
//! `+ failover` for a pool without one, `~ failover` naming the settings that differ
//! (fleet-core `FailoverSettings::differences`; the active member is not a setting and is left
//! alone). The API has no route that removes a pool's failover, so --prune leaves it.

use fleet_core::failover::settings::FailoverSettings;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use toml::Spanned;

use super::file::{Known, Loaded, PoolSpec, SiteError};
use crate::cli::client::http::{escape, Api, Body};
use crate::cli::client::ClientError;

/// `[pool.failover]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailoverSpec {
    hostname: String,
    /// The DNS provider's name.
    #[serde(skip_serializing)]
    pub(crate) provider: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    automatic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detection_window_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failback: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: Option<fleet_core::failover::Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
}

impl FailoverSpec {
    /// The settings the API takes, with provider `provider_id`, checked (fleet-core).
    pub(crate) fn settings(&self, provider_id: i64) -> Result<FailoverSettings, String> {
        let mut body = serde_json::to_value(self).map_err(|e| e.to_string())?;
        body["provider_id"] = json!(provider_id);
        let settings: FailoverSettings = serde_json::from_value(body).map_err(|e| e.to_string())?;
        settings.check().map_err(|e| e.to_string())?;
        Ok(settings)
    }
}

fn provider_id(known: &Known, name: &str) -> Option<i64> {
    known.dns_providers.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
}

/// Checks each failover: a provider the server has (at `provider`), settings fleet-core
/// accepts (at the table).
pub(crate) fn check(site: &Loaded, known: &Known, errors: &mut Vec<SiteError>) {
    for pool in &site.site.pools {
        let Some(failover) = &pool.failover else { continue };
        let provider = &failover.get_ref().provider;
        match provider_id(known, provider.get_ref()) {
            None => errors.push(site.error_at(provider.span(), &format!("no DNS provider named {:?} on the server", provider.get_ref()))),
            Some(id) => {
                if let Err(e) = failover.get_ref().settings(id) {
                    errors.push(site.error_at(failover.span(), &format!("failover of pool {}: {e}", pool.name.get_ref())));
                }
            }
        }
    }
}

/// One failover change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailoverChange {
    pub(crate) pool: String,
    /// The settings that differ; empty: the pool has no failover yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) changed: Vec<&'static str>,
    pub(crate) settings: FailoverSettings,
}

impl FailoverChange {
    /// `+` (new) or `~`.
    pub(crate) fn sign(&self) -> char {
        if self.changed.is_empty() {
            '+'
        } else {
            '~'
        }
    }

    /// One line for people.
    pub(crate) fn headline(&self) -> String {
        match self.changed.is_empty() {
            true => format!("failover of pool {}: {} via provider {}", self.pool, self.settings.hostname, self.settings.provider_id),
            false => format!("failover of pool {}: {}", self.pool, self.changed.join(", ")),
        }
    }
}

fn path(pool: &str) -> String {
    format!("/pools/{}/failover", escape(pool))
}

/// The change that gives `pool` the file's failover, if any (`exists`: the pool is on the server).
pub(crate) fn plan(api: &Api, pool: &PoolSpec, known: &Known, exists: bool) -> Result<Option<FailoverChange>, ClientError> {
    let Some(spec) = &pool.failover else { return Ok(None) };
    let id = provider_id(known, spec.get_ref().provider.get_ref()).ok_or_else(|| ClientError::Usage("unknown DNS provider".into()))?;
    let settings = spec.get_ref().settings(id).map_err(ClientError::Usage)?;
    let name = pool.name.get_ref().clone();
    let stored = match exists {
        true => match api.get(&path(&name)) {
            Ok(found) => Some(serde_json::from_value::<FailoverSettings>(found["settings"].clone()).map_err(|e| ClientError::Answer(e.to_string()))?),
            Err(ClientError::Api { status: 404, .. }) => None,
            Err(other) => return Err(other),
        },
        false => None,
    };
    Ok(match stored {
        None => Some(FailoverChange { pool: name, changed: Vec::new(), settings }),
        Some(stored) => {
            let changed = settings.differences(&stored);
            (!changed.is_empty()).then_some(FailoverChange { pool: name, changed, settings })
        }
    })
}

/// Sets the pool's failover; the server's view of it.
pub(crate) fn execute(api: &Api, change: &FailoverChange) -> Result<Value, ClientError> {
    let body = serde_json::to_value(&change.settings).map_err(|e| ClientError::Answer(e.to_string()))?;
    api.json(reqwest::Method::PUT, &path(&change.pool), Body::Json(&body))
}
