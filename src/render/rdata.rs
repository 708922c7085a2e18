//! RDATA: wire bytes → presentation text, the inverse of `parse::rdata`.
//!
//! The same field table drives both directions. Decoding is strict: any
//! RDATA that does not decode exactly (short, long, bad lengths) is
//! refused, which is also how `\#` input for a known type is validated
//! (RFC 3597 §5). Output re-parses to the same wire bytes, and every string
//! is quoted and escaped so that no value can end the record, start a
//! comment or a directive, or spill onto another line.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::zone::encoding::{encode_base32hex, encode_base64, encode_hex};
use crate::zone::name::{self, push_decimal_escape};
use crate::zone::rdata::{Field, Layout, layout};
use crate::zone::rtype::RType;

/// True if `wire` is well-formed RDATA for `rtype`.
pub fn is_valid(rtype: RType, wire: &[u8]) -> bool {
    if rtype == RType::APL {
        return crate::zone::rdata::is_valid_apl(wire);
    }
    let mut scratch = Vec::new();
    write_typed(rtype, wire, None, &mut scratch).is_some()
}

/// Writes the RDATA in presentation form; names at or below `origin` are
/// written relative to it. Types without a presentation form, and RDATA
/// that does not decode, are written in RFC 3597 generic form.
pub fn write_rdata(rtype: RType, wire: &[u8], origin: Option<&[u8]>, out: &mut Vec<u8>) {
    let start = out.len();
    if write_typed(rtype, wire, origin, out).is_none() {
        out.truncate(start);
        write_generic(wire, out);
    }
}

/// RFC 3597 §5 generic form: `\# length hex`.
pub fn write_generic(wire: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\# ");
    out.extend_from_slice(wire.len().to_string().as_bytes());
    if !wire.is_empty() {
        out.push(b' ');
        encode_hex(wire, out);
    }
}

fn write_typed(rtype: RType, wire: &[u8], origin: Option<&[u8]>, out: &mut Vec<u8>) -> Option<()> {
    let mut r = Reader {
        data: wire,
        pos: 0,
        origin,
    };
    match layout(rtype) {
        Layout::Fields(fields) => {
            for (k, field) in fields.iter().enumerate() {
                if k > 0 && !(r.done() && is_optional_tail(*field)) {
                    out.push(b' ');
                }
                r.field(*field, out)?;
            }
            // A field that may be empty leaves a trailing space behind.
            if out.last() == Some(&b' ') {
                out.pop();
            }
        }
        Layout::Custom => r.custom(rtype, out)?,
        Layout::GenericOnly | Layout::Unknown => return None,
    }
    r.done().then_some(())
}

