//! Who is browsing, and whether a form really comes from our own page.
//!
//! The session is the same fleet-core login session the API takes as a bearer token, carried in
//! the `fleet_session` cookie (HttpOnly, SameSite=Strict, Secure under TLS, path `/ui`). Every
//! form carries a CSRF token: for a signed-in user, SHA-256 of the session token under a fixed
//! label (a page of another site can neither read the cookie nor compute it); for the login
//! form, a random `fleet_login_csrf` cookie echoed in the form (double submit). htmx requests
//! send the token in the `x-csrf-token` header (`hx-headers` on `<body>`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use fleet_core::rbac::Principal;
use fleet_core::User;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::UiError;
use crate::http::AppState;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "fleet_session";
/// The login form's double-submit cookie.
pub(crate) const LOGIN_CSRF_COOKIE: &str = "fleet_login_csrf";
/// The header htmx requests carry the token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in user: the principal fleet-core authenticated from the cookie, and the token its
/// forms must carry. Pages extract it; without a valid session they redirect to the login.
pub(crate) struct Session {
    pub(crate) principal: Principal,
    pub(crate) csrf: String,
    /// The session token (logout ends it).
    pub(crate) token: String,
}

impl Session {
    /// The user behind the session (sessions are always users').
    pub(crate) fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User { user, .. } => Some(user),
            Principal::Agent(_) => None,
        }
    }

    /// The signed-in username, for the header and the audit log.
    pub(crate) fn username(&self) -> String {
        self.principal.actor()
    }
}

/// The CSRF token of a session token.
pub(crate) fn csrf_of(token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"haproxy-fleet ui csrf\0");
    hash.update(token.as_bytes());
    hex::encode(hash.finalize())
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` header value: HttpOnly, SameSite=Strict, path `/ui`, `Secure` when `https`;
/// `max_age` in seconds (0 clears it).
pub(crate) fn set_cookie(name: &str, value: &str, max_age: u64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A response that also sets (or clears) cookies.
pub(crate) fn with_cookies(response: impl IntoResponse, cookies: Vec<HeaderValue>) -> Response {
    let mut response = response.into_response();
    for value in cookies {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Where a page without a session goes: the login, coming back here afterwards.
pub(crate) fn to_login(parts: &Parts) -> Response {
    let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/ui/");
    let target = if back.starts_with("/ui/") && !back.starts_with("/ui/login") { back } else { "/ui/" };
    Redirect::to(&format!("/ui/login?next={}", urlencode(target))).into_response()
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
pub(crate) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Why a request has no usable session.
pub(crate) enum NoSession {
    /// Not signed in (or expired): go to the login page.
    Login(Response),
    /// Something else failed (the database).
    Error(UiError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Login(response) => response,
            NoSession::Error(error) => error.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NoSession> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(NoSession::Login(to_login(parts)));
        };
        match state.store.authenticate(&token).await {
            Ok(principal @ Principal::User { .. }) => Ok(Session { principal, csrf: csrf_of(&token), token }),
            Ok(Principal::Agent(_)) | Err(fleet_core::Error::Unauthorized) => Err(NoSession::Login(to_login(parts))),
            Err(e) => Err(NoSession::Error(e.into())),
        }
    }
}

/// A form posted by a signed-in user, its CSRF token checked before `T` is read.
pub(crate) struct Posted<T> {
    pub(crate) session: Session,
    pub(crate) form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| UiError::bad_request(format!("cannot read the form: {e}")).into_response())?;
        let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let field = serde_urlencoded::from_bytes::<CsrfField>(&bytes).ok().and_then(|f| f.csrf);
        if header.or(field).as_deref() != Some(session.csrf.as_str()) {
            return Err(UiError::csrf().into_response());
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| UiError::bad_request(format!("bad form: {e}")).into_response())?;
        Ok(Posted { session, form })
    }
}

/// The login form's posted fields with its double-submit token checked against the cookie.
pub(crate) struct LoginPosted<T> {
    pub(crate) form: T,
    pub(crate) headers: HeaderMap,
}

impl<T: DeserializeOwned> FromRequest<AppState> for LoginPosted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| UiError::bad_request(format!("cannot read the form: {e}")).into_response())?;
        let field = serde_urlencoded::from_bytes::<CsrfField>(&bytes).ok().and_then(|f| f.csrf);
        match (cookie(&headers, LOGIN_CSRF_COOKIE), field) {
            (Some(expected), Some(got)) if expected == got => {}
            _ => return Err(UiError::csrf().into_response()),
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| UiError::bad_request(format!("bad form: {e}")).into_response())?;
        Ok(LoginPosted { form, headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; fleet_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        headers.insert(COOKIE, HeaderValue::from_static("fleet_session="));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None, "an empty cookie is no session");
    }

    #[test]
    fn the_csrf_token_depends_on_the_session() {
        assert_eq!(csrf_of("t1"), csrf_of("t1"));
        assert_ne!(csrf_of("t1"), csrf_of("t2"));
        assert_eq!(csrf_of("t1").len(), 64);
    }

    #[test]
    fn session_cookies_are_locked_down() {
        let plain = set_cookie(SESSION_COOKIE, "tok", 3600, false);
        assert_eq!(plain, "fleet_session=tok; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=3600");
        assert!(set_cookie(SESSION_COOKIE, "tok", 3600, true).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn login_redirects_keep_only_ui_paths() {
        assert_eq!(urlencode("/ui/clusters/prod?page=2"), "/ui/clusters/prod%3Fpage%3D2");
    }
}
