//! Typed RDATA: one field layout per type, shared by parser and renderer.
//!
//! RDATA is kept in uncompressed wire form (RFC 3597 §4), the form in which
//! records are compared, sorted and deduplicated (RFC 4034 §6.2–6.3). Each
//! known type is described by a list of fields; the parser turns
//! presentation text into wire bytes field by field and the renderer walks
//! the same list back, so one table defines both directions and a type
//! cannot be read one way and written another. Types whose presentation
//! does not fit a field list (LOC, SVCB, WKS, APL, …) have their own code in
//! the parser and renderer, named by [`Layout::Custom`]. Every other type is
//! carried in the RFC 3597 generic form `\# len hex`.

use std::cmp::Ordering;

use super::name;
use super::rtype::RType;

/// One field of a type's RDATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Unsigned 8-bit decimal.
    U8,
    /// Unsigned 16-bit decimal.
    U16,
    /// Unsigned 32-bit decimal.
    U32,
    /// 32-bit duration that also accepts TTL units (SOA timers).
    Duration,
    /// A domain name; `true` if RFC 4034 §6.2 lowercases it in canonical form.
    Name(bool),
    /// IPv4 address (RFC 1035 §3.4.1).
    Ipv4,
    /// IPv6 address (RFC 3596 §2.2).
    Ipv6,
    /// One `<character-string>` (RFC 1035 §3.3), at most 255 octets.
    CharString,
    /// One or more `<character-string>`s up to the end of the RDATA.
    CharStrings,
    /// Hex digits up to the end of the RDATA, whitespace allowed between, possibly empty.
    Hex,
    /// Hex digits up to the end, at least one octet.
    HexRequired,
    /// Hex with an 8-bit length prefix; `-` for empty (NSEC3 salt, RFC 5155 §3.3).
    HexSalt,
    /// Base32hex with an 8-bit length prefix (NSEC3 next hashed owner, RFC 5155 §3.3).
    Base32Hex,
    /// Base64 up to the end of the RDATA, whitespace allowed between (RFC 4648 §4).
    Base64,
    /// Base64 up to the end, possibly empty (KEY, DNSKEY with no key material).
    Base64Optional,
    /// NSEC-style type bitmap up to the end (RFC 4034 §4.1.2).
    TypeBitmap,
    /// NXT's flat bitmap of types 1-127 up to the end (RFC 2535 §5.2).
    NxtBitmap,
    /// A 16-bit type given as mnemonic (RRSIG type covered).
    Type,
    /// RRSIG/SIG time: `YYYYMMDDHHmmSS` or seconds (RFC 4034 §3.2).
    Time,
    /// SIG time: `YYYYMMDDHHmmSS` only (RFC 2535 §7.2).
    Date,
    /// An 8-bit number that may also be given by a mnemonic from the table
    /// (DNSSEC algorithms, digest types, key protocols, DSYNC schemes).
    Enum8(&'static [(u8, &'static str)]),
    /// DNSKEY/KEY flags: a number (decimal, `0x` hex or `0` octal, as C's
    /// `strtoul` reads it) or mnemonics joined by `|` (RFC 2535 §3.1.2).
    KeyFlags,
    /// CERT type number or mnemonic (RFC 4398 §2.1).
    CertType,
    /// The rest of the RDATA as one string without a length octet (CAA value, URI target).
    TextNoLength,
    /// The rest of the RDATA as one quoted string (URI target, RFC 7553 §4.4).
    QuotedText,
    /// A CAA tag: letters and digits, with an 8-bit length prefix (RFC 8659 §4.1).
    CaaTag,
    /// 48-bit EUI `xx-xx-xx-xx-xx-xx` (RFC 7043 §3.2).
    Eui48,
    /// 64-bit EUI `xx-xx-xx-xx-xx-xx-xx-xx` (RFC 7043 §4.2).
    Eui64,
    /// ILNP 64-bit locator/identifier `xxxx:xxxx:xxxx:xxxx` (RFC 6742 §2.1).
    Ilnp64,
}

