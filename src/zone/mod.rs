//! The zone model: what the parser produces, the checks inspect, the
//! renderer writes and the store will keep.
//!
//! A zone of a million records must fit in a few tens of megabytes, so
//! records are small fixed-size rows (`Record`, 24 bytes) that point into
//! two arenas: owner names, interned once each in wire form
//! ([`NameTable`]), and RDATA in wire form (one `Vec<u8>`). Nothing is
//! allocated per record. Owners are interned case-insensitively: like BIND,
//! the first spelling of a name is the one kept (RFC 4343 §3).

pub mod domain;
pub mod encoding;
pub mod name;
pub mod rdata;
pub mod rtype;
pub mod serial;
pub mod ttl;

use std::collections::HashMap;

pub use name::Name;
pub use rtype::{Class, RType};

/// Index of an owner name in a zone's [`NameTable`].
pub type NameId = u32;

/// One resource record: owner, TTL, type and a slice of the RDATA arena,
/// plus where it came from, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub owner: NameId,
    /// TTL in seconds.
    pub ttl: u32,
    /// Record type.
    pub rtype: RType,
    /// Length of the RDATA in the arena.
    pub rd_len: u16,
    /// Offset of the RDATA in the arena.
    pub rd_off: u32,
    /// Index of the source file in [`Zone::files`].
    pub file: u16,
    /// 1-based line in that file.
    pub line: u32,
}

/// Owner names in wire form, back to back in one arena.
///
/// While parsing, names are only appended: a name spelled as the one just
/// added reuses its id (another spelling gets its own id, so that each
/// RRset can keep the spelling of its first record, as BIND does), so a run of records at one
/// owner shares an id, and nothing is hashed. The canonical sort
/// ([`crate::render::order::sort`]) then merges equal names (the first
/// spelling wins, as in BIND), renumbers them in canonical order and keeps
/// their RFC 4034 sort keys, which makes [`NameTable::find`] a binary search.
#[derive(Default)]
pub struct NameTable {
    bytes: Vec<u8>,
    spans: Vec<(u32, u8)>,
    /// First sixteen octets of each name's canonical key, once sorted.
    key_prefixes: Vec<u128>,
    /// Every [`SPARSE_STEP`]th prefix: a small index that stays in cache,
    /// so a lookup touches only one block of `key_prefixes`.
    sparse_prefixes: Vec<u128>,
}

/// Block size of the sparse prefix index.
const SPARSE_STEP: usize = 64;

impl NameTable {
    /// A table with room for about `names` names.
    pub fn with_capacity(names: usize) -> Self {
        NameTable {
            bytes: Vec::with_capacity(names * 24),
            spans: Vec::with_capacity(names),
            key_prefixes: Vec::new(),
            sparse_prefixes: Vec::new(),
        }
    }

    /// Adds a name and returns its id; the previous name's id if spelled
    /// the same.
    pub fn push(&mut self, wire: &[u8]) -> NameId {
        if let Some(last) = self.spans.len().checked_sub(1)
            && self.get(last as NameId) == wire
        {
            return last as NameId;
        }
        self.spans.push((self.bytes.len() as u32, wire.len() as u8));
        self.bytes.extend_from_slice(wire);
        self.key_prefixes.clear();
        self.sparse_prefixes.clear();
        (self.spans.len() - 1) as NameId
    }

    /// Appends a name known to differ from every other (used by the sort).
    pub fn push_distinct(&mut self, wire: &[u8]) {
        self.spans.push((self.bytes.len() as u32, wire.len() as u8));
        self.bytes.extend_from_slice(wire);
    }

    /// The wire form of a name.
    pub fn get(&self, id: NameId) -> &[u8] {
        let (off, len) = self.spans[id as usize];
        &self.bytes[off as usize..off as usize + len as usize]
    }

    /// Replaces the table with `names` (distinct, in canonical order),
    /// with the first sixteen octets of each name's canonical key, as the
    /// sort computed them.
    pub fn set_canonical(&mut self, names: NameTable, key_prefixes: Vec<u128>) {
        let sparse_prefixes = key_prefixes.iter().step_by(SPARSE_STEP).copied().collect();
        *self = NameTable {
            key_prefixes,
            sparse_prefixes,
            ..names
        };
    }

