//! `fleet serve`'s alert flags (issue 17): how often rules are evaluated, and the SMTP relay
//! e-mail channels send through.

use std::time::Duration;

use fleet_core::notify::{MailError, Mailer};

/// The alert flags of `fleet serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct AlertArgs {
    /// How often alert rules are evaluated, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    alert_interval_ms: u64,
    /// The SMTP relay alert e-mail goes through: `smtp://host:port` (plain, a local relay),
    /// `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port`; credentials as
    /// `smtp://user:password@host`. Without it, e-mail channels record that nothing was sent.
    #[arg(long, value_name = "URL")]
    smtp_url: Option<String>,
    /// The sender of alert e-mail.
    #[arg(long, value_name = "ADDRESS", default_value = "HAProxy Fleet <fleet@localhost>")]
    smtp_from: String,
}

impl AlertArgs {
    /// The evaluation interval.
    pub(crate) fn interval(&self) -> Duration {
        Duration::from_millis(self.alert_interval_ms)
    }

    /// The mailer, when a relay is given; a bad URL or sender stops the start.
    pub(crate) fn mailer(&self) -> Result<Option<Mailer>, MailError> {
        self.smtp_url.as_deref().map(|url| Mailer::new(url, &self.smtp_from)).transpose()
    }
}