/// Fields that may be empty at the end of the RDATA.
fn is_optional_tail(field: Field) -> bool {
    matches!(
        field,
        Field::TypeBitmap | Field::NxtBitmap | Field::Hex | Field::Base64Optional
    )
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    origin: Option<&'a [u8]>,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos == self.data.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let len = name::wire_len(&self.data[self.pos..])?;
        let wire = self.take(len)?;
        name::write_text(out, wire, self.origin);
        Some(())
    }

    fn char_string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let len = self.u8()? as usize;
        write_quoted(self.take(len)?, out);
        Some(())
    }

    fn field(&mut self, field: Field, out: &mut Vec<u8>) -> Option<()> {
        match field {
            Field::U8 | Field::Enum8(_) => push_num(out, self.u8()?),
            Field::U16 => push_num(out, self.u16()?),
            Field::U32 | Field::Duration => push_num(out, self.u32()?),
            Field::Name(_) => self.name(out)?,
            Field::Ipv4 => write_ipv4(self.take(4)?, out),
            Field::Ipv6 => {
                let b: [u8; 16] = self.take(16)?.try_into().ok()?;
                write_ipv6(&b, out);
            }
            Field::CharString => self.char_string(out)?,
            Field::CharStrings => {
                self.char_string(out)?;
                while !self.done() {
                    out.push(b' ');
                    self.char_string(out)?;
                }
            }
            Field::Hex => encode_hex(self.rest(), out),
            Field::HexRequired => {
                let rest = self.rest();
                if rest.is_empty() {
                    return None;
                }
                encode_hex(rest, out);
            }
            Field::HexSalt => {
                let len = self.u8()? as usize;
                let salt = self.take(len)?;
                if salt.is_empty() {
                    out.push(b'-');
                } else {
                    encode_hex(salt, out);
                }
            }
            Field::Base32Hex => {
                let len = self.u8()? as usize;
                let hash = self.take(len)?;
                if hash.is_empty() {
                    return None;
                }
                encode_base32hex(hash, out);
            }
            Field::Base64 => {
                let rest = self.rest();
                if rest.is_empty() {
                    return None;
                }
                encode_base64(rest, out);
            }
            Field::Base64Optional => encode_base64(self.rest(), out),
            Field::TypeBitmap => write_type_bitmap(self.rest(), out)?,
            Field::NxtBitmap => write_nxt_bitmap(self.rest(), out)?,
            Field::Type => write_type(out, RType(self.u16()?)),
            Field::Time | Field::Date => write_time(self.u32()?, out),
            Field::CertType | Field::KeyFlags => push_num(out, self.u16()?),
            Field::TextNoLength | Field::QuotedText => write_quoted(self.rest(), out),
            Field::CaaTag => {
                let len = self.u8()? as usize;
                let tag = self.take(len)?;
                if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                    return None;
                }
                out.extend_from_slice(tag);
            }
            Field::Eui48 => write_eui(self.take(6)?, out),
            Field::Eui64 => write_eui(self.take(8)?, out),
            Field::Ilnp64 => {
                let b = self.take(8)?;
                for (k, pair) in b.chunks_exact(2).enumerate() {
                    if k > 0 {
                        out.push(b':');
                    }
                    let v = u16::from_be_bytes([pair[0], pair[1]]);
                    out.extend_from_slice(format!("{v:04x}").as_bytes());
                }
            }
        }
        Some(())
    }

    fn custom(&mut self, rtype: RType, out: &mut Vec<u8>) -> Option<()> {
        match rtype {
            RType::WKS => {
                self.field(Field::Ipv4, out)?;
                out.push(b' ');
                push_num(out, self.u8()?);
                let bitmap = self.rest();
                // BIND 9.18 refuses a bitmap with a trailing zero octet (FORMERR).
                if bitmap.last() == Some(&0) {
                    return None;
                }
                for (byte_index, &bits) in bitmap.iter().enumerate() {
                    for bit in 0..8 {
                        if bits & (0x80 >> bit) != 0 {
                            out.push(b' ');
                            push_num(out, (byte_index * 8 + bit) as u64);
                        }
                    }
                }
            }
            RType::LOC => self.loc(out)?,
            RType::APL => {
                let mut first = true;
                while !self.done() {
                    if !first {
                        out.push(b' ');
                    }
                    first = false;
                    let afi = self.u16()?;
                    let prefix = self.u8()?;
                    let nlen = self.u8()?;
                    let addr = self.take((nlen & 0x7f) as usize)?;
                    // RFC 3123 §4: no trailing zero octets (BIND: FORMERR).
                    if addr.last() == Some(&0) {
                        return None;
                    }
                    if nlen & 0x80 != 0 {
                        out.push(b'!');
                    }
                    match afi {
                        1 if addr.len() <= 4 && prefix <= 32 => {
                            let mut b = [0u8; 4];
                            b[..addr.len()].copy_from_slice(addr);
                            out.extend_from_slice(
                                format!("1:{}/{prefix}", Ipv4Addr::from(b)).as_bytes(),
                            );
                        }
                        2 if addr.len() <= 16 && prefix <= 128 => {
                            let mut b = [0u8; 16];
                            b[..addr.len()].copy_from_slice(addr);
                            out.extend_from_slice(
                                format!("2:{}/{prefix}", Ipv6Addr::from(b)).as_bytes(),
                            );
                        }
                        _ => return None,
                    }
                }
            }
            RType::SVCB | RType::HTTPS => self.svcb(out)?,
            RType::IPSECKEY => {
                push_num(out, self.u8()?);
                let gw_type = self.u8()?;
                out.push(b' ');
                push_num(out, gw_type);
                out.push(b' ');
                push_num(out, self.u8()?);
                out.push(b' ');
                self.gateway(gw_type, out)?;
                // RFC 4025 §2.6: BIND 9.18 refuses an IPSECKEY without a key,
                // in text and in wire form alike.
                if self.done() {
                    return None;
                }
                out.push(b' ');
                encode_base64(self.rest(), out);
            }
            RType::AMTRELAY => {
                push_num(out, self.u8()?);
                let dt = self.u8()?;
                out.extend_from_slice(format!(" {} {} ", dt >> 7, dt & 0x7f).as_bytes());
                match dt & 0x7f {
                    0 => out.push(b'.'),
                    t @ 1..=3 => self.gateway(t, out)?,
                    _ => {
                        out.pop();
                        let rest = self.rest();
                        if !rest.is_empty() {
                            out.push(b' ');
                            encode_hex(rest, out);
                        }
                    }
                }
            }
            RType::HIP => {
                let hit_len = self.u8()? as usize;
                let alg = self.u8()?;
                let pk_len = self.u16()? as usize;
                let hit = self.take(hit_len)?;
                let pk = self.take(pk_len)?;
                if hit.is_empty() || pk.is_empty() {
                    return None;
                }
                push_num(out, alg);
                out.push(b' ');
                encode_hex(hit, out);
                out.push(b' ');
                encode_base64(pk, out);
                while !self.done() {
                    out.push(b' ');
                    self.name(out)?;
                }
            }
            RType::NSAP => {
                let rest = self.rest();
                if rest.is_empty() {
                    return None;
                }
                out.extend_from_slice(b"0x");
                encode_hex(rest, out);
            }
            RType::ISDN => {
                self.char_string(out)?;
                if !self.done() {
                    out.push(b' ');
                    self.char_string(out)?;
                }
            }
            RType::A6 => {
                let plen = self.u8()? as usize;
                if plen > 128 {
                    return None;
                }
                push_num(out, plen as u64);
                if plen < 128 {
                    let skip = plen / 8;
                    let suffix = self.take(16 - skip)?;
                    let mut b = [0u8; 16];
                    b[skip..].copy_from_slice(suffix);
                    out.push(b' ');
                    out.extend_from_slice(Ipv6Addr::from(b).to_string().as_bytes());
                }
                if plen > 0 {
                    out.push(b' ');
                    self.name(out)?;
                }
            }
            RType::ATMA => {
                let format = self.u8()?;
                let rest = self.rest();
                if rest.is_empty() {
                    return None;
                }
                match format {
                    0 => encode_hex(rest, out),
                    1 if rest.iter().all(u8::is_ascii_digit) => {
                        out.push(b'+');
                        out.extend_from_slice(rest);
                    }
                    _ => return None,
                }
            }
            RType::DOA => {
                push_num(out, self.u32()?);
                out.push(b' ');
                push_num(out, self.u32()?);
                out.push(b' ');
                push_num(out, self.u8()?);
                out.push(b' ');
                self.char_string(out)?;
                out.push(b' ');
                let rest = self.rest();
                if rest.is_empty() {
                    out.push(b'-');
                } else {
                    encode_base64(rest, out);
                }
            }
            _ => return None,
        }
        Some(())
    }

    fn gateway(&mut self, gw_type: u8, out: &mut Vec<u8>) -> Option<()> {
        match gw_type {
            0 => out.push(b'.'),
            1 => self.field(Field::Ipv4, out)?,
            2 => self.field(Field::Ipv6, out)?,
            3 => self.name(out)?,
            _ => return None,
        }
        Some(())
    }

    /// RFC 1876 §3 presentation, as BIND writes it.
    fn loc(&mut self, out: &mut Vec<u8>) -> Option<()> {
        if self.u8()? != 0 {
            return None;
        }
        let mut precision = [0u64; 3];
        for p in &mut precision {
            let b = self.u8()?;
            let (mant, exp) = (b >> 4, b & 15);
            if mant > 9 || exp > 9 {
                return None;
            }
            *p = u64::from(mant) * 10u64.pow(u32::from(exp));
        }
        let lat = i64::from(self.u32()?) - (1 << 31);
        let lon = i64::from(self.u32()?) - (1 << 31);
        let alt = i64::from(self.u32()?) - 10_000_000;
        if lat.abs() > 90 * 3_600_000 || lon.abs() > 180 * 3_600_000 {
            return None;
        }
        write_angle(lat, b'N', b'S', out);
        out.push(b' ');
        write_angle(lon, b'E', b'W', out);
        let sign = if alt < 0 { "-" } else { "" };
        out.extend_from_slice(
            format!(" {sign}{}.{:02}m", alt.abs() / 100, alt.abs() % 100).as_bytes(),
        );
        for cm in precision {
            out.extend_from_slice(format!(" {}.{:02}m", cm / 100, cm % 100).as_bytes());
        }
        Some(())
    }

    /// RFC 9460 §2.1 presentation; values are always quoted.
    fn svcb(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let priority = self.u16()?;
        push_num(out, priority);
        out.push(b' ');
        self.name(out)?;
        let mut last_key: Option<u16> = None;
        while !self.done() {
            let key = self.u16()?;
            let len = self.u16()? as usize;
            let value = self.take(len)?;
            // RFC 9460 §2.2: keys strictly increasing in wire form.
            if last_key.is_some_and(|k| k >= key) {
                return None;
            }
            last_key = Some(key);
            out.push(b' ');
            match crate::parse::rdata::SVC_PARAM_KEYS.get(key as usize) {
                Some(name) => out.extend_from_slice(name.as_bytes()),
                None => out.extend_from_slice(format!("key{key}").as_bytes()),
            }
            write_svc_value(key, value, out)?;
        }
        Some(())
    }
}

