//! A typed, serialisable model of a whole document, for `fleet config parse --emit json` and
//! for APIs that hand configurations to other programs.
//!
//! ```text
//! Document --to_model--> ConfigModel { preamble, sections: [{ kind, name, from, line,
//!                                      directives: [{ line, keyword, type, ...typed fields }] }] }
//! ```
//!
//! Every statement of the document appears, in order, with its 1-based line number: known
//! keywords as typed directives (servers, binds, ACLs, rules with their condition tree,
//! timeouts, options ...), anything else as a `generic` directive holding its word values.
//! Blank and comment lines are left out: this is a reading of the configuration, not a second
//! lossless format (the text is). Values that do not parse (a bad port, a malformed condition)
//! keep their raw text and carry the error message instead of failing the export.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::condition::Condition;
use crate::duration::TimeValue;
use crate::views::{
    Acl, AclFlag, Balance, Bind, Group, HashType, LogTarget, Nameserver, Param, Peer, Rule, Server, ServerKind,
    StickTable, User,
};
use crate::{Document, Line, LineKind, Section, SectionKind};

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigModel {
    /// Statements before the first section (`.if` lines, mostly).
    pub preamble: Vec<Directive>,
    /// The sections, in file order.
    pub sections: Vec<SectionModel>,
}

/// One section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionModel {
    /// `global`, `backend` ...
    pub kind: String,
    /// The section's name.
    pub name: Option<String>,
    /// `from <defaults>`.
    pub from: Option<String>,
    /// Line of the header (0 for sections built in code).
    pub line: u32,
    /// The statements of the body.
    pub directives: Vec<Directive>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Directive {
    /// 1-based line number (0 for lines built in code).
    pub line: u32,
    /// The first word's value.
    pub keyword: String,
    /// The typed reading.
    #[serde(flatten)]
    pub body: DirectiveBody,
}

/// A statement's schema for the server's OpenAPI document: the fields every directive has
/// (`line`, `keyword`, and `type` naming the typed reading), open to the typed fields of each
/// kind. Written by hand because the typed reading is flattened into the directive, a shape
/// schema derivation does not express.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Directive {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .description(Some("one statement: `line`, `keyword`, `type` (server, bind, acl, rule, timeout, option, mode, balance, hash-type, maxconn, log, stick-table, user, group, peer, nameserver, generic) and that type's fields"))
            .property("line", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
            .property("keyword", ObjectBuilder::new().schema_type(Type::String))
            .property("type", ObjectBuilder::new().schema_type(Type::String))
            .required("line")
            .required("keyword")
            .required("type")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Directive {}

/// The typed reading of a statement, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum DirectiveBody {
    /// `server`, `default-server`, `server-template`.
    Server(ServerModel),
    /// `bind`.
    Bind(BindModel),
    /// `acl`.
    Acl(AclModel),
    /// `http-request`, `use_backend`, `stick` ... (see [`crate::views::RULE_KEYWORDS`]).
    Rule(RuleModel),
    /// `timeout <name> <value>`.
    Timeout(TimeoutModel),
    /// `option X` / `no option X`.
    Option(OptionModel),
    /// `mode`.
    Mode {
        /// `http`, `tcp`, `log`.
        value: String,
    },
    /// `balance`.
    Balance(Balance),
    /// `hash-type`.
    HashType(HashType),
    /// `maxconn`.
    Maxconn {
        /// The number, when it is one.
        value: Option<u32>,
        /// As written.
        raw: String,
    },
    /// `log` / `no log`.
    Log(LogTarget),
    /// `stick-table`.
    StickTable(StickTable),
    /// `user` in a userlist.
    User(User),
    /// `group` in a userlist.
    Group(Group),
    /// `peer` in a peers section.
    Peer(Peer),
    /// `nameserver` in a resolvers section.
    Nameserver(Nameserver),
    /// Anything else, `.if` lines included: the word values.
    Generic {
        /// Every word's value, the keyword first.
        words: Vec<String>,
    },
}

/// A server, default-server or server-template line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerModel {
    /// Which keyword.
    pub kind: ServerKind,
    /// Name (template prefix); none for default-server.
    pub name: Option<String>,
    /// A template's `<num | range>`.
    pub template_range: Option<String>,
    /// The address as written.
    pub address: Option<String>,
    /// The address, parsed.
    pub parsed_address: Option<Address>,
    /// Why the address could not be parsed.
    pub address_error: Option<String>,
    /// Parameters.
    pub params: Vec<Param>,
}

