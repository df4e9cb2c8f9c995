//! `server`, `default-server` and `server-template` lines (configuration.txt §4.2, §5.2).
//!
//! ```text
//! server          <name> <address>[:[port]] [param*]
//! default-server  [param*]
//! server-template <prefix> <num | range> <fqdn>[:<port>] [param*]
//! ```
//! In a `peers` section a local `server <name>` has no address; a word that is a known server
//! keyword in the address position is read as the first parameter.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::params::{self, Param};
use crate::address::{Address, AddressError, Host, PortSpec};
use crate::keywords::server::arity;
use crate::Line;

/// Which of the three server keywords a line uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerKind {
    /// `server`
    Server,
    /// `default-server`
    DefaultServer,
    /// `server-template`
    Template,
}

impl ServerKind {
    /// The kind for a line's keyword.
    pub fn from_keyword(keyword: &str) -> Option<ServerKind> {
        match keyword {
            "server" => Some(ServerKind::Server),
            "default-server" => Some(ServerKind::DefaultServer),
            "server-template" => Some(ServerKind::Template),
            _ => None,
        }
    }

    /// The keyword as written.
    pub fn keyword(self) -> &'static str {
        match self {
            ServerKind::Server => "server",
            ServerKind::DefaultServer => "default-server",
            ServerKind::Template => "server-template",
        }
    }
}

/// Word layout of a server line.
#[derive(Debug, Clone, Copy)]
struct Layout {
    kind: ServerKind,
    address: Option<usize>,
    params: usize,
}

fn layout(line: &Line) -> Option<Layout> {
    let kind = ServerKind::from_keyword(&line.keyword()?)?;
    let (address, params) = match kind {
        ServerKind::DefaultServer => (None, 1),
        ServerKind::Template => (Some(3), 4),
        ServerKind::Server => match line.value(2) {
            Some(word) if arity(&word).is_some() => (None, 2),
            _ => (Some(2), 3),
        },
    };
    Some(Layout { kind, address, params: params.min(line.words().len()) })
}

/// A read-only view of a server line.
#[derive(Debug, Clone, Copy)]
pub struct Server<'a> {
    line: &'a Line,
    index: usize,
    layout: Layout,
}

impl<'a> Server<'a> {
    /// A view of `line` (at `index` in its section) when it is a server line.
    pub fn new(line: &'a Line, index: usize) -> Option<Self> {
        layout(line).map(|layout| Server { line, index, layout })
    }

    /// The line.
    pub fn line(&self) -> &'a Line {
        self.line
    }

    /// Index of the line in its section.
    pub fn index(&self) -> usize {
        self.index
    }

    /// `server`, `default-server` or `server-template`.
    pub fn kind(&self) -> ServerKind {
        self.layout.kind
    }

    /// The server's name (the prefix of a template); `None` for `default-server`.
    pub fn name(&self) -> Option<Cow<'a, str>> {
        match self.layout.kind {
            ServerKind::DefaultServer => None,
            _ => self.line.value(1),
        }
    }

    /// A template's `<num | range>` word.
    pub fn template_range(&self) -> Option<Cow<'a, str>> {
        (self.layout.kind == ServerKind::Template).then(|| self.line.value(2)).flatten()
    }

    /// A template's numbers: `3` gives 1..=3, `5-7` gives 5..=7.
    pub fn template_numbers(&self) -> Option<(u32, u32)> {
        let range = self.template_range()?;
        match range.split_once('-') {
            Some((lo, hi)) => Some((lo.parse().ok()?, hi.parse().ok()?)),
            None => Some((1, range.parse().ok()?)),
        }
    }

    /// The address word's value as written (`10.0.0.1:80`, `${SRV}`).
    pub fn address_text(&self) -> Option<Cow<'a, str>> {
        self.layout.address.and_then(|i| self.line.value(i))
    }

    /// The parsed address, or why it cannot be read.
    pub fn address(&self) -> Option<Result<Address, AddressError>> {
        self.address_text().map(|text| Address::parse_server(&text))
    }

    /// The port, when the address is readable and has one.
    pub fn port(&self) -> Option<PortSpec> {
        self.address().and_then(Result::ok).and_then(|a| a.port)
    }

    /// Index of the first parameter word.
    pub fn params_start(&self) -> usize {
        self.layout.params
    }

    /// The parameters in order.
    pub fn params(&self) -> Vec<Param> {
        params::read(self.line, self.layout.params, arity)
    }

    /// The last occurrence of parameter `keyword`.
    pub fn param(&self, keyword: &str) -> Option<Param> {
        params::find(self.line, self.layout.params, arity, keyword)
    }

    /// The value of parameter `keyword`.
    pub fn param_value(&self, keyword: &str) -> Option<String> {
        self.param(keyword).and_then(|p| p.value)
    }

    /// True when flag `keyword` is present.
    pub fn has_flag(&self, keyword: &str) -> bool {
        params::has(self.line, self.layout.params, arity, keyword)
    }

    /// `weight <n>`, when present and numeric.
    pub fn weight(&self) -> Option<u32> {
        params::number(self.param_value("weight").map(Cow::Owned))
    }

    /// `maxconn <n>`, when present and numeric.
    pub fn maxconn(&self) -> Option<u32> {
        params::number(self.param_value("maxconn").map(Cow::Owned))
    }

    /// `check` is on (and not cancelled by a later `no-check`).
    pub fn has_check(&self) -> bool {
        self.last_of("check", "no-check")
    }

    /// `backup` is on (and not cancelled by a later `no-backup`).
    pub fn is_backup(&self) -> bool {
        self.last_of("backup", "no-backup")
    }

    /// `disabled`: the server starts in maintenance (a later `enabled` cancels it).
    pub fn is_disabled(&self) -> bool {
        self.last_of("disabled", "enabled")
    }

    /// True when the last of `on` / `off` present is `on`.
    fn last_of(&self, on: &str, off: &str) -> bool {
        self.params().iter().rev().find(|p| p.keyword == on || p.keyword == off).is_some_and(|p| p.keyword == on)
    }
}