/// True if `value` is valid wire data for SvcParamKey `key`.
pub fn is_valid_svc_param(key: u16, value: &[u8]) -> bool {
    write_svc_value(key, value, &mut Vec::new()).is_some()
}

fn write_svc_value(key: u16, value: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut text = Vec::new();
    match key {
        0 => {
            if value.is_empty() || !value.len().is_multiple_of(2) {
                return None;
            }
            for (k, pair) in value.chunks_exact(2).enumerate() {
                if k > 0 {
                    text.push(b',');
                }
                let key = u16::from_be_bytes([pair[0], pair[1]]);
                match crate::parse::rdata::SVC_PARAM_KEYS.get(key as usize) {
                    Some(name) => text.extend_from_slice(name.as_bytes()),
                    None => text.extend_from_slice(format!("key{key}").as_bytes()),
                }
            }
        }
        1 => {
            let mut r = Reader {
                data: value,
                pos: 0,
                origin: None,
            };
            let mut first = true;
            while !r.done() {
                let len = r.u8()? as usize;
                let id = r.take(len)?;
                if id.is_empty() {
                    return None;
                }
                if !first {
                    text.push(b',');
                }
                first = false;
                // RFC 9460 Appendix A.1: commas and backslashes inside an item are escaped.
                for &b in id {
                    if b == b',' || b == b'\\' {
                        text.push(b'\\');
                    }
                    text.push(b);
                }
            }
            if value.is_empty() {
                return None;
            }
        }
        2 => return value.is_empty().then_some(()),
        3 => {
            let v: [u8; 2] = value.try_into().ok()?;
            text.extend_from_slice(u16::from_be_bytes(v).to_string().as_bytes());
        }
        4 => {
            if value.is_empty() || !value.len().is_multiple_of(4) {
                return None;
            }
            let items: Vec<String> = value
                .chunks_exact(4)
                .map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
                .collect();
            text.extend_from_slice(items.join(",").as_bytes());
        }
        6 => {
            if value.is_empty() || !value.len().is_multiple_of(16) {
                return None;
            }
            let items: Vec<String> = value
                .chunks_exact(16)
                .map(|b| Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or_default()).to_string())
                .collect();
            text.extend_from_slice(items.join(",").as_bytes());
        }
        5 => {
            if value.is_empty() {
                // An empty ECHConfigList is written as the bare key, as BIND does.
                return Some(());
            }
            encode_base64(value, &mut text);
        }
        7 => {
            std::str::from_utf8(value).ok()?;
            if value.is_empty() {
                return None;
            }
            text.extend_from_slice(value);
        }
        _ => {
            if value.is_empty() {
                return Some(());
            }
            text.extend_from_slice(value);
        }
    }
    out.push(b'=');
    write_quoted(&text, out);
    Some(())
}

