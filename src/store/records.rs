//! Record rows: written in multi-row statements, read in pages.
//!
//! A zone can hold a million records, so neither direction goes row by
//! row through sqlx: inserts bind hundreds of rows per statement (while
//! the next batch is made), reads fetch pages that SQLite returns as one
//! JSON array each, and bulk updates and deletes pass their ids as JSON.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::StoreError;
use super::shape::{self, RecordRow, ZoneBuilder, ZoneFields};
use crate::zone::Zone;

/// Rows per INSERT statement: few statements, well under SQLite's limit
/// of 32766 parameters.
const INSERT_BATCH: usize = 500;

/// Rows per read when loading a zone, so memory stays bounded.
const LOAD_PAGE: i64 = 20_000;

/// The zone with `fields` and the records of row `zone_id`, as a sorted
/// [`Zone`]; `count` is a capacity hint.
pub(super) async fn load_records(
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

pub(super) type RowKey = (String, String, String, Option<u16>);

/// The zone's rows by (name, type, value, priority): their (id, ttl).
/// A key may have several rows (written by something other than an
/// import); each is matched at most once, and the rest are removed.
pub(super) async fn existing_rows(
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
pub(super) async fn insert_rows(
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
pub(super) async fn update_ttls(
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
pub(super) async fn delete_rows(
    tx: &mut Transaction<'static, Sqlite>,
    ids: &[i64],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(10_000) {
        let json = serde_json::to_string(chunk).expect("numbers serialise");
        sqlx::query("DELETE FROM records WHERE id IN (SELECT value FROM json_each(?))")
            .bind(json)
            .execute(&mut **tx)
            .await?;
    }
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
