//! Regression tests, one per kind of fault found in the offline check, each named for the kind.
//! The gate on every import and commit is this check: an error here refuses a file, so each
//! kind below is a file `haproxy -c` 2.6 accepts that the check once refused, or one HAProxy
//! surely refuses that the check let through. The files of `../shared/cases` (read in place,
//! `$FLEET_CASES` to point elsewhere) must get the verdict `expected.tsv` gives.

use haproxy_model::Diagnostic;
use haproxy_parse::check;

use crate::differential::{haproxy_bin, haproxy_check};

fn errors(text: &str) -> Vec<Diagnostic> {
    check(text).diagnostics.into_iter().filter(Diagnostic::is_error).collect()
}

fn warnings(text: &str) -> Vec<Diagnostic> {
    check(text).diagnostics.into_iter().filter(|d| !d.is_error()).collect()
}

/// A frontend with `lines` in it, a backend, and timeouts: valid on its own.
fn frontend(lines: &[&str]) -> String {
    let body: String = lines.iter().map(|l| format!("    {l}\n")).collect();
    format!(
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:8080\n{body}    default_backend be\nbackend be\n    server s1 192.0.2.1:80\n"
    )
}

/// `text` followed by a section of type `header` holding `lines`.
fn with_section(header: &str, lines: &[&str]) -> String {
    let body: String = lines.iter().map(|l| format!("    {l}\n")).collect();
    format!("global\n    master-worker\n{}{header}\n{body}", frontend(&[]))
}

