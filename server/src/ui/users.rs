//! Users (admin): create, change the role, reset the password or the second factor, see MFA
//! state; one's own account: enrol a TOTP second factor (QR code, then a code) and see the
//! recovery codes once.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::rbac::Permission;
use fleet_core::{Role, UserChange};
use maud::html;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::layout::{self, badge, Nav};
use super::session::{urlencode, Posted, Session};
use crate::http::AppState;

/// `?done=`.
#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

/// `GET /ui/users`.
pub(crate) async fn page(State(state): State<AppState>, session: Session, Query(query): Query<Done>) -> UiResult<Html<String>> {
    session.principal.user(Permission::Admin)?;
    let users = state.store.users().await?;
    let body = html! {
        (layout::notice(query.done.as_deref()))
        table {
            thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "Pool roles" } th scope="col" { "Second factor" } th scope="col" { "Change" } } }
            tbody { @for u in &users {
                tr {
                    td { (u.username) }
                    td { (u.role.map_or("none", |r| r.as_str())) }
                    td { @for g in &u.pool_roles { "pool " (g.pool_id) ": " (g.role.as_str()) br; } }
                    td { @if u.mfa_enabled { (badge("ok", "enabled")) } @else if u.mfa_required { (badge("warn", "required, not enrolled")) } @else { (badge("idle", "off")) } }
                    td {
                        form.row method="post" action={ "/ui/users/" (urlencode(&u.username)) } {
                            (layout::csrf(&session))
                            input type="hidden" name="op" value="role";
                            label { "Role of " (u.username)
                                select name="role" { @for r in ROLES { option value=(r) selected[u.role.map(|x| x.as_str()) == Some(r)] { (r) } } } }
                            button.secondary type="submit" { "Set role" }
                        }
                        form.row method="post" action={ "/ui/users/" (urlencode(&u.username)) } {
                            (layout::csrf(&session))
                            input type="hidden" name="op" value="password";
                            label { "New password for " (u.username) input name="password" type="password" autocomplete="new-password" minlength="12" required; }
                            button.secondary type="submit" { "Reset password" }
                        }
                        @if u.mfa_enabled {
                            form.row method="post" action={ "/ui/users/" (urlencode(&u.username)) } data-confirm={ "Remove the second factor of " (u.username) "?" } {
                                (layout::csrf(&session))
                                input type="hidden" name="op" value="reset-mfa";
                                button.danger type="submit" { "Reset second factor" }
                            }
                        }
                    }
                }
            } }
        }
        h2 { "Create a user" }
        form.row method="post" action="/ui/users" {
            (layout::csrf(&session))
            label { "Username" input name="username" required autocomplete="off"; }
            label { "Password (12+ characters)" input name="password" type="password" autocomplete="new-password" minlength="12" required; }
            label { "Role" select name="role" { @for r in ROLES { option value=(r) { (r) } } } }
            button type="submit" { "Create user" }
        }
    };
    Ok(layout::page(&session, Nav::Users, "Users", body))
}

fn role(text: &str) -> UiResult<Role> {
    text.parse::<Role>().map_err(|_| UiError::bad_request(format!("unknown role {text:?}")))
}

/// The create form.
#[derive(Deserialize)]
pub(crate) struct NewUser {
    username: String,
    password: String,
    role: String,
}

/// `POST /ui/users`.
pub(crate) async fn create(State(state): State<AppState>, posted: Posted<NewUser>) -> UiResult<Response> {
    let admin = posted.session.principal.user(Permission::Admin)?;
    let f = &posted.form;
    state.store.create_user_with(&admin.username, f.username.trim(), &f.password, Some(role(&f.role)?), &[]).await?;
    Ok(Redirect::to(&format!("/ui/users?done={}", urlencode(&format!("user {} created", f.username.trim())))).into_response())
}

