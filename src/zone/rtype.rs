//! Record types and classes: mnemonics, numbers and the fixed output order.
//!
//! Types are plain `u16` codes (RFC 1035 §3.2.2, IANA "Resource Record
//! (RR) TYPEs") so that the model stores any type, known or not; RFC 3597
//! `TYPEnnn` and `CLASSnnn` name the rest. Mnemonics are matched on
//! uppercased bytes by one `match`, never by trying alternatives in turn.

use std::fmt;

/// A record type code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

macro_rules! rtypes {
    ($($name:ident = $code:expr, $text:expr;)*) => {
        impl RType {
            $(#[doc = concat!("The ", $text, " record type.")] pub const $name: RType = RType($code);)*

            /// The mnemonic of a type this program knows, if any.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($text),)*
                    _ => None,
                }
            }

            /// Looks a mnemonic up, ignoring case (`TYPEnnn` is handled by [`RType::from_text`]).
            fn from_mnemonic(upper: &[u8]) -> Option<RType> {
                match upper {
                    $(x if x == $text.as_bytes() => Some(RType($code)),)*
                    _ => None,
                }
            }
        }
    };
}

rtypes! {
    A = 1, "A";
    NS = 2, "NS";
    MD = 3, "MD";
    MF = 4, "MF";
    CNAME = 5, "CNAME";
    SOA = 6, "SOA";
    MB = 7, "MB";
    MG = 8, "MG";
    MR = 9, "MR";
    NULL = 10, "NULL";
    WKS = 11, "WKS";
    PTR = 12, "PTR";
    HINFO = 13, "HINFO";
    MINFO = 14, "MINFO";
    MX = 15, "MX";
    TXT = 16, "TXT";
    RP = 17, "RP";
    AFSDB = 18, "AFSDB";
    X25 = 19, "X25";
    ISDN = 20, "ISDN";
    RT = 21, "RT";
    NSAP = 22, "NSAP";
    NSAP_PTR = 23, "NSAP-PTR";
    SIG = 24, "SIG";
    KEY = 25, "KEY";
    PX = 26, "PX";
    GPOS = 27, "GPOS";
    AAAA = 28, "AAAA";
    LOC = 29, "LOC";
    NXT = 30, "NXT";
    EID = 31, "EID";
    NIMLOC = 32, "NIMLOC";
    SRV = 33, "SRV";
    ATMA = 34, "ATMA";
    NAPTR = 35, "NAPTR";
    KX = 36, "KX";
    CERT = 37, "CERT";
    A6 = 38, "A6";
    DNAME = 39, "DNAME";
    SINK = 40, "SINK";
    OPT = 41, "OPT";
    APL = 42, "APL";
    DS = 43, "DS";
    SSHFP = 44, "SSHFP";
    IPSECKEY = 45, "IPSECKEY";
    RRSIG = 46, "RRSIG";
    NSEC = 47, "NSEC";
    DNSKEY = 48, "DNSKEY";
    DHCID = 49, "DHCID";
    NSEC3 = 50, "NSEC3";
    NSEC3PARAM = 51, "NSEC3PARAM";
    TLSA = 52, "TLSA";
    SMIMEA = 53, "SMIMEA";
    HIP = 55, "HIP";
    NINFO = 56, "NINFO";
    RKEY = 57, "RKEY";
    TALINK = 58, "TALINK";
    CDS = 59, "CDS";
    CDNSKEY = 60, "CDNSKEY";
    OPENPGPKEY = 61, "OPENPGPKEY";
    CSYNC = 62, "CSYNC";
    ZONEMD = 63, "ZONEMD";
    SVCB = 64, "SVCB";
    HTTPS = 65, "HTTPS";
    DSYNC = 66, "DSYNC";
    HHIT = 67, "HHIT";
    BRID = 68, "BRID";
    SPF = 99, "SPF";
    UINFO = 100, "UINFO";
    UID = 101, "UID";
    GID = 102, "GID";
    UNSPEC = 103, "UNSPEC";
    NID = 104, "NID";
    L32 = 105, "L32";
    L64 = 106, "L64";
    LP = 107, "LP";
    EUI48 = 108, "EUI48";
    EUI64 = 109, "EUI64";
    TKEY = 249, "TKEY";
    TSIG = 250, "TSIG";
    IXFR = 251, "IXFR";
    AXFR = 252, "AXFR";
    MAILB = 253, "MAILB";
    MAILA = 254, "MAILA";
    ANY = 255, "ANY";
    URI = 256, "URI";
    CAA = 257, "CAA";
    AVC = 258, "AVC";
    DOA = 259, "DOA";
    AMTRELAY = 260, "AMTRELAY";
    RESINFO = 261, "RESINFO";
    WALLET = 262, "WALLET";
    TA = 32768, "TA";
    DLV = 32769, "DLV";
}

