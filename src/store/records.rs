//! Record rows: written in multi-row statements, read in pages.
//!
//! A zone can hold a million records, so neither direction goes row by
//! row through sqlx: inserts bind hundreds of rows per statement (while
//! the next batch is made), reads fetch pages that SQLite returns as one
//! JSON array each, and bulk updates and deletes pass their ids as JSON.

use std::borrow::Cow;
use std::collections::HashMap;

use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::changes::{ChangeEntry, log_change};
use super::rules::{
    Edit, NameEntry, ZoneNames, check_applied_rules, check_record, name_key, zone_names,
};
use super::shape::{self, RecordRow, ZoneBuilder, ZoneFields};
use super::{Store, StoreError, now_unix, zones};
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
pub(super) struct StoredRecord<'a> {
    pub(super) id: i64,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) record_type: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) value: Cow<'a, str>,
    pub(super) ttl: u32,
    pub(super) priority: Option<u16>,
}

/// Calls `each` for every record of a zone, in id order. Rows come in
/// pages, each page one JSON array built by SQLite: fetching a million
/// rows one by one costs sqlx far more than the query itself. A value out
/// of range (a negative TTL, say) fails the read instead of wrapping.
pub(super) async fn for_each_record(
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
    progress: &mut (dyn FnMut(usize) + Send),
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
            query = bind_row(query, uuid::Uuid::now_v7(), zone_id, row, now);
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

/// Binds one row's nine parameters, in the order of [`insert_sql`].
pub(super) fn bind_row<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    uuid: uuid::Uuid,
    zone_id: i64,
    row: &'q RecordRow,
    now: i64,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    let query = query.bind(uuid.as_bytes().to_vec()).bind(zone_id);
    bind_content(query, row).bind(now).bind(now)
}

/// Binds a row's content: name, type, value, TTL, priority, in this order.
fn bind_content<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    row: &'q RecordRow,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    query
        .bind(&row.name)
        .bind(&row.record_type)
        .bind(&row.value)
        .bind(i64::from(row.ttl))
        .bind(row.priority.map(i64::from))
}

/// `INSERT … VALUES (…), (…)` for `rows` rows of nine parameters. Only
/// anonymous `?`: sqlx looks every parameter's name up, which SQLite does
/// in time linear in the number of named ones, so numbered parameters
/// would make a large statement quadratic.
pub(super) fn insert_sql(rows: usize) -> String {
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

/// A record as the API shows it: the row plus its identity and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// Row id.
    pub id: i64,
    /// Stable identifier.
    pub uuid: uuid::Uuid,
    /// The zone's uuid.
    pub zone_uuid: uuid::Uuid,
    /// Name, type, value, TTL, priority.
    pub row: RecordRow,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// A page of a list: rows `offset..offset + limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows skipped.
    pub offset: i64,
    /// Rows at most.
    pub limit: i64,
}

/// Which records to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordFilter<'a> {
    /// Records of this owner's zones.
    pub owner_id: i64,
    /// Only this zone (uuid).
    pub zone_uuid: Option<&'a str>,
    /// Only this type.
    pub record_type: Option<&'a str>,
    /// Only the record with this uuid.
    pub record_uuid: Option<&'a str>,
    /// Only these zones (domains) of the owner's, for a token limited to
    /// them; empty: all.
    pub zones: &'a [String],
}

/// The SQL condition that zone `column` is one of a token's zones, bound
/// as the comma-joined list (empty: every zone).
pub(super) fn in_scope(column: &str, parameter: &str) -> String {
    format!(
        "({parameter} = '' OR instr(',' || {parameter} || ',', ',' || lower({column}) || ',') > 0)"
    )
}

/// One listed record, borrowing from the page it was read in: the list
/// query returns each as a JSON array in this order (uuids in hex).
#[derive(Debug, serde::Deserialize)]
pub struct RecordView<'a> {
    /// Row id.
    pub id: i64,
    #[serde(borrow)]
    uuid: Cow<'a, str>,
    #[serde(borrow)]
    zone_uuid: Cow<'a, str>,
    /// Owner name relative to the zone.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Type mnemonic.
    #[serde(borrow)]
    pub record_type: Cow<'a, str>,
    /// Value in presentation form.
    #[serde(borrow)]
    pub value: Cow<'a, str>,
    /// TTL.
    pub ttl: u32,
    /// MX/SRV priority.
    pub priority: Option<u16>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl RecordView<'_> {
    /// The record's uuid.
    pub fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::try_parse(&self.uuid).unwrap_or_default()
    }

    /// Its zone's uuid.
    pub fn zone_uuid(&self) -> uuid::Uuid {
        uuid::Uuid::try_parse(&self.zone_uuid).unwrap_or_default()
    }
}

