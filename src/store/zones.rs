//! Zones and their records: save (create or replace) and load.
//!
//! A save is one transaction: a reader sees the old zone or the new one,
//! never a mix. Replacing keeps the zone's uuid, and keeps the uuid and
//! `created_at` of every record that is still there (same name, type,
//! value and priority; a new TTL is an update), so API clients' references
//! survive a re-import. Nothing changes, not even the version, when the
//! new content equals the stored one.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::shape::{self, RecordRow, Soa, ZoneBuilder, ZoneFields};
use super::{Store, StoreError, User, iso8601, now_unix, uuid_text};
use crate::zone::Zone;

/// Rows per INSERT statement: few statements, well under SQLite's limit
/// of 32766 parameters.
const INSERT_BATCH: usize = 500;

/// Rows per read when loading a zone, so memory stays bounded.
const LOAD_PAGE: i64 = 20_000;

/// What to do when the zone exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Refuse ([`StoreError::ZoneExists`]).
    Create,
    /// Replace its contents.
    Replace,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The zone's uuid.
    pub uuid: String,
    /// True if the zone was new.
    pub created: bool,
    /// True if anything changed (and the version was bumped).
    pub changed: bool,
    /// The zone's version after the save.
    pub version: i64,
    /// Records in the zone now (SOA and apex NS not counted).
    pub records: usize,
    /// Records added.
    pub added: usize,
    /// Records removed.
    pub removed: usize,
    /// Records kept with a new TTL.
    pub updated: usize,
}

/// A stored zone as `zone list` and `zone show` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneInfo {
    /// Row id.
    pub id: i64,
    /// Stable identifier.
    pub uuid: String,
    /// Name of the owning user.
    pub owner: String,
    /// SOA, apex NS set, `$TTL`, domain.
    pub fields: ZoneFields,
    /// Number of records (SOA and apex NS not counted).
    pub record_count: i64,
    /// Bumped by every change.
    pub version: i64,
    /// The version named serves.
    pub deployed_version: i64,
    /// pending, deployed or failed.
    pub deploy_state: String,
    /// Why the last deploy failed.
    pub deploy_error: Option<String>,
    /// The serial of the last deploy.
    pub deployed_serial: Option<i64>,
    /// When the last deploy finished.
    pub deployed_at: Option<String>,
    /// When the zone was created.
    pub created_at: String,
    /// When its content last changed.
    pub updated_at: String,
}

/// Who saves what, and how.
pub struct SaveRequest<'a> {
    /// Owner of a new zone.
    pub owner: &'a User,
    /// On replace: true to keep the current owner whoever it is; false to
    /// refuse when it is not `owner`.
    pub keep_owner: bool,
    /// The zone-level data.
    pub fields: &'a ZoneFields,
    /// Create only, or replace.
    pub mode: SaveMode,
    /// Who is acting, for the change log.
    pub actor: &'a str,
    /// Where the content came from (a file name), for the change log.
    pub source: &'a str,
}

const ZONE_COLUMNS: &str = "z.id, z.uuid, u.name AS owner, z.domain, z.soa_ttl, z.soa_mname, \
    z.soa_rname, z.serial, z.refresh, z.retry, z.expire, z.minimum, z.default_ttl, \
    z.nameservers, z.ns_ttl, z.version, z.deployed_version, z.deploy_state, z.deploy_error, \
    z.deployed_serial, z.deployed_at, z.created_at, z.updated_at, \
    (SELECT COUNT(*) FROM records r WHERE r.zone_id = z.id) AS record_count";

