//! Reading proxies and their parts out of a parsed configuration, for the API's GET routes.
//!
//! ```text
//! Document (cached per version, see crate::documents) -> the addressed section
//!          -> haproxy_model::export::{section_model, directive_model} -> sections / directives
//! ```
//!
//! Only the sections a read addresses are exported, so reading one server of a
//! 20,000-backend version costs a lookup, not an export of the whole file. Which sections a
//! route sees is haproxy-model's [`Side`]: `backend` routes see `backend` and `listen`
//! sections (both hold servers), `frontend` routes see `frontend` and `listen` sections (both
//! hold binds). What is returned is the typed export model, with line numbers into the text,
//! so a client can point at the line it came from.

use haproxy_model::export::{directive_model, section_model, Directive, DirectiveBody, SectionModel};
use haproxy_model::{Document, ServerKind, Side};

use crate::error::{Error, Result};

/// Every proxy on that side, in file order.
pub fn proxies(document: &Document, side: Side) -> Vec<SectionModel> {
    document.sections().iter().filter(|s| side.matches(s.kind())).map(section_model).collect()
}

/// The proxy on that side named `name`.
pub fn proxy(document: &Document, side: Side, name: &str) -> Result<SectionModel> {
    document
        .proxy(side, name)
        .map(|p| section_model(p.section()))
        .ok_or_else(|| Error::not_found(format!("{} {name}", side.noun())))
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
pub fn parts(document: &Document, side: Side, proxy_name: &str, part: Part) -> Result<Vec<Directive>> {
    Ok(proxy(document, side, proxy_name)?.directives.into_iter().filter(|d| part.matches(d)).collect())
}

/// One server of a backend.
pub fn server(document: &Document, backend: &str, name: &str) -> Result<Directive> {
    let proxy = document
        .proxy(Side::Backend, backend)
        .ok_or_else(|| Error::not_found(format!("{} {backend}", Side::Backend.noun())))?;
    proxy
        .server(name)
        .and_then(|server| directive_model(proxy.section(), server.index()))
        .ok_or_else(|| Error::not_found(format!("server {name} in backend {backend}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "frontend web\n    bind :80\n    acl api path_beg /api\n    use_backend app if api\n    default_backend app\n\
backend app\n    default-server check\n    server s1 10.0.0.1:80\n    server s2 10.0.0.2:80 weight 5\n\
listen both\n    bind :81\n    server l1 10.0.0.3:80\n";

    fn doc() -> Document {
        haproxy_parse::parse(TEXT).document
    }

    #[test]
    fn proxies_by_side() {
        let doc = doc();
        let names = |side| proxies(&doc, side).into_iter().filter_map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(Side::Backend), ["app", "both"]);
        assert_eq!(names(Side::Frontend), ["web", "both"]);
        assert!(matches!(proxy(&doc, Side::Backend, "web"), Err(Error::NotFound(m)) if m == "backend web"));
    }

    #[test]
    fn parts_of_a_proxy() {
        let doc = doc();
        let servers = parts(&doc, Side::Backend, "app", Part::Servers).unwrap();
        assert_eq!(servers.iter().map(|d| d.line).collect::<Vec<_>>(), [8, 9]);
        assert_eq!(parts(&doc, Side::Frontend, "web", Part::Binds).unwrap().len(), 1);
        assert_eq!(parts(&doc, Side::Frontend, "web", Part::Acls).unwrap().len(), 1);
        assert_eq!(parts(&doc, Side::Frontend, "web", Part::Rules).unwrap().len(), 2);
        assert_eq!(server(&doc, "app", "s2").unwrap().line, 9);
        assert_eq!(server(&doc, "both", "l1").unwrap().line, 12);
        // The one server read is the export of the whole proxy, restricted to that line.
        assert_eq!(server(&doc, "app", "s2").unwrap(), servers[1]);
        assert!(matches!(server(&doc, "app", "s9"), Err(Error::NotFound(_))));
        assert!(matches!(server(&doc, "web", "s1"), Err(Error::NotFound(m)) if m == "backend web"));
    }
}
