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
use crate::zone::{RType, Record, Zone};
use std::cmp::Ordering;

/// Bits of the sort key that hold the type order (types order below 2^17).
const TYPE_BITS: u32 = 17;

/// Sorts `zone.records` canonically, merges duplicates and unifies RRset
/// TTLs. Returns the number of duplicate records dropped.
pub fn sort(zone: &mut Zone) -> usize {
    let rank = owner_ranks(zone);
    let records = std::mem::take(&mut zone.records);
    let mut order: Vec<(u64, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = u64::from(rank[r.owner as usize]) << TYPE_BITS | u64::from(r.rtype.order());
            (key, i as u32)
        })
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (ra, rb) = (&records[a.1 as usize], &records[b.1 as usize]);
            canonical_cmp(ra.rtype, zone.rdata_of(ra), zone.rdata_of(rb)).then(a.1.cmp(&b.1))
        })
    });
    let mut sorted: Vec<Record> = Vec::with_capacity(records.len());
    let mut dropped = 0;
    let mut k = 0;
    while k < order.len() {
        // One RRset: same owner and type (and, for RRSIG, covered type).
        let first = &records[order[k].1 as usize];
        let covers = covered_type(first.rtype, zone.rdata_of(first));
        let mut end = k + 1;
        while end < order.len()
            && order[end].0 == order[k].0
            && covered_type(first.rtype, zone.rdata_of(&records[order[end].1 as usize])) == covers
        {
            end += 1;
        }
        let set = &order[k..end];
        let last_in_input = set.iter().map(|&(_, i)| i).max().unwrap_or(order[k].1);
        let ttl = records[last_in_input as usize].ttl;
        let mut previous: Option<&Record> = None;
        for &(_, i) in set {
            let r = &records[i as usize];
            if let Some(p) = previous
                && canonical_cmp(r.rtype, zone.rdata_of(p), zone.rdata_of(r)) == Ordering::Equal
            {
                dropped += 1;
                continue;
            }
            sorted.push(Record { ttl, ..*r });
            previous = Some(r);
        }
        k = end;
    }
    zone.records = sorted;
    dropped
}

/// Canonical rank of every interned owner name.
fn owner_ranks(zone: &Zone) -> Vec<u32> {
    let names = &zone.names;
    let origin = zone.origin.wire();
    let mut keys: Vec<u8> = Vec::with_capacity(names.len() * 16);
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(names.len());
    for id in 0..names.len() as u32 {
        let wire = names.get(id);
        // In-zone names share the origin: key only the part above it.
        let part = match relative_len(wire, origin) {
            Some(rel) => &wire[..rel],
            None => wire,
        };
        let start = keys.len();
        push_canonical_key(&mut keys, part);
        spans.push((start as u32, (keys.len() - start) as u32));
    }
    let key = |id: u32| {
        let (s, l) = spans[id as usize];
        &keys[s as usize..(s + l) as usize]
    };
    let mut ids: Vec<u32> = (0..names.len() as u32).collect();
    ids.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
    let mut rank = vec![0u32; names.len()];
    for (r, id) in ids.into_iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    rank
}

/// True if two sorted records belong to the same RRset.
pub fn same_rrset(zone: &Zone, a: &Record, b: &Record) -> bool {
    a.owner == b.owner
        && a.rtype == b.rtype
        && (a.rtype != RType::RRSIG
            || covered_type(a.rtype, zone.rdata_of(a)) == covered_type(b.rtype, zone.rdata_of(b)))
}