/// DNSSEC algorithm mnemonics BIND 9.18 accepts (RFC 4034 Appendix A.1, RFC
/// 8624 §3.1); not the IANA registry's DSA-NSEC3-SHA1 and RSASHA1-NSEC3-SHA1,
/// which BIND refuses ("unknown class/type").
pub const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "NSEC3DSA"),
    (7, "NSEC3RSASHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECCGOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// DS digest type mnemonics (RFC 4034 §5.1.3, RFC 4509, RFC 6605).
pub const DIGEST_TYPES: &[(u8, &str)] = &[
    (1, "SHA-1"),
    (1, "SHA1"),
    (2, "SHA-256"),
    (2, "SHA256"),
    (3, "GOST"),
    (4, "SHA-384"),
    (4, "SHA384"),
];

/// KEY/DNSKEY protocol mnemonics (RFC 2535 §3.1.3).
pub const PROTOCOLS: &[(u8, &str)] = &[
    (0, "NONE"),
    (1, "TLS"),
    (2, "EMAIL"),
    (3, "DNSSEC"),
    (4, "IPSEC"),
    (255, "ALL"),
];

/// DSYNC scheme mnemonics (RFC 9859).
pub const DSYNC_SCHEMES: &[(u8, &str)] = &[(1, "NOTIFY")];

/// Digest length of a DS digest type BIND knows, in octets.
pub fn ds_digest_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(20),
        2 | 3 => Some(32),
        4 => Some(48),
        _ => None,
    }
}

/// Rules beyond the field syntax that BIND enforces on RDATA, whichever
/// way it was written (typed or RFC 3597). Returns what is wrong.
pub fn semantic_error(rtype: RType, rdata: &[u8]) -> Option<String> {
    match rtype {
        RType::DS | RType::CDS | RType::TA | RType::DLV => {
            let digest_type = *rdata.get(3)?;
            let want = ds_digest_len(digest_type)?;
            let got = rdata.len().saturating_sub(4);
            (got != want).then(|| {
                format!("digest type {digest_type} needs a {want}-octet digest, found {got} octets")
            })
        }
        // RFC 4034 Appendix style RKEY (draft-reid-dnsext-rkey): flags are reserved, zero.
        RType::RKEY if rdata.get(..2)? != [0, 0] => Some("RKEY flags must be 0".to_string()),
        RType::NSEC3 => {
            // RFC 5155 §3.2: SHA-1 (hash algorithm 1) hashes are 20 octets.
            let salt = *rdata.get(4)? as usize;
            let hash = *rdata.get(5 + salt)? as usize;
            (rdata[0] == 1 && hash != 20).then(|| {
                format!("an SHA-1 NSEC3 next hashed owner name is 20 octets, found {hash}")
            })
        }
        RType::KEY => {
            // RFC 2535 §3.1.2: "no key" flags (NOKEY, 0xC000) mean no key
            // material; BIND 9.18 refuses any after them, and a KEY
            // without them and without key material.
            let flags = u16::from_be_bytes([*rdata.first()?, *rdata.get(1)?]);
            match (flags & 0xC000 == 0xC000, rdata.len() > 4) {
                (true, true) => Some("a KEY with NOKEY flags has no key material".to_string()),
                (false, false) => Some(
                    "key material is missing (only a KEY with NOKEY flags omits it)".to_string(),
                ),
                _ => None,
            }
        }
        // RFC 4034 §2.1.4: a DNSKEY always has its key; BIND 9.18 refuses one
        // without, whatever its flags.
        RType::DNSKEY | RType::CDNSKEY | RType::RKEY => {
            (rdata.len() <= 4).then(|| "key material is missing".to_string())
        }
        RType::RRSIG => {
            // BIND 9.18 refuses an RRSIG whose signer name has more labels
            // than its Labels field counts ("out of range").
            let labels = *rdata.get(3)?;
            let signer = rdata.get(18..)?;
            let signer_labels = name::labels(signer).count();
            (signer_labels > usize::from(labels)).then(|| {
                format!("the signer name has {signer_labels} labels, more than the Labels field ({labels})")
            })
        }
        RType::ZONEMD => {
            // RFC 8976 §2.2.4: SHA384 and SHA512 digests have fixed lengths, and
            // no digest is shorter than 12 octets.
            let got = rdata.len().saturating_sub(6);
            let want = match *rdata.get(5)? {
                1 => Some(48),
                2 => Some(64),
                _ => None,
            };
            match want {
                Some(want) if got != want => Some(format!(
                    "hash algorithm {} needs a {want}-octet digest, found {got}",
                    rdata[5]
                )),
                None if got < 12 => Some(format!(
                    "a ZONEMD digest has at least 12 octets, found {got}"
                )),
                _ => None,
            }
        }
        RType::X25 => {
            // RFC 1183 §3.1: a PSDN address is at least four decimal digits.
            let address = rdata.get(1..)?;
            (address.len() < 4 || !address.iter().all(u8::is_ascii_digit))
                .then(|| "an X25 PSDN address is at least four decimal digits".to_string())
        }
        RType::SSHFP => {
            // RFC 4255 §3.1.2, RFC 6594: SHA-1 and SHA-256 fingerprints have fixed lengths.
            let want = match *rdata.get(1)? {
                1 => 20,
                2 => 32,
                _ => return None,
            };
            let got = rdata.len().saturating_sub(2);
            (got != want).then(|| {
                format!(
                    "fingerprint type {} needs {want} octets, found {got}",
                    rdata[1]
                )
            })
        }
        RType::NSEC
            if rdata
                .get(name::wire_len(rdata)?..)
                .is_some_and(<[u8]>::is_empty) =>
        {
            Some("NSEC needs at least one type in its type bitmap".to_string())
        }
        RType::NAPTR => naptr_regexp_error(rdata),
        _ => None,
    }
}

