//! parse(render(model)) == model: documents built only through the typed constructors and
//! editors, with word values full of quotes, blanks, `#`, `$`, backslashes and unicode, render
//! to text that parses back to an equal Document, and the typed reads give back what was put in.

use std::collections::BTreeMap;

use haproxy_model::keywords::{bind as bind_kw, proxy as proxy_kw, server as server_kw};
use haproxy_model::{Condition, Document, Expr, Polarity, TimeValue};
use haproxy_parse::parse;
use haproxy_render::lossless;
use proptest::prelude::*;

/// Any word value, weighted towards the characters HAProxy's quoting cares about.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9._/-]{1,10}",
        2 => prop::collection::vec(
            prop_oneof![
                Just(" ".to_string()),
                Just("\t".to_string()),
                Just("\"".to_string()),
                Just("'".to_string()),
                Just("#".to_string()),
                Just("$".to_string()),
                Just("${VAR}".to_string()),
                Just("\\".to_string()),
                Just("\\n".to_string()),
                Just("é".to_string()),
                Just("日本".to_string()),
                Just("🦀".to_string()),
                "[a-z]{1,3}",
            ],
            1..6,
        )
        .prop_map(|parts| parts.concat()),
        1 => "\\PC{0,8}",
        1 => Just(String::new()),
    ]
}

/// A word value that does not start a condition inside a rule's arguments.
fn arg() -> impl Strategy<Value = String> {
    value().prop_filter("if/unless start the condition", |v| v != "if" && v != "unless")
}

/// An ACL name as a condition can reference it.
fn acl_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.é-]{0,8}".prop_filter("operators", |v| !v.eq_ignore_ascii_case("or"))
}

/// A proxy, server or ACL name the editors accept (HAProxy's `invalid_char()` set).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:-]{1,10}"
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| format!("{}.{}.{}.{}:{port}", ip[0], ip[1], ip[2], ip[3])),
        (any::<[u16; 8]>(), 1u16..).prop_map(|(ip, port)| format!("[{}]:{port}", std::net::Ipv6Addr::from(ip))),
        ("[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}", prop::option::of(1u16..))
            .prop_map(|(host, port)| port.map_or(host.clone(), |p| format!("{host}:{p}"))),
        "/run/[a-z]{1,8}\\.sock",
    ]
}

#[derive(Debug, Clone)]
struct ServerSpec {
    name: String,
    address: String,
    flags: Vec<&'static str>,
    params: BTreeMap<&'static str, String>,
}

fn server() -> impl Strategy<Value = ServerSpec> {
    (
        name(),
        address(),
        prop::sample::subsequence(server_kw::FLAG_KEYWORDS, 0..4),
        prop::collection::btree_map(prop::sample::select(server_kw::VALUE_KEYWORDS), value(), 0..4),
    )
        .prop_map(|(name, address, flags, params)| ServerSpec { name, address, flags, params })
}

#[derive(Debug, Clone)]
struct BindSpec {
    address: String,
    flags: Vec<&'static str>,
    params: BTreeMap<&'static str, String>,
}

fn bind() -> impl Strategy<Value = BindSpec> {
    let one = prop_oneof![
        (1u16..).prop_map(|p| format!(":{p}")),
        (1u16..1000, 0u16..100).prop_map(|(p, n)| format!("*:{p}-{}", p + n)),
        (any::<[u16; 8]>(), 1u16..).prop_map(|(ip, p)| format!("ipv6@[{}]:{p}", std::net::Ipv6Addr::from(ip))),
        "unix@/run/[a-z]{1,6}\\.sock",
    ];
    (
        prop::collection::vec(one, 1..3).prop_map(|v| v.join(",")),
        prop::sample::subsequence(bind_kw::FLAG_KEYWORDS, 0..3),
        prop::collection::btree_map(prop::sample::select(bind_kw::VALUE_KEYWORDS), value(), 0..3),
    )
        .prop_map(|(address, flags, params)| BindSpec { address, flags, params })
}

#[derive(Debug, Clone)]
struct AclSpec {
    name: String,
    criterion: String,
    flags: Vec<String>,
    patterns: Vec<String>,
}

fn acl() -> impl Strategy<Value = AclSpec> {
    let flag = prop_oneof![
        Just(vec!["-i".to_string()]),
        Just(vec!["-n".to_string()]),
        value().prop_map(|v| vec!["-m".to_string(), v]),
        value().prop_map(|v| vec!["-f".to_string(), v]),
    ];
    ("[A-Za-z_][A-Za-z0-9_.-]{0,8}".prop_filter("operators", |v| !v.eq_ignore_ascii_case("or")), "[a-z_.]{1,8}(\\([a-z]{1,5}\\))?", prop::collection::vec(flag, 0..3), prop::collection::vec(value(), 0..4))
        .prop_map(|(name, criterion, flags, patterns)| AclSpec { name, criterion, flags: flags.concat(), patterns })
}

