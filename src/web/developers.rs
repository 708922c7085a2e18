//! `/account/developers/`: the user's API tokens; make one (shown once),
//! revoke one.
//!
//! A new token is shown once, by POST-redirect-GET: the POST holds it in
//! the session row (sealed, [`crate::store::Store::hold_new_token`]) and
//! answers 303; the GET that follows takes it from there and shows it. A
//! reload neither sends the form again nor finds the token: the store
//! keeps only its hash, the page is `no-store`, and the list shows its
//! prefix only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::BTreeMap;

use super::form::CsrfForm;
use super::page;
use super::session::Account;
use crate::api::AppState;
use crate::store::{PERMISSIONS, StoreError, now_unix};

/// What each permission lets a token do, as the form explains it.
const PERMISSION_HELP: [(&str, &str); 6] = [
    ("dns:list", "list zones and records"),
    ("dns:read", "read a zone, a record, the zone file"),
    ("dns:create", "create zones and records"),
    ("dns:update", "change records, import zone files"),
    ("dns:delete", "delete zones and records"),
    ("dns:*", "all of the above"),
];

/// Lifetimes offered, in days (0: never expires).
const LIFETIMES: [(u32, &str); 5] = [
    (0, "Never"),
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
];

/// What the create form sent (or nothing yet), and what was wrong with it.
#[derive(Default)]
struct Draft {
    name: String,
    permissions: Vec<String>,
    zones: Vec<String>,
    days: u32,
    errors: BTreeMap<&'static str, String>,
}

/// GET: the tokens and the form, and a token made just before, once.
pub async fn list(State(state): State<AppState>, account: Account) -> Response {
    let new_token = match state.store.take_new_token(&account.id).await {
        Ok(token) => token,
        Err(e) => return page::internal(&e),
    };
    let draft = Draft::default();
    developers_page(
        &state,
        &account,
        StatusCode::OK,
        &draft,
        new_token.as_deref(),
    )
    .await
}

/// POST: a new token, held for the page this redirects to.
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(account, fields): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let mut draft = Draft::default();
    for (key, value) in fields {
        match key.as_str() {
            "name" => draft.name = value.trim().to_string(),
            "permissions" => draft.permissions.push(value),
            "zones" => draft.zones.push(value),
            "expires" => match value.parse() {
                Ok(days) if LIFETIMES.iter().any(|(d, _)| *d == days) => draft.days = days,
                _ => {
                    draft
                        .errors
                        .insert("expires", "Choose one of the lifetimes offered.".into());
                }
            },
            _ => {}
        }
    }
    if draft.name.chars().count() > 100 {
        draft
            .errors
            .insert("name", "A name has at most 100 characters.".into());
    }
    if draft.permissions.is_empty() {
        draft
            .errors
            .insert("permissions", "Choose at least one permission.".into());
    }
    if !draft.errors.is_empty() {
        return developers_page(&state, &account, StatusCode::BAD_REQUEST, &draft, None).await;
    }
    let expires_at = (draft.days > 0).then(|| now_unix() + i64::from(draft.days) * 86_400);
    let created = state
        .store
        .create_token(
            &account.session.user,
            &draft.name,
            &draft.permissions,
            &draft.zones,
            expires_at,
        )
        .await;
    match created {
        Ok((token, _)) => match state.store.hold_new_token(&account.id, &token).await {
            Ok(()) => Redirect::to("/account/developers/").into_response(),
            Err(e) => page::internal(&e),
        },
        Err(StoreError::BadPermission(p)) => {
            draft
                .errors
                .insert("permissions", format!("Unknown permission {p}."));
            developers_page(&state, &account, StatusCode::BAD_REQUEST, &draft, None).await
        }
        Err(e) => page::internal(&e),
    }
}

/// The revoke button's form.
#[derive(serde::Deserialize)]
pub struct Revoke {
    prefix: String,
}

/// POST: revokes one of the user's tokens, then back to the list.
pub async fn revoke(
    State(state): State<AppState>,
    CsrfForm(account, form): CsrfForm<Revoke>,
) -> Response {
    match state
        .store
        .revoke_token_of(Some(account.session.user_id), &form.prefix)
        .await
    {
        Ok(_) => Redirect::to("/account/developers/").into_response(),
        Err(e) => page::internal(&e),
    }
}

async fn developers_page(
    state: &AppState,
    account: &Account,
    status: StatusCode,
    draft: &Draft,
    new_token: Option<&str>,
) -> Response {
    let tokens = match state.store.tokens(Some(&account.session.user)).await {
        Ok(t) => t,
        Err(e) => return page::internal(&e),
    };
    let zones = match state
        .store
        .owned_zones(account.session.user_id, &[], None, None)
        .await
    {
        Ok((zones, _)) => zones,
        Err(e) => return page::internal(&e),
    };
    let now = crate::store::iso8601(now_unix());
    let tokens: Vec<_> = tokens
        .iter()
        .rev()
        .map(|t| {
            let state = match (&t.revoked_at, &t.expires_at) {
                (Some(at), _) => format!("revoked {at}"),
                // ISO 8601 in UTC sorts as time does.
                (None, Some(at)) if *at <= now => format!("expired {at}"),
                (None, Some(at)) => format!("expires {at}"),
                (None, None) => "never expires".into(),
            };
            serde_json::json!({
                "prefix": t.prefix,
                "name": t.name,
                "permissions": t.permissions.join(", "),
                "zones": if t.zones.is_empty() { "all".to_string() } else { t.zones.join(", ") },
                "created_at": t.created_at,
                "last_used_at": t.last_used_at.as_deref().unwrap_or("never"),
                "state": state,
                "active": t.revoked_at.is_none(),
            })
        })
        .collect();
    let permissions: Vec<_> = PERMISSIONS
        .iter()
        .map(|p| {
            let help = PERMISSION_HELP
                .iter()
                .find(|(name, _)| name == p)
                .map_or("", |(_, h)| h);
            serde_json::json!({
                "value": p,
                "id": format!("perm-{}", p.replace(':', "-").replace('*', "all")),
                "help": help,
                "checked": draft.permissions.iter().any(|c| c == p),
            })
        })
        .collect();
    let zone_choices: Vec<_> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            serde_json::json!({
                "domain": z.domain,
                "id": format!("zone-{i}"),
                "checked": draft.zones.iter().any(|c| c.eq_ignore_ascii_case(&z.domain)),
            })
        })
        .collect();
    let lifetimes: Vec<_> = LIFETIMES
        .iter()
        .map(|(days, label)| {
            serde_json::json!({"days": days, "label": label, "selected": *days == draft.days})
        })
        .collect();
    let mut ctx = page::context(Some(account));
    ctx.insert("tokens", &tokens);
    ctx.insert("permissions", &permissions);
    ctx.insert("zones", &zone_choices);
    ctx.insert("lifetimes", &lifetimes);
    ctx.insert("name", &draft.name);
    ctx.insert("errors", &draft.errors);
    ctx.insert("new_token", &new_token);
    page::render(status, "developers.html", &ctx)
}
