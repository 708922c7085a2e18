//! The zone rules an API write must keep, checked inside its transaction.
//!
//! Every write is judged on the zone as it would be after it, so that the
//! API never accepts a change named would refuse to load (the worker could
//! then never deploy that zone, nor any later change to it):
//!
//! - the record's own rules: no duplicate (RDATA compared in canonical
//!   form, RFC 4034 §6.2, so `MAIL.example.com` is `mail.example.com`), no
//!   CNAME beside other data (RFC 2181 §10.1, [`allowed_beside_cname`]);
//! - the zone rules of [`check_zone`] (apex NS targets with addresses, DS
//!   not at the apex, singletons, CDS/CDNSKEY, …), run on the names a
//!   write can affect: the written name, the apex, the in-zone targets of
//!   the apex NS set, and their ancestors and wildcards. Only errors the
//!   write brings in refuse it; an old problem does not block other writes.
//!
//! Names are compared by [`name_key`], so `WWW`, `www` and
//! `www.example.com.` are one name.

use std::collections::{HashMap, HashSet};

use sqlx::{Sqlite, Transaction};

use super::StoreError;
use super::records::for_each_record;
use super::shape::{RecordRow, ZoneBuilder, ZoneFields, parse_type, value_wire};
use crate::check::{allowed_beside_cname, check_zone};
use crate::parse::ValueParser;
use crate::zone::RType;
use crate::zone::rdata::canonical_cmp;

/// One record in the name index: what the zone rules compare.
#[derive(Debug, Clone)]
pub(super) struct NameEntry {
    pub id: i64,
    pub name: String,
    pub record_type: String,
    pub value: String,
    pub ttl: u32,
    pub priority: Option<u16>,
}

impl NameEntry {
    pub fn new(id: i64, row: &RecordRow) -> NameEntry {
        NameEntry {
            id,
            name: row.name.clone(),
            record_type: row.record_type.clone(),
            value: row.value.clone(),
            ttl: row.ttl,
            priority: row.priority,
        }
    }

    pub fn row(&self) -> RecordRow {
        RecordRow {
            name: self.name.clone(),
            record_type: self.record_type.clone(),
            value: self.value.clone(),
            ttl: self.ttl,
            priority: self.priority,
        }
    }
}

/// A stored owner name as one key per DNS name: lowercase, relative to the
/// zone (`@` for the apex). Rows are relative (`www`) or, when an import
/// spelled the zone's name in another case, absolute (`www.Example.COM.`).
pub(super) fn name_key(name: &str, domain: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let Some(absolute) = lower.strip_suffix('.') else {
        return lower;
    };
    let domain = domain.to_ascii_lowercase();
    if absolute == domain {
        return "@".into();
    }
    match absolute.strip_suffix(&domain) {
        Some(rest) if rest.ends_with('.') && !rest.ends_with("\\.") => {
            rest[..rest.len() - 1].to_string()
        }
        _ => lower,
    }
}

/// The parent of a key (`a.b` → `b`, `b` → `@`), splitting at the first
/// unescaped dot; `None` for the apex.
fn parent_key(key: &str) -> Option<&str> {
    if key == "@" {
        return None;
    }
    let bytes = key.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'.' => return Some(&key[k + 1..]),
            _ => k += 1,
        }
    }
    Some("@")
}

/// The wildcard under a key: `*.b` for `b`, `*` for the apex.
fn wildcard_key(key: &str) -> String {
    match key {
        "@" => "*".into(),
        k => format!("*.{k}"),
    }
}

/// The records of one zone by [`name_key`], as of a zone version.
#[derive(Debug, Default)]
pub(super) struct ZoneNames {
    pub version: i64,
    domain: String,
    by_name: HashMap<String, Vec<NameEntry>>,
    /// Since [`ZoneNames::mark`]: the entries of each name changed, as they
    /// were, so that a write refused (or a dry run) puts them back instead
    /// of dropping the zone's index, which the next write would then read
    /// again whole.
    saved: Option<HashMap<String, Vec<NameEntry>>>,
}

impl ZoneNames {
    /// The records at `name`.
    pub fn at(&self, name: &str) -> &[NameEntry] {
        self.by_name
            .get(&name_key(name, &self.domain))
            .map_or(&[][..], Vec::as_slice)
    }