fn write_angle(value_ms: i64, pos: u8, neg: u8, out: &mut Vec<u8>) {
    let hemi = if value_ms < 0 { neg } else { pos };
    let ms = value_ms.unsigned_abs();
    let deg = ms / 3_600_000;
    let min = ms / 60_000 % 60;
    let sec = ms % 60_000;
    out.extend_from_slice(
        format!(
            "{deg} {min} {}.{:03} {}",
            sec / 1000,
            sec % 1000,
            hemi as char
        )
        .as_bytes(),
    );
}

fn write_eui(bytes: &[u8], out: &mut Vec<u8>) {
    for (k, b) in bytes.iter().enumerate() {
        if k > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
}

/// Writes a number without going through `fmt`.
pub fn push_num(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut n: u64 = n.into();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_type(out: &mut Vec<u8>, t: RType) {
    match t.mnemonic() {
        Some(m) => out.extend_from_slice(m.as_bytes()),
        None => {
            out.extend_from_slice(b"TYPE");
            push_num(out, t.0);
        }
    }
}

/// RFC 4034 §4.1.2: windows in increasing order, each 1–32 octets, no trailing zero octet.
fn write_type_bitmap(bitmap: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut r = Reader {
        data: bitmap,
        pos: 0,
        origin: None,
    };
    let mut first = true;
    let mut last_window: Option<u8> = None;
    while !r.done() {
        let window = r.u8()?;
        let len = r.u8()? as usize;
        let bits = r.take(len)?;
        if len == 0 || len > 32 || last_window.is_some_and(|w| w >= window) || bits[len - 1] == 0 {
            return None;
        }
        last_window = Some(window);
        for (i, &byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    if !first {
                        out.push(b' ');
                    }
                    first = false;
                    write_type(out, RType(u16::from(window) << 8 | (i * 8 + bit) as u16));
                }
            }
        }
    }
    Some(())
}

