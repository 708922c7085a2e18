//! The change log: who changed which zone, how, and when. Entries name
//! the zone by uuid and domain, not by row, so a deleted zone's history
//! stays.

use sqlx::{Sqlite, Transaction};

use super::{StoreError, now_unix};

/// One change-log entry.
pub(super) struct ChangeEntry<'a> {
    pub(super) zone_uuid: &'a uuid::Uuid,
    pub(super) domain: &'a str,
    pub(super) record_uuid: Option<&'a uuid::Uuid>,
    pub(super) actor: &'a str,
    pub(super) action: &'a str,
    pub(super) before: Option<serde_json::Value>,
    pub(super) after: Option<serde_json::Value>,
}

/// Appends to the change log.
pub(super) async fn log_change(
    tx: &mut Transaction<'static, Sqlite>,
    entry: ChangeEntry<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO change_log (zone_uuid, domain, record_uuid, actor, action, before, after, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.zone_uuid.as_bytes().as_slice())
    .bind(entry.domain)
    .bind(entry.record_uuid.map(|u| u.as_bytes().to_vec()))
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .bind(now_unix())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
