//! Who may do what: the policy of privileged directives ([`privileged`]), what in a configuration
//! runs programs on nodes or widens what HAProxy may do there, which needs the admin role, the
//! cluster's allowance and the node's own opt-in; and the rules of accounts: what a username
//! ([`usernames`]) and a password ([`passwords`]) may be, login throttling ([`throttle`]) and
//! the TOTP second factor ([`totp`]).

pub mod passwords;
pub mod privileged;
pub mod throttle;
pub mod totp;
pub mod usernames;

pub use privileged::{Privilege, PrivilegedUse, PRIVILEGES};
