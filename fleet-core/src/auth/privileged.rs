//! Privileged directives: what in a configuration runs programs on a node or widens what HAProxy
//! may do there (DESIGN.md "Trust boundaries": a node trusts the server for configuration, not
//! for code).
//!
//! ```text
//! Document -> find()       -> [PrivilegedUse] (each with its privilege, line and column)
//! (old, new) -> introduced() -> the uses a change adds or changes: what needs the admin role, the
//!                               cluster's allowance and, on the node, `--allow-privileged`
//! ```
//!
//! [`PRIVILEGES`] is the one table: each entry names the directives, why they are privileged and
//! where the manual (configuration.txt, HAProxy 2.6) describes them. Lines inside `.if` blocks
//! count too: whether HAProxy reads them depends on the node's environment, which the server
//! cannot see.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use haproxy_model::{Address, Document, Host, Line, LineKind, Section, SectionKind};
use serde::{Deserialize, Serialize};

use crate::Role;

/// A kind of privileged directive. Its name (`program`, `lua` ...) is what cluster settings and
/// the agent's `--allow-privileged` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Privilege {
    /// `program` sections: the master process starts and keeps running a command.
    Program,
    /// `external-check` (global), `external-check command|path`: health checks run a command.
    ExternalCheck,
    /// `insecure-fork-wanted`: lets HAProxy fork (external checks, Lua `io.popen`).
    InsecureFork,
    /// `insecure-setuid-wanted`: lets HAProxy run setuid programs.
    InsecureSetuid,
    /// `lua-load`, `lua-load-per-thread`, `lua-prepend-path`: code run inside HAProxy.
    Lua,
    /// `setenv`, `presetenv`, `resetenv` of `PATH` or `LD_*`: changes what a started program runs;
    /// also any keyword or variable name HAProxy expands from the environment (`"${KW}"`), which
    /// may turn into any privileged directive on the node.
    Environment,
    /// `user`, `uid`, `group`, `gid` in `global` (and `program`): the identity HAProxy runs as.
    Identity,
    /// `chroot`: the file system HAProxy sees.
    Chroot,
    /// `stats socket` on a non-local address, or on TCP with `level admin`: the runtime API
    /// (which can change servers, maps and certificates) open to the network.
    RemoteSocket,
    /// In a node's keepalived.conf: scripts keepalived runs as root (`vrrp_script`'s `script`,
    /// `notify*`, `MISC_CHECK`'s `misc_path`, `quorum_up`/`quorum_down`, `*_notify_fifo_script`,
    /// `startup_script`/`shutdown_script`), and `$`/`~` lines, which may expand to any of them.
    KeepalivedScript,
}

/// One row of [`PRIVILEGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivilegeRule {
    /// The privilege.
    pub privilege: Privilege,
    /// The directives it covers, as written in a configuration.
    pub directives: &'static str,
    /// Why it is privileged.
    pub reason: &'static str,
    /// Where HAProxy 2.6's configuration.txt describes them.
    pub manual: &'static str,
}

