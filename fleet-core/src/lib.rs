//! The HAProxy Fleet domain.
//!
//! ```text
//! text -> haproxy_parse -> Document -> typed edit ops -> candidate -> check -> new version
//!                                                        \-> diff against any version
//! ```

pub mod diff;
