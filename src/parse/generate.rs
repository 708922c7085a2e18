//! BIND's `$GENERATE range lhs [ttl] [class] type rhs` directive.
//!
//! `$` in lhs and rhs is replaced by the iterator; `${offset[,width[,base]]}`
//! adds an offset and formats with a zero-padded width in base `d`, `o`,
//! `x`, `X`, or `n`/`N` (reversed nibbles separated by dots, for ip6.arpa;
//! the width counts output characters, dots included, as BIND does). `$$`
//! is a literal `$`; a backslash keeps the next character as it is. The rhs
//! is one token, re-read as the record's RDATA after substitution.

use super::entry::{At, EntryParser, Pending, raw};
use super::lexer::{Entry, Lexer, Token, TokenKind};
use super::rdata::{parse_rdata, shown, write_name};
use crate::zone::NameId;

/// Largest range bound accepted, as in BIND.
const MAX_BOUND: u32 = 0x7fff_ffff;

#[allow(clippy::too_many_arguments)]
pub(super) fn generate(
    p: &mut EntryParser<'_>,
    at: &At<'_>,
    text: &[u8],
    tokens: &[Token],
    entry: &Entry,
    last_owner: &mut Option<NameId>,
    origin: &[u8],
    file: u16,
) {
    let usage = "$GENERATE range lhs [ttl] [class] type rhs";
    if tokens.len() < 5 {
        let end = tokens.last().map_or(0, |t| t.end as usize);
        p.error(
            at,
            entry.end_line,
            end,
            format!("expected {usage}, found end of line"),
        );
        return;
    }
    if tokens[1..3]
        .iter()
        .any(|t| p.quoted_word(at, t, "a $GENERATE range or lhs"))
    {
        return;
    }
    let range_token = &tokens[1];
    let Some((start, stop, step)) = parse_range(raw(text, range_token)) else {
        p.error(
            at,
            range_token.line,
            range_token.start as usize,
            format!("invalid $GENERATE range '{}': expected start-stop or start-stop/step with start <= stop <= 2147483647 and step >= 1", shown(raw(text, range_token))),
        );
        return;
    };
    let lhs_token = &tokens[2];
    let lhs = raw(text, lhs_token);
    let mut k = 3;
    let Some((ttl, rtype)) = p.ttl_class_type(at, text, tokens, &mut k, entry) else {
        return;
    };
    let type_token = tokens[k - 1];
    let Some(rhs_token) = tokens.get(k) else {
        let end = tokens.last().map_or(0, |t| t.end as usize);
        p.error(
            at,
            entry.end_line,
            end,
            format!("expected the rhs of {usage}, found end of line"),
        );
        return;
    };
    if let Some(extra) = tokens.get(k + 1) {
        p.error(at, extra.line, extra.start as usize, format!("expected end of line after the $GENERATE rhs, found '{}'; quote an rhs that has spaces", shown(raw(text, extra))));
        return;
    }
    let rhs: Vec<u8> = match rhs_token.kind {
        // BIND's lexer drops the quotes and turns \" into ", so the rhs is
        // re-read as bare words: "a b $" gives three strings for TXT.
        TokenKind::Quoted => replace_escaped_quotes(raw(text, rhs_token)),
        TokenKind::Plain => raw(text, rhs_token).to_vec(),
    };
    let mut owner_text = Vec::new();
    let mut rdata_text = Vec::new();
    let mut rd_tokens = Vec::new();
    let mut owner_wire = Vec::new();
    let mut value = u64::from(start);
    while value <= u64::from(stop) {
        let v = value as i64;
        owner_text.clear();
        rdata_text.clear();
        if let Err(m) = substitute(lhs, v, &mut owner_text) {
            p.error(
                at,
                lhs_token.line,
                lhs_token.start as usize,
                format!("bad $GENERATE lhs '{}': {m}", shown(lhs)),
            );
            return;
        }
        if let Err(m) = substitute(&rhs, v, &mut rdata_text) {
            p.error(
                at,
                rhs_token.line,
                rhs_token.start as usize,
                format!("bad $GENERATE rhs '{}': {m}", shown(&rhs)),
            );
            return;
        }
        owner_wire.clear();
        if let Err(e) = write_name(&owner_text, origin, &mut owner_wire) {
            p.error(
                at,
                lhs_token.line,
                lhs_token.start as usize,
                format!(
                    "$GENERATE lhs gives a bad name '{}' for {value}: {e}",
                    shown(&owner_text)
                ),
            );
            return;
        }
        let owner = p.zone.names.push(&owner_wire);
        *last_owner = Some(owner);
        let mut lexer = Lexer::new(&rdata_text);
        let lexed = lexer.next_entry(&mut rd_tokens);
        if !matches!(lexed, None | Some(Ok(_))) {
            p.error(
                at,
                rhs_token.line,
                rhs_token.start as usize,
                format!(
                    "$GENERATE rhs gives unreadable RDATA '{}' for {value}",
                    shown(&rdata_text)
                ),
            );
            return;
        }
        if lexed.is_none() {
            rd_tokens.clear();
        }
        let rd_off = p.zone.rdata.len();
        if let Err(e) = parse_rdata(rtype, &rdata_text, &rd_tokens, origin, &mut p.zone.rdata) {
            p.zone.rdata.truncate(rd_off);
            p.error(
                at,
                rhs_token.line,
                rhs_token.start as usize,
                format!(
                    "$GENERATE rhs gives bad {rtype} RDATA '{}' for {value}: {}",
                    shown(&rdata_text),
                    e.message
                ),
            );
            return;
        }
        let pending = Pending {
            owner,
            ttl,
            rtype,
            rd_off,
            line: entry.line,
            generated: true,
        };
        p.store(at, &type_token, pending, file);
        value += u64::from(step);
    }
}

