//! Typed, read-only views of the LVS side: `virtual_server`, `real_server` and their health
//! checkers (keepalived.conf(5) "LVS CONFIGURATION").

use serde::Serialize;

use crate::keepalived::{Block, Document, Statement};

fn string(block: &Block, keyword: &str) -> Option<String> {
    block.value(keyword).map(|v| v.into_owned())
}

fn number<T: std::str::FromStr>(block: &Block, keyword: &str) -> Option<T> {
    block.value(keyword).and_then(|v| v.parse().ok())
}

/// `virtual_server IP PORT | fwmark N | group NAME { ... }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VirtualServer {
    /// The words after `virtual_server` (`[10.0.0.1, 80]`, `[fwmark, 1]`, `[group, NAME]`).
    pub address: Vec<String>,
    /// `lvs_sched` (or its older name `lb_algo`).
    pub scheduler: Option<String>,
    /// `lvs_method` (or its older name `lb_kind`).
    pub method: Option<String>,
    /// `protocol TCP|UDP|SCTP`
    pub protocol: Option<String>,
    /// `delay_loop SECONDS`
    pub delay_loop: Option<f64>,
    /// `sorry_server IP PORT`
    pub sorry_server: Option<Vec<String>>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
}

/// `real_server IP PORT { weight N; CHECKER { ... } }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RealServer {
    /// The address.
    pub address: String,
    /// The port, when given.
    pub port: Option<String>,
    /// `weight N`
    pub weight: Option<i64>,
    /// The health checkers.
    pub checks: Vec<Check>,
}

/// One health checker of a real server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Check {
    /// `TCP_CHECK { connect_port; connect_timeout ... }`
    Tcp {
        /// `connect_port`
        connect_port: Option<u16>,
        /// `connect_timeout`
        connect_timeout: Option<f64>,
    },
    /// `HTTP_GET { url { ... } ... }` or `SSL_GET` (`tls` true).
    Http {
        /// True for `SSL_GET`.
        tls: bool,
        /// The `url` blocks.
        urls: Vec<Url>,
        /// `connect_port`
        connect_port: Option<u16>,
        /// `connect_timeout`
        connect_timeout: Option<f64>,
    },
    /// `MISC_CHECK { misc_path "..."; misc_timeout N }`
    Misc {
        /// `misc_path`
        path: Option<String>,
        /// `misc_timeout`
        timeout: Option<f64>,
    },
    /// Another checker (`SMTP_CHECK`, `DNS_CHECK`, `PING_CHECK` ...), by keyword.
    Other {
        /// The checker keyword.
        keyword: String,
    },
}

/// `url { path P; digest D; status_code N }`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Url {
    /// `path`
    pub path: Option<String>,
    /// `digest`
    pub digest: Option<String>,
    /// `status_code`
    pub status_code: Option<String>,
}

/// Keywords that open a health checker inside `real_server`.
pub const CHECKERS: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

impl Check {
    /// The checker opened by `statement`, when its keyword is one of [`CHECKERS`].
    pub fn from_statement(statement: &Statement) -> Option<Check> {
        let keyword = statement.keyword()?;
        if !CHECKERS.contains(&keyword.as_ref()) {
            return None;
        }
        let empty = Block::new(crate::keepalived::Word::open_brace(""), Vec::new(), None);
        let block = statement.block().unwrap_or(&empty);
        Some(match keyword.as_ref() {
            "TCP_CHECK" => Check::Tcp {
                connect_port: number(block, "connect_port"),
                connect_timeout: number(block, "connect_timeout"),
            },
            "HTTP_GET" | "SSL_GET" => Check::Http {
                tls: keyword == "SSL_GET",
                urls: block
                    .find_all("url")
                    .filter_map(Statement::block)
                    .map(|url| Url {
                        path: string(url, "path"),
                        digest: string(url, "digest"),
                        status_code: string(url, "status_code"),
                    })
                    .collect(),
                connect_port: number(block, "connect_port"),
                connect_timeout: number(block, "connect_timeout"),
            },
            "MISC_CHECK" => Check::Misc { path: string(block, "misc_path"), timeout: number(block, "misc_timeout") },
            other => Check::Other { keyword: other.to_string() },
        })
    }
}

impl RealServer {
    /// The view of a `real_server` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let mut server = RealServer {
            address: statement.arg(0).map(|v| v.into_owned()).unwrap_or_default(),
            port: statement.arg(1).map(|v| v.into_owned()),
            ..RealServer::default()
        };
        if let Some(block) = statement.block() {
            server.weight = number(block, "weight");
            server.checks = block.statements().iter().filter_map(Check::from_statement).collect();
        }
        server
    }
}

impl VirtualServer {
    /// The view of a `virtual_server` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let mut server = VirtualServer { address: statement.arg_values(), ..VirtualServer::default() };
        if let Some(block) = statement.block() {
            server.scheduler = string(block, "lvs_sched").or_else(|| string(block, "lb_algo"));
            server.method = string(block, "lvs_method").or_else(|| string(block, "lb_kind"));
            server.protocol = string(block, "protocol");
            server.delay_loop = number(block, "delay_loop");
            server.sorry_server = block.find("sorry_server").map(Statement::arg_values);
            server.real_servers = block.find_all("real_server").map(RealServer::from_statement).collect();
        }
        server
    }
}

impl Document {
    /// Every `virtual_server`.
    pub fn virtual_servers(&self) -> Vec<VirtualServer> {
        self.find_all("virtual_server").map(VirtualServer::from_statement).collect()
    }
}