/// Rules BIND 9.18 enforces on RDATA read from the wire, and so on RDATA
/// in RFC 3597 form, but not on the same RDATA in its text form. Returns
/// what is wrong.
pub fn generic_form_error(rtype: RType, rdata: &[u8]) -> Option<String> {
    match rtype {
        // RFC 4034 Appendix A.1.1: the key of a PRIVATEDNS (253) key
        // starts with the domain name of its algorithm.
        RType::KEY | RType::DNSKEY | RType::CDNSKEY | RType::RKEY
            if rdata.get(3) == Some(&253) && name::wire_len(&rdata[4..]).is_none() =>
        {
            Some(
                "the key of algorithm 253 (PRIVATEDNS) does not start with a domain name"
                    .to_string(),
            )
        }
        _ => None,
    }
}

/// RFC 3123 §4 as BIND 9.18 reads APL RDATA from the wire: items of
/// family 1 (IPv4) and 2 (IPv6) in range, an address part of any family
/// without a trailing zero octet. A family it has no text form for is
/// loaded, and written in RFC 3597 form.
pub fn is_valid_apl(mut rdata: &[u8]) -> bool {
    while !rdata.is_empty() {
        let [f1, f2, prefix, len, rest @ ..] = rdata else {
            return false;
        };
        let len = usize::from(len & 0x7f);
        let in_range = match u16::from_be_bytes([*f1, *f2]) {
            1 => *prefix <= 32 && len <= 4,
            2 => *prefix <= 128 && len <= 16,
            _ => true,
        };
        let Some(address) = rest.get(..len) else {
            return false;
        };
        if !in_range || address.last() == Some(&0) {
            return false;
        }
        rdata = &rest[len..];
    }
    true
}

/// RFC 3403 §4.1: `delim ERE delim replacement delim [i]` with a
/// non-empty ERE, and the replacement may only refer to groups the
/// expression has.
fn naptr_regexp_error(rdata: &[u8]) -> Option<String> {
    let mut pos = 4;
    for _ in 0..2 {
        pos += 1 + *rdata.get(pos)? as usize;
    }
    let len = *rdata.get(pos)? as usize;
    let regexp = rdata.get(pos + 1..pos + 1 + len)?;
    if regexp.is_empty() {
        return None;
    }
    let bad = || {
        Some(
            "NAPTR regexp must be delim-char ERE delim-char replacement delim-char [i]".to_string(),
        )
    };
    let delim = regexp[0];
    // BIND 9.18 refuses a NUL anywhere in the regexp.
    if regexp.contains(&0) || delim.is_ascii_digit() || delim == b'\\' || delim == b'i' {
        return bad();
    }
    let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
    let mut k = 1;
    while k < regexp.len() {
        let c = regexp[k];
        if c == b'\\' && k + 1 < regexp.len() {
            let last = parts.last_mut()?;
            last.extend_from_slice(&regexp[k..k + 2]);
            k += 2;
            continue;
        }
        if c == delim {
            parts.push(Vec::new());
        } else {
            parts.last_mut()?.push(c);
        }
        k += 1;
    }
    // BIND 9.18 also refuses an empty expression (`!!x!`); the replacement
    // may be empty.
    if parts.len() != 3 || parts[0].is_empty() || !(parts[2].is_empty() || parts[2] == b"i") {
        return bad();
    }
    let groups = count_groups(&parts[0]);
    let mut k = 0;
    let replacement = &parts[1];
    while k + 1 < replacement.len() {
        if replacement[k] == b'\\' {
            let next = replacement[k + 1];
            if next.is_ascii_digit() && usize::from(next - b'0') > groups {
                return Some(format!(
                    "NAPTR replacement refers to group \\{} but the expression has {groups}",
                    next as char
                ));
            }
            k += 2;
        } else {
            k += 1;
        }
    }
    None
}

