//! Domain names in uncompressed wire form (RFC 1035 §3.1).
//!
//! A name is a sequence of length-prefixed labels ending with the root label
//! (a zero byte). Case is preserved as written; comparisons are
//! case-insensitive for ASCII (RFC 4343). Keeping names in wire form lets the
//! parser write them straight into the zone's arenas, gives the 63/255 octet
//! limits for free, and makes canonical ordering (RFC 4034 §6.1) a byte walk.
//!
//! Presentation format follows BIND's `dns_name_totext` for master files:
//! `" ( ) . ; \ @ $` are escaped with a backslash, and bytes outside the
//! printable ASCII range as `\DDD`, so that a rendered name can never start a
//! comment, a directive or a new field.

use std::fmt;

/// Longest label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;
/// Longest name in wire form, in octets, including length bytes and the root label.
pub const MAX_NAME: usize = 255;

/// Why a name in presentation format was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Two dots in a row, or a leading dot (RFC 1035 §3.1).
    #[error("empty label in domain name")]
    EmptyLabel,
    /// A label over 63 octets (RFC 1035 §2.3.4).
    #[error("label longer than 63 octets")]
    LabelTooLong,
    /// A name over 255 octets in wire form (RFC 1035 §2.3.4).
    #[error("domain name longer than 255 octets")]
    NameTooLong,
    /// A backslash not followed by a character or three digits up to 255.
    #[error("bad escape: expected \\DDD with DDD at most 255, or \\ and a character")]
    BadEscape,
    /// No text at all, or a relative name with no origin to complete it.
    #[error("empty domain name")]
    Empty,
}

/// An absolute domain name in wire form, case preserved.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Box<[u8]>);

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Name(Box::new([0]))
    }

    /// Parses presentation text; relative names are completed with `origin`
    /// (`None` makes a relative name an error). `@` is not handled here.
    pub fn parse(text: &[u8], origin: Option<&Name>) -> Result<Self, NameError> {
        let mut buf = Vec::with_capacity(text.len() + 2);
        let absolute = parse_into(text, &mut buf)?;
        if !absolute {
            buf.extend_from_slice(origin.ok_or(NameError::Empty)?.wire());
            if buf.len() > MAX_NAME {
                return Err(NameError::NameTooLong);
            }
        }
        Ok(Name(buf.into_boxed_slice()))
    }

    /// Parses an absolute name given as a `&str` (for configuration and tests).
    pub fn from_ascii(text: &str) -> Result<Self, NameError> {
        Name::parse(text.as_bytes(), Some(&Name::root()))
    }

    /// The uncompressed wire form.
    pub fn wire(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_text(&self.0))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Iterates the labels of a wire name, without the root label.
pub fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = wire.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        Some(label)
    })
}

/// Length of the uncompressed wire name that starts at `wire[0]`, or
/// `None` if it is cut short or is no name: a label over 63 octets (which
/// is also how a compression pointer or an extended label type starts) or
/// a name over 255, which BIND refuses in RFC 3597 data too.
pub fn wire_len(wire: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let len = *wire.get(pos)? as usize;
        pos += 1 + len;
        if len == 0 {
            return (pos <= MAX_NAME).then_some(pos);
        }
        if len > MAX_LABEL || pos > wire.len() || pos > MAX_NAME {
            return None;
        }
    }
}

/// True if wire name `name` equals `ancestor` or is below it (case-insensitive).
pub fn is_subdomain(name: &[u8], ancestor: &[u8]) -> bool {
    relative_len(name, ancestor).is_some()
}

/// If `name` is at or below `origin`, the length of the wire prefix of
/// `name` that precedes `origin` (0 for the origin itself).
pub fn relative_len(name: &[u8], origin: &[u8]) -> Option<usize> {
    if name.len() < origin.len() {
        return None;
    }
    let split = name.len() - origin.len();
    if !name[split..].eq_ignore_ascii_case(origin) {
        return None;
    }
    // The suffix must start on a label boundary.
    let mut pos = 0;
    while pos < split {
        pos += 1 + name[pos] as usize;
    }
    (pos == split).then_some(split)
}

