//! Zone checks: the rules `named` applies when it loads a primary zone.
//!
//! Errors are conditions on which BIND 9.18 refuses the zone (`-k fail`,
//! check-names fail, check-integrity yes); warnings are what it only logs.
//! Checks run on the sorted zone, so each owner's records are adjacent and
//! names are looked up through the owner table, never by scanning.
//!
//! - RFC 1035 §5.2: exactly one SOA, at the apex; NS at the apex.
//! - RFC 2181 §10.1 / RFC 1034 §3.6.2: CNAME and other data, CNAME and
//!   DNAME are singletons (RRSIG, NSEC, NSEC3, SIG and KEY may sit beside
//!   a CNAME, RFC 4035 §2.5, RFC 2535 §2.3.5; BIND 9.18 refuses NXT there).
//! - RFC 4034 §5: no DS at the apex (it belongs in the parent).
//! - RFC 4592 §4.2: no NS at a wildcard name (BIND refuses the zone).
//! - RFC 1912 §2.8 / BIND check-integrity: in-zone name servers of the
//!   apex need address records (glue and wildcards count; names below a
//!   delegation are not checked; none may sit below a DNAME).
//! - RFC 952/1123 host names and RFC 1035 mailboxes (BIND check-names,
//!   [`check_names`]): owners of A (but `_spf` labels and `gc._msdcs`),
//!   AAAA (but `gc._msdcs`), A6, MX, WKS; targets of NS, MX,
//!   SRV, AFSDB, RT and service-mode SVCB/HTTPS; the A6 prefix name; SOA MNAME and RNAME; RP
//!   and MINFO mailboxes; PTR targets in reverse trees. The parser also
//!   applies it to out-of-zone records, as BIND does before dropping them.
//! - RFC 7344 §4 / RFC 8078 §4: apex CDS/CDNSKEY agree with the DNSKEYs.
//! - RFC 5155 §4.1.1: an apex NSEC3PARAM names a hash algorithm BIND
//!   supports (SHA-1); NSEC3 records themselves may name any.
//! - RFC 2181 §10.3: MX and SRV targets should not be aliases (warning);
//!   RFC 1034 §4.2.1: delegations need glue for in-bailiwick servers
//!   (warning); RFC 7208 §3.1: SPF needs a TXT twin (warning).
//! - BIND's RRset size: the RDATA of an RRset, each with its length,
//!   fits in 65512 octets.
//!
//! Zone-wide checks (SOA, apex NS, CDS) run only once every record passed,
//! as named judges the zone only after it loaded.

use std::sync::Arc;

use crate::parse::{Diagnostic, Severity};
use crate::zone::encoding::decode_base32hex;
use crate::zone::name::{self, is_hostname, is_mailbox, relative_len};
use crate::zone::rdata::covered_type;
use crate::zone::{NameId, RType, Record, Zone};

/// The name at `offset` in RDATA, if one is there.
fn name_at(rdata: &[u8], offset: usize) -> Option<&[u8]> {
    let rest = rdata.get(offset..)?;
    Some(&rest[..name::wire_len(rest)?])
}

