//! The page shell (head, navigation, skip link, CSRF header for htmx) and small shared pieces:
//! timestamps, state badges, diagnostics lists.

use axum::response::Html;
use haproxy_model::Diagnostic;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::session::{Session, CSRF_HEADER};

/// htmx settings for a strict CSP: no `eval`, no inline styles or scripts from responses, only
/// same-origin requests; 4xx answers are swapped in (they carry the error for the user).
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"4..","swap":true,"error":false},{"code":"...","swap":false,"error":true}]}"#;

/// Which navigation entry is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Certificates,
    Alerts,
    Schedules,
    Audit,
    Users,
    Account,
    None,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · HAProxy Fleet" }
            link rel="stylesheet" href="/ui/assets/fleet.css";
            script src="/ui/assets/htmx.min.js" defer {}
            script src="/ui/assets/fleet.js" defer {}
        }
    }
}

/// A page for a signed-in user: navigation, `title` as the heading, then `body`.
pub(crate) fn page(session: &Session, nav: Nav, title: &str, body: Markup) -> Html<String> {
    let admin = session.user().is_some_and(|u| u.role == Some(fleet_core::Role::Admin));
    let headers = format!(r#"{{"{CSRF_HEADER}": "{}"}}"#, session.csrf);
    let entry = |target: Nav, href: &str, label: &str| {
        html! { li { a href=(href) aria-current=[(nav == target).then_some("page")] { (label) } } }
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(headers) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui/" { "HAProxy Fleet" }
                    nav aria-label="Main" {
                        ul {
                            (entry(Nav::Overview, "/ui/", "Overview"))
                            (entry(Nav::Certificates, "/ui/certificates", "Certificates"))
                            (entry(Nav::Alerts, "/ui/alerts", "Alerts"))
                            (entry(Nav::Schedules, "/ui/schedules", "Schedules"))
                            (entry(Nav::Audit, "/ui/audit", "Audit log"))
                            @if admin { (entry(Nav::Users, "/ui/users", "Users")) }
                            (entry(Nav::Account, "/ui/account", "Account"))
                        }
                    }
                    form.logout method="post" action="/ui/logout" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        span.who { (session.username()) }
                        button type="submit" { "Log out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A page without navigation (login, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.top { a.brand href="/ui/" { "HAProxy Fleet" } }
                (body)
            }
        }
    }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A Unix-ms time as RFC 3339 in a `<time>` element (UTC).
pub(crate) fn time(ms: i64) -> Markup {
    let text = fleet_core::clock::rfc3339(ms);
    html! { time datetime=(text) { (text.replace('T', " ").trim_end_matches('Z')) " UTC" } }
}

/// How long ago `ms` was, as of `now` (ms): `4 s`, `3 min`, `2 h`, `5 d`.
pub(crate) fn ago(ms: i64, now: i64) -> String {
    let s = (now - ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A coloured badge; `kind` is one of `ok`, `warn`, `bad`, `idle` (the CSS classes).
pub(crate) fn badge(kind: &str, text: &str) -> Markup {
    html! { span class={ "badge " (kind) } { (text) } }
}

/// Configuration diagnostics as a list, each with its file, line and column.
pub(crate) fn diagnostics(list: &[Diagnostic]) -> Markup {
    html! {
        @if !list.is_empty() {
            ul.diagnostics {
                @for d in list {
                    li class=(if d.is_error() { "error" } else { "warning" }) {
                        code {
                            @if let Some(file) = &d.file { (file) ":" }
                            (d.position.line) ":" (d.position.column)
                        }
                        " " (d.severity.to_string()) ": " (d.message)
                    }
                }
            }
        }
    }
}

/// A flash message carried in the query string after a redirect (`?done=...`).
pub(crate) fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}

/// Text known to be safe HTML (server-built, e.g. the QR code SVG fleet-core renders).
pub(crate) fn trusted(html: &str) -> Markup {
    PreEscaped(html.to_string())
}
