//! The server task that evaluates alert rules every `interval` and sends the notices of the
//! transitions this replica made (see [`crate::alerts`]), each through every channel of its
//! rule, the outcomes recorded on the alert.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::Channel;
use crate::clock::OsRandom;
use crate::notify::{Mailer, Webhook};
use crate::{AlertNotice, Store};

/// Evaluates alerts; one per server.
#[derive(Debug, Clone)]
pub struct Evaluator {
    store: Store,
    mailer: Option<Arc<Mailer>>,
    interval: Duration,
}

impl Evaluator {
    /// An evaluator of `store`'s rules every `interval`, mailing through `mailer` when the
    /// server has a relay (an e-mail channel without one records why nothing was sent).
    pub fn new(store: Store, mailer: Option<Mailer>, interval: Duration) -> Evaluator {
        Evaluator { store, mailer: mailer.map(Arc::new), interval }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.alert_tick().await {
                Ok(notices) => {
                    for notice in notices {
                        tokio::spawn(deliver(self.store.clone(), self.mailer.clone(), notice));
                    }
                }
                Err(error) => tracing::warn!(%error, "alerts: cannot evaluate"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// The generic webhook document.
pub fn document(notice: &AlertNotice) -> serde_json::Value {
    json!({
        "event": format!("alert.{}", notice.transition),
        "rule": {"id": notice.rule.id, "name": notice.rule.rule.name, "condition": notice.rule.rule.condition},
        "alert": notice.alert,
    })
}

/// One line for chat and the e-mail subject: `[FIRING] edge offline: agent …`.
pub fn headline(notice: &AlertNotice) -> String {
    format!("[{}] {}: {}", notice.transition.to_ascii_uppercase(), notice.rule.rule.name, notice.alert.summary)
}

async fn deliver(store: Store, mailer: Option<Arc<Mailer>>, notice: AlertNotice) {
    let mut outcomes = Vec::new();
    for channel in &notice.rule.rule.channels {
        let outcome = match channel {
            Channel::Webhook { url } | Channel::Slack { url } => {
                let body = match channel {
                    Channel::Slack { .. } => json!({"text": headline(&notice)}),
                    _ => document(&notice),
                };
                match Webhook::new(url) {
                    Ok(webhook) => {
                        let delivery = webhook.deliver(&body, &OsRandom).await;
                        match delivery.outcome {
                            Ok(status) => format!("{url} answered {status}"),
                            Err(why) => format!("{url} not delivered after {} attempts: {why}", delivery.attempts),
                        }
                    }
                    Err(e) => e.to_string(),
                }
            }
            Channel::Email { to } => match &mailer {
                Some(mailer) => {
                    let body = format!("{}\n\nrule: {}\nsubject: {}\nstarted: {}\n", headline(&notice), notice.rule.rule.name, notice.alert.subject, crate::clock::rfc3339(notice.alert.started_at));
                    match mailer.send(to, &headline(&notice), &body).await {
                        Ok(()) => format!("mail to {} accepted by {}", to.join(", "), mailer.relay()),
                        Err(why) => format!("mail to {} not sent: {why}", to.join(", ")),
                    }
                }
                None => format!("mail to {} not sent: the server has no smtp relay (fleet serve --smtp-url)", to.join(", ")),
            },
        };
        outcomes.push(outcome);
    }
    if outcomes.is_empty() {
        return;
    }
    if let Err(error) = store.record_alert_delivery(notice.alert.id, &outcomes.join("; ")).await {
        tracing::warn!(%error, "alerts: cannot record a delivery");
    }
}