/// BIND's check-names for one record (RFC 952/1123 host names, RFC 1035
/// mailboxes), with BIND's exemptions. Returns what is wrong, if anything.
/// Used on every record, those outside the zone included, as BIND checks
/// a record before it decides whether to keep it.
pub fn check_names(rtype: RType, owner: &[u8], rdata: &[u8]) -> Vec<String> {
    let text = name::to_text;
    let mut problems = Vec::new();
    // Owners.
    let owner_ok = match rtype {
        RType::A => is_hostname(owner, true) || is_gc_msdcs(owner) || has_spf_label(owner),
        RType::AAAA => is_hostname(owner, true) || is_gc_msdcs(owner),
        RType::A6 | RType::WKS | RType::MX => is_hostname(owner, true),
        RType::NSEC3 => {
            let first_label = name::labels(owner).next().unwrap_or_default();
            decode_base32hex(first_label, &mut Vec::new()).is_some()
        }
        _ => true,
    };
    if !owner_ok {
        let why = if rtype == RType::NSEC3 {
            "the first label must be a base32hex hash"
        } else {
            "a host name has only letters, digits and inner hyphens"
        };
        problems.push(format!(
            "{}: bad owner name for {rtype} (check-names): {why}",
            text(owner)
        ));
    }
    // Names in the RDATA, each with whether it must be a mailbox rather
    // than a host name. PTR targets are checked only in reverse trees.
    const REVERSE: [&[u8]; 3] = [
        b"\x07in-addr\x04arpa\x00",
        b"\x03ip6\x04arpa\x00",
        b"\x03ip6\x03int\x00",
    ];
    let reverse = || {
        REVERSE
            .iter()
            .any(|suffix| name::is_subdomain(owner, suffix))
    };
    // At most two names per record; no allocation on this per-record path.
    let one = |offset: usize, mailbox: bool| [(name_at(rdata, offset), mailbox), (None, false)];
    let targets: [(Option<&[u8]>, bool); 2] = match rtype {
        RType::NS => one(0, false),
        RType::MX | RType::AFSDB | RType::RT => one(2, false),
        RType::SRV => one(6, false),
        // An alias-mode target (priority 0) is not a host name to check.
        RType::SVCB | RType::HTTPS if rdata.starts_with(&[0, 0]) => [(None, false); 2],
        RType::SVCB | RType::HTTPS => one(2, false),
        RType::PTR if reverse() && !is_dnssd(owner) => one(0, false),
        RType::SOA | RType::MINFO => {
            let first = name_at(rdata, 0);
            let second = first.and_then(|f| name_at(rdata, f.len()));
            [(first, rtype == RType::MINFO), (second, true)]
        }
        RType::RP => one(0, true),
        // RFC 2874 §3.1.1: the prefix name follows the address suffix
        // (prefix length 0 has no name).
        RType::A6 => match rdata.first() {
            Some(&len) if (1..=128).contains(&len) => {
                one(1 + (128 - usize::from(len)).div_ceil(8), false)
            }
            _ => [(None, false); 2],
        },
        _ => [(None, false); 2],
    };
    for (target, mailbox) in targets {
        let Some(target) = target else { continue };
        // The root is the RFC 7505 null MX and RFC 2782 "no service" target.
        let ok = target == [0]
            || if mailbox {
                is_mailbox(target)
            } else {
                is_hostname(target, false)
            };
        if !ok {
            let what = if mailbox {
                "a mailbox name (a printable first label, then a host name)"
            } else {
                "a host name (letters, digits and inner hyphens only)"
            };
            problems.push(format!(
                "bad name '{}' in {rtype} (check-names): not {what}",
                text(target)
            ));
        }
    }
    problems
}

/// True if TXT RDATA starts with an SPF version string (`v=spf1`).
fn is_spf_text(rdata: &[u8]) -> bool {
    rdata
        .get(1..7)
        .is_some_and(|t| t.eq_ignore_ascii_case(b"v=spf1"))
}

/// Active Directory's `gc._msdcs.<forest>` A and AAAA owners, which BIND
/// exempts from host-name checks (not A6 or WKS ones).
fn is_gc_msdcs(wire: &[u8]) -> bool {
    let mut labels = name::labels(wire);
    let (Some(gc), Some(msdcs)) = (labels.next(), labels.next()) else {
        return false;
    };
    gc.eq_ignore_ascii_case(b"gc")
        && msdcs.eq_ignore_ascii_case(b"_msdcs")
        && wire.len() > 11
        && is_hostname(&wire[11..], false)
}

/// RFC 7208 §5.7 "exists" targets and its Appendix D.1 examples: BIND
/// exempts an A owner with a `_spf`, `_spf_verify` or `_spf_rate` label
/// anywhere but in its last label (`a._spf.example.com`, `_spf.com`).
fn has_spf_label(wire: &[u8]) -> bool {
    let count = name::labels(wire).count();
    name::labels(wire)
        .take(count.saturating_sub(1))
        .any(|label| {
            [&b"_spf"[..], b"_spf_verify", b"_spf_rate"]
                .iter()
                .any(|spf| label.eq_ignore_ascii_case(spf))
        })
}