/// Parses presentation text into `out` (wire labels, no origin appended).
/// Returns true when the name was absolute (ended in an unescaped dot),
/// in which case the root label has been written.
pub fn parse_into(text: &[u8], out: &mut Vec<u8>) -> Result<bool, NameError> {
    let start = out.len();
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    if text == b"." {
        out.push(0);
        return Ok(true);
    }
    let mut label_start = out.len();
    out.push(0);
    let mut i = 0;
    let mut absolute = false;
    while i < text.len() {
        // Copy the run of ordinary bytes up to the next dot or backslash whole.
        let run = text[i..]
            .iter()
            .position(|&c| c == b'.' || c == b'\\')
            .unwrap_or(text.len() - i);
        out.extend_from_slice(&text[i..i + run]);
        i += run;
        if i == text.len() {
            break;
        }
        let c = text[i];
        let byte = match c {
            b'.' => {
                close_label(out, label_start)?;
                i += 1;
                if i == text.len() {
                    absolute = true;
                    break;
                }
                label_start = out.len();
                out.push(0);
                continue;
            }
            b'\\' => {
                let (byte, used) = unescape(&text[i + 1..]).ok_or(NameError::BadEscape)?;
                i += used;
                byte
            }
            _ => c,
        };
        out.push(byte);
        i += 1;
    }
    if absolute {
        out.push(0);
    } else {
        close_label(out, label_start)?;
    }
    if out.len() - start > MAX_NAME {
        return Err(NameError::NameTooLong);
    }
    Ok(absolute)
}

fn close_label(out: &mut [u8], label_start: usize) -> Result<(), NameError> {
    let len = out.len() - label_start - 1;
    if len == 0 {
        return Err(NameError::EmptyLabel);
    }
    if len > MAX_LABEL {
        return Err(NameError::LabelTooLong);
    }
    out[label_start] = len as u8;
    Ok(())
}

/// Decodes the escape that follows a backslash: `DDD` (exactly three
/// decimal digits, at most 255) or any single byte. Returns the byte and the
/// number of bytes consumed after the backslash.
pub fn unescape(after: &[u8]) -> Option<(u8, usize)> {
    let first = *after.first()?;
    if !first.is_ascii_digit() {
        return Some((first, 1));
    }
    let digits = after.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u8::try_from(value).ok().map(|b| (b, 3))
}

/// Decodes every `\DDD` and `\X` escape of a token; `None` on a bad one.
pub fn unescape_all(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut k = 0;
    while k < raw.len() {
        let run = raw[k..]
            .iter()
            .position(|&c| c == b'\\')
            .unwrap_or(raw.len() - k);
        out.extend_from_slice(&raw[k..k + run]);
        k += run;
        if k < raw.len() {
            let (b, used) = unescape(&raw[k + 1..])?;
            out.push(b);
            k += 1 + used;
        }
    }
    Some(out)
}

/// Writes `wire` in presentation format. With `origin`, a name at or below
/// the origin is written relative to it (`@` for the origin itself);
/// otherwise it is written absolute with a final dot. Only a suffix spelled
/// exactly like the origin is dropped, so re-reading the text gives back
/// the same case.
pub fn write_text(out: &mut Vec<u8>, wire: &[u8], origin: Option<&[u8]>) {
    if let Some(rel) = origin.and_then(|o| exact_relative_len(wire, o)) {
        if rel == 0 {
            out.push(b'@');
        } else {
            write_labels(out, &wire[..rel]);
        }
        return;
    }
    if wire.first().copied().unwrap_or(0) == 0 {
        out.push(b'.');
        return;
    }
    write_labels(out, wire);
    out.push(b'.');
}

/// Like [`relative_len`], but the suffix must match `origin` byte for byte.
fn exact_relative_len(name: &[u8], origin: &[u8]) -> Option<usize> {
    let split = name.len().checked_sub(origin.len())?;
    if name[split..] != *origin {
        return None;
    }
    let mut pos = 0;
    while pos < split {
        pos += 1 + name[pos] as usize;
    }
    (pos == split).then_some(split)
}

