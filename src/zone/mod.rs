//! The zone model: what the parser produces, the checks inspect, the
//! renderer writes and the store will keep.
//!
//! A zone of a million records must fit in a few tens of megabytes, so
//! records are small fixed-size rows (`Record`, 24 bytes) that point into
//! two arenas: owner names, interned once each in wire form
//! ([`NameTable`]), and RDATA in wire form (one `Vec<u8>`). Nothing is
//! allocated per record. Owners are interned case-insensitively: like BIND,
//! the first spelling of a name is the one kept (RFC 4343 §3).

pub mod encoding;
pub mod name;
pub mod rdata;
pub mod rtype;
pub mod serial;
pub mod ttl;

use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};

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

/// Interned domain names in wire form, looked up case-insensitively.
#[derive(Default)]
pub struct NameTable {
    bytes: Vec<u8>,
    spans: Vec<(u32, u8)>,
    index: HashTable<NameId>,
    hasher: foldhash::fast::FixedState,
}

impl NameTable {
    fn hash(&self, wire: &[u8]) -> u64 {
        let mut lower = [0u8; name::MAX_NAME];
        let n = wire.len().min(lower.len());
        for (d, s) in lower[..n].iter_mut().zip(wire) {
            *d = s.to_ascii_lowercase();
        }
        let mut h = self.hasher.build_hasher();
        h.write(&lower[..n]);
        h.finish()
    }

    /// The id of `wire`, adding it if it is new (first spelling wins).
    pub fn intern(&mut self, wire: &[u8]) -> NameId {
        let hash = self.hash(wire);
        let (bytes, spans) = (&self.bytes, &self.spans);
        let eq = |&id: &NameId| {
            let (off, len) = spans[id as usize];
            bytes[off as usize..off as usize + len as usize].eq_ignore_ascii_case(wire)
        };
        if let Some(&id) = self.index.find(hash, eq) {
            return id;
        }
        let id = self.spans.len() as NameId;
        self.spans.push((self.bytes.len() as u32, wire.len() as u8));
        self.bytes.extend_from_slice(wire);
        let spans = &self.spans;
        let bytes = &self.bytes;
        let hasher = &self.hasher;
        self.index.insert_unique(hash, id, |&other| {
            let (off, len) = spans[other as usize];
            let mut lower = [0u8; name::MAX_NAME];
            let w = &bytes[off as usize..off as usize + len as usize];
            for (d, s) in lower.iter_mut().zip(w) {
                *d = s.to_ascii_lowercase();
            }
            let mut h = hasher.build_hasher();
            h.write(&lower[..w.len()]);
            h.finish()
        });
        id
    }

    /// The id of `wire` if it is interned.
    pub fn find(&self, wire: &[u8]) -> Option<NameId> {
        let hash = self.hash(wire);
        self.index
            .find(hash, |&id| self.get(id).eq_ignore_ascii_case(wire))
            .copied()
    }

    /// The wire form of a name.
    pub fn get(&self, id: NameId) -> &[u8] {
        let (off, len) = self.spans[id as usize];
        &self.bytes[off as usize..off as usize + len as usize]
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if no name is interned.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
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
        }
    }

    /// The RDATA of a record.
    pub fn rdata_of(&self, r: &Record) -> &[u8] {
        &self.rdata[r.rd_off as usize..r.rd_off as usize + r.rd_len as usize]
    }

    /// The owner name of a record, in wire form.
    pub fn owner_of(&self, r: &Record) -> &[u8] {
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
    fn interning_is_case_insensitive_and_keeps_first_spelling() {
        let mut t = NameTable::default();
        let a = t.intern(b"\x03WWW\x07example\x00");
        let b = t.intern(b"\x03www\x07EXAMPLE\x00");
        let c = t.intern(b"\x04mail\x07example\x00");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.get(a), b"\x03WWW\x07example\x00");
        assert_eq!(t.find(b"\x04MAIL\x07example\x00"), Some(c));
        assert_eq!(t.len(), 2);
    }
}
