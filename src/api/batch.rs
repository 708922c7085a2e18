//! Atomic batches (`PATCH /api/v1/dns-zones/{uuid}/records/`) and dry
//! runs (`?dry_run=true` on every record write and on a batch).
//!
//! A batch is a list of changes, each validated by
//! [`input::record`](super::input::record) like a single write, applied
//! by [`Store::write_batch`](crate::store::Store::write_batch): all or
//! nothing, one transaction, one version bump, so one deploy and one new
//! serial. An error names the change at fault (`changes[3].value`).
//!
//! A dry run goes through the very same transaction and rolls it back, so
//! it refuses exactly what the write would refuse and accepts exactly what
//! it would accept; it answers with the rendered zone's diff and
//! named-checkzone's verdict on the zone as the deploy would render it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::input::{self, RecordInput};
use super::records::{add_warnings, apex, deploy_warning, record_json};
use super::zones::query;
use super::{AppState, Auth, JsonBody, json_error};
use crate::bind;
use crate::render::{Template, render_to_vec};
use crate::store::shape::absolute_domain;
use crate::store::{
    BatchChange, BatchDone, BatchFailure, Caller, Commit, Preview, RecordWrite, StoreError,
};
use crate::zone::Zone;

/// `?dry_run=true`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// Show what the write would do, and store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The dry-run flag of a write's query string.
pub fn dry_run(q: Result<Query<DryRun>, QueryRejection>) -> Result<bool, ApiError> {
    Ok(query(q)?.dry_run)
}

/// A batch body: the list of changes, bare or as `{"changes": [...]}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum BatchBody {
    /// `[...]`.
    List(Vec<Value>),
    /// `{"changes": [...]}`.
    Object(ChangesObject),
}

/// `{"changes": [...]}`, and nothing else: a misspelt or extra field is
/// refused rather than silently ignored, as in every other body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesObject {
    /// The changes.
    changes: Vec<Value>,
}

/// One change as a client sends it.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum ChangeInput {
    /// A new record (the fields of a POST).
    Create(RecordInput),
    /// The RRset at `name` of `record_type` becomes `records`.
    ReplaceRrset(RrsetInput),
    /// A record by `uuid`, or an RRset by `name` and `record_type`.
    Delete(DeleteInput),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RrsetInput {
    name: Option<String>,
    record_type: Option<String>,
    records: Option<Vec<RrsetMember>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RrsetMember {
    value: Option<String>,
    // Numbers as a record's (`RecordInput`): 3600.0 is 3600, as JSON
    // Schema's integers have it.
    #[serde(default, deserialize_with = "super::whole_number")]
    ttl: Option<i64>,
    #[serde(default, deserialize_with = "super::whole_number")]
    priority: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteInput {
    uuid: Option<String>,
    name: Option<String>,
    record_type: Option<String>,
}

impl ChangeInput {
    /// The permission the change needs.
    fn permission(&self) -> &'static str {
        match self {
            ChangeInput::Create(_) => "dns:create",
            ChangeInput::ReplaceRrset(_) => "dns:update",
            ChangeInput::Delete(_) => "dns:delete",
        }
    }

    /// The operation's name, as the answer shows it.
    fn op(&self) -> &'static str {
        match self {
            ChangeInput::Create(_) => "create",
            ChangeInput::ReplaceRrset(_) => "replace_rrset",
            ChangeInput::Delete(_) => "delete",
        }
    }
}

/// Most changes in one batch: a batch is one transaction, and one that
/// large holds the write lock long enough.
const MAX_CHANGES: usize = 10_000;

/// An error about a field of change `index`, named `changes[index].field`.
fn in_change(index: usize, mut error: ApiError) -> ApiError {
    let field = match error.field.take() {
        Some(field) if field.starts_with('[') => format!("changes[{index}]{field}"),
        Some(field) => format!("changes[{index}].{field}"),
        None => format!("changes[{index}]"),
    };
    error.field = Some(field);
    error
}