fn count_groups(ere: &[u8]) -> usize {
    let mut groups = 0;
    let mut k = 0;
    while k < ere.len() {
        match ere[k] {
            b'\\' => k += 1,
            b'(' => groups += 1,
            _ => {}
        }
        k += 1;
    }
    groups
}

/// How a type's RDATA is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A fixed list of fields.
    Fields(&'static [Field]),
    /// Handled by type-specific code.
    Custom,
    /// A known mnemonic whose RDATA has no presentation form but `\#`.
    GenericOnly,
    /// Not known to this program: RFC 3597 generic form only.
    Unknown,
}

use Field::*;

/// The layout of `rtype`.
pub fn layout(rtype: RType) -> Layout {
    const NAME: &[Field] = &[Name(true)];
    const PREF_NAME: &[Field] = &[U16, Name(true)];
    Layout::Fields(match rtype {
        RType::A => &[Ipv4],
        RType::NS
        | RType::MD
        | RType::MF
        | RType::CNAME
        | RType::MB
        | RType::MG
        | RType::MR
        | RType::PTR
        | RType::DNAME
        | RType::NSAP_PTR => NAME,
        RType::SOA => &[
            Name(true),
            Name(true),
            U32,
            Duration,
            Duration,
            Duration,
            Duration,
        ],
        RType::HINFO => &[CharString, CharString],
        RType::MINFO | RType::RP => &[Name(true), Name(true)],
        RType::TALINK => &[Name(false), Name(false)],
        RType::MX | RType::AFSDB | RType::RT | RType::KX => PREF_NAME,
        RType::TXT | RType::SPF | RType::AVC | RType::NINFO | RType::RESINFO | RType::WALLET => {
            &[CharStrings]
        }
        RType::X25 => &[CharString],
        RType::AAAA => &[Ipv6],
        RType::PX => &[U16, Name(true), Name(true)],
        RType::GPOS => &[CharString, CharString, CharString],
        RType::SRV => &[U16, U16, U16, Name(true)],
        RType::NAPTR => &[U16, U16, CharString, CharString, CharString, Name(true)],
        RType::DS | RType::CDS | RType::TA | RType::DLV => {
            &[U16, Enum8(ALGORITHMS), Enum8(DIGEST_TYPES), HexRequired]
        }
        // The fingerprint may be empty for types other than SHA-1 and SHA-256
        // (BIND loads `1 0`); their lengths are checked in `semantic_error`.
        RType::SSHFP => &[U8, U8, Hex],
        RType::RRSIG => &[
            Type,
            Enum8(ALGORITHMS),
            U8,
            U32,
            Time,
            Time,
            U16,
            Name(true),
            Base64,
        ],
        RType::SIG => &[
            Type,
            Enum8(ALGORITHMS),
            U8,
            U32,
            Date,
            Date,
            U16,
            Name(true),
            Base64,
        ],
        RType::NSEC => &[Name(false), TypeBitmap],
        RType::NXT => &[Name(true), NxtBitmap],
        RType::DNSKEY | RType::CDNSKEY | RType::KEY | RType::RKEY => &[
            KeyFlags,
            Enum8(PROTOCOLS),
            Enum8(ALGORITHMS),
            Base64Optional,
        ],
        RType::DHCID | RType::OPENPGPKEY | RType::HHIT | RType::BRID => &[Base64],
        RType::NSEC3 => &[U8, U8, U16, HexSalt, Base32Hex, TypeBitmap],
        RType::NSEC3PARAM => &[U8, U8, U16, HexSalt],
        RType::TLSA | RType::SMIMEA => &[U8, U8, U8, HexRequired],
        RType::CSYNC => &[U32, U16, TypeBitmap],
        RType::ZONEMD => &[U32, U8, U8, HexRequired],
        RType::CERT => &[CertType, U16, Enum8(ALGORITHMS), Base64],
        RType::EID | RType::NIMLOC => &[Hex],
        RType::SINK => &[U8, U8, U8, Base64Optional],
        RType::DSYNC => &[Type, Enum8(DSYNC_SCHEMES), U16, Name(false)],
        RType::NID | RType::L64 => &[U16, Ilnp64],
        RType::L32 => &[U16, Ipv4],
        RType::LP => &[U16, Name(false)],
        RType::EUI48 => &[Eui48],
        RType::EUI64 => &[Eui64],
        RType::URI => &[U16, U16, QuotedText],
        RType::CAA => &[U8, CaaTag, TextNoLength],
        RType::WKS
        | RType::LOC
        | RType::APL
        | RType::SVCB
        | RType::HTTPS
        | RType::IPSECKEY
        | RType::AMTRELAY
        | RType::HIP
        | RType::NSAP
        | RType::ISDN
        | RType::A6
        | RType::ATMA
        | RType::DOA => return Layout::Custom,
        // Known to BIND, but only in the RFC 3597 generic form.
        RType::NULL | RType::UNSPEC | RType::UINFO | RType::UID | RType::GID => {
            return Layout::GenericOnly;
        }
        _ => return Layout::Unknown,
    })
}