/// Every privilege, with its directives, reason and manual section.
pub const PRIVILEGES: &[PrivilegeRule] = &[
    PrivilegeRule {
        privilege: Privilege::Program,
        directives: "program <name> (section)",
        reason: "the master process runs the section's command and restarts it",
        manual: "configuration.txt §3.7 Programs",
    },
    PrivilegeRule {
        privilege: Privilege::ExternalCheck,
        directives: "external-check (global), external-check command, external-check path",
        reason: "health checks run a command on the node",
        manual: "configuration.txt §3.1 external-check, §4.2 external-check command / path",
    },
    PrivilegeRule {
        privilege: Privilege::InsecureFork,
        directives: "insecure-fork-wanted",
        reason: "lets HAProxy fork new processes, which it otherwise forbids itself",
        manual: "configuration.txt §3.1 insecure-fork-wanted",
    },
    PrivilegeRule {
        privilege: Privilege::InsecureSetuid,
        directives: "insecure-setuid-wanted",
        reason: "lets HAProxy run setuid programs",
        manual: "configuration.txt §3.1 insecure-setuid-wanted",
    },
    PrivilegeRule {
        privilege: Privilege::Lua,
        directives: "lua-load, lua-load-per-thread, lua-prepend-path",
        reason: "loads code that runs inside HAProxy",
        manual: "configuration.txt §3.1 lua-load, lua-load-per-thread, lua-prepend-path",
    },
    PrivilegeRule {
        privilege: Privilege::Environment,
        directives: "setenv, presetenv, resetenv of PATH or LD_*; keywords and variable names written with ${...}",
        reason: "changes which binaries and libraries started programs load",
        manual: "configuration.txt §3.1 setenv, presetenv, resetenv",
    },
    PrivilegeRule {
        privilege: Privilege::Identity,
        directives: "user, uid, group, gid (global, program)",
        reason: "sets the identity HAProxy and its programs run as",
        manual: "configuration.txt §3.1 user, uid, group, gid; §3.7 user, group",
    },
    PrivilegeRule {
        privilege: Privilege::Chroot,
        directives: "chroot",
        reason: "changes the file system HAProxy sees",
        manual: "configuration.txt §3.1 chroot",
    },
    PrivilegeRule {
        privilege: Privilege::RemoteSocket,
        directives: "stats socket on a non-local address, or on TCP with level admin",
        reason: "opens the runtime API (servers, maps, certificates, shutdown) to the network",
        manual: "configuration.txt §3.1 stats socket; management.txt §9.3",
    },
    PrivilegeRule {
        privilege: Privilege::KeepalivedScript,
        directives: "keepalived: script, notify, notify_master|backup|fault|stop|deleted, notify_up|down, misc_path, quorum_up|down, *notify_fifo_script, startup_script, shutdown_script, $VAR and ~SEQ lines",
        reason: "keepalived runs the command as root on the node",
        manual: "keepalived.conf(5) (keepalived 2.2): vrrp_script, vrrp_instance notify, MISC_CHECK, virtual_server quorum, global_defs",
    },
];

impl Privilege {
    /// Every privilege, in table order.
    pub fn all() -> impl Iterator<Item = Privilege> {
        PRIVILEGES.iter().map(|rule| rule.privilege)
    }

    /// The name settings and `--allow-privileged` use (`program`, `external-check` ...).
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Program => "program",
            Privilege::ExternalCheck => "external-check",
            Privilege::InsecureFork => "insecure-fork",
            Privilege::InsecureSetuid => "insecure-setuid",
            Privilege::Lua => "lua",
            Privilege::Environment => "environment",
            Privilege::Identity => "identity",
            Privilege::Chroot => "chroot",
            Privilege::RemoteSocket => "remote-socket",
            Privilege::KeepalivedScript => "keepalived-script",
        }
    }

    /// Its row of [`PRIVILEGES`].
    pub fn rule(self) -> &'static PrivilegeRule {
        // Every variant has a row: the table test checks it.
        PRIVILEGES.iter().find(|rule| rule.privilege == self).unwrap_or(&PRIVILEGES[0])
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a privilege.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown privilege {0:?} (one of {names})", names = Privilege::all().map(Privilege::name).collect::<Vec<_>>().join(", "))]
pub struct UnknownPrivilege(pub String);

impl FromStr for Privilege {
    type Err = UnknownPrivilege;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Privilege::all().find(|p| p.name() == name).ok_or_else(|| UnknownPrivilege(name.to_string()))
    }
}

/// Parses a comma-separated allowance (`program,lua`; `all`; empty for none).
pub fn parse_allowance(text: &str) -> Result<HashSet<Privilege>, UnknownPrivilege> {
    let mut allowed = HashSet::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            allowed.extend(Privilege::all());
        } else {
            allowed.insert(name.parse()?);
        }
    }
    Ok(allowed)
}

/// One privileged directive in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrivilegedUse {
    /// What it is.
    pub privilege: Privilege,
    /// The directive as HAProxy reads it (word values joined by one blank), e.g.
    /// `external-check command /bin/true` or `program mirror`.
    pub directive: String,
    /// 1-based line of the directive.
    pub line: u32,
    /// 1-based column of its first word.
    pub column: u32,
}

