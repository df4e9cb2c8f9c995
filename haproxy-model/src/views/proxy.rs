//! Read-only view of a proxy section: `defaults`, `frontend`, `backend`, `listen`
//! (configuration.txt §4).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::directive;
use super::{Acl, Bind, LogTarget, Rule, Server, ServerKind, StickTable};
use crate::duration::{DurationError, TimeValue};
use crate::{Section, SectionKind};

/// `balance <algorithm> [<arguments>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balance {
    /// `roundrobin`, `hdr(host)`, `url_param` ...
    pub algorithm: String,
    /// What follows the algorithm (`url_param userid check_post`).
    pub args: Vec<String>,
}

impl Balance {
    /// An algorithm without arguments.
    pub fn new(algorithm: &str) -> Self {
        Balance { algorithm: algorithm.to_string(), args: Vec::new() }
    }
}

/// `hash-type <method> <function> <modifier>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashType {
    /// `map-based` or `consistent`.
    pub method: String,
    /// `sdbm`, `djb2`, `wt6`, `crc32`.
    pub function: Option<String>,
    /// `avalanche`.
    pub modifier: Option<String>,
}

/// One `timeout <name> <value>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout<'a> {
    /// `connect`, `client`, `server` ...
    pub name: Cow<'a, str>,
    /// The parsed value, or why it cannot be read.
    pub value: Result<TimeValue, DurationError>,
    /// Index of the line in its section.
    pub index: usize,
}

/// One `option X` or `no option X` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSetting<'a> {
    /// The option's name (`httplog`, `forwardfor`).
    pub name: Cow<'a, str>,
    /// False for `no option X`.
    pub enabled: bool,
    /// Arguments after the name (`option forwardfor except 127.0.0.0/8`).
    pub args: Vec<Cow<'a, str>>,
    /// Index of the line in its section.
    pub index: usize,
}

/// A read-only view of a `defaults`, `frontend`, `backend` or `listen` section.
#[derive(Debug, Clone, Copy)]
pub struct Proxy<'a> {
    section: &'a Section,
}

impl<'a> Proxy<'a> {
    /// A view of `section` when it is a proxy or a `defaults` section.
    pub fn new(section: &'a Section) -> Option<Self> {
        (section.kind().is_proxy() || *section.kind() == SectionKind::Defaults).then_some(Proxy { section })
    }

    /// A view of a section the caller knows to be a proxy.
    pub(crate) fn of(section: &'a Section) -> Self {
        Proxy { section }
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// `frontend`, `backend`, `listen` or `defaults`.
    pub fn kind(&self) -> &'a SectionKind {
        self.section.kind()
    }