/// DNS-SD browse domains in reverse zones (RFC 6763 §11): BIND does not
/// check their PTR targets.
fn is_dnssd(wire: &[u8]) -> bool {
    let mut labels = name::labels(wire);
    let (Some(first), Some(second), Some(third)) = (labels.next(), labels.next(), labels.next())
    else {
        return false;
    };
    ["b", "db", "r", "dr", "lb"]
        .iter()
        .any(|p| first.eq_ignore_ascii_case(p.as_bytes()))
        && second.eq_ignore_ascii_case(b"_dns-sd")
        && third.eq_ignore_ascii_case(b"_udp")
        && labels.next().is_some()
}

/// The outcome of [`Checker::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// The name has address records (or a wildcard gives them).
    Address,
    /// The name is an alias.
    Cname,
    /// The name is at or below a delegation: not this zone's data.
    Delegated,
    /// Nothing that answers an address query.
    Missing,
}

/// Types that may share an owner with a CNAME (RFC 4035 §2.5, RFC 2535
/// §2.3.5), as BIND 9.18 allows them: not NXT, which RFC 2535 would allow
/// but BIND refuses as "CNAME and other data"; NSEC3, which BIND keeps in
/// a tree of its own (RFC 5155 §7.1).
pub fn allowed_beside_cname(t: RType) -> bool {
    matches!(
        t,
        RType::RRSIG | RType::NSEC | RType::NSEC3 | RType::SIG | RType::KEY
    )
}

