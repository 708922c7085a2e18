//! `/account/dns/`: the user's zones with their deploy state, a zone's
//! records with forms to add, change and delete them, its zone file, and
//! the zone's deletion. Deleting a zone or a record takes two steps, a GET
//! page that says what will go and its POST form, so that no single click
//! (and no JavaScript `confirm()`) deletes anything.
//!
//! Every write is the REST API's: the same input parsing
//! ([`crate::api::input`]), the same store functions and zone rules, the
//! same error (an [`ApiError`] naming the field at fault), which the page
//! shows next to that field. A record form's TTL and priority arrive as
//! text; turning them into numbers is the only step of the form's own.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::form::{CsrfForm, NoFields};
use super::page;
use super::session::Account;
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::input::{self, RecordInput};
use crate::api::records::apex;
use crate::store::{RecordFilter, StoreError, User, ZoneInfo};

/// Record types offered in the form's list (any other can be typed in
/// through the API).
const TYPES: [&str; 12] = [
    "A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA", "PTR", "SPF", "NAPTR", "DS",
];

/// GET: the zones, and the form for a new one.
pub async fn zones(State(state): State<AppState>, account: Account) -> Response {
    zones_page(&state, &account, StatusCode::OK, "", None).await
}

/// The new-zone form.
#[derive(serde::Deserialize)]
pub struct ZoneForm {
    domain: String,
}

/// POST: a new zone, as `POST /api/v1/dns-zones/` makes it.
pub async fn create_zone(
    State(state): State<AppState>,
    CsrfForm(account, form): CsrfForm<ZoneForm>,
) -> Response {
    let owner = User {
        id: account.session.user_id,
        name: account.session.user.clone(),
        created_at: String::new(),
    };
    let created = async {
        let fields = crate::api::zones::new_zone_fields(&state, Some(form.domain.trim()))?;
        Ok::<_, ApiError>(
            state
                .store
                .create_zone(&owner, &fields, &account.actor())
                .await?,
        )
    }
    .await;
    match created {
        Ok(zone) => Redirect::to(&format!("/account/dns/{}/", zone.uuid)).into_response(),
        Err(e) if e.status.is_server_error() => page::internal(&e.detail),
        Err(e) => zones_page(&state, &account, e.status, &form.domain, Some(&e)).await,
    }
}

async fn zones_page(
    state: &AppState,
    account: &Account,
    status: StatusCode,
    domain: &str,
    error: Option<&ApiError>,
) -> Response {
    let user_id = account.session.user_id;
    let summaries = match state.store.owned_zones(user_id, &[], None, None).await {
        Ok((zones, _)) => zones,
        Err(e) => return page::internal(&e),
    };
    let mut zones = Vec::with_capacity(summaries.len());
    for summary in &summaries {
        let zone = match state.store.owned_zone(user_id, &summary.uuid).await {
            Ok(zone) => zone,
            // Deleted in between.
            Err(StoreError::UnknownZone(_)) => continue,
            Err(e) => return page::internal(&e),
        };
        let mut view = match deploy_view(state, &zone).await {
            Ok(v) => v,
            Err(e) => return page::internal(&e),
        };
        view["record_count"] = json!(summary.record_count);
        zones.push(view);
    }
    let mut ctx = page::context(Some(account));
    ctx.insert("zones", &zones);
    ctx.insert("domain", domain);
    ctx.insert("errors", &field_errors(error, &["domain"]));
    page::render(status, "dns.html", &ctx)
}

/// A zone's name, uuid and deploy state, with each secondary's.
async fn deploy_view(state: &AppState, zone: &ZoneInfo) -> Result<Value, StoreError> {
    Ok(json!({
        "uuid": zone.uuid,
        "domain": zone.fields.domain,
        "state": zone.deploy_state,
        "error": zone.deploy_error,
        "serial": zone.deployed_serial,
        "deployed_at": zone.deployed_at,
        "secondaries": state.store.zone_secondaries(zone.id).await?,
    }))
}

/// The fields of a record form, as the API names them.
const RECORD_FIELDS: [&str; 5] = ["name", "record_type", "value", "ttl", "priority"];

/// An error as the page shows it: next to its field if the form has it
/// (one of `fields`), else above the form (`_form`), so that no message
/// is lost for want of a field to stand by.
fn field_errors(error: Option<&ApiError>, fields: &[&str]) -> BTreeMap<String, String> {
    error
        .map(|e| {
            // A field of a batch is `changes[0].value`: the last part.
            let field = e.field.as_deref().and_then(|f| f.rsplit('.').next());
            let field = field.filter(|f| fields.contains(f)).unwrap_or("_form");
            (field.to_string(), e.detail.clone())
        })
        .into_iter()
        .collect()
}

/// GET: a zone's page.
pub async fn zone(
    State(state): State<AppState>,
    account: Account,
    Path(uuid): Path<String>,
) -> Response {
    zone_page(&state, &account, &uuid, StatusCode::OK, None).await
}

/// Which form of the zone page an error belongs to, with what was sent.
struct Failed<'a> {
    /// `new`, or the uuid of the record whose form it was.
    form: String,
    sent: &'a RecordForm,
    error: ApiError,
}

