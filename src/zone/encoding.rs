//! Binary-to-text encodings used in RDATA: hex, base64 (RFC 4648 §4) and
//! base32hex without padding (RFC 4648 §7, as NSEC3 uses it, RFC 5155 §3.3).
//!
//! Decoders are strict the way BIND's are: base64 needs complete quads with
//! correct padding, base32hex leaves no stray bits, hex has an even number
//! of digits. Encoders write uppercase hex and base32hex, as BIND does.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32HEX: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits, appending bytes to `out`. `None` on a bad digit or an odd count.
pub fn decode_hex(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    for pair in text.chunks_exact(2) {
        out.push(hex_value(pair[0])? << 4 | hex_value(pair[1])?);
    }
    Some(())
}

/// Appends `data` as uppercase hex.
pub fn encode_hex(data: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in data {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
}

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes padded base64, appending bytes to `out`.
pub fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let quads = text.len() / 4;
    for (i, quad) in text.chunks_exact(4).enumerate() {
        let last = i + 1 == quads;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - pad] {
            acc = acc << 6 | b64_value(c)?;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        // Bits below the last full byte must be zero, as in canonical base64.
        match pad {
            0 => out.extend_from_slice(&bytes),
            1 => {
                if bytes[2] != 0 {
                    return None;
                }
                out.extend_from_slice(&bytes[..2]);
            }
            _ => {
                if bytes[1] != 0 || bytes[2] != 0 {
                    return None;
                }
                out.push(bytes[0]);
            }
        }
    }
    Some(())
}

/// Appends `data` as padded base64.
pub fn encode_base64(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let acc = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((acc >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// Decodes unpadded base32hex (either case), appending bytes to `out`.
pub fn decode_base32hex(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &c in text {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'v' => c - b'a' + 10,
            b'A'..=b'V' => c - b'A' + 10,
            _ => return None,
        };
        acc = acc << 5 | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(())
}

/// Appends `data` as unpadded uppercase base32hex.
pub fn encode_base32hex(data: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in data {
        acc = acc << 8 | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32HEX[((acc >> bits) & 31) as usize]);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(B32HEX[((acc << (5 - bits)) & 31) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let mut text = Vec::new();
            encode_base64(data, &mut text);
            let mut back = Vec::new();
            decode_base64(&text, &mut back).unwrap();
            assert_eq!(back, data);
            text.clear();
            encode_base32hex(data, &mut text);
            back.clear();
            decode_base32hex(&text, &mut back).unwrap();
            assert_eq!(back, data, "{}", String::from_utf8_lossy(&text));
            text.clear();
            encode_hex(data, &mut text);
            back.clear();
            decode_hex(&text, &mut back).unwrap();
            assert_eq!(back, data);
        }
    }

    #[test]
    fn rfc4648_vectors() {
        let mut out = Vec::new();
        encode_base64(b"foobar", &mut out);
        assert_eq!(out, b"Zm9vYmFy");
        out.clear();
        encode_base32hex(b"foobar", &mut out);
        assert_eq!(out, b"CPNMUOJ1E8");
    }

    #[test]
    fn rejects_bad_input() {
        let mut out = Vec::new();
        assert!(decode_base64(b"Zm9", &mut out).is_none());
        assert!(decode_base64(b"Zm=v", &mut out).is_none());
        assert!(decode_base64(b"Zh==", &mut out).is_none());
        assert!(decode_hex(b"abc", &mut out).is_none());
        assert!(decode_hex(b"zz", &mut out).is_none());
        assert!(decode_base32hex(b"W0", &mut out).is_none());
    }
}
