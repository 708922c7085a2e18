//! What clients send, checked and turned into the store's shape, and what
//! they get back. One notion of a valid record: values go through the
//! zone-file parser's RDATA layer (`parse::ValueParser`) and the
//! check-names rules named applies (`check::check_names`), and are stored
//! as the renderer writes them (`store::shape::value_text`), so nothing a
//! client sends reaches a zone file unescaped.
//!
//! The API's conventions, from the API document: names in values are
//! fully qualified with or without the final dot (`mail.example.com`), and
//! are shown without it; TXT values are plain text (split into 255-octet
//! strings when stored, joined when shown); MX and SRV carry `priority`
//! apart.

use std::borrow::Cow;

use crate::check::check_names;
use crate::parse::ValueParser;
use crate::parse::rdata::write_name;
use crate::render::rdata::write_quoted;
use crate::store::RecordWrite;
use crate::store::shape::{RecordRow, has_priority, value_text};
use crate::zone::domain::{self, Reserved};
use crate::zone::{Name, RType, name};

use super::error::ApiError;

/// TTL of a record when the client gives none.
pub const DEFAULT_TTL: u32 = 3600;

/// Largest TTL (RFC 2181 §8).
const MAX_TTL: i64 = 2_147_483_647;

/// CAA property tags in use (RFC 8659 §4, RFC 9495).
pub const CAA_TAGS: [&str; 7] = [
    "issue",
    "issuewild",
    "iodef",
    "contactemail",
    "contactphone",
    "issuemail",
    "issuevmc",
];

/// A record as a client describes it (all fields optional: PATCH merges
/// onto the stored record; POST and PUT require the first three).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// Type mnemonic.
    pub record_type: Option<String>,
    /// `@`, a relative name, or a name inside the zone with its final dot.
    pub name: Option<String>,
    /// The RDATA in the API's form.
    pub value: Option<String>,
    /// TTL in seconds.
    #[serde(default, deserialize_with = "super::whole_number")]
    pub ttl: Option<i64>,
    /// MX preference or SRV priority; `null` is the same as absent.
    #[serde(default, deserialize_with = "super::whole_number")]
    pub priority: Option<i64>,
}

/// A zone as a client creates it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    /// The domain name (IDN allowed).
    pub domain: Option<String>,
}

/// A zone name as clients give it, in its one canonical form (LDH labels,
/// A-labels, lowercase, without the final dot: [`domain::canonical`]).
pub fn domain(text: &str) -> Result<String, ApiError> {
    domain::canonical(text)
        .map_err(|why| ApiError::invalid("domain", format!("Invalid domain name '{text}': {why}")))
}

/// The name of a new zone: canonical, and not one of the names that
/// `reserved` keeps from every account.
pub fn new_domain(text: &str, reserved: &Reserved) -> Result<String, ApiError> {
    let canonical = domain(text)?;
    match reserved.refusal(&canonical) {
        Some(why) => Err(ApiError::invalid(
            "domain",
            format!("Reserved domain name '{text}': {why}"),
        )),
        None => Ok(canonical),
    }
}

/// A full record from a client, checked, in the store's shape. `apex` is
/// the zone's name in wire form; `default_ttl` is the TTL when the client
/// gives none and the record starts a new RRset (see
/// [`Store::write_record`](crate::store::Store::write_record)).
pub fn record(apex: &Name, input: &RecordInput, default_ttl: u32) -> Result<RecordWrite, ApiError> {
    let required = |field: &str, v: &Option<String>| -> Result<String, ApiError> {
        v.clone()
            .ok_or_else(|| ApiError::invalid(field, format!("{field} is required")))
    };
    let type_text = required("record_type", &input.record_type)?;
    let rtype = record_type(&type_text)?;
    let owner = owner(apex, &required("name", &input.name)?)?;
    let ttl_given = input.ttl.is_some();
    let ttl = ttl(input.ttl)?.unwrap_or(default_ttl);
    let priority = priority(rtype, input.priority)?;
    let value = required("value", &input.value)?;
    target_spelling(rtype, &value)?;
    let rdata = rdata(rtype, &value, priority)?;
    if let Some(problem) = check_names(rtype, &owner, &rdata).into_iter().next() {
        return Err(ApiError::invalid("value", problem));
    }
    host_targets(rtype, &rdata)?;
    let mut scratch = Vec::new();
    let (value, priority) = value_text(rtype, &rdata, &mut scratch);
    let mut name_text = Vec::new();
    name::write_text(&mut name_text, &owner, Some(apex.wire()));
    let row = RecordRow {
        name: String::from_utf8_lossy(&name_text).into_owned(),
        record_type: rtype.to_string(),
        value,
        ttl,
        priority,
    };
    Ok(RecordWrite { row, ttl_given })
}

