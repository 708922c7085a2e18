//! The session cookie and the logged-in user of a page.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no
//! other site's page sends it, the first defence against CSRF), scoped
//! to `/account/`, and `Secure` when the browser reached us over TLS.
//! bindbridge serves plain HTTP itself, so TLS is a reverse proxy's, which
//! says so with `X-Forwarded-Proto: https`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::api::AppState;
use crate::store::Session;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bindbridge_session";

/// The value of cookie `name` in a request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// True if the browser reached us over TLS (through a proxy).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for `name=value` under `path`; `max_age` 0
/// deletes it.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    // Names, values and paths are ours: hex and fixed ASCII.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("invalid=1"))
}

/// The logged-in user of a page, with the session's id as the cookie
/// holds it. Without a live session, the page redirects to the login.
pub struct Account {
    /// The session.
    pub session: Session,
    /// The session id from the cookie (to end it at logout).
    pub id: String,
}

impl Account {
    /// How the change log names a change made in the dashboard.
    pub fn actor(&self) -> String {
        format!("dashboard ({})", self.session.user)
    }
}

/// Where a page without a session goes.
pub struct LoginRedirect;

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to("/account/login").into_response()
    }
}

impl FromRequestParts<AppState> for Account {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(LoginRedirect.into_response());
        };
        match state.store.session(id).await {
            Ok(Some(session)) => Ok(Account {
                session,
                id: id.to_string(),
            }),
            Ok(None) => Err(LoginRedirect.into_response()),
            Err(e) => Err(super::page::internal(&e)),
        }
    }
}
