//! Typed, read-only views of the VRRP side: `global_defs`, `vrrp_script`, `vrrp_instance`,
//! `vrrp_sync_group` (keepalived.conf(5) "GLOBAL CONFIGURATION" and "VRRPD CONFIGURATION").
//!
//! Views are snapshots built from the lossless tree; they never change it. Edits go through
//! [`Statement::set_arg`] / [`Block::set_value`], which touch only the words they replace.
//! A value that does not parse (a VRID of `abc`) reads as `None`; the offline check reports it.

use serde::Serialize;

use crate::keepalived::{Block, Document, Statement};

fn number<T: std::str::FromStr>(block: &Block, keyword: &str) -> Option<T> {
    block.value(keyword).and_then(|v| v.parse().ok())
}

fn string(block: &Block, keyword: &str) -> Option<String> {
    block.value(keyword).map(|v| v.into_owned())
}

fn name_and_block(statement: &Statement) -> (String, Option<&Block>) {
    (statement.arg(0).map(|v| v.into_owned()).unwrap_or_default(), statement.block())
}

/// `global_defs { ... }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GlobalDefs {
    /// `router_id NAME`
    pub router_id: Option<String>,
    /// `enable_script_security`
    pub enable_script_security: bool,
    /// `script_user USER [GROUP]`
    pub script_user: Option<ScriptUser>,
    /// Every `vrrp_*` knob with its arguments, in order (`vrrp_strict`, `vrrp_garp_interval 0.1` ...).
    pub vrrp_knobs: Vec<(String, Vec<String>)>,
}

/// A user and optional group that scripts run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptUser {
    /// User name.
    pub user: String,
    /// Group name, when given.
    pub group: Option<String>,
}

impl ScriptUser {
    fn from_statement(statement: &Statement) -> Option<Self> {
        Some(ScriptUser { user: statement.arg(0)?.into_owned(), group: statement.arg(1).map(|g| g.into_owned()) })
    }
}

impl GlobalDefs {
    /// The view of a `global_defs` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let Some(block) = statement.block() else { return GlobalDefs::default() };
        GlobalDefs {
            router_id: string(block, "router_id"),
            enable_script_security: block.has("enable_script_security"),
            script_user: block.find("script_user").and_then(ScriptUser::from_statement),
            vrrp_knobs: block
                .statements()
                .iter()
                .filter_map(|s| {
                    let keyword = s.keyword()?;
                    keyword.starts_with("vrrp_").then(|| (keyword.into_owned(), s.arg_values()))
                })
                .collect(),
        }
    }
}

/// `vrrp_script NAME { ... }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VrrpScript {
    /// The script's name, used by `track_script`.
    pub name: String,
    /// `script "command args"`
    pub script: Option<String>,
    /// `interval SECONDS`
    pub interval: Option<f64>,
    /// `weight N [reverse]`
    pub weight: Option<i32>,
    /// `fall N`
    pub fall: Option<u32>,
    /// `rise N`
    pub rise: Option<u32>,
    /// `timeout SECONDS`
    pub timeout: Option<f64>,
    /// `user USER [GROUP]`
    pub user: Option<ScriptUser>,
}

impl VrrpScript {
    /// The view of a `vrrp_script` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let (name, block) = name_and_block(statement);
        let Some(block) = block else { return VrrpScript { name, ..VrrpScript::default() } };
        VrrpScript {
            name,
            script: string(block, "script"),
            interval: number(block, "interval"),
            weight: number(block, "weight"),
            fall: number(block, "fall"),
            rise: number(block, "rise"),
            timeout: number(block, "timeout"),
            user: block.find("user").and_then(ScriptUser::from_statement),
        }
    }
}

/// One `virtual_ipaddress` entry: `ADDRESS[/PREFIX] [brd B] [dev D] [scope S] [label L] ...`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct VirtualIp {
    /// The address with its prefix as written (`10.0.0.1/24`).
    pub address: String,
    /// `dev`
    pub dev: Option<String>,
    /// `label`
    pub label: Option<String>,
    /// `brd`
    pub brd: Option<String>,
    /// `scope`
    pub scope: Option<String>,
    /// Options this view does not model, in order.
    pub other: Vec<String>,
}

impl VirtualIp {
    /// The view of one entry of a `virtual_ipaddress` block.
    pub fn from_statement(statement: &Statement) -> Self {
        let values: Vec<String> = statement.words().iter().map(|w| w.value().into_owned()).collect();
        let mut vip = VirtualIp { address: values.first().cloned().unwrap_or_default(), ..VirtualIp::default() };
        let mut rest = values.into_iter().skip(1);
        while let Some(option) = rest.next() {
            let slot = match option.as_str() {
                "dev" => &mut vip.dev,
                "label" => &mut vip.label,
                "brd" => &mut vip.brd,
                "scope" => &mut vip.scope,
                _ => {
                    vip.other.push(option);
                    continue;
                }
            };
            *slot = rest.next();
        }
        vip
    }
}

/// A `track_script` / `track_interface` entry: a name and an optional weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tracked {
    /// The script or interface name.
    pub name: String,
    /// `weight N`, when given.
    pub weight: Option<i32>,
}

impl Tracked {
    fn from_statement(statement: &Statement) -> Option<Self> {
        let words = statement.words();
        let name = words.first()?.value().into_owned();
        let weight = words
            .iter()
            .position(|w| w.value() == "weight")
            .and_then(|at| words.get(at + 1))
            .and_then(|w| w.value().parse().ok());
        Some(Tracked { name, weight })
    }

