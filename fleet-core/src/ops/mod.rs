//! Typed edit ops: the changes a transaction stages, as serde data (`{"op": "add_server", ...}`).
//!
//! ```text
//! base text -> parse -> Document -> apply ops in order (each validated) -> lossless render -> check
//! ```
//!
//! Every op edits the lossless [`Document`] in place: it rewrites only the words it touches, and
//! new lines take their siblings' indentation and line endings, so an edit changes only the lines
//! it must. An op that cannot apply (its backend does not exist, a server is already there ...)
//! fails the whole sequence with [`Error::Invalid`] naming the op's index and what is missing.

mod bodies;
mod files;
mod lines;
mod rules;
mod sections;
mod servers;

pub use bodies::{
    NewAclBody, NewBindBody, NewProxyBody, NewRuleBody, NewServerBody, ProxyChangeBody, ServerChangeBody,
};

pub use files::apply_to_bundle;
pub(crate) use files::audit_view;

use haproxy_model::{Document, SectionKind};

use crate::bundle::{BundlePath, FileKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which section a generic op addresses: `{"kind": "global"}`, `{"kind": "backend", "name": "app"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionRef {
    /// The section keyword (`global`, `defaults`, `frontend`, `backend`, `listen`, `peers` ...).
    pub kind: String,
    /// Its name; none for `global` and an unnamed `defaults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One typed change to a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EditOp {
    /// Replaces the whole text (must parse without errors); later ops apply to the new text.
    ReplaceText {
        /// The new configuration.
        text: String,
    },
    /// Appends `backend NAME [from DEFAULTS]` with the given directive lines (`"balance roundrobin"`).
    AddBackend {
        /// Backend name (must be new among proxies).
        name: String,
        /// Defaults section to inherit from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Directive lines, each as written in a configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lines: Vec<String>,
    },
    /// Renames a backend and/or changes its `from`.
    UpdateBackend {
        /// Current name.
        name: String,
        /// New name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rename: Option<String>,
        /// New `from` defaults; an empty string removes `from`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Deletes a backend with all its lines.
    DeleteBackend {
        /// Backend name.
        name: String,
    },
    /// Appends `frontend NAME [from DEFAULTS]` with the given directive lines.
    AddFrontend {
        /// Frontend name (must be new among proxies).
        name: String,
        /// Defaults section to inherit from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Directive lines, each as written in a configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lines: Vec<String>,
    },
    /// Renames a frontend and/or changes its `from`.
    UpdateFrontend {
        /// Current name.
        name: String,
        /// New name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rename: Option<String>,
        /// New `from` defaults; an empty string removes `from`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Deletes a frontend with all its lines.
    DeleteFrontend {
        /// Frontend name.
        name: String,
    },
    /// Adds a named section that is not a proxy (`defaults NAME [from D]`, `userlist NAME`,
    /// `peers NAME`, `resolvers NAME` ...) with the given directive lines. A `defaults` section
    /// goes right before the last defaults section, so that no proxy changes the defaults it
    /// inherits without `from` (at the end of the file when `from` names that last one, or when
    /// there is none); other kinds go at the end of the file.
    AddSection {
        /// The section kind and its name (new among the sections of that kind).
        section: SectionRef,
        /// Defaults section to inherit from (`defaults` only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Directive lines, each as written in a configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lines: Vec<String>,
    },
    /// Deletes a section that is not a proxy, with all its lines (an unnamed `defaults` when
    /// no name is given: the first one). Refused for a `defaults` section another section
    /// names in `from`.
    DeleteSection {
        /// The section.
        section: SectionRef,
    },
    /// Adds `server NAME ADDRESS [params] [weight N] [backup] [disabled]` after the backend's
    /// last server (or last directive).
    AddServer {
        /// Backend or listen section.
        backend: String,
        /// Server name (new in that backend).
        name: String,
        /// `host:port`, `ipv4@...`, `unix@...` ...
        address: String,
        /// `weight N` (0-256).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<u32>,
        /// Only used when the other servers are down.
        #[serde(default)]
        backup: bool,
        /// Maintenance: `disabled`.
        #[serde(default)]
        disabled: bool,
        /// Other parameters, as words (`["check", "inter", "2s"]`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        params: Vec<String>,
    },
    /// Changes a server: only the fields given, only the words they concern.
    UpdateServer {
        /// Backend or listen section.
        backend: String,
        /// Server name.
        name: String,
        /// New address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// New weight.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<u32>,
        /// Add or remove `backup`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup: Option<bool>,
        /// Maintenance on (`disabled`) or off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disabled: Option<bool>,
        /// Replaces every word after the address (then weight/backup/disabled above apply).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<Vec<String>>,
    },
    /// Deletes a server line.
    DeleteServer {
        /// Backend or listen section.
        backend: String,
        /// Server name.
        name: String,
    },
    /// Adds `bind ADDRESS [params]` after the frontend's last bind.
    AddBind {
        /// Frontend or listen section.
        frontend: String,
        /// `[addr]:port[,...]`, `unix@...` ...
        address: String,
        /// Other parameters, as words (`["ssl", "crt", "/etc/site.pem"]`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        params: Vec<String>,
    },
    /// Deletes the bind line whose address is `address`.
    DeleteBind {
        /// Frontend or listen section.
        frontend: String,
        /// The bind's address as a value.
        address: String,
    },
    /// Adds `acl NAME CRITERION...` after the proxy's last acl.
    AddAcl {
        /// Frontend, backend or listen section.
        proxy: String,
        /// ACL name.
        name: String,
        /// Criterion, flags and values, as words (`["path_beg", "/api"]`).
        words: Vec<String>,
    },
    /// Deletes every `acl NAME ...` line of the proxy.
    DeleteAcl {
        /// Frontend, backend or listen section.
        proxy: String,
        /// ACL name.
        name: String,
    },
    /// Inserts a rule (`http-request deny if bad`, `use_backend api if is_api` ...).
    AddRule {
        /// Frontend, backend or listen section.
        proxy: String,
        /// The whole rule as words, keyword first (`["http-request", "deny", "if", "bad"]`).
        words: Vec<String>,
        /// Position among the proxy's rules with the same keyword (0 = first); none = last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
    },
    /// Deletes the rule at `position` among the proxy's rules with keyword `keyword`.
    DeleteRule {
        /// Frontend, backend or listen section.
        proxy: String,
        /// Rule keyword (`http-request`, `use_backend` ...).
        keyword: String,
        /// Position among those rules (0 = first).
        position: usize,
    },
    /// Sets or (with none) removes `default_backend` of a frontend.
    SetDefaultBackend {
        /// Frontend or listen section.
        frontend: String,
        /// The backend to use.
        #[serde(default)]
        backend: Option<String>,
    },
    /// Sets a directive: replaces the arguments of the first `keyword` line of the section, or
    /// appends one (`{"keyword": "timeout", "args": ["connect", "5s"]}` matches on `timeout connect`).
    SetDirective {
        /// The section.
        section: SectionRef,
        /// The directive keyword.
        keyword: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
    },
    /// Deletes every line of the section with this keyword (and, when given, these first arguments).
    DeleteDirective {
        /// The section.
        section: SectionRef,
        /// The directive keyword.
        keyword: String,
        /// Leading arguments that must match too (`["connect"]` for `timeout connect`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
    },
    /// Inserts a line so that it becomes the `position`th with its keyword in the section
    /// (`position` = their count: after the last one).
    InsertLine {
        /// The section.
        section: SectionRef,
        /// The keyword of the lines counted (the first of `words`).
        keyword: String,
        /// 0-based, among the lines with `keyword`.
        position: usize,
        /// The whole line as words, keyword first.
        words: Vec<String>,
    },
    /// Rewrites the `position`th line with `keyword`, changing only the words that differ (its
    /// indent and comment stay).
    SetLine {
        /// The section.
        section: SectionRef,
        /// The keyword of the lines counted (the first of `words`).
        keyword: String,
        /// 0-based, among the lines with `keyword`.
        position: usize,
        /// The whole line as words, keyword first.
        words: Vec<String>,
    },
    /// Deletes the `position`th line with `keyword`.
    DeleteLine {
        /// The section.
        section: SectionRef,
        /// The keyword of the lines counted.
        keyword: String,
        /// 0-based, among the lines with `keyword`.
        position: usize,
    },
    /// Adds or replaces a file of the bundle (see [`crate::bundle`]); later ops see it.
    PutFile {
        /// Relative path in the managed directory.
        path: BundlePath,
        /// What it is; guessed from the name when absent ([`FileKind::guess`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<FileKind>,
        /// Permission bits; the kind's default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        /// The bytes, standard base64 (RFC 4648 §4).
        content_base64: String,
    },
    /// Removes a file of the bundle.
    DeleteFile {
        /// Relative path in the managed directory.
        path: BundlePath,
    },
}

impl EditOp {
    /// A [`EditOp::PutFile`] of `content` (encoded as the op carries it).
    pub fn put_file(path: BundlePath, kind: Option<FileKind>, mode: Option<u32>, content: &[u8]) -> EditOp {
        use base64::Engine as _;
        EditOp::PutFile { path, kind, mode, content_base64: base64::engine::general_purpose::STANDARD.encode(content) }
    }

    /// Whether the op changes the bundle's set of files (`put_file`, `delete_file`) rather
    /// than editing the first config file.
    pub fn is_file_op(&self) -> bool {
        matches!(self, EditOp::PutFile { .. } | EditOp::DeleteFile { .. })
    }

    /// The op's tag as in JSON (`add_server`), for messages.
    pub fn name(&self) -> &'static str {
        match self {
            EditOp::ReplaceText { .. } => "replace_text",
            EditOp::AddBackend { .. } => "add_backend",
            EditOp::UpdateBackend { .. } => "update_backend",
            EditOp::DeleteBackend { .. } => "delete_backend",
            EditOp::AddFrontend { .. } => "add_frontend",
            EditOp::UpdateFrontend { .. } => "update_frontend",
            EditOp::DeleteFrontend { .. } => "delete_frontend",
            EditOp::AddSection { .. } => "add_section",
            EditOp::DeleteSection { .. } => "delete_section",
            EditOp::AddServer { .. } => "add_server",
            EditOp::UpdateServer { .. } => "update_server",
            EditOp::DeleteServer { .. } => "delete_server",
            EditOp::AddBind { .. } => "add_bind",
            EditOp::DeleteBind { .. } => "delete_bind",
            EditOp::AddAcl { .. } => "add_acl",
            EditOp::DeleteAcl { .. } => "delete_acl",
            EditOp::AddRule { .. } => "add_rule",
            EditOp::DeleteRule { .. } => "delete_rule",
            EditOp::SetDefaultBackend { .. } => "set_default_backend",
            EditOp::SetDirective { .. } => "set_directive",
            EditOp::DeleteDirective { .. } => "delete_directive",
            EditOp::InsertLine { .. } => "insert_line",
            EditOp::SetLine { .. } => "set_line",
            EditOp::DeleteLine { .. } => "delete_line",
            EditOp::PutFile { .. } => "put_file",
            EditOp::DeleteFile { .. } => "delete_file",
        }
    }
}

/// Why one op could not apply (turned into [`Error::Invalid`] with the op's index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpError {
    message: String,
    diagnostics: Vec<haproxy_model::Diagnostic>,
}

impl OpError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        OpError { message: message.into(), diagnostics: Vec::new() }
    }
}

