//! Form bodies, each with the session's CSRF token checked.
//!
//! SameSite=Strict cookies already keep other sites' forms from arriving
//! logged in; the token is the second lock, for browsers or proxies that
//! do not honour SameSite. A form without the right token is refused with
//! 403 before its handler runs.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::page;
use super::session::Account;
use crate::api::AppState;

/// The name of the hidden field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// A form body as `T` (`application/x-www-form-urlencoded`), parsed with
/// serde; unknown fields (the CSRF token among them) are ignored. The
/// error is the page that says what was wrong.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        Box::new(page::message(
            StatusCode::BAD_REQUEST,
            "Bad form",
            &format!("The form could not be read: {e}"),
        ))
    })
}

/// The CSRF field of a form body, if sent.
pub fn csrf_of(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v)
}

/// The answer to a form without the right CSRF token.
pub fn forbidden() -> Response {
    page::message(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form is out of date or did not come from this site. Reload the page and try again.",
    )
}

/// A form with no fields but the CSRF token (logout, deletions).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A logged-in user's form `T` whose CSRF token matched the session's.
pub struct CsrfForm<T>(pub Account, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let account = Account::from_request_parts(&mut parts, state).await?;
        // The API's middleware has read the body whole already.
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        match csrf_of(&bytes) {
            Some(sent) if account.session.csrf_matches(&sent) => {}
            _ => return Err(forbidden()),
        }
        Ok(CsrfForm(account, parse(&bytes).map_err(|e| *e)?))
    }
}
