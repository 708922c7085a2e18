//! The canonical renderer: [`Zone`] → zone file text, laid out by
//! `templates/zone.tera`.
//!
//! Evaluating a template per record costs microseconds (a million records
//! would take seconds), so the template is evaluated once per zone with
//! placeholder values for the record fields. The line holding the
//! placeholders becomes a compiled line pattern that Rust fills in for every
//! record; what comes before it is the header, what follows the footer. The
//! template thus owns the whole layout, including separators and column
//! widths, while records are written with plain byte copies.
//!
//! Records must already be in canonical order ([`order::sort`]). Names are
//! written relative to the origin where possible, TTL and class always, and
//! every value is escaped by the name and RDATA writers, so nothing a record
//! holds can start a new line, a comment or a directive.

pub mod order;
pub mod rdata;
mod template;

use std::io::{self, Write};

pub use template::{Template, TemplateError};

use crate::zone::{RType, Zone, name};
use template::{FieldKind, Segment};

/// Writes `zone` (sorted) through `template` to `out`.
pub fn render(zone: &Zone, template: &Template, out: &mut dyn Write) -> Result<(), TemplateError> {
    let layout = template.layout(&header_values(zone))?;
    let widths = column_widths(zone, &layout.line);
    out.write_all(&layout.header).map_err(TemplateError::Io)?;
    write_records(zone, &layout.line, &widths, out).map_err(TemplateError::Io)?;
    out.write_all(&layout.footer).map_err(TemplateError::Io)?;
    out.flush().map_err(TemplateError::Io)
}

/// Renders to a `Vec<u8>`.
pub fn render_to_vec(zone: &Zone, template: &Template) -> Result<Vec<u8>, TemplateError> {
    let mut out = Vec::with_capacity(zone.records.len() * 48 + 256);
    render(zone, template, &mut out)?;
    Ok(out)
}

/// Values the template's header may use.
pub struct HeaderValues {
    /// The origin, absolute, escaped.
    pub origin: String,
    /// `$TTL` value.
    pub default_ttl: u32,
    /// Class mnemonic.
    pub class: String,
    /// Number of records.
    pub record_count: usize,
    /// SOA serial, if the zone has an SOA.
    pub serial: Option<u32>,
}

fn header_values(zone: &Zone) -> HeaderValues {
    let soa = zone.records.iter().find(|r| r.rtype == RType::SOA);
    let serial = soa.and_then(|r| {
        let d = zone.rdata_of(r);
        let names = name::wire_len(d)?;
        let rname = name::wire_len(&d[names..])?;
        let s = d.get(names + rname..names + rname + 4)?;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    });
    HeaderValues {
        origin: zone.origin.to_string(),
        default_ttl: zone.default_ttl.or(soa.map(|r| r.ttl)).unwrap_or(3600),
        class: zone.class.to_string(),
        record_count: zone.records.len(),
        serial,
    }
}

/// Width of each padded field: the widest value, within the template's bounds.
fn column_widths(zone: &Zone, line: &[Segment]) -> [usize; 5] {
    let mut widest = [0usize; 5];
    let mut scratch = Vec::with_capacity(64);
    let origin = zone.origin.wire();
    let mut last_owner = None;
    for r in &zone.records {
        if last_owner != Some(r.owner) {
            last_owner = Some(r.owner);
            scratch.clear();
            name::write_text(&mut scratch, zone.owner_of(r), Some(origin));
            widest[FieldKind::Owner as usize] =
                widest[FieldKind::Owner as usize].max(scratch.len());
        }
        widest[FieldKind::Ttl as usize] = widest[FieldKind::Ttl as usize].max(decimal_len(r.ttl));
        widest[FieldKind::Type as usize] = widest[FieldKind::Type as usize].max(type_len(r.rtype));
    }
    widest[FieldKind::Class as usize] = zone.class.to_string().len();
    let mut widths = [0usize; 5];
    for seg in line {
        if let Segment::Field { kind, min, max } = seg {
            widths[*kind as usize] = widest[*kind as usize].clamp(*min, (*max).max(*min));
        }
    }
    widths
}

fn decimal_len(mut n: u32) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn type_len(t: RType) -> usize {
    match t.mnemonic() {
        Some(m) => m.len(),
        None => 4 + decimal_len(u32::from(t.0)),
    }
}

fn write_records(
    zone: &Zone,
    line: &[Segment],
    widths: &[usize; 5],
    out: &mut dyn Write,
) -> io::Result<()> {
    const FLUSH_AT: usize = 1 << 16;
    let origin = zone.origin.wire();
    let class = zone.class.to_string();
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 4096);
    let mut owner_text: Vec<u8> = Vec::with_capacity(64);
    let mut last_owner = None;
    let mut field: Vec<u8> = Vec::with_capacity(256);
    for r in &zone.records {
        if last_owner != Some(r.owner) {
            last_owner = Some(r.owner);
            owner_text.clear();
            name::write_text(&mut owner_text, zone.owner_of(r), Some(origin));
        }
        for seg in line {
            match seg {
                Segment::Literal(bytes) => buf.extend_from_slice(bytes),
                Segment::Field { kind, .. } => {
                    field.clear();
                    let value: &[u8] = match kind {
                        FieldKind::Owner => &owner_text,
                        FieldKind::Ttl => {
                            rdata::push_num(&mut field, r.ttl);
                            &field
                        }
                        FieldKind::Class => class.as_bytes(),
                        FieldKind::Type => {
                            match r.rtype.mnemonic() {
                                Some(m) => field.extend_from_slice(m.as_bytes()),
                                None => {
                                    field.extend_from_slice(b"TYPE");
                                    rdata::push_num(&mut field, r.rtype.0);
                                }
                            }
                            &field
                        }
                        FieldKind::Rdata => {
                            rdata::write_rdata(r.rtype, zone.rdata_of(r), Some(origin), &mut field);
                            &field
                        }
                    };
                    buf.extend_from_slice(value);
                    let width = widths[*kind as usize];
                    if value.len() < width {
                        buf.resize(buf.len() + width - value.len(), b' ');
                    }
                }
            }
        }
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}
