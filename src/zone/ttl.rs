//! TTLs: plain seconds or BIND's unit form `1w2d3h4m5s` (RFC 2308 §4).
//!
//! BIND accepts a bare number, or one or more number-unit pairs with units
//! `w d h m s` in either case; a trailing number without a unit is refused
//! (`1w2d3` is not a TTL). Values above 2^31-1 are treated as 0 with a
//! warning (RFC 2181 §8), which the caller reports.

/// Largest TTL a zone may carry (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// Parses a TTL in presentation form. Returns `None` for anything that is
/// not a TTL (the caller may then try it as a class or type) and
/// `Some(Err(()))` for a well-formed TTL that does not fit in 32 bits.
pub fn parse_ttl(text: &[u8]) -> Option<Result<u32, ()>> {
    if text.is_empty() || !text[0].is_ascii_digit() {
        return None;
    }
    if text.iter().all(u8::is_ascii_digit) {
        return Some(parse_decimal_u32(text).ok_or(()));
    }
    let mut total: u64 = 0;
    let mut value: u64 = 0;
    let mut digits = 0;
    for &c in text {
        if c.is_ascii_digit() {
            value = value * 10 + u64::from(c - b'0');
            digits += 1;
            if value > u64::from(u32::MAX) {
                return Some(Err(()));
            }
            continue;
        }
        let unit: u64 = match c.to_ascii_lowercase() {
            b'w' => 604_800,
            b'd' => 86_400,
            b'h' => 3_600,
            b'm' => 60,
            b's' => 1,
            _ => return None,
        };
        if digits == 0 {
            return None;
        }
        total += value * unit;
        if total > u64::from(u32::MAX) {
            return Some(Err(()));
        }
        value = 0;
        digits = 0;
    }
    if digits != 0 {
        return None;
    }
    Some(Ok(total as u32))
}

/// Parses decimal digits as a `u32`; leading zeros do not count (BIND
/// reads `0000000300` as 300).
pub fn parse_decimal_u32(text: &[u8]) -> Option<u32> {
    let zeros = text.iter().take_while(|&&d| d == b'0').count();
    let text = &text[zeros.min(text.len().saturating_sub(1))..];
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    u32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_ttl(b"3600"), Some(Ok(3600)));
        assert_eq!(parse_ttl(b"1w2d3h4m5s"), Some(Ok(788_645)));
        assert_eq!(parse_ttl(b"1W2D"), Some(Ok(777_600)));
        assert_eq!(parse_ttl(b"1h1h"), Some(Ok(7200)));
        assert_eq!(parse_ttl(b"1w2d3"), None);
        assert_eq!(parse_ttl(b"IN"), None);
        assert_eq!(parse_ttl(b"1x"), None);
        assert_eq!(parse_ttl(b"4294967295"), Some(Ok(u32::MAX)));
        assert_eq!(parse_ttl(b"4294967296"), Some(Err(())));
        assert_eq!(parse_ttl(b"99999999w"), Some(Err(())));
    }
}
