//! Zone files over the API: `GET /api/v1/dns-zones/{uuid}/export` and
//! `POST /api/v1/dns-zones/{uuid}/import`.
//!
//! Export is the deploy's renderer on the stored zone, so it is the file
//! named loads (with the serial named serves, once deployed). It answers
//! `text/dns`, the media type RFC 4027 registers for master files: a
//! client can tell a zone file from other text, and every HTTP client
//! still shows a `text/*` body as text.
//!
//! Import parses the body with the zone-file parser of `compile` and
//! `bindbridge import` (`$INCLUDE` refused: the body must never read the
//! server's files), and replaces the zone's records through the store's
//! import path ([`Store::save_zone`](crate::store::Store::save_zone) with
//! [`SaveMode::Replace`]): one transaction, one version, one deploy. The
//! SOA and the apex NS set stay the zone's: the service runs the
//! nameservers and the serial (which must never go back, whatever a file
//! says), so the body's SOA and apex NS records are not imported, and the
//! answer lists the apex NS records it left out.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::batch::{self, DryRun};
use super::error::ApiError;
use super::records::apex;
use super::{AppState, Auth, BODY_LIMIT, too_large};
use crate::check::check_zone;
use crate::parse::{self, Diagnostic, NoIncludes, Options};
use crate::render::{Template, order, render_to_vec};
use crate::store::shape::{self, ZoneFields};
use crate::store::{SaveMode, SaveRequest, StoreError};
use crate::zone::Class;

/// The media type of a master file (RFC 4027).
const ZONE_FILE_TYPE: &str = "text/dns";

/// GET the zone as its canonical zone file.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require("dns:read")?;
    // Another user's zone is not found.
    let owned = super::scope::zone(&state, caller, &uuid).await?;
    zone_file(&state, &owned.uuid).await
}

/// The zone `uuid` as a canonical zone file to download (the caller has
/// checked that it may see it); the API's export and the dashboard's link.
pub(crate) async fn zone_file(state: &AppState, uuid: &str) -> Result<Response, ApiError> {
    let (info, zone) = state.store.served_zone(uuid).await?;
    let text = tokio::task::spawn_blocking(move || render_to_vec(&zone, &Template::builtin()))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(ZONE_FILE_TYPE),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!(
                "attachment; filename=\"{}.zone\"",
                info.fields.domain
            ))
            .unwrap_or(HeaderValue::from_static("attachment")),
        ),
    ];
    Ok((headers, text).into_response())
}

fn internal(e: String) -> ApiError {
    tracing::error!("zone file request failed: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal error; nothing was changed",
    )
}

/// POST a zone file that replaces the zone's records.
pub async fn import(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let dry_run = batch::dry_run(q)?;
    let caller = auth.require("dns:update")?;
    let text_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_none_or(|v| {
            let v = v.trim();
            [ZONE_FILE_TYPE, "text/plain", "application/octet-stream"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t))
        });
    if !text_body {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the zone file as text with 'Content-Type: text/dns' (or text/plain)",
        ));
    }
    if body.len() > BODY_LIMIT {
        return Err(too_large());
    }
    let zone = super::scope::zone(&state, caller, &uuid).await?;
    let origin = apex(&zone.fields.domain)?;
    let fields = zone.fields.clone();
    // Parsing a large file is CPU work: off the async threads.
    let parsed = tokio::task::spawn_blocking(move || read_body(&body, origin, fields))
        .await
        .map_err(|e| internal(e.to_string()))??;
    let owner = state.store.user(&caller.user).await?;
    let request = SaveRequest {
        owner: &owner,
        keep_owner: false,
        fields: &zone.fields,
        mode: SaveMode::Replace,
        actor: &caller.actor(),
        source: "api import",
    };
    // Deleted and created again by someone else meanwhile.
    let refused = |e| match e {
        StoreError::OtherOwner { .. } => ApiError::not_found("Zone"),
        e => e.into(),
    };
    let rows = parsed.rows.into_iter();
    let (saved, preview) = match dry_run {
        true => {
            let preview = state.store.preview_save(request, rows).await;
            let (saved, preview) = preview.map_err(refused)?;
            (saved, Some(preview))
        }
        false => {
            let saved = state
                .store
                .save_zone(request, rows, &mut |_| {}, None)
                .await;
            (saved.map_err(refused)?, None)
        }
    };
    let report = json!({
        "records": saved.records,
        "added": saved.added,
        "removed": saved.removed,
        "updated": saved.updated,
        "changed": saved.changed,
        "warnings": parsed.warnings,
        "ignored": parsed.ignored,
    });
    match preview {
        Some(preview) => batch::preview_answer(report, preview).await,
        None => Ok(axum::Json(report).into_response()),
    }
}

/// A zone file body, read.
struct Body {
    rows: Vec<shape::RecordRow>,
    warnings: Vec<String>,
    /// Apex NS records of the body that are not the zone's nameservers.
    ignored: Vec<String>,
}

/// Parses and checks the body as `compile` does; errors are a 400 on
/// `body` listing every diagnostic as `body:line:col: ...`.
fn read_body(text: &[u8], origin: crate::zone::Name, fields: ZoneFields) -> Result<Body, ApiError> {
    let options = Options {
        origin,
        class: Class::IN,
        file_name: "body".into(),
        source_key: None,
    };
    let parsed = parse::parse_zone(text, &options, &mut NoIncludes);
    let mut zone = parsed.zone;
    let mut diagnostics = parsed.diagnostics;
    let parse_failed = diagnostics.iter().any(Diagnostic::is_error);
    order::sort(&mut zone);
    diagnostics.extend(check_zone(&zone, parse_failed));
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        diagnostics.iter().partition(|d| d.is_error());
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
        return Err(ApiError::invalid(
            "body",
            format!(
                "The zone file has {} error(s); nothing was imported: {}",
                lines.len(),
                lines.join("; ")
            ),
        ));
    }
    let body_fields =
        shape::zone_fields(&zone).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let known = |ns: &str| {
        fields.nameservers.iter().any(|z| {
            z.trim_end_matches('.')
                .eq_ignore_ascii_case(ns.trim_end_matches('.'))
        })
    };
    let ignored = (body_fields.nameservers.iter())
        .filter(|ns| !known(ns))
        .map(|ns| format!("@ NS {ns}"))
        .collect();
    Ok(Body {
        rows: shape::rows(&zone).collect(),
        warnings: warnings.iter().map(|d| d.to_string()).collect(),
        ignored,
    })
}