/// One page of listed records as SQLite returned it: JSON text, decoded
/// when it is used. A zone of 100,000 records is then a few strings rather
/// than 100,000 Rust values.
#[derive(Debug)]
pub struct RecordPage(String);

impl RecordPage {
    /// The page's records, in order.
    pub fn records(&self) -> Result<Vec<RecordView<'_>>, StoreError> {
        serde_json::from_str(&self.0)
            .map_err(|e| StoreError::Db(sqlx::Error::Decode(e.to_string().into())))
    }
}

/// Listed records, arriving a page at a time from a task that reads them
/// in one read transaction: the first page can go out to the client while
/// SQLite reads the next. The transaction never waits for the client.
#[derive(Debug)]
pub struct RecordStream {
    /// Records the pages will hold.
    pub count: usize,
    /// Records matching the filter (more than `count` when paginated).
    pub total: i64,
    pages: tokio::sync::mpsc::UnboundedReceiver<Result<RecordPage, StoreError>>,
}

impl RecordStream {
    fn empty() -> RecordStream {
        RecordStream {
            count: 0,
            total: 0,
            pages: tokio::sync::mpsc::unbounded_channel().1,
        }
    }

    /// The next page; `None` after the last.
    pub async fn next_page(&mut self) -> Option<Result<RecordPage, StoreError>> {
        self.pages.recv().await
    }
}

/// Rows per page of a listing: small enough that writing one page out
/// overlaps well with reading the next.
const LIST_PAGE: i64 = 5_000;

/// A uuid given as text, as the blob the store keeps (an impossible
/// value when it is not a uuid, so that it matches nothing).
pub(super) fn uuid_blob(text: &str) -> Vec<u8> {
    uuid::Uuid::parse_str(text).map_or_else(|_| vec![0xff; 17], |u| u.as_bytes().to_vec())
}

