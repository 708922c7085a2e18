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

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};

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

/// A last check on a zone as saved; `Err` says why it is refused.
pub type AcceptZone<'a> = dyn FnMut(&Zone) -> Result<(), String> + 'a;

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
    /// Shown the zone as read back from the database inside the save's
    /// transaction, before it commits: an `Err` rolls the save back
    /// ([`StoreError::Rejected`]). This is where import's proof runs.
    pub accept: Option<&'a mut AcceptZone<'a>>,
}

/// The SELECT that every zone query shares; `filter` is its WHERE clause.
fn zone_query(filter: &str) -> String {
    format!(
        "SELECT z.id, z.uuid, u.name AS owner, z.domain, z.soa_ttl, z.soa_mname, z.soa_rname, \
         z.serial, z.refresh, z.retry, z.expire, z.minimum, z.default_ttl, z.nameservers, \
         z.ns_ttl, z.version, z.deployed_version, z.deploy_state, z.deploy_error, \
         z.deployed_serial, z.deployed_at, z.created_at, z.updated_at, \
         (SELECT COUNT(*) FROM records r WHERE r.zone_id = z.id) AS record_count \
         FROM zones z JOIN users u ON u.id = z.owner_id {filter}"
    )
}

impl Store {
    /// Creates or replaces a zone with `fields` and `rows`, in one
    /// transaction. `progress` is told how many rows have been written.
    pub async fn save_zone(
        &self,
        mut request: SaveRequest<'_>,
        rows: impl Iterator<Item = RecordRow>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Saved, StoreError> {
        let mut tx = self.write().await?;
        let existing = zone_row(&mut tx, &request.fields.domain).await?;
        let (saved, zone_id) = match existing {
            None => create(&mut tx, &request, rows, progress).await?,
            Some(_) if request.mode == SaveMode::Create => {
                return Err(StoreError::ZoneExists(request.fields.domain.clone()));
            }
            Some(old) => replace(&mut tx, &request, old, rows, progress).await?,
        };
        if let Some(accept) = request.accept.take() {
            let zone = load_records(&mut tx, zone_id, request.fields, saved.records).await?;
            if let Err(reason) = accept(&zone) {
                tx.rollback().await?;
                return Err(StoreError::Rejected {
                    domain: request.fields.domain.clone(),
                    reason,
                });
            }
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Every zone, by domain.
    pub async fn zones(&self) -> Result<Vec<ZoneInfo>, StoreError> {
        let rows = sqlx::query(&zone_query("ORDER BY z.domain"))
            .fetch_all(&self.pool)
            .await?;
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
        let zone = load_records(&mut tx, info.id, &info.fields, info.record_count as usize).await?;
        tx.commit().await?;
        Ok((info, zone))
    }
}

/// The zone with `fields` and the records of row `zone_id`, as a sorted
/// [`Zone`]; `count` is a capacity hint.
async fn load_records(
    conn: &mut SqliteConnection,
    zone_id: i64,
    fields: &ZoneFields,
    count: usize,
) -> Result<Zone, StoreError> {
    let shape_error = |source| StoreError::Shape {
        domain: fields.domain.clone(),
        source,
    };
    let mut builder = ZoneBuilder::new(fields, count).map_err(shape_error)?;
    for_each_record(conn, zone_id, |r| {
        let rtype = shape::parse_type(&r.record_type).map_err(shape_error)?;
        builder
            .push(&r.name, rtype, &r.value, r.ttl, r.priority)
            .map_err(shape_error)
    })
    .await?;
    Ok(builder.finish())
}

/// A record row as the paged reader returns it.
#[derive(serde::Deserialize)]
struct StoredRecord<'a> {
    id: i64,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    record_type: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
    ttl: u32,
    priority: Option<u16>,
}

/// Calls `each` for every record of a zone, in id order. Rows come in
/// pages, each page one JSON array built by SQLite: fetching a million
/// rows one by one costs sqlx far more than the query itself. A value out
/// of range (a negative TTL, say) fails the read instead of wrapping.
async fn for_each_record(
    conn: &mut SqliteConnection,
    zone_id: i64,
    mut each: impl FnMut(StoredRecord<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after = 0i64;
    loop {
        let (json, last, count): (Option<String>, Option<i64>, i64) = sqlx::query_as(
            "SELECT json_group_array(json_object('id', id, 'name', name, \
             'record_type', record_type, 'value', value, 'ttl', ttl, 'priority', priority)), \
             max(id), count(*) FROM (SELECT * FROM records WHERE zone_id = ? AND id > ? \
             ORDER BY id LIMIT ?)",
        )
        .bind(zone_id)
        .bind(after)
        .bind(LOAD_PAGE)
        .fetch_one(&mut *conn)
        .await?;
        let page: Vec<StoredRecord> = serde_json::from_str(json.as_deref().unwrap_or("[]"))
            .map_err(|e| {
                StoreError::Db(sqlx::Error::Decode(
                    format!("records of zone {zone_id} after id {after}: {e}").into(),
                ))
            })?;
        for record in page {
            each(record)?;
        }
        match last {
            Some(last) if count == LOAD_PAGE => after = last,
            _ => return Ok(()),
        }
    }
}

async fn zone_by_key(conn: &mut sqlx::SqliteConnection, key: &str) -> Result<ZoneInfo, StoreError> {
    let domain = match key.strip_suffix('.') {
        Some(d) if !d.is_empty() => d,
        _ => key,
    };
    let sql = zone_query("WHERE z.uuid = ? OR z.domain = ?");
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
    let row = sqlx::query(&zone_query("WHERE z.domain = ?"))
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

/// Binds the zone-level fields in the order of [`ZONE_FIELD_COLUMNS`].
fn bind_fields<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    fields: &'q ZoneFields,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    query
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
        .bind(serde_json::to_string(&fields.nameservers).expect("a list of strings serialises"))
        .bind(i64::from(fields.ns_ttl))
}

/// The zone-level columns, in the order [`bind_fields`] binds them.
const ZONE_FIELD_COLUMNS: [&str; 12] = [
    "domain",
    "soa_ttl",
    "soa_mname",
    "soa_rname",
    "serial",
    "refresh",
    "retry",
    "expire",
    "minimum",
    "default_ttl",
    "nameservers",
    "ns_ttl",
];

async fn create(
    tx: &mut Transaction<'static, Sqlite>,
    request: &SaveRequest<'_>,
    rows: impl Iterator<Item = RecordRow>,
    progress: &mut dyn FnMut(usize),
) -> Result<(Saved, i64), StoreError> {
    let fields = request.fields;
    let now = now_unix();
    let uuid = uuid::Uuid::now_v7();
    let sql = format!(
        "INSERT INTO zones ({}, uuid, owner_id, version, deployed_version, deploy_state, \
         created_at, updated_at) VALUES ({}, ?, ?, 1, 0, 'pending', ?, ?)",
        ZONE_FIELD_COLUMNS.join(", "),
        ["?"; ZONE_FIELD_COLUMNS.len()].join(", ")
    );
    let zone_id = bind_fields(sqlx::query(&sql), fields)
        .bind(uuid.as_bytes().as_slice())
        .bind(request.owner.id)
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
    let entry = ChangeEntry {
        zone_uuid: &uuid,
        domain: &fields.domain,
        actor: request.actor,
        action: "import",
        before: None,
        after: Some(after),
    };
    log_change(tx, entry).await?;
    let saved = Saved {
        uuid: uuid.to_string(),
        created: true,
        changed: true,
        version: 1,
        records: added,
        added,
        removed: 0,
        updated: 0,
    };
    Ok((saved, zone_id))
}

async fn replace(
    tx: &mut Transaction<'static, Sqlite>,
    request: &SaveRequest<'_>,
    old: ZoneInfo,
    rows: impl Iterator<Item = RecordRow>,
    progress: &mut dyn FnMut(usize),
) -> Result<(Saved, i64), StoreError> {
    if !request.keep_owner && old.owner != request.owner.name {
        return Err(StoreError::OtherOwner {
            domain: old.fields.domain,
            owner: old.owner,
            asked: request.owner.name.clone(),
        });
    }
    // Records still present keep their row; the rest are added or removed.
    let mut existing = existing_rows(tx, old.id).await?;
    let mut fresh = Vec::new();
    let mut ttl_changes = Vec::new();
    for row in rows {
        let key = (row.name, row.record_type, row.value, row.priority);
        match existing.get_mut(&key).and_then(Vec::pop) {
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
    let gone: Vec<i64> = existing.into_values().flatten().map(|(id, _)| id).collect();
    let fields = request.fields;
    // The domain's spelling is part of the content too.
    let changed =
        old.fields != *fields || !fresh.is_empty() || !gone.is_empty() || !ttl_changes.is_empty();
    let kept = old.record_count as usize - gone.len();
    let mut saved = Saved {
        uuid: old.uuid.clone(),
        created: false,
        changed,
        version: old.version,
        records: kept + fresh.len(),
        added: fresh.len(),
        removed: gone.len(),
        updated: ttl_changes.len(),
    };
    if !changed {
        return Ok((saved, old.id));
    }
    let now = now_unix();
    delete_rows(tx, &gone).await?;
    update_ttls(tx, &ttl_changes, now).await?;
    insert_rows(tx, old.id, fresh.into_iter(), now, progress).await?;
    saved.version += 1;
    let sql = format!(
        "UPDATE zones SET {} = ?, version = ?, deploy_state = 'pending', updated_at = ? \
         WHERE id = ?",
        ZONE_FIELD_COLUMNS.join(" = ?, ")
    );
    bind_fields(sqlx::query(&sql), fields)
        .bind(saved.version)
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
        "records": saved.records,
        "added": saved.added,
        "removed": saved.removed,
        "updated": saved.updated,
    });
    let uuid = uuid::Uuid::parse_str(&old.uuid).map_err(|e| StoreError::Shape {
        domain: old.fields.domain.clone(),
        source: shape::ShapeError::Bad {
            what: "zone uuid".into(),
            text: old.uuid.clone(),
            reason: e.to_string(),
        },
    })?;
    let entry = ChangeEntry {
        zone_uuid: &uuid,
        domain: &fields.domain,
        actor: request.actor,
        action: "replace",
        before: Some(before),
        after: Some(after),
    };
    log_change(tx, entry).await?;
    Ok((saved, old.id))
}

type RowKey = (String, String, String, Option<u16>);

/// The zone's rows by (name, type, value, priority): their (id, ttl).
/// A key may have several rows (written by something other than an
/// import); each is matched at most once, and the rest are removed.
async fn existing_rows(
    conn: &mut SqliteConnection,
    zone_id: i64,
) -> Result<HashMap<RowKey, Vec<(i64, u32)>>, StoreError> {
    let mut map: HashMap<RowKey, Vec<(i64, u32)>> = HashMap::new();
    for_each_record(conn, zone_id, |r| {
        let key = (
            r.name.into_owned(),
            r.record_type.into_owned(),
            r.value.into_owned(),
            r.priority,
        );
        map.entry(key).or_default().push((r.id, r.ttl));
        Ok(())
    })
    .await?;
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

/// Sets new TTLs, many rows per statement (`[id, ttl]` pairs passed as one
/// JSON array): a `$TTL` change can touch every record of a large zone.
async fn update_ttls(
    tx: &mut Transaction<'static, Sqlite>,
    changes: &[(i64, u32)],
    now: i64,
) -> Result<(), StoreError> {
    for chunk in changes.chunks(10_000) {
        let json = serde_json::to_string(chunk).expect("pairs of numbers serialise");
        sqlx::query(
            "UPDATE records SET ttl = u.value ->> 1, updated_at = ? \
             FROM json_each(?) AS u WHERE records.id = u.value ->> 0",
        )
        .bind(now)
        .bind(json)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Deletes rows by id, many per statement (ids passed as one JSON array).
async fn delete_rows(tx: &mut Transaction<'static, Sqlite>, ids: &[i64]) -> Result<(), StoreError> {
    for chunk in ids.chunks(10_000) {
        let json = serde_json::to_string(chunk).expect("numbers serialise");
        sqlx::query("DELETE FROM records WHERE id IN (SELECT value FROM json_each(?))")
            .bind(json)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One change-log entry.
struct ChangeEntry<'a> {
    zone_uuid: &'a uuid::Uuid,
    domain: &'a str,
    actor: &'a str,
    action: &'a str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

/// Appends to the change log.
async fn log_change(
    tx: &mut Transaction<'static, Sqlite>,
    entry: ChangeEntry<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO change_log (zone_uuid, domain, record_uuid, actor, action, before, after, at) \
         VALUES (?, ?, NULL, ?, ?, ?, ?, ?)",
    )
    .bind(entry.zone_uuid.as_bytes().as_slice())
    .bind(entry.domain)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
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
