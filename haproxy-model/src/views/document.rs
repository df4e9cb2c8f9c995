//! Typed accessors on [`Document`]: proxies by side and name, global, userlists, peers,
//! resolvers, and adding or removing frontends and backends.
//!
//! A `listen` section is a frontend and a backend at once, so it is returned by both
//! [`Document::frontends`] and [`Document::backends`] (and found by [`Document::backend`] /
//! [`Document::frontend`]); [`Document::listens`] returns listen sections only. The `remove_*`
//! and `add_*` methods act on the exact kind they name.

use super::edit_error::check_name;
use super::{EditError, Global, Peers, Proxy, ProxyMut, Resolvers, Side, Userlist};
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

    /// The index among the sections of the proxy `name` on `side`.
    pub fn proxy_index(&self, side: Side, name: &str) -> Option<usize> {
        self.sections().iter().position(|s| side.matches(s.kind()) && s.name().as_deref() == Some(name))
    }

    /// The proxy `name` on `side` (a `listen` section is on every side).
    pub fn proxy(&self, side: Side, name: &str) -> Option<Proxy<'_>> {
        let index = self.proxy_index(side, name)?;
        self.sections().get(index).map(Proxy::of)
    }

    /// The proxy `name` on `side`, for editing.
    pub fn proxy_mut(&mut self, side: Side, name: &str) -> Option<ProxyMut<'_>> {
        let index = self.proxy_index(side, name)?;
        self.sections_mut().get_mut(index).map(ProxyMut::of)
    }

    /// The proxy `name` on `side`, for editing, or [`EditError::NotFound`].
    pub fn try_proxy_mut(&mut self, side: Side, name: &str) -> Result<ProxyMut<'_>, EditError> {
        self.proxy_mut(side, name).ok_or_else(|| EditError::NotFound { what: side.noun(), name: name.to_string(), proxy: None })
    }

    /// The names of the proxies on `side`, in file order.
    pub fn proxy_names(&self, side: Side) -> Vec<String> {
        self.sections().iter().filter(|s| side.matches(s.kind())).filter_map(|s| s.name().map(|n| n.into_owned())).collect()
    }

    /// The backend or listen section named `name`.
    pub fn backend(&self, name: &str) -> Option<Proxy<'_>> {
        self.proxy(Side::Backend, name)
    }

    /// The backend or listen section named `name`, for editing.
    pub fn backend_mut(&mut self, name: &str) -> Option<ProxyMut<'_>> {
        self.proxy_mut(Side::Backend, name)
    }

    /// The frontend or listen section named `name`.
    pub fn frontend(&self, name: &str) -> Option<Proxy<'_>> {
        self.proxy(Side::Frontend, name)
    }

    /// The frontend or listen section named `name`, for editing.
    pub fn frontend_mut(&mut self, name: &str) -> Option<ProxyMut<'_>> {
        self.proxy_mut(Side::Frontend, name)
    }

    /// The `defaults` section named `name`, for editing.
    pub fn defaults_mut(&mut self, name: &str) -> Option<ProxyMut<'_>> {
        self.section_mut(&SectionKind::Defaults, name).and_then(ProxyMut::new)
    }

    /// Appends an empty section `kind name` at the end of the file and returns its editor.
    /// Refused when the name is not one HAProxy accepts ([`EditError::InvalidName`]) or is taken
    /// on the new section's side ([`Side::of`]; [`EditError::Duplicate`]).
    fn add_proxy(&mut self, kind: SectionKind, name: &str) -> Result<ProxyMut<'_>, EditError> {
        check_name(Side::kind_noun(&kind), name)?;
        if let Some(existing) = self.proxy(Side::of(&kind), name) {
            let what = Side::kind_noun(existing.kind());
            return Err(EditError::Duplicate { what, name: name.to_string(), proxy: None });
        }
        let index = self.push_section(Section::new(kind, Some(name)));
        let section = &mut self.sections_mut()[index];
        Ok(ProxyMut::of(section))
    }

    /// Renames the proxy `name` on `side`: refused when the new name is not one HAProxy accepts
    /// or is taken on the section's side ([`Side::of`]).
    pub fn rename_proxy(&mut self, side: Side, name: &str, new_name: &str) -> Result<(), EditError> {
        let index = self
            .proxy_index(side, name)
            .ok_or_else(|| EditError::NotFound { what: side.noun(), name: name.to_string(), proxy: None })?;
        if new_name == name {
            return Ok(());
        }
        let kind = self.sections()[index].kind().clone();
        check_name(Side::kind_noun(&kind), new_name)?;
        if let Some(existing) = self.proxy(Side::of(&kind), new_name) {
            let what = Side::kind_noun(existing.kind());
            return Err(EditError::Duplicate { what, name: new_name.to_string(), proxy: None });
        }
        self.sections_mut()[index].set_name(new_name);
        Ok(())
    }

    /// Appends `backend <name>` at the end of the file.
    pub fn add_backend(&mut self, name: &str) -> Result<ProxyMut<'_>, EditError> {
        self.add_proxy(SectionKind::Backend, name)
    }

    /// Appends `frontend <name>` at the end of the file.
    pub fn add_frontend(&mut self, name: &str) -> Result<ProxyMut<'_>, EditError> {
        self.add_proxy(SectionKind::Frontend, name)
    }

    /// Appends `listen <name>` at the end of the file.
    pub fn add_listen(&mut self, name: &str) -> Result<ProxyMut<'_>, EditError> {
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