/// A condition in the normal form the parser builds: `Or` of `And` of (maybe negated) terms,
/// single children unwrapped.
fn condition() -> impl Strategy<Value = Condition> {
    let term = prop_oneof![
        3 => acl_name().prop_map(Expr::Acl),
        1 => prop::collection::vec(value().prop_filter("closes the braces", |v| v != "}"), 1..4).prop_map(Expr::Anonymous),
    ];
    let literal = (any::<bool>(), term).prop_map(|(negated, t)| if negated { Expr::Not(Box::new(t)) } else { t });
    let conjunction = prop::collection::vec(literal, 1..4).prop_map(|mut v| if v.len() == 1 { v.remove(0) } else { Expr::And(v) });
    (any::<bool>(), prop::collection::vec(conjunction, 1..3)).prop_map(|(unless, mut alternatives)| Condition {
        polarity: if unless { Polarity::Unless } else { Polarity::If },
        expr: if alternatives.len() == 1 { alternatives.remove(0) } else { Expr::Or(alternatives) },
    })
}

#[derive(Debug, Clone)]
struct RuleSpec {
    keyword: &'static str,
    ruleset: Option<String>,
    action: String,
    args: Vec<String>,
    condition: Option<Condition>,
}

fn rule() -> impl Strategy<Value = RuleSpec> {
    (
        prop::sample::select(vec!["http-request", "http-response", "http-after-response", "tcp-request", "redirect", "use_backend"]),
        prop::sample::select(vec!["connection", "session", "content"]),
        "[a-z][a-z-]{0,10}",
        prop::collection::vec(arg(), 0..3),
        prop::option::of(condition()),
    )
        .prop_map(|(keyword, ruleset, action, args, condition)| RuleSpec {
            keyword,
            ruleset: (keyword == "tcp-request").then(|| ruleset.to_string()),
            action,
            args,
            condition,
        })
}

#[derive(Debug, Clone)]
struct ProxySpec {
    name: String,
    mode: Option<&'static str>,
    timeouts: BTreeMap<&'static str, u64>,
    options: BTreeMap<String, bool>,
    binds: Vec<BindSpec>,
    servers: Vec<ServerSpec>,
    acls: Vec<AclSpec>,
    rules: Vec<RuleSpec>,
}

fn proxy() -> impl Strategy<Value = ProxySpec> {
    (
        name(),
        prop::option::of(prop::sample::select(proxy_kw::MODES)),
        prop::collection::btree_map(prop::sample::select(proxy_kw::TIMEOUTS), 0u64..86_400_000 * 20, 0..4),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,12}", any::<bool>(), 0..4),
        prop::collection::vec(bind(), 0..3),
        prop::collection::vec(server(), 0..4),
        prop::collection::vec(acl(), 0..3),
        prop::collection::vec(rule(), 0..4),
    )
        .prop_map(|(name, mode, timeouts, options, binds, servers, acls, rules)| ProxySpec {
            name,
            mode,
            timeouts,
            options,
            binds,
            servers,
            acls,
            rules,
        })
}

/// Makes the names the editors would refuse as duplicates distinct: proxies on one side, servers
/// and bind addresses in one proxy (the refusals themselves are tested beside the editors).
fn distinct(mut specs: Vec<ProxySpec>) -> Vec<ProxySpec> {
    let mut seen = std::collections::HashSet::new();
    for (i, spec) in specs.iter_mut().enumerate() {
        if !seen.insert(spec.name.clone()) {
            spec.name = format!("{}-{i}", spec.name);
            seen.insert(spec.name.clone());
        }
        let mut servers = std::collections::HashSet::new();
        for (n, server) in spec.servers.iter_mut().enumerate() {
            if !servers.insert(server.name.clone()) {
                server.name = format!("{}-{n}", server.name);
                servers.insert(server.name.clone());
            }
        }
        let mut binds = std::collections::HashSet::new();
        spec.binds.retain(|b| binds.insert(b.address.clone()));
    }
    specs
}

fn build(backends: &[ProxySpec], frontends: &[ProxySpec]) -> Document {
    let mut doc = Document::new();
    for (spec, is_backend) in backends.iter().map(|s| (s, true)).chain(frontends.iter().map(|s| (s, false))) {
        let mut proxy = if is_backend { doc.add_backend(&spec.name) } else { doc.add_frontend(&spec.name) }.unwrap();
        proxy.set_mode(spec.mode);
        for (name, millis) in &spec.timeouts {
            proxy.set_timeout(name, Some(&TimeValue::from_millis(*millis)));
        }
        for (name, enabled) in &spec.options {
            proxy.set_option(name, Some(*enabled));
        }
        for b in &spec.binds {
            let mut bind = proxy.add_bind(&b.address, &[] as &[&str]).unwrap();
            for flag in &b.flags {
                bind.set_flag(flag, true);
            }
            for (keyword, value) in &b.params {
                bind.set_param(keyword, Some(value));
            }
        }
        for s in &spec.servers {
            let mut server = proxy.add_server(&s.name, &s.address, &[] as &[&str]).unwrap();
            for flag in &s.flags {
                server.set_flag(flag, true);
            }
            for (keyword, value) in &s.params {
                server.set_param(keyword, Some(value));
            }
        }
        for a in &spec.acls {
            proxy.add_acl(&a.name, &a.criterion, &a.flags).unwrap().set_patterns(&a.patterns);
        }
        for r in &spec.rules {
            let mut args: Vec<String> = r.ruleset.iter().cloned().collect();
            args.push(r.action.clone());
            args.extend(r.args.iter().cloned());
            proxy.add_rule(r.keyword, &args, r.condition.as_ref()).unwrap();
        }
    }
    doc
}

