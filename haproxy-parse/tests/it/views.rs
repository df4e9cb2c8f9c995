//! Typed views over parsed text: reads give the values as HAProxy sees them, edits change
//! only the words they touch, added lines take their siblings' indent and line ending.

use std::time::Duration;

use haproxy_model::export::{to_model, DirectiveBody};
use haproxy_model::ServerKind;
use haproxy_model::{Condition, Expr, Host, PortSpec, Polarity};
use haproxy_parse::parse;
use haproxy_render::lossless;

use crate::corpus::corpus_dir;

const CONFIG: &str = "\
global
    maxconn 4096   # per process
    log stdout format raw local0

defaults base
\tmode http
\ttimeout connect 5s
\ttimeout client  \"${CLIENT_TIMEOUT-30s}\"
\ttimeout server 1m
\toption httplog
\tno option   redispatch

frontend  www from base
    bind :80,:81
    bind [::1]:443 ssl crt '/etc/ssl/my cert.pem' alpn h2,http/1.1
    bind ipv6@:::8080   v4v6
    acl is_api  path_beg -i /api   # api traffic
    acl is_api  hdr(host) -m beg api.
    http-request deny if !is_api { src -f \"/etc/deny list\" } || METH_TRACE
    use_backend api if is_api
    default_backend app

backend app
\tbalance   roundrobin
\thash-type consistent sdbm avalanche
\tdefault-server inter 2s fall 3
\tserver web1 10.0.0.1:8080  check   weight 10    maxconn 50 # primary
\tserver web2 [2001:db8::2]:8080 check backup disabled
\tserver-template srv 1-3 app.svc.local:80 check resolvers dns
\tstick-table type ip size 1m expire 30m
\tstick on src

listen api
    bind 127.0.0.1:9000
    server api1 unix@/run/api.sock
";

#[test]
fn reads_typed_values_from_text() {
    let doc = parse(CONFIG).document;
    let global = doc.global().unwrap();
    assert_eq!(global.maxconn(), Some(4096));
    assert_eq!(global.logs()[0].target.as_deref(), Some("stdout"));

    let defaults = doc.defaults_named("base").unwrap();
    assert_eq!(defaults.mode().as_deref(), Some("http"));
    assert_eq!(defaults.timeout("connect").unwrap().unwrap().duration, Duration::from_secs(5));
    assert_eq!(defaults.timeout("server").unwrap().unwrap().duration, Duration::from_secs(60));
    // An environment reference decodes to its text and is not a number.
    assert!(defaults.timeout("client").unwrap().is_err());
    assert_eq!(defaults.option("httplog"), Some(true));
    assert_eq!(defaults.option("redispatch"), Some(false));
    assert_eq!(defaults.option("forwardfor"), None);

    let www = doc.frontend("www").unwrap();
    assert_eq!(www.from().as_deref(), Some("base"));
    let binds = www.binds();
    assert_eq!(binds.len(), 3);
    let ports: Vec<_> = binds[0].addresses().unwrap().into_iter().map(|a| a.port).collect();
    assert_eq!(ports, vec![Some(PortSpec::Single(80)), Some(PortSpec::Single(81))]);
    assert_eq!(binds[1].addresses().unwrap()[0].host, Host::Ipv6("::1".parse().unwrap()));
    assert!(binds[1].is_ssl());
    assert_eq!(binds[1].certificates(), vec!["/etc/ssl/my cert.pem"]);
    assert_eq!(binds[1].alpn(), vec!["h2", "http/1.1"]);
    let v6 = &binds[2].addresses().unwrap()[0];
    assert_eq!((v6.prefix.as_deref(), &v6.host, v6.port), (Some("ipv6"), &Host::Ipv6("::".parse().unwrap()), Some(PortSpec::Single(8080))));
    assert!(binds[2].has_flag("v4v6"));

    assert_eq!(www.acl_names(), vec!["is_api"]);
    assert_eq!(www.acls()[1].flags()[0].value.as_deref(), Some("beg"));
    let deny = &www.rules_of("http-request")[0];
    let condition = deny.condition().unwrap().unwrap();
    assert_eq!(condition.polarity, Polarity::If);
    assert_eq!(condition.referenced_acls().into_iter().collect::<Vec<_>>(), vec!["METH_TRACE", "is_api"]);
    let Expr::Or(alternatives) = &condition.expr else { panic!("{condition:?}") };
    assert_eq!(
        alternatives[0],
        Expr::And(vec![
            Expr::Not(Box::new(Expr::Acl("is_api".into()))),
            Expr::Anonymous(vec!["src".into(), "-f".into(), "/etc/deny list".into()]),
        ])
    );
    assert_eq!(www.use_backends()[0].target().as_deref(), Some("api"));
    assert_eq!(www.default_backend().as_deref(), Some("app"));

    let app = doc.backend("app").unwrap();
    assert_eq!(app.balance().unwrap().algorithm, "roundrobin");
    let hash = app.hash_type().unwrap();
    assert_eq!((hash.method.as_str(), hash.function.as_deref(), hash.modifier.as_deref()), ("consistent", Some("sdbm"), Some("avalanche")));
    let servers = app.servers();
    assert_eq!(servers.len(), 2);
    assert_eq!((servers[0].weight(), servers[0].maxconn(), servers[0].has_check()), (Some(10), Some(50), true));
    assert!(servers[1].is_backup() && servers[1].is_disabled());
    assert_eq!(servers[1].address().unwrap().unwrap().host, Host::Ipv6("2001:db8::2".parse().unwrap()));
    assert_eq!(app.default_server().unwrap().param_value("inter").as_deref(), Some("2s"));
    let template = &app.server_templates()[0];
    assert_eq!((template.kind(), template.template_numbers()), (ServerKind::Template, Some((1, 3))));
    assert_eq!(template.param_value("resolvers").as_deref(), Some("dns"));
    let table = app.stick_table().unwrap();
    assert_eq!((table.key_type.as_deref(), table.expire.as_deref()), (Some("ip"), Some("30m")));
    assert_eq!(app.stick_rules()[0].action().as_deref(), Some("on"));

    // listen sections are both sides.
    assert_eq!(doc.backends().map(|p| p.name().unwrap().into_owned()).collect::<Vec<_>>(), vec!["app", "api"]);
    assert_eq!(doc.frontends().map(|p| p.name().unwrap().into_owned()).collect::<Vec<_>>(), vec!["www", "api"]);
    assert_eq!(doc.listens().count(), 1);
    assert_eq!(doc.proxies().count(), 3);
    let api = doc.backend("api").unwrap();
    assert_eq!(api.servers()[0].address().unwrap().unwrap().host, Host::Path("/run/api.sock".into()));
}

#[test]
fn set_weight_changes_only_that_word() {
    let mut doc = parse(CONFIG).document;
    doc.backend_mut("app").unwrap().server_mut("web1").unwrap().set_weight(7).unwrap();
    let expected = CONFIG.replace("check   weight 10    maxconn", "check   weight 7    maxconn");
    assert_eq!(lossless(&doc), expected);
}

#[test]
fn added_server_takes_the_siblings_indent_and_crlf() {
    let text = CONFIG.replace('\n', "\r\n");
    let mut doc = parse(&text).document;
    let mut app = doc.backend_mut("app").unwrap();
    let mut server = app.add_server("web3", "10.0.0.3:8080", &["check"]).unwrap();
    server.set_weight(3).unwrap();
    let rendered = lossless(&doc);
    let expected = text.replace(
        "\tserver-template srv",
        "\tserver web3 10.0.0.3:8080 check weight 3\r\n\tserver-template srv",
    );
    assert_eq!(rendered, expected);
    // One more line, nothing else changed.
    assert_eq!(rendered.lines().count(), text.lines().count() + 1);
    assert_eq!(parse(&rendered).document, doc);
}

#[test]
fn edits_keep_comments_quotes_and_spacing() {
    let mut doc = parse(CONFIG).document;
    {
        let mut www = doc.frontend_mut("www").unwrap();
        www.set_default_backend(Some("app v2"));
        www.bind_mut(1).unwrap().set_param("crt", Some("/etc/ssl/new.pem"));
        www.set_option("httplog", Some(false));
        www.acl_mut("is_api").unwrap().set_patterns(&["/v2"]);
    }
    {
        let mut defaults = doc.defaults_mut("base").unwrap();
        defaults.set_option("redispatch", Some(true));
        defaults.set_timeout_duration("connect", Duration::from_millis(1500));
    }
    let expected = CONFIG
        .replace("default_backend app\n", "default_backend 'app v2'\n")
        .replace("crt '/etc/ssl/my cert.pem'", "crt /etc/ssl/new.pem")
        .replace("path_beg -i /api   # api", "path_beg -i /v2   # api")
        .replace("\tno option   redispatch", "\toption   redispatch")
        .replace("timeout connect 5s", "timeout connect 1500ms")
        .replace("    default_backend 'app v2'\n", "    default_backend 'app v2'\n    no option httplog\n");
    assert_eq!(lossless(&doc), expected);
    let reparsed = parse(&lossless(&doc)).document;
    assert_eq!(reparsed.frontend("www").unwrap().default_backend().as_deref(), Some("app v2"));
    assert_eq!(reparsed.frontend("www").unwrap().option("httplog"), Some(false));
}

#[test]
fn adds_and_removes_sections_and_lines() {
    let text = "frontend f\n  bind :80\n  default_backend old\n\nbackend old\n  server a 1.1.1.1:80";
    let mut doc = parse(text).document;
    {
        let mut backend = doc.add_backend("new").unwrap();
        backend.set_balance(Some(&haproxy_model::Balance::new("leastconn")));
        backend.add_server("b", "2.2.2.2:80", &["check"]).unwrap();
    }
    {
        let mut frontend = doc.frontend_mut("f").unwrap();
        frontend.set_default_backend(Some("new"));
        let condition = Condition::parse(&["if", "is_new"]).unwrap();
        frontend.add_acl("is_new", "path_beg", &["/new"]).unwrap();
        frontend.add_use_backend("new", Some(&condition)).unwrap();
    }
    assert!(doc.remove_backend("old").is_some());
    assert!(doc.remove_backend("old").is_none());
    // The file had no final newline; it still has none.
    assert_eq!(
        lossless(&doc),
        "frontend f\n  bind :80\n  acl is_new path_beg /new\n  default_backend new\n  use_backend new if is_new\n\n\
         backend new\n    balance leastconn\n    server b 2.2.2.2:80 check"
    );
    let mut frontend = doc.frontend_mut("f").unwrap();
    let rule = frontend.view().use_backends()[0].index();
    assert!(frontend.remove_rule(rule).is_some());
    assert!(frontend.remove_rule(0).is_none(), "line 0 is a bind, not a rule");
    assert_eq!(frontend.remove_acl("is_new"), Ok(1));
    assert!(frontend.remove_bind(0).is_ok());
    assert_eq!(lossless(&doc), "frontend f\n  default_backend new\n\nbackend new\n    balance leastconn\n    server b 2.2.2.2:80 check");
    assert!(doc.backend_mut("new").unwrap().remove_server("b").is_ok());
    assert!(doc.backend("new").unwrap().servers().is_empty());
}

#[test]
fn unknown_keywords_stay_generic() {
    let text = "backend b\n  frobnicate  the \"widget\"   # ?\n  server s 1.2.3.4:80\n";
    let doc = parse(text).document;
    let model = to_model(&doc);
    let directives = &model.sections[0].directives;
    assert_eq!(directives[0].line, 2);
    assert_eq!(directives[0].body, DirectiveBody::Generic { words: vec!["frobnicate".into(), "the".into(), "widget".into()] });
    assert!(matches!(directives[1].body, DirectiveBody::Server(_)));
    assert_eq!(lossless(&doc), text);
}

#[test]
fn every_corpus_file_exports_to_json() {
    let Some(corpus) = corpus_dir() else { return };
    let mut exported = 0;
    let mut typed = 0;
    for folder in ["valid", "parse-only", "invalid"] {
        let mut paths: Vec<_> =
            std::fs::read_dir(corpus.join("haproxy").join(folder)).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let model = to_model(&parse(&text).document);
            let json = serde_json::to_string(&model).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let back: haproxy_model::export::ConfigModel =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(back, model, "{}", path.display());
            typed += model
                .sections
                .iter()
                .flat_map(|s| &s.directives)
                .filter(|d| !matches!(d.body, DirectiveBody::Generic { .. }))
                .count();
            exported += 1;
        }
    }
    assert!(exported > 500, "only {exported} files");
    assert!(typed > 5000, "only {typed} typed directives");
}