/// The model's editors decide what a valid edit is; an op reports their refusal as it is.
impl From<haproxy_model::EditError> for OpError {
    fn from(error: haproxy_model::EditError) -> Self {
        OpError::new(error.to_string())
    }
}

pub(crate) type OpResult<T = ()> = std::result::Result<T, OpError>;

/// Applies `ops` in order to `doc`. On failure `doc` may be partly edited: callers work on a copy.
pub fn apply_ops(doc: &mut Document, ops: &[EditOp]) -> Result<()> {
    for (index, op) in ops.iter().enumerate() {
        apply_op(doc, op).map_err(|e| Error::Invalid {
            message: format!("op {index} ({}): {}", op.name(), e.message),
            diagnostics: e.diagnostics,
        })?;
    }
    Ok(())
}

fn apply_op(doc: &mut Document, op: &EditOp) -> OpResult {
    match op {
        EditOp::ReplaceText { text } => {
            let parsed = haproxy_parse::parse(text);
            if parsed.has_errors() {
                return Err(OpError {
                    message: "the new text does not parse".into(),
                    diagnostics: parsed.diagnostics,
                });
            }
            *doc = parsed.document;
            Ok(())
        }
        EditOp::AddBackend { name, from, lines } => {
            sections::add_proxy(doc, SectionKind::Backend, name, from.as_deref(), lines)
        }
        EditOp::UpdateBackend { name, rename, from } => {
            sections::update_proxy(doc, &SectionKind::Backend, name, rename.as_deref(), from.as_deref())
        }
        EditOp::DeleteBackend { name } => sections::delete_proxy(doc, &SectionKind::Backend, name),
        EditOp::AddFrontend { name, from, lines } => {
            sections::add_proxy(doc, SectionKind::Frontend, name, from.as_deref(), lines)
        }
        EditOp::UpdateFrontend { name, rename, from } => {
            sections::update_proxy(doc, &SectionKind::Frontend, name, rename.as_deref(), from.as_deref())
        }
        EditOp::DeleteFrontend { name } => sections::delete_proxy(doc, &SectionKind::Frontend, name),
        EditOp::AddSection { section, from, lines } => sections::add_section(doc, section, from.as_deref(), lines),
        EditOp::DeleteSection { section } => sections::delete_section(doc, section),
        EditOp::AddServer { backend, name, address, weight, backup, disabled, params } => {
            let server = servers::NewServer { name, address, weight: *weight, backup: *backup, disabled: *disabled, params };
            servers::add_server(doc, backend, &server)
        }
        EditOp::UpdateServer { backend, name, address, weight, backup, disabled, params } => {
            let change = servers::ServerChange {
                address: address.as_deref(),
                weight: *weight,
                backup: *backup,
                disabled: *disabled,
                params: params.as_deref(),
            };
            servers::update_server(doc, backend, name, &change)
        }
        EditOp::DeleteServer { backend, name } => servers::delete_server(doc, backend, name),
        EditOp::AddBind { frontend, address, params } => servers::add_bind(doc, frontend, address, params),
        EditOp::DeleteBind { frontend, address } => servers::delete_bind(doc, frontend, address),
        EditOp::AddAcl { proxy, name, words } => rules::add_acl(doc, proxy, name, words),
        EditOp::DeleteAcl { proxy, name } => rules::delete_acl(doc, proxy, name),
        EditOp::AddRule { proxy, words, position } => rules::add_rule(doc, proxy, words, *position),
        EditOp::DeleteRule { proxy, keyword, position } => rules::delete_rule(doc, proxy, keyword, *position),
        EditOp::SetDefaultBackend { frontend, backend } => rules::set_default_backend(doc, frontend, backend.as_deref()),
        EditOp::SetDirective { section, keyword, args } => sections::set_directive(doc, section, keyword, args),
        EditOp::DeleteDirective { section, keyword, args } => sections::delete_directive(doc, section, keyword, args),
        EditOp::InsertLine { section, keyword, position, words } => lines::insert_line(doc, section, keyword, *position, words),
        EditOp::SetLine { section, keyword, position, words } => lines::set_line(doc, section, keyword, *position, words),
        EditOp::DeleteLine { section, keyword, position } => lines::delete_line(doc, section, keyword, *position),
        EditOp::PutFile { .. } | EditOp::DeleteFile { .. } => {
            Err(OpError::new("file ops change the bundle, not a config text (use apply_to_bundle)"))
        }
    }
}
