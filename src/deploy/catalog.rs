//! The catalog zone (RFC 9432, version 2): the list of every zone named
//! serves, which a secondary configured with `catalog-zones` follows to
//! add and drop zones without any change to its own configuration.
//!
//! It is made as master-file text and goes through the one parser and the
//! one renderer, so its file is as canonical as any zone's, and the deploy
//! worker proves it like any zone (named-checkzone, swap, reload, serial).

use std::collections::BTreeMap;

use crate::parse::{NoIncludes, Options, parse_zone};
use crate::render::order;
use crate::store::shape::absolute_domain;
use crate::zone::{Class, Name, Zone};

/// The member label of a zone: its uuid's 32 hex digits. It is stable for
/// the zone's life, and a zone deleted and created again under the same
/// name has a new one, which tells secondaries to start it afresh instead
/// of keeping the old zone's data (RFC 9432 §5.4).
pub fn member_label(uuid: &str) -> String {
    uuid.chars().filter(char::is_ascii_hexdigit).collect()
}

/// The catalog zone `origin` with `serial`, listing `members` (member
/// label → zone domain, without the final dot; `.` for the root).
///
/// Everything has TTL 0 (the RFC's advice: the zone is data for
/// secondaries, not for resolvers); the SOA has a short refresh so that a
/// secondary that missed a NOTIFY catches up within a minute.
pub fn catalog_zone(
    origin: &Name,
    serial: u32,
    members: &BTreeMap<String, String>,
) -> Result<Zone, String> {
    let mut text = format!(
        "$ORIGIN {origin}\n$TTL 0\n\
         @ SOA invalid. invalid. {serial} 60 30 2419200 0\n\
         @ NS invalid.\n\
         version TXT \"2\"\n"
    );
    for (label, domain) in members {
        text.push_str(&format!("{label}.zones PTR {}\n", absolute_domain(domain)));
    }
    let parsed = parse_zone(text.as_bytes(), &options(origin), &mut NoIncludes);
    if let Some(error) = parsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("the catalog zone cannot be made: {error}"));
    }
    let mut zone = parsed.zone;
    order::sort(&mut zone);
    Ok(zone)
}

/// The SOA serial of a catalog file written by bindbridge, if it has one.
pub fn file_serial(text: &[u8], origin: &Name) -> Option<u32> {
    parse_zone(text, &options(origin), &mut NoIncludes)
        .zone
        .soa_serial()
}

/// How the catalog of `origin` is parsed.
fn options(origin: &Name) -> Options {
    Options {
        origin: origin.clone(),
        class: Class::IN,
        file_name: format!("catalog zone {origin}"),
        source_key: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Template, render_to_vec};

    #[test]
    fn members_are_ptr_records_under_zones_with_their_uuid_as_label() {
        let origin = Name::from_ascii("catalog.bindbridge.invalid.").unwrap();
        let label = member_label("0191b2c3-d4e5-7f60-8a9b-0c1d2e3f4a5b");
        assert_eq!(label, "0191b2c3d4e57f608a9b0c1d2e3f4a5b");
        let members = BTreeMap::from([
            (label.clone(), "example.com".to_string()),
            ("00aa".to_string(), ".".to_string()),
        ]);
        let zone = catalog_zone(&origin, 2026112701, &members).unwrap();
        let bytes = render_to_vec(&zone, &Template::builtin()).unwrap();
        assert_eq!(file_serial(&bytes, &origin), Some(2026112701));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("2026112701"), "{text}");
        assert!(text.contains("\"2\""), "{text}");
        let ptrs: Vec<&str> = text.lines().filter(|l| l.contains("PTR")).collect();
        assert_eq!(ptrs.len(), 2, "{text}");
        assert!(
            ptrs[0].starts_with("00aa.zones") && ptrs[0].ends_with(" ."),
            "{text}"
        );
        assert!(
            ptrs[1].starts_with(&format!("{label}.zones")) && ptrs[1].ends_with("example.com."),
            "{text}"
        );
    }

    #[test]
    fn a_member_that_is_no_name_is_an_error() {
        let origin = Name::from_ascii("catalog.invalid.").unwrap();
        let members = BTreeMap::from([("aa".to_string(), "bad..name".to_string())]);
        let Err(err) = catalog_zone(&origin, 1, &members) else {
            panic!("a catalog with a bad member was made");
        };
        assert!(err.contains("catalog zone"), "{err}");
    }
}
