//! Zones and their records: save (create or replace) and load.
//!
//! A save is one transaction: a reader sees the old zone or the new one,
//! never a mix. Replacing keeps the zone's uuid, and keeps the uuid and
//! `created_at` of every record that is still there (same name, type,
//! value and priority; a new TTL is an update), so API clients' references
//! survive a re-import. Nothing changes, not even the version, when the
//! new content equals the stored one.

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};

use super::changes::{ChangeEntry, log_change};
use super::records::{
    Page, Preview, delete_rows, existing_rows, insert_rows, load_records, update_ttls, uuid_blob,
};
use super::shape::{self, RecordRow, Soa, ZoneFields};
use super::{Store, StoreError, User, iso8601, now_unix, uuid_text};
use crate::zone::Zone;

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
pub type AcceptZone<'a> = dyn FnMut(&Zone) -> Result<(), String> + Send + 'a;

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

/// The record count column of [`zone_query`].
const COUNT_COLUMN: &str =
    "(SELECT COUNT(*) FROM records r WHERE r.zone_id = z.id) AS record_count";

/// The SELECT that every zone query shares; `filter` is its WHERE clause.
fn zone_query(filter: &str) -> String {
    format!(
        "SELECT z.id, z.uuid, u.name AS owner, z.domain, z.soa_ttl, z.soa_mname, z.soa_rname, \
         z.serial, z.refresh, z.retry, z.expire, z.minimum, z.default_ttl, z.nameservers, \
         z.ns_ttl, z.version, z.deployed_version, z.deploy_state, z.deploy_error, \
         z.deployed_serial, z.deployed_at, z.created_at, z.updated_at, {COUNT_COLUMN} \
         FROM zones z JOIN users u ON u.id = z.owner_id {filter}"
    )
}

impl Store {
    /// Creates or replaces a zone with `fields` and `rows`, in one
    /// transaction. `progress` is told how many rows have been written.
    /// `accept`, if given, is shown the zone as read back from the
    /// database inside the transaction, before it commits: an `Err` rolls
    /// the save back ([`StoreError::Rejected`]). Import's proof runs there.
    pub async fn save_zone(
        &self,
        request: SaveRequest<'_>,
        rows: impl Iterator<Item = RecordRow>,
        progress: &mut (dyn FnMut(usize) + Send),
        accept: Option<&mut AcceptZone<'_>>,
    ) -> Result<Saved, StoreError> {
        let mut tx = self.write().await?;
        let (saved, zone_id) = save_in(&mut tx, &request, rows, progress).await?;
        if let Some(accept) = accept {
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
        self.changed();
        Ok(saved)
    }

    /// What [`Store::save_zone`] would do, rolled back: what it would
    /// report, and the zone before and after (a dry run of an import).
    pub async fn preview_save(
        &self,
        request: SaveRequest<'_>,
        rows: impl Iterator<Item = RecordRow>,
    ) -> Result<(Saved, Preview), StoreError> {
        let mut tx = self.write().await?;
        let before = match zone_row(&mut tx, &request.fields.domain).await? {
            Some(old) => load_records(&mut tx, old.id, &old.fields, 0).await?,
            None => no_zone(&request.fields.domain)?,
        };
        let (saved, zone_id) = save_in(&mut tx, &request, rows, &mut |_| {}).await?;
        let after = load_records(&mut tx, zone_id, request.fields, saved.records).await?;
        tx.rollback().await?;
        Ok((saved, Preview { before, after }))
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

    /// The zone by uuid as named serves it or is about to: the stored
    /// records with the SOA serial of the last deploy when that is above
    /// the stored one (a deploy of this very content may not have
    /// recorded it in the zone's fields yet). What export and AXFR send.
    pub async fn served_zone(&self, uuid: &str) -> Result<(ZoneInfo, Zone), StoreError> {
        let (info, mut zone) = self.load_zone(uuid).await?;
        let stored = info.fields.soa.serial;
        if let Some(deployed) = info.deployed_serial.and_then(|s| u32::try_from(s).ok())
            && crate::zone::serial::serial_gt(deployed, stored)
        {
            zone.set_soa_serial(deployed);
        }
        Ok((info, zone))
    }
}

/// A zone as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ZoneSummary {
    /// Stable identifier.
    pub uuid: String,
    /// The zone's name without the final dot.
    pub domain: String,
    /// When it was created (ISO 8601).
    pub created_at: String,
    /// Records, SOA and apex NS not counted.
    pub record_count: i64,
}

/// One change-log entry, as `zone history` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// When (ISO 8601).
    pub at: String,
    /// Who (`cli:root`, `token:vps_1234abcd (alice)`).
    pub actor: String,
    /// What (`import`, `replace`, `zone.create`, `record.update`, …).
    pub action: String,
    /// The record concerned, if any.
    pub record_uuid: Option<String>,
    /// The state before, as JSON.
    pub before: Option<String>,
    /// The state after, as JSON.
    pub after: Option<String>,
}