/// HAProxy's own verdict on `text`, when it is installed: the claims below are checked
/// against the real thing, not only against this file's author.
fn haproxy_accepts(text: &str) -> Option<bool> {
    let haproxy = haproxy_bin()?;
    let scratch = std::env::temp_dir().join(format!(
        "haproxy-parse-false-alarms-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let verdict = haproxy_check(&haproxy, text, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    Some(verdict.is_ok())
}

#[track_caller]
fn assert_valid(text: &str) {
    if let Some(accepts) = haproxy_accepts(text) {
        assert!(accepts, "haproxy -c refuses this file the test calls valid:\n{text}");
    }
    let found = errors(text);
    assert!(found.is_empty(), "false alarm on a file haproxy -c accepts:\n{text}\n{found:#?}");
}

#[track_caller]
fn assert_refused(text: &str) {
    if let Some(accepts) = haproxy_accepts(text) {
        assert!(!accepts, "haproxy -c accepts this file the test calls invalid:\n{text}");
    }
    assert!(!errors(text).is_empty(), "no error on a file haproxy -c refuses:\n{text}");
}

#[test]
fn negated_anonymous_acl_is_not_an_unknown_acl() {
    assert_valid(&frontend(&["http-request deny if !{ path /x }"]));
    assert_valid(&frontend(&["http-request deny unless !{ path /x }"]));
    assert_valid(&frontend(&["http-request deny if { path /x } || !{ path /y }"]));
    assert_valid(&frontend(&["http-request deny if !!{ path /x } or ! { path_beg /y }"]));
    assert_valid(&frontend(&["acl a path /a", "use_backend be if !{ path /x } !a || { src 127.0.0.1 }"]));
    // What HAProxy does refuse in the same grammar still gets its error.
    assert_refused(&frontend(&["http-request deny if !{ path /x"]));
    assert_refused(&frontend(&["http-request deny if !{ }"]));
    assert_refused(&frontend(&["http-request deny if !{ path /x } nosuch"]));
}

#[test]
fn acl_used_before_its_definition_is_refused_and_repeated_definitions_are_not() {
    assert_refused(&frontend(&["http-request deny if a", "acl a path /x"]));
    assert_valid(&frontend(&["acl a path /x", "acl a path /y", "http-request deny if a"]));
    assert_valid(&frontend(&["acl a-b.c_d path /x", "http-request deny if !a-b.c_d"]));
}

#[test]
fn empty_word_ends_the_condition() {
    // HAProxy stops reading the condition at `""`: the unknown name after it is never seen.
    assert_valid(&frontend(&["http-request deny if TRUE \"\" nosuch"]));
    assert_valid(&frontend(&["use_backend be if \"\" nosuch"]));
    // ... and a brace it would have closed stays open.
    assert_refused(&frontend(&["http-request deny if { path \"\" }"]));
}

#[test]
fn empty_word_ends_the_arguments_of_an_action() {
    let text = frontend(&["http-request set-header X-Empty \"\" if { path /never }"]);
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("empty word"), "{}", found[0].message);
    assert_refused(&frontend(&["http-response add-header X \"\""]));
    assert_refused(&frontend(&["http-request replace-header X re \"\""]));
    // Where HAProxy's verdict depends on the keyword, only a warning.
    let text = frontend(&["http-request deny \"\" if nosuch"]);
    assert_valid(&text);
    assert!(!warnings(&text).is_empty());
    // A line starting with an empty word is skipped by HAProxy.
    assert_valid(&frontend(&["\"\" bind 1.2.3.4:9"]));
}

#[test]
fn word_that_may_expand_to_nothing_makes_the_rest_uncertain() {
    // `"$FLEET_UNSET_VAR"` is the empty word when the variable is unset (haproxy -c runs with
    // PATH alone here): set-header then has its 2 arguments and never reads the condition.
    let text = frontend(&["http-request set-header X-A v \"$FLEET_UNSET_VAR\" if { src( }"]);
    assert_valid(&text);
    assert!(!warnings(&text).is_empty());
}

#[test]
fn unknown_dot_directive_is_fatal_only_where_read() {
    let guarded = frontend(&[".if defined(FLEET_NEVER_SET)", ".elseif defined(X)", ".endif"]);
    assert_valid(&guarded);
    assert!(warnings(&guarded).iter().any(|d| d.message.contains("unknown directive '.elseif'")));
    assert_refused(&frontend(&[".elseif defined(X)"]));
    assert_refused(&format!(".elseif 1\n{}", frontend(&[])));
}

#[test]
fn line_after_a_conditional_section_header_may_belong_to_the_section_before() {
    // Unless the node's environment defines FLEET_NEVER_SET, HAProxy skips `frontend debug` and
    // reads `server` in `backend be`; the check cannot know, so it may not refuse the line.
    let text = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
                frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\n\
                backend be\n    balance roundrobin\n\
                .if defined(FLEET_NEVER_SET)\nfrontend debug\n    bind 127.0.0.1:8081\n    default_backend be\n.endif\n\
                    server s1 192.0.2.1:80\n";
    assert_valid(text);
    assert!(warnings(text).iter().any(|d| d.position.line == 16), "{:#?}", warnings(text));
    // Without the `.if`, the same line is surely in the frontend, which HAProxy refuses.
    assert_refused(&text.replace(".if defined(FLEET_NEVER_SET)\n", "").replace(".endif\n", ""));
}

#[test]
fn server_weight_is_read_like_atol_and_refused_outside_0_to_256() {
    let with = |weight: &str| frontend(&[]).replace("server s1 192.0.2.1:80", &format!("server s1 192.0.2.1:80 weight {weight}"));
    for accepted in ["0", "256", "abc", "12x"] {
        assert_valid(&with(accepted));
    }
    for refused in ["257", "999", "-1"] {
        assert_refused(&with(refused));
    }
}

#[test]
fn message_directives_take_one_argument() {
    assert_valid(&frontend(&[".notice \"hello world\"", ".warning", ".diag x", ".notice \"a\" \"\" b"]));
    assert_refused(&frontend(&[".notice hello world"]));
    assert_refused(&frontend(&[".diag x y"]));
    assert_refused(&frontend(&[".alert \"stop\""]));
    // Inside a block whose condition decides, HAProxy may never read them.
    assert_valid(&frontend(&[".if defined(FLEET_NEVER_SET)", ".alert \"x\"", ".notice a b", ".endif"]));
}

#[test]
fn conditional_block_arguments_follow_haproxy() {
    // `.if` and `.elif` with no condition are accepted by HAProxy 2.6.
    assert_valid(&frontend(&[".if", ".endif"]));
    assert_valid(&frontend(&[".if 1", ".elif", ".endif"]));
    // `.else` and `.endif` take nothing, even in a block HAProxy skips.
    assert_refused(&frontend(&[".if defined(FLEET_NEVER_SET)", ".else x", ".endif"]));
    assert_refused(&frontend(&[".if 1", ".endif x"]));
}

#[test]
fn no_and_default_prefixes_are_stripped_in_every_section() {
    assert_valid(&with_section("program mirror", &["command /bin/true", "no option start-on-reload"]));
    assert_valid(&with_section("peers p", &["no log", "peer local 127.0.0.1:10000"]));
    assert_refused(&with_section("mailers m", &["no timeout mail 5s"]));
    assert_refused(&with_section("userlist u", &["no"]));
    assert_refused(&with_section("cache c", &["total-max-size 4", "no log"]));
    assert_refused(&frontend(&["no timeout client"]));
}

#[test]
fn section_keywords_of_every_section_type_are_known() {
    let sections: &[(&str, &[&str])] = &[
        ("ring r", &["description \"d\"", "format rfc5424", "maxlen 1200", "size 32764", "timeout connect 5s", "timeout server 10s"]),
        ("log-forward lf", &["bind 127.0.0.1:1514", "dgram-bind 127.0.0.1:1514", "log global", "maxconn 10", "backlog 10", "timeout client 5s"]),
        ("http-errors he", &["errorfile 503 /dev/null"]),
        ("cache c", &["total-max-size 4", "max-object-size 10000", "max-age 240", "process-vary on", "max-secondary-entries 10"]),
        ("fcgi-app f", &["docroot /var/www", "index index.php", "log-stderr global", "option keep-conn", "path-info ^(/.+\\.php)(/.*)?$"]),
        ("mailers m", &["mailer smtp1 192.0.2.1:587", "timeout mail 20s"]),
        ("peers p", &["peer local 127.0.0.1:10000", "disabled", "enabled"]),
        ("resolvers r", &["nameserver dns1 192.0.2.53:53", "accepted_payload_size 8192", "hold valid 10s", "resolve_retries 3", "timeout resolve 1s"]),
        ("userlist u", &["group admins", "user alice insecure-password secret groups admins"]),
    ];
    for (header, lines) in sections {
        assert_valid(&with_section(header, lines));
    }
    assert_refused(&with_section("log-forward lf", &["option x"]));
}

// ----- the files of ../shared/cases -----

use fleet_tests::cases_dir;

/// `(file, "valid" | "invalid")` for every HAProxy file of `expected.tsv`.
fn expected_haproxy_cases(dir: &std::path::Path) -> Vec<(String, String)> {
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|row| {
            let mut columns = row.split('\t');
            let (file, verdict) = (columns.next()?, columns.next()?);
            file.ends_with(".cfg").then(|| (file.to_string(), verdict.to_string()))
        })
        .collect()
}