/// PATCH a list of changes into a zone.
pub async fn apply(
    State(state): State<AppState>,
    auth: Auth,
    Path(uuid): Path<String>,
    q: Result<Query<DryRun>, QueryRejection>,
    JsonBody(body): JsonBody<BatchBody>,
) -> Result<Response, ApiError> {
    let dry_run = dry_run(q)?;
    let (BatchBody::List(items) | BatchBody::Object(ChangesObject { changes: items })) = body;
    if items.is_empty() {
        // A version bump that changes nothing would only cost a deploy.
        return Err(ApiError::invalid(
            "changes",
            "A batch needs at least one change",
        ));
    }
    if items.len() > MAX_CHANGES {
        return Err(ApiError::invalid(
            "changes",
            format!("At most {MAX_CHANGES} changes in one batch"),
        ));
    }
    // Every change is read and its permission checked before the store
    // is touched: a refused batch costs no transaction.
    let mut changes = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let change: ChangeInput = serde_path_to_error::deserialize(item).map_err(|e| {
            let path = e.path().to_string();
            let mut error = json_error(e.into_inner());
            if error.field.is_none() && path != "." {
                error.field = Some(path);
            }
            in_change(index, error)
        })?;
        auth.require(change.permission())?;
        changes.push(change);
    }
    let ops: Vec<&'static str> = changes.iter().map(ChangeInput::op).collect();
    let caller = &auth.0;
    let make = |domain: &str| -> Result<Vec<BatchChange>, ApiError> {
        let apex = apex(domain)?;
        (changes.into_iter().enumerate())
            .map(|(index, change)| store_change(&apex, change).map_err(|e| in_change(index, e)))
            .collect()
    };
    let commit = if dry_run {
        Commit::DryRun
    } else {
        Commit::Store
    };
    super::scope::check_zone(&state, caller, &uuid).await?;
    let done = state
        .store
        .write_batch(caller.user_id, &uuid, &caller.actor(), commit, make)
        .await
        .map_err(|e| batch_error(e, true))?;
    answer(done, &ops).await
}

/// A change as the store takes it, validated like a single write.
fn store_change(apex: &crate::zone::Name, change: ChangeInput) -> Result<BatchChange, ApiError> {
    Ok(match change {
        ChangeInput::Create(record) => {
            BatchChange::Create(input::record(apex, &record, input::DEFAULT_TTL)?)
        }
        ChangeInput::ReplaceRrset(set) => {
            let (name, record_type) =
                input::rrset(apex, set.name.as_deref(), set.record_type.as_deref())?;
            let members = set
                .records
                .ok_or_else(|| ApiError::invalid("records", "records is required"))?;
            let writes = (members.into_iter().enumerate())
                .map(|(i, member)| {
                    let record = RecordInput {
                        record_type: set.record_type.clone(),
                        name: set.name.clone(),
                        value: member.value,
                        ttl: member.ttl,
                        priority: member.priority,
                    };
                    input::record(apex, &record, input::DEFAULT_TTL).map_err(|mut e| {
                        e.field = Some(format!(
                            "records[{i}].{}",
                            e.field.as_deref().unwrap_or("value")
                        ));
                        e
                    })
                })
                .collect::<Result<Vec<RecordWrite>, ApiError>>()?;
            BatchChange::ReplaceRrset {
                name,
                record_type,
                writes,
            }
        }
        ChangeInput::Delete(delete) => match (delete.uuid, delete.name, delete.record_type) {
            (Some(uuid), None, None) => BatchChange::DeleteUuid(uuid),
            (None, name @ Some(_), record_type @ Some(_)) => {
                let (name, record_type) =
                    input::rrset(apex, name.as_deref(), record_type.as_deref())?;
                BatchChange::DeleteRrset { name, record_type }
            }
            _ => {
                return Err(ApiError::invalid(
                    "uuid",
                    "A delete names either a record (uuid) or an RRset (name and record_type)",
                ));
            }
        },
    })
}

