//! Request bodies of the typed edit routes: the fields of an [`EditOp`] a client sends, without
//! the names a route's path supplies (`POST .../backends/{name}/servers` takes
//! [`NewServerBody`]; the backend comes from the path).
//!
//! ```text
//! JSON body -> serde -> NewServerBody --into_op(backend)--> EditOp::AddServer -> stage
//! ```
//!
//! Each body converts into its op by naming every field, so renaming or adding a field of
//! [`EditOp`] is a compile error here rather than a body silently read into the wrong shape.
//! Unknown fields are ignored, as they are in a whole [`EditOp`].

use serde::{Deserialize, Serialize};

use super::EditOp;

/// `{name, from?, lines?}`: a new backend or frontend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewProxyBody {
    /// The proxy's name (new among proxies).
    pub name: String,
    /// Defaults section to inherit from.
    #[serde(default)]
    pub from: Option<String>,
    /// Directive lines, each as written in a configuration (`"balance roundrobin"`).
    #[serde(default)]
    pub lines: Vec<String>,
}

impl NewProxyBody {
    /// `add_backend`.
    pub fn into_backend(self) -> EditOp {
        let NewProxyBody { name, from, lines } = self;
        EditOp::AddBackend { name, from, lines }
    }

    /// `add_frontend`.
    pub fn into_frontend(self) -> EditOp {
        let NewProxyBody { name, from, lines } = self;
        EditOp::AddFrontend { name, from, lines }
    }
}

/// `{rename?, from?}`: renames a backend or frontend and/or changes its `from`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProxyChangeBody {
    /// New name.
    #[serde(default)]
    pub rename: Option<String>,
    /// New `from` defaults; an empty string removes `from`.
    #[serde(default)]
    pub from: Option<String>,
}

impl ProxyChangeBody {
    /// `update_backend` of backend `name`.
    pub fn into_backend(self, name: impl Into<String>) -> EditOp {
        let ProxyChangeBody { rename, from } = self;
        EditOp::UpdateBackend { name: name.into(), rename, from }
    }

    /// `update_frontend` of frontend `name`.
    pub fn into_frontend(self, name: impl Into<String>) -> EditOp {
        let ProxyChangeBody { rename, from } = self;
        EditOp::UpdateFrontend { name: name.into(), rename, from }
    }
}

/// `{name, address, weight?, backup?, disabled?, params?}`: a new server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewServerBody {
    /// Server name (new in that backend).
    pub name: String,
    /// `host:port`, `ipv4@...`, `unix@...` ...
    pub address: String,
    /// `weight N` (0-256).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Only used when the other servers are down.
    #[serde(default)]
    pub backup: bool,
    /// Maintenance: `disabled`.
    #[serde(default)]
    pub disabled: bool,
    /// Other parameters, as words (`["check", "inter", "2s"]`).
    #[serde(default)]
    pub params: Vec<String>,
}

impl NewServerBody {
    /// `add_server` in `backend`.
    pub fn into_op(self, backend: impl Into<String>) -> EditOp {
        let NewServerBody { name, address, weight, backup, disabled, params } = self;
        EditOp::AddServer { backend: backend.into(), name, address, weight, backup, disabled, params }
    }
}

/// `{address?, weight?, backup?, disabled?, params?}`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerChangeBody {
    /// New address.
    #[serde(default)]
    pub address: Option<String>,
    /// New weight.
    #[serde(default)]
    pub weight: Option<u32>,
    /// Add or remove `backup`.
    #[serde(default)]
    pub backup: Option<bool>,
    /// Maintenance on (`disabled`) or off.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Replaces every word after the address (then weight/backup/disabled above apply).
    #[serde(default)]
    pub params: Option<Vec<String>>,
}

impl ServerChangeBody {
    /// `update_server` of server `name` in `backend`.
    pub fn into_op(self, backend: impl Into<String>, name: impl Into<String>) -> EditOp {
        let ServerChangeBody { address, weight, backup, disabled, params } = self;
        EditOp::UpdateServer { backend: backend.into(), name: name.into(), address, weight, backup, disabled, params }
    }
}

/// `{address, params?}`: a new bind line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewBindBody {
    /// `[addr]:port[,...]`, `unix@...` ...
    pub address: String,
    /// Other parameters, as words (`["ssl", "crt", "/etc/site.pem"]`).
    #[serde(default)]
    pub params: Vec<String>,
}

impl NewBindBody {
    /// `add_bind` in `frontend`.
    pub fn into_op(self, frontend: impl Into<String>) -> EditOp {
        let NewBindBody { address, params } = self;
        EditOp::AddBind { frontend: frontend.into(), address, params }
    }
}

/// `{name, words}`: a new ACL line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAclBody {
    /// ACL name.
    pub name: String,
    /// Criterion, flags and values, as words (`["path_beg", "/api"]`).
    pub words: Vec<String>,
}

impl NewAclBody {
    /// `add_acl` in `proxy`.
    pub fn into_op(self, proxy: impl Into<String>) -> EditOp {
        let NewAclBody { name, words } = self;
        EditOp::AddAcl { proxy: proxy.into(), name, words }
    }
}

/// `{words, position?}`: a new rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRuleBody {
    /// The whole rule as words, keyword first (`["http-request", "deny", "if", "bad"]`).
    pub words: Vec<String>,
    /// Position among the proxy's rules with the same keyword (0 = first); none = last.
    #[serde(default)]
    pub position: Option<usize>,
}

impl NewRuleBody {
    /// `add_rule` in `proxy`.
    pub fn into_op(self, proxy: impl Into<String>) -> EditOp {
        let NewRuleBody { words, position } = self;
        EditOp::AddRule { proxy: proxy.into(), words, position }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body plus the path's names is the op a client could also stage whole: the two JSON
    /// shapes agree field for field.
    #[test]
    fn bodies_become_the_ops_they_name() {
        let body: NewServerBody = serde_json::from_str(r#"{"name": "s1", "address": "10.0.0.1:80", "weight": 5}"#).unwrap();
        let whole: EditOp = serde_json::from_str(
            r#"{"op": "add_server", "backend": "app", "name": "s1", "address": "10.0.0.1:80", "weight": 5}"#,
        )
        .unwrap();
        assert_eq!(body.into_op("app"), whole);

        let change: ServerChangeBody = serde_json::from_str(r#"{"weight": 7, "ignored": true}"#).unwrap();
        let whole: EditOp =
            serde_json::from_str(r#"{"op": "update_server", "backend": "app", "name": "s2", "weight": 7}"#).unwrap();
        assert_eq!(change.into_op("app", "s2"), whole);

        let proxy: NewProxyBody = serde_json::from_str(r#"{"name": "api", "lines": ["balance leastconn"]}"#).unwrap();
        assert_eq!(proxy.clone().into_backend().name(), "add_backend");
        assert_eq!(proxy.into_frontend().name(), "add_frontend");
        assert_eq!(ProxyChangeBody::default().into_frontend("web").name(), "update_frontend");

        let rule: NewRuleBody = serde_json::from_str(r#"{"words": ["use_backend", "api"], "position": 0}"#).unwrap();
        assert_eq!(rule.into_op("web"), EditOp::AddRule { proxy: "web".into(), words: vec!["use_backend".into(), "api".into()], position: Some(0) });
        assert!(serde_json::from_str::<NewServerBody>(r#"{"name": 5}"#).is_err());
    }
}
