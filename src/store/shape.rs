//! The store's shape of a zone, and the conversions to and from the model.
//!
//! The store keeps zones the way the REST API shows them: the SOA and the
//! apex NS set are fields of the zone ([`ZoneFields`]), everything else is
//! a [`RecordRow`] with a `name` relative to the zone (`@` for the apex), a
//! `record_type` mnemonic, a `value` in presentation form with absolute
//! names, a `ttl`, and a `priority` split out for MX and SRV.
//!
//! Both directions go through the one parser and the one RDATA writer, so
//! every type the parser knows round-trips: [`rows`] writes a zone's
//! records as text, [`ZoneBuilder`] parses them back, and the canonical
//! renderer gives byte-identical output for both zones.

use std::fmt;

use crate::parse::ValueParser;
use crate::parse::rdata::write_name;
use crate::render::{order, rdata::write_rdata};
use crate::zone::{Class, Name, RType, Record, Zone, name};

/// Zone-level data: the apex SOA and NS set and the `$TTL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFields {
    /// The zone's name without the final dot (`.` for the root zone).
    pub domain: String,
    /// The SOA: TTL, names and timers.
    pub soa: Soa,
    /// The zone file's `$TTL`, if it had one.
    pub default_ttl: Option<u32>,
    /// The apex NS targets, absolute, in canonical order.
    pub nameservers: Vec<String>,
    /// TTL of the apex NS set.
    pub ns_ttl: u32,
}

/// The fields of an SOA record (RFC 1035 §3.3.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// TTL of the SOA record.
    pub ttl: u32,
    /// Primary nameserver, absolute.
    pub mname: String,
    /// Mailbox of the person responsible, absolute, in name form.
    pub rname: String,
    /// Serial number.
    pub serial: u32,
    /// Refresh interval for secondaries.
    pub refresh: u32,
    /// Retry interval for secondaries.
    pub retry: u32,
    /// Expiry for secondaries.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308).
    pub minimum: u32,
}

impl Soa {
    /// The SOA RDATA in presentation form.
    pub fn value(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.mname,
            self.rname,
            self.serial,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum
        )
    }
}

/// One record in the store's (and the API's) shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRow {
    /// Owner relative to the zone: `@`, `www`, `*.dev`; absolute (with the
    /// final dot) when its spelling of the zone's name differs in case.
    pub name: String,
    /// Type mnemonic (`A`, `MX`, `TYPE65280`).
    pub record_type: String,
    /// RDATA in presentation form, names absolute; for MX and SRV without
    /// the leading priority.
    pub value: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// MX preference or SRV priority.
    pub priority: Option<u16>,
}

/// Why a zone or a row does not fit the store's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The zone has no SOA at its apex (the checks refuse such zones first).
    #[error("the zone has no SOA record at its apex")]
    NoSoa,
    /// The zone has no NS at its apex.
    #[error("the zone has no NS records at its apex")]
    NoNameservers,
    /// A stored row (or zone field) does not parse.
    #[error("{what} '{text}': {reason}")]
    Bad {
        /// Which part: "record name", "MX value", …
        what: String,
        /// The text that failed.
        text: String,
        /// Why.
        reason: String,
    },
}

/// Types whose first RDATA field is split out as `priority`.
pub fn has_priority(rtype: RType) -> bool {
    matches!(rtype, RType::MX | RType::SRV)
}

/// The type's name in the store: its mnemonic, or `TYPEnnn` (RFC 3597).
pub fn type_text(rtype: RType) -> String {
    rtype.to_string()
}

/// The apex as the zone file spells it (the owner of its SOA), which may
/// differ in case from the origin it was loaded with; the origin if there
/// is no SOA.
fn apex_spelling(zone: &Zone) -> &[u8] {
    let origin = zone.origin.wire();
    zone.records
        .iter()
        .find(|r| r.rtype == RType::SOA && name::relative_len(zone.owner_of(r), origin) == Some(0))
        .map_or(origin, |r| zone.owner_of(r))
}