impl Store {
    /// Creates or replaces a zone with `fields` and `rows`, in one
    /// transaction. `progress` is told how many rows have been written.
    pub async fn save_zone(
        &self,
        request: SaveRequest<'_>,
        rows: impl Iterator<Item = RecordRow>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Saved, StoreError> {
        let mut tx = self.write().await?;
        let existing = zone_row(&mut tx, &request.fields.domain).await?;
        let saved = match existing {
            None => create(&mut tx, &request, rows, progress).await?,
            Some(_) if request.mode == SaveMode::Create => {
                return Err(StoreError::ZoneExists(request.fields.domain.clone()));
            }
            Some(old) => replace(&mut tx, &request, old, rows, progress).await?,
        };
        tx.commit().await?;
        Ok(saved)
    }

    /// Every zone, by domain.
    pub async fn zones(&self) -> Result<Vec<ZoneInfo>, StoreError> {
        let sql = format!(
            "SELECT {ZONE_COLUMNS} FROM zones z JOIN users u ON u.id = z.owner_id ORDER BY z.domain"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(zone_info).collect()
    }

    /// The zone named by `key`: its uuid, or its domain (with or without
    /// the final dot, any case).
    pub async fn zone(&self, key: &str) -> Result<ZoneInfo, StoreError> {
        let mut conn = self.pool.acquire().await?;
        zone_by_key(&mut conn, key).await
    }

    /// The zone named by `key` and its content as a sorted [`Zone`], read
    /// in one transaction, so a concurrent replace is seen whole or not at all.
    pub async fn load_zone(&self, key: &str) -> Result<(ZoneInfo, Zone), StoreError> {
        let mut tx = self.pool.begin().await?;
        let info = zone_by_key(&mut tx, key).await?;
        let shape_error = |source| StoreError::Shape {
            domain: info.fields.domain.clone(),
            source,
        };
        let mut builder =
            ZoneBuilder::new(&info.fields, info.record_count as usize).map_err(shape_error)?;
        // Rows come in pages, each page as one JSON array built by SQLite:
        // fetching a million rows one by one costs sqlx far more than the
        // query itself.
        let mut after = 0i64;
        loop {
            let (json, last, count): (Option<String>, Option<i64>, i64) = sqlx::query_as(
                "SELECT json_group_array(json_array(name, record_type, value, ttl, priority)), \
                 max(id), count(*) FROM (SELECT id, name, record_type, value, ttl, priority \
                 FROM records WHERE zone_id = ? AND id > ? ORDER BY id LIMIT ?)",
            )
            .bind(info.id)
            .bind(after)
            .bind(LOAD_PAGE)
            .fetch_one(&mut *tx)
            .await?;
            let page: Vec<StoredRecord> = serde_json::from_str(json.as_deref().unwrap_or("[]"))
                .map_err(|e| {
                    shape_error(shape::ShapeError::Bad {
                        what: "records".into(),
                        text: format!("page after id {after}"),
                        reason: e.to_string(),
                    })
                })?;
            for StoredRecord(name, record_type, value, ttl, priority) in &page {
                let rtype = shape::parse_type(record_type).map_err(shape_error)?;
                builder
                    .push(name, rtype, value, *ttl, *priority)
                    .map_err(shape_error)?;
            }
            match last {
                Some(last) if count == LOAD_PAGE => after = last,
                _ => break,
            }
        }
        tx.commit().await?;
        Ok((info, builder.finish()))
    }
}

async fn zone_by_key(conn: &mut sqlx::SqliteConnection, key: &str) -> Result<ZoneInfo, StoreError> {
    let domain = match key.strip_suffix('.') {
        Some(d) if !d.is_empty() => d,
        _ => key,
    };
    let sql = format!(
        "SELECT {ZONE_COLUMNS} FROM zones z JOIN users u ON u.id = z.owner_id \
         WHERE z.uuid = ? OR z.domain = ?"
    );
    let uuid = uuid::Uuid::parse_str(key)
        .map(|u| u.as_bytes().to_vec())
        .ok();
    let row = sqlx::query(&sql)
        .bind(uuid)
        .bind(domain)
        .fetch_optional(conn)
        .await?;
    match row {
        Some(row) => zone_info(&row),
        None => Err(StoreError::UnknownZone(key.to_string())),
    }
}

/// The stored zone with this domain, if any, inside a write transaction.
async fn zone_row(
    tx: &mut Transaction<'static, Sqlite>,
    domain: &str,
) -> Result<Option<ZoneInfo>, StoreError> {
    let sql = format!(
        "SELECT {ZONE_COLUMNS} FROM zones z JOIN users u ON u.id = z.owner_id WHERE z.domain = ?"
    );
    let row = sqlx::query(&sql)
        .bind(domain)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(zone_info).transpose()
}

fn zone_info(row: &SqliteRow) -> Result<ZoneInfo, StoreError> {
    let domain: String = row.try_get("domain")?;
    let nameservers: String = row.try_get("nameservers")?;
    let nameservers = serde_json::from_str(&nameservers).map_err(|e| StoreError::Shape {
        domain: domain.clone(),
        source: shape::ShapeError::Bad {
            what: "nameservers".into(),
            text: nameservers.clone(),
            reason: e.to_string(),
        },
    })?;
    let u32_of =
        |column: &str| -> Result<u32, StoreError> { Ok(row.try_get::<i64, _>(column)? as u32) };
    Ok(ZoneInfo {
        id: row.try_get("id")?,
        uuid: uuid_text(row.try_get("uuid")?),
        owner: row.try_get("owner")?,
        fields: ZoneFields {
            soa: Soa {
                ttl: u32_of("soa_ttl")?,
                mname: row.try_get("soa_mname")?,
                rname: row.try_get("soa_rname")?,
                serial: u32_of("serial")?,
                refresh: u32_of("refresh")?,
                retry: u32_of("retry")?,
                expire: u32_of("expire")?,
                minimum: u32_of("minimum")?,
            },
            default_ttl: row
                .try_get::<Option<i64>, _>("default_ttl")?
                .map(|t| t as u32),
            nameservers,
            ns_ttl: u32_of("ns_ttl")?,
            domain,
        },
        record_count: row.try_get("record_count")?,
        version: row.try_get("version")?,
        deployed_version: row.try_get("deployed_version")?,
        deploy_state: row.try_get("deploy_state")?,
        deploy_error: row.try_get("deploy_error")?,
        deployed_serial: row.try_get("deployed_serial")?,
        deployed_at: row.try_get::<Option<i64>, _>("deployed_at")?.map(iso8601),
        created_at: iso8601(row.try_get("created_at")?),
        updated_at: iso8601(row.try_get("updated_at")?),
    })
}

async fn create(
    tx: &mut Transaction<'static, Sqlite>,
    request: &SaveRequest<'_>,
    rows: impl Iterator<Item = RecordRow>,
    progress: &mut dyn FnMut(usize),
) -> Result<Saved, StoreError> {
    let fields = request.fields;
    let now = now_unix();
    let uuid = uuid::Uuid::now_v7();
    let zone_id = sqlx::query(
        "INSERT INTO zones (uuid, domain, owner_id, soa_ttl, soa_mname, soa_rname, serial, \
         refresh, retry, expire, minimum, default_ttl, nameservers, ns_ttl, version, \
         deployed_version, deploy_state, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, 'pending', ?, ?)",
    )
    .bind(uuid.as_bytes().as_slice())
    .bind(&fields.domain)
    .bind(request.owner.id)
    .bind(i64::from(fields.soa.ttl))
    .bind(&fields.soa.mname)
    .bind(&fields.soa.rname)
    .bind(i64::from(fields.soa.serial))
    .bind(i64::from(fields.soa.refresh))
    .bind(i64::from(fields.soa.retry))
    .bind(i64::from(fields.soa.expire))
    .bind(i64::from(fields.soa.minimum))
    .bind(fields.default_ttl.map(i64::from))
    .bind(nameservers_json(fields))
    .bind(i64::from(fields.ns_ttl))
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .last_insert_rowid();
    let added = insert_rows(tx, zone_id, rows, now, progress).await?;
    let after = serde_json::json!({
        "source": request.source,
        "serial": fields.soa.serial,
        "records": added,
    });
    log_change(
        tx,
        &uuid,
        &fields.domain,
        request.actor,
        "import",
        None,
        Some(after),
    )
    .await?;
    Ok(Saved {
        uuid: uuid.to_string(),
        created: true,
        changed: true,
        version: 1,
        records: added,
        added,
        removed: 0,
        updated: 0,
    })
}

async fn replace(
    tx: &mut Transaction<'static, Sqlite>,
    request: &SaveRequest<'_>,
    old: ZoneInfo,
    rows: impl Iterator<Item = RecordRow>,
    progress: &mut dyn FnMut(usize),
) -> Result<Saved, StoreError> {
    if !request.keep_owner && old.owner != request.owner.name {
        return Err(StoreError::OtherOwner {
            domain: old.fields.domain,
            owner: old.owner,
        });
    }
    // Records still present keep their row; the rest are added or removed.
    let mut existing = existing_rows(tx, old.id).await?;
    let mut fresh = Vec::new();
    let mut ttl_changes = Vec::new();
    for row in rows {
        let key = (row.name, row.record_type, row.value, row.priority);
        match existing.remove(&key) {
            Some((id, ttl)) if ttl != row.ttl => ttl_changes.push((id, row.ttl)),
            Some(_) => {}
            None => fresh.push(RecordRow {
                name: key.0,
                record_type: key.1,
                value: key.2,
                priority: key.3,
                ttl: row.ttl,
            }),
        }
    }
    let gone: Vec<i64> = existing.into_values().map(|(id, _)| id).collect();
    let fields = request.fields;
    // The domain's spelling is part of the content too.
    let changed =
        old.fields != *fields || !fresh.is_empty() || !gone.is_empty() || !ttl_changes.is_empty();
    let kept = old.record_count as usize - gone.len();
    if !changed {
        return Ok(Saved {
            uuid: old.uuid,
            created: false,
            changed: false,
            version: old.version,
            records: kept,
            added: 0,
            removed: 0,
            updated: 0,
        });
    }
    let now = now_unix();
    delete_rows(tx, &gone).await?;
    for (id, ttl) in &ttl_changes {
        sqlx::query("UPDATE records SET ttl = ?, updated_at = ? WHERE id = ?")
            .bind(i64::from(*ttl))
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let added = insert_rows(tx, old.id, fresh.into_iter(), now, progress).await?;
    let version = old.version + 1;
    sqlx::query(
        "UPDATE zones SET domain = ?, soa_ttl = ?, soa_mname = ?, soa_rname = ?, serial = ?, \
         refresh = ?, retry = ?, expire = ?, minimum = ?, default_ttl = ?, nameservers = ?, \
         ns_ttl = ?, version = ?, deploy_state = 'pending', updated_at = ? WHERE id = ?",
    )
    .bind(&fields.domain)
    .bind(i64::from(fields.soa.ttl))
    .bind(&fields.soa.mname)
    .bind(&fields.soa.rname)
    .bind(i64::from(fields.soa.serial))
    .bind(i64::from(fields.soa.refresh))
    .bind(i64::from(fields.soa.retry))
    .bind(i64::from(fields.soa.expire))
    .bind(i64::from(fields.soa.minimum))
    .bind(fields.default_ttl.map(i64::from))
    .bind(nameservers_json(fields))
    .bind(i64::from(fields.ns_ttl))
    .bind(version)
    .bind(now)
    .bind(old.id)
    .execute(&mut **tx)
    .await?;
    let before = serde_json::json!({
        "serial": old.fields.soa.serial,
        "records": old.record_count,
    });
    let after = serde_json::json!({
        "source": request.source,
        "serial": fields.soa.serial,
        "records": kept + added,
        "added": added,
        "removed": gone.len(),
        "updated": ttl_changes.len(),
    });
    let uuid = uuid::Uuid::parse_str(&old.uuid).unwrap_or_default();
    log_change(
        tx,
        &uuid,
        &fields.domain,
        request.actor,
        "replace",
        Some(before),
        Some(after),
    )
    .await?;
    Ok(Saved {
        uuid: old.uuid,
        created: false,
        changed: true,
        version,
        records: kept + added,
        added,
        removed: gone.len(),
        updated: ttl_changes.len(),
    })
}

/// A record as the load query returns it: name, type, value, TTL, priority.
#[derive(serde::Deserialize)]
struct StoredRecord<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    u32,
    Option<u16>,
);

type RowKey = (String, String, String, Option<u16>);

/// The zone's rows by (name, type, value, priority): (id, ttl).
async fn existing_rows(
    tx: &mut Transaction<'static, Sqlite>,
    zone_id: i64,
) -> Result<HashMap<RowKey, (i64, u32)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, record_type, value, ttl, priority FROM records WHERE zone_id = ?",
    )
    .bind(zone_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut map = HashMap::with_capacity(rows.len());
    for row in &rows {
        let priority: Option<i64> = row.try_get("priority")?;
        let key = (
            row.try_get("name")?,
            row.try_get("record_type")?,
            row.try_get("value")?,
            priority.map(|p| p as u16),
        );
        map.insert(
            key,
            (row.try_get("id")?, row.try_get::<i64, _>("ttl")? as u32),
        );
    }
    Ok(map)
}

/// Inserts `rows` in multi-row statements; returns how many.
async fn insert_rows(
    tx: &mut Transaction<'static, Sqlite>,
    zone_id: i64,
    rows: impl Iterator<Item = RecordRow>,
    now: i64,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, StoreError> {
    let full_sql = insert_sql(INSERT_BATCH);
    let mut rows = rows;
    let mut batch: Vec<RecordRow> = rows.by_ref().take(INSERT_BATCH).collect();
    let mut written = 0;
    while !batch.is_empty() {
        let short_sql;
        let sql = if batch.len() == INSERT_BATCH {
            &full_sql
        } else {
            short_sql = insert_sql(batch.len());
            &short_sql
        };
        let mut query = sqlx::query(sql);
        for row in &batch {
            query = query
                .bind(uuid::Uuid::now_v7().as_bytes().to_vec())
                .bind(zone_id)
                .bind(&row.name)
                .bind(&row.record_type)
                .bind(&row.value)
                .bind(i64::from(row.ttl))
                .bind(row.priority.map(i64::from))
                .bind(now)
                .bind(now);
        }
        // SQLite writes this batch on its worker thread while this one
        // makes the next (formats the records): the first poll of the
        // execute future hands the statement over, then the second future runs.
        let mut next = Vec::with_capacity(INSERT_BATCH);
        let (result, ()) = tokio::join!(query.execute(&mut **tx), async {
            next.extend(rows.by_ref().take(INSERT_BATCH));
        });
        result?;
        written += batch.len();
        progress(written);
        batch = next;
    }
    Ok(written)
}

/// `INSERT … VALUES (…), (…)` for `rows` rows of nine parameters. Only
/// anonymous `?`: sqlx looks every parameter's name up, which SQLite does
/// in time linear in the number of named ones, so numbered parameters
/// would make a large statement quadratic.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(120 + rows * 20);
    sql.push_str(
        "INSERT INTO records (uuid, zone_id, name, record_type, value, ttl, priority, \
         created_at, updated_at) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?)");
    }
    sql
}

