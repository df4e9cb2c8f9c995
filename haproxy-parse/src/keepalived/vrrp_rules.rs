//! The semantic rules `keepalived -t` enforces on VRRP and LVS blocks, each one an error only
//! where keepalived 2.2.7 surely reports a configuration error (and so exits non-zero).
//!
//! Every rule names the message keepalived prints (keepalived/vrrp/vrrp.c `vrrp_complete_instance`,
//! `chk_min_cfg`, vrrp_parser.c handlers, check/check_data.c) so the two can be compared. A
//! block holding text the check cannot see (an include, a parameter use) is not judged for
//! what it lacks; `@configid` statements give warnings (see check.rs).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use haproxy_model::keepalived::{Block, Document, Statement, Word};
use haproxy_model::{Diagnostic, Position};

use super::check::{finding, Context};

pub(crate) fn check(document: &Document, context: &Context, diagnostics: &mut Vec<Diagnostic>) {
    let mut vrids: HashMap<(String, u32, &'static str), (String, Position)> = HashMap::new();
    for statement in document.find_all("vrrp_instance") {
        instance(statement, context, &mut vrids, diagnostics);
    }
    for statement in document.find_all("vrrp_script") {
        script(statement, context, diagnostics);
    }
    let instances: HashSet<String> =
        document.find_all("vrrp_instance").filter_map(|s| s.arg(0).map(|n| n.into_owned())).collect();
    for statement in document.find_all("vrrp_sync_group") {
        sync_group(statement, context, (!context.opaque).then_some(&instances), document, diagnostics);
    }
    for statement in document.find_all("virtual_server") {
        virtual_server(statement, context, diagnostics);
    }
    for statement in document.find_all("global_defs") {
        global_defs(statement, diagnostics);
    }
    for statement in document.find_all("static_rules") {
        if let Some(block) = statement.block() {
            rules(block, context, statement.config_id().is_some(), diagnostics);
        }
    }
    if !context.opaque {
        track_scripts(document, diagnostics);
    }
}

/// The word holding the first argument of `keyword` in `block`, its value, and whether the
/// statement is `@configid`-conditional.
fn argument<'a>(block: &'a Block, keyword: &str) -> Option<(&'a Word, String, bool)> {
    let statement = block.find(keyword)?;
    let word = statement.args().first()?;
    Some((word, word.value().into_owned(), statement.config_id().is_some()))
}

/// Checks `keyword N` is a whole number in 1..=255; returns it when it is.
/// vrrp_parser.c: "VRID '%s' not valid - must be between 1 & 255", "Priority not valid!".
fn check_range(block: &Block, keyword: &str, conditional: bool, diagnostics: &mut Vec<Diagnostic>) -> Option<u32> {
    let (word, value, on_some_nodes) = argument(block, keyword)?;
    if value.contains('$') {
        return None;
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=255).contains(&n) => Some(n),
        _ => {
            let message = format!("{keyword} '{value}' is outside 1..255");
            diagnostics.push(finding(conditional || on_some_nodes, word.position(), message));
            None
        }
    }
}