impl fmt::Display for PrivilegedUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {} ({})", self.line, self.column, self.directive, self.privilege)
    }
}

fn values(line: &Line) -> Vec<String> {
    (0..line.words().len()).filter_map(|i| line.value(i).map(|v| v.into_owned())).collect()
}

/// The directive as written (each word's raw text, quoting included, joined by one blank): two
/// commands that differ only in quoting are different programs, and the audit must show which.
fn found(privilege: Privilege, line: &Line) -> PrivilegedUse {
    PrivilegedUse {
        privilege,
        directive: line.words().iter().map(|w| w.raw()).collect::<Vec<_>>().join(" "),
        line: line.position().line,
        column: line.column_of(0),
    }
}

/// True for an environment variable a started program resolves binaries or libraries with.
fn is_loader_variable(name: &str) -> bool {
    name == "PATH" || name.starts_with("LD_")
}

/// True when HAProxy may expand the word from its environment (`${NAME}`, `$NAME`;
/// configuration.txt §2.3): what it becomes is only known on the node, so a keyword or a variable
/// name that expands may be any privileged directive (`setenv KW lua-load` then `"${KW}" x.lua`).
fn expands(word: &str) -> bool {
    word.contains('$')
}

/// The privilege of a `global` statement, if any.
fn global_privilege(words: &[String]) -> Option<Privilege> {
    let keyword = words.first()?.as_str();
    if expands(keyword) {
        return Some(Privilege::Environment);
    }
    match keyword {
        "external-check" => Some(Privilege::ExternalCheck),
        "insecure-fork-wanted" => Some(Privilege::InsecureFork),
        "insecure-setuid-wanted" => Some(Privilege::InsecureSetuid),
        "lua-load" | "lua-load-per-thread" | "lua-prepend-path" => Some(Privilege::Lua),
        "setenv" | "presetenv" => {
            words.get(1).filter(|n| is_loader_variable(n) || expands(n)).map(|_| Privilege::Environment)
        }
        // resetenv empties every variable but the ones it names: keeping PATH or LD_* from the
        // environment the node started HAProxy with is what lets a started program use them.
        "resetenv" => words.iter().skip(1).any(|n| is_loader_variable(n) || expands(n)).then_some(Privilege::Environment),
        "user" | "uid" | "group" | "gid" => Some(Privilege::Identity),
        "chroot" => Some(Privilege::Chroot),
        "stats" if words.get(1).map(String::as_str) == Some("socket") => remote_socket(words),
        _ => None,
    }
}

/// `stats socket <address> [params]`: privileged when its address is not local (a path, a file
/// descriptor, a loopback address), or when it is TCP and grants `level admin`.
fn remote_socket(words: &[String]) -> Option<Privilege> {
    let address = Address::parse(words.get(2)?).ok()?;
    let tcp = !matches!(address.host, Host::Path(_) | Host::Fd(_));
    let local = match &address.host {
        Host::Path(_) | Host::Fd(_) => true,
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Name(name) => name == "localhost",
        Host::Any => false,
    };
    let admin = words.windows(2).any(|w| w[0] == "level" && w[1] == "admin");
    (!local || (tcp && admin)).then_some(Privilege::RemoteSocket)
}

fn section_uses(section: &Section, out: &mut Vec<PrivilegedUse>) {
    match section.kind() {
        SectionKind::Program => {
            out.push(found(Privilege::Program, section.header()));
            for line in section.lines().iter().filter(|l| l.kind() == LineKind::Statement) {
                // Every statement of a program section is part of what the master runs (the
                // command above all: editing it must show in `introduced`, the header alone
                // stays the same); `user` and `group` are the identity it runs as, as in global.
                let privilege = match global_privilege(&values(line)) {
                    Some(Privilege::Identity) => Privilege::Identity,
                    _ => Privilege::Program,
                };
                out.push(found(privilege, line));
            }
        }
        SectionKind::Global => {
            for line in section.lines().iter().filter(|l| !l.is_trivia()) {
                if let Some(privilege) = global_privilege(&values(line)) {
                    out.push(found(privilege, line));
                }
            }
        }
        kind if kind.is_proxy() || *kind == SectionKind::Defaults => {
            for line in section.lines().iter().filter(|l| !l.is_trivia()) {
                // Only the first two words decide, on every line of every proxy: read just those.
                let Some(keyword) = line.value(0) else { continue };
                let second = line.value(1).unwrap_or_default();
                if keyword == "external-check" && (matches!(&*second, "command" | "path") || expands(&second)) {
                    out.push(found(Privilege::ExternalCheck, line));
                } else if expands(&keyword) {
                    out.push(found(Privilege::Environment, line));
                }
            }
        }
        _ => {}
    }
}