    pub fn add(&mut self, entry: NameEntry) {
        let key = self.keep(&entry.name);
        self.by_name.entry(key).or_default().push(entry);
    }

    pub fn remove(&mut self, id: i64, name: &str) {
        let key = self.keep(name);
        if let Some(entries) = self.by_name.get_mut(&key) {
            entries.retain(|e| e.id != id);
        }
    }

    /// Starts keeping what changes, for [`ZoneNames::restore`].
    pub fn mark(&mut self) {
        self.saved = Some(HashMap::new());
    }

    /// The changes since [`ZoneNames::mark`] are committed, as `version`.
    pub fn settle(&mut self, version: i64) {
        self.version = version;
        self.saved = None;
    }

    /// Puts back every name changed since [`ZoneNames::mark`].
    pub fn restore(&mut self) {
        for (key, entries) in self.saved.take().unwrap_or_default() {
            match entries.is_empty() {
                true => self.by_name.remove(&key),
                false => self.by_name.insert(key, entries),
            };
        }
    }

    /// The key of `name`, its entries saved first if they are being kept.
    fn keep(&mut self, name: &str) -> String {
        let key = name_key(name, &self.domain);
        if let Some(saved) = &mut self.saved
            && !saved.contains_key(&key)
        {
            let entries = self.by_name.get(&key).cloned().unwrap_or_default();
            saved.insert(key.clone(), entries);
        }
        key
    }

    pub fn set_ttl(&mut self, ids: &[i64], name: &str, ttl: u32) {
        let key = self.keep(name);
        if let Some(entries) = self.by_name.get_mut(&key) {
            for e in entries.iter_mut().filter(|e| ids.contains(&e.id)) {
                e.ttl = ttl;
            }
        }
    }
}

/// Which records each zone has at each name, kept in memory by the
/// process that writes through the API: the zone rules need a name's other
/// records before every write, and reading them from SQLite would mean
/// scanning the zone (an index on names would slow every import down by
/// a third). An entry is good for one zone version; any other writer (an
/// import, another process) bumps the version, and the next write reads
/// the zone again. Checks and updates happen under the write lock.
#[derive(Debug, Default)]
pub(super) struct NameIndex {
    pub zones: tokio::sync::Mutex<HashMap<i64, ZoneNames>>,
}

/// The zone's names as of `version`, read again if the index is older.
pub(super) async fn zone_names<'a>(
    index: &'a mut HashMap<i64, ZoneNames>,
    tx: &mut Transaction<'static, Sqlite>,
    zone_id: i64,
    version: i64,
    domain: &str,
) -> Result<&'a mut ZoneNames, StoreError> {
    let fresh = index.get(&zone_id).is_some_and(|z| z.version == version);
    if !fresh {
        let mut names = ZoneNames {
            version,
            domain: domain.to_string(),
            by_name: HashMap::new(),
            saved: None,
        };
        for_each_record(tx, zone_id, |r| {
            names.add(NameEntry {
                id: r.id,
                name: r.name.into_owned(),
                record_type: r.record_type.into_owned(),
                value: r.value.into_owned(),
                ttl: r.ttl,
                priority: r.priority,
            });
            Ok(())
        })
        .await?;
        index.insert(zone_id, names);
    }
    index
        .get_mut(&zone_id)
        .ok_or_else(|| StoreError::UnknownZone(zone_id.to_string()))
}

fn conflict(field: &'static str, detail: String) -> StoreError {
    StoreError::Conflict { field, detail }
}

/// True if two values of one type are the same RDATA in canonical form
/// (names compared without case where RFC 4034 §6.2 lowercases them).
pub(super) fn same_rdata(record_type: &str, a: &str, b: &str, priority: Option<u16>) -> bool {
    if a == b {
        return true;
    }
    // Canonical forms differ only in the case of names.
    if !a.eq_ignore_ascii_case(b) {
        return false;
    }
    let Ok(rtype) = parse_type(record_type) else {
        return false;
    };
    let (mut wa, mut wb) = (Vec::new(), Vec::new());
    let (root, mut values) = (crate::zone::Name::root(), ValueParser::default());
    value_wire(&mut values, rtype, a, priority, root.wire(), &mut wa).is_ok()
        && value_wire(&mut values, rtype, b, priority, root.wire(), &mut wb).is_ok()
        && canonical_cmp(rtype, &wa, &wb).is_eq()
}