/// The instance's address family, from its first virtual address (`:` means IPv6).
fn family(block: &Block) -> &'static str {
    let v6 = block
        .entries("virtual_ipaddress")
        .first()
        .and_then(|s| s.words().first())
        .is_some_and(|w| w.value().contains(':'));
    if v6 {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// `strict_mode` with no argument or a true one (vrrp_parser.c `vrrp_strict_mode_handler`).
fn strict_mode(block: &Block, context: &Context) -> bool {
    match block.find("strict_mode") {
        Some(statement) => matches!(statement.arg(0).as_deref(), None | Some("on" | "true" | "yes")),
        None => context.vrrp_strict,
    }
}

fn instance(
    statement: &Statement,
    context: &Context,
    vrids: &mut HashMap<(String, u32, &'static str), (String, Position)>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let name = statement.arg(0).map(|n| n.into_owned()).unwrap_or_default();
    let at = statement.keyword_word().map_or_else(|| statement.position(), Word::position);
    let conditional = statement.config_id().is_some();
    let Some(block) = statement.block() else {
        diagnostics.push(finding(conditional, at, format!("vrrp_instance '{name}' has no block")));
        return;
    };
    let hidden = context.includes || block.statements().iter().any(|s| context.hides_text(s));
    let mut missing = |what: &str, keepalived: &str| {
        if !hidden {
            let message = format!("vrrp_instance '{name}' has no {what} (keepalived: \"{keepalived}\")");
            diagnostics.push(finding(conditional, at, message));
        }
    };
    let interface = argument(block, "interface").map(|(_, v, _)| v);
    // vrrp.c chk_min_cfg: unicast instances need no interface.
    if interface.is_none() && !context.default_interface && !block.has("unicast_peer") {
        missing("interface", "Unknown interface!");
    }
    if block.find("virtual_router_id").is_none() {
        missing("virtual_router_id", "the virtual router id must be set");
    }
    // vrrp.c vrrp_complete_instance; virtual_ipaddress_excluded does not count.
    if block.entries("virtual_ipaddress").is_empty() {
        missing("virtual_ipaddress", "No VIP specified; at least one is sensible");
    }
    let vrid = check_range(block, "virtual_router_id", conditional, diagnostics);
    let priority = check_range(block, "priority", conditional, diagnostics);
    // vrrp.c: unicast and multicast are separate VRID spaces, unicast instances conflict only
    // with the same peers and source, and a VMAC or other group address is another space too.
    let own_space = ["unicast_peer", "mcast_dst_ip", "use_vmac", "use_ipvlan"].iter().any(|k| block.has(k));
    let unknown_family =
        block.entries("virtual_ipaddress").first().and_then(|s| s.words().first()).is_some_and(|w| w.raw().contains('$'));
    let interface = interface.filter(|i| !own_space && !unknown_family && !i.contains('$'));
    if let (Some(interface), Some(vrid)) = (interface, vrid) {
        let position = argument(block, "virtual_router_id").map_or(at, |(w, _, _)| w.position());
        match vrids.entry((interface.clone(), vrid, family(block))) {
            Entry::Occupied(first) => {
                let (other, first_at) = first.get();
                diagnostics.push(finding(
                    conditional,
                    position,
                    format!(
                        "duplicate virtual_router_id {vrid} on interface {interface}: vrrp_instance '{other}' (line {}) uses it too",
                        first_at.line
                    ),
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert((name.clone(), position));
            }
        }
    }
    if let Some(statement) = block.find("lvs_sync_daemon_interface") {
        let position = statement.keyword_word().map_or(at, Word::position);
        diagnostics.push(finding(
            conditional || statement.config_id().is_some(),
            position,
            "lvs_sync_daemon_interface in a vrrp_instance is deprecated: use lvs_sync_daemon in global_defs (keepalived -t fails)".into(),
        ));
    }
    for keyword in ["virtual_ipaddress", "virtual_ipaddress_excluded"] {
        addresses(block.entries(keyword), context, conditional, diagnostics);
    }
    if let Some(routes) = block.find("virtual_routes").and_then(Statement::block) {
        tracked_routes(routes, context, conditional, diagnostics);
    }
    if let Some(block) = block.find("virtual_rules").and_then(Statement::block) {
        rules(block, context, conditional, diagnostics);
    }
    let parameters = ["state", "priority", "version", "strict_mode", "authentication"]
        .iter()
        .filter_map(|k| block.find(k))
        .any(|s| uses_parameters(s) || s.config_id().is_some());
    if hidden || parameters {
        return;
    }
    let state_master = block.value("state").as_deref() == Some("MASTER");
    // vrrp.c: with no priority, MASTER means 255 (the address owner).
    let owner = match priority {
        Some(p) => p == 255,
        None => state_master && block.find("priority").is_none(),
    };
    let strict = strict_mode(block, context);
    if strict && block.has("state") && state_master != owner && (block.has("priority") == priority.is_some()) {
        diagnostics.push(finding(
            conditional,
            at,
            format!("vrrp_instance '{name}': in strict mode, state MASTER must match priority 255 (keepalived: \"State MASTER must match being address owner\")"),
        ));
    }
    let instance = Instance { block, name: &name, at, conditional };
    authentication(&instance, Starting { strict, master: state_master, owner }, context, diagnostics);
}

/// True when `statement` or anything inside its block uses a `$` parameter.
fn uses_parameters(statement: &Statement) -> bool {
    statement.words().iter().any(|w| w.raw().contains('$'))
        || statement.block().is_some_and(|b| b.statements().iter().any(uses_parameters))
}

/// One `vrrp_instance` being judged.
struct Instance<'a> {
    block: &'a Block,
    name: &'a str,
    at: Position,
    conditional: bool,
}

/// How an instance is set to start.
#[derive(Clone, Copy)]
struct Starting {
    /// Strict mode, from the instance or `vrrp_strict`.
    strict: bool,
    /// `state MASTER`.
    master: bool,
    /// Priority 255 (given, or implied by MASTER without a priority).
    owner: bool,
}

/// vrrp.c vrrp_complete_instance, the authentication cases, in keepalived's order.
fn authentication(instance: &Instance<'_>, start: Starting, context: &Context, diagnostics: &mut Vec<Diagnostic>) {
    let Instance { block, name, at, conditional } = *instance;
    let Starting { strict, master: state_master, owner } = start;
    let Some(auth) = block.find("authentication").and_then(Statement::block) else { return };
    if let Some((word, pass, _)) = argument(auth, "auth_pass") {
        if pass.chars().count() > 8 {
            diagnostics.push(finding(
                conditional,
                word.position(),
                format!("auth_pass is {} characters long: keepalived truncates it to 8 and reports it", pass.chars().count()),
            ));
        }
    }
    let kind = match auth.value("auth_type").as_deref() {
        Some("PASS") => "PASS",
        Some("AH") => "AH",
        _ => return,
    };
    let version_3 = match block.value("version").as_deref() {
        Some(version) => version == "3",
        None => family(block) == "ipv6" || context.vrrp_version_3,
    };
    let problem = if strict {
        "strict mode does not support authentication"
    } else if version_3 {
        "VRRP version 3 does not support authentication"
    } else if auth.find("auth_pass").and_then(|s| s.arg(0)).is_none_or(|p| p.is_empty()) {
        "authentication specified but no password given"
    } else if kind == "AH" && family(block) == "ipv6" {
        "cannot use AH authentication with IPv6"
    } else if kind == "AH" && state_master && !owner {
        "initial state MASTER is incompatible with AH authentication unless priority is 255"
    } else {
        return;
    };
    diagnostics.push(finding(conditional, at, format!("vrrp_instance '{name}': {problem}")));
}

/// vrrp_ipaddress.c `parse_ipaddress`: the first word of an address entry is an address
/// `inet_pton` reads (IPv6 when it holds `:`), with an optional `/PREFIX` of at most 32 / 128
/// ("VRRP parsed invalid IP %s. skipping IP...", "Invalid address prefix len").
fn addresses(entries: &[Statement], context: &Context, conditional: bool, diagnostics: &mut Vec<Diagnostic>) {
    for entry in entries {
        if context.hides_text(entry) || entry.words().first().is_some_and(|w| w.raw().contains('$')) {
            continue;
        }
        let Some(word) = entry.words().first() else { continue };
        let text = word.value();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.as_ref(), None),
        };
        let v6 = address.contains(':');
        let parses = if v6 {
            address.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            address.parse::<std::net::Ipv4Addr>().is_ok()
        };
        let max = if v6 { 128 } else { 32 };
        // keepalived's reader lets an empty prefix, `+5` or `05` pass; digits beyond the
        // maximum and letters (which base-10 `strtoul` never reads) it refuses.
        let prefix_ok = prefix.is_none_or(|p| {
            let too_long = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u64>().map_or(true, |n| n > max);
            !too_long && !p.bytes().any(|b| b.is_ascii_alphabetic())
        });
        if !parses || !prefix_ok {
            let message = format!("'{text}' is not a valid IP address (keepalived: \"VRRP parsed invalid IP\")");
            diagnostics.push(finding(conditional || entry.config_id().is_some(), word.position(), message));
        }
    }
}

/// vrrp_iproute.c `alloc_route`: a `virtual_routes` entry is tracked unless it says `no_track`,
/// and tracking needs `dev` / `oif` ("Warning - cannot track route %s with no interface
/// specified"). Entries with `nexthop` are left alone (their devices sit on the hops).
fn tracked_routes(block: &Block, context: &Context, conditional: bool, diagnostics: &mut Vec<Diagnostic>) {
    for entry in block.statements() {
        let parameter = entry.words().iter().any(|w| w.raw().contains('$'));
        if context.hides_text(entry) || parameter || entry.block().is_some() {
            continue;
        }
        let values: Vec<String> = entry.words().iter().map(|w| w.value().into_owned()).collect();
        if values.iter().any(|v| matches!(v.as_str(), "dev" | "oif" | "no_track" | "nexthop")) {
            continue;
        }
        let Some(word) = entry.words().first() else { continue };
        diagnostics.push(finding(
            conditional || entry.config_id().is_some(),
            word.position(),
            "route in virtual_routes has no dev: keepalived cannot track it (add dev or no_track)".into(),
        ));
    }
}

/// vrrp_iprule.c `alloc_rule`: "Rule has no preference specified - setting to %u. This is
/// probably not what you want." (`preference`, `order` and `priority` are synonyms).
fn rules(block: &Block, context: &Context, conditional: bool, diagnostics: &mut Vec<Diagnostic>) {
    for entry in block.statements() {
        let parameter = entry.words().iter().any(|w| w.raw().contains('$'));
        if context.hides_text(entry) || parameter || entry.block().is_some() {
            continue;
        }
        if entry.words().iter().any(|w| matches!(w.value().as_ref(), "preference" | "order" | "priority")) {
            continue;
        }
        let Some(word) = entry.words().first() else { continue };
        diagnostics.push(finding(
            conditional || entry.config_id().is_some(),
            word.position(),
            "ip rule has no preference: keepalived picks one and reports it".into(),
        ));
    }
}

/// vrrp_parser.c: "No script set for vrrp_script %s - removing".
fn script(statement: &Statement, context: &Context, diagnostics: &mut Vec<Diagnostic>) {
    let Some(block) = statement.block() else { return };
    if block.statements().iter().any(|s| context.hides_text(s)) || block.has("script") {
        return;
    }
    let name = statement.arg(0).map(|n| n.into_owned()).unwrap_or_default();
    let at = statement.keyword_word().map_or_else(|| statement.position(), Word::position);
    diagnostics.push(finding(
        statement.config_id().is_some(),
        at,
        format!("vrrp_script '{name}' has no script (keepalived removes it)"),
    ));
}

/// vrrp.c: "Sync group %s has no virtual router(s). removing"; vrrp_sync.c: "Virtual router
/// %s specified in sync group %s doesn't exist", "Sync group %s has only 1 virtual router(s)"
/// (both configuration errors). `instances` is `None` when the file may define more
/// instances than it shows (includes, parameters).
fn sync_group(
    statement: &Statement,
    context: &Context,
    instances: Option<&HashSet<String>>,
    document: &Document,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(block) = statement.block() else { return };
    if block.statements().iter().any(|s| context.hides_text(s)) {
        return;
    }
    let name = statement.arg(0).map(|n| n.into_owned()).unwrap_or_default();
    let at = statement.keyword_word().map_or_else(|| statement.position(), Word::position);
    let conditional = statement.config_id().is_some();
    let entries = block.entries("group");
    if entries.is_empty() {
        let message = format!("vrrp_sync_group '{name}' has no group of instances (keepalived removes it)");
        diagnostics.push(finding(conditional, at, message));
        return;
    }
    let Some(instances) = instances else { return };
    let uncertain = |s: &Statement| s.config_id().is_some() || s.words().iter().any(|w| w.raw().contains('$'));
    if entries.iter().any(uncertain) {
        return;
    }
    let mut members: Vec<&Statement> = Vec::new();
    for word in entries.iter().flat_map(Statement::words) {
        let member = word.value();
        let found = document.find_all("vrrp_instance").find(|s| s.arg(0).as_deref() == Some(member.as_ref()));
        match found {
            Some(instance) if instances.contains(member.as_ref()) => {
                if uncertain(instance) {
                    // An instance that exists on some nodes only: the count is not known.
                    return;
                }
                if !members.iter().any(|m| std::ptr::eq(*m, instance)) {
                    members.push(instance);
                }
            }
            _ => {
                let message = format!("vrrp_sync_group '{name}' names '{member}', which no vrrp_instance defines");
                diagnostics.push(finding(conditional, word.position(), message));
            }
        }
    }
    if members.len() == 1 {
        let message = format!("vrrp_sync_group '{name}' has only one instance (keepalived reports it)");
        diagnostics.push(finding(conditional, at, message));
    }
    // vrrp_sync.c: once the members read so far all own their addresses as MASTER, a member
    // starting as BACKUP is "Sync group %s has some member(s) as address owner and some not".
    let mut all_owners = true;
    for (i, member) in members.iter().enumerate() {
        let Some(start) = start_state(member, context) else { return };
        if i > 0 && all_owners && start == Start::Backup {
            let message = format!("vrrp_sync_group '{name}' mixes address owners (MASTER, priority 255) and BACKUP members (keepalived reports it)");
            diagnostics.push(finding(conditional, at, message));
            return;
        }
        all_owners = all_owners && start == Start::Owner;
    }
}

/// How an instance starts, as vrrp.c `vrrp_complete_instance` settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// MASTER with priority 255.
    Owner,
    /// MASTER below 255.
    Master,
    /// BACKUP.
    Backup,
}