/// A refused batch as the API's error: a change's fault names it (with
/// `in_batch`; a single write's dry run names the field alone).
pub fn batch_error(failure: BatchFailure<ApiError>, in_batch: bool) -> ApiError {
    match failure {
        BatchFailure::Input(e) => e,
        BatchFailure::Store {
            index: Some(index),
            error: StoreError::UnknownRecord(_),
        } if in_batch => in_change(
            index,
            ApiError::invalid("uuid", "No record with this uuid in this zone"),
        ),
        BatchFailure::Store { index, error } => {
            let e = ApiError::from(error);
            match (index, e.status) {
                (Some(index), StatusCode::BAD_REQUEST) if in_batch => in_change(index, e),
                (None, StatusCode::BAD_REQUEST) if in_batch => ApiError {
                    field: Some("changes".into()),
                    ..e
                },
                _ => e,
            }
        }
    }
}

/// The answer to a batch or a dry run: each change's records and
/// deletions, and for a dry run the diff and named-checkzone's verdict.
pub async fn answer(done: BatchDone, ops: &[&str]) -> Result<Response, ApiError> {
    let mut retimed = 0;
    let changes: Vec<Value> = (done.changes.iter().zip(ops))
        .map(|(change, op)| {
            retimed += change.retimed.len();
            json!({
                "op": op,
                "records": change.written.iter().map(record_json).collect::<Vec<_>>(),
                "deleted": change.deleted,
            })
        })
        .collect();
    let mut body = json!({ "dry_run": done.preview.is_some(), "changes": changes });
    if let Some(preview) = done.preview {
        let (diff, checkzone) = judge(preview).await?;
        body["diff"] = json!(diff);
        body["checkzone"] = checkzone;
    }
    let mut response = axum::Json(body).into_response();
    let mut warnings = Vec::new();
    if retimed > 0 {
        warnings.push(format!(
            "{retimed} other record(s) took their RRset's new TTL: an RRset has one TTL"
        ));
    }
    if let Some(error) = &done.deploy_error {
        warnings.push(deploy_warning(error));
    }
    add_warnings(&mut response, warnings);
    Ok(response)
}

/// The answer to a dry run that is not a batch of record changes (a zone
/// created or deleted, a zone file imported): `body`, what the write
/// would report, with `dry_run`, the diff and named-checkzone's verdict.
pub async fn preview_answer(mut body: Value, preview: Preview) -> Result<Response, ApiError> {
    let (diff, checkzone) = judge(preview).await?;
    body["dry_run"] = json!(true);
    body["diff"] = json!(diff);
    body["checkzone"] = checkzone;
    Ok(axum::Json(body).into_response())
}

/// A single write's dry run: the write as a batch of one, rolled back.
pub async fn preview_one(
    state: &AppState,
    caller: &Caller,
    zone_uuid: &str,
    op: &'static str,
    make: impl FnOnce(&str) -> Result<BatchChange, ApiError>,
) -> Result<Response, ApiError> {
    let done = state
        .store
        .write_batch(
            caller.user_id,
            zone_uuid,
            &caller.actor(),
            Commit::DryRun,
            |domain| make(domain).map(|c| vec![c]),
        )
        .await
        .map_err(|e| batch_error(e, false))?;
    answer(done, &[op]).await
}

