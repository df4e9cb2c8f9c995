//! [`Side`]: which proxies a name is looked up among. A `listen` section is a frontend and a
//! backend at once (configuration.txt §4), so it is on every side.

use crate::SectionKind;

/// Which proxies a name is looked up among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `frontend` and `listen` sections.
    Frontend,
    /// `backend` and `listen` sections.
    Backend,
    /// `frontend`, `backend` and `listen` sections.
    Any,
}

impl Side {
    /// True when a section of `kind` is on this side.
    pub fn matches(self, kind: &SectionKind) -> bool {
        match self {
            Side::Frontend => kind.has_frontend(),
            Side::Backend => kind.has_backend(),
            Side::Any => kind.is_proxy(),
        }
    }

    /// `frontend`, `backend` or `proxy`, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Side::Frontend => "frontend",
            Side::Backend => "backend",
            Side::Any => "proxy",
        }
    }

    /// The side a new section of `kind` takes its name on: HAProxy refuses two proxies of the
    /// same name only when their capabilities overlap (a frontend and a backend may share a
    /// name; a listen clashes with both).
    pub fn of(kind: &SectionKind) -> Side {
        match (kind.has_frontend(), kind.has_backend()) {
            (true, false) => Side::Frontend,
            (false, true) => Side::Backend,
            _ => Side::Any,
        }
    }

    /// `frontend`, `backend`, `listen` (or `proxy`) for a section of `kind`, for messages.
    pub(crate) fn kind_noun(kind: &SectionKind) -> &'static str {
        match kind {
            SectionKind::Frontend => "frontend",
            SectionKind::Backend => "backend",
            SectionKind::Listen => "listen",
            SectionKind::Defaults => "defaults",
            _ => "proxy",
        }
    }
}
