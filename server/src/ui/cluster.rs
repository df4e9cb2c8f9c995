//! A cluster's page: its agents (measured state), its VIPs, the latest version's files with
//! line numbers, syntax colours and the diagnostics found in them; the editor (check, then
//! commit); the first import.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::bundle::{BundleFile, BundlePath, FileKind};
use fleet_core::rbac::{Permission, Principal, Scope};
use fleet_core::{Actor, Cluster, TextAt, User};
use haproxy_model::{Diagnostic, Line};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::highlight;
use super::layout::{self, badge, Nav};
use super::overview::{agent_head, agent_row};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// Lines shown per page of a file.
pub(crate) const LINES_PER_PAGE: usize = 500;

/// A cluster named in a UI URL, with the session's principal narrowed to its pool.
pub(crate) struct Opened {
    pub(crate) cluster: Cluster,
    pub(crate) principal: Principal,
}

impl Opened {
    /// The user, when the session holds `permission` in this cluster's pool.
    pub(crate) fn user(&self, permission: Permission) -> UiResult<&User> {
        Ok(self.principal.user(permission)?)
    }

    /// The audit actor of a write.
    pub(crate) fn actor(&self, permission: Permission) -> UiResult<Actor<'_>> {
        Ok(Actor::from(self.user(permission)?))
    }
}

/// Looks up cluster `name` and narrows the session to its pool (a role held in another pool
/// reaches nothing here, as in the API).
pub(crate) async fn open(state: &AppState, session: &Session, name: &str) -> UiResult<Opened> {
    let cluster = state.store.cluster_by_name(name).await?;
    let principal = state.store.scoped(session.principal.clone(), Scope::Cluster(cluster.id)).await?;
    principal.user(Permission::Read)?;
    Ok(Opened { cluster, principal })
}

/// The tabs of a cluster's pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Config,
    Edit,
    Versions,
    Backends,
    Agents,
    Jobs,
    Rules,
    Maps,
}

/// The tab bar.
pub(crate) fn tabs(cluster: &Cluster, current: Tab) -> Markup {
    let base = format!("/ui/clusters/{}", urlencode(&cluster.name));
    let entries = [
        (Tab::Config, base.clone(), "Configuration"),
        (Tab::Edit, format!("{base}/edit"), "Edit"),
        (Tab::Versions, format!("{base}/versions"), "Versions"),
        (Tab::Backends, format!("{base}/backends"), "Backends & servers"),
        (Tab::Agents, format!("{base}/agents"), "Agents"),
        (Tab::Jobs, format!("{base}/jobs"), "Jobs & snapshots"),
        (Tab::Rules, format!("{base}/rules"), "Rules"),
        (Tab::Maps, format!("{base}/maps"), "Maps"),
    ];
    html! {
        nav aria-label="Cluster" { ul.tabs {
            @for (tab, href, label) in entries {
                li { a href=(href) aria-current=[(tab == current).then_some("page")] { (label) } }
            }
        } }
    }
}

