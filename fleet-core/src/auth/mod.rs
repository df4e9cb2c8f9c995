//! Who may do what: the policy of privileged directives ([`privileged`]), what in a configuration
//! runs programs on nodes or widens what HAProxy may do there, which needs the admin role, the
//! cluster's allowance and the node's own opt-in.

pub mod privileged;

pub use privileged::{Privilege, PrivilegedUse, PRIVILEGES};