/// An RRset's owner name and type as a batch names them (`name`,
/// `record_type`), in the store's spelling: checked like a record's.
pub fn rrset(
    apex: &Name,
    name: Option<&str>,
    record_type: Option<&str>,
) -> Result<(String, String), ApiError> {
    let required = |field: &str| ApiError::invalid(field, format!("{field} is required"));
    let rtype = record_type.ok_or_else(|| required("record_type"))?;
    let rtype = self::record_type(rtype)?;
    let owner = owner(apex, name.ok_or_else(|| required("name"))?)?;
    let mut name_text = Vec::new();
    name::write_text(&mut name_text, &owner, Some(apex.wire()));
    Ok((
        String::from_utf8_lossy(&name_text).into_owned(),
        rtype.to_string(),
    ))
}

fn record_type(text: &str) -> Result<RType, ApiError> {
    let rtype = RType::from_text(text.trim().as_bytes())
        .filter(|t| !t.is_meta())
        .ok_or_else(|| ApiError::invalid("record_type", format!("Unknown record type '{text}'")))?;
    if rtype == RType::SOA {
        return Err(ApiError::invalid(
            "record_type",
            "The SOA record is part of the zone, not an editable record",
        ));
    }
    Ok(rtype)
}

/// The owner in wire form, spelled with the zone's own apex. `@` is the
/// apex; a name that ends with the zone's name (with or without the final
/// dot) is that name; another name with a final dot is outside the zone;
/// any other name is relative to the zone (`www`, `_sip._tcp`), unless it
/// has three labels or more and its last is a top-level domain
/// (`www.other.test`), which reads as a name outside the zone rather than
/// as `www.other.test.<zone>`.
fn owner(apex: &Name, text: &str) -> Result<Vec<u8>, ApiError> {
    let bad =
        |why: String| ApiError::invalid("name", format!("Invalid record name '{text}': {why}"));
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let outside = || bad(format!("it is not inside the zone {apex}"));
    let mut wire = Vec::new();
    let absolute = text.ends_with('.') && !text.ends_with("\\.");
    if !absolute && text != "@" {
        // A full name without its final dot?
        let mut full = Vec::new();
        let as_full = write_name(format!("{text}.").as_bytes(), apex.wire(), &mut full);
        if as_full.is_ok() && name::relative_len(&full, apex.wire()).is_some() {
            wire = full;
        } else if let Some(tld) = top_level_label(text) {
            return Err(bad(format!(
                "it ends in the top-level domain '{tld}', so it reads as a name outside the \
                 zone {apex}; for a name inside it, write the full name (ending in {apex})"
            )));
        }
    }
    if wire.is_empty() {
        write_name(text.as_bytes(), apex.wire(), &mut wire).map_err(|e| bad(e.to_string()))?;
    }
    let Some(relative) = name::relative_len(&wire, apex.wire()) else {
        return Err(outside());
    };
    let labels_ok = name::labels(&wire[..relative])
        .enumerate()
        .all(|(i, label)| {
            (i == 0 && label == b"*")
                || (!label.is_empty()
                    && label
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        });
    if !labels_ok {
        return Err(bad(
            "use letters, digits, hyphens and underscores, and '*' only as a whole first label"
                .into(),
        ));
    }
    wire.truncate(relative);
    wire.extend_from_slice(apex.wire());
    Ok(wire)
}

/// The last label of a name of three labels or more, if it is a
/// top-level domain (one in the public suffix list, or a special-use one:
/// RFC 6761, RFC 9476, `internal`): such a name (`www.other.test`,
/// `mail.example.net`) is a full name, not one below the zone. Two labels
/// stay relative: `*.dev`, `mail.eu` and `api.app` are common names below
/// a zone.
fn top_level_label(text: &str) -> Option<&str> {
    if text.matches('.').count() < 2 {
        return None;
    }
    let (_, last) = text.rsplit_once('.')?;
    let special = [
        "test",
        "example",
        "invalid",
        "localhost",
        "local",
        "onion",
        "alt",
        "arpa",
        "internal",
    ];
    let known = special.iter().any(|s| s.eq_ignore_ascii_case(last)) || is_public_tld(last);
    known.then_some(last)
}

/// True if `label` is a top-level domain of the public suffix list.
fn is_public_tld(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    psl::suffix(lower.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == lower.as_bytes())
}

fn ttl(ttl: Option<i64>) -> Result<Option<u32>, ApiError> {
    match ttl {
        None => Ok(None),
        Some(t) if (1..=MAX_TTL).contains(&t) => Ok(Some(t as u32)),
        Some(t) => Err(ApiError::invalid(
            "ttl",
            format!("ttl must be between 1 and {MAX_TTL} seconds, not {t}"),
        )),
    }
}

fn priority(rtype: RType, priority: Option<i64>) -> Result<Option<u16>, ApiError> {
    match (has_priority(rtype), priority) {
        (true, None) => Err(ApiError::invalid(
            "priority",
            format!("{rtype} records require a priority value"),
        )),
        (true, Some(p)) => u16::try_from(p).map(Some).map_err(|_| {
            ApiError::invalid(
                "priority",
                format!("priority must be between 0 and 65535, not {p}"),
            )
        }),
        (false, None) => Ok(None),
        (false, Some(_)) => Err(ApiError::invalid(
            "priority",
            format!("{rtype} records take no priority (only MX and SRV do)"),
        )),
    }
}

/// The value in wire form. Names in it are fully qualified (the root is
/// the origin they are completed with); TXT and SPF take plain text.
fn rdata(rtype: RType, value: &str, priority: Option<u16>) -> Result<Vec<u8>, ApiError> {
    let bad = |why: String| ApiError::invalid("value", format!("Invalid {rtype} value: {why}"));
    let text = match (rtype, priority) {
        (RType::TXT | RType::SPF, _) if !value.trim_start().starts_with('"') => {
            quoted_strings(value.as_bytes())
        }
        (_, Some(p)) => format!("{p} {value}"),
        _ => value.to_string(),
    };
    if rtype == RType::CAA {
        let tag = value.split_whitespace().nth(1).unwrap_or_default();
        if !CAA_TAGS.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            return Err(bad(format!(
                "unknown CAA tag '{tag}' (known: {})",
                CAA_TAGS.join(", ")
            )));
        }
    }
    let mut wire = Vec::new();
    ValueParser::default()
        .parse(rtype, text.as_bytes(), Name::root().wire(), &mut wire)
        .map_err(bad)?;
    if wire.len() > usize::from(u16::MAX) {
        return Err(bad("longer than 65535 octets".into()));
    }
    Ok(wire)
}