/// The start state of an instance; `None` when parameters or odd values leave it open.
fn start_state(instance: &Statement, context: &Context) -> Option<Start> {
    let block = instance.block()?;
    if block.statements().iter().any(|s| context.hides_text(s)) {
        return None;
    }
    let state = block.value("state");
    let priority = match block.value("priority") {
        Some(p) => Some(p.parse::<u32>().ok().filter(|p| (1..=255).contains(p))?),
        None => None,
    };
    Some(match (state.as_deref(), priority) {
        (Some("MASTER"), Some(255) | None) | (None, Some(255)) => Start::Owner,
        (Some("MASTER"), Some(_)) => Start::Master,
        (Some("BACKUP"), _) | (None, _) => Start::Backup,
        _ => return None,
    })
}

/// check_data.c `validate_check_config` and the checkers' close handlers, for one
/// `virtual_server`: "protocol specified for fwmark", "no protocol set - defaulting to UDP",
/// "no forwarding method set", "HTTP/SSL_GET checker has no urls specified", "No script path
/// has been specified for MISC_CHECKER".
fn virtual_server(statement: &Statement, context: &Context, diagnostics: &mut Vec<Diagnostic>) {
    let Some(block) = statement.block() else { return };
    if context.hides_text(statement) || statement.words().iter().any(|w| w.raw().contains('$')) {
        return;
    }
    let conditional = statement.config_id().is_some();
    let at = statement.keyword_word().map_or_else(|| statement.position(), Word::position);
    let by_address = !matches!(statement.arg(0).as_deref(), Some("fwmark" | "group"));
    if by_address && !block.has("protocol") {
        diagnostics.push(finding(conditional, at, "virtual_server has no protocol (keepalived reports it and uses UDP)".into()));
    }
    let method = block.has("lb_kind") || block.has("lvs_method");
    for real in block.find_all("real_server") {
        let Some(inner) = real.block() else { continue };
        let real_at = real.keyword_word().map_or_else(|| real.position(), Word::position);
        let conditional = conditional || real.config_id().is_some();
        if !method && !inner.has("lvs_method") {
            let message = "real_server has no forwarding method: set lb_kind on the virtual_server or lvs_method (keepalived reports it)";
            diagnostics.push(finding(conditional, real_at, message.into()));
        }
        for checker in inner.statements() {
            let Some(body) = checker.block() else { continue };
            let lacks = match checker.keyword().as_deref() {
                Some("HTTP_GET" | "SSL_GET") if !body.has("url") => "url",
                Some("MISC_CHECK") if !body.has("misc_path") => "misc_path",
                _ => continue,
            };
            let position = checker.keyword_word().map_or_else(|| checker.position(), Word::position);
            let keyword = checker.keyword().unwrap_or_default().into_owned();
            let message = format!("{keyword} has no {lacks} (keepalived ignores the checker and reports it)");
            diagnostics.push(finding(conditional || checker.config_id().is_some(), position, message));
        }
    }
    if by_address {
        return;
    }
    if let Some(protocol) = block.find("protocol").filter(|_| statement.arg(0).as_deref() == Some("fwmark")) {
        let at = protocol.keyword_word().map_or_else(|| protocol.position(), Word::position);
        diagnostics.push(finding(
            statement.config_id().is_some() || protocol.config_id().is_some(),
            at,
            "protocol in a fwmark virtual_server is ignored (keepalived reports it)".into(),
        ));
    }
}