    /// The proxy's name (`None` for an anonymous `defaults`).
    pub fn name(&self) -> Option<Cow<'a, str>> {
        self.section.name()
    }

    /// The `defaults` section named after `from`.
    pub fn from(&self) -> Option<Cow<'a, str>> {
        self.section.from()
    }

    /// The first words' values of the last line starting with `prefix`, after the prefix.
    fn args_of(&self, prefix: &[&str]) -> Option<Vec<Cow<'a, str>>> {
        let line = &self.section.lines()[directive::last(self.section, prefix)?];
        Some(line.words()[prefix.len()..].iter().map(crate::Word::value).collect())
    }

    fn single(&self, keyword: &str) -> Option<Cow<'a, str>> {
        self.args_of(&[keyword])?.into_iter().next()
    }

    /// `mode tcp|http|log`.
    pub fn mode(&self) -> Option<Cow<'a, str>> {
        self.single("mode")
    }

    /// `balance <algorithm> [args]`.
    pub fn balance(&self) -> Option<Balance> {
        let mut args = self.args_of(&["balance"])?.into_iter().map(Cow::into_owned);
        Some(Balance { algorithm: args.next()?, args: args.collect() })
    }

    /// `hash-type <method> [<function> [<modifier>]]`.
    pub fn hash_type(&self) -> Option<HashType> {
        let mut args = self.args_of(&["hash-type"])?.into_iter().map(Cow::into_owned);
        Some(HashType { method: args.next()?, function: args.next(), modifier: args.next() })
    }

    /// `maxconn <n>` when numeric.
    pub fn maxconn(&self) -> Option<u32> {
        self.single("maxconn")?.parse().ok()
    }

    /// `default_backend <name>`.
    pub fn default_backend(&self) -> Option<Cow<'a, str>> {
        self.single("default_backend")
    }

    /// Every `timeout` line, in order.
    pub fn timeouts(&self) -> Vec<Timeout<'a>> {
        self.section
            .statements("timeout")
            .filter_map(|(index, line)| {
                let name = line.value(1)?;
                let value = TimeValue::parse(&line.value(2).unwrap_or_default());
                Some(Timeout { name, value, index })
            })
            .collect()
    }

    /// The value of `timeout <name>` (the last one wins), parsed.
    pub fn timeout(&self, name: &str) -> Option<Result<TimeValue, DurationError>> {
        self.timeouts().into_iter().rev().find(|t| t.name == name).map(|t| t.value)
    }

    /// Every `option X` / `no option X` line, in order.
    pub fn options(&self) -> Vec<OptionSetting<'a>> {
        self.section
            .lines()
            .iter()
            .enumerate()
            .filter_map(|(index, line)| {
                let (enabled, at) = if directive::starts_with(line, &["option"]) {
                    (true, 1)
                } else if directive::starts_with(line, &["no", "option"]) {
                    (false, 2)
                } else {
                    return None;
                };
                let name = line.value(at)?;
                let args = line.words()[at + 1..].iter().map(crate::Word::value).collect();
                Some(OptionSetting { name, enabled, args, index })
            })
            .collect()
    }

    /// `Some(true)` for `option name`, `Some(false)` for `no option name`, `None` when not
    /// set here; the last line wins.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options().into_iter().rev().find(|o| o.name == name).map(|o| o.enabled)
    }

    /// `log` and `no log` lines, in order.
    pub fn logs(&self) -> Vec<LogTarget> {
        self.section.lines().iter().filter_map(LogTarget::from_line).collect()
    }

    /// `bind` lines.
    pub fn binds(&self) -> Vec<Bind<'a>> {
        self.section.statements("bind").filter_map(|(i, l)| Bind::new(l, i)).collect()
    }

    fn servers_of(&self, kind: ServerKind) -> impl Iterator<Item = Server<'a>> + 'a {
        self.section.statements(kind.keyword()).filter_map(|(i, l)| Server::new(l, i))
    }

    /// `server` lines.
    pub fn servers(&self) -> Vec<Server<'a>> {
        self.servers_of(ServerKind::Server).collect()
    }

    /// The `server` named `name`.
    pub fn server(&self, name: &str) -> Option<Server<'a>> {
        self.servers_of(ServerKind::Server).find(|s| s.name().as_deref() == Some(name))
    }

    /// The last `default-server` line.
    pub fn default_server(&self) -> Option<Server<'a>> {
        self.servers_of(ServerKind::DefaultServer).last()
    }

    /// `server-template` lines.
    pub fn server_templates(&self) -> Vec<Server<'a>> {
        self.servers_of(ServerKind::Template).collect()
    }

    /// `acl` lines.
    pub fn acls(&self) -> Vec<Acl<'a>> {
        self.section.statements("acl").filter_map(|(i, l)| Acl::new(l, i)).collect()
    }

    /// The distinct ACL names declared here, in order of first declaration.
    pub fn acl_names(&self) -> Vec<Cow<'a, str>> {
        let mut names: Vec<Cow<'a, str>> = Vec::new();
        for name in self.acls().iter().filter_map(Acl::name) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// Every rule line (see [`super::RULE_KEYWORDS`]), in order.
    pub fn rules(&self) -> Vec<Rule<'a>> {
        self.section.lines().iter().enumerate().filter_map(|(i, l)| Rule::new(l, i)).collect()
    }

    /// The rules whose keyword is `keyword`.
    pub fn rules_of(&self, keyword: &str) -> Vec<Rule<'a>> {
        self.rules().into_iter().filter(|r| r.keyword() == keyword).collect()
    }

    /// `use_backend` rules.
    pub fn use_backends(&self) -> Vec<Rule<'a>> {
        self.rules_of("use_backend")
    }

    /// `stick on|match|store-request|store-response` rules.
    pub fn stick_rules(&self) -> Vec<Rule<'a>> {
        self.rules_of("stick")
    }

    /// The `stick-table` line.
    pub fn stick_table(&self) -> Option<StickTable> {
        self.section.statement("stick-table").and_then(StickTable::from_line)
    }
}