/// The record's own rules (RFC 1034 §3.6.2, RFC 2181 §10.1): no CNAME at
/// the apex, a CNAME alone at its name, no duplicate. `others` are the
/// records at the same name; `except` is the record being replaced.
pub(super) fn check_record(
    others: &[NameEntry],
    row: &RecordRow,
    at_apex: bool,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let rtype = parse_type(&row.record_type).ok();
    let is_cname = rtype == Some(RType::CNAME);
    if is_cname && at_apex {
        return Err(conflict(
            "name",
            "a CNAME cannot be at the zone apex, which holds the SOA and NS records".into(),
        ));
    }
    let beside = |t: Option<RType>| t.is_some_and(allowed_beside_cname);
    for other in others.iter().filter(|o| Some(o.id) != except) {
        let other_type = parse_type(&other.record_type).ok();
        if other_type == rtype
            && other.priority == row.priority
            && same_rdata(&row.record_type, &other.value, &row.value, row.priority)
        {
            return Err(conflict(
                "value",
                format!("this {} record exists already", row.record_type),
            ));
        }
        let other_cname = other_type == Some(RType::CNAME);
        if (is_cname && !other_cname && !beside(other_type)) || (other_cname && !beside(rtype)) {
            return Err(conflict(
                "name",
                format!(
                    "'{}' has a {} record; a CNAME cannot share its name with other records",
                    row.name, other.record_type
                ),
            ));
        }
    }
    Ok(())
}

/// A change to the name index as the zone rules see it: rows taken away
/// and rows added.
pub(super) struct Edit<'a> {
    /// Ids and names of the rows taken away.
    pub removed: &'a [(i64, &'a str)],
    pub added: &'a [RecordRow],
}

/// Applies the zone rules of [`check_zone`] to the names a write can
/// affect, before and after it; refuses it with the first error it brings
/// in that was not there before. The write is already applied to `names`
/// (which hold the zone after it): `undo` takes it away again, its
/// `removed` being the rows the write added and its `added` the rows it
/// took away. A batch is judged whole, like one write: the zone after it
/// against the zone before it, so that a batch may pass through a state
/// the rules refuse (a nameserver's old address deleted, then its new one
/// added).
pub(super) fn check_applied_rules(
    fields: &ZoneFields,
    names: &ZoneNames,
    undo: &Edit<'_>,
) -> Result<(), StoreError> {
    judge(fields, names, undo, true)
}

/// [`check_applied_rules`] for a write not yet applied to `names`, which
/// hold the zone before it; `edit` is the write.
pub(super) fn check_zone_rules(
    fields: &ZoneFields,
    names: &ZoneNames,
    edit: &Edit<'_>,
) -> Result<(), StoreError> {
    judge(fields, names, edit, false)
}