/// Plain text as quoted character strings of at most 255 octets each
/// (RFC 1035 §3.3.14), every byte that could end a string or a line escaped.
fn quoted_strings(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len() + 8);
    if text.is_empty() {
        write_quoted(b"", &mut out);
    }
    for (i, chunk) in text.chunks(255).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_quoted(chunk, &mut out);
    }
    // The writer escapes every byte outside printable ASCII.
    String::from_utf8_lossy(&out).into_owned()
}

/// Names in values are full names, with or without the final dot; a
/// target of one label without a dot (`www`) is refused rather than read
/// as the top-level name `www.`, and so is an IPv4 address where a name
/// must be (`MX 10 192.0.2.1` would point at the name `192.0.2.1.`).
fn target_spelling(rtype: RType, value: &str) -> Result<(), ApiError> {
    let target = match rtype {
        RType::CNAME | RType::NS | RType::MX | RType::PTR | RType::DNAME => value.trim(),
        RType::SRV => value.split_whitespace().last().unwrap_or_default(),
        _ => return Ok(()),
    };
    let what = match rtype {
        RType::CNAME | RType::DNAME => "an alias target",
        RType::PTR => "a PTR target",
        _ => "a host name",
    };
    if target.parse::<std::net::IpAddr>().is_ok() {
        return Err(ApiError::invalid(
            "value",
            format!(
                "'{target}' is an IP address, but {rtype} needs {what}: give the address an \
                 A or AAAA record (e.g. mail.<zone>) and use that name here"
            ),
        ));
    }
    if !target.is_empty() && target != "." && target != "@" && !target.contains('.') {
        return Err(ApiError::invalid(
            "value",
            format!(
                "'{target}' has no dot: names in values are full names, so write \
                 '{target}.<zone>' for a name in this zone (e.g. {target}.example.com), or \
                 '{target}.' for the top-level name itself"
            ),
        ));
    }
    Ok(())
}