/// `?file=&page=&done=` of the configuration view.
#[derive(Deserialize)]
pub(crate) struct ViewQuery {
    file: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

/// `GET /ui/clusters/{cluster}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Query(query): Query<ViewQuery>,
) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let status = state.store.status(cluster.id).await?;
    let now = state.store.now();
    let latest = state.store.versions(cluster.id).await?.pop();
    let rollout = state.store.latest_rollout(cluster.id).await?;
    let files = match &latest {
        Some(v) => state.store.files(cluster.id, v.number).await?,
        None => Vec::new(),
    };
    let selected = match query.file.as_deref() {
        Some(path) => Some(files.iter().find(|f| f.path.as_str() == path).ok_or_else(|| UiError::not_found(format!("file {path}")))?),
        None => files.iter().find(|f| f.kind == FileKind::Config).or(files.first()),
    }
    .cloned();
    let first_config = files.iter().find(|f| f.kind == FileKind::Config).map(|f| f.path.clone());
    let view = match (&latest, &selected) {
        (None, _) | (_, None) => html! {},
        (Some(v), Some(selected)) => {
            let is_first = first_config.as_ref() == Some(&selected.path);
            // Diagnostics of the agents' last applies, located in this version's files.
            let reported: Vec<Diagnostic> = status
                .agents
                .iter()
                .filter(|a| a.applied_version == Some(v.number) || a.last_outcome.is_some_and(|o| !o.runs_version()))
                .flat_map(|a| a.last_diagnostics.iter().cloned())
                .filter(|d| match &d.file { Some(f) => f == selected.path.as_str(), None => is_first })
                .collect();
            let page_no = query.page.unwrap_or(1).max(1);
            if selected.kind.is_secret() {
                html! { p.muted { "This file holds key material: its contents are not shown (" (selected.size) " bytes, sha256 " code { (selected.sha256) } ")." } }
            } else if is_first {
                let parsed = state.store.document_at(cluster.id, TextAt::Version(v.number)).await?;
                let mut found: Vec<Diagnostic> = parsed.diagnostics().iter().filter(|d| d.file.is_none()).cloned().collect();
                found.extend(reported);
                let lines = parsed.document().lines().map(Highlighted::Parsed);
                code_view(lines, &found, page_no, &file_href(cluster, &selected.path))
            } else {
                let file = state.store.file(cluster.id, v.number, &selected.path).await?;
                match file.text() {
                    None => html! { p.muted { "A binary file of " (selected.size) " bytes." } },
                    Some(text) => {
                        let config = selected.kind == FileKind::Config;
                        let lines = text.split_inclusive('\n').map(|l| Highlighted::Text { text: l.trim_end_matches(['\n', '\r']), config });
                        code_view(lines, &reported, page_no, &file_href(cluster, &selected.path))
                    }
                }
            }
        }
    };
    let body = html! {
        (tabs(cluster, Tab::Config))
        (layout::notice(query.done.as_deref()))
        p {
            "Desired version " strong { (cluster.desired_version.map_or("none".into(), |v| v.to_string())) }
            @if let Some(v) = &latest {
                " · latest version " strong { (v.number) } " by " (v.author) " (" (layout::time(v.created_at)) "): " em { (v.message) }
            }
        }
        @if let Some(v) = &latest {
            @if cluster.desired_version != Some(v.number) && opened.user(Permission::Write).is_ok() {
                (apply_form(&session, cluster, v.number))
            }
        }
        (super::rollouts::section(&session, cluster, rollout.as_ref(), latest.as_ref().map(|v| v.number), opened.user(Permission::Write).is_ok()))
        div #progress hx-get={ "/ui/clusters/" (urlencode(&cluster.name)) "/progress" } hx-trigger="load" hx-swap="innerHTML" {}
        h2 { "Agents" }
        @if status.agents.is_empty() { p.muted { "No agents. " a href={ "/ui/clusters/" (urlencode(&cluster.name)) "/agents" } { "Enrol one" } "." } }
        @else { table.matrix { (agent_head()) tbody { @for a in &status.agents { (agent_row(&a.into(), cluster.desired_version, now)) } } } }
        @if !status.vips.is_empty() {
            h2 { "Virtual IPs" }
            table { thead { tr { th { "Group" } th { "Address" } th { "Holder (measured)" } } } tbody {
                @for vip in &status.vips { tr { td { (vip.name) } td { (vip.addresses.join(", ")) } td { (vip.holders.join(", ")) } } }
            } }
        }
        @match &latest {
            None => { h2 { "Import a configuration" } (import_form(&session, cluster)) },
            Some(_) => {
                h2 { "Files" }
                ul.files { @for f in &files {
                    li {
                        a href=(file_href(cluster, &f.path)) aria-current=[selected.as_ref().is_some_and(|s| s.path == f.path).then_some("page")] { (f.path.as_str()) }
                        " " span.muted { (f.kind.as_str()) ", " (f.size) " bytes" }
                    }
                } }
                @if let Some(selected) = &selected { h2 { (selected.path.as_str()) } }
                (view)
            }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Cluster {}", cluster.name), body))
}

fn file_href(cluster: &Cluster, path: &BundlePath) -> String {
    format!("/ui/clusters/{}?file={}", urlencode(&cluster.name), urlencode(path.as_str()))
}

/// The "apply version N" button.
pub(crate) fn apply_form(session: &Session, cluster: &Cluster, number: i64) -> Markup {
    html! {
        form.row #apply-form method="post" action={ "/ui/clusters/" (urlencode(&cluster.name)) "/apply" }
            hx-post={ "/ui/clusters/" (urlencode(&cluster.name)) "/apply" } hx-target="#progress" hx-swap="innerHTML"
            hx-confirm={ "Apply version " (number) " to every agent of " (cluster.name) "?" } {
            (layout::csrf(session))
            input type="hidden" name="version" value=(number);
            button type="submit" { "Apply version " (number) }
        }
    }
}

fn import_form(session: &Session, cluster: &Cluster) -> Markup {
    html! {
        form.stack method="post" action={ "/ui/clusters/" (urlencode(&cluster.name)) "/import" } {
            (layout::csrf(session))
            label for="import-text" { "haproxy.cfg" }
            textarea #import-text .editor name="text" required spellcheck="false" {}
            label for="import-message" { "Message" }
            input #import-message name="message" type="text" value="import";
            button type="submit" { "Import" }
        }
    }
}

/// A line to show: parsed already (from the document cache) or raw text of a file.
pub(crate) enum Highlighted<'a> {
    Parsed(&'a Line),
    Text { text: &'a str, config: bool },
}

/// One page of `lines` with line numbers, colours and `found` at their lines, and a pager.
pub(crate) fn code_view<'a>(lines: impl Iterator<Item = Highlighted<'a>>, found: &[Diagnostic], page: usize, href: &str) -> Markup {
    let skip = (page - 1) * LINES_PER_PAGE;
    let mut total = 0usize;
    let mut shown = Vec::with_capacity(LINES_PER_PAGE);
    for (index, line) in lines.enumerate() {
        total += 1;
        if index >= skip && index < skip + LINES_PER_PAGE {
            shown.push((index + 1, line));
        }
    }
    let pages = total.div_ceil(LINES_PER_PAGE).max(1);
    let pager = html! {
        @if pages > 1 {
            nav.pager aria-label="Pages of this file" {
                @if page > 1 { a href={ (href) "&page=" (page - 1) } rel="prev" { "← previous" } }
                span { "lines " (skip + 1) "–" ((skip + LINES_PER_PAGE).min(total)) " of " (total) " (page " (page) " of " (pages) ")" }
                @if page < pages { a href={ (href) "&page=" (page + 1) } rel="next" { "next →" } }
            }
        }
    };
    let errors_elsewhere: Vec<&Diagnostic> = found.iter().filter(|d| { let n = d.position.line as usize; n <= skip || n > skip + LINES_PER_PAGE }).collect();
    html! {
        (pager)
        @if !errors_elsewhere.is_empty() {
            details { summary { (errors_elsewhere.len()) " finding(s) on other pages" }
                ul.diagnostics { @for d in errors_elsewhere {
                    li class=(if d.is_error() { "error" } else { "warning" }) {
                        a href={ (href) "&page=" (((d.position.line as usize).max(1) - 1) / LINES_PER_PAGE + 1) } { "line " (d.position.line) } ": " (d.message)
                    }
                } }
            }
        }
        pre.code { code {
            @for (n, line) in shown {
                @let here: Vec<&Diagnostic> = found.iter().filter(|d| d.position.line as usize == n).collect();
                @let class = if here.iter().any(|d| d.is_error()) { "ln has-error" } else if here.is_empty() { "ln" } else { "ln has-warning" };
                span class=(class) data-n=(n) id={ "L" (n) } {
                    (render_line(&line))
                    @for d in &here { span.note { (d.severity.to_string()) " (col " (d.position.column) "): " (d.message) } }
                }
            }
        } }
        (pager)
    }
}

fn render_line(line: &Highlighted<'_>) -> Markup {
    match line {
        Highlighted::Parsed(line) => highlight::line(line),
        Highlighted::Text { text, config: true } => match haproxy_parse::parse_line(text) {
            Ok(parsed) => highlight::line(&parsed),
            Err(_) => html! { (text) },
        },
        Highlighted::Text { text, config: false } => html! { (text) },
    }
}

/// `POST /ui/clusters/{cluster}/import`.
#[derive(Deserialize)]
pub(crate) struct ImportForm {
    text: String,
    message: Option<String>,
}

/// `POST /ui/clusters/{cluster}/import`: the first version, from pasted text.
pub(crate) async fn import(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<ImportForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let message = posted.form.message.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| "import".into());
    let committed = state.store.import(opened.actor(Permission::Write)?, opened.cluster.id, &posted.form.text, &message).await?;
    let done = format!("imported as version {}", committed.version.number);
    Ok(Redirect::to(&format!("/ui/clusters/{}?done={}", urlencode(&name), urlencode(&done))).into_response())
}

