//! The account dashboard under `/account/`: login, API tokens
//! (`/account/developers/`) and zones (`/account/dns/`), for the customers
//! of a hosting provider.
//!
//! Pages are rendered on the server from the tera templates in
//! `templates/web/` and work without JavaScript; the one script (the copy
//! button) and the style sheet are embedded in the binary, so there is no
//! build step and nothing is fetched from elsewhere. Every change goes
//! through the same store functions and input validation as the REST API:
//! a page is one more client of them, not a second path.
//!
//! A page's user is a logged-in [`session::Account`]; every POST form
//! carries the session's CSRF token ([`form::CsrfForm`]).

mod assets;
mod developers;
mod dns;
mod form;
mod login;
mod page;
mod session;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::api::AppState;

/// The dashboard's routes, merged into the API's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(|| async { Redirect::to("/account/dns/") }))
        .route("/account/", get(|| async { Redirect::to("/account/dns/") }))
        .route("/account/login", get(login::form).post(login::submit))
        .route("/account/logout", post(login::logout))
        .route(
            "/account/developers/",
            get(developers::list).post(developers::create),
        )
        .route("/account/developers/revoke", post(developers::revoke))
        .route("/account/dns/", get(dns::zones).post(dns::create_zone))
        .route("/account/dns/{zone}/", get(dns::zone))
        .route(
            "/account/dns/{zone}/delete",
            get(dns::confirm_zone_delete).post(dns::delete_zone),
        )
        .route("/account/dns/{zone}/zone-file", get(dns::zone_file))
        .route("/account/dns/{zone}/records", post(dns::add_record))
        .route(
            "/account/dns/{zone}/records/{record}",
            post(dns::edit_record),
        )
        .route(
            "/account/dns/{zone}/records/{record}/delete",
            get(dns::confirm_record_delete).post(dns::delete_record),
        )
        .route("/account/assets/{file}", get(assets::serve))
}

/// A password for a generated account (the dev mode's demo user): 96
/// random bits as 24 hex digits, easy to type from the terminal.
pub fn new_password() -> Result<String, getrandom::Error> {
    random_hex::<12>()
}

/// `N` random bytes from the OS in hex.
fn random_hex<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
