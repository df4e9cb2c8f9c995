//! Property: any sequence of typed ops, applied to a configuration, rendered and parsed again,
//! gives the same typed model (and the same lossless document).

use fleet_core::ops::apply_ops;
use fleet_core::{EditOp, SectionRef};
use haproxy_model::Document;
use proptest::prelude::*;

use crate::support::SAMPLE;

/// The typed content of a document: each section's kind, name, `from`, and its statements' values.
type Model = Vec<(String, Option<String>, Option<String>, Vec<Vec<String>>)>;

fn model(doc: &Document) -> Model {
    doc.sections()
        .iter()
        .map(|s| {
            let statements = s
                .lines()
                .iter()
                .filter(|l| !l.is_trivia())
                .map(|l| l.values().into_iter().map(|v| v.into_owned()).collect())
                .collect();
            (s.kind().keyword().to_string(), s.name().map(|n| n.into_owned()), s.from().map(|n| n.into_owned()), statements)
        })
        .collect()
}

/// The views' typed model (`haproxy_model::export`), without line numbers (lines built by ops
/// have none until the text is parsed again).
fn typed(doc: &Document) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("line");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(haproxy_model::export::to_model(doc)).unwrap();
    strip(&mut value);
    value
}

/// Proxy names: mostly ones the base configurations have, so that ops find their target.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["app", "api", "web", "static"]).prop_map(String::from)
}

/// Server and ACL names.
fn item() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["app1", "app2", "api1", "s1", "is_api"]).prop_map(String::from)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["check", "inter", "2s", "ssl", "crt", "/etc/a.pem", "X-Env", "prod", "if", "is_api"])
            .prop_map(String::from),
        // Values that need quoting or escaping.
        "[ a-z#'\"\\\\$]{0,6}",
    ]
}

fn values() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(value(), 0..4)
}

fn op() -> impl Strategy<Value = EditOp> {
    prop_oneof![
        (name(), prop::collection::vec("(balance roundrobin|mode http|option httplog|timeout server 5s)", 0..3))
            .prop_map(|(name, lines)| EditOp::AddBackend { name, from: None, lines }),
        (name(), prop::option::of(name())).prop_map(|(name, rename)| EditOp::UpdateBackend { name, rename, from: None }),
        name().prop_map(|name| EditOp::DeleteBackend { name }),
        name().prop_map(|name| EditOp::AddFrontend { name, from: None, lines: vec![] }),
        name().prop_map(|name| EditOp::DeleteFrontend { name }),
        (name(), item(), 1u8..255, prop::option::of(0u32..=256), any::<bool>(), any::<bool>(), values()).prop_map(
            |(backend, name, host, weight, backup, disabled, params)| EditOp::AddServer {
                backend,
                name,
                address: format!("10.0.0.{host}:80"),
                weight,
                backup,
                disabled,
                params,
            }
        ),
        (name(), item(), prop::option::of(0u32..=256), prop::option::of(any::<bool>()), prop::option::of(any::<bool>()), prop::option::of(values()))
            .prop_map(|(backend, name, weight, backup, disabled, params)| EditOp::UpdateServer {
                backend,
                name,
                address: None,
                weight,
                backup,
                disabled,
                params,
            }),
        (name(), item()).prop_map(|(backend, name)| EditOp::DeleteServer { backend, name }),
        (name(), 1u16..65535, values()).prop_map(|(frontend, port, params)| EditOp::AddBind {
            frontend,
            address: format!(":{port}"),
            params
        }),
        (name(), item(), values()).prop_map(|(proxy, name, mut words)| {
            words.insert(0, "path_beg".into());
            EditOp::AddAcl { proxy, name, words }
        }),
        (name(), item()).prop_map(|(proxy, name)| EditOp::DeleteAcl { proxy, name }),
        (name(), prop::sample::select(vec!["http-request", "use_backend", "tcp-request"]), values(), prop::option::of(0usize..3))
            .prop_map(|(proxy, keyword, mut words, position)| {
                words.insert(0, keyword.to_string());
                EditOp::AddRule { proxy, words, position }
            }),
        (name(), prop::sample::select(vec!["http-request", "use_backend"]), 0usize..3).prop_map(|(proxy, keyword, position)| {
            EditOp::DeleteRule { proxy, keyword: keyword.into(), position }
        }),
        (name(), prop::option::of(name())).prop_map(|(frontend, backend)| EditOp::SetDefaultBackend { frontend, backend }),
        (prop::sample::select(vec!["global", "defaults"]), prop::sample::select(vec!["maxconn", "timeout", "log"]), values())
            .prop_map(|(kind, keyword, args)| EditOp::SetDirective {
                section: SectionRef { kind: kind.into(), name: None },
                keyword: keyword.into(),
                args
            }),
        (prop::sample::select(vec!["global", "defaults"]), prop::sample::select(vec!["maxconn", "timeout", "daemon"]))
            .prop_map(|(kind, keyword)| EditOp::DeleteDirective {
                section: SectionRef { kind: kind.into(), name: None },
                keyword: keyword.into(),
                args: vec![]
            }),
    ]
}

fn base() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(SAMPLE.to_string()),
        Just(SAMPLE.replace('\n', "\r\n")),
        Just(SAMPLE.trim_end_matches('\n').to_string()),
        Just(String::new()),
        Just("global\n\tdaemon\nbackend app\n\tserver app1 10.0.0.1:80".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn applied_rendered_parsed_gives_the_same_model(text in base(), ops in prop::collection::vec(op(), 1..12)) {
        let mut doc = haproxy_parse::parse(&text).document;
        let mut applied = 0;
        for op in &ops {
            // Ops that do not apply (missing backend ...) are rejected without a trace.
            let mut attempt = doc.clone();
            if apply_ops(&mut attempt, std::slice::from_ref(op)).is_ok() {
                doc = attempt;
                applied += 1;
            } else {
                let mut unchanged = doc.clone();
                prop_assert!(apply_ops(&mut unchanged, std::slice::from_ref(op)).is_err());
            }
        }
        let rendered = haproxy_render::lossless(&doc);
        let reparsed = haproxy_parse::parse(&rendered);
        prop_assert!(!reparsed.has_errors(), "syntax errors after {applied} ops: {:?}\n{rendered}", reparsed.diagnostics);
        prop_assert_eq!(model(&reparsed.document), model(&doc), "section model changed:\n{}", rendered);
        prop_assert_eq!(typed(&reparsed.document), typed(&doc), "typed model changed:\n{}", rendered);
        prop_assert_eq!(&reparsed.document, &doc, "lossless document changed:\n{}", rendered);
        prop_assert_eq!(haproxy_render::lossless(&reparsed.document), rendered);
    }
}
