//! Notifications sent outside the fleet when something happens that an operator must hear of
//! (DNS failover moves, alerts): JSON webhooks and e-mail.
//!
//! ```text
//! event (JSON document) -> Webhook::deliver: POST, retried with backoff on 5xx, 429 and
//!   transport errors; a 4xx other than 429 is final (the receiver refuses the document)
//!   -> Delivery {attempts, outcome} -> the caller's event log
//! ```

mod email;
mod webhook;

pub use email::{MailError, Mailer};
pub use webhook::{Delivery, Webhook, WebhookError};
