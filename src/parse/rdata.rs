//! RDATA: presentation tokens → wire bytes, one function per field kind
//! and per custom type (RFC 1035 §5.1, RFC 3597 §5 and each type's RFC).
//!
//! The layout table in `zone::rdata` drives the common case; types with a
//! presentation of their own (LOC, SVCB, WKS, APL, …) have a function here.
//! Wire bytes are appended to the caller's arena; on error the caller cuts
//! the arena back, so nothing of a bad record is kept. RFC 3597 `\#` input
//! for a known type is checked by decoding it with the renderer, as BIND
//! does, so a record that could not be written back is never accepted.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::lexer::{Token, TokenKind};
use crate::zone::encoding::{decode_base32hex, decode_base64, decode_hex};
use crate::zone::name::{self, NameError};
use crate::zone::rdata::{Field, Layout, generic_form_error, layout, semantic_error};
use crate::zone::rtype::RType;
use crate::zone::ttl::parse_ttl;

/// An RDATA error: which token (index into the RDATA tokens; `None` for the
/// end of the entry) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdataError {
    /// The offending token, or `None` when the RDATA ended too early.
    pub token: Option<usize>,
    /// Sentence for the operator: what was expected and what was found.
    pub message: Cow<'static, str>,
}

type Result<T> = std::result::Result<T, RdataError>;

/// Parses the RDATA of `rtype` from `tokens`, appending the wire form to `out`.
pub fn parse_rdata(
    rtype: RType,
    src: &[u8],
    tokens: &[Token],
    origin: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut p = Fields {
        src,
        tokens,
        next: 0,
        origin,
        scratch: Vec::new(),
    };
    if p.is_generic_marker(rtype) {
        return p.generic(rtype, out);
    }
    let start = out.len();
    match layout(rtype) {
        Layout::Fields(fields) => {
            for field in fields {
                p.field(*field, out)?;
            }
        }
        Layout::Custom => p.custom(rtype, out)?,
        Layout::GenericOnly | Layout::Unknown => {
            return Err(p.error_here(format!(
                "expected RFC 3597 generic data '\\# length hex' for type {rtype}"
            )));
        }
    }
    p.finish()?;
    match semantic_error(rtype, &out[start..]) {
        Some(message) => Err(RdataError {
            token: (!tokens.is_empty()).then_some(0),
            message: message.into(),
        }),
        None => Ok(()),
    }
}

struct Fields<'a> {
    src: &'a [u8],
    tokens: &'a [Token],
    next: usize,
    origin: &'a [u8],
    scratch: Vec<u8>,
}

/// Shows a token in a message: at most 40 characters, lossy UTF-8.
pub(super) fn shown(text: &[u8]) -> String {
    let cut = &text[..text.len().min(40)];
    let more = if text.len() > 40 { "…" } else { "" };
    format!("{}{more}", String::from_utf8_lossy(cut))
}