/// A bind line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindModel {
    /// The address list as written.
    pub address: String,
    /// The addresses, parsed.
    pub addresses: Vec<Address>,
    /// Why the address list could not be parsed.
    pub address_error: Option<String>,
    /// Parameters.
    pub params: Vec<Param>,
}

/// An acl line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AclModel {
    /// The ACL's name.
    pub name: String,
    /// Fetch and converters.
    pub criterion: String,
    /// Flags.
    pub flags: Vec<AclFlag>,
    /// Patterns.
    pub patterns: Vec<String>,
}

/// A rule line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleModel {
    /// `connection`, `content` ... for tcp rules.
    pub ruleset: Option<String>,
    /// The action (or the target for use_backend / default_backend / use-server).
    pub action: Option<String>,
    /// Words between the action and the condition.
    pub args: Vec<String>,
    /// The condition, parsed.
    pub condition: Option<Condition>,
    /// Why the condition could not be parsed.
    pub condition_error: Option<String>,
}

/// A timeout line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeoutModel {
    /// `connect`, `client` ...
    pub name: String,
    /// The value, parsed.
    pub value: Option<TimeValue>,
    /// As written.
    pub raw: String,
    /// Why the value could not be parsed.
    pub error: Option<String>,
}

/// An option line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionModel {
    /// The option's name.
    pub name: String,
    /// False for `no option`.
    pub enabled: bool,
    /// Arguments after the name.
    pub args: Vec<String>,
}

/// The typed model of `document`.
pub fn to_model(document: &Document) -> ConfigModel {
    ConfigModel {
        preamble: directives(document.preamble(), &SectionKind::Global, false),
        sections: document.sections().iter().map(section_model).collect(),
    }
}

/// The typed model of one section (what [`to_model`] makes of it), for readers that need one
/// proxy of a large document without exporting every other section.
pub fn section_model(section: &Section) -> SectionModel {
    SectionModel {
        kind: section.kind().keyword().to_string(),
        name: section.name().map(|n| n.into_owned()),
        from: section.from().map(|n| n.into_owned()),
        line: section.header().position().line,
        directives: directives(section.lines(), section.kind(), true),
    }
}

/// The typed model of line `index` of `section`, as in [`section_model`]; none for a blank or
/// comment line, or past the end.
pub fn directive_model(section: &Section, index: usize) -> Option<Directive> {
    let line = section.lines().get(index).filter(|line| !line.is_trivia())?;
    Some(directive(line, index, section.kind(), true))
}

fn directives(lines: &[Line], kind: &SectionKind, typed: bool) -> Vec<Directive> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.is_trivia())
        .map(|(index, line)| directive(line, index, kind, typed))
        .collect()
}

fn directive(line: &Line, index: usize, kind: &SectionKind, typed: bool) -> Directive {
    Directive {
        line: line.position().line,
        keyword: line.keyword().map(|k| k.into_owned()).unwrap_or_default(),
        body: if typed && line.kind() == LineKind::Statement {
            typed_body(line, index, kind).unwrap_or_else(|| generic(line))
        } else {
            generic(line)
        },
    }
}

fn owned(values: Vec<std::borrow::Cow<'_, str>>) -> Vec<String> {
    values.into_iter().map(|v| v.into_owned()).collect()
}

fn generic(line: &Line) -> DirectiveBody {
    DirectiveBody::Generic { words: owned(line.values()) }
}