/// Every typed value HAProxy accepted must read without error: no false alarms.
#[test]
fn valid_corpus_files_read_without_typed_errors() {
    let Some(corpus) = corpus_dir() else { return };
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap();
    let (mut addresses, mut conditions, mut timeouts) = (0, 0, 0);
    let mut problems = Vec::new();
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns[1] != "haproxy" || columns[2] != "valid" {
            continue;
        }
        let doc = parse(&std::fs::read_to_string(corpus.join(columns[0])).unwrap()).document;
        for proxy in doc.proxies().chain(doc.defaults()) {
            for bind in proxy.binds() {
                addresses += 1;
                if let Err(e) = bind.addresses() {
                    problems.push(format!("{}: {}: {e}", columns[0], bind.line().text()));
                }
            }
            for server in proxy.servers().into_iter().chain(proxy.server_templates()) {
                addresses += 1;
                if let Some(Err(e)) = server.address() {
                    problems.push(format!("{}: {}: {e}", columns[0], server.line().text()));
                }
            }
            for timeout in proxy.timeouts() {
                timeouts += 1;
                match timeout.value {
                    Ok(_) | Err(haproxy_model::DurationError::Environment(_)) => {}
                    Err(e) => problems.push(format!("{}: timeout {}: {e}", columns[0], timeout.name)),
                }
            }
            for rule in proxy.rules() {
                if let Some(condition) = rule.condition() {
                    conditions += 1;
                    if let Err(e) = condition {
                        problems.push(format!("{}: {}: {e}", columns[0], rule.line().text()));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(addresses > 5000 && conditions > 400 && timeouts > 900, "{addresses} {conditions} {timeouts}");
}

#[test]
fn bad_ports_of_the_invalid_corpus_are_reported() {
    let Some(corpus) = corpus_dir() else { return };
    let doc = parse(&std::fs::read_to_string(corpus.join("haproxy/invalid/tests-conf-ports.cfg")).unwrap()).document;
    let errors: Vec<String> = doc
        .frontends()
        .flat_map(|p| p.binds())
        .filter_map(|b| b.addresses().err())
        .map(|e| e.to_string())
        .collect();
    assert!(errors.contains(&"invalid port range '65016-1024' (low bound above high bound)".to_string()), "{errors:#?}");
    assert!(errors.contains(&"port offset not permitted here in ':::+11011'".to_string()), "{errors:#?}");
}

/// Typed edits on every valid corpus file give text that parses back to the edited document,
/// with one new line per added server and the same number of lines otherwise.
#[test]
fn typed_edits_on_corpus_files_parse_back() {
    let Some(corpus) = corpus_dir() else { return };
    let mut edited = 0;
    let mut paths: Vec<_> = std::fs::read_dir(corpus.join("haproxy/valid")).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut doc = parse(&text).document;
        let names: Vec<String> = doc.backends().filter_map(|b| b.name().map(|n| n.into_owned())).collect();
        for name in &names {
            let Some(mut backend) = doc.backend_mut(name) else { continue };
            if let Some(first) = backend.view().servers().first().and_then(|s| s.name()).map(|n| n.into_owned()) {
                if let Some(mut server) = backend.server_mut(&first) {
                    server.set_weight(42).unwrap();
                    server.set_flag("check", true);
                }
            }
            if backend.add_server("fleet-added", "192.0.2.1:8080", &["check"]).is_err() {
                continue;
            }
            backend.set_option("redispatch", Some(true));
            backend.set_timeout_duration("queue", Duration::from_secs(3));
            edited += 1;
        }
        let rendered = lossless(&doc);
        let reparsed = parse(&rendered).document;
        assert_eq!(reparsed, doc, "{}", path.display());
        let added = names.len();
        let grown = rendered.lines().count() - text.lines().count();
        // One server line each, and at most one line for the option and one for the timeout.
        assert!(grown >= added && grown <= added * 3, "{}: {grown} new lines for {added} backends", path.display());
        for name in &names {
            let backend = reparsed.backend(name).unwrap();
            assert!(backend.server("fleet-added").is_some(), "{}", path.display());
            assert_eq!(backend.option("redispatch"), Some(true));
            assert_eq!(backend.timeout("queue").unwrap().unwrap().as_millis(), 3000);
        }
    }
    assert!(edited > 300, "only {edited} backends edited");
}

/// A configuration written only through the typed editors is accepted by the real HAProxy.
#[test]
fn haproxy_accepts_a_config_built_with_the_editors() {
    let haproxy = std::env::var("HAPROXY_BIN").unwrap_or_else(|_| "/usr/sbin/haproxy".into());
    if !std::path::Path::new(&haproxy).is_file() {
        eprintln!("{haproxy} not found: skipping");
        return;
    }
    let mut doc = parse("global\n  maxconn 100\n\ndefaults\n  mode http\n").document;
    {
        let mut defaults = doc.defaults().next().map(|d| d.section().clone()).unwrap();
        let mut editor = haproxy_model::ProxyMut::new(&mut defaults).unwrap();
        for name in ["connect", "client", "server"] {
            editor.set_timeout_duration(name, Duration::from_secs(5));
        }
        editor.set_option("httplog", Some(true));
        editor.set_option("redispatch", Some(false));
        doc.sections_mut()[1] = defaults;
    }
    {
        let mut app = doc.add_backend("app_pool").unwrap();
        app.set_balance(Some(&haproxy_model::Balance::new("leastconn")));
        app.add_server("web1", "127.0.0.1:18080", &["check"]).unwrap().set_weight(7).unwrap();
        let mut web2 = app.add_server("web2", "[::1]:18081", &[] as &[&str]).unwrap();
        web2.set_backup(true);
        web2.disable();
        web2.set_param("inter", Some("3s"));
        app.default_server_mut().set_param("fall", Some("2"));
        app.add_server_template("srv", "1-2", "localhost:18082", &["init-addr", "none"]);
    }
    {
        let mut www = doc.add_frontend("www").unwrap();
        www.add_bind("127.0.0.1:18443,[::1]:18443", &["name", "main"]).unwrap();
        www.add_acl("is_api", "path_beg", &["-i", "/api"]).unwrap();
        www.add_acl("is_bot", "hdr(user-agent)", &["-m", "sub", "bot crawler"]).unwrap();
        let deny = Condition::parse(&["if", "is_bot", "!is_api", "||", "{", "src", "192.0.2.0/24", "}"]).unwrap();
        www.add_rule("http-request", &["deny"], Some(&deny)).unwrap();
        let api = Condition::parse(&["if", "is_api"]).unwrap();
        www.add_use_backend("app_pool", Some(&api)).unwrap();
        www.set_default_backend(Some("app_pool"));
        www.set_maxconn(Some(50));
    }
    let text = lossless(&doc);
    let dir = std::env::temp_dir().join(format!("views-haproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("built.cfg");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new(&haproxy).arg("-c").arg("-f").arg(&file).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        output.status.success(),
        "haproxy -c rejected:\n{text}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
