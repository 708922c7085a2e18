//! Records: `/api/v1/dns-zones/{uuid}/records/` (the nested routes) and
//! `/api/v1/dns-records/` (direct access by record uuid).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::input::{self, RecordInput};
use super::zones::query;
use super::{AppState, Auth, JsonBody, PageQuery, list_response};
use std::borrow::Cow;

use uuid::Uuid;

use crate::store::{Iso8601, RecordFilter, RecordPages, RecordView, StoredRow, ZoneInfo};
use crate::zone::Name;

/// A record as the API shows it: serialised straight from the row (a
/// zone of 100,000 records makes no intermediate JSON values).
#[derive(serde::Serialize)]
pub struct RecordJson<'a> {
    uuid: Uuid,
    zone: Uuid,
    record_type: &'a str,
    name: &'a str,
    value: Cow<'a, str>,
    ttl: u32,
    priority: Option<u16>,
    created_at: Iso8601,
}

/// The API's view of a stored record.
pub fn record_json(r: &StoredRow) -> RecordJson<'_> {
    RecordJson {
        uuid: r.uuid,
        zone: r.zone_uuid,
        record_type: &r.row.record_type,
        name: &r.row.name,
        value: input::shown_value(&r.row.record_type, &r.row.value),
        ttl: r.row.ttl,
        priority: r.row.priority,
        created_at: Iso8601(r.created_at),
    }
}

/// The API's view of a listed record.
fn view_json<'a>(r: &'a RecordView<'a>) -> RecordJson<'a> {
    RecordJson {
        uuid: r.uuid(),
        zone: r.zone_uuid(),
        record_type: &r.record_type,
        name: &r.name,
        value: input::shown_value(&r.record_type, &r.value),
        ttl: r.ttl,
        priority: r.priority,
        created_at: Iso8601(r.created_at),
    }
}

/// Listed records as a JSON array, written page by page as SQLite read
/// them.
pub struct RecordsJson<'a>(pub &'a RecordPages);

impl serde::Serialize for RecordsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.0.count))?;
        for page in self.0.pages() {
            for record in &page.map_err(S::Error::custom)? {
                seq.serialize_element(&view_json(record))?;
            }
        }
        seq.end()
    }
}

/// `?zone=`, `?record_type=` and pagination.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RecordQuery {
    zone: Option<String>,
    record_type: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

fn apex(zone: &ZoneInfo) -> Result<Name, ApiError> {
    let text = match zone.fields.domain.as_str() {
        "." => ".".to_string(),
        d => format!("{d}."),
    };
    Name::from_ascii(&text).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("stored zone name does not parse: {e}"),
        )
    })
}

/// GET the records of one zone.
pub async fn list_in_zone(
    State(state): State<AppState>,
    auth: Auth,
    uri: Uri,
    Path(uuid): Path<String>,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:list")?;
    let q = query(q)?;
    // Another user's zone is not found, rather than an empty list.
    let zone = state.store.owned_zone(caller.user_id, &uuid).await?;
    list_records(&state, caller.user_id, &uri, &q, Some(&zone.uuid)).await
}

/// GET the caller's records across zones.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    uri: Uri,
    q: Result<Query<RecordQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:list")?;
    let q = query(q)?;
    list_records(&state, caller.user_id, &uri, &q, q.zone.as_deref()).await
}

async fn list_records(
    state: &AppState,
    owner_id: i64,
    uri: &Uri,
    q: &RecordQuery,
    zone_uuid: Option<&str>,
) -> Result<Response, ApiError> {
    let filter = RecordFilter {
        owner_id,
        zone_uuid,
        record_type: q.record_type.as_deref(),
        record_uuid: None,
    };
    let pages = state
        .store
        .record_pages(filter, q.page.store_page()?)
        .await?;
    list_response(
        uri,
        &q.page,
        pages.total,
        pages.text_len(),
        RecordsJson(&pages),
    )
}

/// POST a record into a zone.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:create")?;
    let zone = state.store.owned_zone(caller.user_id, &uuid).await?;
    let row = input::record(&apex(&zone)?, &body)?;
    let stored = state
        .store
        .write_record(zone.id, &row, None, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(record_json(&stored))).into_response())
}

/// GET one record.
pub async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:read")?;
    let record = state.store.record(caller.user_id, &uuid).await?;
    Ok(axum::Json(record_json(&record)).into_response())
}

/// PUT: the record replaced by the body.
pub async fn replace(
    state: State<AppState>,
    auth: Auth,
    path: Path<String>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    write(state, auth, path, body, false).await
}

/// PATCH: the body's fields merged onto the record.
pub async fn update(
    state: State<AppState>,
    auth: Auth,
    path: Path<String>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    write(state, auth, path, body, true).await
}

async fn write(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    body: RecordInput,
    merge: bool,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:update")?;
    let old = state.store.record(caller.user_id, &uuid).await?;
    let zone = state
        .store
        .owned_zone(caller.user_id, &old.zone_uuid.to_string())
        .await?;
    let body = match merge {
        true => RecordInput {
            record_type: body.record_type.or(Some(old.row.record_type.clone())),
            name: body.name.or(Some(old.row.name.clone())),
            value: body
                .value
                .or_else(|| Some(input::shown_value(&old.row.record_type, &old.row.value).into())),
            ttl: body.ttl.or(Some(i64::from(old.row.ttl))),
            priority: body.priority.or(old.row.priority.map(i64::from)),
        },
        false => body,
    };
    let row = input::record(&apex(&zone)?, &body)?;
    let stored = state
        .store
        .write_record(zone.id, &row, Some(&old), &caller.actor())
        .await?;
    Ok(axum::Json(record_json(&stored)).into_response())
}

/// DELETE one record.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:delete")?;
    let record = state.store.record(caller.user_id, &uuid).await?;
    let zone = state
        .store
        .owned_zone(caller.user_id, &record.zone_uuid.to_string())
        .await?;
    state
        .store
        .delete_record(zone.id, &record, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