fn typed_body(line: &Line, index: usize, kind: &SectionKind) -> Option<DirectiveBody> {
    let keyword = line.keyword()?;
    let proxy = kind.is_proxy() || *kind == SectionKind::Defaults;
    let body = match keyword.as_ref() {
        "server" | "default-server" | "server-template" if kind != &SectionKind::Global => {
            DirectiveBody::Server(server_model(Server::new(line, index)?))
        }
        "bind" => DirectiveBody::Bind(bind_model(Bind::new(line, index)?)),
        "acl" if proxy => {
            let acl = Acl::new(line, index)?;
            DirectiveBody::Acl(AclModel {
                name: acl.name().map(|n| n.into_owned()).unwrap_or_default(),
                criterion: acl.criterion().map(|n| n.into_owned()).unwrap_or_default(),
                flags: acl.flags(),
                patterns: owned(acl.patterns()),
            })
        }
        "timeout" if proxy => {
            let raw = line.value(2).map(|v| v.into_owned()).unwrap_or_default();
            let parsed = TimeValue::parse(&raw);
            DirectiveBody::Timeout(TimeoutModel {
                name: line.value(1)?.into_owned(),
                error: parsed.as_ref().err().map(ToString::to_string),
                value: parsed.ok(),
                raw,
            })
        }
        "option" | "no" if proxy => {
            let at = if keyword == "no" { 2 } else { 1 };
            if at == 2 && line.value(1).as_deref() != Some("option") {
                return LogTarget::from_line(line).map(DirectiveBody::Log);
            }
            DirectiveBody::Option(OptionModel {
                name: line.value(at)?.into_owned(),
                enabled: at == 1,
                args: owned(line.words()[at + 1..].iter().map(crate::Word::value).collect()),
            })
        }
        "mode" if proxy => DirectiveBody::Mode { value: line.value(1)?.into_owned() },
        "balance" if proxy => {
            let mut words = owned(line.values()).into_iter().skip(1);
            DirectiveBody::Balance(Balance { algorithm: words.next()?, args: words.collect() })
        }
        "hash-type" if proxy => {
            let mut words = owned(line.values()).into_iter().skip(1);
            DirectiveBody::HashType(HashType { method: words.next()?, function: words.next(), modifier: words.next() })
        }
        "maxconn" => {
            let raw = line.value(1)?.into_owned();
            DirectiveBody::Maxconn { value: raw.parse().ok(), raw }
        }
        "log" => DirectiveBody::Log(LogTarget::from_line(line)?),
        "stick-table" => DirectiveBody::StickTable(StickTable::from_line(line)?),
        "user" if kind == &SectionKind::Userlist => DirectiveBody::User(User::from_line(line, index)?),
        "group" if kind == &SectionKind::Userlist => DirectiveBody::Group(Group::from_line(line, index)?),
        "peer" if kind == &SectionKind::Peers => DirectiveBody::Peer(Peer::from_line(line, index)?),
        "nameserver" if kind == &SectionKind::Resolvers => DirectiveBody::Nameserver(Nameserver::from_line(line, index)?),
        _ if proxy => DirectiveBody::Rule(rule_model(Rule::new(line, index)?)),
        _ => return None,
    };
    Some(body)
}

fn server_model(server: Server<'_>) -> ServerModel {
    let parsed = server.address();
    ServerModel {
        kind: server.kind(),
        name: server.name().map(|n| n.into_owned()),
        template_range: server.template_range().map(|n| n.into_owned()),
        address: server.address_text().map(|n| n.into_owned()),
        address_error: parsed.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string),
        parsed_address: parsed.and_then(Result::ok),
        params: server.params(),
    }
}

fn bind_model(bind: Bind<'_>) -> BindModel {
    let parsed = bind.addresses();
    BindModel {
        address: bind.address_text().map(|n| n.into_owned()).unwrap_or_default(),
        address_error: parsed.as_ref().err().map(ToString::to_string),
        addresses: parsed.unwrap_or_default(),
        params: bind.params(),
    }
}

fn rule_model(rule: Rule<'_>) -> RuleModel {
    let condition = rule.condition();
    RuleModel {
        ruleset: rule.ruleset().map(|n| n.into_owned()),
        action: rule.action().map(|n| n.into_owned()),
        args: owned(rule.args()),
        condition_error: condition.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string),
        condition: condition.and_then(Result::ok),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut doc = Document::new();
        let mut backend = doc.add_backend("app").unwrap();
        backend.set_mode(Some("http"));
        backend.set_timeout_duration("server", std::time::Duration::from_secs(30));
        backend.add_server("web1", "[::1]:8080", &["check", "weight", "5"]).unwrap();
        backend.add_acl("is_api", "path_beg", &["-i", "/api"]).unwrap();
        let condition = Condition::parse(&["if", "is_api", "||", "{", "src", "10.0.0.0/8", "}"]).ok();
        backend.add_rule("http-request", &["deny"], condition.as_ref()).unwrap();
        backend.set_option("httplog", Some(false));
        let model = to_model(&doc);
        let json = serde_json::to_string(&model).unwrap();
        let back: ConfigModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, model);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let directives = &value["sections"][0]["directives"];
        let types: Vec<&str> = directives.as_array().unwrap().iter().map(|d| d["type"].as_str().unwrap()).collect();
        assert_eq!(types, vec!["mode", "timeout", "server", "acl", "rule", "option"]);
        assert_eq!(directives[1]["value"]["duration"], 30000);
        assert_eq!(directives[2]["parsed_address"]["host"]["value"], "::1");
        assert_eq!(directives[4]["condition"]["expr"]["op"], "or");
    }
}
