//! Canonical order (RFC 4034 §6.1–6.3) and RRset normalisation.
//!
//! Owners sort in canonical name order, types in the fixed order of
//! [`RType::order`], and records of one RRset by their canonical RDATA.
//! Sort keys are built once per distinct owner, never in the comparator:
//! owners get a `u32` rank, and records sort on `(rank, type order)` with
//! the RDATA compared only to break ties. The same pass drops duplicate
//! records (BIND keeps one) and gives every RRset one TTL: the TTL of its
//! last run in the input, which is the TTL BIND ends up serving.

use crate::zone::name::{push_canonical_key, relative_len};
use crate::zone::rdata::{canonical_cmp, covered_type};
use crate::zone::{NameTable, Record, Zone, key_prefix};
use std::cmp::Ordering;

/// Below this many items, sorting on one thread is faster than two.
const PARALLEL_FROM: usize = 50_000;

/// Bits of the sort key that hold the type order (types order below 2^17).
const TYPE_BITS: u32 = 17;

/// What [`sort`] changed besides the order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalised {
    /// Duplicate records dropped.
    pub duplicates: usize,
    /// Records that took their RRset's TTL (the last one given).
    pub ttls_unified: usize,
}

/// Sorts `zone.records` canonically, merges duplicates and unifies RRset
/// TTLs. Owner names are merged (first spelling wins) and renumbered in
/// canonical order, so a name's id is its rank; an RRset spelled
/// otherwise than its name's first spelling keeps its own spelling in
/// [`Zone::owner_case`] (BIND keeps the case per RRset). Returns what was merged
/// and changed.
pub fn sort(zone: &mut Zone) -> Normalised {
    let (rank, old_names) = rank_owners(zone);
    // Spellings kept from an earlier sort follow their names' new ids.
    let kept = std::mem::take(&mut zone.owner_case);
    zone.owner_case = kept
        .into_iter()
        .map(|((owner, t, c), spelling)| ((rank[owner as usize], t, c), spelling))
        .collect();
    // Each record's own spelling is needed only where a name was spelled
    // in more than one way (rare), to give each RRset the spelling of its
    // first record, as BIND does.
    let respelled =
        (0..old_names.len()).any(|id| old_names.get(id as u32) != zone.names.get(rank[id]));
    let spellings: Option<(NameTable, Vec<u32>)> =
        respelled.then(|| (old_names, zone.records.iter().map(|r| r.owner).collect()));
    // Each record travels with its sort key and input position, so that
    // nothing is looked up at random once sorted.
    let mut order: Vec<(u64, u32, Record)> = std::mem::take(&mut zone.records)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let owner = rank[r.owner as usize];
            let key = u64::from(owner) << TYPE_BITS | u64::from(r.rtype.order());
            (key, i as u32, Record { owner, ..r })
        })
        .collect();
    drop(rank);
    let rdata = &zone.rdata;
    let rdata_of = |r: &Record| &rdata[r.rd_off as usize..r.rd_off as usize + r.rd_len as usize];
    parallel_sort(&mut order, |a, b| {
        a.0.cmp(&b.0)
            .then_with(|| canonical_cmp(a.2.rtype, rdata_of(&a.2), rdata_of(&b.2)))
            .then(a.1.cmp(&b.1))
    });
    let mut sorted: Vec<Record> = Vec::with_capacity(order.len());
    let mut normalised = Normalised::default();
    let mut k = 0;
    while k < order.len() {
        // One RRset: same owner and type (and, for RRSIG, covered type).
        let first = &order[k].2;
        let covers = covered_type(first.rtype, rdata_of(first));
        let mut end = k + 1;
        while end < order.len()
            && order[end].0 == order[k].0
            && covered_type(first.rtype, rdata_of(&order[end].2)) == covers
        {
            end += 1;
        }
        let set = &order[k..end];
        // BIND serves the TTL of the RRset's last run in the input.
        let ttl = set
            .iter()
            .max_by_key(|e| e.1)
            .map_or(first.ttl, |e| e.2.ttl);
        if let Some((old_names, input_owner)) = &spellings
            && let Some(earliest) = set.iter().min_by_key(|e| e.1)
        {
            let spelled = old_names.get(input_owner[earliest.1 as usize]);
            if spelled != zone.names.get(first.owner) {
                zone.owner_case
                    .insert((first.owner, first.rtype.0, covers), spelled.into());
            }
        }
        let mut previous: Option<&Record> = None;
        for (_, _, r) in set {
            if let Some(p) = previous
                && canonical_cmp(r.rtype, rdata_of(p), rdata_of(r)) == Ordering::Equal
            {
                normalised.duplicates += 1;
                continue;
            }
            normalised.ttls_unified += usize::from(r.ttl != ttl);
            sorted.push(Record { ttl, ..*r });
            previous = Some(r);
        }
        k = end;
    }
    zone.records = sorted;
    normalised
}

