//! Zone names as the API and the CLI take them: one canonical spelling and
//! the names no account may hold.
//!
//! [`canonical`] is the only way from a client's text to a stored zone name:
//! letters, digits and hyphens in dot-separated labels (RFC 1123 §2.1),
//! IDN through UTS 46 to A-labels, lowercase, without the final dot. No
//! escapes: `goo\d.example` is refused, not read as `good.example`, so the
//! text that is stored, compared, named in the include file and listed in
//! the catalog is the name named serves.
//!
//! [`Reserved`] says which canonical names nobody may host here: public
//! suffixes, IP-address-shaped names, special-use names, the reverse trees
//! themselves, anything at or above the nameservers every zone gets, and
//! the catalog zone's names.

/// Longest zone name in presentation form without the final dot: 255
/// octets in wire form (RFC 1035 §2.3.4).
pub const MAX_LEN: usize = 253;

/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

/// Special-use names (RFC 6761 registry) that are never delegated in the
/// public DNS, with the RFC that reserves them. `test` and `example` are
/// special-use too but stay allowed: operators test with them.
const SPECIAL_USE: [(&str, &str); 6] = [
    ("localhost", "RFC 6761"),
    ("invalid", "RFC 6761"),
    ("local", "RFC 6762, multicast DNS"),
    ("onion", "RFC 7686, Tor"),
    ("alt", "RFC 9476"),
    ("home.arpa", "RFC 8375, home networks"),
];

/// The reverse trees: zones are a network's part of them, never the tree.
const REVERSE: [&str; 2] = ["in-addr.arpa", "ip6.arpa"];

/// Why a text is not a zone name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Nothing but perhaps a final dot.
    #[error("it is empty")]
    Empty,
    /// A character outside letters, digits, hyphens and dots.
    #[error(
        "{0:?} is not allowed: a zone name is letters, digits and hyphens in labels separated by dots"
    )]
    Character(char),
    /// UTS 46 refuses the name.
    #[error("not a valid internationalised name")]
    Idna,
    /// Two dots in a row, or a leading dot.
    #[error("it has an empty label")]
    EmptyLabel,
    /// A label over 63 characters.
    #[error("the label '{0}' is longer than 63 characters")]
    LongLabel(String),
    /// A label starting or ending with a hyphen.
    #[error("the label '{0}' starts or ends with a hyphen")]
    Hyphen(String),
    /// Over [`MAX_LEN`].
    #[error("it is {0} characters long, over 253 (255 octets in wire form)")]
    TooLong(usize),
    /// A top-level domain alone.
    #[error("a zone needs at least two labels (example.com)")]
    OneLabel,
}

/// `text` as a zone name in its one canonical form: LDH labels, IDN as
/// A-labels, lowercase, without the final dot (`Bücher.Example.` →
/// `xn--bcher-kva.example`).
pub fn canonical(text: &str) -> Result<String, DomainError> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    if trimmed.is_empty() {
        return Err(DomainError::Empty);
    }
    // Checked before UTS 46, which would pass some ASCII punctuation
    // (a backslash among them) through unchanged.
    if let Some(c) = trimmed.chars().find(|c| c.is_ascii() && !is_ldh_or_dot(*c)) {
        return Err(DomainError::Character(c));
    }
    let ascii = idna::domain_to_ascii_cow(trimmed.as_bytes(), idna::AsciiDenyList::STD3)
        .map_err(|_| DomainError::Idna)?
        .to_ascii_lowercase();
    // UTS 46 maps some characters to others (`。` to `.`): the result is
    // checked again, as what is stored.
    if let Some(c) = ascii.chars().find(|c| !is_ldh_or_dot(*c)) {
        return Err(DomainError::Character(c));
    }
    let mut labels = 0;
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(DomainError::EmptyLabel);
        }
        if label.len() > MAX_LABEL {
            return Err(DomainError::LongLabel(label.to_string()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DomainError::Hyphen(label.to_string()));
        }
        labels += 1;
    }
    if ascii.len() > MAX_LEN {
        return Err(DomainError::TooLong(ascii.len()));
    }
    if labels < 2 {
        return Err(DomainError::OneLabel);
    }
    Ok(ascii)
}