/// `start-stop[/step]`.
fn parse_range(text: &[u8]) -> Option<(u32, u32, u32)> {
    let text = std::str::from_utf8(text).ok()?;
    let (range, step) = match text.split_once('/') {
        Some((r, s)) => (r, s.parse::<u32>().ok()?),
        None => (text, 1),
    };
    let (start, stop) = range.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(start) || !digits(stop) {
        return None;
    }
    let (start, stop) = (start.parse::<u32>().ok()?, stop.parse::<u32>().ok()?);
    (start <= stop && stop <= MAX_BOUND && step >= 1).then_some((start, stop, step))
}

fn replace_escaped_quotes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut k = 0;
    while k < text.len() {
        match (text[k], text.get(k + 1)) {
            (b'\\', Some(b'"')) => {
                out.push(b'"');
                k += 2;
            }
            (b'\\', Some(&next)) => {
                out.extend_from_slice(&[b'\\', next]);
                k += 2;
            }
            (c, _) => {
                out.push(c);
                k += 1;
            }
        }
    }
    out
}

/// Expands `$`, `$$` and `${offset,width,base}` in `pattern` for `value`.
fn substitute(pattern: &[u8], value: i64, out: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut k = 0;
    while k < pattern.len() {
        match pattern[k] {
            b'\\' => {
                out.push(b'\\');
                if let Some(&next) = pattern.get(k + 1) {
                    out.push(next);
                }
                k += 2;
            }
            b'$' if pattern.get(k + 1) == Some(&b'$') => {
                out.push(b'$');
                k += 2;
            }
            b'$' if pattern.get(k + 1) == Some(&b'{') => {
                let close = pattern[k..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or("'${' without '}'")?;
                let spec =
                    std::str::from_utf8(&pattern[k + 2..k + close]).map_err(|_| "bad modifier")?;
                format_modifier(spec, value, out)?;
                k += close + 1;
            }
            b'$' => {
                out.extend_from_slice(value.to_string().as_bytes());
                k += 1;
            }
            c => {
                out.push(c);
                k += 1;
            }
        }
    }
    Ok(())
}

/// `offset[,width[,base]]`.
fn format_modifier(spec: &str, value: i64, out: &mut Vec<u8>) -> Result<(), &'static str> {
    const SYNTAX: &str = "expected ${offset[,width[,base]]} with base one of d, o, x, X, n, N";
    let mut parts = spec.split(',');
    let offset: i64 = match parts.next() {
        Some(o) if !o.is_empty() => o
            .strip_prefix('+')
            .unwrap_or(o)
            .parse()
            .map_err(|_| SYNTAX)?,
        _ => return Err(SYNTAX),
    };
    let width: usize = match parts.next() {
        Some(w) => w.parse().map_err(|_| SYNTAX)?,
        None => 0,
    };
    let base = match parts.next() {
        Some(b) if b.len() == 1 && "doxXnN".contains(b) => b.as_bytes()[0],
        Some(_) => return Err(SYNTAX),
        None => b'd',
    };
    if parts.next().is_some() {
        return Err(SYNTAX);
    }
    let v = value + offset;
    // BIND computes in a C int and refuses what does not fit.
    if i32::try_from(v).is_err() {
        return Err("value out of range (iterator plus offset must fit in 32 bits)");
    }
    // BIND formats through a C int: o, x and n see the two's complement bits.
    let bits = v as i32 as u32;
    let text = match base {
        b'd' => format!("{:0width$}", v as i32),
        b'o' => format!("{bits:0width$o}"),
        b'x' => format!("{bits:0width$x}"),
        b'X' => format!("{bits:0width$X}"),
        _ => nibbles(bits, width, base == b'N'),
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Reversed nibbles separated by dots; `width` counts characters, dots included.
fn nibbles(mut value: u32, mut width: usize, upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::new();
    loop {
        out.push(digits[(value & 15) as usize] as char);
        value >>= 4;
        width = width.saturating_sub(1);
        if width > 0 || value != 0 {
            out.push('.');
            width = width.saturating_sub(1);
        }
        if value == 0 && width == 0 {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(pattern: &str, value: i64) -> String {
        let mut out = Vec::new();
        substitute(pattern.as_bytes(), value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn modifiers_match_bind() {
        assert_eq!(sub("host$", 7), "host7");
        assert_eq!(sub("${0,8,n}rev", 10), "a.0.0.0.rev");
        assert_eq!(sub("${0,7,n}rev", 10), "a.0.0.0rev");
        assert_eq!(sub("${0,3,n}", 10), "a.0");
        assert_eq!(sub("${0,0,N}", 255), "F.F");
        assert_eq!(sub("${0,0,N}", 256), "0.0.1");
        assert_eq!(sub("${-10,3}", 6), "-04");
        assert_eq!(sub("${1,3,o}", 5), "006");
        assert_eq!(sub("${+3}", 1), "4");
        assert_eq!(sub("a${1}$${2}", 1), "a2${2}");
        assert_eq!(sub("{$}", 1), "{1}");
        assert_eq!(sub("\\$x", 1), "\\$x");
        let mut out = Vec::new();
        assert!(substitute(b"${0,3,d,x}", 1, &mut out).is_err());
        assert!(substitute(b"a${1", 1, &mut out).is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(b"1-10"), Some((1, 10, 1)));
        assert_eq!(parse_range(b"1-100/5"), Some((1, 100, 5)));
        assert_eq!(parse_range(b"10-1"), None);
        assert_eq!(parse_range(b"1-10/0"), None);
        assert_eq!(parse_range(b"0-4294967295"), None);
    }
}
