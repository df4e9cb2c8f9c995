//! Lossless HAProxy configuration documents, with typed views on top.
//!
//! ```text
//! &str -> haproxy_parse::parse -> Document -> typed views / edits -> haproxy_render::lossless -> String
//!                                          \-> haproxy_render::format (canonical layout)
//! ```
//!
//! # The lossless invariant
//!
//! For every input that parses, `lossless(parse(s)) == s`, byte for byte: indentation, blanks
//! between words, quoting as written, comments, blank lines, CRLF, `.if` blocks and a missing
//! final newline all survive. A [`Document`] is a list of [`Line`]s grouped into [`Section`]s;
//! each line keeps its indent, its [`Word`]s (raw text plus the blanks after each), its comment
//! and its [`LineEnding`]. Edits through typed views replace only the words they touch; new lines
//! take their siblings' indentation and line ending.
//!
//! Values keep their raw text until edited: [`Word::value`] decodes HAProxy's quoting
//! (configuration.txt §2.2) on demand, [`Word::set_value`] re-quotes only when needed.
//!
//! This crate does no I/O and no parsing of whole files; see `haproxy-parse` and
//! `haproxy-render`.
//!
//! Keepalived configuration lives in [`keepalived`]: the same lossless shape (words with their
//! raw text and trailing trivia) as a tree of statements and `{ }` blocks, with typed views.

pub mod address;
pub mod condition;
mod diagnostic;
mod document;
pub mod duration;
pub mod export;
pub mod keepalived;
mod line;
pub mod keywords;
pub mod quoting;
mod section;
mod trivia;
pub mod views;
mod word;

pub use diagnostic::{Diagnostic, Severity};
pub use document::Document;
pub use line::{Conditional, Line, LineKind};
pub use quoting::{EnvRef, QuoteError};
pub use section::{Section, SectionKind, CANONICAL_INDENT};
pub use trivia::{LineEnding, Position};
pub use word::Word;

pub use address::{Address, AddressError, Host, PortSpec};
pub use condition::{Condition, ConditionError, Expr, Polarity};
pub use duration::{DurationError, TimeValue};
pub use views::{
    check_bind_address, check_name, check_server_address, check_values, check_weight, invalid_char, EditError, Proxy,
    ProxyMut, Side, MAX_WEIGHT, RULE_KEYWORDS,
};