impl Store {
    /// Records of the caller's zones, filtered, in id order (a zone's
    /// records in the order they were stored), with their count.
    pub async fn record_stream(
        &self,
        filter: RecordFilter<'_>,
        page: Option<Page>,
    ) -> Result<RecordStream, StoreError> {
        let mut tx = self.pool.begin().await?;
        // With a zone, its id first: then the records come straight from
        // the (zone, id) index, in order, with nothing to sort or join,
        // and the zone's uuid is a constant.
        let zone: Option<(i64, String)> = match filter.zone_uuid {
            Some(uuid) => {
                let zone = sqlx::query_as(&format!(
                    "SELECT id, hex(uuid) FROM zones WHERE uuid = ? AND owner_id = ? AND {}",
                    in_scope("domain", "?3")
                ))
                .bind(uuid_blob(uuid))
                .bind(filter.owner_id)
                .bind(filter.zones.join(","))
                .fetch_optional(&mut *tx)
                .await?;
                match zone {
                    Some(zone) => Some(zone),
                    None => return Ok(RecordStream::empty()),
                }
            }
            None => None,
        };
        let (zone_id, zone_hex) = zone.unzip();
        let (from, zone_hex_column, mut conditions) = match zone_id {
            Some(_) => (
                "records r",
                "?7",
                "r.zone_id = ?1 AND (?2 IS NULL OR r.record_type = ?2 COLLATE NOCASE)".to_string(),
            ),
            None => (
                "records r JOIN zones z ON z.id = r.zone_id",
                "hex(z.uuid)",
                format!(
                    "z.owner_id = ?3 AND (?2 IS NULL OR r.record_type = ?2 COLLATE NOCASE) AND {}",
                    in_scope("z.domain", "?9")
                ),
            ),
        };
        // Written out only when asked for, so that the uuid index serves it.
        let record_uuid = filter.record_uuid.map(uuid_blob);
        if record_uuid.is_some() {
            conditions.push_str(" AND r.uuid = ?6");
        }
        let record_type = filter.record_type.map(str::to_string);
        let owner_id = filter.owner_id;
        let scope = filter.zones.join(",");
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {from} WHERE {conditions}"))
                .bind(zone_id)
                .bind(&record_type)
                .bind(owner_id)
                .bind(0i64)
                .bind(0i64)
                .bind(&record_uuid)
                .bind(&zone_hex)
                .bind(0i64)
                .bind(&scope)
                .fetch_one(&mut *tx)
                .await?;
        let page = page.unwrap_or(Page {
            offset: 0,
            limit: i64::MAX,
        });
        let count = total.saturating_sub(page.offset).clamp(0, page.limit);
        // Each page is one JSON array built by SQLite: a zone of 100,000
        // records comes back in a few rows instead of 100,000 through sqlx.
        // After the first page, the next starts after the last id read, so
        // no page scans the rows before it again.
        let sql = format!(
            "SELECT json_group_array(json_array(id, hex(uuid), zone_hex, name, record_type, \
             value, ttl, priority, created_at, updated_at)), max(id), count(*) \
             FROM (SELECT r.*, {zone_hex_column} AS zone_hex FROM {from} \
             WHERE {conditions} AND r.id > ?8 ORDER BY r.id LIMIT ?4 OFFSET ?5)"
        );
        let (sender, pages) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut offset = page.offset;
            let mut after = i64::MIN;
            let mut left = count;
            while left > 0 {
                let limit = left.min(LIST_PAGE);
                let read: Result<(Option<String>, Option<i64>, i64), _> = sqlx::query_as(&sql)
                    .bind(zone_id)
                    .bind(&record_type)
                    .bind(owner_id)
                    .bind(limit)
                    .bind(offset)
                    .bind(&record_uuid)
                    .bind(&zone_hex)
                    .bind(after)
                    .bind(&scope)
                    .fetch_one(&mut *tx)
                    .await;
                let (json, last, read) = match read {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = sender.send(Err(e.into()));
                        return;
                    }
                };
                if read > 0
                    && sender
                        .send(Ok(RecordPage(json.unwrap_or_default())))
                        .is_err()
                {
                    return; // Nobody listens any more.
                }
                match last {
                    Some(last) if read == limit => after = last,
                    _ => break,
                }
                offset = 0;
                left -= read;
            }
            let _ = tx.commit().await;
        });
        Ok(RecordStream {
            count: count as usize,
            total,
            pages,
        })
    }

    /// The caller's record with this uuid, in one of `zones` (domains;
    /// empty: any of the owner's).
    pub async fn record(
        &self,
        owner_id: i64,
        zones: &[String],
        uuid: &str,
    ) -> Result<StoredRow, StoreError> {
        let filter = RecordFilter {
            owner_id,
            zones,
            record_uuid: Some(uuid),
            ..RecordFilter::default()
        };
        let mut pages = self.record_stream(filter, None).await?;
        while let Some(page) = pages.next_page().await {
            if let Some(r) = page?.records()?.into_iter().next() {
                return Ok(StoredRow {
                    id: r.id,
                    uuid: r.uuid(),
                    zone_uuid: r.zone_uuid(),
                    row: RecordRow {
                        name: r.name.into_owned(),
                        record_type: r.record_type.into_owned(),
                        value: r.value.into_owned(),
                        ttl: r.ttl,
                        priority: r.priority,
                    },
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                });
            }
        }
        Err(StoreError::UnknownRecord(uuid.to_string()))
    }

    /// Adds a record to the owner's zone `zone_uuid`, or with `replacing`,
    /// puts it in place of that record (of the same zone). `make_row`
    /// makes the record from the zone's domain (it validates the input).
    /// Finding the zone, bumping its version, the zone rules (see
    /// [`rules`](super::rules)), the RRset's TTL, the write and the change
    /// log are one transaction; an error anywhere rolls it back. It is a
    /// batch of one change ([`Store::write_batch`]): one path for both.
    ///
    /// An RRset has one TTL (RFC 2181 §5.2): a record written with a TTL
    /// gives it to its whole RRset (the other records change with it, each
    /// logged); one written without joins its RRset's TTL.
    pub async fn write_record<E: From<StoreError>>(
        &self,
        owner_id: i64,
        zone_uuid: &str,
        replacing: Option<&StoredRow>,
        actor: &str,
        make_row: impl FnOnce(&str) -> Result<RecordWrite, E>,
    ) -> Result<Written, E> {
        let change = |domain: &str| -> Result<Vec<BatchChange>, E> {
            let write = make_row(domain)?;
            Ok(vec![match replacing {
                Some(old) => BatchChange::Replace {
                    old: old.clone(),
                    write,
                },
                None => BatchChange::Create(write),
            }])
        };
        let done = self
            .write_batch(owner_id, zone_uuid, actor, Commit::Store, change)
            .await
            .map_err(BatchFailure::into_plain)?;
        let deploy_error = done.deploy_error;
        match done.changes.into_iter().next() {
            Some(ChangeDone {
                mut written,
                retimed,
                ..
            }) if written.len() == 1 => Ok(Written {
                record: written.remove(0),
                retimed,
                deploy_error,
            }),
            _ => Err(StoreError::UnknownZone(zone_uuid.to_string()).into()),
        }
    }

    /// Deletes the owner's record, bumping its zone's version and logging
    /// it. A delete that would make the zone one named refuses (the last
    /// address of an in-zone name server, say) is refused. Returns the
    /// zone's last deploy error, if its last deploy failed.
    pub async fn delete_record(
        &self,
        owner_id: i64,
        record: &StoredRow,
        actor: &str,
    ) -> Result<Option<String>, StoreError> {
        let change = |_: &str| Ok::<_, StoreError>(vec![BatchChange::Delete(record.clone())]);
        let zone_uuid = record.zone_uuid.to_string();
        let done = self
            .write_batch(owner_id, &zone_uuid, actor, Commit::Store, change)
            .await
            .map_err(BatchFailure::into_plain)?;
        Ok(done.deploy_error)
    }

    /// Applies `changes` (made by `make_changes` from the zone's domain,
    /// which validates the input) to the owner's zone `zone_uuid`, all or
    /// nothing: one transaction, one version bump, so one deploy and one
    /// new serial. Each change goes through the same steps as a single
    /// write (its own rules, the RRset's TTL, the change log), seeing the
    /// changes before it; the zone rules then judge the batch as a whole.
    /// With [`Commit::DryRun`], the zone before and after is read inside
    /// the transaction and everything is rolled back.
    ///
    /// The rows go one statement each: they need their ids for the rules
    /// and the change log, and inside one transaction SQLite writes a
    /// thousand small statements in milliseconds; it is the commit (one
    /// fsync) that costs, and a batch has one.
    pub async fn write_batch<E>(
        &self,
        owner_id: i64,
        zone_uuid: &str,
        actor: &str,
        commit: Commit,
        make_changes: impl FnOnce(&str) -> Result<Vec<BatchChange>, E>,
    ) -> Result<BatchDone, BatchFailure<E>> {
        let store = |error| BatchFailure::Store { index: None, error };
        let mut tx = self.write().await.map_err(store)?;
        let zone = bump(&mut tx, owner_id, zone_uuid).await.map_err(store)?;
        let changes = make_changes(&zone.fields.domain).map_err(BatchFailure::Input)?;
        let (zone_id, version) = (zone.id, zone.version - 1);
        let before = match commit {
            Commit::DryRun => Some(
                load_records(&mut tx, zone_id, &zone.fields, 0)
                    .await
                    .map_err(store)?,
            ),
            Commit::Store => None,
        };
        let mut index = self.names.zones.lock().await;
        let names = zone_names(&mut index, &mut tx, zone_id, version, &zone.fields.domain)
            .await
            .map_err(store)?;
        names.mark();
        let mut batch = Batch {
            tx: &mut tx,
            zone: &zone,
            names,
            actor,
            now: now_unix(),
            added: Vec::new(),
            removed: Vec::new(),
            touched: false,
            ns_ttl: zone.fields.ns_ttl,
        };
        let applied = batch.apply_all(changes).await;
        let touched = batch.touched;
        let done = match applied {
            Ok(done) => done,
            Err(e) => {
                // The index saw some of the batch: it is put back as it was.
                if touched && let Some(names) = index.get_mut(&zone_id) {
                    names.restore();
                }
                return Err(e);
            }
        };
        let preview = match before {
            Some(before) => {
                let after = batch_preview(&mut tx, zone_id).await;
                // Nothing of a dry run is kept, in the database or the index.
                if touched && let Some(names) = index.get_mut(&zone_id) {
                    names.restore();
                }
                tx.rollback().await.map_err(|e| store(e.into()))?;
                Some(Preview {
                    before,
                    after: after.map_err(store)?,
                })
            }
            None => {
                if let Some(names) = index.get_mut(&zone_id) {
                    names.settle(zone.version);
                }
                if let Err(e) = tx.commit().await {
                    index.remove(&zone_id);
                    return Err(store(e.into()));
                }
                self.changed();
                None
            }
        };
        Ok(BatchDone {
            changes: done,
            deploy_error: zone.deploy_error,
            preview,
        })
    }
}