#[test]
fn offline_verdicts_of_the_cases_agree_with_haproxy() {
    let Some(dir) = cases_dir() else { return };
    let cases = expected_haproxy_cases(&dir);
    assert!(!cases.is_empty(), "no .cfg rows in expected.tsv");
    let mut disagreements = Vec::new();
    for (file, verdict) in &cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let found = errors(&text);
        let ok = match verdict.as_str() {
            "valid" => found.is_empty(),
            // The offline check must never be stricter; where HAProxy surely refuses, say so.
            "invalid" => !found.is_empty(),
            other => panic!("{file}: unknown verdict '{other}'"),
        };
        if !ok {
            disagreements.push(format!("{file}: haproxy says {verdict}, offline errors: {found:#?}"));
        }
    }
    eprintln!("cases: {} HAProxy files checked", cases.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn elseif_typo_is_valid_while_its_block_is_skipped() {
    let Some(dir) = cases_dir() else { return };
    let text = std::fs::read_to_string(dir.join("elseif_typo.cfg")).unwrap();
    assert_valid(&text);
}

#[test]
fn empty_quoted_argument_is_refused_like_haproxy_does() {
    let Some(dir) = cases_dir() else { return };
    let text = std::fs::read_to_string(dir.join("empty_quoted_arg.cfg")).unwrap();
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].position.line, 10);
}

#[test]
fn program_section_with_negated_option_is_valid() {
    let Some(dir) = cases_dir() else { return };
    let text = std::fs::read_to_string(dir.join("program_master_worker.cfg")).unwrap();
    assert_valid(&text);
}