/// The zone-level fields of a sorted zone: its SOA, apex NS set and `$TTL`.
/// The domain is spelled as the zone's own SOA owner, so that its records
/// keep their case (`EXAMPLE.COM.` loaded as `example.com` is stored and
/// exported as `EXAMPLE.COM`).
pub fn zone_fields(zone: &Zone) -> Result<ZoneFields, ShapeError> {
    let origin = zone.origin.wire();
    let at_apex = |r: &&Record| name::relative_len(zone.owner_of(r), origin) == Some(0);
    let soa = zone
        .records
        .iter()
        .filter(at_apex)
        .find(|r| r.rtype == RType::SOA)
        .ok_or(ShapeError::NoSoa)?;
    let soa = soa_fields(soa.ttl, zone.rdata_of(soa)).ok_or(ShapeError::NoSoa)?;
    let mut ns_ttl = None;
    let nameservers: Vec<String> = zone
        .records
        .iter()
        .filter(at_apex)
        .filter(|r| r.rtype == RType::NS)
        .map(|r| {
            ns_ttl = Some(r.ttl);
            name::to_text(zone.rdata_of(r))
        })
        .collect();
    Ok(ZoneFields {
        domain: domain_text(apex_spelling(zone)),
        soa,
        default_ttl: zone.default_ttl,
        nameservers,
        ns_ttl: ns_ttl.ok_or(ShapeError::NoNameservers)?,
    })
}

/// `example.com.` (in wire form) → `example.com`; the root stays `.`.
pub fn domain_text(origin: &[u8]) -> String {
    stored_domain(&name::to_text(origin))
}

/// `example.com.` (presentation form) → `example.com`, the store's
/// spelling (and rndc's); the root stays `.`.
pub fn stored_domain(name: &str) -> String {
    match name.strip_suffix('.') {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => name.to_string(),
    }
}

/// A stored domain → its absolute name: `example.com` → `example.com.`;
/// the root stays `.`.
pub fn absolute_domain(domain: &str) -> String {
    match domain {
        "." => ".".to_string(),
        d => format!("{d}."),
    }
}