/// CNAME, NS, MX and SRV point at host names (RFC 1123 §2.1); an SRV
/// target of `.` means "no service" (RFC 2782).
fn host_targets(rtype: RType, rdata: &[u8]) -> Result<(), ApiError> {
    let target = match rtype {
        RType::CNAME | RType::NS => rdata,
        RType::MX => rdata.get(2..).unwrap_or_default(),
        RType::SRV => rdata.get(6..).unwrap_or_default(),
        _ => return Ok(()),
    };
    if target == [0] && rtype == RType::SRV {
        return Ok(());
    }
    match name::is_hostname(target, false) && target != [0] {
        true => Ok(()),
        false => Err(ApiError::invalid(
            "value",
            format!(
                "{rtype} target '{}' is not a host name",
                name::to_text(target)
            ),
        )),
    }
}

/// A stored value as the API shows it: names without the final dot, TXT
/// as its plain text where that text reads back as the same strings (see
/// [`txt_shown`]).
pub fn shown_value<'a>(record_type: &str, value: &'a str) -> Cow<'a, str> {
    let trim = |s: &'a str| -> &'a str {
        match s.strip_suffix('.') {
            Some(t) if !t.is_empty() && !t.ends_with('\\') => t,
            _ => s,
        }
    };
    match record_type {
        "CNAME" | "NS" | "MX" | "PTR" | "DNAME" => Cow::Borrowed(trim(value)),
        "SRV" => match value.rsplit_once(' ') {
            Some((head, target)) => Cow::Owned(format!("{head} {}", trim(target))),
            None => Cow::Borrowed(value),
        },
        "TXT" | "SPF" => txt_shown(value),
        _ => Cow::Borrowed(value),
    }
}