/// Every privileged directive in `document`, in file order.
pub fn find(document: &Document) -> Vec<PrivilegedUse> {
    let mut out = Vec::new();
    for section in document.sections() {
        section_uses(section, &mut out);
    }
    out
}

/// The privileged directives `new` has that `old` does not have as written (a use is the same
/// when its privilege and directive text are: moving a line is no change, editing its command
/// is). These are what a change must be allowed to add.
pub fn introduced(old: &Document, new: &Document) -> Vec<PrivilegedUse> {
    let before: HashSet<(Privilege, String)> = find(old).into_iter().map(|u| (u.privilege, u.directive)).collect();
    find(new).into_iter().filter(|u| !before.contains(&(u.privilege, u.directive.clone()))).collect()
}

/// The uses whose privilege is not in `allowed`.
pub fn not_allowed<'a>(uses: &'a [PrivilegedUse], allowed: &HashSet<Privilege>) -> Vec<&'a PrivilegedUse> {
    uses.iter().filter(|u| !allowed.contains(&u.privilege)).collect()
}

/// Whether a change that introduces `uses` may be made by a caller with `role` in a cluster that
/// allows `allowed`: it needs both the admin role and the cluster's allowance of each privilege
/// (DESIGN.md "Trust boundaries"). The refusal names every directive and its line.
pub fn authorize(role: Role, allowed: &BTreeSet<Privilege>, uses: &[PrivilegedUse]) -> crate::Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let list = |uses: &[&PrivilegedUse]| uses.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("; ");
    if role != Role::Admin {
        let all: Vec<&PrivilegedUse> = uses.iter().collect();
        return Err(crate::Error::Forbidden(format!("privileged directives need the admin role: {}", list(&all))));
    }
    let refused: Vec<&PrivilegedUse> = uses.iter().filter(|u| !allowed.contains(&u.privilege)).collect();
    if refused.is_empty() {
        return Ok(());
    }
    // In the order they first appear, each once.
    let mut names: Vec<&str> = Vec::new();
    for name in refused.iter().map(|u| u.privilege.name()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Err(crate::Error::Forbidden(format!(
        "the cluster does not allow these privileged directives (allowed_privileges lacks {}): {}",
        names.join(", "),
        list(&refused)
    )))
}

/// Whether a caller with `role` may change a cluster's `allowed_privileges` from `old` to `new`:
/// only an admin changes it (raising it lets admins add commands to nodes; an operator's
/// settings update that leaves it as it is stays allowed).
pub fn authorize_allowance(role: Role, old: &BTreeSet<Privilege>, new: &BTreeSet<Privilege>) -> crate::Result<()> {
    if old == new || role == Role::Admin {
        return Ok(());
    }
    let names = |set: &BTreeSet<Privilege>| {
        if set.is_empty() {
            "none".to_string()
        } else {
            set.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
        }
    };
    Err(crate::Error::Forbidden(format!(
        "changing allowed_privileges (from {} to {}) needs the admin role",
        names(old),
        names(new)
    )))
}

/// The uses of privileged directives in `document` the node's own policy (`fleet-agent
/// --allow-privileged`) does not allow: the whole document counts, not only what a change
/// added, since the node trusts the server for configuration, not for code.
pub fn refused_by_node(document: &Document, allowed: &HashSet<Privilege>) -> Vec<PrivilegedUse> {
    find(document).into_iter().filter(|u| !allowed.contains(&u.privilege)).collect()
}