/// RFC 2535 §5.2: at most 16 octets, bit 0 (type 0) clear.
fn write_nxt_bitmap(bitmap: &[u8], out: &mut Vec<u8>) -> Option<()> {
    // RFC 2535 §5.2: no bit 0, and (as BIND 9.18 reads it) no trailing
    // zero octet.
    if bitmap.len() > 16
        || bitmap.first().is_some_and(|b| b & 0x80 != 0)
        || bitmap.last() == Some(&0)
    {
        return None;
    }
    let mut first = true;
    for (i, &byte) in bitmap.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                if !first {
                    out.push(b' ');
                }
                first = false;
                write_type(out, RType((i * 8 + bit) as u16));
            }
        }
    }
    Some(())
}

/// RFC 4034 §3.2 `YYYYMMDDHHmmSS` (UTC) for a 32-bit time.
fn write_time(t: u32, out: &mut Vec<u8>) {
    let secs = i64::from(t);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    out.extend_from_slice(
        format!(
            "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
        .as_bytes(),
    );
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `bytes` as a quoted `<character-string>`: `"` and `\` escaped,
/// bytes outside printable ASCII as `\DDD` (so a newline can never appear).
/// Runs of plain bytes are copied whole.
pub fn write_quoted(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = bytes;
    while !rest.is_empty() {
        let plain = rest
            .iter()
            .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..plain]);
        let Some(&b) = rest.get(plain) else { break };
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(&[b'\\', b]);
        } else {
            push_decimal_escape(out, b);
        }
        rest = &rest[plain + 1..];
    }
    out.push(b'"');
}

/// Dotted quad without going through `fmt`.
fn write_ipv4(b: &[u8], out: &mut Vec<u8>) {
    for (k, &octet) in b.iter().enumerate() {
        if k > 0 {
            out.push(b'.');
        }
        push_num(out, octet);
    }
}

/// RFC 5952 text: lowercase hex, the longest run of two or more zero
/// groups as `::`, and `::ffff:a.b.c.d` for IPv4-mapped addresses (as
/// `std` and BIND print them).
fn write_ipv6(b: &[u8; 16], out: &mut Vec<u8>) {
    let mapped = b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff;
    if mapped || b[..12].iter().all(|&x| x == 0) {
        // Rare forms (mapped and compatible addresses): let std decide.
        out.extend_from_slice(Ipv6Addr::from(*b).to_string().as_bytes());
        return;
    }
    let groups: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([b[2 * i], b[2 * i + 1]]));
    let (mut best_start, mut best_len) = (8, 0);
    let mut i = 0;
    while i < 8 {
        if groups[i] == 0 {
            let start = i;
            while i < 8 && groups[i] == 0 {
                i += 1;
            }
            if i - start > best_len && i - start >= 2 {
                (best_start, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = 0;
    while i < 8 {
        if i == best_start {
            out.extend_from_slice(b"::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best_start + best_len {
            out.push(b':');
        }
        let g = groups[i];
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (g >> shift) & 15;
            if d != 0 || started || shift == 0 {
                out.push(HEX[d as usize]);
                started = true;
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lexer::Lexer;
    use crate::parse::rdata::parse_rdata;

    /// Parses `text` as `rtype` RDATA, renders it, parses the rendering
    /// again and checks both the wire form and the text are stable.
    fn round_trip(rtype: RType, text: &str) -> String {
        let origin = crate::zone::name::Name::from_ascii("example.com.").unwrap();
        let parse = |t: &str| {
            let mut lexer = Lexer::new(t.as_bytes());
            let mut tokens = Vec::new();
            let mut wire = Vec::new();
            if lexer.next_entry(&mut tokens).is_some() {
                parse_rdata(rtype, t.as_bytes(), &tokens, origin.wire(), &mut wire)
                    .unwrap_or_else(|e| panic!("{rtype} {t}: {}", e.message));
            }
            wire
        };
        let wire = parse(text);
        let mut out = Vec::new();
        write_rdata(rtype, &wire, Some(origin.wire()), &mut out);
        let rendered = String::from_utf8(out).unwrap();
        assert_eq!(parse(&rendered), wire, "{rtype} {text} -> {rendered}");
        rendered
    }

    #[test]
    fn ipv6_text_matches_std() {
        for text in [
            "2001:db8::1",
            "::",
            "::1",
            "1::",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1::1",
            "fe80::1:2:3:4",
            "1:2:3:4:5:6:7:8",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "1:0:2:0:3:0:4:0",
        ] {
            let addr: Ipv6Addr = text.parse().unwrap();
            let mut out = Vec::new();
            write_ipv6(&addr.octets(), &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), addr.to_string(), "{text}");
        }
    }

    #[test]
    fn every_layout_round_trips() {
        let cases: &[(RType, &str, &str)] = &[
            (RType::A, "192.0.2.1", "192.0.2.1"),
            (RType::AAAA, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            (RType::MX, "10 mail", "10 mail"),
            (RType::MX, "10 mail.example.net.", "10 mail.example.net."),
            (RType::SOA, "ns1 host 1 1h 2 3 4", "ns1 host 1 3600 2 3 4"),
            (
                RType::TXT,
                "\"a;b\" c \"q\\\"\\\\\" \"\\010\"",
                "\"a;b\" \"c\" \"q\\\"\\\\\" \"\\010\"",
            ),
            (RType::SRV, "0 5 5060 sip", "0 5 5060 sip"),
            (
                RType::CAA,
                "0 issue \"letsencrypt.org\"",
                "0 issue \"letsencrypt.org\"",
            ),
            (
                RType::NAPTR,
                "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp",
                "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp",
            ),
            (
                RType::DS,
                "60485 5 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
                "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
            ),
            (
                RType::DNSKEY,
                "257 3 RSASHA256 AwEAAQ== ",
                "257 3 8 AwEAAQ==",
            ),
            (
                RType::NSEC,
                "host.example.com. A MX RRSIG NSEC TYPE1234",
                "host A MX RRSIG NSEC TYPE1234",
            ),
            (
                RType::NSEC3,
                "1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
                "1 1 12 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG",
            ),
            (
                RType::NSEC3,
                "1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s",
                "1 0 0 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S",
            ),
            (RType::NSEC3PARAM, "1 0 0 -", "1 0 0 -"),
            (
                RType::RRSIG,
                "A 8 3 3600 20300101000000 20200101000000 12345 example.com. AwEAAQ==",
                "A 8 3 3600 20300101000000 20200101000000 12345 @ AwEAAQ==",
            ),
            (
                RType::TLSA,
                "3 1 1 0123456789abcdef",
                "3 1 1 0123456789ABCDEF",
            ),
            (RType::SSHFP, "4 9 abcdef", "4 9 ABCDEF"),
            (
                RType::LOC,
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
            ),
            (
                RType::LOC,
                "42 21 S 71 W 24m",
                "42 21 0.000 S 71 0 0.000 W 24.00m 1.00m 10000.00m 10.00m",
            ),
            (
                RType::SVCB,
                "1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1",
                "1 . alpn=\"h2,h3\" port=\"8443\" ipv4hint=\"192.0.2.1\"",
            ),
            (RType::HTTPS, "0 svc.example.net.", "0 svc.example.net."),
            (
                RType::URI,
                "10 1 \"https://example.com/\"",
                "10 1 \"https://example.com/\"",
            ),
            (RType::HINFO, "\"PC\" \"Linux\"", "\"PC\" \"Linux\""),
            (RType::WKS, "192.0.2.1 tcp 25 80", "192.0.2.1 6 25 80"),
            (
                RType::APL,
                "1:192.0.2.0/24 !2:2001:db8::/32",
                "1:192.0.2.0/24 !2:2001:db8::/32",
            ),
            (RType::EUI48, "00-00-5e-00-53-2a", "00-00-5e-00-53-2a"),
            (
                RType::IPSECKEY,
                "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
                "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
            ),
            (
                RType::ZONEMD,
                "2018031500 1 1 FEBE3D4CE2EC2FFA4BA99D46CD69D6D29711E55217057BEE7EB1A7B641A47BA7FED2DD5B97AE499FAFA4F22C6BD647DE",
                "2018031500 1 1 FEBE3D4CE2EC2FFA4BA99D46CD69D6D29711E55217057BEE7EB1A7B641A47BA7FED2DD5B97AE499FAFA4F22C6BD647DE",
            ),
            (RType(65280), "\\# 3 abcdef", "\\# 3 ABCDEF"),
            (RType::A, "\\# 4 0A000001", "10.0.0.1"),
        ];
        for (rtype, input, expected) in cases {
            assert_eq!(&round_trip(*rtype, input), expected, "{rtype} {input}");
        }
    }
}