impl Store {
    /// The zones of `owner_id`, by domain, optionally only `domain`, with
    /// the total count; only those in `zones` unless it is empty (a token
    /// limited to some zones).
    pub async fn owned_zones(
        &self,
        owner_id: i64,
        zones: &[String],
        domain: Option<&str>,
        page: Option<Page>,
    ) -> Result<(Vec<ZoneSummary>, i64), StoreError> {
        let key = domain.map(domain_key);
        let domain = key.as_deref();
        let scope = zones.join(",");
        let mut tx = self.pool.begin().await?;
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM zones WHERE owner_id = ?1 AND (?2 IS NULL OR domain = ?2) AND {}",
            super::records::in_scope("domain", "?3")
        ))
        .bind(owner_id)
        .bind(domain)
        .bind(&scope)
        .fetch_one(&mut *tx)
        .await?;
        let page = page.unwrap_or(Page {
            offset: 0,
            limit: -1,
        });
        let rows = sqlx::query(&format!(
            "SELECT z.uuid, z.domain, z.created_at, \
             (SELECT count(*) FROM records r WHERE r.zone_id = z.id) AS record_count \
             FROM zones z WHERE z.owner_id = ?1 AND (?2 IS NULL OR z.domain = ?2) AND {} \
             ORDER BY z.domain LIMIT ?4 OFFSET ?5",
            super::records::in_scope("z.domain", "?3")
        ))
        .bind(owner_id)
        .bind(domain)
        .bind(&scope)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let zones = rows
            .iter()
            .map(|row| {
                Ok(ZoneSummary {
                    uuid: uuid_text(row.try_get("uuid")?),
                    domain: row.try_get("domain")?,
                    created_at: iso8601(row.try_get("created_at")?),
                    record_count: row.try_get("record_count")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((zones, total))
    }

    /// The zone with this uuid if `owner_id` owns it.
    pub async fn owned_zone(&self, owner_id: i64, uuid: &str) -> Result<ZoneInfo, StoreError> {
        // Without the record count: every API request on a zone asks,
        // and counting a large zone's records each time is not free.
        let sql = zone_query("WHERE z.uuid = ? AND z.owner_id = ?")
            .replace(COUNT_COLUMN, "0 AS record_count");
        let row = sqlx::query(&sql)
            .bind(uuid_blob(uuid))
            .bind(owner_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => zone_info(&row),
            None => Err(StoreError::UnknownZone(uuid.to_string())),
        }
    }

    /// The zone of `owner_id` that holds `name` (a domain, any case, with
    /// or without the final dot): the longest of its zones that is `name`
    /// or above it, in one query (the DNS listener asks for every
    /// request). Without the record count, as [`Store::owned_zone`].
    pub async fn owned_zone_holding(
        &self,
        owner_id: i64,
        name: &str,
    ) -> Result<Option<ZoneInfo>, StoreError> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut candidates = vec![name.as_str()];
        let mut rest = name.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            candidates.push(parent);
            rest = parent;
        }
        let slots = vec!["?"; candidates.len()].join(", ");
        let sql = zone_query(&format!(
            "WHERE z.owner_id = ? AND z.domain IN ({slots}) ORDER BY length(z.domain) DESC LIMIT 1"
        ))
        .replace(COUNT_COLUMN, "0 AS record_count");
        let mut query = sqlx::query(&sql).bind(owner_id);
        for candidate in candidates {
            query = query.bind(candidate);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(zone_info).transpose()
    }

    /// Creates an empty zone (its SOA and NS in `fields`) for `owner`,
    /// refusing a domain that exists, or that is inside or above another
    /// user's zone (it would take over part of their namespace).
    pub async fn create_zone(
        &self,
        owner: &User,
        fields: &ZoneFields,
        actor: &str,
    ) -> Result<ZoneInfo, StoreError> {
        let mut tx = self.write().await?;
        let info = create_zone_in(&mut tx, owner, fields, actor).await?;
        tx.commit().await?;
        self.changed();
        Ok(info)
    }

    /// What [`Store::create_zone`] would do, rolled back: the zone it
    /// would create, and the zone before (none) and after.
    pub async fn preview_create_zone(
        &self,
        owner: &User,
        fields: &ZoneFields,
        actor: &str,
    ) -> Result<(ZoneInfo, Preview), StoreError> {
        let mut tx = self.write().await?;
        let info = create_zone_in(&mut tx, owner, fields, actor).await?;
        let after = load_records(&mut tx, info.id, &info.fields, 0).await?;
        tx.rollback().await?;
        let before = no_zone(&fields.domain)?;
        Ok((info, Preview { before, after }))
    }

    /// Deletes a zone and its records; the change log keeps its history.
    pub async fn delete_zone(&self, zone: &ZoneInfo, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records WHERE zone_id = ?")
            .bind(zone.id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM zones WHERE id = ?")
            .bind(zone.id)
            .execute(&mut *tx)
            .await?;
        let uuid = uuid::Uuid::parse_str(&zone.uuid).unwrap_or_default();
        let entry = ChangeEntry {
            zone_uuid: &uuid,
            domain: &zone.fields.domain,
            record_uuid: None,
            actor,
            action: "zone.delete",
            before: Some(serde_json::json!({
                "serial": zone.fields.soa.serial,
                "records": records,
            })),
            after: None,
        };
        log_change(&mut tx, entry).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// The change log of the zone named by `key` (uuid or domain), oldest
    /// first; a deleted zone's history is found by its uuid or its domain.
    pub async fn history(&self, key: &str) -> Result<Vec<Change>, StoreError> {
        let domain = domain_key(key);
        let rows = sqlx::query(
            "SELECT at, actor, action, record_uuid, before, after FROM change_log \
             WHERE zone_uuid = ? OR domain = ? COLLATE NOCASE ORDER BY id",
        )
        .bind(uuid_blob(key))
        .bind(domain)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Change {
                    at: iso8601(row.try_get("at")?),
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    record_uuid: row
                        .try_get::<Option<Vec<u8>>, _>("record_uuid")?
                        .map(|b| uuid_text(&b)),
                    before: row.try_get("before")?,
                    after: row.try_get("after")?,
                })
            })
            .collect()
    }
}