/// The zone rules on `names` and on `names` with `edit` applied: the zone
/// after the write is the first when `applied`, else the second.
fn judge(
    fields: &ZoneFields,
    names: &ZoneNames,
    edit: &Edit<'_>,
    applied: bool,
) -> Result<(), StoreError> {
    let domain = &names.domain;
    // The names whose records the checks read.
    let mut keys: HashSet<String> = HashSet::new();
    let mut seeds: Vec<String> = vec!["@".into()];
    seeds.extend(edit.added.iter().map(|r| name_key(&r.name, domain)));
    seeds.extend(edit.removed.iter().map(|(_, name)| name_key(name, domain)));
    let is_ns = |t: &str| t.eq_ignore_ascii_case("NS");
    let stored_apex_ns = names.at("@").iter().filter(|e| is_ns(&e.record_type));
    let added_apex_ns = edit
        .added
        .iter()
        .filter(|r| is_ns(&r.record_type) && name_key(&r.name, domain) == "@");
    let apex_ns = (fields.nameservers.iter().map(String::as_str))
        .chain(stored_apex_ns.map(|e| e.value.as_str()))
        .chain(added_apex_ns.map(|r| r.value.as_str()));
    for target in apex_ns {
        let key = name_key(target, domain);
        // Only names inside the zone are checked (they became relative).
        if !key.ends_with('.') {
            seeds.push(key);
        }
    }
    for seed in seeds {
        let mut key = seed.as_str();
        keys.insert(key.to_string());
        while let Some(parent) = parent_key(key) {
            keys.insert(parent.to_string());
            keys.insert(wildcard_key(parent));
            key = parent;
        }
    }
    let build = |with_edit: bool| -> Result<Vec<String>, StoreError> {
        let shape = |source| StoreError::Shape {
            domain: fields.domain.clone(),
            source,
        };
        let mut builder = ZoneBuilder::new(fields, 0).map_err(shape)?;
        for key in &keys {
            for e in names.by_name.get(key).into_iter().flatten() {
                if with_edit && edit.removed.iter().any(|(id, _)| *id == e.id) {
                    continue;
                }
                builder.push_row(&e.row()).map_err(shape)?;
            }
        }
        if with_edit {
            for row in edit.added {
                builder.push_row(row).map_err(shape)?;
            }
        }
        Ok(check_zone(&builder.finish(), false)
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| d.message)
            .collect())
    };
    // Most writes break nothing: the zone before the write is built only
    // to tell an error the write brings in from one that was there.
    let after = build(!applied)?;
    if after.is_empty() {
        return Ok(());
    }
    let before = build(applied)?;
    match after.into_iter().find(|e| !before.contains(e)) {
        Some(error) => Err(conflict(
            "value",
            format!("named would refuse the zone after this change: {error}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_one_key() {
        let d = "example.com";
        assert_eq!(name_key("WWW", d), "www");
        assert_eq!(name_key("www.Example.COM.", d), "www");
        assert_eq!(name_key("EXAMPLE.com.", d), "@");
        assert_eq!(name_key("@", d), "@");
        assert_eq!(name_key("ns1.example.net.", d), "ns1.example.net.");
        assert_eq!(name_key("xexample.com.", d), "xexample.com.");
    }

    #[test]
    fn a_refused_write_puts_the_index_back() {
        let row = |value: &str| RecordRow {
            name: "www".into(),
            record_type: "A".into(),
            value: value.into(),
            ttl: 300,
            priority: None,
        };
        let mut names = ZoneNames {
            domain: "example.com".into(),
            ..ZoneNames::default()
        };
        names.add(NameEntry::new(1, &row("192.0.2.1")));
        names.mark();
        names.remove(1, "www");
        names.add(NameEntry::new(2, &row("192.0.2.2")));
        names.add(NameEntry::new(
            3,
            &NameEntry::new(0, &row("192.0.2.3")).row(),
        ));
        names.set_ttl(&[2], "WWW", 60);
        names.restore();
        let ids: Vec<i64> = names.at("www").iter().map(|e| e.id).collect();
        assert_eq!(ids, [1]);
        assert_eq!(names.at("www")[0].ttl, 300);
        // After a commit, nothing is kept to put back.
        names.mark();
        names.add(NameEntry::new(4, &row("192.0.2.4")));
        names.settle(7);
        names.restore();
        assert_eq!(names.at("www").len(), 2);
        assert_eq!(names.version, 7);
    }

    #[test]
    fn keys_have_parents_up_to_the_apex() {
        assert_eq!(parent_key("a.b"), Some("b"));
        assert_eq!(parent_key("a\\.b"), Some("@"));
        assert_eq!(parent_key("b"), Some("@"));
        assert_eq!(parent_key("@"), None);
        assert_eq!(wildcard_key("b"), "*.b");
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn the_migration_gives_each_rrset_the_ttl_named_served(pool: sqlx::SqlitePool) {
        let (store, _, zone) = crate::store::zones::tests::alices_zone(pool.clone()).await;
        drop(store);
        // Two A records at www with two TTLs, as older versions stored them.
        for (value, ttl) in [("192.0.2.71", 600), ("192.0.2.72", 60)] {
            sqlx::query(
                "INSERT INTO records (uuid, zone_id, name, record_type, value, ttl, created_at, \
                 updated_at) VALUES (randomblob(16), ?, 'Mixed', 'A', ?, ?, 0, 0)",
            )
            .bind(zone.id)
            .bind(value)
            .bind(ttl)
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::raw_sql(include_str!("migrations/0003_rrset_ttl.sql"))
            .execute(&pool)
            .await
            .unwrap();
        let ttls: Vec<i64> =
            sqlx::query_scalar("SELECT ttl FROM records WHERE name = 'Mixed' ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            ttls,
            [60, 60],
            "the newest record's TTL, which named served"
        );
    }
}