/// The message of a version the node refused: every directive with its line, and what
/// `--allow-privileged` would have to list.
/// Keywords of keepalived.conf(5) whose value is a command keepalived runs.
const KEEPALIVED_SCRIPTS: &[&str] = &[
    "script",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "notify_up",
    "notify_down",
    "misc_path",
    "quorum_up",
    "quorum_down",
    "notify_fifo_script",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo_script",
    "startup_script",
    "shutdown_script",
];

/// The script-running lines of a keepalived.conf ([`Privilege::KeepalivedScript`]): each line
/// whose first word is one of [`KEEPALIVED_SCRIPTS`] or starts with `$` or `~` (a variable
/// definition or use, or a sequence, which keepalived expands before reading). Comments (`#`,
/// `!`) are skipped. `include`d files are the node's own and not seen here.
pub fn keepalived_scripts(text: &str) -> Vec<PrivilegedUse> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let trimmed = line.trim_start();
            let word = trimmed.split(|c: char| c.is_whitespace() || c == '{' || c == '}').next().unwrap_or("");
            let privileged = KEEPALIVED_SCRIPTS.contains(&word) || word.starts_with('$') || word.starts_with('~') || word.starts_with('@');
            (privileged && !word.is_empty()).then(|| PrivilegedUse {
                privilege: Privilege::KeepalivedScript,
                directive: trimmed.trim_end().chars().take(120).collect(),
                line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                column: u32::try_from(line.len() - trimmed.len() + 1).unwrap_or(1),
            })
        })
        .collect()
}

