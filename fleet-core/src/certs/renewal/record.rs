//! The renewal state of one certificate as stored (table `renewals`), what the API shows, and
//! the requests that write it.

use serde::{Deserialize, Serialize};

use super::guard::RunawayGuard;
use super::schedule::{Lifetime, RenewalPlan};

/// A certificate the scheduler keeps renewed. Times are Unix ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Renewal {
    /// The certificate store's id.
    pub certificate_id: i64,
    /// Its DNS names, lowercase: each is leased while an order runs.
    pub names: Vec<String>,
    /// The ACME account that orders its renewal.
    pub account_id: Option<i64>,
    /// The ACME directory URL (where ARI is looked up).
    pub directory_url: Option<String>,
    /// `notBefore`/`notAfter` of the current certificate.
    pub lifetime: Lifetime,
    /// The ARI CertID of the current certificate (RFC 9773 §4.1), sent as `replaces`.
    pub cert_id: Option<String>,
    /// When to renew, and the window it was picked in.
    pub plan: RenewalPlan,
    /// The CA's `explanationURL` for its window, when it gave one.
    pub explanation_url: Option<String>,
    /// When to ask the CA's renewalInfo again; `None` without ARI.
    pub ari_next_check_ms: Option<i64>,
    /// Failed orders in a row.
    pub failures: u32,
    /// After a failure: no new order before this instant (backoff).
    pub retry_at_ms: Option<i64>,
    /// The last failure or refusal, for operators.
    pub last_error: Option<String>,
    /// Last change of this row.
    pub updated_at_ms: i64,
}

impl Renewal {
    /// Whether an order should start at `now_ms`: the planned instant has come and no backoff
    /// holds it back.
    pub fn is_due(&self, now_ms: i64) -> bool {
        self.plan.is_due(now_ms) && self.retry_at_ms.is_none_or(|at| at <= now_ms)
    }

    /// The next instant an order may start: the later of the plan and the backoff.
    pub fn next_attempt_ms(&self) -> i64 {
        self.plan.renew_at_ms.max(self.retry_at_ms.unwrap_or(i64::MIN))
    }
}

/// A renewal as the API shows it: the stored state plus when the next order may start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalStatus {
    /// The stored state.
    #[serde(flatten)]
    pub renewal: Renewal,
    /// The next instant an order may start (plan or backoff, whichever is later), Unix ms.
    pub next_attempt_ms: i64,
    /// Whether an order would start now.
    pub due: bool,
}

impl Renewal {
    /// The API's view at `now_ms`.
    pub fn status(self, now_ms: i64) -> RenewalStatus {
        RenewalStatus { next_attempt_ms: self.next_attempt_ms(), due: self.is_due(now_ms), renewal: self }
    }
}

/// A certificate to keep renewed (written when ACME issues or renews it).
#[derive(Debug, Clone)]
pub struct TrackRenewal<'a> {
    /// The certificate store's id.
    pub certificate_id: i64,
    /// The names the order covers.
    pub names: &'a [String],
    /// The ACME account that orders renewals.
    pub account_id: Option<i64>,
    /// The account's directory URL, for ARI.
    pub directory_url: Option<&'a str>,
    /// The issued certificate, DER (the leaf).
    pub der: &'a [u8],
}

/// A renewal order this replica may run now: it holds the lease on every name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalAttempt {
    /// Unique per attempt; rows of `renewal_orders`.
    pub id: i64,
    /// The certificate being renewed.
    pub certificate_id: i64,
    /// The names leased.
    pub names: Vec<String>,
    /// The ACME account to order with.
    pub account_id: Option<i64>,
    /// The ARI CertID of the certificate being replaced: the new order's `replaces` (RFC 9773 §5).
    pub replaces: Option<String>,
    /// Who holds the leases (`<replica>#<attempt id>`).
    pub holder: String,
}

/// What [`crate::Store::begin_renewal`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalStart {
    /// The leases are ours: start the order.
    Started(RenewalAttempt),
    /// Another holder (another replica) has an order in flight for one of the names.
    Busy {
        /// The name found leased.
        name: String,
    },
    /// Not due (any more: another replica renewed it meanwhile), or not tracked.
    NotDue,
    /// The runaway guard refused; recorded as the renewal's last error and in the audit log.
    Refused(RunawayGuard),
}

/// Lowercase, sorted, deduplicated names: leases are always taken in this order, so two
/// replicas wanting overlapping sets never deadlock on PostgreSQL row locks.
pub fn lease_names(names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect();
    names.sort();
    names.dedup();
    names
}
