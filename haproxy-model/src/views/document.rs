//! Typed accessors on [`Document`]: proxies by side and name, global, userlists, peers,
//! resolvers, and adding or removing frontends and backends.
//!
//! A `listen` section is a frontend and a backend at once, so it is returned by both
//! [`Document::frontends`] and [`Document::backends`] (and found by [`Document::backend`] /
//! [`Document::frontend`]); [`Document::listens`] returns listen sections only. The `remove_*`
//! and `add_*` methods act on the exact kind they name.

use super::{Global, Peers, Proxy, ProxyMut, Resolvers, Userlist};
use crate::{Document, Section, SectionKind};

impl Document {
    /// Frontends, backends and listens, in file order (not `defaults`).
    pub fn proxies(&self) -> impl Iterator<Item = Proxy<'_>> {
        self.sections().iter().filter(|s| s.kind().is_proxy()).map(Proxy::of)
    }

    /// Backends and listens, in file order.
    pub fn backends(&self) -> impl Iterator<Item = Proxy<'_>> {
        self.sections().iter().filter(|s| s.kind().has_backend()).map(Proxy::of)
    }

    /// Frontends and listens, in file order.
    pub fn frontends(&self) -> impl Iterator<Item = Proxy<'_>> {
        self.sections().iter().filter(|s| s.kind().has_frontend()).map(Proxy::of)
    }

    /// Listen sections only.
    pub fn listens(&self) -> impl Iterator<Item = Proxy<'_>> {
        self.sections().iter().filter(|s| *s.kind() == SectionKind::Listen).map(Proxy::of)
    }

    /// `defaults` sections, named or not, in file order.
    pub fn defaults(&self) -> impl Iterator<Item = Proxy<'_>> {
        self.sections().iter().filter(|s| *s.kind() == SectionKind::Defaults).map(Proxy::of)
    }

    /// The `defaults` section named `name`.
    pub fn defaults_named(&self, name: &str) -> Option<Proxy<'_>> {
        self.defaults().find(|p| p.name().as_deref() == Some(name))
    }

    /// The first `global` section.
    pub fn global(&self) -> Option<Global<'_>> {
        self.sections().iter().find_map(Global::new)
    }

    fn position_where(&self, name: &str, side: fn(&SectionKind) -> bool) -> Option<usize> {
        self.sections().iter().position(|s| side(s.kind()) && s.name().as_deref() == Some(name))
    }

    /// The backend or listen section named `name`.
    pub fn backend(&self, name: &str) -> Option<Proxy<'_>> {
        let index = self.position_where(name, SectionKind::has_backend)?;
        Some(Proxy::of(&self.sections()[index]))
    }

    /// The backend or listen section named `name`, for editing.
    pub fn backend_mut(&mut self, name: &str) -> Option<ProxyMut<'_>> {
        let index = self.position_where(name, SectionKind::has_backend)?;
        self.sections_mut().get_mut(index).and_then(ProxyMut::new)
    }

    /// The frontend or listen section named `name`.
    pub fn frontend(&self, name: &str) -> Option<Proxy<'_>> {
        let index = self.position_where(name, SectionKind::has_frontend)?;
        Some(Proxy::of(&self.sections()[index]))
    }

    /// The frontend or listen section named `name`, for editing.
    pub fn frontend_mut(&mut self, name: &str) -> Option<ProxyMut<'_>> {
        let index = self.position_where(name, SectionKind::has_frontend)?;
        self.sections_mut().get_mut(index).and_then(ProxyMut::new)
    }

    /// Any proxy or defaults section of `kind` named `name`, for editing.
    pub fn proxy_mut(&mut self, kind: &SectionKind, name: &str) -> Option<ProxyMut<'_>> {
        self.section_mut(kind, name).and_then(ProxyMut::new)
    }

    /// Appends an empty section `kind name` at the end of the file and returns its editor.
    fn add_proxy(&mut self, kind: SectionKind, name: &str) -> ProxyMut<'_> {
        let index = self.push_section(Section::new(kind, Some(name)));
        let section = &mut self.sections_mut()[index];
        ProxyMut::of(section)
    }

    /// Appends `backend <name>` at the end of the file.
    pub fn add_backend(&mut self, name: &str) -> ProxyMut<'_> {
        self.add_proxy(SectionKind::Backend, name)
    }

    /// Appends `frontend <name>` at the end of the file.
    pub fn add_frontend(&mut self, name: &str) -> ProxyMut<'_> {
        self.add_proxy(SectionKind::Frontend, name)
    }

    /// Appends `listen <name>` at the end of the file.
    pub fn add_listen(&mut self, name: &str) -> ProxyMut<'_> {
        self.add_proxy(SectionKind::Listen, name)
    }

    /// Removes the `backend` section named `name` (not a listen); returns it.
    pub fn remove_backend(&mut self, name: &str) -> Option<Section> {
        let index = self.section_index(&SectionKind::Backend, name)?;
        self.remove_section(index)
    }

    /// Removes the `frontend` section named `name` (not a listen); returns it.
    pub fn remove_frontend(&mut self, name: &str) -> Option<Section> {
        let index = self.section_index(&SectionKind::Frontend, name)?;
        self.remove_section(index)
    }

    /// Removes the `listen` section named `name`; returns it.
    pub fn remove_listen(&mut self, name: &str) -> Option<Section> {
        let index = self.section_index(&SectionKind::Listen, name)?;
        self.remove_section(index)
    }

    /// `userlist` sections.
    pub fn userlists(&self) -> impl Iterator<Item = Userlist<'_>> {
        self.sections().iter().filter_map(Userlist::new)
    }

    /// The `userlist` named `name`.
    pub fn userlist(&self, name: &str) -> Option<Userlist<'_>> {
        self.userlists().find(|u| u.section().name().as_deref() == Some(name))
    }

    /// `peers` sections.
    pub fn peers_sections(&self) -> impl Iterator<Item = Peers<'_>> {
        self.sections().iter().filter_map(Peers::new)
    }

    /// `resolvers` sections.
    pub fn resolvers_sections(&self) -> impl Iterator<Item = Resolvers<'_>> {
        self.sections().iter().filter_map(Resolvers::new)
    }
}
