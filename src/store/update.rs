//! DNS UPDATE (RFC 2136) in the store: a message's prerequisites and
//! changes judged and applied in one transaction, with the same rules as
//! an API write ([`check_record`], [`check_zone_rules`], one TTL per
//! RRset) and one version bump, so one UPDATE is one deploy.
//!
//! The changes are first worked out on a view of the zone (the stored
//! names minus what the message removed, plus what it added), so that
//! each change sees the ones before it, as §3.4.2 asks; only when every
//! rule holds are the rows written.

use std::collections::HashMap;

use super::changes::{ChangeEntry, log_change};
use super::records::{Bumped, bind_row, bump, insert_sql, row_json, set_rrset_ttl};
use super::rules::{
    Edit, NameEntry, ZoneNames, check_record, check_zone_rules, name_key, same_rdata, zone_names,
};
use super::shape::RecordRow;
use super::{RecordWrite, Store, StoreError, now_unix};

/// A prerequisite (RFC 2136 §2.4). Names are full names with their final
/// dot, or names relative to the zone (`@` for the apex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prerequisite {
    /// Some RR of any type has the name (§2.4.4).
    NameInUse(String),
    /// No RR has the name (§2.4.5).
    NameNotInUse(String),
    /// An RRset of the type exists at the name (§2.4.1).
    RRsetExists {
        /// The owner.
        name: String,
        /// The type mnemonic.
        record_type: String,
    },
    /// No RRset of the type exists at the name (§2.4.3).
    RRsetAbsent {
        /// The owner.
        name: String,
        /// The type mnemonic.
        record_type: String,
    },
    /// The RRset at the name is exactly these records (§2.4.2); the
    /// rows' names and TTLs are not compared.
    RRsetIs {
        /// The owner.
        name: String,
        /// The type mnemonic.
        record_type: String,
        /// The records, in the store's shape.
        records: Vec<RecordRow>,
    },
}

/// Which prerequisite failed, as the rcode it answers with (§3.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrerequisiteFailed {
    /// A name that must be in use is not (NXDOMAIN).
    #[error("name not in use")]
    NxDomain,
    /// A name that must not be in use is (YXDOMAIN).
    #[error("name in use")]
    YxDomain,
    /// An RRset that must exist (with given records) does not (NXRRSET).
    #[error("RRset does not exist as required")]
    NxRRset,
    /// An RRset that must not exist does (YXRRSET).
    #[error("RRset exists")]
    YxRRset,
}

/// One change of an UPDATE's update section (§2.5).
#[derive(Debug, Clone)]
pub enum UpdateOp {
    /// Add to an RRset (§2.5.1), made and checked as an API write is.
    Add(RecordWrite),
    /// Delete an RRset (§2.5.2).
    DeleteRRset {
        /// The owner.
        name: String,
        /// The type mnemonic.
        record_type: String,
    },
    /// Delete every RRset at a name (§2.5.3).
    DeleteName(String),
    /// Delete one RR (§2.5.4); the row's TTL is not compared.
    DeleteRecord(RecordRow),
}

/// What an UPDATE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Updated {
    /// Records added.
    pub added: usize,
    /// Records deleted.
    pub deleted: usize,
    /// The zone's version after it (unchanged when nothing changed).
    pub version: Option<i64>,
}

/// The zone as the changes so far left it.
struct View<'a> {
    names: &'a ZoneNames,
    domain: &'a str,
    /// Stored rows removed, by id.
    removed: HashMap<i64, NameEntry>,
    /// Added rows, with ids below zero until they are stored.
    added: Vec<NameEntry>,
    next_id: i64,
}

impl View<'_> {
    fn at(&self, name: &str) -> Vec<NameEntry> {
        let key = name_key(name, self.domain);
        let stored = (self.names.at(name).iter()).filter(|e| !self.removed.contains_key(&e.id));
        let added = self
            .added
            .iter()
            .filter(|e| name_key(&e.name, self.domain) == key);
        stored.chain(added).cloned().collect()
    }

    fn remove(&mut self, entry: &NameEntry) {
        if entry.id < 0 {
            self.added.retain(|e| e.id != entry.id);
        } else {
            self.removed.insert(entry.id, entry.clone());
        }
    }

    fn is_apex(&self, name: &str) -> bool {
        name_key(name, self.domain) == "@"
    }
}