fn check_reads(doc: &Document, specs: &[ProxySpec], backends: bool) -> Result<(), TestCaseError> {
    let proxies: Vec<_> = if backends { doc.backends().collect() } else { doc.frontends().collect() };
    prop_assert_eq!(proxies.len(), specs.len());
    for (proxy, spec) in proxies.iter().zip(specs) {
        prop_assert_eq!(proxy.name().map(|v| v.into_owned()), Some(spec.name.clone()));
        prop_assert_eq!(proxy.mode().map(|v| v.into_owned()), spec.mode.map(String::from));
        for (name, millis) in &spec.timeouts {
            let read = proxy.timeout(name).and_then(Result::ok).map(|t| t.as_millis());
            prop_assert_eq!(read, Some(*millis));
        }
        prop_assert_eq!(proxy.timeouts().len(), spec.timeouts.len());
        for (name, enabled) in &spec.options {
            prop_assert_eq!(proxy.option(name), Some(*enabled));
        }
        let binds = proxy.binds();
        prop_assert_eq!(binds.len(), spec.binds.len());
        for (bind, b) in binds.iter().zip(&spec.binds) {
            prop_assert_eq!(bind.address_text().map(|v| v.into_owned()), Some(b.address.clone()));
            prop_assert!(bind.addresses().is_ok(), "{}", b.address);
            let mut want: Vec<(String, Option<String>)> = b.flags.iter().map(|f| (f.to_string(), None)).collect();
            want.extend(b.params.iter().map(|(k, v)| (k.to_string(), Some(v.clone()))));
            let got: Vec<_> = bind.params().into_iter().map(|p| (p.keyword, p.value)).collect();
            prop_assert_eq!(got, want);
        }
        let servers = proxy.servers();
        prop_assert_eq!(servers.len(), spec.servers.len());
        for (server, s) in servers.iter().zip(&spec.servers) {
            prop_assert_eq!(server.name().map(|v| v.into_owned()), Some(s.name.clone()));
            prop_assert_eq!(server.address_text().map(|v| v.into_owned()), Some(s.address.clone()));
            let mut want: Vec<(String, Option<String>)> = s.flags.iter().map(|f| (f.to_string(), None)).collect();
            want.extend(s.params.iter().map(|(k, v)| (k.to_string(), Some(v.clone()))));
            let got: Vec<_> = server.params().into_iter().map(|p| (p.keyword, p.value)).collect();
            prop_assert_eq!(got, want);
        }
        let acls = proxy.acls();
        prop_assert_eq!(acls.len(), spec.acls.len());
        for (acl, a) in acls.iter().zip(&spec.acls) {
            prop_assert_eq!(acl.name().map(|v| v.into_owned()), Some(a.name.clone()));
            prop_assert_eq!(acl.criterion().map(|v| v.into_owned()), Some(a.criterion.clone()));
            let patterns: Vec<String> = acl.patterns().into_iter().map(|p| p.into_owned()).collect();
            prop_assert_eq!(&patterns, &a.patterns);
        }
        let rules = proxy.rules();
        prop_assert_eq!(rules.len(), spec.rules.len());
        // Rules are grouped by keyword (each goes after the last of its kind), in order within one.
        for keyword in ["http-request", "http-response", "http-after-response", "tcp-request", "redirect", "use_backend"] {
            let got = proxy.rules_of(keyword);
            let want: Vec<&RuleSpec> = spec.rules.iter().filter(|r| r.keyword == keyword).collect();
            prop_assert_eq!(got.len(), want.len());
            for (rule, r) in got.iter().zip(want) {
                prop_assert_eq!(rule.ruleset().map(|v| v.into_owned()), r.ruleset.clone());
                prop_assert_eq!(rule.action().map(|v| v.into_owned()), Some(r.action.clone()));
                let args: Vec<String> = rule.args().into_iter().map(|a| a.into_owned()).collect();
                prop_assert_eq!(&args, &r.args);
                prop_assert_eq!(rule.condition().map(|c| c.ok()), r.condition.clone().map(Some));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_render_gives_the_model_back(
        backends in prop::collection::vec(proxy(), 0..3),
        frontends in prop::collection::vec(proxy(), 0..3),
    ) {
        let (backends, frontends) = (distinct(backends), distinct(frontends));
        let doc = build(&backends, &frontends);
        let text = lossless(&doc);
        let parsed = parse(&text);
        let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "{errors:?}\n{text}");
        prop_assert_eq!(&parsed.document, &doc, "{}", text);
        prop_assert_eq!(lossless(&parsed.document), text);
        check_reads(&parsed.document, &backends, true)?;
        check_reads(&parsed.document, &frontends, false)?;
    }
}