/// Writes the labels of `wire` (up to its end or a root label) joined by
/// dots. Labels without special bytes, the usual case, are copied whole.
fn write_labels(out: &mut Vec<u8>, wire: &[u8]) {
    let mut pos = 0;
    while pos < wire.len() {
        let len = wire[pos] as usize;
        if len == 0 {
            break;
        }
        if pos > 0 {
            out.push(b'.');
        }
        let label = &wire[pos + 1..(pos + 1 + len).min(wire.len())];
        if label.iter().all(|&b| !needs_escape(b)) {
            out.extend_from_slice(label);
        } else {
            for &b in label {
                escape_name_byte(out, b);
            }
        }
        pos += 1 + len;
    }
}

/// The absolute presentation form of a wire name, for messages.
pub fn to_text(wire: &[u8]) -> String {
    let mut out = Vec::with_capacity(wire.len() + 1);
    write_text(&mut out, wire, None);
    String::from_utf8_lossy(&out).into_owned()
}

/// Length of `write_text` output, computed without writing it.
pub fn text_len(wire: &[u8], origin: Option<&[u8]>) -> usize {
    let (part, suffix) = match origin.and_then(|o| exact_relative_len(wire, o)) {
        Some(0) => return 1,
        Some(rel) => (&wire[..rel], 0),
        None if wire.first().copied().unwrap_or(0) == 0 => return 1,
        None => (&wire[..wire.len() - 1], 1),
    };
    // Each length octet becomes a dot (the first one becomes nothing).
    let mut len = part.len() - 1 + suffix;
    let mut pos = 0;
    while pos < part.len() {
        let l = part[pos] as usize;
        for &b in &part[pos + 1..(pos + 1 + l).min(part.len())] {
            if needs_escape(b) {
                len += if (0x21..=0x7e).contains(&b) { 1 } else { 3 };
            }
        }
        pos += 1 + l;
    }
    len
}

#[inline]
fn needs_escape(b: u8) -> bool {
    !(0x21..=0x7e).contains(&b)
        || matches!(b, b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$')
}

#[inline]
fn escape_name_byte(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' | b'(' | b')' | b'.' | b';' | b'\\' | b'@' | b'$' => {
            out.push(b'\\');
            out.push(b);
        }
        0x21..=0x7e => out.push(b),
        _ => push_decimal_escape(out, b),
    }
}

/// Writes `\DDD` for `b`.
pub fn push_decimal_escape(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'\\', b'0' + b / 100, b'0' + (b / 10) % 10, b'0' + b % 10]);
}

/// RFC 952/1123 host name check as BIND's `dns_name_ishostname` does it:
/// letters, digits and hyphens, no hyphen at either end of a label; with
/// `wildcard`, a leading `*` label is allowed.
pub fn is_hostname(wire: &[u8], wildcard: bool) -> bool {
    let mut first = true;
    for label in labels(wire) {
        let ok = if first && wildcard && label == b"*" {
            true
        } else {
            let inner = label.len().saturating_sub(1);
            label
                .iter()
                .enumerate()
                .all(|(i, &c)| c.is_ascii_alphanumeric() || (c == b'-' && i != 0 && i != inner))
        };
        if !ok {
            return false;
        }
        first = false;
    }
    true
}

/// Mailbox check as BIND's `dns_name_ismailbox`: the first label may hold any
/// printable character, the rest must be a host name.
pub fn is_mailbox(wire: &[u8]) -> bool {
    let Some(&len) = wire.first() else {
        return false;
    };
    if len == 0 {
        return true;
    }
    let first = &wire[1..1 + len as usize];
    first.iter().all(|&c| c > 0x20 && c < 0x7f) && is_hostname(&wire[1 + len as usize..], false)
}