fn is(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn apex_ns_refused() -> StoreError {
    StoreError::UpdateRefused(
        "the apex NS set is the zone's nameservers and is not changed by UPDATE".into(),
    )
}

/// Checks one prerequisite on the zone. The apex always holds the SOA
/// and the NS set, which are zone fields rather than rows.
fn check_prerequisite(view: &View<'_>, prerequisite: &Prerequisite) -> Result<(), StoreError> {
    use PrerequisiteFailed::*;
    let fail = |why| Err(StoreError::Prerequisite(why));
    let fields_type = |name: &str, t: &str| view.is_apex(name) && (is(t, "SOA") || is(t, "NS"));
    match prerequisite {
        Prerequisite::NameInUse(name) if !view.is_apex(name) && view.at(name).is_empty() => {
            fail(NxDomain)
        }
        Prerequisite::NameNotInUse(name) if view.is_apex(name) || !view.at(name).is_empty() => {
            fail(YxDomain)
        }
        Prerequisite::RRsetExists { name, record_type }
            if !fields_type(name, record_type)
                && !view
                    .at(name)
                    .iter()
                    .any(|e| is(&e.record_type, record_type)) =>
        {
            fail(NxRRset)
        }
        Prerequisite::RRsetAbsent { name, record_type }
            if fields_type(name, record_type)
                || view
                    .at(name)
                    .iter()
                    .any(|e| is(&e.record_type, record_type)) =>
        {
            fail(YxRRset)
        }
        Prerequisite::RRsetIs {
            name,
            record_type,
            records,
        } => {
            // The zone's own SOA and NS are not compared value by value.
            if fields_type(name, record_type) {
                return fail(NxRRset);
            }
            let stored: Vec<NameEntry> = (view.at(name).into_iter())
                .filter(|e| is(&e.record_type, record_type))
                .collect();
            let same = |e: &NameEntry, r: &RecordRow| {
                e.priority == r.priority && same_rdata(record_type, &e.value, &r.value, r.priority)
            };
            let covered = stored.iter().all(|e| records.iter().any(|r| same(e, r)));
            let present = records.iter().all(|r| stored.iter().any(|e| same(e, r)));
            if stored.is_empty() || !covered || !present {
                return fail(NxRRset);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies one change to the view; `ttls` collects the TTL each added
/// RRset takes. SOA changes are ignored (the serial is bindbridge's);
/// apex NS changes are refused.
fn apply(
    view: &mut View<'_>,
    op: &UpdateOp,
    ttls: &mut HashMap<(String, String), u32>,
) -> Result<(), StoreError> {
    let protected = |view: &View<'_>, name: &str, t: &str| -> Result<bool, StoreError> {
        if is(t, "SOA") {
            return Ok(true);
        }
        if view.is_apex(name) && is(t, "NS") {
            return Err(apex_ns_refused());
        }
        Ok(false)
    };
    match op {
        UpdateOp::Add(write) => {
            let row = &write.row;
            if protected(view, &row.name, &row.record_type)? {
                return Ok(());
            }
            let key = (
                name_key(&row.name, view.domain),
                row.record_type.to_ascii_uppercase(),
            );
            ttls.insert(key, row.ttl);
            let others = view.at(&row.name);
            let duplicate = others.iter().any(|e| {
                is(&e.record_type, &row.record_type)
                    && e.priority == row.priority
                    && same_rdata(&row.record_type, &e.value, &row.value, row.priority)
            });
            // §3.4.2.2: an RR that is there already is not added again.
            if duplicate {
                return Ok(());
            }
            check_record(&others, row, view.is_apex(&row.name), None)?;
            view.next_id -= 1;
            view.added.push(NameEntry::new(view.next_id, row));
        }
        UpdateOp::DeleteRRset { name, record_type } => {
            if protected(view, name, record_type)? {
                return Ok(());
            }
            for e in view
                .at(name)
                .iter()
                .filter(|e| is(&e.record_type, record_type))
            {
                view.remove(e);
            }
        }
        UpdateOp::DeleteName(name) => {
            // §3.4.2.3: at the apex, the SOA and NS stay.
            let apex = view.is_apex(name);
            for e in view
                .at(name)
                .iter()
                .filter(|e| !(apex && is(&e.record_type, "NS")))
            {
                view.remove(e);
            }
        }
        UpdateOp::DeleteRecord(row) => {
            if protected(view, &row.name, &row.record_type)? {
                return Ok(());
            }
            let matching = view.at(&row.name).into_iter().filter(|e| {
                is(&e.record_type, &row.record_type)
                    && e.priority == row.priority
                    && same_rdata(&row.record_type, &e.value, &row.value, row.priority)
            });
            for e in matching.collect::<Vec<_>>() {
                view.remove(&e);
            }
        }
    }
    Ok(())
}

impl Store {
    /// Applies a DNS UPDATE to the owner's zone `zone_uuid`: the
    /// prerequisites are checked, then the changes are made, all in one
    /// transaction; any failure changes nothing. An UPDATE that changes
    /// nothing leaves the version alone.
    pub async fn apply_update(
        &self,
        owner_id: i64,
        zone_uuid: &str,
        actor: &str,
        prerequisites: &[Prerequisite],
        ops: &[UpdateOp],
    ) -> Result<Updated, StoreError> {
        let mut tx = self.write().await?;
        let zone: Bumped = bump(&mut tx, owner_id, zone_uuid).await?;
        let (zone_id, version) = (zone.id, zone.version - 1);
        let mut index = self.names.zones.lock().await;
        let names = zone_names(&mut index, &mut tx, zone_id, version, &zone.fields.domain).await?;
        let mut view = View {
            names: &*names,
            domain: &zone.fields.domain,
            removed: HashMap::new(),
            added: Vec::new(),
            next_id: 0,
        };
        for prerequisite in prerequisites {
            check_prerequisite(&view, prerequisite)?;
        }
        let mut ttls = HashMap::new();
        for op in ops {
            apply(&mut view, op, &mut ttls)?;
        }
        // The RRsets that took a TTL: their added rows take it, and the
        // stored rows that stay are retimed (RFC 2181 §5.2).
        let ttl_of = |name: &str, t: &str| {
            ttls.get(&(name_key(name, &zone.fields.domain), t.to_ascii_uppercase()))
                .copied()
        };
        let mut added: Vec<RecordRow> = view.added.iter().map(NameEntry::row).collect();
        for row in &mut added {
            if let Some(ttl) = ttl_of(&row.name, &row.record_type) {
                row.ttl = ttl;
            }
        }
        let mut retimed: Vec<(NameEntry, u32)> = Vec::new();
        for (key, record_type) in ttls.keys() {
            let ttl = ttls[&(key.clone(), record_type.clone())];
            for e in view.names.at(key) {
                if !view.removed.contains_key(&e.id)
                    && is(&e.record_type, record_type)
                    && e.ttl != ttl
                {
                    retimed.push((e.clone(), ttl));
                }
            }
        }
        let removed: Vec<NameEntry> = view.removed.values().cloned().collect();
        if added.is_empty() && removed.is_empty() && retimed.is_empty() {
            // Nothing to do: the version bump is rolled back with the rest.
            return Ok(Updated::default());
        }
        let removed_pairs: Vec<(i64, &str)> =
            removed.iter().map(|e| (e.id, e.name.as_str())).collect();
        let edit = Edit {
            removed: &removed_pairs,
            added: &added,
        };
        check_zone_rules(&zone.fields, view.names, &edit)?;
        drop(view);
        let now = now_unix();
        for e in &removed {
            let uuid: Vec<u8> = sqlx::query_scalar(
                "DELETE FROM records WHERE id = ? AND zone_id = ? RETURNING uuid",
            )
            .bind(e.id)
            .bind(zone_id)
            .fetch_one(&mut *tx)
            .await?;
            let uuid = uuid::Uuid::from_slice(&uuid).unwrap_or_default();
            log_change(
                &mut tx,
                entry(&zone, &uuid, actor, "record.delete", Some(&e.row()), None),
            )
            .await?;
        }
        let sql = insert_sql(1);
        let mut ids = Vec::with_capacity(added.len());
        for row in &added {
            let uuid = uuid::Uuid::now_v7();
            let id = bind_row(sqlx::query(&sql), uuid, zone_id, row, now)
                .execute(&mut *tx)
                .await?
                .last_insert_rowid();
            ids.push(id);
            log_change(
                &mut tx,
                entry(&zone, &uuid, actor, "record.create", None, Some(row)),
            )
            .await?;
        }
        for (e, ttl) in &retimed {
            let row = RecordRow {
                ttl: *ttl,
                ..e.row()
            };
            set_rrset_ttl(&mut tx, &zone, &[e], None, &row, actor, now).await?;
        }
        for e in &removed {
            names.remove(e.id, &e.name);
        }
        for (e, ttl) in &retimed {
            names.set_ttl(&[e.id], &e.name, *ttl);
        }
        for (id, row) in ids.iter().zip(&added) {
            names.add(NameEntry::new(*id, row));
        }
        names.version = zone.version;
        if let Err(e) = tx.commit().await {
            index.remove(&zone_id);
            return Err(e.into());
        }
        self.changed();
        Ok(Updated {
            added: added.len(),
            deleted: removed.len(),
            version: Some(zone.version),
        })
    }
}

fn entry<'a>(
    zone: &'a Bumped,
    uuid: &'a uuid::Uuid,
    actor: &'a str,
    action: &'a str,
    before: Option<&RecordRow>,
    after: Option<&RecordRow>,
) -> ChangeEntry<'a> {
    ChangeEntry {
        zone_uuid: &zone.uuid,
        domain: &zone.fields.domain,
        record_uuid: Some(uuid),
        actor,
        action,
        before: before.map(row_json),
        after: after.map(row_json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Soa;
    use crate::store::shape::ZoneFields;
    use sqlx::SqlitePool;

    fn fields() -> ZoneFields {
        ZoneFields {
            domain: "example.com".into(),
            soa: Soa {
                ttl: 3600,
                mname: "ns1.example.net.".into(),
                rname: "hostmaster.example.net.".into(),
                serial: 1,
                refresh: 7200,
                retry: 3600,
                expire: 1_209_600,
                minimum: 3600,
            },
            default_ttl: None,
            nameservers: vec!["ns1.example.net.".into(), "ns2.example.net.".into()],
            ns_ttl: 3600,
        }
    }

    fn row(name: &str, rtype: &str, value: &str, ttl: u32) -> RecordRow {
        RecordRow {
            name: name.into(),
            record_type: rtype.into(),
            value: value.into(),
            ttl,
            priority: None,
        }
    }

    fn add(name: &str, rtype: &str, value: &str, ttl: u32) -> UpdateOp {
        UpdateOp::Add(RecordWrite {
            row: row(name, rtype, value, ttl),
            ttl_given: true,
        })
    }

    async fn rows(store: &Store, owner: i64, zone: &str) -> Vec<(String, String, String, u32)> {
        let mut stream = store
            .record_stream(
                crate::store::RecordFilter {
                    owner_id: owner,
                    zone_uuid: Some(zone),
                    record_type: None,
                    record_uuid: None,
                    zones: &[],
                },
                None,
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        while let Some(page) = stream.next_page().await {
            let page = page.unwrap();
            for r in page.records().unwrap() {
                out.push((
                    r.name.to_string(),
                    r.record_type.to_string(),
                    r.value.to_string(),
                    r.ttl,
                ));
            }
        }
        out.sort();
        out
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn an_update_is_all_or_nothing_with_the_right_failures(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        let zone = store.create_zone(&alice, &fields(), "test").await.unwrap();
        let (owner, uuid) = (alice.id, zone.uuid.clone());
        let apply = |p: Vec<Prerequisite>, ops: Vec<UpdateOp>| {
            let store = store.clone();
            let uuid = uuid.clone();
            async move { store.apply_update(owner, &uuid, "tsig:k", &p, &ops).await }
        };
        let done = apply(
            vec![],
            vec![
                add("www", "A", "192.0.2.1", 300),
                add("www", "A", "192.0.2.2", 60),
            ],
        )
        .await
        .unwrap();
        assert_eq!((done.added, done.deleted), (2, 0));
        // One TTL per RRset: the last add's.
        let got = rows(&store, owner, &uuid).await;
        let ttls: Vec<(&str, u32)> = got.iter().map(|r| (r.0.as_str(), r.3)).collect();
        assert_eq!(ttls, [("www", 60), ("www", 60)]);
        let fail = |e: Result<Updated, StoreError>| match e {
            Err(StoreError::Prerequisite(f)) => f,
            other => panic!("{other:?}"),
        };
        let name = |n: &str| n.to_string();
        let cases = [
            (
                Prerequisite::NameNotInUse(name("www.example.com.")),
                PrerequisiteFailed::YxDomain,
            ),
            (
                Prerequisite::NameNotInUse(name("@")),
                PrerequisiteFailed::YxDomain,
            ),
            (
                Prerequisite::NameInUse(name("nothere")),
                PrerequisiteFailed::NxDomain,
            ),
            (
                Prerequisite::RRsetAbsent {
                    name: name("www"),
                    record_type: name("A"),
                },
                PrerequisiteFailed::YxRRset,
            ),
            (
                Prerequisite::RRsetExists {
                    name: name("www"),
                    record_type: name("AAAA"),
                },
                PrerequisiteFailed::NxRRset,
            ),
            (
                Prerequisite::RRsetIs {
                    name: name("www"),
                    record_type: name("A"),
                    records: vec![row("www", "A", "192.0.2.1", 0)],
                },
                PrerequisiteFailed::NxRRset,
            ),
        ];
        for (prerequisite, want) in cases {
            let result = apply(vec![prerequisite], vec![add("new", "A", "192.0.2.9", 60)]).await;
            assert_eq!(fail(result), want);
        }
        // A refused change takes the whole message with it.
        let result = apply(
            vec![],
            vec![
                UpdateOp::DeleteRRset {
                    name: name("www"),
                    record_type: name("A"),
                },
                add("www", "CNAME", "other.example.net.", 60),
                add("www", "TXT", "\"x\"", 60),
            ],
        )
        .await;
        assert!(
            matches!(result, Err(StoreError::Conflict { .. })),
            "{result:?}"
        );
        let apex_ns = apply(vec![], vec![add("@", "NS", "ns9.example.net.", 60)]).await;
        assert!(
            matches!(apex_ns, Err(StoreError::UpdateRefused(_))),
            "{apex_ns:?}"
        );
        assert_eq!(rows(&store, owner, &uuid).await, got);
        // Value-dependent prerequisite that holds; delete one RR, then the
        // name; an SOA change is ignored.
        let both = vec![
            row("www", "A", "192.0.2.2", 0),
            row("www", "A", "192.0.2.1", 0),
        ];
        let done = apply(
            vec![Prerequisite::RRsetIs {
                name: name("www"),
                record_type: name("A"),
                records: both,
            }],
            vec![
                UpdateOp::DeleteRecord(row("www", "A", "192.0.2.1", 0)),
                add("@", "SOA", "a. b. 1 2 3 4 5", 60),
            ],
        )
        .await
        .unwrap();
        assert_eq!((done.added, done.deleted), (0, 1));
        let version = done.version;
        let done = apply(vec![], vec![UpdateOp::DeleteName(name("www.example.com."))])
            .await
            .unwrap();
        assert_eq!(done.deleted, 1);
        assert!(done.version > version);
        assert!(rows(&store, owner, &uuid).await.is_empty());
        // Nothing to do: no version bump.
        let idle = apply(vec![], vec![UpdateOp::DeleteName(name("www"))])
            .await
            .unwrap();
        assert_eq!(idle, Updated::default());
        let history = store.history("example.com").await.unwrap();
        assert_eq!(history.iter().filter(|c| c.actor == "tsig:k").count(), 4);
    }
}