/// global_parser.c: `vrrp_garp_interval` and `vrrp_gna_interval` take seconds in
/// [0.000001, 4294.967295] ("number '0' outside range").
fn global_defs(statement: &Statement, diagnostics: &mut Vec<Diagnostic>) {
    let Some(block) = statement.block() else { return };
    // Every occurrence counts: keepalived reads each one.
    for entry in block.find_all("vrrp_garp_interval").chain(block.find_all("vrrp_gna_interval")) {
        let (Some(keyword), Some(word)) = (entry.keyword(), entry.args().first()) else { continue };
        let value = word.value();
        let Ok(seconds) = value.parse::<f64>() else { continue };
        if !(0.000_001..=4_294.967_295).contains(&seconds) {
            diagnostics.push(finding(
                statement.config_id().is_some() || entry.config_id().is_some(),
                word.position(),
                format!("{keyword} '{value}' is outside 0.000001..4294.967295 seconds"),
            ));
        }
    }
}

/// vrrp_track.c: "(%s) track script %s not found, ignoring...".
fn track_scripts(document: &Document, diagnostics: &mut Vec<Diagnostic>) {
    let scripts: HashSet<String> = document
        .find_all("vrrp_script")
        .filter(|s| s.block().is_some_and(|b| b.has("script")))
        .filter_map(|s| s.arg(0).map(|n| n.into_owned()))
        .collect();
    let tracking = document.find_all("vrrp_instance").chain(document.find_all("vrrp_sync_group"));
    for statement in tracking {
        let Some(block) = statement.block() else { continue };
        let conditional = statement.config_id().is_some();
        for entry in block.entries("track_script") {
            let Some(word) = entry.words().first() else { continue };
            let name = word.value();
            if !scripts.contains(name.as_ref()) {
                diagnostics.push(finding(
                    conditional || entry.config_id().is_some(),
                    word.position(),
                    format!("track_script names '{name}', which no vrrp_script defines with a script"),
                ));
            }
        }
    }
}