/// A TXT (or SPF) value as the API shows it. Plain text when sending that
/// text back gives the same character strings: one string, or strings
/// that were split at 255 octets (as the API splits long text), of valid
/// UTF-8 that does not start with a quote. Otherwise the presentation
/// form, every string quoted (`"txtvers=1" "rp=printers/office"`), which
/// the API also reads back as it is: so a value shown can always be sent
/// back unchanged, and multi-string records keep their strings.
fn txt_shown(value: &str) -> Cow<'_, str> {
    // One quoted string with nothing escaped is its own text.
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))
        && !inner.contains(['"', '\\'])
    {
        return Cow::Borrowed(inner);
    }
    let mut wire = Vec::new();
    let parsed =
        ValueParser::default().parse(RType::TXT, value.as_bytes(), Name::root().wire(), &mut wire);
    if parsed.is_err() {
        return Cow::Borrowed(value);
    }
    let mut text = Vec::with_capacity(wire.len());
    let mut at = 0;
    let mut split_at_255 = true;
    while let Some(&len) = wire.get(at) {
        let end = (at + 1 + len as usize).min(wire.len());
        if end < wire.len() && len != 255 {
            split_at_255 = false;
        }
        text.extend_from_slice(&wire[at + 1..end]);
        at = end;
    }
    match String::from_utf8(text) {
        Ok(text) if split_at_255 && !text.starts_with('"') => Cow::Owned(text),
        _ => Cow::Borrowed(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apex() -> Name {
        Name::from_ascii("example.com.").unwrap()
    }

    fn rec(input: &RecordInput) -> Result<RecordRow, ApiError> {
        record(&apex(), input, DEFAULT_TTL).map(|w| w.row)
    }

    fn input(t: &str, name: &str, value: &str, priority: Option<i64>) -> RecordInput {
        RecordInput {
            record_type: Some(t.into()),
            name: Some(name.into()),
            value: Some(value.into()),
            ttl: None,
            priority,
        }
    }

    #[test]
    fn records_in_the_api_form_become_rows() {
        let row = rec(&input("MX", "@", "mail.example.com", Some(10))).unwrap();
        assert_eq!(
            (row.name.as_str(), row.value.as_str(), row.priority, row.ttl),
            ("@", "mail.example.com.", Some(10), 3600)
        );
        assert_eq!(
            shown_value(&row.record_type, &row.value),
            "mail.example.com"
        );
        let row = rec(&input("AAAA", "www", "2001:0db8::1", None)).unwrap();
        assert_eq!(row.value, "2001:db8::1");
        let row = rec(&input("TXT", "www.example.com.", "v=spf1 \"x\" ~all", None)).unwrap();
        assert_eq!(row.name, "www");
        assert_eq!(row.value, "\"v=spf1 \\\"x\\\" ~all\"");
        assert_eq!(
            shown_value(&row.record_type, &row.value),
            "v=spf1 \"x\" ~all"
        );
        let long = "a".repeat(300);
        let row = rec(&input("TXT", "@", &long, None)).unwrap();
        assert_eq!(row.value.matches('"').count(), 4, "two strings");
        assert_eq!(shown_value(&row.record_type, &row.value), long);
        let row = rec(&input(
            "SRV",
            "_sip._udp",
            "5 5060 sip.example.com",
            Some(0),
        ))
        .unwrap();
        assert_eq!(
            shown_value(&row.record_type, &row.value),
            "5 5060 sip.example.com"
        );
        assert!(rec(&input("CAA", "@", "0 issue \"letsencrypt.org\"", None)).is_ok());
        assert!(rec(&input("A", "*.dev", "192.0.2.1", None)).is_ok());
        assert!(rec(&input("TXT", "_dmarc", "v=DMARC1", None)).is_ok());
        assert!(rec(&input("A", "a\\ b", "192.0.2.1", None)).is_err());
        assert!(rec(&input("A", "a.*", "192.0.2.1", None)).is_err());
    }

    #[test]
    fn bad_records_name_the_field() {
        for (bad, field) in [
            (input("A", "www", "192.0.2.256", None), "value"),
            (input("A", "www.example.net.", "192.0.2.1", None), "name"),
            (input("A", "www", "192.0.2.1", Some(1)), "priority"),
            (input("MX", "@", "mail.example.com", None), "priority"),
            (
                input("MX", "@", "mail.example.com", Some(70000)),
                "priority",
            ),
            (input("SOA", "@", "a b 1 2 3 4 5", None), "record_type"),
            (input("BOGUS", "@", "x", None), "record_type"),
            (input("CAA", "@", "0 bogus \"x\"", None), "value"),
            (
                input("CNAME", "www", "not_a_host.example.com", None),
                "value",
            ),
            (input("A", "www", "192.0.2.1\n@ A 6.6.6.6", None), "value"),
            (input("A", "www", "192.0.2.1 ; x", None), "value"),
            (input("TXT", "www", "\"a\" ( \"b\" )", None), "value"),
        ] {
            let err = rec(&bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{bad:?}: {err:?}");
        }
        let mut zero = input("A", "www", "192.0.2.1", None);
        zero.ttl = Some(0);
        assert_eq!(rec(&zero).unwrap_err().field.as_deref(), Some("ttl"));
    }

    #[test]
    fn domains_are_checked_and_idn_becomes_a_labels() {
        assert_eq!(domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(domain("bücher.example").unwrap(), "xn--bcher-kva.example");
        for bad in [
            "",
            "com",
            "-a.example",
            "a..example",
            "a_b.example",
            &"a".repeat(64),
            "goo\\d.example",
            "b\\ob.example",
        ] {
            let err = domain(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("domain"), "{bad}");
        }
    }

    #[test]
    fn new_zones_may_not_take_reserved_names() {
        let nameservers = ["ns1.vps.org.".to_string()];
        let reserved = Reserved {
            nameservers: &nameservers,
            catalog: None,
            allowed: &[],
        };
        assert_eq!(
            new_domain("BOB.example.", &reserved).unwrap(),
            "bob.example"
        );
        for bad in ["co.uk", "vps.org", "1.2.3.4", "home.arpa", "b\\ob.example"] {
            let err = new_domain(bad, &reserved).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("domain"), "{bad}");
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
