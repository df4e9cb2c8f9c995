//! Login (password, then the second factor when the user has one) and logout, through the same
//! fleet-core sign-in as `POST /api/v1/auth/login`: throttling, MFA and enrolment-only
//! sessions behave identically.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use fleet_core::clock::OsRandom;
use fleet_core::{Credentials, SignIn};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::UiError;
use super::layout;
use super::session::{cookie, set_cookie, with_cookies, LoginPosted, Posted, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::http::Peer;
use crate::http::AppState;

/// `?next=` of the login page: where to go once signed in.
#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Only paths of the UI itself (no open redirect to another site).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with("/ui/") && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/ui/",
    }
}

/// The login token of this browser, made when it has none.
fn login_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, LOGIN_CSRF_COOKIE) {
        Some(token) => (token.to_string(), false),
        None => (fleet_core::secret::new_token("", &OsRandom).unwrap_or_default(), true),
    }
}

fn login_page(state: &AppState, headers: &HeaderMap, body: impl FnOnce(&str) -> Markup) -> Response {
    let (token, fresh) = login_token(headers);
    let page = layout::bare("Log in", html! { main #main { (body(&token)) } });
    let mut cookies = Vec::new();
    if fresh {
        cookies.push(set_cookie(LOGIN_CSRF_COOKIE, &token, 3600, state.https));
    }
    with_cookies(Html(page.into_string()), cookies)
}

fn password_form(token: &str, next: &str, username: &str, error: Option<&str>) -> Markup {
    html! {
        h1 { "Log in" }
        @if let Some(error) = error { div.error role="alert" { (error) } }
        form.stack method="post" action="/ui/login" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(next);
            label for="username" { "Username" }
            input #username name="username" type="text" autocomplete="username" required autofocus value=(username);
            label for="password" { "Password" }
            input #password name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
    }
}

fn mfa_form(token: &str, next: &str, challenge: &str, error: Option<&str>) -> Markup {
    html! {
        h1 { "Second factor" }
        @if let Some(error) = error { div.error role="alert" { (error) } }
        form.stack method="post" action="/ui/login/mfa" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(next);
            input type="hidden" name="challenge" value=(challenge);
            label for="code" { "Code from your authenticator, or a recovery code" }
            input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus;
            button type="submit" { "Verify" }
        }
    }
}

/// `GET /ui/login`.
pub(crate) async fn form(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<Next>) -> Response {
    let next = safe_next(query.next.as_deref()).to_string();
    login_page(&state, &headers, |token| password_form(token, &next, "", None))
}

/// The login form's fields.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Turns a sign-in into the session cookie and the redirect, or the second factor's form.
fn signed_in(state: &AppState, headers: &HeaderMap, next: &str, sign_in: SignIn) -> Response {
    match sign_in {
        SignIn::Session { token, mfa_enrolment_required, .. } => {
            let ttl = state.session_ttl.as_secs();
            let target = if mfa_enrolment_required { "/ui/account" } else { next };
            with_cookies(Redirect::to(target), vec![set_cookie(SESSION_COOKIE, &token, ttl, state.https)])
        }
        SignIn::MfaRequired { challenge, .. } => login_page(state, headers, |token| mfa_form(token, next, &challenge, None)),
    }
}

/// `POST /ui/login`.
pub(crate) async fn submit(State(state): State<AppState>, Peer(peer): Peer, posted: LoginPosted<LoginForm>) -> Response {
    let LoginPosted { form, headers } = posted;
    let next = safe_next(form.next.as_deref()).to_string();
    let credentials = Credentials { username: &form.username, password: &form.password, source: peer };
    let ttl = i64::try_from(state.session_ttl.as_millis()).unwrap_or(i64::MAX);
    match state.store.sign_in(credentials, ttl).await {
        Ok(sign_in) => signed_in(&state, &headers, &next, sign_in),
        Err(e @ (fleet_core::Error::Unauthorized | fleet_core::Error::Throttled { .. })) => {
            let message = match e {
                fleet_core::Error::Unauthorized => "wrong username or password".to_string(),
                other => other.to_string(),
            };
            login_page(&state, &headers, |token| password_form(token, &next, &form.username, Some(&message)))
        }
        Err(e) => UiError::from(e).into_response(),
    }
}

/// The second factor's form fields.
#[derive(Deserialize)]
pub(crate) struct MfaForm {
    challenge: String,
    code: String,
    next: Option<String>,
}

/// `POST /ui/login/mfa`.
pub(crate) async fn submit_mfa(State(state): State<AppState>, Peer(peer): Peer, posted: LoginPosted<MfaForm>) -> Response {
    let LoginPosted { form, headers } = posted;
    let next = safe_next(form.next.as_deref()).to_string();
    let ttl = i64::try_from(state.session_ttl.as_millis()).unwrap_or(i64::MAX);
    match state.store.complete_mfa(&state.keyring, &form.challenge, form.code.trim(), peer, ttl).await {
        Ok(sign_in) => signed_in(&state, &headers, &next, sign_in),
        Err(fleet_core::Error::Unauthorized) => {
            // A spent or expired challenge cannot be retried: back to the password.
            login_page(&state, &headers, |token| password_form(token, &next, "", Some("wrong code or expired login: log in again")))
        }
        Err(e @ fleet_core::Error::Throttled { .. }) => {
            let message = e.to_string();
            login_page(&state, &headers, |token| mfa_form(token, &next, &form.challenge, Some(&message)))
        }
        Err(e) => UiError::from(e).into_response(),
    }
}

/// No fields beyond the CSRF token.
#[derive(Deserialize)]
pub(crate) struct Empty {}

/// `POST /ui/logout`: ends the session in fleet-core and clears the cookie.
pub(crate) async fn logout(State(state): State<AppState>, posted: Posted<Empty>) -> Response {
    if let Err(e) = state.store.logout(&posted.session.token).await {
        return UiError::from(e).into_response();
    }
    with_cookies(Redirect::to("/ui/login"), vec![set_cookie(SESSION_COOKIE, "", 0, state.https)])
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_ui() {
        assert_eq!(safe_next(Some("/ui/clusters/prod")), "/ui/clusters/prod");
        assert_eq!(safe_next(Some("https://evil.example/")), "/ui/");
        assert_eq!(safe_next(Some("//evil.example/ui/")), "/ui/");
        assert_eq!(safe_next(Some("/api/v1/users")), "/ui/");
        assert_eq!(safe_next(None), "/ui/");
    }
}