/// Runs every check on a sorted zone. When parsing already failed, the
/// apex checks are skipped: a missing SOA or NS is then most likely a
/// record that did not parse, already reported.
pub fn check_zone(zone: &Zone, parse_failed: bool) -> Vec<Diagnostic> {
    const PARALLEL_FROM: usize = 100_000;
    let records = &zone.records;
    // Two halves on two threads, split between owners; each check only reads.
    let mut mid = if records.len() < PARALLEL_FROM {
        records.len()
    } else {
        records.len() / 2
    };
    while mid > 0 && mid < records.len() && records[mid].owner == records[mid - 1].owner {
        mid += 1;
    }
    // Owner ids are canonical ranks and records are sorted, so owner `id`
    // has the records `starts[id]..starts[id + 1]`.
    let mut starts = vec![0u32; zone.names.len() + 1];
    for r in records {
        starts[r.owner as usize + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut first = Checker::new(zone, &starts);
    // A small zone (the store checks a few names at each API write) is
    // checked on this thread: spawning one would cost more than the check.
    let second = if mid == records.len() {
        first.owners(0..mid);
        Vec::new()
    } else {
        std::thread::scope(|s| {
            let second = s.spawn(|| {
                let mut c = Checker::new(zone, &starts);
                c.owners(mid..records.len());
                c.diagnostics
            });
            first.owners(0..mid);
            second.join().unwrap_or_default()
        })
    };
    first.diagnostics.extend(second);
    // Like named, judge the zone as a whole only once its records loaded.
    if !parse_failed && !first.diagnostics.iter().any(Diagnostic::is_error) {
        first.apex();
    }
    first.diagnostics
}

struct Checker<'z> {
    zone: &'z Zone,
    starts: &'z [u32],
    files: Vec<Arc<str>>,
    diagnostics: Vec<Diagnostic>,
}

impl<'z> Checker<'z> {
    fn new(zone: &'z Zone, starts: &'z [u32]) -> Self {
        let files = zone.files.iter().map(|f| Arc::from(f.as_str())).collect();
        Checker {
            zone,
            starts,
            files,
            diagnostics: Vec::new(),
        }
    }

    /// The records owned by `owner`.
    fn records_of(&self, owner: NameId) -> &'z [Record] {
        let k = owner as usize;
        match (self.starts.get(k), self.starts.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.zone.records[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The records at the name `wire`, if it is an owner in the zone.
    fn records_at(&self, wire: &[u8]) -> &'z [Record] {
        self.zone
            .names
            .find(wire, self.zone.origin.wire())
            .map_or(&[], |id| self.records_of(id))
    }

    fn report(&mut self, severity: Severity, r: Option<&Record>, message: String) {
        let (file, line) = match r {
            Some(r) => (
                self.files
                    .get(r.file as usize)
                    .cloned()
                    .unwrap_or_else(|| Arc::from("")),
                r.line,
            ),
            None => (
                self.files.first().cloned().unwrap_or_else(|| Arc::from("")),
                1,
            ),
        };
        self.diagnostics.push(Diagnostic {
            severity,
            file,
            line,
            column: 1,
            message,
        });
    }

    fn text(&self, wire: &[u8]) -> String {
        name::to_text(wire)
    }

    fn apex(&mut self) {
        let origin = self.zone.origin.to_string();
        let apex = self.records_at(self.zone.origin.wire());
        self.cds_consistency(apex);
        self.nsec3param_hash(apex);
        if !apex.iter().any(|r| r.rtype == RType::SOA) {
            self.report(
                Severity::Error,
                None,
                format!("zone {origin} has no SOA record at its apex"),
            );
        }
        let ns: Vec<&Record> = apex.iter().filter(|r| r.rtype == RType::NS).collect();
        if ns.is_empty() {
            self.report(
                Severity::Error,
                None,
                format!("zone {origin} has no NS records at its apex"),
            );
        }
        for r in ns {
            let target = self.zone.rdata_of(r);
            if relative_len(target, self.zone.origin.wire()).is_none() {
                continue;
            }
            if let Some(dname) = self.dname_above(target) {
                self.report(
                    Severity::Error,
                    Some(r),
                    format!(
                        "NS '{}' is below the DNAME at '{}', which is illegal (RFC 6672 section 2.4)",
                        self.text(target),
                        self.text(dname)
                    ),
                );
                continue;
            }
            let found = self.resolve(target);
            if found == Resolution::Cname {
                self.report(
                    Severity::Error,
                    Some(r),
                    format!(
                        "NS '{}' is a CNAME, which is illegal (RFC 2181 section 10.3)",
                        self.text(target)
                    ),
                );
            } else if found == Resolution::Missing {
                self.report(
                    Severity::Error,
                    Some(r),
                    format!(
                        "NS '{}' is inside the zone but has no address records (A or AAAA)",
                        self.text(target)
                    ),
                );
            }
        }
    }

    /// RFC 7344 §4 and RFC 8078 §4, as BIND checks them at the apex: a
    /// CDS/CDNSKEY delete record stands alone, and any other CDS/CDNSKEY
    /// names an algorithm the zone has a DNSKEY for.
    fn cds_consistency(&mut self, apex: &'z [Record]) {
        let zone = self.zone;
        let algorithms: Vec<u8> = apex
            .iter()
            .filter(|r| r.rtype == RType::DNSKEY)
            .filter_map(|r| zone.rdata_of(r).get(3).copied())
            .collect();
        // (type, offset of its algorithm octet, the delete record's RDATA)
        let sets: [(RType, usize, &[u8]); 2] = [
            (RType::CDS, 2, &[0, 0, 0, 0, 0]),
            (RType::CDNSKEY, 3, &[0, 0, 3, 0, 0]),
        ];
        for (rtype, alg_at, delete) in sets {
            let set: Vec<&Record> = apex.iter().filter(|r| r.rtype == rtype).collect();
            let Some(&first) = set.first() else { continue };
            if set.iter().any(|r| zone.rdata_of(r) == delete) {
                if set.len() > 1 {
                    self.report(Severity::Error, Some(first), format!("a {rtype} delete record must be the only {rtype} record (RFC 8078 section 4)"));
                }
                continue;
            }
            for r in set {
                let alg = zone.rdata_of(r).get(alg_at).copied().unwrap_or(0);
                if !algorithms.contains(&alg) {
                    self.report(Severity::Error, Some(r), format!("{rtype} uses algorithm {alg}, but the zone has no DNSKEY with that algorithm (RFC 7344 section 4)"));
                }
            }
        }
    }

    /// RFC 5155 §4.1.1: NSEC3 hash algorithm 1 (SHA-1) is the only one
    /// defined. BIND 9.18 refuses a zone whose apex NSEC3PARAMs name no
    /// algorithm it supports ("no supported nsec3 hash algorithm"), and
    /// only logs the unsupported ones when another is usable.
    fn nsec3param_hash(&mut self, apex: &'z [Record]) {
        let zone = self.zone;
        let params: Vec<&Record> = apex
            .iter()
            .filter(|r| r.rtype == RType::NSEC3PARAM)
            .collect();
        let supported = |r: &Record| zone.rdata_of(r).first() == Some(&1);
        let severity = if params.iter().any(|r| supported(r)) {
            Severity::Warning
        } else {
            Severity::Error
        };
        for r in params.into_iter().filter(|r| !supported(r)) {
            let hash = zone.rdata_of(r).first().copied().unwrap_or(0);
            let message = format!(
                "NSEC3PARAM hash algorithm {hash} is not supported (only 1, SHA-1, is defined by RFC 5155)"
            );
            self.report(severity, Some(r), message);
        }
    }

    /// Checks the owners whose records are in `range` (owner-aligned).
    fn owners(&mut self, range: std::ops::Range<usize>) {
        let zone = self.zone;
        for group in zone.records[range].chunk_by(|a, b| a.owner == b.owner) {
            self.owner_group(group[0].owner, group);
        }
    }

    fn owner_group(&mut self, owner: NameId, group: &'z [Record]) {
        let zone = self.zone;
        let owner_wire = zone.names.get(owner);
        // Singletons and CNAME exclusivity.
        for t in [RType::SOA, RType::CNAME, RType::DNAME] {
            let mut same = group.iter().filter(|r| r.rtype == t);
            if let (Some(_), Some(second)) = (same.next(), same.next()) {
                let message = format!(
                    "{}: multiple {t} records, but {t} is a singleton type",
                    self.text(owner_wire)
                );
                self.report(Severity::Error, Some(second), message);
            }
        }
        if let Some(cname) = group.iter().find(|r| r.rtype == RType::CNAME)
            && let Some(other) = group
                .iter()
                .find(|r| !allowed_beside_cname(r.rtype) && r.rtype != RType::CNAME)
        {
            let later = group
                .iter()
                .filter(|r| r.file == cname.file)
                .max_by_key(|r| r.line)
                .unwrap_or(cname);
            let message = format!(
                "{}: CNAME and other data: CNAME on line {}, {} on line {}; a CNAME must be alone at its name",
                self.text(owner_wire),
                cname.line,
                other.rtype,
                other.line
            );
            self.report(Severity::Error, Some(later), message);
        }
        self.rrset_sizes(group);
        // BIND refuses an NS record at a wildcard name when it loads one
        // (a delegation cannot be synthesised).
        if name::labels(owner_wire).next() == Some(&b"*"[..])
            && let Some(ns) = group.iter().find(|r| r.rtype == RType::NS)
        {
            let message = format!(
                "{}: invalid NS owner name (wildcard)",
                self.text(owner_wire)
            );
            self.report(Severity::Error, Some(ns), message);
        }
        // check-names, record by record, as BIND checks them when it loads.
        for r in group {
            for message in check_names(r.rtype, owner_wire, zone.rdata_of(r)) {
                self.report(Severity::Error, Some(r), message);
            }
        }
        if owner_wire == zone.origin.wire() {
            for ds in group.iter().filter(|r| r.rtype == RType::DS) {
                let message = format!(
                    "DS record at the top of zone {}: DS records belong in the parent zone",
                    zone.origin
                );
                self.report(Severity::Error, Some(ds), message);
            }
        }
        if let Some(spf) = group.iter().find(|r| r.rtype == RType::SPF)
            && !group
                .iter()
                .any(|r| r.rtype == RType::TXT && is_spf_text(zone.rdata_of(r)))
        {
            // RFC 7208 §3.1: SPF lives in TXT; the SPF type alone is ignored by receivers.
            self.report(
                Severity::Warning,
                Some(spf),
                format!(
                    "{}: SPF record but no SPF TXT record; add a TXT record with the same policy",
                    self.text(owner_wire)
                ),
            );
        }
        for r in group {
            self.record_targets(r);
        }
    }

    /// BIND 9.18 keeps an RRset in one block of at most 65535 octets: its
    /// records' RDATA, each with a 2-octet length, may total 65512 octets
    /// (found against named-checkzone; one record of 65511 octets already
    /// fails). A larger RRset fails the load with "ran out of space".
    fn rrset_sizes(&mut self, group: &'z [Record]) {
        const MAX: usize = 65512;
        let zone = self.zone;
        let key = |r: &Record| (r.rtype, covered_type(r.rtype, zone.rdata_of(r)));
        for set in group.chunk_by(|a, b| key(a) == key(b)) {
            let size: usize = set.iter().map(|r| 2 + zone.rdata_of(r).len()).sum();
            if size > MAX {
                let last = set
                    .iter()
                    .max_by_key(|r| (r.file, r.line))
                    .unwrap_or(&set[0]);
                let message = format!(
                    "{}: the {} RRset is {size} octets long (each record's RDATA and 2), at most {MAX} are allowed (BIND: ran out of space)",
                    self.text(zone.names.get(last.owner)),
                    last.rtype
                );
                self.report(Severity::Error, Some(last), message);
            }
        }
    }

    /// Target sanity (RFC 2181 §10.3) and glue (RFC 1034 §4.2.1) for NS,
    /// MX and SRV records whose targets are in the zone.
    fn record_targets(&mut self, r: &Record) {
        let rdata = self.zone.rdata_of(r);
        let (target, what) = match r.rtype {
            RType::NS => (name_at(rdata, 0), "NS"),
            RType::MX => (name_at(rdata, 2), "MX"),
            RType::SRV => (name_at(rdata, 6), "SRV"),
            _ => return,
        };
        let Some(target) = target else { return };
        let origin = self.zone.origin.wire();
        if target == [0] || relative_len(target, origin).is_none() || !is_hostname(target, false) {
            return;
        }
        let owner = self.zone.names.get(r.owner);
        if r.rtype == RType::NS {
            // A name server inside the zone it serves needs glue.
            if owner != origin
                && relative_len(target, owner).is_some()
                && self.resolve(target) != Resolution::Address
            {
                self.report(
                    Severity::Warning,
                    Some(r),
                    format!(
                        "{}: NS '{}' has no required glue address records (A or AAAA)",
                        self.text(owner),
                        self.text(target)
                    ),
                );
            }
            return;
        }
        let found = self.resolve(target);
        if found == Resolution::Cname {
            self.report(
                Severity::Warning,
                Some(r),
                format!(
                    "{what} target '{}' is a CNAME, which is illegal (RFC 2181 section 10.3)",
                    self.text(target)
                ),
            );
        } else if found == Resolution::Missing {
            self.report(
                Severity::Warning,
                Some(r),
                format!(
                    "{what} target '{}' has no address records (A or AAAA)",
                    self.text(target)
                ),
            );
        }
    }

    /// What a lookup of the in-zone name `wire` for addresses finds, as
    /// BIND's integrity checks see it: glue counts, a name below a
    /// delegation is not checked, and a wildcard answers for a name that
    /// does not exist (RFC 4592 §3.3).
    fn resolve(&self, wire: &[u8]) -> Resolution {
        let has = |records: &[Record], t: RType| records.iter().any(|r| r.rtype == t);
        let judge = |records: &[Record]| {
            if has(records, RType::CNAME) {
                Resolution::Cname
            } else if has(records, RType::A) || has(records, RType::AAAA) {
                Resolution::Address
            } else {
                Resolution::Missing
            }
        };
        let exact = self.records_at(wire);
        let found = judge(exact);
        if found != Resolution::Missing {
            return found;
        }
        if self.below_delegation(wire) {
            return Resolution::Delegated;
        }
        if !exact.is_empty() {
            return Resolution::Missing;
        }
        // The closest existing ancestor's wildcard, if any.
        let origin_len = self.zone.origin.wire().len();
        let mut pos = 0;
        let mut wildcard = Vec::with_capacity(wire.len() + 2);
        while wire.len() - pos > origin_len {
            pos += 1 + wire[pos] as usize;
            let parent = &wire[pos..];
            wildcard.clear();
            wildcard.extend_from_slice(&[1, b'*']);
            wildcard.extend_from_slice(parent);
            let at_wildcard = self.records_at(&wildcard);
            if !at_wildcard.is_empty() {
                return judge(at_wildcard);
            }
            if !self.records_at(parent).is_empty() {
                break;
            }
        }
        Resolution::Missing
    }

    /// The nearest ancestor of `wire` (not `wire` itself, up to the apex)
    /// that owns a DNAME, if any.
    fn dname_above(&self, wire: &'z [u8]) -> Option<&'z [u8]> {
        let origin_len = self.zone.origin.wire().len();
        let mut pos = 0;
        while wire.len() - pos > origin_len {
            pos += 1 + wire[pos] as usize;
            let ancestor = &wire[pos..];
            if self
                .records_at(ancestor)
                .iter()
                .any(|r| r.rtype == RType::DNAME)
            {
                return Some(ancestor);
            }
        }
        None
    }

    /// True if `wire` is at or below a delegation point (not the apex).
    fn below_delegation(&self, wire: &[u8]) -> bool {
        let origin_len = self.zone.origin.wire().len();
        let mut pos = 0;
        while wire.len() - pos > origin_len {
            let suffix = &wire[pos..];
            if self.records_at(suffix).iter().any(|r| r.rtype == RType::NS) {
                return true;
            }
            pos += 1 + wire[pos] as usize;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Name;

    fn wire(text: &str) -> Vec<u8> {
        Name::from_ascii(text).unwrap().wire().to_vec()
    }

    fn problems(rtype: RType, owner: &str, rdata: &[u8]) -> usize {
        check_names(rtype, &wire(owner), rdata).len()
    }

    #[test]
    fn check_names_follows_bind() {
        let a = [192, 0, 2, 1];
        assert_eq!(problems(RType::A, "www.example.com.", &a), 0);
        assert_eq!(problems(RType::A, "*.example.com.", &a), 0);
        assert_eq!(problems(RType::A, "web_1.example.com.", &a), 1);
        assert_eq!(problems(RType::A, "gc._msdcs.corp.example.", &a), 0);
        assert_eq!(problems(RType::WKS, "gc._msdcs.corp.example.", &a), 1);
        assert_eq!(problems(RType::A, "x._SPF.example.com.", &a), 0);
        assert_eq!(problems(RType::A, "_spf_rate.example.com.", &a), 0);
        assert_eq!(problems(RType::A, "_spfx.example.com.", &a), 1);
        assert_eq!(problems(RType::AAAA, "_spf.example.com.", &a), 1);
        assert_eq!(problems(RType::TXT, "_dmarc.example.com.", b"\x01x"), 0);
        let mx = |target: &str| [&[0u8, 10][..], &wire(target)].concat();
        assert_eq!(problems(RType::MX, "example.com.", &mx(".")), 0, "null MX");
        assert_eq!(
            problems(RType::MX, "example.com.", &mx("mail_1.example.com.")),
            1
        );
        let svcb = |priority: u8, target: &str| [&[0u8, priority][..], &wire(target)].concat();
        assert_eq!(
            problems(RType::SVCB, "x.example.", &svcb(0, "_alias.example.")),
            0
        );
        assert_eq!(
            problems(RType::SVCB, "x.example.", &svcb(1, "_svc.example.")),
            1
        );
        let ptr = wire("host_1.example.");
        assert_eq!(problems(RType::PTR, "1.2.0.192.in-addr.arpa.", &ptr), 1);
        assert_eq!(
            problems(RType::PTR, "b._dns-sd._udp.2.0.192.in-addr.arpa.", &ptr),
            0
        );
        assert_eq!(
            problems(RType::PTR, "x.example.", &ptr),
            0,
            "forward zones are not checked"
        );
        let rp = [wire("\\005bad.example."), wire(".")].concat();
        assert_eq!(problems(RType::RP, "x.example.", &rp), 1);
    }
}
