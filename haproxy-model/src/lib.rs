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
//! # Typed views
//!
//! [`Proxy`], [`Server`], [`Bind`], [`Acl`], [`Rule`] ... read lines; [`ProxyMut`], [`ServerMut`] ...
//! edit them, changing only the words they touch. Editors that add something refuse what HAProxy
//! would not read (a bad name or address, a duplicate server) with an [`EditError`] and change
//! nothing; every frontend (fleet-core's edit ops, the Python bindings) relies on them for that.
//! A `listen` section is on both [`Side`]s.
//!
//! ```
//! use haproxy_model::{Condition, Document, PortSpec};
//!
//! let mut doc = Document::new();
//! let mut app = doc.add_backend("app")?;
//! app.set_timeout_duration("server", std::time::Duration::from_secs(30));
//! app.add_server("web1", "10.0.0.1:8080", &["check"])?.set_weight(5)?;
//! let mut www = doc.add_frontend("www")?;
//! www.add_bind(":80", &[] as &[&str])?;
//! www.add_acl("is_api", "path_beg", &["/api"])?;
//! let condition = Condition::parse(&["if", "is_api"]).unwrap();
//! www.add_use_backend("app", Some(&condition))?;
//!
//! let web1 = doc.backend("app").unwrap().server("web1").unwrap();
//! assert_eq!((web1.port(), web1.weight()), (Some(PortSpec::Single(8080)), Some(5)));
//! let mut text = String::new();
//! doc.lines().for_each(|line| line.render_into(&mut text));
//! assert_eq!(text, "backend app\n    timeout server 30s\n    server web1 10.0.0.1:8080 check weight 5\n\n\
//!                   frontend www\n    bind :80\n    acl is_api path_beg /api\n    use_backend app if is_api\n");
//! # Ok::<(), haproxy_model::EditError>(())
//! ```
//!
//! This crate does no I/O and no parsing of whole files; see `haproxy-parse` and
//! `haproxy-render`.
//!
//! Keepalived configuration lives in [`keepalived`]: the same lossless shape (words with their
//! raw text and trailing trivia) as a tree of statements and `{ }` blocks, with typed views.

mod address;
mod condition;
mod diagnostic;
mod document;
mod duration;
pub mod export;
pub mod keepalived;
pub mod keywords;
mod line;
mod quoting;
mod section;
mod trivia;
mod views;
mod word;

// One public path per type (STYLE 7, as toml_edit): the modules above are private and their
// items are re-exported here. `export`, `keepalived` and `keywords` stay public as namespaces:
// what they hold is reached only through them.
pub use address::{Address, AddressError, Host, PortSpec};
pub use condition::{Condition, ConditionError, Expr, Polarity};
pub use diagnostic::{Diagnostic, Severity};
pub use document::Document;
pub use duration::{format_duration, parse_duration, DurationError, TimeValue, MAX_MILLIS};
pub use line::{Conditional, Line, LineKind};
pub use quoting::{decode, env_ref_end, expand, quote, unquote, Decoded, EnvRef, Lookup, QuoteError};
pub use section::{Section, SectionKind, CANONICAL_INDENT};
pub use trivia::{LineEnding, Position};
pub use views::{
    atol_weight, check_bind_address, check_name, check_server_address, check_server_params, check_values, check_weight,
    invalid_char, Acl, AclFlag,
    AclMut, Balance, Bind, BindMut, EditError, Global, Group, HashType, LogTarget, Nameserver, OptionSetting, Param,
    Password, Peer, Peers, Proxy, ProxyMut, Resolvers, Rule, RuleMut, Server, ServerKind, ServerMut, Side, StickTable,
    Timeout, User, Userlist, MAX_WEIGHT, RULE_KEYWORDS,
};
pub use word::Word;