/// The diff of the rendered zone before and after, and named-checkzone's
/// verdict on the zone after (`accepted: null` when it cannot be run).
async fn judge(preview: Preview) -> Result<(Vec<String>, Value), ApiError> {
    let internal = |e: String| {
        tracing::error!("dry run failed: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error; nothing was stored",
        )
    };
    // Rendering a large zone and running named-checkzone block: off the
    // async threads.
    tokio::task::spawn_blocking(move || {
        let template = Template::builtin();
        let render = |zone: &Zone| render_to_vec(zone, &template).map_err(|e| e.to_string());
        let before = render(&preview.before)?;
        let after = render(&preview.after)?;
        let diff = line_diff(
            &String::from_utf8_lossy(&before),
            &String::from_utf8_lossy(&after),
        );
        let origin = absolute_domain(&crate::store::shape::domain_text(
            preview.after.origin.wire(),
        ));
        let verdict = match preview.after.records.is_empty() {
            true => json!({ "accepted": null, "output": "no zone to check: it would be deleted" }),
            false => checkzone(&origin, &after),
        };
        Ok((diff, verdict))
    })
    .await
    .map_err(|e| internal(e.to_string()))?
    .map_err(internal)
}

/// named-checkzone's verdict on `text`, as the deploy runs it
/// ([`bind::checkzone`]).
fn checkzone(origin: &str, text: &[u8]) -> Value {
    let verdict = tempfile::Builder::new()
        .suffix(".zone")
        .tempfile()
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, text)?;
            Ok(file)
        })
        .map_err(|e| e.to_string())
        .and_then(|file| bind::checkzone(origin, file.path()).map_err(|e| e.to_string()));
    match verdict {
        Ok(v) => json!({ "accepted": v.accepted, "output": v.output.trim() }),
        Err(e) => json!({ "accepted": null, "output": e }),
    }
}

/// The lines only in `before` (as `-line`) and only in `after` (as
/// `+line`), in the order of the rendered zone (which is canonical, so
/// this is the diff of the records), comments left out. Whitespace runs are made one space
/// first: the renderer aligns columns, and a longer name added would
/// otherwise show every line as changed.
pub fn line_diff(before: &str, after: &str) -> Vec<String> {
    use std::collections::HashMap;
    let normal = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            // Comments (the renderer's summary line) are not records.
            .filter(|l| !l.is_empty() && !l.starts_with(';'))
            .collect()
    };
    let (before, after) = (normal(before), normal(after));
    let count = |lines: &[String]| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for l in lines {
            *counts.entry(l.clone()).or_default() += 1;
        }
        counts
    };
    let (mut in_after, mut in_before) = (count(&after), count(&before));
    let mut diff = Vec::new();
    for line in &before {
        match in_after.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => diff.push(format!("-{line}")),
        }
    }
    for line in &after {
        match in_before.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => diff.push(format!("+{line}")),
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_ignores_alignment_and_names_lines_added_and_removed() {
        let before =
            "; 2 records\n$ORIGIN a.\nwww   3600 IN A 192.0.2.1\nftp   3600 IN A 192.0.2.2\n";
        let after = "$ORIGIN a.\nwww      3600 IN A 192.0.2.1\nlongname 3600 IN A 192.0.2.3\n";
        assert_eq!(
            line_diff(before, after),
            ["-ftp 3600 IN A 192.0.2.2", "+longname 3600 IN A 192.0.2.3"]
        );
    }

    #[test]
    fn a_batch_object_takes_changes_and_nothing_else() {
        let parse = |text: &str| serde_json::from_str::<BatchBody>(text).is_ok();
        assert!(parse(r#"{"changes": []}"#));
        assert!(parse(r#"[]"#));
        assert!(!parse(r#"{"changes": [], "dry_run": true}"#));
        let member: RrsetMember =
            serde_json::from_str(r#"{"value": "x", "ttl": 3600.0, "priority": null}"#).unwrap();
        assert_eq!((member.ttl, member.priority), (Some(3600), None));
    }

    #[test]
    fn a_field_of_a_change_is_named_with_its_index() {
        let e = in_change(3, ApiError::invalid("value", "bad"));
        assert_eq!(e.field.as_deref(), Some("changes[3].value"));
        let e = in_change(0, ApiError::invalid("[1].ttl", "bad"));
        assert_eq!(e.field.as_deref(), Some("changes[0][1].ttl"));
    }
}