/// Deletes rows by id, many per statement (ids passed as one JSON array).
async fn delete_rows(tx: &mut Transaction<'static, Sqlite>, ids: &[i64]) -> Result<(), StoreError> {
    for chunk in ids.chunks(10_000) {
        let json = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
        sqlx::query("DELETE FROM records WHERE id IN (SELECT value FROM json_each(?))")
            .bind(json)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn nameservers_json(fields: &ZoneFields) -> String {
    serde_json::to_string(&fields.nameservers).unwrap_or_else(|_| "[]".into())
}

/// Appends to the change log.
async fn log_change(
    tx: &mut Transaction<'static, Sqlite>,
    zone_uuid: &uuid::Uuid,
    domain: &str,
    actor: &str,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO change_log (zone_uuid, domain, record_uuid, actor, action, before, after, at) \
         VALUES (?, ?, NULL, ?, ?, ?, ?, ?)",
    )
    .bind(zone_uuid.as_bytes().as_slice())
    .bind(domain)
    .bind(actor)
    .bind(action)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .bind(now_unix())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_has_nine_anonymous_parameters_per_row() {
        assert_eq!(
            insert_sql(2),
            "INSERT INTO records (uuid, zone_id, name, record_type, value, ttl, priority, \
             created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?)"
        );
    }
}