/// Appends the RFC 4034 §6.1 sort key of a wire name: labels from the root
/// down, lowercased, each followed by a 0 terminator (with 0 and 1 bytes
/// inside labels escaped as `1 1` and `1 2`), so that comparing keys as byte
/// strings gives canonical DNS name order.
pub fn push_canonical_key(out: &mut Vec<u8>, wire: &[u8]) {
    let mut starts = [0u8; 128];
    let mut count = 0;
    let mut pos = 0;
    while pos < wire.len() && wire[pos] != 0 && count < starts.len() {
        starts[count] = pos as u8;
        count += 1;
        pos += 1 + wire[pos] as usize;
    }
    for &start in starts[..count].iter().rev() {
        let start = start as usize;
        let len = wire[start] as usize;
        let label = &wire[start + 1..(start + 1 + len).min(wire.len())];
        if label.iter().all(|&b| b > 1) {
            let from = out.len();
            out.extend_from_slice(label);
            out[from..].make_ascii_lowercase();
        } else {
            for &b in label {
                match b {
                    0 => out.extend_from_slice(&[1, 1]),
                    1 => out.extend_from_slice(&[1, 2]),
                    _ => out.push(b.to_ascii_lowercase()),
                }
            }
        }
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn parses_absolute_and_relative() {
        let origin = name("example.com.");
        let n = Name::parse(b"www", Some(&origin)).unwrap();
        assert_eq!(n.wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!(n.to_string(), "www.example.com.");
        assert_eq!(name(".").wire(), b"\x00");
    }

    #[test]
    fn escapes_round_trip() {
        let n = name("a\\.b.c\\032d.\\@\\$x.");
        assert_eq!(n.wire(), b"\x03a.b\x03c d\x03@$x\x00");
        assert_eq!(n.to_string(), "a\\.b.c\\032d.\\@\\$x.");
    }

    #[test]
    fn limits() {
        let label = "a".repeat(63);
        assert!(Name::from_ascii(&format!("{label}.")).is_ok());
        assert_eq!(
            Name::from_ascii(&format!("{label}a.")),
            Err(NameError::LabelTooLong)
        );
        let long = format!("{label}.{label}.{label}.{label}.");
        assert_eq!(Name::from_ascii(&long), Err(NameError::NameTooLong));
        let ok = format!("{label}.{label}.{label}.{}.", "a".repeat(61));
        assert_eq!(Name::from_ascii(&ok).unwrap().wire().len(), 255);
        assert_eq!(Name::from_ascii("a..b."), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_ascii("\\25x."), Err(NameError::BadEscape));
        assert_eq!(Name::from_ascii("\\256."), Err(NameError::BadEscape));
    }

    #[test]
    fn relative_text() {
        let origin = name("Example.COM.");
        let mut out = Vec::new();
        write_text(
            &mut out,
            name("www.Example.COM.").wire(),
            Some(origin.wire()),
        );
        assert_eq!(out, b"www");
        out.clear();
        // A suffix spelled differently stays absolute, so case survives a round trip.
        write_text(
            &mut out,
            name("www.example.com.").wire(),
            Some(origin.wire()),
        );
        assert_eq!(out, b"www.example.com.");
        out.clear();
        write_text(&mut out, name("Example.COM.").wire(), Some(origin.wire()));
        assert_eq!(out, b"@");
        out.clear();
        write_text(&mut out, name("xexample.COM.").wire(), Some(origin.wire()));
        assert_eq!(out, b"xexample.COM.");
        for text in [
            "a.Example.COM.",
            "Example.COM.",
            "a\\.b.c.",
            "x\\032y.z.",
            ".",
        ] {
            let n = name(text);
            for o in [Some(origin.wire()), None] {
                out.clear();
                write_text(&mut out, n.wire(), o);
                assert_eq!(text_len(n.wire(), o), out.len(), "{text}");
            }
        }
    }

    #[test]
    fn hostname_rules() {
        assert!(is_hostname(name("a-b.example.").wire(), false));
        assert!(!is_hostname(name("_dmarc.example.").wire(), false));
        assert!(!is_hostname(name("-a.example.").wire(), false));
        assert!(is_hostname(name("*.example.").wire(), true));
        assert!(!is_hostname(name("*.example.").wire(), false));
        assert!(is_mailbox(name("john.doe.example.").wire()));
    }

    #[test]
    fn canonical_key_orders_like_rfc4034() {
        // The example list of RFC 4034 §6.1.
        let ordered = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "Z.a.example.",
            "zABC.a.EXAMPLE.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let keys: Vec<Vec<u8>> = ordered
            .iter()
            .map(|s| {
                let mut k = Vec::new();
                push_canonical_key(&mut k, name(s).wire());
                k
            })
            .collect();
        for pair in keys.windows(2) {
            assert!(pair[0] < pair[1], "{:?} !< {:?}", pair[0], pair[1]);
        }
    }
}