/// `?file=` of the editor.
#[derive(Deserialize)]
pub(crate) struct EditQuery {
    file: Option<String>,
}

/// The text file the editor works on: `file`, else the first config file.
async fn editable(state: &AppState, cluster: &Cluster, file: Option<&str>) -> UiResult<(i64, BundleFile)> {
    let latest = state.store.versions(cluster.id).await?.pop().ok_or_else(|| UiError::not_found("a version to edit (import one first)"))?;
    let files = state.store.files(cluster.id, latest.number).await?;
    let info = match file {
        Some(path) => files.iter().find(|f| f.path.as_str() == path),
        None => files.iter().find(|f| f.kind == FileKind::Config),
    }
    .ok_or_else(|| UiError::not_found(format!("file {}", file.unwrap_or("haproxy.cfg"))))?;
    if info.kind.is_secret() {
        return Err(UiError::bad_request(format!("{} holds key material: replace it through the certificates API", info.path.as_str())));
    }
    let bundle_file = state.store.file(cluster.id, latest.number, &info.path).await?;
    if bundle_file.text().is_none() {
        return Err(UiError::bad_request(format!("{} is not text", info.path.as_str())));
    }
    Ok((latest.number, bundle_file))
}

/// `GET /ui/clusters/{cluster}/edit`: the text of a file in a text area; "Check" shows the
/// offline check and `haproxy -c` at their lines without storing anything, "Commit" makes the
/// next version (refused, with the same findings, when the gate refuses it).
pub(crate) async fn editor(State(state): State<AppState>, session: Session, Path(name): Path<String>, Query(query): Query<EditQuery>) -> UiResult<Html<String>> {
    let opened = open(&state, &session, &name).await?;
    let cluster = &opened.cluster;
    let (base, file) = editable(&state, cluster, query.file.as_deref()).await?;
    let action = format!("/ui/clusters/{}", urlencode(&cluster.name));
    let body = html! {
        (tabs(cluster, Tab::Edit))
        p { "Editing " code { (file.path.as_str()) } " of version " (base) ". A commit makes version " (base + 1) " if nobody commits first." }
        form.stack.wide method="post" action={ (action) "/commit" } {
            (layout::csrf(&session))
            input type="hidden" name="base" value=(base);
            input type="hidden" name="path" value=(file.path.as_str());
            label for="editor-text" { "Text of " (file.path.as_str()) }
            textarea #editor-text .editor name="text" spellcheck="false" { (file.text().unwrap_or_default()) }
            div.row {
                button.secondary type="button" hx-post={ (action) "/check" } hx-target="#check-result" hx-include="closest form" { "Check" }
            }
            div #check-result aria-live="polite" {}
            label for="commit-message" { "Commit message" }
            input #commit-message name="message" type="text" required placeholder="why this change";
            button type="submit" { "Commit" }
        }
    };
    Ok(layout::page(&session, Nav::None, &format!("Edit {}", cluster.name), body))
}

