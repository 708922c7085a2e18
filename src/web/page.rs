//! Rendering the dashboard's pages: the embedded templates, and the
//! headers every page gets.
//!
//! Template names end in `.html`, so tera escapes every value. Pages are
//! never cached (`no-store`: a new token's page must not come back from
//! a cache), may not be framed, and may load only their own script and
//! style sheet (Content-Security-Policy).

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::Account;

/// Every template, by name.
const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("../../templates/web/base.html")),
    ("login.html", include_str!("../../templates/web/login.html")),
    (
        "message.html",
        include_str!("../../templates/web/message.html"),
    ),
    (
        "developers.html",
        include_str!("../../templates/web/developers.html"),
    ),
    ("dns.html", include_str!("../../templates/web/dns.html")),
    ("zone.html", include_str!("../../templates/web/zone.html")),
    (
        "confirm.html",
        include_str!("../../templates/web/confirm.html"),
    ),
];

/// The templates, compiled once.
fn tera() -> &'static Result<tera::Tera, String> {
    static TERA: OnceLock<Result<tera::Tera, String>> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = tera::Tera::new();
        tera.add_raw_templates(TEMPLATES)
            .map_err(|e| e.to_string())?;
        Ok(tera)
    })
}

/// The context every page starts from: the user and the session's CSRF
/// token for its forms (none on the login page).
pub fn context(account: Option<&Account>) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("user", &account.map(|a| a.session.user.clone()));
    ctx.insert("csrf", &account.map(|a| a.session.csrf.clone()));
    ctx
}

/// Page `name` rendered with `ctx`, answered with `status`.
pub fn render(status: StatusCode, name: &str, ctx: &tera::Context) -> Response {
    let html = match tera() {
        Ok(tera) => tera
            .render(name, ctx)
            .map_err(|e| crate::render::error_chain(&e)),
        Err(e) => Err(e.clone()),
    };
    match html {
        Ok(html) => with_headers(status, html),
        Err(e) => internal(&e),
    }
}

/// A page that only says something: a title and a sentence.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let mut ctx = context(None);
    ctx.insert("title", title);
    ctx.insert("text", text);
    render(status, "message.html", &ctx)
}

/// The step before a deletion: what will go, and a button that POSTs
/// to `action` (with the session's CSRF token), or back to `back`.
/// Plain HTML, so deleting needs no JavaScript.
pub fn confirm(account: &Account, title: &str, text: &str, action: &str, back: &str) -> Response {
    let mut ctx = context(Some(account));
    ctx.insert("title", title);
    ctx.insert("text", text);
    ctx.insert("action", action);
    ctx.insert("button", title);
    ctx.insert("back", back);
    render(StatusCode::OK, "confirm.html", &ctx)
}

/// 500: the error is logged, the page says only that something failed.
pub fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard page failed");
    let html = "<!doctype html><html lang=\"en\"><title>Error</title><h1>Internal error</h1>\
                <p>Nothing was changed. Try again later.</p></html>";
    with_headers(StatusCode::INTERNAL_SERVER_ERROR, html.to_string())
}

fn with_headers(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
