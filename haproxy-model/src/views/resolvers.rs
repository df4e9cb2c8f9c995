//! `resolvers` sections (configuration.txt §5.3.2): `nameserver <name> <address>[:port]`.

use serde::{Deserialize, Serialize};

use crate::address::{Address, AddressError};
use crate::{Line, Section, SectionKind};

/// A `nameserver` line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Nameserver {
    /// The name server's label.
    pub name: String,
    /// The address as written (`10.0.0.1:53`, `udp@1.1.1.1:53`, `tcp@...`).
    pub address: String,
    /// Index of the line in its section.
    #[serde(skip)]
    pub index: usize,
}

eq_without_position!(Nameserver, name, address);

impl Nameserver {
    /// Reads a `nameserver` line.
    pub fn from_line(line: &Line, index: usize) -> Option<Nameserver> {
        if line.keyword()? != "nameserver" {
            return None;
        }
        Some(Nameserver {
            name: line.value(1)?.into_owned(),
            address: line.value(2).map(|v| v.into_owned()).unwrap_or_default(),
            index,
        })
    }

    /// The parsed address.
    pub fn parsed_address(&self) -> Result<Address, AddressError> {
        Address::parse_server(&self.address)
    }
}

/// A read-only view of a `resolvers` section.
#[derive(Debug, Clone, Copy)]
pub struct Resolvers<'a> {
    section: &'a Section,
}

impl<'a> Resolvers<'a> {
    /// A view of `section` when it is a `resolvers` section.
    pub fn new(section: &'a Section) -> Option<Self> {
        (*section.kind() == SectionKind::Resolvers).then_some(Resolvers { section })
    }

    /// The section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// `nameserver` lines.
    pub fn nameservers(&self) -> Vec<Nameserver> {
        self.section.statements("nameserver").filter_map(|(i, l)| Nameserver::from_line(l, i)).collect()
    }
}