/// A zone name as users write it, as the `domain` column holds it: in its
/// canonical form where it has one (`Bücher.Example.` →
/// `xn--bcher-kva.example`, as the API stores it), else (a uuid, the root,
/// an imported name that is not LDH) without the final dot.
fn domain_key(text: &str) -> String {
    crate::zone::domain::canonical(text).unwrap_or_else(|_| {
        text.strip_suffix('.')
            .filter(|d| !d.is_empty())
            .unwrap_or(text)
            .to_string()
    })
}

async fn zone_by_key(conn: &mut sqlx::SqliteConnection, key: &str) -> Result<ZoneInfo, StoreError> {
    let domain = domain_key(key);
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

/// The save of [`Store::save_zone`], inside its transaction: the report
/// and the zone's row id.
async fn save_in(
    tx: &mut Transaction<'static, Sqlite>,
    request: &SaveRequest<'_>,
    rows: impl Iterator<Item = RecordRow>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<(Saved, i64), StoreError> {
    match zone_row(tx, &request.fields.domain).await? {
        None => create(tx, request, rows, progress, "import").await,
        Some(_) if request.mode == SaveMode::Create => {
            Err(StoreError::ZoneExists(request.fields.domain.clone()))
        }
        Some(old) => replace(tx, request, old, rows, progress).await,
    }
}

/// A new empty zone of the API, inside a transaction: refused when it
/// exists, or overlaps another account's zone.
async fn create_zone_in(
    tx: &mut Transaction<'static, Sqlite>,
    owner: &User,
    fields: &ZoneFields,
    actor: &str,
) -> Result<ZoneInfo, StoreError> {
    // The checks below compare stored text: only the one spelling of a
    // name (`zone::domain::canonical`) may be stored through the API.
    if crate::zone::domain::canonical(&fields.domain).as_deref() != Ok(fields.domain.as_str()) {
        return Err(StoreError::Conflict {
            field: "domain",
            detail: format!("'{}' is not a zone name in canonical form", fields.domain),
        });
    }
    if zone_row(tx, &fields.domain).await?.is_some() {
        return Err(StoreError::ZoneExists(fields.domain.clone()));
    }
    // Another account's zone above this one (the root zone among them) or
    // below it. Both are index lookups: a scan of every zone cost 3 ms at
    // 10,000 zones. A canonical name is never the root, so the range below
    // is never empty.
    let above = names_above(&fields.domain);
    let below = reversed_domain(&fields.domain);
    // The keys below start with `below`, which ends with a dot: they sort
    // before the same text ending with the next character, '/'.
    let below_end = format!("{}/", &below[..below.len() - 1]);
    let sql = format!(
        "SELECT domain FROM zones WHERE owner_id != ? AND (domain IN ({}) \
           OR (reversed_domain >= ? AND reversed_domain < ?)) \
         LIMIT 1",
        vec!["?"; above.len()].join(", ")
    );
    let query = above
        .iter()
        .fold(sqlx::query_scalar(&sql).bind(owner.id), |q, name| {
            q.bind(name)
        });
    let overlap: Option<String> = query
        .bind(&below)
        .bind(&below_end)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(other) = overlap {
        return Err(StoreError::Conflict {
            field: "domain",
            detail: format!(
                "{} overlaps the zone {other}, which belongs to another account",
                fields.domain
            ),
        });
    }
    let request = SaveRequest {
        owner,
        keep_owner: false,
        fields,
        mode: SaveMode::Create,
        actor,
        source: "api",
    };
    let (saved, _) = create(tx, &request, std::iter::empty(), &mut |_| {}, "zone.create").await?;
    zone_row(tx, &fields.domain)
        .await?
        .ok_or_else(|| StoreError::UnknownZone(saved.uuid.clone()))
}

/// The names above `domain`, up to the root: `a.example.com` →
/// `example.com`, `com`, `.`.
fn names_above(domain: &str) -> Vec<&str> {
    let mut names: Vec<&str> = domain
        .match_indices('.')
        .map(|(i, _)| &domain[i + 1..])
        .collect();
    names.push(".");
    names
}

/// The key of the `reversed_domain` column: the labels of `domain` last
/// to first, each followed by a dot (`example.com` → `com.example.`; the
/// root: empty). The zones at or below a name are then one range of keys,
/// and `xample.com` (`com.xample.`) is not in the range of `example.com`.
/// Lowercase, as the `domain` column compares (NOCASE).
fn reversed_domain(domain: &str) -> String {
    domain
        .to_ascii_lowercase()
        .rsplit('.')
        .filter(|label| !label.is_empty())
        .map(|label| format!("{label}."))
        .collect()
}

/// Sets `reversed_domain` on the zones from before migration 0007, which
/// added it: SQLite has no function to reverse the labels of a name.
pub(super) async fn fill_reversed_domains(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, domain FROM zones WHERE reversed_domain IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    for (id, domain) in rows {
        sqlx::query("UPDATE zones SET reversed_domain = ? WHERE id = ?")
            .bind(reversed_domain(&domain))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The zone before one that does not exist yet: no records at all.
fn no_zone(domain: &str) -> Result<Zone, StoreError> {
    let origin = crate::zone::Name::from_ascii(&format!("{}.", domain.trim_end_matches('.')))
        .map_err(|e| StoreError::Conflict {
            field: "domain",
            detail: format!("'{domain}' is not a domain name: {e}"),
        })?;
    Ok(Zone::new(origin, crate::zone::Class::IN))
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
    Ok(ZoneInfo {
        id: row.try_get("id")?,
        uuid: uuid_text(row.try_get("uuid")?),
        owner: row.try_get("owner")?,
        fields: zone_fields_of(row)?,
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

/// The zone-level fields of a row that has the [`ZONE_FIELD_COLUMNS`].
pub(super) fn zone_fields_of(row: &SqliteRow) -> Result<ZoneFields, StoreError> {
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
    Ok(ZoneFields {
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
    })
}

/// The zone-level columns, comma-separated, for a SELECT or RETURNING.
pub(super) const FIELD_COLUMNS: &str = "domain, soa_ttl, soa_mname, soa_rname, serial, refresh, \
    retry, expire, minimum, default_ttl, nameservers, ns_ttl";

/// Binds the zone-level fields in the order of [`ZONE_FIELD_COLUMNS`].
fn bind_fields<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    fields: &'q ZoneFields,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    query
        .bind(&fields.domain)
        .bind(reversed_domain(&fields.domain))
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
const ZONE_FIELD_COLUMNS: [&str; 13] = [
    "domain",
    "reversed_domain",
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
    progress: &mut (dyn FnMut(usize) + Send),
    action: &str,
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
        record_uuid: None,
        actor: request.actor,
        action,
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
    progress: &mut (dyn FnMut(usize) + Send),
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
        record_uuid: None,
        actor: request.actor,
        action: "replace",
        before: Some(before),
        after: Some(after),
    };
    log_change(tx, entry).await?;
    Ok((saved, old.id))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::render::{Template, render_to_vec};
    use crate::store::{RecordFilter, RecordWrite, StoredRow};
    use sqlx::SqlitePool;

    const ZONE: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n\
        ns1 A 192.0.2.1\nwww A 192.0.2.2\n@ MX 10 mail\nmail A 192.0.2.3\n";

    use crate::render::order::sorted_example as zone;

    async fn save(
        store: &Store,
        owner: &User,
        text: &str,
        mode: SaveMode,
        accept: Option<&mut AcceptZone<'_>>,
    ) -> Result<Saved, StoreError> {
        let zone = zone(text);
        let fields = shape::zone_fields(&zone).unwrap();
        let request = SaveRequest {
            owner,
            keep_owner: true,
            fields: &fields,
            mode,
            actor: "test",
            source: "test",
        };
        store
            .save_zone(request, shape::rows(&zone), &mut |_| {}, accept)
            .await
    }

    /// alice's store with `ZONE` saved as example.com.
    pub(in crate::store) async fn alices_zone(pool: SqlitePool) -> (Store, User, ZoneInfo) {
        let store = Store::from_pool(pool);
        let owner = store.add_user("alice").await.unwrap();
        save(&store, &owner, ZONE, SaveMode::Create, None)
            .await
            .unwrap();
        let zone = store.zone("example.com").await.unwrap();
        (store, owner, zone)
    }

    fn row(name: &str, record_type: &str, value: &str) -> RecordRow {
        RecordRow {
            name: name.into(),
            record_type: record_type.into(),
            value: value.into(),
            ttl: 300,
            priority: None,
        }
    }

    /// `row` written into `zone` (in place of `old`), as an API write
    /// makes it.
    async fn write(
        store: &Store,
        owner: &User,
        zone: &ZoneInfo,
        row: RecordRow,
        old: Option<&StoredRow>,
    ) -> Result<StoredRow, StoreError> {
        let write = RecordWrite {
            row,
            ttl_given: true,
        };
        store
            .write_record(owner.id, &zone.uuid, old, "test", |_| {
                Ok::<_, StoreError>(write)
            })
            .await
            .map(|w| w.record)
    }

    fn rendered(zone: &Zone) -> String {
        String::from_utf8(render_to_vec(zone, &Template::builtin()).unwrap()).unwrap()
    }

    #[test]
    fn reversed_domains_and_the_names_above() {
        assert_eq!(reversed_domain("www.Example.com"), "com.example.www.");
        assert_eq!(reversed_domain("."), "");
        assert_eq!(names_above("a.example.com"), ["example.com", "com", "."]);
    }

    /// `domain` with the fields of `ZONE`.
    fn fields_of(domain: &str) -> ZoneFields {
        let mut fields = shape::zone_fields(&zone(ZONE)).unwrap();
        fields.domain = domain.to_string();
        fields
    }

    async fn create_as(store: &Store, owner: &User, domain: &str) -> Result<ZoneInfo, StoreError> {
        store.create_zone(owner, &fields_of(domain), "test").await
    }

    #[track_caller]
    fn assert_overlaps(result: Result<ZoneInfo, StoreError>, other: &str) {
        match result {
            Err(StoreError::Conflict {
                field: "domain",
                detail,
            }) => {
                assert!(detail.contains(&format!("the zone {other},")), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn a_zone_may_not_overlap_another_accounts_zone(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        let bob = store.add_user("bob").await.unwrap();
        create_as(&store, &alice, "b.example.com").await.unwrap();
        // Above and below another account's zone.
        assert_overlaps(
            create_as(&store, &bob, "example.com").await,
            "b.example.com",
        );
        assert_overlaps(
            create_as(&store, &bob, "x.y.b.example.com").await,
            "b.example.com",
        );
        // The same name.
        assert!(matches!(
            create_as(&store, &bob, "b.example.com").await,
            Err(StoreError::ZoneExists(_))
        ));
        // The text ends the same, the names are siblings.
        create_as(&store, &bob, "xb.example.com").await.unwrap();
        create_as(&store, &bob, "b.example.co").await.unwrap();
        // Inside one's own zone.
        create_as(&store, &alice, "a.b.example.com").await.unwrap();
        // A root zone (only an import makes one) is above every zone.
        sqlx::query(
            "UPDATE zones SET domain = '.', reversed_domain = '' WHERE domain = 'xb.example.com'",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        assert_overlaps(create_as(&store, &alice, "other.test").await, ".");
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn zones_from_before_the_reversed_domain_get_one(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        let bob = store.add_user("bob").await.unwrap();
        create_as(&store, &alice, "example.com").await.unwrap();
        sqlx::query("UPDATE zones SET reversed_domain = NULL")
            .execute(&store.pool)
            .await
            .unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        fill_reversed_domains(&mut conn).await.unwrap();
        let key: String = sqlx::query_scalar("SELECT reversed_domain FROM zones")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(key, "com.example.");
        assert_overlaps(
            create_as(&store, &bob, "www.example.com").await,
            "example.com",
        );
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn saved_zones_load_back_and_replace_bumps_the_version_once(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let owner = store.add_user("alice").await.unwrap();
        let first = save(&store, &owner, ZONE, SaveMode::Create, None)
            .await
            .unwrap();
        assert_eq!((first.created, first.version, first.records), (true, 1, 4));
        let (info, loaded) = store.load_zone("EXAMPLE.com.").await.unwrap();
        assert_eq!(info.uuid, first.uuid);
        assert_eq!(rendered(&loaded), rendered(&zone(ZONE)));
        let again = save(&store, &owner, ZONE, SaveMode::Create, None).await;
        assert!(matches!(again, Err(StoreError::ZoneExists(_))));
        let same = save(&store, &owner, ZONE, SaveMode::Replace, None)
            .await
            .unwrap();
        assert_eq!((same.changed, same.version), (false, 1));
        // Every TTL changes (one batched update), one record goes, one comes.
        let edited = ZONE
            .replace("$TTL 300", "$TTL 60")
            .replace("www A", "web A");
        let next = save(&store, &owner, &edited, SaveMode::Replace, None)
            .await
            .unwrap();
        assert_eq!(
            (
                next.changed,
                next.version,
                next.added,
                next.removed,
                next.updated
            ),
            (true, 2, 1, 1, 3)
        );
        let (_, loaded) = store.load_zone(&first.uuid).await.unwrap();
        assert_eq!(rendered(&loaded), rendered(&zone(&edited)));
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn replace_removes_stored_duplicates(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let owner = store.add_user("alice").await.unwrap();
        save(&store, &owner, ZONE, SaveMode::Create, None)
            .await
            .unwrap();
        // A second copy of www's row, as another writer might leave it.
        sqlx::query(
            "INSERT INTO records (uuid, zone_id, name, record_type, value, ttl, priority, \
             created_at, updated_at) SELECT randomblob(16), zone_id, name, record_type, value, \
             ttl, priority, created_at, updated_at FROM records WHERE name = 'www'",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        assert_eq!(store.zone("example.com").await.unwrap().record_count, 5);
        let saved = save(&store, &owner, ZONE, SaveMode::Replace, None)
            .await
            .unwrap();
        assert_eq!((saved.changed, saved.removed, saved.records), (true, 1, 4));
        assert_eq!(store.zone("example.com").await.unwrap().record_count, 4);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn a_refused_zone_rolls_the_save_back(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let owner = store.add_user("alice").await.unwrap();
        let mut seen = String::new();
        let mut refuse = |zone: &Zone| {
            seen = rendered(zone);
            Err("no".to_string())
        };
        let result = save(&store, &owner, ZONE, SaveMode::Create, Some(&mut refuse)).await;
        assert!(
            matches!(result, Err(StoreError::Rejected { .. })),
            "{result:?}"
        );
        assert_eq!(
            seen,
            rendered(&zone(ZONE)),
            "the check saw the zone as stored"
        );
        assert!(matches!(
            store.zone("example.com").await,
            Err(StoreError::UnknownZone(_))
        ));
        let log: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(log, 0);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn record_writes_keep_the_zone_rules_across_other_writers(pool: SqlitePool) {
        let (store, owner, zone) = alices_zone(pool).await;
        let alias = row("alias", "CNAME", "www.example.com.");
        let written = write(&store, &owner, &zone, alias.clone(), None)
            .await
            .unwrap();
        let duplicate = write(&store, &owner, &zone, alias.clone(), None).await;
        assert!(matches!(
            duplicate,
            Err(StoreError::Conflict { field: "value", .. })
        ));
        let beside = write(&store, &owner, &zone, row("ALIAS", "A", "192.0.2.9"), None).await;
        assert!(matches!(
            beside,
            Err(StoreError::Conflict { field: "name", .. })
        ));
        // Another writer (an import) changes the zone behind the index's
        // back: the next write sees the new content.
        let imported = format!("{ZONE}txt TXT \"x\"\n");
        save(&store, &owner, &imported, SaveMode::Replace, None)
            .await
            .unwrap();
        let cname_at_txt = write(
            &store,
            &owner,
            &zone,
            row("txt", "CNAME", "www.example.com."),
            None,
        )
        .await;
        assert!(matches!(
            cname_at_txt,
            Err(StoreError::Conflict { field: "name", .. })
        ));
        // The import removed the alias, so an A there is fine now; deleting
        // keeps the index in step too.
        let a = write(&store, &owner, &zone, row("alias", "A", "192.0.2.9"), None)
            .await
            .unwrap();
        store.delete_record(owner.id, &a, "test").await.unwrap();
        write(&store, &owner, &zone, alias.clone(), None)
            .await
            .unwrap();
        assert_ne!(written.uuid, a.uuid);
        let history: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(
            history, 6,
            "import, record, replace, record, delete, record"
        );
        let info = store.zone("example.com").await.unwrap();
        assert_eq!(info.version, 6);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn a_record_is_found_by_its_uuid_for_its_owner_only(pool: SqlitePool) {
        let (store, owner, zone) = alices_zone(pool).await;
        let row = row("x", "A", "192.0.2.7");
        let written = write(&store, &owner, &zone, row.clone(), None)
            .await
            .unwrap();
        let found = store
            .record(owner.id, &[], &written.uuid.to_string())
            .await
            .unwrap();
        assert_eq!(found, written);
        let other = store.add_user("bob").await.unwrap();
        assert!(matches!(
            store.record(other.id, &[], &written.uuid.to_string()).await,
            Err(StoreError::UnknownRecord(_))
        ));
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn listings_span_pages_in_order_and_pages_start_where_asked(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let owner = store.add_user("alice").await.unwrap();
        // More records than one listing page holds, so that the keyset
        // continuation after the first page is exercised.
        let mut text = ZONE.to_string();
        for i in 0..12_000 {
            text.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256));
        }
        save(&store, &owner, &text, SaveMode::Create, None)
            .await
            .unwrap();
        let zone = store.zone("example.com").await.unwrap();
        let list = |page: Option<Page>| {
            let store = store.clone();
            let uuid = zone.uuid.clone();
            async move {
                let filter = RecordFilter {
                    owner_id: owner.id,
                    zone_uuid: Some(&uuid),
                    ..RecordFilter::default()
                };
                let mut stream = store.record_stream(filter, page).await.unwrap();
                let (count, total) = (stream.count, stream.total);
                let mut ids = Vec::new();
                while let Some(page) = stream.next_page().await {
                    let page = page.unwrap();
                    ids.extend(page.records().unwrap().iter().map(|r| r.id));
                }
                (count, total, ids)
            }
        };
        let (count, total, ids) = list(None).await;
        assert_eq!((count, total, ids.len()), (12_004, 12_004, 12_004));
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids in order, no repeats"
        );
        let page = |offset, limit| Some(Page { offset, limit });
        let (count, total, tail) = list(page(11_500, 1_000)).await;
        assert_eq!((count, total), (504, 12_004));
        assert_eq!(tail, ids[11_500..]);
        let (count, _, middle) = list(page(4_990, 20)).await;
        assert_eq!(count, 20);
        assert_eq!(middle, ids[4_990..5_010]);
        let (count, _, none) = list(page(20_000, 10)).await;
        assert_eq!((count, none.len()), (0, 0));
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn a_record_deleted_meanwhile_is_not_replaced(pool: SqlitePool) {
        let (store, owner, zone) = alices_zone(pool).await;
        let row = row("x", "A", "192.0.2.7");
        let written = write(&store, &owner, &zone, row.clone(), None)
            .await
            .unwrap();
        store
            .delete_record(owner.id, &written, "test")
            .await
            .unwrap();
        let version = store.zone("example.com").await.unwrap().version;
        let replaced = write(&store, &owner, &zone, row.clone(), Some(&written)).await;
        assert!(matches!(replaced, Err(StoreError::UnknownRecord(_))));
        assert!(matches!(
            store.delete_record(owner.id, &written, "test").await,
            Err(StoreError::UnknownRecord(_))
        ));
        // Both refusals rolled back: no version bump, no log entry.
        assert_eq!(store.zone("example.com").await.unwrap().version, version);
    }
}