/// The domain-name fields inside `rdata`, as (offset, length) pairs, with
/// their canonical lowercasing flag. Used by checks and canonical compare.
/// Returns an empty list for types without names or with malformed data.
pub fn name_fields(rtype: RType, rdata: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    match layout(rtype) {
        Layout::Fields(fields) => {
            let mut pos = 0;
            for field in fields {
                let Some(width) = field_width(*field, &rdata[pos.min(rdata.len())..]) else {
                    return Vec::new();
                };
                if let Name(lower) = field {
                    out.push((pos, width, *lower));
                }
                pos += width;
                if pos > rdata.len() {
                    return Vec::new();
                }
            }
        }
        Layout::Custom if rtype == RType::SVCB || rtype == RType::HTTPS => {
            if let Some(len) = rdata.get(2..).and_then(name::wire_len) {
                out.push((2, len, false));
            }
        }
        _ => {}
    }
    out
}

/// Width in wire octets of the field that starts `rest`, for the fixed
/// part of a layout; fields that run to the end take all of `rest`.
fn field_width(field: Field, rest: &[u8]) -> Option<usize> {
    Some(match field {
        U8 | Enum8(_) => 1,
        U16 | Type | CertType | KeyFlags => 2,
        U32 | Duration | Time | Date | Ipv4 => 4,
        Ipv6 => 16,
        Eui48 => 6,
        Eui64 | Ilnp64 => 8,
        Name(_) => name::wire_len(rest)?,
        CharString | CaaTag | HexSalt | Base32Hex => 1 + *rest.first()? as usize,
        CharStrings | Hex | HexRequired | Base64 | Base64Optional | TypeBitmap | NxtBitmap
        | TextNoLength | QuotedText => rest.len(),
    })
}

/// Offset of the SERIAL field in SOA RDATA (after MNAME and RNAME,
/// RFC 1035 §3.3.13), if the RDATA is long enough to hold it.
pub fn soa_serial_offset(rdata: &[u8]) -> Option<usize> {
    let mname = name::wire_len(rdata)?;
    let at = mname + name::wire_len(rdata.get(mname..)?)?;
    (rdata.len() >= at + 4).then_some(at)
}

/// The type an RRSIG (or SIG) covers, which splits RRSIGs into one RRset
/// per covered type (RFC 4034 §3); 0 for every other type.
pub fn covered_type(rtype: RType, rdata: &[u8]) -> u16 {
    match (rtype, rdata) {
        (RType::RRSIG | RType::SIG, [a, b, ..]) => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// Compares two RDATA of one type in RFC 4034 §6.3 canonical order: as
/// octet strings, with the names listed in RFC 4034 §6.2 lowercased.
pub fn canonical_cmp(rtype: RType, a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let has_upper = |d: &[u8]| d.iter().any(u8::is_ascii_uppercase);
    if !(has_upper(a) || has_upper(b)) {
        return a.cmp(b);
    }
    let fields_a = name_fields(rtype, a);
    let fields_b = name_fields(rtype, b);
    if fields_a.is_empty() && fields_b.is_empty() {
        return a.cmp(b);
    }
    canonical_form(a, &fields_a).cmp(&canonical_form(b, &fields_b))
}

fn canonical_form(data: &[u8], names: &[(usize, usize, bool)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for &(off, len, lower) in names {
        if lower {
            out[off..off + len].make_ascii_lowercase();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_compare_ignores_name_case_only() {
        let a = b"\x00\x0a\x02MX\x07example\x00";
        let b = b"\x00\x0a\x02mx\x07example\x00";
        assert_eq!(canonical_cmp(RType::MX, a, b), Ordering::Equal);
        // TXT content is case-sensitive.
        assert_ne!(
            canonical_cmp(RType::TXT, b"\x01A", b"\x01a"),
            Ordering::Equal
        );
        // A records hold no names: 'A' and 'a' octets differ.
        assert_ne!(
            canonical_cmp(RType::A, b"A\x00\x00\x01", b"a\x00\x00\x01"),
            Ordering::Equal
        );
    }
}
