//! Records: `/api/v1/dns-zones/{uuid}/records/` (the nested routes) and
//! `/api/v1/dns-records/` (direct access by record uuid).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::batch::{self, DryRun};
use super::error::ApiError;
use super::input::{self, RecordInput};
use super::scope;
use super::zones::query;
use super::{AppState, Auth, JsonBody, PageQuery, json_body_response, list_headers};
use std::borrow::Cow;

use uuid::Uuid;

use axum::body::{Body, Bytes};

use crate::store::{
    BatchChange, Caller, Iso8601, RecordFilter, RecordPage, RecordStream, RecordView, StoreError,
    StoredRow, Written,
};
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

/// A JSON body made of `head`, the records of `stream` as the elements of
/// an array, and `tail`; each page goes out as soon as it is read and
/// written, while the store reads the next. A failure halfway (the status
/// is sent already) is logged and cuts the connection, so that the client
/// sees an error rather than a short list.
pub fn records_body(head: Vec<u8>, stream: RecordStream, tail: &'static [u8]) -> Body {
    enum Part {
        Head(Vec<u8>, RecordStream),
        Records(RecordStream, bool),
        Done,
    }
    let parts = futures_util::stream::unfold(Part::Head(head, stream), move |part| async move {
        match part {
            Part::Head(head, stream) => Some((Ok(Bytes::from(head)), Part::Records(stream, true))),
            Part::Records(mut stream, first) => match stream.next_page().await {
                None => Some((Ok(Bytes::from_static(tail)), Part::Done)),
                Some(page) => match page.and_then(|page| page_json(&page, first)) {
                    Ok(json) => Some((Ok(Bytes::from(json)), Part::Records(stream, false))),
                    Err(e) => {
                        tracing::error!("listing records failed halfway: {e}");
                        Some((Err(e), Part::Done))
                    }
                },
            },
            Part::Done => None,
        }
    });
    Body::from_stream(parts)
}

/// A page of records as array elements, after a comma unless `first`.
fn page_json(page: &RecordPage, first: bool) -> Result<Vec<u8>, StoreError> {
    let records = page.records()?;
    let mut out = Vec::with_capacity(records.len() * 256);
    for (i, record) in records.iter().enumerate() {
        if !(first && i == 0) {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &view_json(record))
            .map_err(|e| StoreError::Db(sqlx::Error::Decode(e.to_string().into())))?;
    }
    Ok(out)
}

/// `?zone=`, `?record_type=` and pagination.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RecordQuery {
    zone: Option<String>,
    record_type: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// The zone's apex name, from its stored domain.