/// The editor's posted fields.
#[derive(Deserialize)]
pub(crate) struct EditorForm {
    base: i64,
    path: String,
    text: String,
    message: Option<String>,
}

impl EditorForm {
    fn file(&self) -> UiResult<BundleFile> {
        let path = BundlePath::new(&self.path).map_err(|e| UiError::bad_request(e.to_string()))?;
        let kind = FileKind::guess(&path);
        Ok(BundleFile::new(path, kind, self.text.clone().into_bytes()))
    }
}

/// The findings of a check, the text's lines beside them.
fn check_report(check: &fleet_core::CandidateCheck, text: &str) -> Markup {
    let line_of = |n: u32| text.lines().nth((n as usize).saturating_sub(1)).unwrap_or("");
    let list = |found: &[Diagnostic]| html! {
        ul.diagnostics { @for d in found {
            li class=(if d.is_error() { "error" } else { "warning" }) {
                code { @if let Some(f) = &d.file { (f) ":" } (d.position.line) ":" (d.position.column) } " " (d.severity.to_string()) ": " (d.message)
                br; code.muted { (line_of(d.position.line)) }
            }
        } }
    };
    html! {
        section.check {
            h3 { "Offline check" }
            @if check.offline.is_empty() { p { (badge("ok", "no findings")) } } @else { (list(&check.offline)) }
            h3 { "haproxy -c" }
            @match &check.haproxy {
                None => p.muted { "This server has no HAProxy to ask (start it with --haproxy-bin)." },
                Some(v) => {
                    p { @if v.accepted { (badge("ok", "accepted")) } @else { (badge("bad", "refused")) } }
                    (list(&v.diagnostics))
                    @for g in &v.general { p.muted { (g) } }
                }
            }
            p { @if check.blocks() { (badge("bad", "a commit would be refused")) } @else { (badge("ok", "a commit would be accepted")) } }
        }
    }
}

/// `POST /ui/clusters/{cluster}/check` (htmx): the check report fragment.
pub(crate) async fn check(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<EditorForm>) -> UiResult<Html<String>> {
    let opened = open(&state, &posted.session, &name).await?;
    let check = state.store.check_candidate(opened.cluster.id, posted.form.file()?).await?;
    Ok(Html(check_report(&check, &posted.form.text).into_string()))
}

/// `POST /ui/clusters/{cluster}/commit`: the next version, then its diff.
pub(crate) async fn commit(State(state): State<AppState>, Path(name): Path<String>, posted: Posted<EditorForm>) -> UiResult<Response> {
    let opened = open(&state, &posted.session, &name).await?;
    let form = &posted.form;
    let message = form.message.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| format!("edit {}", form.path));
    let committed = state.store.put_file(opened.actor(Permission::Write)?, opened.cluster.id, Some(form.base), form.file()?, &message).await?;
    let n = committed.version.number;
    Ok(Redirect::to(&format!("/ui/clusters/{}/diff?from={}&to={n}", urlencode(&name), n - 1)).into_response())
}
