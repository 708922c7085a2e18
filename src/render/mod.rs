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
pub use template::error_chain;

use std::io::{self, Write};

pub use template::{Template, TemplateError};

use crate::zone::{RType, Zone, name};
use template::{FieldKind, Segment};

/// Zones with at least this many records are rendered on two threads.
const PARALLEL_FROM: usize = 100_000;

/// Writes `zone` (sorted) through `template` to `out`.
pub fn render(zone: &Zone, template: &Template, out: &mut dyn Write) -> Result<(), TemplateError> {
    let layout = template.layout(&header_values(zone))?;
    let widths = column_widths(zone, &layout.line);
    out.write_all(&layout.header).map_err(TemplateError::Io)?;
    if zone.records.len() < PARALLEL_FROM {
        write_records(zone, &zone.records, &layout.line, &widths, out)
            .map_err(TemplateError::Io)?;
    } else {
        // The second half is rendered into memory on another thread while
        // this one streams the first half out; then the second half follows.
        let (first, second) = zone.records.split_at(zone.records.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let second = s.spawn(|| {
                let mut buf = Vec::with_capacity(second.len() * 56);
                write_records(zone, second, &layout.line, &widths, &mut buf).map(|()| buf)
            });
            (
                write_records(zone, first, &layout.line, &widths, out),
                second.join(),
            )
        });
        a.map_err(TemplateError::Io)?;
        let b = b.map_err(|_| TemplateError::Io(io::Error::other("render thread panicked")))?;
        out.write_all(&b.map_err(TemplateError::Io)?)
            .map_err(TemplateError::Io)?;
    }
    out.write_all(&layout.footer).map_err(TemplateError::Io)?;
    out.flush().map_err(TemplateError::Io)
}

/// Renders to a `Vec<u8>`.
pub fn render_to_vec(zone: &Zone, template: &Template) -> Result<Vec<u8>, TemplateError> {
    let mut out = Vec::with_capacity(zone.records.len() * 56 + 256);
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
        let at = crate::zone::rdata::soa_serial_offset(d)?;
        Some(u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]))
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
    let origin = zone.origin.wire();
    let mut last_owner = None;
    let mut widest_ttl = 0;
    let mut widest_type = 0;
    let mut widest_owner = 0;
    for r in &zone.records {
        // Compared by address: one name, or one RRset's own spelling of it.
        let owner = zone.owner_of(r);
        if !last_owner.is_some_and(|last| std::ptr::eq(last, owner)) {
            last_owner = Some(owner);
            widest_owner = widest_owner.max(name::text_len(owner, Some(origin)));
        }
        widest_ttl = widest_ttl.max(r.ttl);
        widest_type = widest_type.max(type_len(r.rtype));
    }
    widest[FieldKind::Owner as usize] = widest_owner;
    widest[FieldKind::Ttl as usize] = decimal_len(widest_ttl);
    widest[FieldKind::Type as usize] = widest_type;
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

fn write_type(t: RType, out: &mut Vec<u8>) {
    match t.mnemonic() {
        Some(m) => out.extend_from_slice(m.as_bytes()),
        None => {
            out.extend_from_slice(b"TYPE");
            rdata::push_num(out, t.0);
        }
    }
}

fn write_records(
    zone: &Zone,
    records: &[crate::zone::Record],
    line: &[Segment],
    widths: &[usize; 5],
    out: &mut dyn Write,
) -> io::Result<()> {
    const FLUSH_AT: usize = 1 << 16;
    let origin = zone.origin.wire();
    let class = zone.class.to_string();
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 70_000);
    let mut owner_text: Vec<u8> = Vec::with_capacity(64);
    let mut last_owner = None;
    for r in records {
        // Compared by address: one name, or one RRset's own spelling of it.
        let owner = zone.owner_of(r);
        if !last_owner.is_some_and(|last| std::ptr::eq(last, owner)) {
            last_owner = Some(owner);
            owner_text.clear();
            name::write_text(&mut owner_text, owner, Some(origin));
        }
        for seg in line {
            match seg {
                Segment::Literal(bytes) => buf.extend_from_slice(bytes),
                Segment::Field { kind, .. } => {
                    let start = buf.len();
                    match kind {
                        FieldKind::Owner => buf.extend_from_slice(&owner_text),
                        FieldKind::Ttl => rdata::push_num(&mut buf, r.ttl),
                        FieldKind::Class => buf.extend_from_slice(class.as_bytes()),
                        FieldKind::Type => write_type(r.rtype, &mut buf),
                        FieldKind::Rdata => {
                            rdata::write_rdata(r.rtype, zone.rdata_of(r), Some(origin), &mut buf)
                        }
                    }
                    let width = widths[*kind as usize];
                    let written = buf.len() - start;
                    if written < width {
                        buf.resize(buf.len() + width - written, b' ');
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> Vec<u8> {
        render_to_vec(&order::sorted_example(text), &Template::builtin()).unwrap()
    }

    /// Values built from escapes (newlines, directives, comment and quote
    /// characters) come out escaped: one line per record, nothing else.
    #[test]
    fn no_value_can_inject_a_line_a_directive_or_a_record() {
        let hostile = "$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
            \\$INCLUDE\\010/etc/passwd TXT \"x\\010$INCLUDE /etc/passwd\\013\\010@ A 6.6.6.6\" \"\\\"; (\"\n\
            a\\;b\\(c\\)\\\"d\\@e\\032f TXT \"\\000\\255\\\\\"\n";
        let out = compile_text(hostile);
        let text = String::from_utf8(out.clone()).unwrap();
        let records: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with(';') && !l.starts_with('$'))
            .collect();
        assert_eq!(records.len(), 5, "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("$INCLUDE")).count(),
            0,
            "{text}"
        );
        assert!(text.contains("\\$INCLUDE\\010/etc/passwd 300   IN TXT   \"x\\010$INCLUDE /etc/passwd\\013\\010@ A 6.6.6.6\" \"\\\"; (\"\n"), "{text}");
        assert!(text.contains("a\\;b\\(c\\)\\\"d\\@e\\032f"), "{text}");
        // And reading it back gives the same zone, byte for byte.
        assert_eq!(compile_text(&text), out);
    }
}
