//! Lossless keepalived.conf documents, with typed views on top.
//!
//! ```text
//! &str -> haproxy_parse::keepalived::parse -> keepalived::Document -> views / edits
//!      -> haproxy_render::keepalived::lossless -> String (byte for byte)
//!      -> haproxy_render::keepalived::format   -> canonical layout
//! VrrpGroup (typed spec) -> haproxy_render::keepalived::render_vrrp_group -> one keepalived.conf per node
//! ```
//!
//! The same lossless invariant as the HAProxy side holds: `lossless(parse(s)) == s` for every
//! input. A [`Document`] is a tree of [`Statement`]s and [`Block`]s whose [`Word`]s keep their
//! raw text and the trivia after them (blanks, `#` and `!` comments, line breaks, `\` line
//! continuations). `include` lines, `$VAR=value` definitions, `$VAR`/`${VAR}` uses, `@configid`
//! prefixes and `~SEQ` lines stay as written: nothing is expanded or resolved here.
//!
//! Positions and diagnostics reuse [`crate::Position`] and [`crate::Diagnostic`].

mod group;
mod lvs;
mod node;
mod tree;
mod vrrp;
mod word;

pub use group::{HealthCheck, VrrpGroup, VrrpGroupError, VrrpNode};
pub use node::{InstanceSpec, NodeSpec, NodeSpecError, TrackFileSpec, Unicast, VirtualAddress, VrrpVersion};
pub use lvs::{Check, RealServer, Url, VirtualServer, CHECKERS};
pub use tree::{is_definition_start, Block, Document, Statement};
pub use vrrp::{Authentication, GlobalDefs, ScriptUser, Tracked, VirtualIp, VrrpInstance, VrrpScript, VrrpSyncGroup};
pub use word::{quote, unquote, Word};