/// An editor for a server line.
#[derive(Debug)]
pub struct ServerMut<'a> {
    line: &'a mut Line,
    index: usize,
}

impl<'a> ServerMut<'a> {
    /// An editor of a line the caller just built with the right keyword.
    pub(crate) fn at(line: &'a mut Line, index: usize) -> Self {
        ServerMut { line, index }
    }

    /// An editor of `line` (at `index` in its section) when it is a server line.
    pub fn new(line: &'a mut Line, index: usize) -> Option<Self> {
        layout(line)?;
        Some(ServerMut { line, index })
    }

    /// A read-only view of the line as it is now.
    pub fn view(&self) -> Server<'_> {
        let layout = layout(self.line).unwrap_or(Layout { kind: ServerKind::Server, address: None, params: 1 });
        Server { line: self.line, index: self.index, layout }
    }

    /// The line.
    pub fn line(&mut self) -> &mut Line {
        self.line
    }

    fn layout(&self) -> Layout {
        self.view().layout
    }

    /// Renames the server (the prefix of a template). Returns false for `default-server`.
    pub fn set_name(&mut self, name: &str) -> bool {
        self.layout().kind != ServerKind::DefaultServer && self.line.set_value(1, name)
    }

    /// Replaces the whole address word (`host:port`). Returns false when the line has none.
    pub fn set_address_text(&mut self, text: &str) -> bool {
        match self.layout().address {
            Some(i) => self.line.set_value(i, text),
            None => false,
        }
    }

    /// Changes the host and keeps the family prefix and the port.
    pub fn set_address(&mut self, host: &str) -> Result<(), AddressError> {
        let mut address = self.current_address()?;
        address.host = Host::parse(host)?;
        self.set_address_text(&address.to_string());
        Ok(())
    }

    /// Sets or removes the port, keeping the host.
    pub fn set_port(&mut self, port: Option<PortSpec>) -> Result<(), AddressError> {
        let mut address = self.current_address()?;
        if let Some(PortSpec::Range(..)) = port {
            return Err(AddressError::RangeNotAllowed(address.to_string()));
        }
        address.port = port;
        self.set_address_text(&address.to_string());
        Ok(())
    }

    fn current_address(&self) -> Result<Address, AddressError> {
        self.view().address().unwrap_or(Err(AddressError::Empty))
    }

    /// Sets `weight <n>`; refused above [`MAX_WEIGHT`](super::MAX_WEIGHT) (§5.2 `weight`).
    pub fn set_weight(&mut self, weight: u32) -> Result<(), super::EditError> {
        super::edit_error::check_weight(weight)?;
        self.set_param("weight", Some(&weight.to_string()));
        Ok(())
    }

    /// Sets `keyword value`, or removes the parameter with `None`.
    pub fn set_param(&mut self, keyword: &str, value: Option<&str>) {
        let start = self.layout().params;
        params::set(self.line, start, arity, keyword, value);
    }

    /// Adds or removes a flag such as `check`, `ssl`, `send-proxy`.
    pub fn set_flag(&mut self, keyword: &str, on: bool) {
        let start = self.layout().params;
        params::set_flag(self.line, start, arity, keyword, on);
    }

    /// Replaces every parameter with `words` (keywords and values, as they would be written);
    /// words already holding the right value are left as written.
    pub fn set_params<S: AsRef<str>>(&mut self, words: &[S]) {
        let start = self.layout().params;
        super::directive::set_args(self.line, start, words);
    }

    /// Puts the server in maintenance at start-up (`disabled`).
    pub fn disable(&mut self) {
        self.set_flag("enabled", false);
        self.set_flag("disabled", true);
    }

    /// Takes the server out of maintenance (removes `disabled`).
    pub fn enable(&mut self) {
        self.set_flag("disabled", false);
    }

    /// Makes the server a backup one, or a regular one.
    pub fn set_backup(&mut self, backup: bool) {
        if backup {
            self.set_flag("no-backup", false);
        }
        self.set_flag("backup", backup);
    }

    /// Turns health checks on or off.
    pub fn set_check(&mut self, check: bool) {
        if check {
            self.set_flag("no-check", false);
        }
        self.set_flag("check", check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(values: &[&str]) -> Line {
        Line::statement("    ", values)
    }

    #[test]
    fn reads_the_three_forms() {
        let l = line(&["server", "web1", "10.0.0.1:8080", "check", "weight", "5", "backup"]);
        let s = Server::new(&l, 0).unwrap();
        assert_eq!(s.kind(), ServerKind::Server);
        assert_eq!(s.name().as_deref(), Some("web1"));
        assert_eq!(s.port(), Some(PortSpec::Single(8080)));
        assert_eq!(s.weight(), Some(5));
        assert!(s.has_check() && s.is_backup() && !s.is_disabled());

        let l = line(&["default-server", "inter", "2s", "fall", "3"]);
        let s = Server::new(&l, 0).unwrap();
        assert_eq!((s.name(), s.address_text()), (None, None));
        assert_eq!(s.param_value("fall").as_deref(), Some("3"));

        let l = line(&["server-template", "srv", "5-7", "app.local:80", "check"]);
        let s = Server::new(&l, 0).unwrap();
        assert_eq!(s.template_numbers(), Some((5, 7)));
        assert_eq!(s.address_text().as_deref(), Some("app.local:80"));
        assert!(s.has_check());

        let l = line(&["server", "local", "check", "no-check"]);
        let s = Server::new(&l, 0).unwrap();
        assert_eq!(s.address_text(), None);
        assert!(!s.has_check());
        assert!(Server::new(&line(&["bind", ":80"]), 0).is_none());
    }

    #[test]
    fn edits_address_port_and_flags() {
        let mut l = line(&["server", "web1", "ipv6@[::1]:8080", "check"]);
        let mut s = ServerMut::new(&mut l, 0).unwrap();
        s.set_port(Some(PortSpec::Single(9090))).unwrap();
        s.set_address("2001:db8::7").unwrap();
        s.set_backup(true);
        s.disable();
        s.set_check(false);
        assert_eq!(l.text(), "    server web1 ipv6@[2001:db8::7]:9090 backup disabled");
        let mut s = ServerMut::new(&mut l, 0).unwrap();
        s.enable();
        s.set_port(None).unwrap();
        assert!(s.set_port(Some(PortSpec::Range(1, 2))).is_err());
        assert!(s.set_address("::1:").is_err(), "a host is not an address");
        assert_eq!(l.text(), "    server web1 ipv6@[2001:db8::7] backup");
        let mut s = ServerMut::new(&mut l, 0).unwrap();
        s.set_params(&["backup", "weight", "3"]);
        assert_eq!(s.view().weight(), Some(3));
        s.set_params(&[] as &[&str]);
        assert_eq!(l.text(), "    server web1 ipv6@[2001:db8::7]");
    }
}