impl RType {
    /// Parses a mnemonic or RFC 3597 `TYPEnnn`, ignoring case.
    pub fn from_text(text: &[u8]) -> Option<RType> {
        // The types most records have, as most files spell them.
        match text {
            b"A" => return Some(RType::A),
            b"AAAA" => return Some(RType::AAAA),
            b"CNAME" => return Some(RType::CNAME),
            b"MX" => return Some(RType::MX),
            b"TXT" => return Some(RType::TXT),
            b"NS" => return Some(RType::NS),
            _ => {}
        }
        let mut buf = [0u8; 16];
        let upper = buf.get_mut(..text.len())?;
        for (d, s) in upper.iter_mut().zip(text) {
            *d = s.to_ascii_uppercase();
        }
        if let Some(t) = RType::from_mnemonic(upper) {
            return Some(t);
        }
        upper
            .strip_prefix(b"TYPE")
            .and_then(parse_u16_digits)
            .map(RType)
    }

    /// Meta and question-only types (RFC 6895 §3.1) cannot appear in a zone.
    pub fn is_meta(self) -> bool {
        matches!(self.0, 41 | 128..=255)
    }

    /// Position in the canonical output: SOA, then NS, then by number.
    pub fn order(self) -> u32 {
        match self {
            RType::SOA => 0,
            RType::NS => 1,
            RType(code) => 2 + u32::from(code),
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A record class (RFC 1035 §3.2.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Class(pub u16);

impl Class {
    /// The Internet class.
    pub const IN: Class = Class(1);
    /// Chaosnet.
    pub const CH: Class = Class(3);
    /// Hesiod.
    pub const HS: Class = Class(4);

    /// Parses `IN`, `CH`, `CHAOS`, `HS`, `HESIOD`, `NONE`, `ANY` or `CLASSnnn`, ignoring case.
    pub fn from_text(text: &[u8]) -> Option<Class> {
        if text == b"IN" {
            return Some(Class::IN);
        }
        let mut buf = [0u8; 16];
        let upper = buf.get_mut(..text.len())?;
        for (d, s) in upper.iter_mut().zip(text) {
            *d = s.to_ascii_uppercase();
        }
        match &*upper {
            b"IN" => Some(Class::IN),
            b"CH" | b"CHAOS" => Some(Class::CH),
            b"HS" | b"HESIOD" => Some(Class::HS),
            b"NONE" => Some(Class(254)),
            b"ANY" => Some(Class(255)),
            _ => upper
                .strip_prefix(b"CLASS")
                .and_then(parse_u16_digits)
                .map(Class),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("IN"),
            3 => f.write_str("CH"),
            4 => f.write_str("HS"),
            254 => f.write_str("NONE"),
            255 => f.write_str("ANY"),
            n => write!(f, "CLASS{n}"),
        }
    }
}

/// Parses 1–5 decimal digits as a `u16`.
pub fn parse_u16_digits(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics() {
        assert_eq!(RType::from_text(b"a"), Some(RType::A));
        assert_eq!(RType::from_text(b"Nsec3Param"), Some(RType::NSEC3PARAM));
        assert_eq!(RType::from_text(b"TYPE65280"), Some(RType(65280)));
        assert_eq!(RType::from_text(b"type1"), Some(RType::A));
        assert_eq!(RType::from_text(b"TYPE65536"), None);
        assert_eq!(RType::from_text(b"FOO"), None);
        assert_eq!(RType(65280).to_string(), "TYPE65280");
        assert_eq!(Class::from_text(b"in"), Some(Class::IN));
        assert_eq!(Class::from_text(b"CLASS1"), Some(Class::IN));
        assert_eq!(Class(7).to_string(), "CLASS7");
    }
}