/// Gives the rest of an RRset the TTL of the record just written (`row`),
/// logging each change; for the apex NS set (`apex_ns_ttl` is then the
/// set's TTL so far), the zone's NS TTL too. Returns the records changed,
/// as they are now.
pub(super) async fn set_rrset_ttl(
    tx: &mut Transaction<'static, Sqlite>,
    zone: &Bumped,
    others: &[&NameEntry],
    apex_ns_ttl: Option<u32>,
    row: &RecordRow,
    actor: &str,
    now: i64,
) -> Result<Vec<RecordRow>, StoreError> {
    if apex_ns_ttl.is_some_and(|ttl| ttl != row.ttl) {
        sqlx::query("UPDATE zones SET ns_ttl = ? WHERE id = ?")
            .bind(i64::from(row.ttl))
            .bind(zone.id)
            .execute(&mut **tx)
            .await?;
    }
    let mut changed = Vec::with_capacity(others.len());
    for other in others {
        let uuid: Vec<u8> = sqlx::query_scalar(
            "UPDATE records SET ttl = ?, updated_at = ? WHERE id = ? RETURNING uuid",
        )
        .bind(i64::from(row.ttl))
        .bind(now)
        .bind(other.id)
        .fetch_one(&mut **tx)
        .await?;
        let before = other.row();
        let after = RecordRow {
            ttl: row.ttl,
            ..before.clone()
        };
        let uuid = uuid::Uuid::from_slice(&uuid).unwrap_or_default();
        let entry = ChangeEntry {
            zone_uuid: &zone.uuid,
            domain: &zone.fields.domain,
            record_uuid: Some(&uuid),
            actor,
            action: "record.update",
            before: Some(row_json(&before)),
            after: Some(row_json(&after)),
        };
        log_change(tx, entry).await?;
        changed.push(after);
    }
    Ok(changed)
}

