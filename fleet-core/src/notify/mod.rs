//! Notifications sent outside the fleet when something happens that an operator must hear of
//! (a DNS failover move today; alerts later).
//!
//! ```text
//! event (JSON document) -> Webhook::deliver: POST, retried with backoff on 5xx, 429 and
//!   transport errors; a 4xx other than 429 is final (the receiver refuses the document)
//!   -> Delivery {attempts, outcome} -> the caller's event log
//! ```

mod webhook;

pub use webhook::{Delivery, Webhook, WebhookError};