impl<'a> Fields<'a> {
    fn raw(&self, i: usize) -> &'a [u8] {
        let t = &self.tokens[i];
        &self.src[t.start as usize..t.end as usize]
    }

    fn peek_raw(&self) -> Option<&'a [u8]> {
        (self.next < self.tokens.len()).then(|| self.raw(self.next))
    }

    /// Whether the RDATA is in the RFC 3597 generic form, as BIND 9.18
    /// decides it: a quoted `"\#"` is always text. An unquoted `\#` is the
    /// generic marker, except for TXT, where it is the string "#" unless a
    /// number follows (so `TXT \#` and `TXT \# x` hold "#").
    fn is_generic_marker(&self, rtype: RType) -> bool {
        let plain = |i: usize| {
            self.tokens
                .get(i)
                .is_some_and(|t| matches!(t.kind, TokenKind::Plain))
        };
        if !plain(self.next) || self.raw(self.next) != b"\\#" {
            return false;
        }
        rtype != RType::TXT
            || plain(self.next + 1) && {
                let len = self.raw(self.next + 1);
                !len.is_empty() && len.iter().all(u8::is_ascii_digit)
            }
    }

    fn at_end(&self) -> bool {
        self.next >= self.tokens.len()
    }

    #[cold]
    #[inline(never)]
    fn error_at(&self, token: usize, message: String) -> RdataError {
        RdataError {
            token: Some(token),
            message: message.into(),
        }
    }

    #[cold]
    #[inline(never)]
    fn error_here(&self, message: String) -> RdataError {
        RdataError {
            token: (self.next < self.tokens.len()).then_some(self.next),
            message: message.into(),
        }
    }

    /// Takes the next token's raw text, or fails naming what was expected.
    /// A quoted token is refused: BIND reads every field but character
    /// strings (and the SVCB target) as a bare word, and fails a quoted one
    /// ("unexpected token").
    fn take(&mut self, expected: &str) -> Result<(usize, &'a [u8])> {
        let (i, raw) = self.take_any(expected)?;
        self.bare(i)?;
        Ok((i, raw))
    }

    /// Fails if token `i` is quoted; see [`Self::take`].
    fn bare(&self, i: usize) -> Result<()> {
        if self.tokens[i].kind == TokenKind::Quoted {
            return Err(self.error_at(
                i,
                format!(
                    "expected a bare word, found the quoted string \"{}\" (only character strings may be quoted)",
                    shown(self.raw(i))
                ),
            ));
        }
        Ok(())
    }

    /// Takes the next token, quoted or not.
    fn take_any(&mut self, expected: &str) -> Result<(usize, &'a [u8])> {
        if self.at_end() {
            return Err(RdataError {
                token: None,
                message: format!("expected {expected}, found end of line").into(),
            });
        }
        let i = self.next;
        self.next += 1;
        Ok((i, self.raw(i)))
    }

    /// Takes the next token with escapes decoded (for strings).
    fn take_text(&mut self, expected: &str) -> Result<(usize, Cow<'a, [u8]>)> {
        let (i, raw) = self.take_any(expected)?;
        if !self.tokens[i].escaped {
            return Ok((i, Cow::Borrowed(raw)));
        }
        let text = name::unescape_all(raw)
            .ok_or_else(|| self.error_at(i, format!("bad escape in '{}'", shown(raw))))?;
        Ok((i, Cow::Owned(text)))
    }

    fn finish(&self) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error_here(format!(
                "expected end of record, found extra text '{}'",
                shown(self.raw(self.next))
            )))
        }
    }

    fn number(&mut self, max: u64, what: &str) -> Result<u64> {
        let (i, raw) = self.take(what)?;
        parse_number(raw, max).ok_or_else(|| {
            self.error_at(
                i,
                format!("expected {what} (0-{max}), found '{}'", shown(raw)),
            )
        })
    }

    fn field(&mut self, field: Field, out: &mut Vec<u8>) -> Result<()> {
        match field {
            Field::U8 => out.push(self.number(0xff, "an 8-bit number")? as u8),
            Field::U16 => out
                .extend_from_slice(&(self.number(0xffff, "a 16-bit number")? as u16).to_be_bytes()),
            Field::U32 => out.extend_from_slice(
                &(self.number(0xffff_ffff, "a 32-bit number")? as u32).to_be_bytes(),
            ),
            Field::Duration => {
                let (i, raw) = self.take("a number of seconds")?;
                match parse_ttl(raw) {
                    Some(Ok(v)) => out.extend_from_slice(&v.to_be_bytes()),
                    _ => {
                        return Err(self.error_at(
                            i,
                            format!(
                                "expected a number of seconds or a duration like 1h30m, found '{}'",
                                shown(raw)
                            ),
                        ));
                    }
                }
            }
            Field::Name(_) => self.name(out)?,
            Field::Ipv4 => {
                let (i, raw) = self.take("an IPv4 address")?;
                let addr = parse_ipv4(raw).ok_or_else(|| {
                    self.error_at(
                        i,
                        format!("expected an IPv4 address, found '{}'", shown(raw)),
                    )
                })?;
                out.extend_from_slice(&addr.octets());
            }
            Field::Ipv6 => {
                let (i, raw) = self.take("an IPv6 address")?;
                let addr = parse_ipv6(raw).ok_or_else(|| {
                    self.error_at(
                        i,
                        format!("expected an IPv6 address, found '{}'", shown(raw)),
                    )
                })?;
                out.extend_from_slice(&addr.octets());
            }
            Field::CharString => self.char_string(out)?,
            Field::CharStrings => {
                self.char_string(out)?;
                while !self.at_end() {
                    self.char_string(out)?;
                }
            }
            Field::Hex => self.hex_rest(out, false)?,
            Field::HexRequired => self.hex_rest(out, true)?,
            Field::HexSalt => {
                let (i, raw) = self.take("a salt in hex, or '-'")?;
                let len_at = out.len();
                out.push(0);
                if raw != b"-" && (decode_hex(raw, out).is_none() || out.len() - len_at - 1 > 255) {
                    return Err(self.error_at(
                        i,
                        format!(
                            "expected a salt of at most 255 octets in hex, or '-', found '{}'",
                            shown(raw)
                        ),
                    ));
                }
                out[len_at] = (out.len() - len_at - 1) as u8;
            }
            Field::Base32Hex => {
                let (i, raw) = self.take("a base32hex hash")?;
                let len_at = out.len();
                out.push(0);
                if decode_base32hex(raw, out).is_none()
                    || out.len() - len_at - 1 > 255
                    || raw.is_empty()
                {
                    return Err(self.error_at(
                        i,
                        format!("expected a hash in base32hex, found '{}'", shown(raw)),
                    ));
                }
                out[len_at] = (out.len() - len_at - 1) as u8;
            }
            Field::Base64 => self.base64_rest(out, true)?,
            Field::Base64Optional => self.base64_rest(out, false)?,
            Field::TypeBitmap => self.type_bitmap(out)?,
            Field::NxtBitmap => self.nxt_bitmap(out)?,
            Field::Type => {
                let (i, raw) = self.take("a record type")?;
                let t = RType::from_text(raw)
                    .map(|t| t.0)
                    .or_else(|| type_number(raw))
                    .ok_or_else(|| {
                        self.error_at(
                            i,
                            format!(
                                "expected a record type or a number 0-65535, found '{}'",
                                shown(raw)
                            ),
                        )
                    })?;
                out.extend_from_slice(&t.to_be_bytes());
            }
            Field::Time | Field::Date => {
                let (i, raw) = self.take("a time YYYYMMDDHHmmSS")?;
                let t = parse_time(raw)
                    .filter(|_| field == Field::Time || raw.len() == 14)
                    .ok_or_else(|| {
                        self.error_at(
                            i,
                            format!(
                                "expected a time YYYYMMDDHHmmSS or seconds, found '{}'",
                                shown(raw)
                            ),
                        )
                    })?;
                out.extend_from_slice(&t.to_be_bytes());
            }
            Field::Enum8(table) => {
                let (i, raw) = self.take("a number or mnemonic")?;
                let v = parse_number(raw, 255)
                    .or_else(|| mnemonic_number(table, raw))
                    .ok_or_else(|| {
                        let names: Vec<&str> = table.iter().map(|(_, n)| *n).collect();
                        self.error_at(
                            i,
                            format!(
                                "expected a number 0-255 or one of {}, found '{}'",
                                names.join(", "),
                                shown(raw)
                            ),
                        )
                    })?;
                out.push(v as u8);
            }
            Field::KeyFlags => {
                let (i, raw) = self.take("key flags")?;
                let v = parse_key_flags(raw).ok_or_else(|| {
                    self.error_at(i, format!("expected key flags (a number 0-65535 or names like ZONE|KSK), found '{}'", shown(raw)))
                })?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            Field::CertType => {
                let (i, raw) = self.take("a certificate type")?;
                let v = parse_number(raw, 0xffff)
                    .or_else(|| cert_type_number(raw))
                    .ok_or_else(|| {
                        self.error_at(
                            i,
                            format!(
                                "expected a certificate type number or name, found '{}'",
                                shown(raw)
                            ),
                        )
                    })?;
                out.extend_from_slice(&(v as u16).to_be_bytes());
            }
            Field::TextNoLength => {
                let (_, text) = self.take_text("a string")?;
                out.extend_from_slice(&text);
            }
            Field::QuotedText => {
                let (i, text) = self.take_text("a quoted string")?;
                if self.tokens[i].kind != TokenKind::Quoted {
                    return Err(self.error_at(
                        i,
                        format!("expected a quoted string, found '{}'", shown(&text)),
                    ));
                }
                out.extend_from_slice(&text);
            }
            Field::CaaTag => {
                let (i, raw) = self.take("a CAA tag")?;
                if raw.is_empty() || raw.len() > 255 || !raw.iter().all(u8::is_ascii_alphanumeric) {
                    return Err(self.error_at(
                        i,
                        format!(
                            "expected a CAA tag of letters and digits, found '{}'",
                            shown(raw)
                        ),
                    ));
                }
                out.push(raw.len() as u8);
                out.extend_from_slice(raw);
            }
            Field::Eui48 => self.eui(out, 6)?,
            Field::Eui64 => self.eui(out, 8)?,
            Field::Ilnp64 => {
                let (i, raw) = self.take("a 64-bit locator xxxx:xxxx:xxxx:xxxx")?;
                let groups: Vec<&[u8]> = raw.split(|&c| c == b':').collect();
                let ok = groups.len() == 4
                    && groups.iter().all(|g| {
                        !g.is_empty() && g.len() <= 4 && g.iter().all(u8::is_ascii_hexdigit)
                    });
                if !ok {
                    return Err(self.error_at(
                        i,
                        format!(
                            "expected a 64-bit locator xxxx:xxxx:xxxx:xxxx, found '{}'",
                            shown(raw)
                        ),
                    ));
                }
                for g in groups {
                    let v = g
                        .iter()
                        .fold(0u16, |acc, &c| acc << 4 | hex_digit(c) as u16);
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        Ok(())
    }

    fn name(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (i, _) = self.take("a domain name")?;
        self.name_at(i, out)
    }

    /// Writes token `i` as a domain name.
    fn name_at(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let raw = self.raw(i);
        write_name(raw, self.origin, out)
            .map_err(|e| self.error_at(i, format!("bad domain name '{}': {e}", shown(raw))))
    }

    fn char_string(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (i, text) = self.take_text("a character string")?;
        if text.len() > 255 {
            return Err(self.error_at(
                i,
                format!("character string is {} octets long, at most 255 are allowed; split it into several quoted strings", text.len()),
            ));
        }
        out.push(text.len() as u8);
        out.extend_from_slice(&text);
        Ok(())
    }

    /// Concatenates the remaining tokens (for hex and base64 runs), which
    /// must be bare words.
    fn rest_joined(&mut self) -> Result<(usize, Vec<u8>)> {
        let first = self.next;
        let mut joined = std::mem::take(&mut self.scratch);
        joined.clear();
        while !self.at_end() {
            self.bare(self.next)?;
            joined.extend_from_slice(self.raw(self.next));
            self.next += 1;
        }
        Ok((first, joined))
    }

    fn hex_rest(&mut self, out: &mut Vec<u8>, required: bool) -> Result<()> {
        let (first, joined) = self.rest_joined()?;
        if required && joined.is_empty() {
            return Err(self.error_here("expected hex data, found end of line".to_string()));
        }
        let ok = decode_hex(&joined, out).is_some();
        self.scratch = joined;
        if !ok {
            return Err(self.error_at(first, "expected an even number of hex digits".to_string()));
        }
        Ok(())
    }

    fn base64_rest(&mut self, out: &mut Vec<u8>, required: bool) -> Result<()> {
        let (first, joined) = self.rest_joined()?;
        if required && joined.is_empty() {
            return Err(self.error_here("expected base64 data, found end of line".to_string()));
        }
        let ok = decode_base64(&joined, out).is_some();
        self.scratch = joined;
        if !ok {
            return Err(self.error_at(first, "bad base64 data".to_string()));
        }
        Ok(())
    }

    fn type_bitmap(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut types = Vec::new();
        while !self.at_end() {
            let (i, raw) = self.take("a record type")?;
            let t = RType::from_text(raw).ok_or_else(|| {
                self.error_at(
                    i,
                    format!(
                        "expected a record type in the type bitmap, found '{}'",
                        shown(raw)
                    ),
                )
            })?;
            types.push(t.0);
        }
        write_type_bitmap(&mut types, out);
        Ok(())
    }

    /// RFC 2535 §5.2: bit n set for type n, types 1-127 given by mnemonic or
    /// number, trailing zero octets left out.
    fn nxt_bitmap(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut bits = [0u8; 16];
        while !self.at_end() {
            let (i, raw) = self.take("a record type")?;
            let t = signed_number(raw, 127)
                .map(|n| n as u16)
                .or_else(|| RType::from_text(raw).map(|t| t.0).filter(|&t| t < 128))
                .filter(|&t| t > 0)
                .ok_or_else(|| {
                    self.error_at(
                        i,
                        format!(
                            "expected a record type 1-127 for NXT, found '{}'",
                            shown(raw)
                        ),
                    )
                })?;
            bits[t as usize / 8] |= 0x80 >> (t % 8);
        }
        let used = bits.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        out.extend_from_slice(&bits[..used]);
        Ok(())
    }

    fn eui(&mut self, out: &mut Vec<u8>, octets: usize) -> Result<()> {
        let what = if octets == 6 {
            "an EUI-48 address xx-xx-xx-xx-xx-xx"
        } else {
            "an EUI-64 address xx-xx-xx-xx-xx-xx-xx-xx"
        };
        let (i, raw) = self.take(what)?;
        let bad = |p: &Self| p.error_at(i, format!("expected {what}, found '{}'", shown(raw)));
        // BIND reads these with sscanf("%2x-%2x-…") and never looks past the
        // last group: a group is one or two hex digits, and whatever follows
        // the last one in the token is ignored. We read what BIND reads.
        let mut k = 0;
        for group in 0..octets {
            if group > 0 {
                if raw.get(k) != Some(&b'-') {
                    return Err(bad(self));
                }
                k += 1;
            }
            let digits = raw[k..]
                .iter()
                .take(2)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if digits == 0 {
                return Err(bad(self));
            }
            let text = std::str::from_utf8(&raw[k..k + digits]).map_err(|_| bad(self))?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| bad(self))?);
            k += digits;
        }
        Ok(())
    }

    /// RFC 3597 §5: `\# length hex…`.
    fn generic(&mut self, rtype: RType, out: &mut Vec<u8>) -> Result<()> {
        self.next += 1;
        let (i, raw) = self.take("the RDATA length after \\#")?;
        let len = parse_number(raw, 0xffff).ok_or_else(|| {
            self.error_at(
                i,
                format!(
                    "expected the RDATA length (0-65535) after \\#, found '{}'",
                    shown(raw)
                ),
            )
        })? as usize;
        let start = out.len();
        let (first, joined) = self.rest_joined()?;
        let ok = decode_hex(&joined, out).is_some();
        self.scratch = joined;
        if !ok {
            return Err(self.error_at(first, "expected hex data after the \\# length".to_string()));
        }
        let got = out.len() - start;
        if got != len {
            return Err(self.error_at(
                i,
                format!("\\# length is {len} but {got} octets of data follow"),
            ));
        }
        // RFC 1876 §2: a LOC of a version other than 0 is opaque; BIND 9.18
        // keeps it as it is and writes it in generic form, as we do.
        let opaque = rtype == RType::LOC && out.get(start).is_some_and(|&v| v != 0);
        if !opaque
            && matches!(layout(rtype), Layout::Fields(_) | Layout::Custom)
            && !crate::render::rdata::is_valid(rtype, &out[start..])
        {
            return Err(self.error_at(i, format!("\\# data is not valid {rtype} RDATA")));
        }
        match semantic_error(rtype, &out[start..])
            .or_else(|| generic_form_error(rtype, &out[start..]))
        {
            Some(message) => Err(self.error_at(i, message)),
            None => Ok(()),
        }
    }

    fn custom(&mut self, rtype: RType, out: &mut Vec<u8>) -> Result<()> {
        match rtype {
            RType::WKS => self.wks(out),
            RType::LOC => self.loc(out),
            RType::APL => self.apl(out),
            RType::SVCB | RType::HTTPS => self.svcb(out),
            RType::IPSECKEY => self.ipseckey(out),
            RType::AMTRELAY => self.amtrelay(out),
            RType::HIP => self.hip(out),
            RType::NSAP => self.nsap(out),
            RType::ISDN => {
                self.char_string(out)?;
                if !self.at_end() {
                    self.char_string(out)?;
                }
                Ok(())
            }
            RType::A6 => self.a6(out),
            RType::ATMA => self.atma(out),
            RType::DOA => self.doa(out),
            _ => Err(self.error_here(format!("no presentation format for {rtype}"))),
        }
    }

    /// RFC 1035 §3.4.2: address, protocol, then services as numbers or names.
    fn wks(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.field(Field::Ipv4, out)?;
        let (i, raw) = self.take("a protocol (tcp, udp or a number)")?;
        let proto = signed_number(raw, 255)
            .or_else(|| protocol_number(raw))
            .ok_or_else(|| {
                self.error_at(
                    i,
                    format!(
                        "expected a protocol (tcp, udp or a number), found '{}'",
                        shown(raw)
                    ),
                )
            })?;
        out.push(proto as u8);
        let mut bitmap = Vec::new();
        while !self.at_end() {
            let (i, raw) = self.take("a service")?;
            let port = signed_number(raw, 0xffff)
                .or_else(|| service_port(raw))
                .ok_or_else(|| {
                    self.error_at(
                        i,
                        format!("expected a service port or name, found '{}'", shown(raw)),
                    )
                })? as usize;
            if bitmap.len() <= port / 8 {
                bitmap.resize(port / 8 + 1, 0);
            }
            bitmap[port / 8] |= 0x80 >> (port % 8);
        }
        out.extend_from_slice(&bitmap);
        Ok(())
    }

    /// RFC 1876 §3: `d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`.
    fn loc(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let lat = self.loc_angle(b'N', b'S', 90)?;
        let lon = self.loc_angle(b'E', b'W', 180)?;
        let (i, raw) = self.take("an altitude in meters")?;
        let alt_cm = parse_meters(raw, true)
            .filter(|&cm| (-10_000_000..=4_284_967_295).contains(&cm))
            .ok_or_else(|| {
                self.error_at(
                    i,
                    format!(
                        "expected an altitude in meters (-100000.00 to 42849672.95), found '{}'",
                        shown(raw)
                    ),
                )
            })?;
        let mut precision = [0x12u8, 0x16, 0x13];
        for (k, what) in [
            "a size in meters",
            "a horizontal precision in meters",
            "a vertical precision in meters",
        ]
        .iter()
        .enumerate()
        {
            if self.at_end() {
                break;
            }
            let (i, raw) = self.take(what)?;
            precision[k] = parse_meters(raw, false)
                .and_then(loc_precision)
                .ok_or_else(|| {
                    self.error_at(
                        i,
                        format!("expected {what} (0 to 90000000.00), found '{}'", shown(raw)),
                    )
                })?;
        }
        out.push(0);
        out.extend_from_slice(&precision);
        out.extend_from_slice(&lat.to_be_bytes());
        out.extend_from_slice(&lon.to_be_bytes());
        out.extend_from_slice(&((alt_cm + 10_000_000) as u32).to_be_bytes());
        Ok(())
    }

    fn loc_angle(&mut self, pos: u8, neg: u8, max_deg: u64) -> Result<u32> {
        let hemispheres = format!("{} or {}", pos as char, neg as char);
        let (i, raw) = self.take("degrees")?;
        let deg = parse_number(raw, max_deg).ok_or_else(|| {
            self.error_at(
                i,
                format!("expected degrees (0-{max_deg}), found '{}'", shown(raw)),
            )
        })?;
        let mut minutes = 0;
        let mut millis = 0;
        let mut parts = 0;
        loop {
            let (i, raw) = self.take(&hemispheres)?;
            if raw.len() == 1
                && (raw[0].eq_ignore_ascii_case(&pos) || raw[0].eq_ignore_ascii_case(&neg))
            {
                let total = ((deg * 60 + minutes) * 60 * 1000 + millis) as i64;
                if deg == max_deg && (minutes > 0 || millis > 0) {
                    return Err(self.error_at(i, format!("angle is more than {max_deg} degrees")));
                }
                let signed = if raw[0].eq_ignore_ascii_case(&pos) {
                    total
                } else {
                    -total
                };
                return Ok((signed + (1i64 << 31)) as u32);
            }
            parts += 1;
            match parts {
                1 => {
                    minutes = parse_number(raw, 59).ok_or_else(|| {
                        self.error_at(
                            i,
                            format!(
                                "expected minutes (0-59) or {hemispheres}, found '{}'",
                                shown(raw)
                            ),
                        )
                    })?;
                }
                2 => {
                    millis = parse_fixed(raw, 3).filter(|&m| m < 60_000).ok_or_else(|| {
                        self.error_at(
                            i,
                            format!(
                                "expected seconds (0-59.999) or {hemispheres}, found '{}'",
                                shown(raw)
                            ),
                        )
                    })? as u64;
                }
                _ => {
                    return Err(
                        self.error_at(i, format!("expected {hemispheres}, found '{}'", shown(raw)))
                    );
                }
            }
        }
    }

    /// RFC 3123 §4: `[!]afi:address/prefix` items.
    fn apl(&mut self, out: &mut Vec<u8>) -> Result<()> {
        while !self.at_end() {
            let (i, raw) = self.take("an APL item")?;
            let bad = || {
                format!(
                    "expected an APL item like 1:192.0.2.0/24 or !2:2001:db8::/32, found '{}'",
                    shown(raw)
                )
            };
            let (negate, body) = match raw.strip_prefix(b"!") {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let colon = body
                .iter()
                .position(|&c| c == b':')
                .ok_or_else(|| self.error_at(i, bad()))?;
            let slash = body
                .iter()
                .rposition(|&c| c == b'/')
                .ok_or_else(|| self.error_at(i, bad()))?;
            if slash < colon {
                return Err(self.error_at(i, bad()));
            }
            let afi =
                parse_number(&body[..colon], 0xffff).ok_or_else(|| self.error_at(i, bad()))?;
            let addr_text = &body[colon + 1..slash];
            let (bytes, max_prefix): (Vec<u8>, u64) = match afi {
                1 => (
                    parse_ipv4(addr_text)
                        .ok_or_else(|| self.error_at(i, bad()))?
                        .octets()
                        .to_vec(),
                    32,
                ),
                2 => (
                    parse_ipv6(addr_text)
                        .ok_or_else(|| self.error_at(i, bad()))?
                        .octets()
                        .to_vec(),
                    128,
                ),
                _ => {
                    return Err(self.error_at(
                        i,
                        format!(
                            "APL address family must be 1 (IPv4) or 2 (IPv6), found '{}'",
                            shown(raw)
                        ),
                    ));
                }
            };
            let prefix = parse_number(&body[slash + 1..], max_prefix)
                .ok_or_else(|| self.error_at(i, bad()))?;
            let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            out.extend_from_slice(&(afi as u16).to_be_bytes());
            out.push(prefix as u8);
            out.push(used as u8 | if negate { 0x80 } else { 0 });
            out.extend_from_slice(&bytes[..used]);
        }
        Ok(())
    }

    /// RFC 9460 §2.1: `priority target key=value…`.
    fn svcb(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.field(Field::U16, out)?;
        // BIND reads the target as a string that may be quoted.
        let (i, _) = self.take_any("a target name")?;
        self.name_at(i, out)?;
        let mut params: Vec<(u16, Vec<u8>, usize)> = Vec::new();
        while !self.at_end() {
            let (i, raw) = self.take("a service parameter")?;
            let tok_escaped = self.tokens[i].escaped;
            let quoted_whole = self.tokens[i].kind == TokenKind::Quoted;
            let (key_text, value) = match raw.iter().position(|&c| c == b'=') {
                Some(eq) if !quoted_whole => {
                    let key = &raw[..eq];
                    let mut value = raw[eq + 1..].to_vec();
                    // `key="value with spaces"` lexes as `key=` and a quoted token.
                    if value.is_empty()
                        && !self.at_end()
                        && self.tokens[self.next].kind == TokenKind::Quoted
                        && self.tokens[self.next].start == self.tokens[i].end + 1
                    {
                        let (_, v) = self.take_any("a parameter value")?;
                        value = v.to_vec();
                        (key, Some((value, self.tokens[i + 1].escaped)))
                    } else {
                        (key, Some((std::mem::take(&mut value), tok_escaped)))
                    }
                }
                _ => (raw, None),
            };
            let key = svc_param_key(key_text).ok_or_else(|| {
                self.error_at(
                    i,
                    format!("unknown service parameter key '{}'", shown(key_text)),
                )
            })?;
            if params.iter().any(|p| p.0 == key) {
                return Err(self.error_at(
                    i,
                    format!("service parameter '{}' given twice", shown(key_text)),
                ));
            }
            let mut wire = Vec::new();
            let value = match value {
                Some((v, escaped)) => Some(if escaped {
                    name::unescape_all(&v)
                        .ok_or_else(|| self.error_at(i, "bad escape in service parameter".into()))?
                } else {
                    v
                }),
                None => None,
            };
            // `keyNNNNN=value` carries the value's octets as they are, even for a
            // key with a name (as BIND does); they must still be valid for that key.
            let result = if key_text.starts_with(b"key") {
                wire.extend_from_slice(value.as_deref().unwrap_or_default());
                if crate::render::rdata::is_valid_svc_param(key, &wire) {
                    Ok(())
                } else {
                    Err("not a valid value for this key")
                }
            } else {
                svc_param_value(key, value.as_deref(), &mut wire)
            };
            result.map_err(|m| {
                self.error_at(
                    i,
                    format!("bad value for service parameter '{}': {m}", shown(key_text)),
                )
            })?;
            params.push((key, wire, i));
        }
        params.sort_by_key(|p| p.0);
        // RFC 9460 §8: every key listed in mandatory must be present, and mandatory must not list itself.
        if let Some((_, m, i)) = params.iter().find(|p| p.0 == 0) {
            for k in m.chunks_exact(2) {
                let k = u16::from_be_bytes([k[0], k[1]]);
                if k == 0 || !params.iter().any(|p| p.0 == k) {
                    return Err(
                        self.error_at(*i, format!("mandatory lists key{k}, which is not present"))
                    );
                }
            }
        }
        if params.iter().any(|p| p.0 == 2) && !params.iter().any(|p| p.0 == 1) {
            let i = params.iter().find(|p| p.0 == 2).map(|p| p.2).unwrap_or(0);
            return Err(self.error_at(i, "no-default-alpn requires an alpn parameter".to_string()));
        }
        for (key, wire, _) in params {
            out.extend_from_slice(&key.to_be_bytes());
            out.extend_from_slice(&(wire.len() as u16).to_be_bytes());
            out.extend_from_slice(&wire);
        }
        Ok(())
    }

    /// RFC 4025 §3: `precedence gateway-type algorithm gateway [key]`.
    fn ipseckey(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.field(Field::U8, out)?;
        let (i, raw) = self.take("a gateway type (0-3)")?;
        let gw_type = parse_number(raw, 3).ok_or_else(|| {
            self.error_at(
                i,
                format!("expected a gateway type (0-3), found '{}'", shown(raw)),
            )
        })?;
        out.push(gw_type as u8);
        self.field(Field::U8, out)?;
        self.gateway(gw_type, out)?;
        self.base64_rest(out, true)
    }

    fn gateway(&mut self, gw_type: u64, out: &mut Vec<u8>) -> Result<()> {
        match gw_type {
            0 => {
                let (i, raw) = self.take("'.' for no gateway")?;
                if raw != b"." {
                    return Err(self.error_at(
                        i,
                        format!("expected '.' for gateway type 0, found '{}'", shown(raw)),
                    ));
                }
                Ok(())
            }
            1 => self.field(Field::Ipv4, out),
            2 => self.field(Field::Ipv6, out),
            _ => self.name(out),
        }
    }

    /// RFC 8777 §4: `precedence D-bit type relay`.
    fn amtrelay(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.field(Field::U8, out)?;
        let (i, raw) = self.take("the discovery-optional bit (0 or 1)")?;
        let d = parse_number(raw, 1)
            .ok_or_else(|| self.error_at(i, format!("expected 0 or 1, found '{}'", shown(raw))))?;
        let (i, raw) = self.take("a relay type (0-3)")?;
        let t = parse_number(raw, 127).ok_or_else(|| {
            self.error_at(i, format!("expected a relay type, found '{}'", shown(raw)))
        })?;
        out.push((d as u8) << 7 | t as u8);
        match t {
            0 => {
                {
                    let (i, raw) = self.take("'.' for relay type 0")?;
                    if raw != b"." {
                        return Err(self.error_at(
                            i,
                            format!("expected '.' for relay type 0, found '{}'", shown(raw)),
                        ));
                    }
                }
                Ok(())
            }
            1..=3 => self.gateway(t, out),
            _ => self.hex_rest(out, false),
        }
    }

    /// RFC 8005 §5: `pk-algorithm hit public-key [rendezvous-servers…]`.
    fn hip(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (_, alg) = (0, self.number(255, "a public key algorithm")?);
        let (i, hit_text) = self.take("a HIT in hex")?;
        let mut hit = Vec::new();
        if decode_hex(hit_text, &mut hit).is_none() || hit.is_empty() || hit.len() > 255 {
            return Err(self.error_at(
                i,
                format!("expected a HIT in hex, found '{}'", shown(hit_text)),
            ));
        }
        let (i, key_text) = self.take("a public key in base64")?;
        let mut key = Vec::new();
        if decode_base64(key_text, &mut key).is_none() || key.is_empty() || key.len() > 0xffff {
            return Err(self.error_at(
                i,
                format!(
                    "expected a public key in base64, found '{}'",
                    shown(key_text)
                ),
            ));
        }
        out.push(hit.len() as u8);
        out.push(alg as u8);
        out.extend_from_slice(&(key.len() as u16).to_be_bytes());
        out.extend_from_slice(&hit);
        out.extend_from_slice(&key);
        while !self.at_end() {
            self.name(out)?;
        }
        Ok(())
    }

    /// RFC 1706 §5: `0x` then hex digits, dots allowed between.
    fn nsap(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (i, raw) = self.take("an NSAP address 0x…")?;
        let digits: Vec<u8> = match raw.get(..2) {
            Some(p) if p.eq_ignore_ascii_case(b"0x") => {
                raw[2..].iter().copied().filter(|&c| c != b'.').collect()
            }
            _ => Vec::new(),
        };
        if digits.is_empty() || decode_hex(&digits, out).is_none() {
            return Err(self.error_at(
                i,
                format!(
                    "expected an NSAP address 0x followed by hex digits, found '{}'",
                    shown(raw)
                ),
            ));
        }
        Ok(())
    }

    /// RFC 2874 §3.1.1: `prefix-length [address-suffix] [prefix-name]`.
    fn a6(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let plen = self.number(128, "a prefix length (0-128)")? as usize;
        out.push(plen as u8);
        if plen < 128 {
            let (i, raw) = self.take("an IPv6 address suffix")?;
            let addr = parse_ipv6(raw).ok_or_else(|| {
                self.error_at(
                    i,
                    format!("expected an IPv6 address, found '{}'", shown(raw)),
                )
            })?;
            let skip = plen / 8;
            let mut octets = addr.octets();
            if !plen.is_multiple_of(8) {
                octets[skip] &= 0xff >> (plen % 8);
            }
            out.extend_from_slice(&octets[skip..]);
        }
        if plen > 0 {
            self.name(out)?;
        }
        Ok(())
    }

    /// ATM Forum af-dans-0152.000: `+digits` (E.164) or hex (NSAP).
    fn atma(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (i, raw) = self.take("an ATM address")?;
        if let Some(digits) = raw.strip_prefix(b"+") {
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(self.error_at(
                    i,
                    format!(
                        "expected an E.164 ATM address +digits, found '{}'",
                        shown(raw)
                    ),
                ));
            }
            out.push(1);
            out.extend_from_slice(digits);
        } else {
            out.push(0);
            let digits: Vec<u8> = raw.iter().copied().filter(|&c| c != b'.').collect();
            if digits.is_empty() || decode_hex(&digits, out).is_none() {
                return Err(self.error_at(
                    i,
                    format!("expected an ATM address in hex, found '{}'", shown(raw)),
                ));
            }
        }
        Ok(())
    }

    /// draft-durand-doa-over-dns: `enterprise type location "media-type" data|-`.
    fn doa(&mut self, out: &mut Vec<u8>) -> Result<()> {
        self.field(Field::U32, out)?;
        self.field(Field::U32, out)?;
        self.field(Field::U8, out)?;
        self.char_string(out)?;
        if self.peek_raw() == Some(&b"-"[..]) {
            self.take("'-' or base64 data")?;
            return Ok(());
        }
        self.base64_rest(out, true)
    }
}

/// Writes a name token (`@`, relative or absolute) in wire form.
pub fn write_name(
    raw: &[u8],
    origin: &[u8],
    out: &mut Vec<u8>,
) -> std::result::Result<(), NameError> {
    let start = out.len();
    if raw == b"@" {
        out.extend_from_slice(origin);
        return Ok(());
    }
    let result = name::parse_into(raw, out).and_then(|absolute| {
        if !absolute {
            out.extend_from_slice(origin);
            if out.len() - start > name::MAX_NAME {
                return Err(NameError::NameTooLong);
            }
        }
        Ok(())
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Parses a decimal number with at most `max`, digits only.
pub fn parse_number(raw: &[u8], max: u64) -> Option<u64> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // BIND reads numbers with strtoul: any run of leading zeros is fine.
    let raw = without_leading_zeros(raw);
    if raw.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in raw {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    (v <= max).then_some(v)
}

/// `digits` without its leading zeros, keeping the last digit (`000` is `0`).
pub fn without_leading_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

/// Strict dotted quad as BIND's `inet_pton`: four decimal octets, no
/// leading zeros.
pub fn parse_ipv4(raw: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &c in raw {
        match c {
            b'0'..=b'9' => {
                // No leading zeros ("01"), at most three digits, at most 255.
                if digits > 0 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if digits > 3 || value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && n < 3 => {
                octets[n] = value as u8;
                n += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

/// IPv6 address in RFC 4291 §2.2 text form.
pub fn parse_ipv6(raw: &[u8]) -> Option<Ipv6Addr> {
    std::str::from_utf8(raw).ok()?.parse().ok()
}

fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Decimal with up to `places` fraction digits, scaled to an integer.
fn parse_fixed(raw: &[u8], places: u32) -> Option<u32> {
    let (int, frac) = match raw.iter().position(|&c| c == b'.') {
        Some(dot) => (&raw[..dot], &raw[dot + 1..]),
        None => (raw, &b""[..]),
    };
    if int.is_empty() || frac.len() > places as usize || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let int = u32::try_from(signed_number(int, u64::from(u32::MAX))?).ok()?;
    let mut f = 0u32;
    for k in 0..places as usize {
        f = f * 10 + frac.get(k).map_or(0, |&c| u32::from(c - b'0'));
    }
    int.checked_mul(10u32.pow(places))?.checked_add(f)
}

/// Meters with up to two decimals and an optional `m`, in centimeters.
fn parse_meters(raw: &[u8], signed: bool) -> Option<i64> {
    let raw = raw
        .strip_suffix(b"m")
        .or_else(|| raw.strip_suffix(b"M"))
        .unwrap_or(raw);
    let (neg, digits) = match raw.strip_prefix(b"-") {
        Some(rest) if signed => (true, rest),
        _ => (false, raw),
    };
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &b""[..]),
    };
    if int.is_empty() || frac.len() > 2 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // BIND takes the altitude's own minus sign, then reads the rest with
    // strtol: `-+5` is -5.
    let int = signed_number(int, 100_000_000)? as i64;
    let mut cm = int * 100;
    for (k, &c) in frac.iter().enumerate() {
        cm += i64::from(c - b'0') * if k == 0 { 10 } else { 1 };
    }
    Some(if neg { -cm } else { cm })
}

/// RFC 1876 §2 size/precision byte: mantissa and power of ten, in centimeters.
fn loc_precision(cm: i64) -> Option<u8> {
    // BIND bounds only the whole meters (90000000); the centimeters of the
    // largest size are dropped by the encoding, so 90000000.01m loads as
    // 90000000m.
    if !(0..=9_000_000_099).contains(&cm) {
        return None;
    }
    let mut exp = 0u8;
    let mut mant = cm;
    while mant >= 10 {
        mant /= 10;
        exp += 1;
    }
    Some((mant as u8) << 4 | exp)
}

/// RRSIG time (RFC 4034 §3.2): 14-digit `YYYYMMDDHHmmSS` UTC, or seconds.
pub fn parse_time(raw: &[u8]) -> Option<u32> {
    if raw.len() != 14 {
        return parse_number(raw, u64::from(u32::MAX)).map(|v| v as u32);
    }
    if !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |a: usize, b: usize| parse_number(&raw[a..b], 9999).map(|v| v as i64);
    let (y, mo, d, h, mi, s) = (
        num(0, 4)?,
        num(4, 6)?,
        num(6, 8)?,
        num(8, 10)?,
        num(10, 12)?,
        num(12, 14)?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(0..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d < 1
        || d > days_in_month[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || s > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    // RFC 4034 §3.1.5: serial number arithmetic, so the value wraps mod
    // 2^32 (BIND takes dates before 1970 as well).
    Some(secs.rem_euclid(1 << 32) as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 4034 §4.1.2 windowed type bitmap from a list of types.
pub fn write_type_bitmap(types: &mut [u16], out: &mut Vec<u8>) {
    types.sort_unstable();
    let mut k = 0;
    while k < types.len() {
        let window = types[k] >> 8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while k < types.len() && types[k] >> 8 == window {
            let low = (types[k] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = used.max(low / 8 + 1);
            k += 1;
        }
        out.push(window as u8);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
}

/// The number a mnemonic stands for in `table`, ignoring case.
fn mnemonic_number(table: &[(u8, &str)], raw: &[u8]) -> Option<u64> {
    table
        .iter()
        .find(|(_, name)| name.as_bytes().eq_ignore_ascii_case(raw))
        .map(|(n, _)| u64::from(*n))
}

/// Key flags as BIND's `dns_keyflags_fromtext` reads them: a token that
/// starts with a digit is a decimal number, else a hexadecimal one
/// (`strtoul` base 16, so `0x10`, `0ff` and `1e3` are 16, 255 and 483;
/// `010` is 10, not octal); otherwise flag names joined by `|`.
fn parse_key_flags(raw: &[u8]) -> Option<u16> {
    const FLAGS: &[(&str, u16)] = &[
        ("NOCONF", 0x4000),
        ("NOAUTH", 0x8000),
        ("NOKEY", 0xC000),
        ("FLAG2", 0x2000),
        ("EXTEND", 0x1000),
        ("FLAG4", 0x0800),
        ("FLAG5", 0x0400),
        ("USER", 0x0000),
        ("ZONE", 0x0100),
        ("HOST", 0x0200),
        ("NTYP3", 0x0300),
        ("FLAG8", 0x0080),
        ("REVOKE", 0x0080),
        ("FLAG9", 0x0040),
        ("FLAG10", 0x0020),
        ("FLAG11", 0x0010),
        ("SIG0", 0x0000),
        ("KSK", 0x0001),
    ];
    if raw.first()?.is_ascii_digit() {
        if raw.iter().all(u8::is_ascii_digit) {
            return parse_number(raw, 0xffff).map(|v| v as u16);
        }
        let hex = raw
            .strip_prefix(b"0x")
            .or_else(|| raw.strip_prefix(b"0X"))
            .unwrap_or(raw);
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let value = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        return u16::try_from(value).ok();
    }
    let mut value = 0u16;
    for name in raw.split(|&c| c == b'|') {
        let (_, bits) = FLAGS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))?;
        value |= bits;
    }
    Some(value)
}

/// A number as BIND reads the fields it parses with `strtol` (type
/// numbers in RRSIG, SIG, DSYNC and NXT, WKS protocol and ports, the whole
/// part of LOC seconds and meters): a sign is allowed, so `+5` is 5 and
/// `-0` is 0, and any other negative number is out of range.
fn signed_number(raw: &[u8], max: u64) -> Option<u64> {
    let (negative, digits) = match raw.split_first()? {
        (b'+', rest) => (false, rest),
        (b'-', rest) => (true, rest),
        _ => (false, raw),
    };
    let v = parse_number(digits, max)?;
    (!negative || v == 0).then_some(v)
}

/// A type field (RRSIG and SIG covered type, DSYNC type) given as a
/// number, as BIND reads one when the text is no type name.
fn type_number(raw: &[u8]) -> Option<u16> {
    signed_number(raw, 0xffff).map(|v| v as u16)
}

fn cert_type_number(raw: &[u8]) -> Option<u64> {
    const TYPES: &[(u16, &str)] = &[
        (1, "PKIX"),
        (2, "SPKI"),
        (3, "PGP"),
        (4, "IPKIX"),
        (5, "ISPKI"),
        (6, "IPGP"),
        (7, "ACPKIX"),
        (8, "IACPKIX"),
        (253, "URI"),
        (254, "OID"),
    ];
    TYPES
        .iter()
        .find(|(_, name)| name.as_bytes().eq_ignore_ascii_case(raw))
        .map(|(n, _)| u64::from(*n))
}

fn protocol_number(raw: &[u8]) -> Option<u64> {
    match raw.to_ascii_lowercase().as_slice() {
        b"tcp" => Some(6),
        b"udp" => Some(17),
        _ => None,
    }
}

/// Well-known service names for WKS, from the IANA registry.
fn service_port(raw: &[u8]) -> Option<u64> {
    const SERVICES: &[(u16, &str)] = &[
        (1, "tcpmux"),
        (7, "echo"),
        (9, "discard"),
        (13, "daytime"),
        (19, "chargen"),
        (20, "ftp-data"),
        (21, "ftp"),
        (22, "ssh"),
        (23, "telnet"),
        (25, "smtp"),
        (37, "time"),
        (43, "whois"),
        (53, "domain"),
        (69, "tftp"),
        (70, "gopher"),
        (79, "finger"),
        (80, "http"),
        (80, "www"),
        (88, "kerberos"),
        (110, "pop3"),
        (111, "sunrpc"),
        (113, "auth"),
        (119, "nntp"),
        (123, "ntp"),
        (143, "imap"),
        (161, "snmp"),
        (179, "bgp"),
        (389, "ldap"),
        (443, "https"),
        (465, "submissions"),
        (514, "syslog"),
        (515, "printer"),
        (587, "submission"),
        (636, "ldaps"),
        (873, "rsync"),
        (993, "imaps"),
        (995, "pop3s"),
    ];
    SERVICES
        .iter()
        .find(|(_, name)| name.as_bytes().eq_ignore_ascii_case(raw))
        .map(|(n, _)| u64::from(*n))
}

/// SvcParamKey names (RFC 9460 §14.3.2) and `keyNNNNN`.
pub const SVC_PARAM_KEYS: &[&str] = &[
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
    "dohpath",
];

fn svc_param_key(text: &[u8]) -> Option<u16> {
    if let Some(k) = SVC_PARAM_KEYS.iter().position(|k| k.as_bytes() == text) {
        return Some(k as u16);
    }
    let digits = text.strip_prefix(b"key")?;
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    parse_number(digits, 65535).map(|v| v as u16)
}

/// Splits an RFC 9460 Appendix A.1 value-list on unescaped commas. The
/// zone-file escapes are already decoded once; at this second level a
/// backslash takes the next octet as it is, as BIND 9.18 reads it: `\,`
/// is a comma inside an item and `\065` is `065` (not `A`), so
/// `alpn="h2\\,x,h3"` holds `h2,x` and `h3`.
fn split_value_list(value: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut items = vec![Vec::new()];
    let mut octets = value.iter();
    while let Some(&c) = octets.next() {
        match c {
            b'\\' => items.last_mut()?.push(*octets.next()?),
            b',' => items.push(Vec::new()),
            c => items.last_mut()?.push(c),
        }
    }
    Some(items)
}

fn svc_param_value(
    key: u16,
    value: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> std::result::Result<(), &'static str> {
    fn need(v: Option<&[u8]>) -> std::result::Result<&[u8], &'static str> {
        v.filter(|v| !v.is_empty()).ok_or("a value is required")
    }
    match key {
        0 => {
            let mut keys = Vec::new();
            for item in need(value)?.split(|&c| c == b',') {
                keys.push(svc_param_key(item).ok_or("unknown key in mandatory list")?);
            }
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err("duplicate key in mandatory list");
            }
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        1 => {
            for item in split_value_list(need(value)?).ok_or("bad escape")? {
                if item.is_empty() || item.len() > 255 {
                    return Err("each alpn identifier must be 1-255 octets");
                }
                out.push(item.len() as u8);
                out.extend_from_slice(&item);
            }
        }
        2 => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err("this key takes no value");
            }
        }
        3 => {
            let port =
                parse_number(need(value)?, 0xffff).ok_or("expected a port number 0-65535")?;
            out.extend_from_slice(&(port as u16).to_be_bytes());
        }
        4 => {
            for item in need(value)?.split(|&c| c == b',') {
                out.extend_from_slice(
                    &parse_ipv4(item)
                        .ok_or("expected IPv4 addresses separated by commas")?
                        .octets(),
                );
            }
        }
        6 => {
            for item in need(value)?.split(|&c| c == b',') {
                out.extend_from_slice(
                    &parse_ipv6(item)
                        .ok_or("expected IPv6 addresses separated by commas")?
                        .octets(),
                );
            }
        }
        // BIND 9.18 takes `ech` with no value (an empty ECHConfigList).
        5 => decode_base64(value.unwrap_or_default(), out).ok_or("expected base64")?,
        7 => {
            let v = need(value)?;
            std::str::from_utf8(v).map_err(|_| "dohpath must be UTF-8")?;
            out.extend_from_slice(v);
        }
        _ => out.extend_from_slice(value.unwrap_or_default()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_strict() {
        assert!(parse_ipv4(b"192.0.2.1").is_some());
        assert!(parse_ipv4(b"1.2.3").is_none());
        assert!(parse_ipv4(b"1.2.3.256").is_none());
        assert!(parse_ipv4(b"01.2.3.4").is_none());
        assert!(parse_ipv4(b"1.2.3.4.5").is_none());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"20000101000000"), Some(946_684_800));
        assert_eq!(parse_time(b"946684800"), Some(946_684_800));
        assert_eq!(parse_time(b"20001301000000"), None);
    }

    #[test]
    fn bitmap() {
        let mut out = Vec::new();
        write_type_bitmap(&mut [1, 15, 46, 47, 1234], &mut out);
        // Window 0: A(1) MX(15) RRSIG(46) NSEC(47) in 6 octets; window 4: type 1234 = 4*256+210.
        let mut expected = vec![0, 6, 0x40, 0x01, 0, 0, 0, 0x03, 4, 27];
        expected.extend(std::iter::repeat_n(0, 26));
        expected.push(0x20);
        assert_eq!(out, expected);
    }

    #[test]
    fn loc_precision_bytes() {
        assert_eq!(loc_precision(100), Some(0x12));
        assert_eq!(loc_precision(1_000_000), Some(0x16));
        assert_eq!(loc_precision(0), Some(0x00));
        assert_eq!(loc_precision(9_000_000_001), Some(0x99));
        assert_eq!(loc_precision(9_000_000_100), None);
    }
}