/// The zone as a dry run left it, inside its transaction: its fields read
/// again (a write to the apex NS set changes their TTL), then its records.
async fn batch_preview(
    tx: &mut Transaction<'static, Sqlite>,
    zone_id: i64,
) -> Result<Zone, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM zones WHERE id = ?",
        zones::FIELD_COLUMNS
    ))
    .bind(zone_id)
    .fetch_one(&mut **tx)
    .await?;
    let fields = zones::zone_fields_of(&row)?;
    load_records(tx, zone_id, &fields, 0).await
}

/// Whether a batch is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Commit it.
    Store,
    /// Roll it back, and show the zone before and after it.
    DryRun,
}

/// One change of a batch, validated by the API like a single write.
#[derive(Debug, Clone)]
pub enum BatchChange {
    /// A new record.
    Create(RecordWrite),
    /// A record put in place of a stored one (keeping its uuid).
    Replace {
        /// The record replaced.
        old: StoredRow,
        /// What replaces it.
        write: RecordWrite,
    },
    /// A stored record deleted.
    Delete(StoredRow),
    /// The record of this zone with this uuid deleted.
    DeleteUuid(String),
    /// Every record at `name` (as stored: relative, or `@`) of `record_type` deleted.
    DeleteRrset {
        /// Owner name.
        name: String,
        /// Type mnemonic.
        record_type: String,
    },
    /// The RRset at `name` of `record_type` replaced by `writes`, which
    /// all have this name and type (none: the RRset is deleted).
    ReplaceRrset {
        /// Owner name.
        name: String,
        /// Type mnemonic.
        record_type: String,
        /// The new records.
        writes: Vec<RecordWrite>,
    },
}

/// What one change of a batch did.
#[derive(Debug, Clone, Default)]
pub struct ChangeDone {
    /// Records written, as stored.
    pub written: Vec<StoredRow>,
    /// Uuids of the records deleted.
    pub deleted: Vec<uuid::Uuid>,
    /// Other records whose TTL changed with their RRset's.
    pub retimed: Vec<RecordRow>,
}

/// What a batch did.
pub struct BatchDone {
    /// Each change's effect, in order.
    pub changes: Vec<ChangeDone>,
    /// The zone's last deploy error, if its last deploy failed.
    pub deploy_error: Option<String>,
    /// For a dry run: the zone before and after (nothing was stored).
    pub preview: Option<Preview>,
}

/// The zone before and after a dry run, as the deploy would render it
/// (with the stored serial: the deploy chooses the next one).
pub struct Preview {
    /// Before the batch.
    pub before: Zone,
    /// After it.
    pub after: Zone,
}

