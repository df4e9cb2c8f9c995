//! Reading proxies and their parts out of a configuration text, for the API's GET routes.
//!
//! ```text
//! text -> haproxy_parse -> Document -> haproxy_model::export::to_model -> sections / directives
//! ```
//!
//! `backend` routes see `backend` and `listen` sections (both hold servers), `frontend` routes
//! see `frontend` and `listen` sections (both hold binds). What is returned is the typed export
//! model, with line numbers into the text, so a client can point at the line it came from.

use haproxy_model::export::{to_model, Directive, DirectiveBody, SectionModel};
use haproxy_model::ServerKind;

use crate::error::{Error, Result};

/// Which side of a proxy a route addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `backend` and `listen` sections.
    Backend,
    /// `frontend` and `listen` sections.
    Frontend,
}

impl ProxyKind {
    fn matches(self, kind: &str) -> bool {
        match self {
            ProxyKind::Backend => kind == "backend" || kind == "listen",
            ProxyKind::Frontend => kind == "frontend" || kind == "listen",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ProxyKind::Backend => "backend",
            ProxyKind::Frontend => "frontend",
        }
    }
}

/// Every proxy of that kind, in file order.
pub fn proxies(text: &str, kind: ProxyKind) -> Vec<SectionModel> {
    let document = haproxy_parse::parse(text).document;
    to_model(&document).sections.into_iter().filter(|s| kind.matches(&s.kind)).collect()
}

/// The proxy of that kind named `name`.
pub fn proxy(text: &str, kind: ProxyKind, name: &str) -> Result<SectionModel> {
    proxies(text, kind)
        .into_iter()
        .find(|s| s.name.as_deref() == Some(name))
        .ok_or_else(|| Error::not_found(format!("{} {name}", kind.noun())))
}

/// Which directives of a proxy a route lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `server` lines (not `default-server` nor templates).
    Servers,
    /// `bind` lines.
    Binds,
    /// `acl` lines.
    Acls,
    /// Rules: `http-request`, `use_backend` ...
    Rules,
}

impl Part {
    fn matches(self, directive: &Directive) -> bool {
        match (self, &directive.body) {
            (Part::Servers, DirectiveBody::Server(server)) => server.kind == ServerKind::Server,
            (Part::Binds, DirectiveBody::Bind(_)) => true,
            (Part::Acls, DirectiveBody::Acl(_)) => true,
            (Part::Rules, DirectiveBody::Rule(_)) => true,
            _ => false,
        }
    }
}

/// The directives of one kind of a proxy, in file order.
pub fn parts(text: &str, kind: ProxyKind, proxy_name: &str, part: Part) -> Result<Vec<Directive>> {
    Ok(proxy(text, kind, proxy_name)?.directives.into_iter().filter(|d| part.matches(d)).collect())
}

/// One server of a backend.
pub fn server(text: &str, backend: &str, name: &str) -> Result<Directive> {
    parts(text, ProxyKind::Backend, backend, Part::Servers)?
        .into_iter()
        .find(|d| matches!(&d.body, DirectiveBody::Server(s) if s.name.as_deref() == Some(name)))
        .ok_or_else(|| Error::not_found(format!("server {name} in backend {backend}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "frontend web\n    bind :80\n    acl api path_beg /api\n    use_backend app if api\n    default_backend app\n\
backend app\n    default-server check\n    server s1 10.0.0.1:80\n    server s2 10.0.0.2:80 weight 5\n\
listen both\n    bind :81\n    server l1 10.0.0.3:80\n";

    #[test]
    fn proxies_by_side() {
        let names = |kind| proxies(TEXT, kind).into_iter().filter_map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(ProxyKind::Backend), ["app", "both"]);
        assert_eq!(names(ProxyKind::Frontend), ["web", "both"]);
        assert!(matches!(proxy(TEXT, ProxyKind::Backend, "web"), Err(Error::NotFound(m)) if m == "backend web"));
    }

    #[test]
    fn parts_of_a_proxy() {
        let servers = parts(TEXT, ProxyKind::Backend, "app", Part::Servers).unwrap();
        assert_eq!(servers.iter().map(|d| d.line).collect::<Vec<_>>(), [8, 9]);
        assert_eq!(parts(TEXT, ProxyKind::Frontend, "web", Part::Binds).unwrap().len(), 1);
        assert_eq!(parts(TEXT, ProxyKind::Frontend, "web", Part::Acls).unwrap().len(), 1);
        assert_eq!(parts(TEXT, ProxyKind::Frontend, "web", Part::Rules).unwrap().len(), 2);
        assert_eq!(server(TEXT, "app", "s2").unwrap().line, 9);
        assert!(matches!(server(TEXT, "app", "s9"), Err(Error::NotFound(_))));
    }
}