/// Ranks every owner name in canonical order, merging equal names, and
/// replaces the zone's name table by the distinct names in that order.
/// Returns the rank of each old name id, and the old table.
fn rank_owners(zone: &mut Zone) -> (Vec<u32>, NameTable) {
    let old = std::mem::take(&mut zone.names);
    let names = &old;
    let origin = zone.origin.wire();
    // Keys are built on two threads, one half of the names each.
    let half = names.len() / 2;
    let build = |ids: std::ops::Range<usize>| {
        let mut keys: Vec<u8> = Vec::with_capacity(ids.len() * 16);
        let mut ends: Vec<u32> = Vec::with_capacity(ids.len());
        for id in ids {
            let wire = names.get(id as u32);
            // In-zone names share the origin: key only the part above it.
            let part = match relative_len(wire, origin) {
                Some(rel) => &wire[..rel],
                None => wire,
            };
            push_canonical_key(&mut keys, part);
            ends.push(keys.len() as u32);
        }
        (keys, ends)
    };
    let ((mut keys, mut ends), (keys2, ends2)) = if names.len() < PARALLEL_FROM {
        (build(0..names.len()), Default::default())
    } else {
        std::thread::scope(|s| {
            let second = s.spawn(|| build(half..names.len()));
            (build(0..half), second.join().unwrap_or_default())
        })
    };
    let base = keys.len() as u32;
    keys.extend_from_slice(&keys2);
    ends.extend(ends2.iter().map(|e| e + base));
    drop((keys2, ends2));
    let key = |id: u32| {
        let start = if id == 0 {
            0
        } else {
            ends[id as usize - 1] as usize
        };
        &keys[start..ends[id as usize] as usize]
    };
    // Sort on the first 16 key octets as one integer; most keys fit in
    // them, so whole keys are compared only on a tie. Equal names end up
    // side by side with the first one read first.
    let mut ids: Vec<(u128, u32)> = (0..names.len() as u32)
        .map(|id| (key_prefix(key(id)), id))
        .collect();
    let compare = |a: &(u128, u32), b: &(u128, u32)| {
        a.0.cmp(&b.0)
            .then_with(|| key(a.1).cmp(key(b.1)))
            .then(a.1.cmp(&b.1))
    };
    parallel_sort(&mut ids, compare);
    let mut rank = vec![0u32; names.len()];
    let mut distinct = NameTable::with_capacity(names.len());
    let mut prefixes = Vec::with_capacity(names.len());
    let mut previous: Option<(u128, u32)> = None;
    for &(prefix, id) in &ids {
        // Keys longer than the prefix are compared whole only on a tie.
        let new = match previous {
            None => true,
            Some((p, _)) if p != prefix => true,
            Some((_, p)) => key(p) != key(id),
        };
        if new {
            distinct.push_distinct(names.get(id));
            prefixes.push(prefix);
            previous = Some((prefix, id));
        }
        rank[id as usize] = (distinct.len() - 1) as u32;
    }
    zone.names.set_canonical(distinct, prefixes);
    (rank, old)
}

/// Sorts on two threads: each half alone, then one merge pass.
fn parallel_sort<T, F>(items: &mut Vec<T>, compare: F)
where
    T: Copy + Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    if items.len() < PARALLEL_FROM {
        items.sort_unstable_by(&compare);
        return;
    }
    let mid = items.len() / 2;
    {
        let (a, b) = items.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| b.sort_unstable_by(&compare));
            a.sort_unstable_by(&compare);
        });
    }
    let mut merged = Vec::with_capacity(items.len());
    let (a, b) = items.split_at(mid);
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if compare(&b[j], &a[i]) == Ordering::Less {
            merged.push(b[j]);
            j += 1;
        } else {
            merged.push(a[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    *items = merged;
}

/// A zone parsed from `text` with origin `example.com.` and sorted; the
/// test fixture of the renderer, the store and the API.
#[cfg(test)]
pub(crate) fn sorted_example(text: &str) -> Zone {
    use crate::parse::{NoIncludes, Options, parse_zone};
    use crate::zone::{Class, Name};
    let options = Options {
        origin: Name::from_ascii("example.com.").unwrap(),
        class: Class::IN,
        file_name: "test".into(),
        source_key: None,
    };
    let parsed = parse_zone(text.as_bytes(), &options, &mut NoIncludes);
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    let mut zone = parsed.zone;
    sort(&mut zone);
    zone
}