pub fn node_refusal_message(refused: &[PrivilegedUse]) -> String {
    let mut names: Vec<&str> = refused.iter().map(|u| u.privilege.name()).collect();
    names.sort_unstable();
    names.dedup();
    format!(
        "refused by the node's policy (--allow-privileged lacks {}): {}",
        names.join(","),
        refused.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        let parsed = haproxy_parse::parse(text);
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        parsed.document
    }

    fn kinds(text: &str) -> Vec<(Privilege, u32)> {
        find(&doc(text)).into_iter().map(|u| (u.privilege, u.line)).collect()
    }

    #[test]
    fn every_privilege_has_one_row_and_a_name_that_parses_back() {
        for privilege in [
            Privilege::Program,
            Privilege::ExternalCheck,
            Privilege::InsecureFork,
            Privilege::InsecureSetuid,
            Privilege::Lua,
            Privilege::Environment,
            Privilege::Identity,
            Privilege::Chroot,
            Privilege::RemoteSocket,
            Privilege::KeepalivedScript,
        ] {
            assert_eq!(PRIVILEGES.iter().filter(|r| r.privilege == privilege).count(), 1, "{privilege}");
            assert_eq!(privilege.rule().privilege, privilege);
            assert_eq!(privilege.name().parse::<Privilege>(), Ok(privilege));
        }
        assert_eq!(PRIVILEGES.len(), 10);
    }

    #[test]
    fn programs_external_checks_and_forks_are_found_where_they_are() {
        let text = "global\n    master-worker\n    insecure-fork-wanted\n    external-check\n\n\
                    program mirror\n    command /usr/bin/mirror --x\n    user nobody\n\n\
                    backend app\n    option external-check\n    external-check command /bin/true\n    server a 127.0.0.1:80 check\n";
        assert_eq!(
            kinds(text),
            vec![
                (Privilege::InsecureFork, 3),
                (Privilege::ExternalCheck, 4),
                (Privilege::Program, 6),
                (Privilege::Program, 7),
                (Privilege::Identity, 8),
                (Privilege::ExternalCheck, 12),
            ]
        );
        let uses = find(&doc(text));
        assert_eq!(uses[2].directive, "program mirror");
        assert_eq!(uses[3].directive, "command /usr/bin/mirror --x");
        assert_eq!((uses[5].line, uses[5].column), (12, 5));
        assert_eq!(uses[5].directive, "external-check command /bin/true");
    }

    #[test]
    fn lua_environment_identity_and_chroot_are_global_only() {
        let text = "global\n    lua-load /etc/haproxy/a.lua\n    lua-prepend-path /x/?.lua\n    setenv PATH /tmp\n    \
                    setenv FOO bar\n    presetenv LD_PRELOAD /tmp/x.so\n    resetenv HOME\n    resetenv PATH HOME\n    \
                    user haproxy\n    gid 99\n    chroot /var/empty\n\nuserlist admins\n    user bob insecure-password x\n    group ops\n";
        assert_eq!(
            kinds(text),
            vec![
                (Privilege::Lua, 2),
                (Privilege::Lua, 3),
                (Privilege::Environment, 4),
                (Privilege::Environment, 6),
                (Privilege::Environment, 8),
                (Privilege::Identity, 9),
                (Privilege::Identity, 10),
                (Privilege::Chroot, 11),
            ]
        );
    }

    #[test]
    fn stats_sockets_are_privileged_when_open_to_the_network_or_admin_over_tcp() {
        let text = "global\n    stats socket /run/haproxy.sock mode 600 level admin\n    stats socket 127.0.0.1:9999 level operator\n    \
                    stats socket ipv4@0.0.0.0:9999 level user\n    stats socket 127.0.0.1:9998 level admin\n    \
                    stats socket [::1]:9997\n    stats socket :9996\n    stats timeout 30s\n";
        assert_eq!(kinds(text), vec![(Privilege::RemoteSocket, 4), (Privilege::RemoteSocket, 5), (Privilege::RemoteSocket, 7)]);
    }

    #[test]
    fn lines_inside_conditional_blocks_count() {
        let text = "global\n.if defined(DEBUG)\n    insecure-fork-wanted\n.endif\n";
        assert_eq!(kinds(text), vec![(Privilege::InsecureFork, 3)]);
    }

    #[test]
    fn introduced_names_what_a_change_adds_or_edits() {
        let old = doc("global\n    lua-load /a.lua\n\nbackend app\n    external-check command /bin/true\n");
        let moved = doc("global\n    # moved\n    lua-load /a.lua\n\nbackend app\n    external-check command /bin/true\n");
        assert!(introduced(&old, &moved).is_empty());
        let edited = doc("global\n    lua-load /a.lua\n\nbackend app\n    external-check command /bin/false\n");
        let added = introduced(&old, &edited);
        assert_eq!(added.len(), 1);
        assert_eq!((added[0].privilege, added[0].line), (Privilege::ExternalCheck, 5));
        assert!(introduced(&edited, &old).iter().all(|u| u.directive.ends_with("/bin/true")));
    }

    #[test]
    fn allowances_parse_and_filter() {
        let allowed = parse_allowance("program, lua").unwrap();
        assert_eq!(allowed, HashSet::from([Privilege::Program, Privilege::Lua]));
        assert_eq!(parse_allowance("").unwrap(), HashSet::new());
        assert_eq!(parse_allowance("all").unwrap().len(), PRIVILEGES.len());
        let err = parse_allowance("program,shell").unwrap_err();
        assert!(err.to_string().starts_with("unknown privilege \"shell\" (one of program, external-check"), "{err}");
        let uses = find(&doc("global\n    lua-load /a.lua\n    insecure-fork-wanted\n"));
        let refused: Vec<_> = not_allowed(&uses, &allowed).into_iter().map(|u| u.privilege).collect();
        assert_eq!(refused, vec![Privilege::InsecureFork]);
    }

    #[test]
    fn changes_with_privileged_directives_need_admin_and_the_clusters_allowance() {
        let uses = find(&doc("global\n    lua-load /a.lua\n\nprogram m\n    command /bin/m\n"));
        let none = BTreeSet::new();
        assert!(authorize(Role::Operator, &none, &[]).is_ok());
        let err = authorize(Role::Operator, &BTreeSet::from([Privilege::Lua, Privilege::Program]), &uses).unwrap_err();
        assert_eq!(
            err.to_string(),
            "forbidden: privileged directives need the admin role: line 2, column 5: lua-load /a.lua (lua); \
             line 4, column 1: program m (program); line 5, column 5: command /bin/m (program)"
        );
        let err = authorize(Role::Admin, &BTreeSet::from([Privilege::Lua]), &uses).unwrap_err();
        assert_eq!(
            err.to_string(),
            "forbidden: the cluster does not allow these privileged directives (allowed_privileges lacks program): \
             line 4, column 1: program m (program); line 5, column 5: command /bin/m (program)"
        );
        assert!(authorize(Role::Admin, &BTreeSet::from([Privilege::Lua, Privilege::Program]), &uses).is_ok());
    }

    #[test]
    fn only_admins_change_the_allowance() {
        let none = BTreeSet::new();
        let program = BTreeSet::from([Privilege::Program]);
        assert!(authorize_allowance(Role::Operator, &program, &program).is_ok());
        assert!(authorize_allowance(Role::Admin, &none, &program).is_ok());
        let err = authorize_allowance(Role::Operator, &none, &program).unwrap_err();
        assert_eq!(err.to_string(), "forbidden: changing allowed_privileges (from none to program) needs the admin role");
        assert!(authorize_allowance(Role::Operator, &program, &none).is_err());
    }

    #[test]
    fn the_node_refuses_every_use_it_does_not_allow() {
        let d = doc("global\n    lua-load /a.lua\n\nprogram m\n    command /bin/m\n");
        assert!(refused_by_node(&d, &parse_allowance("all").unwrap()).is_empty());
        let refused = refused_by_node(&d, &parse_allowance("lua").unwrap());
        assert_eq!(refused.iter().map(|u| u.line).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(
            node_refusal_message(&refused_by_node(&d, &HashSet::new())),
            "refused by the node's policy (--allow-privileged lacks lua,program): \
             line 2, column 5: lua-load /a.lua (lua); line 4, column 1: program m (program); \
             line 5, column 5: command /bin/m (program)"
        );
    }

    #[test]
    fn the_readme_lists_every_privilege() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let start = readme.find("### Privileged directives").expect("README has the subsection");
        let rest = &readme[start + 1..];
        let section = &rest[..rest.find("\n#").unwrap_or(rest.len())];
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
        let names: Vec<&str> = Privilege::all().map(Privilege::name).collect();
        let listed: Vec<&str> = rows.iter().filter_map(|r| r.split('`').nth(1)).collect();
        assert_eq!(listed, names, "README's table follows PRIVILEGES");
    }

    #[test]
    fn keywords_and_variable_names_from_the_environment_count() {
        let text = "global\n    setenv KW lua-load\n    \"${KW}\" /tmp/x.lua\n    setenv S load\n    \"lua-${S}\" /y.lua\n    \
                    setenv P PATH\n    setenv \"${P}\" /tmp/bin\n    resetenv \"$N\"\n\n\
                    backend b\n    \"${EC}\" command /bin/true\n    external-check \"${WHAT}\" /bin/true\n";
        assert_eq!(
            kinds(text),
            vec![
                (Privilege::Environment, 3),
                (Privilege::Environment, 5),
                (Privilege::Environment, 7),
                (Privilege::Environment, 8),
                (Privilege::Environment, 11),
                (Privilege::ExternalCheck, 12),
            ]
        );
    }

    #[test]
    fn a_command_that_differs_only_in_quoting_is_a_change() {
        let old = doc("program p\n    command /bin/sh -c id > /tmp/x\n");
        let new = doc("program p\n    command \"/bin/sh -c id > /tmp/x\"\n");
        let added = introduced(&old, &new);
        assert_eq!(added.len(), 1, "{added:?}");
        assert_eq!(added[0].directive, "command \"/bin/sh -c id > /tmp/x\"");
    }

    #[test]
    fn keepalived_scripts_are_found_at_their_lines() {
        let text = "global_defs {\n    router_id a\n    notify_fifo /run/fifo\n}\nvrrp_script chk {\n    script \"/bin/true\"\n}\n\
                    vrrp_instance v {\n    notify_master /x.sh\n    # notify /y.sh\n}\n$X=1\n";
        let found: Vec<(u32, u32)> = keepalived_scripts(text).iter().map(|u| (u.line, u.column)).collect();
        assert_eq!(found, vec![(6, 5), (9, 5), (12, 1)]);
        assert!(keepalived_scripts("vrrp_instance v {\n    state MASTER\n    track_file {\n        f\n    }\n}\n").is_empty());
    }
}
