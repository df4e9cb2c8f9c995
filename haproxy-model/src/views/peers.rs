//! `peers` sections (configuration.txt §3.5): `peer <name> <ip>:<port> [param*]`, `server
//! <name> [<ip>:<port>] [param*]` and `bind`.

use serde::{Deserialize, Serialize};

use super::params::{self, Param};
use super::{Bind, Server};
use crate::address::{Address, AddressError};
use crate::keywords::server::arity;
use crate::{Line, Section, SectionKind};

/// A `peer` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Peer {
    /// The peer's name (the local one is the host name or `localpeer`).
    pub name: String,
    /// The address as written.
    pub address: String,
    /// Parameters after the address.
    pub params: Vec<Param>,
    /// Index of the line in its section.
    #[serde(skip)]
    pub index: usize,
}

eq_without_position!(Peer, name, address, params);

impl Peer {
    /// Reads a `peer` line.
    pub fn from_line(line: &Line, index: usize) -> Option<Peer> {
        if line.keyword()? != "peer" {
            return None;
        }
        Some(Peer {
            name: line.value(1)?.into_owned(),
            address: line.value(2).map(|v| v.into_owned()).unwrap_or_default(),
            params: params::read(line, 3, arity),
            index,
        })
    }

    /// The parsed address.
    pub fn parsed_address(&self) -> Result<Address, AddressError> {
        Address::parse_server(&self.address)
    }
}

/// A read-only view of a `peers` section.
#[derive(Debug, Clone, Copy)]
pub struct Peers<'a> {
    section: &'a Section,
}

impl<'a> Peers<'a> {
    /// A view of `section` when it is a `peers` section.
    pub fn new(section: &'a Section) -> Option<Self> {
        (*section.kind() == SectionKind::Peers).then_some(Peers { section })
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// `peer` lines.
    pub fn peers(&self) -> Vec<Peer> {
        self.section.statements("peer").filter_map(|(i, l)| Peer::from_line(l, i)).collect()
    }

    /// `server` lines (the newer spelling of `peer`).
    pub fn servers(&self) -> Vec<Server<'a>> {
        self.section.statements("server").filter_map(|(i, l)| Server::new(l, i)).collect()
    }

    /// `bind` lines (the local peer's listener).
    pub fn binds(&self) -> Vec<Bind<'a>> {
        self.section.statements("bind").filter_map(|(i, l)| Bind::new(l, i)).collect()
    }
}