    fn list(block: &Block, keyword: &str) -> Vec<Tracked> {
        block.entries(keyword).iter().filter_map(Tracked::from_statement).collect()
    }
}

/// `authentication { auth_type PASS|AH; auth_pass SECRET }`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    /// `auth_type`
    pub auth_type: Option<String>,
    /// `auth_pass`
    pub auth_pass: Option<String>,
}

/// `vrrp_instance NAME { ... }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VrrpInstance {
    /// The instance name.
    pub name: String,
    /// `state MASTER|BACKUP`
    pub state: Option<String>,
    /// `interface IFACE`
    pub interface: Option<String>,
    /// `virtual_router_id 1..255`
    pub virtual_router_id: Option<u32>,
    /// `priority 1..255`
    pub priority: Option<u32>,
    /// `advert_int SECONDS`
    pub advert_int: Option<f64>,
    /// `nopreempt`
    pub nopreempt: bool,
    /// `preempt_delay SECONDS`
    pub preempt_delay: Option<f64>,
    /// `unicast_src_ip ADDRESS`
    pub unicast_src_ip: Option<String>,
    /// `unicast_peer { ADDRESS ... }`: the first word of each entry.
    pub unicast_peers: Vec<String>,
    /// `authentication { ... }`
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress { ... }`
    pub virtual_ipaddresses: Vec<VirtualIp>,
    /// `virtual_routes { ... }`: each route's words.
    pub virtual_routes: Vec<Vec<String>>,
    /// `track_script { NAME [weight N] ... }`
    pub track_scripts: Vec<Tracked>,
    /// `track_interface { IFACE [weight N] ... }`
    pub track_interfaces: Vec<Tracked>,
    /// `notify`, `notify_master`, `notify_backup`, `notify_fault`, `notify_stop` ... with their command.
    pub notify: Vec<(String, String)>,
}

fn entry_words(statement: &Statement) -> Vec<String> {
    statement.words().iter().map(|w| w.value().into_owned()).collect()
}

fn notify_scripts(block: &Block) -> Vec<(String, String)> {
    block
        .statements()
        .iter()
        .filter_map(|s| {
            let keyword = s.keyword()?;
            keyword.starts_with("notify").then(|| (keyword.into_owned(), s.arg_values().join(" ")))
        })
        .collect()
}

impl VrrpInstance {
    /// The view of a `vrrp_instance` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let (name, block) = name_and_block(statement);
        let Some(block) = block else { return VrrpInstance { name, ..VrrpInstance::default() } };
        VrrpInstance {
            name,
            state: string(block, "state"),
            interface: string(block, "interface"),
            virtual_router_id: number(block, "virtual_router_id"),
            priority: number(block, "priority"),
            advert_int: number(block, "advert_int"),
            nopreempt: block.has("nopreempt"),
            preempt_delay: number(block, "preempt_delay"),
            unicast_src_ip: string(block, "unicast_src_ip"),
            unicast_peers: block
                .entries("unicast_peer")
                .iter()
                .filter_map(|s| s.words().first().map(|w| w.value().into_owned()))
                .collect(),
            authentication: block.find("authentication").and_then(Statement::block).map(|auth| Authentication {
                auth_type: string(auth, "auth_type"),
                auth_pass: string(auth, "auth_pass"),
            }),
            virtual_ipaddresses: block.entries("virtual_ipaddress").iter().map(VirtualIp::from_statement).collect(),
            virtual_routes: block.entries("virtual_routes").iter().map(entry_words).collect(),
            track_scripts: Tracked::list(block, "track_script"),
            track_interfaces: Tracked::list(block, "track_interface"),
            notify: notify_scripts(block),
        }
    }
}

/// `vrrp_sync_group NAME { group { ... } ... }`
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VrrpSyncGroup {
    /// The group name.
    pub name: String,
    /// The instances in `group { ... }`.
    pub group: Vec<String>,
    /// `track_script { ... }`
    pub track_scripts: Vec<Tracked>,
    /// `notify*` scripts.
    pub notify: Vec<(String, String)>,
}

impl VrrpSyncGroup {
    /// The view of a `vrrp_sync_group` statement.
    pub fn from_statement(statement: &Statement) -> Self {
        let (name, block) = name_and_block(statement);
        let Some(block) = block else { return VrrpSyncGroup { name, ..VrrpSyncGroup::default() } };
        VrrpSyncGroup {
            name,
            group: block.entries("group").iter().flat_map(entry_words).collect(),
            track_scripts: Tracked::list(block, "track_script"),
            notify: notify_scripts(block),
        }
    }
}

impl Document {
    /// The `global_defs` block (the first one; keepalived merges repeats).
    pub fn global_defs(&self) -> Option<GlobalDefs> {
        self.find_all("global_defs").next().map(GlobalDefs::from_statement)
    }

    /// Every `vrrp_script`.
    pub fn vrrp_scripts(&self) -> Vec<VrrpScript> {
        self.find_all("vrrp_script").map(VrrpScript::from_statement).collect()
    }

    /// Every `vrrp_instance`.
    pub fn vrrp_instances(&self) -> Vec<VrrpInstance> {
        self.find_all("vrrp_instance").map(VrrpInstance::from_statement).collect()
    }

    /// Every `vrrp_sync_group`.
    pub fn vrrp_sync_groups(&self) -> Vec<VrrpSyncGroup> {
        self.find_all("vrrp_sync_group").map(VrrpSyncGroup::from_statement).collect()
    }
}
