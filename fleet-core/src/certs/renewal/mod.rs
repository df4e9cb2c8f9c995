//! Renewal of ACME certificates: when, by whom, and how often at most.
//!
//! ```text
//! issued certificate (DER) --cert_id::renewal_facts--> lifetime + ARI CertID
//!        |                                                   |
//!        |                          ari::AriClient: GET <renewalInfo>/<CertID> (RFC 9773)
//!        v                                                   v
//! schedule::plan(lifetime, ARI window?, previous pick, clock, random) -> renew_at  (stored)
//!        |
//! scheduler tick (every replica): due rows -> lease on every name (database, one statement
//!   per name) -> still due? -> guard: < N orders per name in 24 h -> OrderStarter (ACME order
//!   with `replaces` = CertID) -> issued: new facts, new plan | failed: backoff + audit alert
//! ```
//! The decisions ([`schedule`], [`guard`]) are pure, with the clock and randomness injected;
//! the lease and the order counts live in the store (`renewal_leases`, `renewal_orders`), so
//! several server replicas on one PostgreSQL database start exactly one order per name.

pub mod ari;
pub mod cert_id;
pub mod guard;
pub mod record;
pub mod schedule;
pub mod scheduler;

pub use ari::{AriClient, AriError, RenewalInfo};
pub use cert_id::{cert_id_from_parts, renewal_facts, CertIdError, RenewalFacts};
pub use guard::{RenewalPolicy, RunawayGuard};
pub use record::{Renewal, RenewalAttempt, RenewalStart, RenewalStatus, TrackRenewal};
pub use schedule::{Lifetime, RenewalPlan, Window, WindowSource};
pub use scheduler::{OrderStarter, RenewalScheduler, TickReport};
