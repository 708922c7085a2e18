//! `/api/v1/dns-zones/`: list, create, show and delete zones.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::batch::{self, DryRun};
use super::error::ApiError;
use super::input::{self, ZoneInput};
use super::records::records_body;
use super::scope;
use super::{AppState, Auth, JsonBody, PageQuery, json_body_response, list_response};
use crate::store::{Preview, RecordFilter, User, ZoneInfo, now_unix};
use crate::zone::Zone;
use crate::zone::serial::{Policy, next_serial};

/// `?domain=` and pagination.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ZoneQuery {
    domain: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// A query string that does not parse is the client's error.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "validation_error", e.body_text()))
}

/// GET: the caller's zones.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    uri: Uri,
    q: Result<Query<ZoneQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:list")?;
    let q = query(q)?;
    let (zones, total) = state
        .store
        .owned_zones(
            caller.user_id,
            &caller.zones,
            q.domain.as_deref(),
            q.page.store_page()?,
        )
        .await?;
    // A summary is about 130 bytes of JSON.
    list_response(&uri, &q.page, total, zones.len() * 130, &zones)
}

/// The zone detail: the summary, SOA, nameservers, deploy state and, last,
/// its records, which go out page by page as they are read (a zone of
/// 100,000 records makes no intermediate JSON values).
async fn detail_response(
    state: &AppState,
    owner_id: i64,
    zone: &ZoneInfo,
    status: StatusCode,
) -> Result<Response, ApiError> {
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        uuid: &'a str,
        domain: &'a str,
        created_at: &'a str,
        record_count: usize,
        soa: Value,
        nameservers: &'a [String],
        /// The TTL of the apex NS set, which NS records written at `@`
        /// share (one TTL per RRset).
        nameservers_ttl: u32,
        deploy: Value,
    }
    let filter = RecordFilter {
        owner_id,
        zone_uuid: Some(&zone.uuid),
        ..RecordFilter::default()
    };
    let records = state.store.record_stream(filter, None).await?;
    let f = &zone.fields;
    let detail = Detail {
        uuid: &zone.uuid,
        domain: &f.domain,
        created_at: &zone.created_at,
        record_count: records.count,
        soa: super::views::SoaView::from(&f.soa).json(),
        nameservers: &f.nameservers,
        nameservers_ttl: f.ns_ttl,
        deploy: json!({
            "state": zone.deploy_state,
            "serial": zone.deployed_serial,
            "deployed_at": zone.deployed_at,
            "error": zone.deploy_error,
            "secondaries": state.store.zone_secondaries(zone.id).await?,
        }),
    };
    // The object without its final brace, then `"records":[...]}`.
    let mut head = serde_json::to_vec(&detail).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("the answer could not be written: {e}"),
        )
    })?;
    head.pop();
    head.extend_from_slice(b",\"records\":[");
    let body = records_body(head, records, b"]}");
    Ok(json_body_response(status, HeaderMap::new(), body))
}

/// POST: a new zone with the configured SOA and nameservers.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    q: Result<Query<DryRun>, QueryRejection>,
    JsonBody(body): JsonBody<ZoneInput>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:create")?;
    let fields = new_zone_fields(&state, body.domain.as_deref())?;
    scope::check_new_zone(caller, &fields.domain)?;
    let owner = User {
        id: caller.user_id,
        name: caller.user.clone(),
        created_at: String::new(),
    };
    if batch::dry_run(q)? {
        let (zone, preview) = state
            .store
            .preview_create_zone(&owner, &fields, &caller.actor())
            .await?;
        let change = json!({"op": "zone.create", "domain": zone.fields.domain,
            "records": [], "deleted": []});
        return batch::preview_answer(json!({ "changes": [change] }), preview).await;
    }
    let zone = state
        .store
        .create_zone(&owner, &fields, &caller.actor())
        .await?;
    detail_response(&state, caller.user_id, &zone, StatusCode::CREATED).await
}

/// The fields of a new zone named `domain` (as a client wrote it): the
/// domain validated and canonical, SOA and NS from the defaults. The API
/// and the dashboard both make zones from this.
pub(crate) fn new_zone_fields(
    state: &AppState,
    domain: Option<&str>,
) -> Result<crate::store::ZoneFields, ApiError> {
    let domain = input::new_domain(
        domain.ok_or_else(|| ApiError::invalid("domain", "domain is required"))?,
        &state.zone_defaults.reserved(state.catalog_zone.as_deref()),
    )?;
    let serial = next_serial(Policy::Date, 0, &[], now_unix())
        .map_err(|e| ApiError::invalid("domain", format!("no serial for a new zone: {e}")))?;
    Ok(state.zone_defaults.fields(&domain, serial))
}

/// GET one zone, with its records.
pub async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:read")?;
    let zone = scope::zone(&state, caller, &uuid).await?;
    detail_response(&state, caller.user_id, &zone, StatusCode::OK).await
}

/// DELETE a zone and its records.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:delete")?;
    let zone = scope::zone(&state, caller, &uuid).await?;
    if batch::dry_run(q)? {
        let (zone, before) = state.store.served_zone(&zone.uuid).await?;
        let after = Zone::new(before.origin.clone(), before.class);
        let change = json!({"op": "zone.delete", "domain": zone.fields.domain,
            "records": [], "deleted": [], "record_count": zone.record_count});
        let preview = Preview { before, after };
        return batch::preview_answer(json!({ "changes": [change] }), preview).await;
    }
    state.store.delete_zone(&zone, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