fn soa_fields(ttl: u32, rdata: &[u8]) -> Option<Soa> {
    let mname_len = name::wire_len(rdata)?;
    let rname_len = name::wire_len(rdata.get(mname_len..)?)?;
    let timers = rdata.get(mname_len + rname_len..)?;
    let num = |i: usize| -> Option<u32> {
        Some(u32::from_be_bytes(
            timers.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    Some(Soa {
        ttl,
        mname: name::to_text(&rdata[..mname_len]),
        rname: name::to_text(&rdata[mname_len..mname_len + rname_len]),
        serial: num(0)?,
        refresh: num(1)?,
        retry: num(2)?,
        expire: num(3)?,
        minimum: num(4)?,
    })
}

/// The records of a sorted zone as rows, in canonical order, without the
/// apex SOA and NS set (those are [`ZoneFields`]).
pub fn rows(zone: &Zone) -> impl Iterator<Item = RecordRow> + '_ {
    let origin = apex_spelling(zone);
    let mut scratch = Vec::with_capacity(256);
    let mut last_owner = None;
    let mut owner_text = String::new();
    zone.records.iter().filter_map(move |r| {
        let owner = zone.owner_of(r);
        let apex = name::relative_len(owner, origin) == Some(0);
        if apex && matches!(r.rtype, RType::SOA | RType::NS) {
            return None;
        }
        // Compared by address: one name, or one RRset's own spelling of it
        // (`Zone::owner_case`), which must not reuse the name's text.
        if !last_owner.is_some_and(|last: &[u8]| std::ptr::eq(last, owner)) {
            last_owner = Some(owner);
            scratch.clear();
            name::write_text(&mut scratch, owner, Some(origin));
            // The writer escapes every byte outside printable ASCII.
            owner_text = String::from_utf8_lossy(&scratch).into_owned();
        }
        let (value, priority) = value_text(r.rtype, zone.rdata_of(r), &mut scratch);
        Some(RecordRow {
            name: owner_text.clone(),
            record_type: type_text(r.rtype),
            value,
            ttl: r.ttl,
            priority,
        })
    })
}

/// A record's RDATA as the store keeps it: presentation form with absolute
/// names, and for MX and SRV the first field split out as the priority.
/// `scratch` is a reusable buffer.
pub fn value_text(rtype: RType, rdata: &[u8], scratch: &mut Vec<u8>) -> (String, Option<u16>) {
    scratch.clear();
    write_rdata(rtype, rdata, None, scratch);
    let mut text: &[u8] = scratch;
    let mut priority = None;
    if has_priority(rtype)
        && let Some(space) = text.iter().position(|&b| b == b' ')
        && let Some(p) = std::str::from_utf8(&text[..space])
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
    {
        priority = Some(p);
        text = &text[space + 1..];
    }
    // The writer escapes every byte outside printable ASCII.
    (String::from_utf8_lossy(text).into_owned(), priority)
}

/// Builds a [`Zone`] back from its fields and rows (the store's export
/// path): every row is parsed by the zone-file parser's RDATA layer.
pub struct ZoneBuilder {
    zone: Zone,
    values: ValueParser,
    scratch: Vec<u8>,
    line: u32,
}

impl ZoneBuilder {
    /// Starts a zone with its SOA and apex NS set; `rows` is a capacity hint.
    pub fn new(fields: &ZoneFields, rows: usize) -> Result<Self, ShapeError> {
        let origin =
            Name::parse(absolute_domain(&fields.domain).as_bytes(), None).map_err(|e| {
                ShapeError::Bad {
                    what: "zone name".into(),
                    text: fields.domain.clone(),
                    reason: e.to_string(),
                }
            })?;
        let mut zone = Zone::new(origin, Class::IN);
        zone.default_ttl = fields.default_ttl;
        zone.files.push(format!("zone {}", fields.domain));
        zone.records.reserve(rows + fields.nameservers.len() + 1);
        let mut builder = ZoneBuilder {
            zone,
            values: ValueParser::default(),
            scratch: Vec::with_capacity(256),
            line: 0,
        };
        builder.push_at_apex(RType::SOA, &fields.soa.value(), fields.soa.ttl)?;
        for ns in &fields.nameservers {
            builder.push_at_apex(RType::NS, ns, fields.ns_ttl)?;
        }
        Ok(builder)
    }

    fn push_at_apex(&mut self, rtype: RType, value: &str, ttl: u32) -> Result<(), ShapeError> {
        self.push("@", rtype, value, ttl, None)
    }

    /// Adds one row.
    pub fn push_row(&mut self, row: &RecordRow) -> Result<(), ShapeError> {
        let rtype = parse_type(&row.record_type)?;
        self.push(&row.name, rtype, &row.value, row.ttl, row.priority)
    }

    /// Adds one record given as the store's columns.
    pub fn push(
        &mut self,
        owner: &str,
        rtype: RType,
        value: &str,
        ttl: u32,
        priority: Option<u16>,
    ) -> Result<(), ShapeError> {
        self.line += 1;
        let origin = self.zone.origin.wire();
        self.scratch.clear();
        write_name(owner.as_bytes(), origin, &mut self.scratch).map_err(|e| ShapeError::Bad {
            what: "record name".into(),
            text: owner.into(),
            reason: e.to_string(),
        })?;
        if name::relative_len(&self.scratch, origin).is_none() {
            return Err(ShapeError::Bad {
                what: "record name".into(),
                text: owner.into(),
                reason: format!("not inside the zone {}", self.zone.origin),
            });
        }
        let owner_id = self.zone.names.push(&self.scratch);
        let rd_off = self.zone.rdata.len();
        let parsed = value_wire(
            &mut self.values,
            rtype,
            value,
            priority,
            origin,
            &mut self.zone.rdata,
        );
        parsed.map_err(|reason| ShapeError::Bad {
            what: format!("{rtype} value"),
            text: value.into(),
            reason,
        })?;
        if self.zone.rdata.len() - rd_off > usize::from(u16::MAX) {
            self.zone.rdata.truncate(rd_off);
            return Err(ShapeError::Bad {
                what: format!("{rtype} value"),
                text: value.chars().take(40).collect(),
                reason: "RDATA longer than 65535 octets".into(),
            });
        }
        self.zone.push(owner_id, ttl, rtype, rd_off, 0, self.line);
        Ok(())
    }

    /// The zone, in canonical order.
    pub fn finish(mut self) -> Zone {
        order::sort(&mut self.zone);
        self.zone
    }
}

/// The store's columns of a record's value (its text and, for MX and SRV,
/// the priority) appended to `out` as RDATA in wire form, by `values`.
pub fn value_wire(
    values: &mut ValueParser,
    rtype: RType,
    value: &str,
    priority: Option<u16>,
    origin: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match priority {
        Some(p) if has_priority(rtype) => {
            let text = format!("{p} {value}");
            values.parse(rtype, text.as_bytes(), origin, out)
        }
        Some(_) => Err(format!("{rtype} records take no priority")),
        None => values.parse(rtype, value.as_bytes(), origin, out),
    }
}

/// A `record_type` column back to a type.
pub fn parse_type(text: &str) -> Result<RType, ShapeError> {
    RType::from_text(text.as_bytes())
        .filter(|t| !t.is_meta())
        .ok_or_else(|| ShapeError::Bad {
            what: "record type".into(),
            text: text.into(),
            reason: "not a record type".into(),
        })
}

impl fmt::Display for RecordRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.ttl, self.record_type)?;
        if let Some(p) = self.priority {
            write!(f, " {p}")?;
        }
        write!(f, " {}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Template, render_to_vec};

    use crate::render::order::sorted_example as sorted;

    const ZONE: &str = "$TTL 300\n\
        @ 600 SOA ns1 hostmaster.example.com. 2024010101 7200 900 1209600 300\n\
        @ 900 NS ns1\n@ 900 NS ns.other.net.\n\
        @ MX 10 mail\n_sip._udp SRV 0 5 5060 sip\nWWW A 192.0.2.1\n\
        txt TXT \"a b\" \"c\\\"d\"\nsub NS ns.sub\nns.sub A 192.0.2.9\n\
        ns1 A 192.0.2.2\nx.Example.COM. AAAA 2001:db8::1\nu TYPE65280 \\# 2 abcd\n";

    #[test]
    fn soa_and_apex_ns_are_zone_fields() {
        let fields = zone_fields(&sorted(ZONE)).unwrap();
        assert_eq!(fields.domain, "example.com");
        assert_eq!(fields.default_ttl, Some(300));
        assert_eq!(fields.ns_ttl, 900);
        assert_eq!(
            fields.nameservers,
            ["ns.other.net.", "ns1.example.com."],
            "canonical order"
        );
        assert_eq!(
            fields.soa.value(),
            "ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
        );
        assert_eq!(fields.soa.ttl, 600);
    }

    #[test]
    fn records_become_rows_in_the_api_shape() {
        let zone = sorted(ZONE);
        let shown: Vec<String> = rows(&zone).map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "@ 300 MX 10 mail.example.com.",
                "_sip._udp 300 SRV 0 5 5060 sip.example.com.",
                "ns1 300 A 192.0.2.2",
                "sub 300 NS ns.sub.example.com.",
                "ns.sub 300 A 192.0.2.9",
                "txt 300 TXT \"a b\" \"c\\\"d\"",
                "u 300 TYPE65280 \\# 2 ABCD",
                "WWW 300 A 192.0.2.1",
                "x.Example.COM. 300 AAAA 2001:db8::1",
            ]
        );
        let mx = rows(&zone).next().unwrap();
        assert_eq!(
            (mx.priority, mx.value.as_str()),
            (Some(10), "mail.example.com.")
        );
    }

    #[test]
    fn rows_build_the_same_zone_back() {
        let zone = sorted(ZONE);
        let fields = zone_fields(&zone).unwrap();
        let mut builder = ZoneBuilder::new(&fields, 0).unwrap();
        for row in rows(&zone) {
            builder.push_row(&row).unwrap();
        }
        let template = Template::builtin();
        assert_eq!(
            String::from_utf8(render_to_vec(&builder.finish(), &template).unwrap()).unwrap(),
            String::from_utf8(render_to_vec(&zone, &template).unwrap()).unwrap()
        );
    }

    #[test]
    fn bad_rows_are_refused_with_the_reason() {
        let fields = zone_fields(&sorted(ZONE)).unwrap();
        let mut builder = ZoneBuilder::new(&fields, 0).unwrap();
        let row = |name: &str, t: &str, value: &str, priority| RecordRow {
            name: name.into(),
            record_type: t.into(),
            value: value.into(),
            ttl: 60,
            priority,
        };
        for (bad, why) in [
            (row("www", "A", "192.0.2.300", None), "A value"),
            (
                row("www.example.net.", "A", "192.0.2.1", None),
                "not inside the zone",
            ),
            (row("www", "A", "192.0.2.1", Some(5)), "take no priority"),
            (row("www", "ANY", "x", None), "not a record type"),
            (row("w\\", "A", "192.0.2.1", None), "record name"),
        ] {
            let err = builder.push_row(&bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