async fn zone_page(
    state: &AppState,
    account: &Account,
    uuid: &str,
    status: StatusCode,
    failed: Option<Failed<'_>>,
) -> Response {
    let user_id = account.session.user_id;
    let zone = match state.store.owned_zone(user_id, uuid).await {
        Ok(zone) => zone,
        Err(e) => return zone_error(&e),
    };
    let filter = RecordFilter {
        owner_id: user_id,
        zone_uuid: Some(&zone.uuid),
        ..RecordFilter::default()
    };
    let mut records = Vec::new();
    let mut stream = match state.store.record_stream(filter, None).await {
        Ok(s) => s,
        Err(e) => return page::internal(&e),
    };
    while let Some(page) = stream.next_page().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => return page::internal(&e),
        };
        let views = match page.records() {
            Ok(v) => v,
            Err(e) => return page::internal(&e),
        };
        for r in views {
            let id = r.uuid().to_string();
            let failed_here = failed.as_ref().filter(|f| f.form == id);
            let shown = |field: &str, stored: String| -> String {
                failed_here.map_or(stored, |f| f.sent.field(field).to_string())
            };
            records.push(json!({
                "uuid": id,
                "name": shown("name", r.name.to_string()),
                "record_type": shown("record_type", r.record_type.to_string()),
                "value": shown("value", r.value.to_string()),
                "ttl": shown("ttl", r.ttl.to_string()),
                "priority": shown("priority", r.priority.map(|p| p.to_string()).unwrap_or_default()),
                "errors": field_errors(failed_here.map(|f| &f.error), &RECORD_FIELDS),
            }));
        }
    }
    let new_failed = failed.as_ref().filter(|f| f.form == "new");
    let empty = RecordForm::default();
    let sent = new_failed.map_or(&empty, |f| f.sent);
    let types: Vec<_> = TYPES
        .iter()
        .map(|t| json!({"name": t, "selected": *t == sent.record_type}))
        .collect();
    let deploy = match deploy_view(state, &zone).await {
        Ok(v) => v,
        Err(e) => return page::internal(&e),
    };
    let mut ctx = page::context(Some(account));
    ctx.insert("zone", &deploy);
    ctx.insert("records", &records);
    ctx.insert("types", &types);
    ctx.insert(
        "new",
        &json!({
            "name": sent.name, "value": sent.value, "ttl": sent.ttl, "priority": sent.priority,
        }),
    );
    ctx.insert(
        "errors",
        &field_errors(new_failed.map(|f| &f.error), &RECORD_FIELDS),
    );
    page::render(status, "zone.html", &ctx)
}

fn not_found() -> Response {
    page::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such zone or record in your account.",
    )
}

/// The page for a store error about one of the account's zones: not
/// found for a zone that is not there (or not the account's), else the
/// error page.
fn zone_error(e: &StoreError) -> Response {
    match e {
        StoreError::UnknownZone(_) => not_found(),
        e => page::internal(e),
    }
}

/// A record form, as text.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    record_type: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    ttl: String,
    #[serde(default)]
    priority: String,
}

impl RecordForm {
    fn field(&self, name: &str) -> &str {
        match name {
            "name" => &self.name,
            "record_type" => &self.record_type,
            "value" => &self.value,
            "ttl" => &self.ttl,
            _ => &self.priority,
        }
    }

    /// The API's input: empty fields are absent, numbers parsed.
    fn input(&self) -> Result<RecordInput, ApiError> {
        let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let number = |field: &str, v: &str| -> Result<Option<i64>, ApiError> {
            match text(v) {
                None => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| {
                    ApiError::invalid(field, format!("{field} must be a whole number"))
                }),
            }
        };
        Ok(RecordInput {
            record_type: text(&self.record_type),
            name: text(&self.name),
            // A value keeps its spaces inside (TXT), not around it.
            value: text(&self.value),
            ttl: number("ttl", &self.ttl)?,
            priority: number("priority", &self.priority)?,
        })
    }
}

/// POST: a new record, as `POST /api/v1/dns-zones/{uuid}/records/` makes it.
pub async fn add_record(
    State(state): State<AppState>,
    Path(zone_uuid): Path<String>,
    CsrfForm(account, form): CsrfForm<RecordForm>,
) -> Response {
    let written = async {
        let body = form.input()?;
        state
            .store
            .write_record(
                account.session.user_id,
                &zone_uuid,
                None,
                &account.actor(),
                |domain| input::record(&apex(domain)?, &body, input::DEFAULT_TTL),
            )
            .await
    }
    .await;
    after_write(
        &state,
        &account,
        &zone_uuid,
        "new",
        &form,
        written.map(drop),
    )
    .await
}

