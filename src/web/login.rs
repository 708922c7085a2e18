//! `/account/login` and `/account/logout`.
//!
//! The login form has no session yet, so its CSRF token is a random value
//! in a cookie of its own that the form sends back (double submit); a
//! page of another site can neither read that cookie nor, SameSite=Strict,
//! make the browser send it. A login always starts a new session id and
//! ends the one the browser came with (no session fixation).
//!
//! Failed logins are limited per account and per client address: after
//! [`LOGIN_FAILURES_ALLOWED`] in [`LOGIN_WINDOW`] seconds, the next
//! attempt gets 429 with `Retry-After`, before the password is checked.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{self, CsrfForm, NoFields};
use super::page;
use super::session::{self, SESSION_COOKIE};
use crate::api::AppState;
use crate::api::server::Connection;
use crate::store::{LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW, constant_time_eq};

/// The cookie holding the login form's CSRF token.
const LOGIN_COOKIE: &str = "bindbridge_login";

/// The fields of the login form.
#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// GET: the form (or the dashboard, when logged in already).
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session::cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.store.session(id).await
    {
        return Redirect::to("/account/dns/").into_response();
    }
    login_page(StatusCode::OK, &headers, "", None)
}

/// The login page with a fresh form token in its cookie; `error` above
/// the form.
fn login_page(
    status: StatusCode,
    headers: &HeaderMap,
    username: &str,
    error: Option<&str>,
) -> Response {
    let token = match random_token() {
        Ok(t) => t,
        Err(e) => return page::internal(&e),
    };
    let mut ctx = page::context(None);
    ctx.insert("csrf", &token);
    ctx.insert("username", username);
    ctx.insert("error", &error);
    let mut response = page::render(status, "login.html", &ctx);
    let cookie = session::set_cookie(
        LOGIN_COOKIE,
        &token,
        "/account/login",
        3600,
        session::over_tls(headers),
    );
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// 128 random bits in hex.
fn random_token() -> Result<String, getrandom::Error> {
    super::random_hex::<16>()
}

/// POST: checks the form token, the rate limit, then the password.
pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 16).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let sent = form::csrf_of(&bytes).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
        return form::forbidden();
    }
    let credentials: Credentials = match form::parse(&bytes) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let address = parts
        .extensions
        .get::<Connection>()
        .and_then(Connection::peer)
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let keys = vec![
        format!("user:{}", credentials.username),
        format!("addr:{address}"),
    ];
    match state.store.login_blocked(&keys).await {
        Ok(Some(wait)) => {
            let text = format!(
                "Too many failed logins ({LOGIN_FAILURES_ALLOWED} in {LOGIN_WINDOW} seconds). \
                 Try again in {wait} seconds."
            );
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &headers,
                &credentials.username,
                Some(&text),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return response;
        }
        Ok(None) => {}
        Err(e) => return page::internal(&e),
    }
    let user = match state
        .store
        .check_password(&credentials.username, &credentials.password)
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => {
            if let Err(e) = state.store.login_failed(&keys).await {
                return page::internal(&e);
            }
            tracing::info!(user = credentials.username, %address, "dashboard login failed");
            return login_page(
                StatusCode::UNAUTHORIZED,
                &headers,
                &credentials.username,
                Some("Wrong user name or password."),
            );
        }
        Err(e) => return page::internal(&e),
    };
    // A new id, whatever the browser sent: an id planted before the
    // login never becomes a logged-in session.
    if let Some(old) = session::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.store.end_session(old).await
    {
        return page::internal(&e);
    }
    let (id, _) = match state.store.create_session(user.id).await {
        Ok(created) => created,
        Err(e) => return page::internal(&e),
    };
    tracing::info!(user = user.name, "dashboard login");
    let tls = session::over_tls(&headers);
    let mut response = Redirect::to("/account/dns/").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        session::set_cookie(
            SESSION_COOKIE,
            &id,
            "/account/",
            crate::store::SESSION_LIFETIME,
            tls,
        ),
    );
    cookies.append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, "", "/account/login", 0, tls),
    );
    response
}

/// POST: ends the session and forgets the cookie.
pub async fn logout(
    headers: HeaderMap,
    State(state): State<AppState>,
    CsrfForm(account, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    if let Err(e) = state.store.end_session(&account.id).await {
        return page::internal(&e);
    }
    let mut response = Redirect::to("/account/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            SESSION_COOKIE,
            "",
            "/account/",
            0,
            session::over_tls(&headers),
        ),
    );
    response
}