fn is_ldh_or_dot(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// True when `name` is `ancestor` or below it (both canonical).
fn at_or_under(name: &str, ancestor: &str) -> bool {
    name == ancestor
        || name
            .strip_suffix(ancestor)
            .is_some_and(|head| head.ends_with('.'))
}

/// The names that no account may take, beside the rules every name obeys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reserved<'a> {
    /// The nameservers every new zone gets (absolute or not, any case).
    pub nameservers: &'a [String],
    /// The catalog zone's name, when there is one.
    pub catalog: Option<&'a str>,
    /// Names the operator allows despite the rules below (canonical),
    /// except the catalog zone and the names under it.
    pub allowed: &'a [String],
}

impl Reserved<'_> {
    /// Why the canonical name `domain` may not be hosted, if it may not.
    pub fn refusal(&self, domain: &str) -> Option<String> {
        let catalog = self
            .catalog
            .map(|c| c.trim_end_matches('.').to_ascii_lowercase());
        if let Some(catalog) = &catalog
            && at_or_under(domain, catalog)
        {
            return Some(format!(
                "{domain} is the catalog zone {catalog}, or a name under it: that zone lists \
                 the zones for the secondaries"
            ));
        }
        if self.allowed.iter().any(|a| a == domain) {
            return None;
        }
        let last = domain.rsplit('.').next().unwrap_or(domain);
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!(
                "{domain} has an all-numeric last label, so it reads as an IP address, not a \
                 domain (RFC 3696 §2); a reverse zone is named under in-addr.arpa"
            ));
        }
        if let Some((name, rfc)) = SPECIAL_USE.iter().find(|(s, _)| at_or_under(domain, s)) {
            return Some(format!(
                "{name} and the names under it are special-use ({rfc}), never delegated in the \
                 public DNS"
            ));
        }
        if REVERSE.contains(&domain) {
            return Some(format!(
                "{domain} is the whole reverse tree; a reverse zone is one network's part of it, \
                 such as 2.0.192.in-addr.arpa or 8.b.d.0.1.0.0.2.ip6.arpa"
            ));
        }
        if at_or_under(domain, "arpa") && !REVERSE.iter().any(|r| at_or_under(domain, r)) {
            return Some(format!(
                "{domain} is under arpa, the infrastructure domain: only reverse zones (under \
                 in-addr.arpa or ip6.arpa) can be hosted there"
            ));
        }
        if psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known() && s == domain.as_bytes()) {
            return Some(format!(
                "{domain} is a public suffix (Public Suffix List): names are registered under it \
                 by different owners, so no single account may hold it"
            ));
        }
        for ns in self.nameservers {
            let ns = ns.trim_end_matches('.').to_ascii_lowercase();
            if at_or_under(&ns, domain) {
                return Some(format!(
                    "{domain} is at or above {ns}, a nameserver of every zone here: its owner \
                     could change where {ns} points for everyone"
                ));
            }
        }
        if let Some(catalog) = &catalog
            && at_or_under(catalog, domain)
        {
            return Some(format!(
                "{domain} is above the catalog zone {catalog}, which lists the zones for the \
                 secondaries"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_one_canonical_spelling() {
        for (text, canonical_form) in [
            ("example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("BOB.example.", "bob.example"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.example", "a-b.example"),
            ("2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa"),
        ] {
            assert_eq!(canonical(text).as_deref(), Ok(canonical_form), "{text}");
        }
    }

    #[test]
    fn anything_but_ldh_labels_is_refused() {
        let long_label = format!("{}.example", "a".repeat(64));
        // 253 characters, then 254 (in wire form 255, then 256 octets).
        let labels = format!("{}.example", vec!["a".repeat(60); 4].join("."));
        let fits = format!("ab{labels}");
        let too_long = format!("abc{labels}");
        assert_eq!(canonical(&fits).map(|n| n.len()), Ok(253));
        for (bad, error) in [
            ("", DomainError::Empty),
            (".", DomainError::Empty),
            ("goo\\d.example", DomainError::Character('\\')),
            ("b\\ob.example", DomainError::Character('\\')),
            ("goo\\100d.example", DomainError::Character('\\')),
            ("a_b.example", DomainError::Character('_')),
            ("*.example", DomainError::Character('*')),
            ("a b.example", DomainError::Character(' ')),
            ("evil.example\n$INCLUDE", DomainError::Character('\n')),
            ("a\"b.example", DomainError::Character('"')),
            ("a/b.example", DomainError::Character('/')),
            ("a..example", DomainError::EmptyLabel),
            (".example", DomainError::EmptyLabel),
            ("-a.example", DomainError::Hyphen("-a".into())),
            ("a-.example", DomainError::Hyphen("a-".into())),
            (&long_label, DomainError::LongLabel("a".repeat(64))),
            (&too_long, DomainError::TooLong(254)),
            ("com", DomainError::OneLabel),
            ("com.", DomainError::OneLabel),
        ] {
            assert_eq!(canonical(bad), Err(error), "{bad:?}");
        }
        assert!(canonical("a\u{0}b.example").is_err());
        assert!(canonical("xn--zz.example").is_err());
        assert!(
            canonical("a\u{ff3c}b.example").is_err(),
            "fullwidth backslash"
        );
    }

    fn refused(reserved: &Reserved, domain: &str) -> Option<String> {
        reserved.refusal(&canonical(domain).unwrap())
    }

    #[test]
    fn nobody_may_hold_suffixes_special_names_or_the_infrastructure() {
        let nameservers = ["ns1.vps.org.".to_string(), "NS2.vps.org".to_string()];
        let reserved = Reserved {
            nameservers: &nameservers,
            catalog: Some("catalog.bindbridge.vps.org."),
            allowed: &[],
        };
        for (domain, why) in [
            ("co.uk", "public suffix"),
            ("github.io", "public suffix"),
            ("CO.UK.", "public suffix"),
            ("in-addr.arpa", "reverse tree"),
            ("ip6.arpa", "reverse tree"),
            ("e164.arpa", "infrastructure"),
            ("home.arpa", "special-use"),
            ("printer.home.arpa", "special-use"),
            ("foo.localhost", "special-use"),
            ("x.invalid", "special-use"),
            ("printer.local", "special-use"),
            ("abc.onion", "special-use"),
            ("x.alt", "special-use"),
            ("1.2.3.4", "IP address"),
            ("foo.123", "IP address"),
            ("vps.org", "nameserver"),
            ("ns1.vps.org", "nameserver"),
            ("ns2.vps.org", "nameserver"),
            ("catalog.bindbridge.vps.org", "catalog"),
            ("zones.catalog.bindbridge.vps.org", "catalog"),
            ("bindbridge.vps.org", "above the catalog"),
        ] {
            let why_not = refused(&reserved, domain);
            assert!(
                why_not.as_deref().is_some_and(|w| w.contains(why)),
                "{domain}: {why_not:?}"
            );
        }
        for domain in [
            "example.com",
            "bob.example",
            "valid.example",
            "x.test",
            "alice.github.io",
            "example.co.uk",
            "other.org",
            "www.vps.org",
            "x.ns1.vps.org",
            "2.0.192.in-addr.arpa",
            "0-25.2.0.192.in-addr.arpa",
            "8.b.d.0.1.0.0.2.ip6.arpa",
            "1.2.3.4.example",
        ] {
            assert_eq!(refused(&reserved, domain), None, "{domain}");
        }
    }

    #[test]
    fn an_operator_may_allow_a_reserved_name_but_never_the_catalog() {
        let nameservers = ["ns1.vps.org.".to_string()];
        let allowed = [
            "vps.org".to_string(),
            "co.uk".to_string(),
            "catalog.vps.org".to_string(),
        ];
        let reserved = Reserved {
            nameservers: &nameservers,
            catalog: Some("catalog.vps.org"),
            allowed: &allowed,
        };
        assert_eq!(refused(&reserved, "vps.org"), None);
        assert_eq!(refused(&reserved, "co.uk"), None);
        assert!(refused(&reserved, "ns1.vps.org").is_some());
        assert!(refused(&reserved, "catalog.vps.org").is_some());
    }
}