/// One change to a user: `op` = `role`, `password` or `reset-mfa`.
#[derive(Deserialize)]
pub(crate) struct UserForm {
    op: String,
    role: Option<String>,
    password: Option<String>,
}

/// `POST /ui/users/{username}`.
pub(crate) async fn update(State(state): State<AppState>, Path(username): Path<String>, posted: Posted<UserForm>) -> UiResult<Response> {
    let admin = posted.session.principal.user(Permission::Admin)?;
    let user = state.store.users().await?.into_iter().find(|u| u.username == username).ok_or_else(|| UiError::not_found(format!("user {username}")))?;
    let f = &posted.form;
    let done = match f.op.as_str() {
        "role" => {
            let role = role(f.role.as_deref().unwrap_or(""))?;
            let change = UserChange { role: Some(Some(role)), ..UserChange::default() };
            state.store.update_user(&admin.username, user.id, &change).await?;
            format!("{username} is now {}", role.as_str())
        }
        "password" => {
            state.store.reset_password(&admin.username, user.id, f.password.as_deref().unwrap_or("")).await?;
            format!("password of {username} reset; their sessions ended")
        }
        "reset-mfa" => {
            state.store.reset_mfa(&admin.username, user.id).await?;
            format!("second factor of {username} removed")
        }
        other => return Err(UiError::bad_request(format!("unknown change {other:?}"))),
    };
    Ok(Redirect::to(&format!("/ui/users?done={}", urlencode(&done))).into_response())
}

/// `GET /ui/account`.
pub(crate) async fn account(State(state): State<AppState>, session: Session) -> UiResult<Html<String>> {
    let me = state.store.user(session.principal.account()?.id).await?;
    let body = html! {
        p { "Signed in as " strong { (me.username) } ", role " (me.role.map_or("none", |r| r.as_str())) "." }
        h2 { "Second factor" }
        @if me.mfa_enabled { p { (badge("ok", "enabled")) " Codes from your authenticator app are asked at login." } }
        @else {
            @if me.mfa_required { div.error role="alert" { "Your account must have a second factor: enrol one to continue." } }
            form method="post" action="/ui/account/mfa" {
                (layout::csrf(&session))
                button type="submit" { "Enrol an authenticator app" }
            }
        }
    };
    Ok(layout::page(&session, Nav::Account, "Account", body))
}

/// `POST /ui/account/mfa`: a new TOTP secret as a QR code, and the form for the first code.
pub(crate) async fn mfa_enrol(State(state): State<AppState>, posted: Posted<super::login::Empty>) -> UiResult<Html<String>> {
    let me = posted.session.principal.account()?.clone();
    let enrolment = state.store.begin_mfa(&state.keyring, &me).await?;
    let body = html! {
        p { "Scan this code with an authenticator app, or type the secret " code { (enrolment.secret) } "." }
        figure.qr { (layout::trusted(&enrolment.qr_svg)) }
        form.row method="post" action="/ui/account/mfa/confirm" {
            (layout::csrf(&posted.session))
            label { "Current code" input name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus; }
            button type="submit" { "Confirm" }
        }
    };
    Ok(layout::page(&posted.session, Nav::Account, "Enrol a second factor", body))
}

/// The first code.
#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
}

/// `POST /ui/account/mfa/confirm`: the recovery codes, shown once.
pub(crate) async fn mfa_confirm(State(state): State<AppState>, posted: Posted<CodeForm>) -> UiResult<Html<String>> {
    let me = posted.session.principal.account()?.clone();
    let codes = state.store.confirm_mfa(&state.keyring, &me, posted.form.code.trim()).await?;
    let body = html! {
        p { (badge("ok", "enabled")) " Keep these recovery codes somewhere safe: each replaces a code once, and they are shown only now." }
        ul.codes { @for c in &codes { li { code { (c) } } } }
        p { a href="/ui/" { "Continue to the overview" } }
    };
    Ok(layout::page(&posted.session, Nav::Account, "Second factor enabled", body))
}
