//! E-mail through an SMTP relay (lettre): `smtp://host:port` (plain, for a local relay),
//! `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port` (implicit TLS); credentials
//! as `smtp://user:password@host`, as lettre's `from_url` reads them.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A bad relay URL or sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("smtp: {0}")]
pub struct MailError(String);

/// Sends mail through one relay, from one sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: show the host only.
        f.debug_struct("Mailer").field("relay", &self.relay).field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for relay `url` sending as `from` (`Fleet <fleet@example.com>` or a bare
    /// address). Errors name what is wrong (nothing is sent here).
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox = from.parse().map_err(|e| MailError(format!("sender {from:?}: {e}")))?;
        let parsed = reqwest::Url::parse(url).map_err(|e| MailError(format!("relay url: {e}")))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(MailError("relay url: the scheme must be smtp or smtps".into()));
        }
        let relay = format!("{}:{}", parsed.host_str().unwrap_or(""), parsed.port().map_or_else(|| "default".to_string(), |p| p.to_string()));
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailError(format!("relay url: {e}")))?;
        let transport = transport.timeout(Some(std::time::Duration::from_secs(10))).build();
        Ok(Mailer { transport, from, relay })
    }

    /// The relay, `host:port`.
    pub fn relay(&self) -> &str {
        &self.relay
    }

    /// Sends a plain-text message to every address of `to`; the relay's refusal or silence in
    /// words.
    pub async fn send(&self, to: &[String], subject: &str, body: &str) -> Result<(), String> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject).header(ContentType::TEXT_PLAIN);
        for address in to {
            let mailbox: Mailbox = address.parse().map_err(|e| format!("recipient {address:?}: {e}"))?;
            message = message.to(mailbox);
        }
        let message = message.body(body.to_string()).map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| crate::with_causes(&e))
    }
}