/// Why a batch was refused; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum BatchFailure<E> {
    /// `make_changes` refused the input.
    #[error("invalid input")]
    Input(E),
    /// The store refused (or failed) change `index`, or the batch as a
    /// whole when `index` is `None`.
    #[error("change {index:?}: {error}")]
    Store {
        /// The change at fault, counted from 0.
        index: Option<usize>,
        /// Why.
        #[source]
        error: StoreError,
    },
}

impl<E: From<StoreError>> BatchFailure<E> {
    /// The error of a batch of one change, without the change's index.
    fn into_plain(self) -> E {
        match self {
            BatchFailure::Input(e) => e,
            BatchFailure::Store { error, .. } => error.into(),
        }
    }
}

/// A batch being applied inside its transaction, with the zone's name
/// index following each change (so that each sees the ones before it).
struct Batch<'a> {
    tx: &'a mut Transaction<'static, Sqlite>,
    zone: &'a Bumped,
    names: &'a mut ZoneNames,
    actor: &'a str,
    now: i64,
    /// Ids and names of the rows the batch added (or rewrote).
    added: Vec<(i64, String)>,
    /// The rows it took away (or rewrote), as they were before it.
    removed: Vec<RecordRow>,
    /// True once `names` changed: on failure it is dropped.
    touched: bool,
    /// The zone's apex NS TTL, as the changes so far left it.
    ns_ttl: u32,
}