pub(crate) fn apex(domain: &str) -> Result<Name, ApiError> {
    Name::from_ascii(&crate::store::shape::absolute_domain(domain)).map_err(|e| {
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
    let zone = scope::zone(&state, caller, &uuid).await?;
    list_records(&state, caller, &uri, &q, Some(&zone.uuid)).await
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
    list_records(&state, caller, &uri, &q, q.zone.as_deref()).await
}

async fn list_records(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    q: &RecordQuery,
    zone_uuid: Option<&str>,
) -> Result<Response, ApiError> {
    let filter = RecordFilter {
        owner_id: caller.user_id,
        zone_uuid,
        record_type: q.record_type.as_deref(),
        record_uuid: None,
        zones: &caller.zones,
    };
    let stream = state
        .store
        .record_stream(filter, q.page.store_page()?)
        .await?;
    let headers = list_headers(uri, &q.page, stream.total)?;
    Ok(json_body_response(
        StatusCode::OK,
        headers,
        records_body(b"[".to_vec(), stream, b"]"),
    ))
}

/// POST a record into a zone (with `?dry_run=true`, what it would do).
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:create")?;
    scope::check_zone(&state, caller, &uuid).await?;
    if batch::dry_run(q)? {
        return batch::preview_one(&state, caller, &uuid, "create", |domain| {
            let write = input::record(&apex(domain)?, &body, input::DEFAULT_TTL)?;
            Ok(BatchChange::Create(write))
        })
        .await;
    }
    let written = state
        .store
        .write_record(caller.user_id, &uuid, None, &caller.actor(), |domain| {
            input::record(&apex(domain)?, &body, input::DEFAULT_TTL)
        })
        .await?;
    let response = (
        StatusCode::CREATED,
        axum::Json(record_json(&written.record)),
    );
    Ok(with_warnings(response.into_response(), &written))
}

/// A write's answer with `Warning` headers (RFC 9111 §5.5 code 299) for
/// what the client should know besides the record: other records of the
/// RRset whose TTL changed with it, and a zone whose last deploy failed
/// (named still serves the version before it).
fn with_warnings(mut response: Response, written: &Written) -> Response {
    let mut warnings = Vec::new();
    if !written.retimed.is_empty() {
        warnings.push(format!(
            "{} other record(s) of this RRset now have TTL {} too: an RRset has one TTL",
            written.retimed.len(),
            written.record.row.ttl
        ));
    }
    if let Some(error) = &written.deploy_error {
        warnings.push(deploy_warning(error));
    }
    add_warnings(&mut response, warnings);
    response
}

/// The warning for a zone whose last deploy failed.
pub fn deploy_warning(error: &str) -> String {
    format!("the zone's last deploy failed, named serves an older version: {error}")
}

/// Adds each text as a `Warning: 299 - "..."` header, made printable.
pub fn add_warnings(response: &mut Response, warnings: Vec<String>) {
    for text in warnings {
        let text: String = text
            .chars()
            .take(500)
            .map(|c| match c {
                '"' | '\\' => '\'',
                c if c.is_ascii_graphic() || c == ' ' => c,
                _ => ' ',
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

/// GET one record.
pub async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:read")?;
    let record = state
        .store
        .record(caller.user_id, &caller.zones, &uuid)
        .await?;
    Ok(axum::Json(record_json(&record)).into_response())
}

/// PUT: the record replaced by the body.
pub async fn replace(
    state: State<AppState>,
    auth: Auth,
    path: Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    write(state, auth, path, body, false, batch::dry_run(q)?).await
}

/// PATCH: the body's fields merged onto the record.
pub async fn update(
    state: State<AppState>,
    auth: Auth,
    path: Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<Response, ApiError> {
    write(state, auth, path, body, true, batch::dry_run(q)?).await
}

async fn write(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    body: RecordInput,
    merge: bool,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:update")?;
    let old = state
        .store
        .record(caller.user_id, &caller.zones, &uuid)
        .await?;
    // A PATCH changes only what it sends: the stored value goes back as
    // it is (presentation form, which the API reads as such), so that a
    // TTL-only change never rewrites a value (multi-string TXT included).
    let (body, default_ttl) = match merge {
        true => (
            RecordInput {
                record_type: body.record_type.or(Some(old.row.record_type.clone())),
                name: body.name.or(Some(old.row.name.clone())),
                value: body.value.or(Some(old.row.value.clone())),
                ttl: body.ttl,
                priority: body.priority.or(old.row.priority.map(i64::from)),
            },
            old.row.ttl,
        ),
        false => (body, input::DEFAULT_TTL),
    };
    let zone_uuid = old.zone_uuid.to_string();
    if dry_run {
        let op = if merge { "update" } else { "replace" };
        return batch::preview_one(&state, caller, &zone_uuid, op, |domain| {
            let write = input::record(&apex(domain)?, &body, default_ttl)?;
            Ok(BatchChange::Replace { old, write })
        })
        .await;
    }
    let written = state
        .store
        .write_record(
            caller.user_id,
            &zone_uuid,
            Some(&old),
            &caller.actor(),
            |domain| input::record(&apex(domain)?, &body, default_ttl),
        )
        .await?;
    let response = axum::Json(record_json(&written.record)).into_response();
    Ok(with_warnings(response, &written))
}

/// DELETE one record.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:delete")?;
    let record = state
        .store
        .record(caller.user_id, &caller.zones, &uuid)
        .await?;
    if batch::dry_run(q)? {
        let zone_uuid = record.zone_uuid.to_string();
        return batch::preview_one(&state, caller, &zone_uuid, "delete", |_| {
            Ok(BatchChange::Delete(record))
        })
        .await;
    }
    let deploy_error = state
        .store
        .delete_record(caller.user_id, &record, &caller.actor())
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    add_warnings(
        &mut response,
        deploy_error.iter().map(|e| deploy_warning(e)).collect(),
    );
    Ok(response)
}