    /// The id of `wire` (any case), once the table is in canonical order;
    /// `None` if it is not an owner or the table is not sorted yet. A
    /// binary search on the key prefixes, then on whole keys among the
    /// names that share the prefix.
    pub fn find(&self, wire: &[u8], origin: &[u8]) -> Option<NameId> {
        if self.key_prefixes.len() != self.spans.len() {
            return None;
        }
        let key_of = |w: &[u8], key: &mut Vec<u8>| {
            key.clear();
            let part = name::relative_len(w, origin).map_or(w, |rel| &w[..rel]);
            name::push_canonical_key(key, part);
        };
        // Only names inside the zone are owners of it.
        let rel = name::relative_len(wire, origin)?;
        let mut key = Vec::with_capacity(wire.len() + 8);
        name::push_canonical_key(&mut key, &wire[..rel]);
        let prefix = key_prefix(&key);
        let block = self.sparse_prefixes.partition_point(|&p| p < prefix);
        let start = block.saturating_sub(1) * SPARSE_STEP;
        let end = (block * SPARSE_STEP).min(self.key_prefixes.len());
        let lo = start + self.key_prefixes[start..end.max(start)].partition_point(|&p| p < prefix);
        let hi = lo
            + self.key_prefixes[lo..]
                .iter()
                .take_while(|&&p| p == prefix)
                .count();
        let mut other = Vec::with_capacity(64);
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            key_of(self.get(mid as NameId), &mut other);
            match other.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as NameId),
            }
        }
        None
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there are no names.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// The first sixteen octets of a canonical key as a big-endian integer
/// (zero-padded), which orders like the key itself. Most keys fit whole.
pub fn key_prefix(key: &[u8]) -> u128 {
    let mut prefix = [0u8; 16];
    let n = key.len().min(16);
    prefix[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(prefix)
}

/// A zone: its origin, class and records.
pub struct Zone {
    /// The apex name.
    pub origin: Name,
    /// The zone's class; every record has it.
    pub class: Class,
    /// The first `$TTL` seen, shown in the rendered header.
    pub default_ttl: Option<u32>,
    /// Owner names.
    pub names: NameTable,
    /// RDATA arena.
    pub rdata: Vec<u8>,
    /// Records, in input order until sorted.
    pub records: Vec<Record>,
    /// Source file names, indexed by [`Record::file`].
    pub files: Vec<String>,
    /// Owner spellings of RRsets that differ from the name table's, keyed
    /// by (owner, type, covered type). BIND keeps the case of an RRset's
    /// first record for the whole RRset, so two RRsets at one name can be
    /// spelled differently (`WWW A`, `www TXT`). Filled by the sort, and
    /// nearly always empty.
    pub owner_case: HashMap<(NameId, u16, u16), Box<[u8]>>,
}

impl Zone {
    /// An empty zone.
    pub fn new(origin: Name, class: Class) -> Self {
        Zone {
            origin,
            class,
            default_ttl: None,
            names: NameTable::default(),
            rdata: Vec::new(),
            records: Vec::new(),
            files: Vec::new(),
            owner_case: HashMap::new(),
        }
    }

    /// The RDATA of a record.
    pub fn rdata_of(&self, r: &Record) -> &[u8] {
        &self.rdata[r.rd_off as usize..r.rd_off as usize + r.rd_len as usize]
    }

    /// The serial of the zone's SOA record, if it has one.
    pub fn soa_serial(&self) -> Option<u32> {
        let soa = self.records.iter().find(|r| r.rtype == RType::SOA)?;
        let rdata = self.rdata_of(soa);
        let at = rdata::soa_serial_offset(rdata)?;
        Some(u32::from_be_bytes(rdata[at..at + 4].try_into().ok()?))
    }

    /// Sets the serial of the zone's SOA record; false if it has none.
    pub fn set_soa_serial(&mut self, serial: u32) -> bool {
        let Some(soa) = self.records.iter().find(|r| r.rtype == RType::SOA) else {
            return false;
        };
        let start = soa.rd_off as usize;
        let rdata = &mut self.rdata[start..start + soa.rd_len as usize];
        match rdata::soa_serial_offset(rdata) {
            Some(at) => {
                rdata[at..at + 4].copy_from_slice(&serial.to_be_bytes());
                true
            }
            None => false,
        }
    }

    /// The owner name of a record, in wire form.
    pub fn owner_of(&self, r: &Record) -> &[u8] {
        if !self.owner_case.is_empty() {
            let covers = rdata::covered_type(r.rtype, self.rdata_of(r));
            if let Some(spelling) = self.owner_case.get(&(r.owner, r.rtype.0, covers)) {
                return spelling;
            }
        }
        self.names.get(r.owner)
    }

    /// Appends a record whose RDATA is already at `rd_off..` in the arena.
    pub fn push(
        &mut self,
        owner: NameId,
        ttl: u32,
        rtype: RType,
        rd_off: usize,
        file: u16,
        line: u32,
    ) {
        let rd_len = (self.rdata.len() - rd_off) as u16;
        self.records.push(Record {
            owner,
            ttl,
            rtype,
            rd_len,
            rd_off: rd_off as u32,
            file,
            line,
        });
    }

    /// The file name of a record, for diagnostics.
    pub fn file_of(&self, r: &Record) -> &str {
        self.files.get(r.file as usize).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_reuses_the_previous_name_only_if_spelled_the_same() {
        let mut t = NameTable::default();
        let a = t.push(b"\x03WWW\x07example\x00");
        let b = t.push(b"\x03WWW\x07example\x00");
        let other_case = t.push(b"\x03www\x07EXAMPLE\x00");
        let c = t.push(b"\x04mail\x07example\x00");
        let d = t.push(b"\x03www\x07example\x00");
        assert_eq!(a, b);
        assert_ne!(a, other_case);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(t.get(a), b"\x03WWW\x07example\x00");
        assert_eq!(t.len(), 4);
        assert_eq!(t.find(b"\x03www\x07example\x00", b"\x07example\x00"), None);
    }
}