/// POST: a record replaced by the form, as `PUT /api/v1/dns-records/{uuid}/`.
pub async fn edit_record(
    State(state): State<AppState>,
    Path((zone_uuid, record_uuid)): Path<(String, String)>,
    CsrfForm(account, form): CsrfForm<RecordForm>,
) -> Response {
    let user_id = account.session.user_id;
    let written = async {
        let old = record_in(&state, user_id, &zone_uuid, &record_uuid).await?;
        let body = form.input()?;
        state
            .store
            .write_record(
                user_id,
                &zone_uuid,
                Some(&old),
                &account.actor(),
                |domain| input::record(&apex(domain)?, &body, old.row.ttl),
            )
            .await
    }
    .await;
    after_write(
        &state,
        &account,
        &zone_uuid,
        &record_uuid,
        &form,
        written.map(drop),
    )
    .await
}

/// GET: asks before a record is deleted.
pub async fn confirm_record_delete(
    State(state): State<AppState>,
    account: Account,
    Path((zone_uuid, record_uuid)): Path<(String, String)>,
) -> Response {
    match record_in(&state, account.session.user_id, &zone_uuid, &record_uuid).await {
        Ok(record) => {
            let r = &record.row;
            let priority = r.priority.map(|p| format!("{p} ")).unwrap_or_default();
            let text = format!(
                "Delete the record {} {} {priority}{}? Nothing else in the zone changes.",
                r.name, r.record_type, r.value
            );
            let action = format!("/account/dns/{zone_uuid}/records/{record_uuid}/delete");
            let back = format!("/account/dns/{zone_uuid}/");
            page::confirm(&account, "Delete record", &text, &action, &back)
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => not_found(),
        Err(e) => page::internal(&e.detail),
    }
}

/// POST: deletes a record, as `DELETE /api/v1/dns-records/{uuid}/`.
pub async fn delete_record(
    State(state): State<AppState>,
    Path((zone_uuid, record_uuid)): Path<(String, String)>,
    CsrfForm(account, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let user_id = account.session.user_id;
    let deleted = async {
        let record = record_in(&state, user_id, &zone_uuid, &record_uuid).await?;
        state
            .store
            .delete_record(user_id, &record, &account.actor())
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    let form = RecordForm::default();
    after_write(&state, &account, &zone_uuid, &record_uuid, &form, deleted).await
}

/// The user's record `record_uuid` if it is in zone `zone_uuid`.
async fn record_in(
    state: &AppState,
    user_id: i64,
    zone_uuid: &str,
    record_uuid: &str,
) -> Result<crate::store::StoredRow, ApiError> {
    let record = state.store.record(user_id, &[], record_uuid).await?;
    let same_zone = uuid::Uuid::try_parse(zone_uuid).is_ok_and(|z| z == record.zone_uuid);
    match same_zone {
        true => Ok(record),
        false => Err(StoreError::UnknownRecord(record_uuid.to_string()).into()),
    }
}

/// Back to the zone's page after a write (303), or the page again with
/// the error next to the field of the form that failed.
async fn after_write(
    state: &AppState,
    account: &Account,
    zone_uuid: &str,
    form_id: &str,
    sent: &RecordForm,
    result: Result<(), ApiError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/account/dns/{zone_uuid}/")).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => not_found(),
        Err(e) if e.status.is_server_error() => page::internal(&e.detail),
        Err(error) => {
            let status = error.status;
            let failed = Failed {
                form: form_id.to_string(),
                sent,
                error,
            };
            zone_page(state, account, zone_uuid, status, Some(failed)).await
        }
    }
}

/// GET: asks before a zone is deleted.
pub async fn confirm_zone_delete(
    State(state): State<AppState>,
    account: Account,
    Path(uuid): Path<String>,
) -> Response {
    match state.store.owned_zone(account.session.user_id, &uuid).await {
        Ok(zone) => {
            let domain = &zone.fields.domain;
            let text = format!(
                "Delete the zone {domain} and all its records? The name servers stop \
                 answering for {domain}. This cannot be undone; download the zone file \
                 first to keep a copy."
            );
            let action = format!("/account/dns/{}/delete", zone.uuid);
            let back = format!("/account/dns/{}/", zone.uuid);
            page::confirm(&account, "Delete zone", &text, &action, &back)
        }
        Err(e) => zone_error(&e),
    }
}

/// POST: deletes a zone, as `DELETE /api/v1/dns-zones/{uuid}/` does
/// (the same lookup by owner and the same store function).
pub async fn delete_zone(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    CsrfForm(account, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let deleted = async {
        let zone = state
            .store
            .owned_zone(account.session.user_id, &uuid)
            .await?;
        state.store.delete_zone(&zone, &account.actor()).await
    }
    .await;
    match deleted {
        Ok(()) => Redirect::to("/account/dns/").into_response(),
        Err(e) => zone_error(&e),
    }
}

/// GET: the zone file, as `GET /api/v1/dns-zones/{uuid}/export` gives it.
pub async fn zone_file(
    State(state): State<AppState>,
    account: Account,
    Path(uuid): Path<String>,
) -> Response {
    match state.store.owned_zone(account.session.user_id, &uuid).await {
        Ok(zone) => match crate::api::transfer::zone_file(&state, &zone.uuid).await {
            Ok(response) => response,
            Err(e) => page::internal(&e.detail),
        },
        Err(e) => zone_error(&e),
    }
}