impl Batch<'_> {
    /// Applies every change, then the zone rules to the batch as a whole.
    async fn apply_all<E>(
        &mut self,
        changes: Vec<BatchChange>,
    ) -> Result<Vec<ChangeDone>, BatchFailure<E>> {
        let mut done = Vec::with_capacity(changes.len());
        for (index, change) in changes.into_iter().enumerate() {
            let result = self.apply(change).await;
            done.push(result.map_err(|error| BatchFailure::Store {
                index: Some(index),
                error,
            })?);
        }
        let removed: Vec<(i64, &str)> =
            self.added.iter().map(|(id, n)| (*id, n.as_str())).collect();
        let undo = Edit {
            removed: &removed,
            added: &self.removed,
        };
        // A batch of one change is judged as that change: its error names it.
        let index = (done.len() == 1).then_some(0);
        check_applied_rules(&self.zone.fields, self.names, &undo)
            .map_err(|error| BatchFailure::Store { index, error })?;
        Ok(done)
    }

    async fn apply(&mut self, change: BatchChange) -> Result<ChangeDone, StoreError> {
        let mut done = ChangeDone::default();
        match change {
            BatchChange::Create(write) => {
                let (row, retimed) = self.put(None, write).await?;
                done.written.push(row);
                done.retimed = retimed;
            }
            BatchChange::Replace { old, write } => {
                let (row, retimed) = self.put(Some(&old), write).await?;
                done.written.push(row);
                done.retimed = retimed;
            }
            BatchChange::Delete(record) => {
                done.deleted
                    .push(self.remove(record.id, &record.row).await?);
            }
            BatchChange::DeleteUuid(uuid) => {
                let record = self.find(&uuid).await?;
                done.deleted
                    .push(self.remove(record.id, &record.row).await?);
            }
            BatchChange::DeleteRrset { name, record_type } => {
                done.deleted = self.remove_rrset(&name, &record_type).await?;
            }
            BatchChange::ReplaceRrset {
                name,
                record_type,
                writes,
            } => {
                done.deleted = self.remove_rrset(&name, &record_type).await?;
                for write in writes {
                    let (row, retimed) = self.put(None, write).await?;
                    done.written.push(row);
                    done.retimed.extend(retimed);
                }
            }
        }
        Ok(done)
    }

    /// The record of this zone with this uuid.
    async fn find(&mut self, uuid: &str) -> Result<StoredRow, StoreError> {
        use sqlx::Row;
        let unknown = || StoreError::UnknownRecord(uuid.to_string());
        let row = sqlx::query(
            "SELECT id, name, record_type, value, ttl, priority, created_at, updated_at \
             FROM records WHERE uuid = ? AND zone_id = ?",
        )
        .bind(uuid_blob(uuid))
        .bind(self.zone.id)
        .fetch_optional(&mut **self.tx)
        .await?
        .ok_or_else(unknown)?;
        Ok(StoredRow {
            id: row.try_get("id")?,
            uuid: uuid::Uuid::parse_str(uuid).map_err(|_| unknown())?,
            zone_uuid: self.zone.uuid,
            row: RecordRow {
                name: row.try_get("name")?,
                record_type: row.try_get("record_type")?,
                value: row.try_get("value")?,
                ttl: row.try_get("ttl")?,
                priority: row.try_get("priority")?,
            },
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Writes one record: new, or in place of `replacing`. Its own rules
    /// and the RRset's TTL are checked here; the zone rules at the end.
    async fn put(
        &mut self,
        replacing: Option<&StoredRow>,
        write: RecordWrite,
    ) -> Result<(StoredRow, Vec<RecordRow>), StoreError> {
        let RecordWrite { mut row, ttl_given } = write;
        let zone = self.zone;
        let except = replacing.map(|r| r.id);
        let at_apex = name_key(&row.name, &zone.fields.domain) == "@";
        check_record(self.names.at(&row.name), &row, at_apex, except)?;
        // The rest of the RRset the record joins.
        let same_set: Vec<NameEntry> = (self.names.at(&row.name).iter())
            .filter(|e| {
                Some(e.id) != except && e.record_type.eq_ignore_ascii_case(&row.record_type)
            })
            .cloned()
            .collect();
        let apex_ns = at_apex && row.record_type.eq_ignore_ascii_case("NS");
        let set_ttl = match (apex_ns, same_set.last()) {
            (true, _) => Some(self.ns_ttl),
            (false, Some(last)) => Some(last.ttl),
            (false, None) => None,
        };
        if let (false, Some(ttl)) = (ttl_given, set_ttl) {
            row.ttl = ttl;
        }
        let now = self.now;
        let (id, uuid, action) = match replacing {
            Some(old) => {
                let update = sqlx::query(
                    "UPDATE records SET name = ?, record_type = ?, value = ?, ttl = ?, \
                     priority = ?, updated_at = ? WHERE id = ? AND zone_id = ?",
                );
                let updated = bind_content(update, &row)
                    .bind(now)
                    .bind(old.id)
                    .bind(zone.id)
                    .execute(&mut **self.tx)
                    .await?;
                // Deleted since it was read: nothing to replace.
                if updated.rows_affected() == 0 {
                    return Err(StoreError::UnknownRecord(old.uuid.to_string()));
                }
                (old.id, old.uuid, "record.update")
            }
            None => {
                let uuid = uuid::Uuid::now_v7();
                let sql = insert_sql(1);
                let id = bind_row(sqlx::query(&sql), uuid, zone.id, &row, now)
                    .execute(&mut **self.tx)
                    .await?
                    .last_insert_rowid();
                (id, uuid, "record.create")
            }
        };
        let entry = ChangeEntry {
            zone_uuid: &zone.uuid,
            domain: &zone.fields.domain,
            record_uuid: Some(&uuid),
            actor: self.actor,
            action,
            before: replacing.map(|old| row_json(&old.row)),
            after: Some(row_json(&row)),
        };
        log_change(self.tx, entry).await?;
        let retimed: Vec<&NameEntry> = match set_ttl {
            Some(ttl) if ttl != row.ttl => same_set.iter().collect(),
            _ => Vec::new(),
        };
        let retimed_rows = self.set_rrset_ttl(&retimed, apex_ns, &row).await?;
        if apex_ns {
            self.ns_ttl = row.ttl;
        }
        self.touched = true;
        if let Some(old) = replacing {
            self.names.remove(old.id, &old.row.name);
            self.forget(old.id, &old.row);
        }
        let ids: Vec<i64> = retimed.iter().map(|e| e.id).collect();
        self.names.set_ttl(&ids, &row.name, row.ttl);
        self.names.add(NameEntry::new(id, &row));
        self.added.push((id, row.name.clone()));
        let record = StoredRow {
            id,
            uuid,
            zone_uuid: zone.uuid,
            row,
            created_at: replacing.map_or(now, |old| old.created_at),
            updated_at: now,
        };
        Ok((record, retimed_rows))
    }

    /// Gives the rest of an RRset the TTL of the record just written (`row`),
    /// logging each change; for the apex NS set, the zone's NS TTL too
    /// (as the batch so far left it).
    /// Returns the records changed, as they are now.
    async fn set_rrset_ttl(
        &mut self,
        others: &[&NameEntry],
        apex_ns: bool,
        row: &RecordRow,
    ) -> Result<Vec<RecordRow>, StoreError> {
        let apex_ns_ttl = apex_ns.then_some(self.ns_ttl);
        set_rrset_ttl(
            self.tx,
            self.zone,
            others,
            apex_ns_ttl,
            row,
            self.actor,
            self.now,
        )
        .await
    }

    /// Notes that row `id` (as `row`) is gone: a row this batch added is
    /// simply no longer added; a stored one was taken away.
    fn forget(&mut self, id: i64, row: &RecordRow) {
        match self.added.iter().position(|(a, _)| *a == id) {
            Some(at) => {
                self.added.swap_remove(at);
            }
            None => self.removed.push(row.clone()),
        }
    }

    /// Deletes one record; returns its uuid.
    async fn remove(&mut self, id: i64, row: &RecordRow) -> Result<uuid::Uuid, StoreError> {
        let zone = self.zone;
        let uuid: Option<Vec<u8>> =
            sqlx::query_scalar("DELETE FROM records WHERE id = ? AND zone_id = ? RETURNING uuid")
                .bind(id)
                .bind(zone.id)
                .fetch_optional(&mut **self.tx)
                .await?;
        let uuid = uuid
            .and_then(|u| uuid::Uuid::from_slice(&u).ok())
            .ok_or_else(|| StoreError::UnknownRecord(id.to_string()))?;
        let entry = ChangeEntry {
            zone_uuid: &zone.uuid,
            domain: &zone.fields.domain,
            record_uuid: Some(&uuid),
            actor: self.actor,
            action: "record.delete",
            before: Some(row_json(row)),
            after: None,
        };
        log_change(self.tx, entry).await?;
        self.touched = true;
        self.names.remove(id, &row.name);
        self.forget(id, row);
        Ok(uuid)
    }

    /// Deletes the RRset at `name` of `record_type` (which may be empty).
    async fn remove_rrset(
        &mut self,
        name: &str,
        record_type: &str,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        let set: Vec<NameEntry> = (self.names.at(name).iter())
            .filter(|e| e.record_type.eq_ignore_ascii_case(record_type))
            .cloned()
            .collect();
        let mut deleted = Vec::with_capacity(set.len());
        for entry in set {
            deleted.push(self.remove(entry.id, &entry.row()).await?);
        }
        Ok(deleted)
    }
}

/// A record to write, as the API made it from a request.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// The record. Its TTL is used as given only with `ttl_given`, or when
    /// it starts a new RRset.
    pub row: RecordRow,
    /// The request set the TTL, which then becomes the RRset's.
    pub ttl_given: bool,
}

/// A record written, and what else the write changed.
#[derive(Debug, Clone)]
pub struct Written {
    /// The record as stored.
    pub record: StoredRow,
    /// Other records of its RRset whose TTL changed with it.
    pub retimed: Vec<RecordRow>,
    /// The zone's last deploy error, if its last deploy failed: named
    /// still serves the version before it.
    pub deploy_error: Option<String>,
}

pub(super) fn row_json(row: &RecordRow) -> serde_json::Value {
    serde_json::json!({
        "name": row.name,
        "record_type": row.record_type,
        "value": row.value,
        "ttl": row.ttl,
        "priority": row.priority,
    })
}

/// The zone a record write belongs to, after its version was bumped.
pub(super) struct Bumped {
    pub(super) id: i64,
    /// The new version.
    pub(super) version: i64,
    pub(super) uuid: uuid::Uuid,
    pub(super) fields: ZoneFields,
    /// Why the last deploy failed, if it did.
    pub(super) deploy_error: Option<String>,
}

/// Finds the owner's zone and bumps its version, first thing in a write
/// transaction and in one statement (a write that is then refused rolls
/// it back with everything else). Another owner's zone is unknown.
pub(super) async fn bump(
    tx: &mut Transaction<'static, Sqlite>,
    owner_id: i64,
    zone_uuid: &str,
) -> Result<Bumped, StoreError> {
    use sqlx::Row;
    let zone = sqlx::query(&format!(
        "UPDATE zones SET version = version + 1, deploy_state = 'pending', updated_at = ? \
         WHERE uuid = ? AND owner_id = ? RETURNING id, version, uuid, deploy_error, {}",
        zones::FIELD_COLUMNS
    ))
    .bind(now_unix())
    .bind(uuid_blob(zone_uuid))
    .bind(owner_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::UnknownZone(zone_uuid.to_string()))?;
    Ok(Bumped {
        id: zone.try_get("id")?,
        version: zone.try_get("version")?,
        uuid: uuid::Uuid::from_slice(zone.try_get::<&[u8], _>("uuid")?).unwrap_or_default(),
        fields: zones::zone_fields_of(&zone)?,
        deploy_error: zone.try_get("deploy_error")?,
    })
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
