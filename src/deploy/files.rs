//! The files named reads: zone files and the zones include file, each
//! replaced whole through [`crate::atomic`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::Secondary;
use crate::store::shape::{absolute_domain, stored_domain};

/// The longest zone file name that is the domain itself: room is left
/// under the file system's 255 bytes for what is put after it (`.jnl` of
/// named's journal, `.last-good`, named's own temporary suffixes).
const PLAIN_NAME_MAX: usize = 200;
/// How much of the domain a longer name keeps, for people to read.
const READABLE_PREFIX: usize = 100;

/// The zone file of `domain` in `zone_dir`: the domain in lower case with
/// `.zone` (`root.zone` for the root); bytes other than letters, digits,
/// `-`, `_` and inner dots are written `%XX`, so that no name can reach
/// outside the directory or collide with another.
///
/// That name is bounded, whatever the domain: past [`PLAIN_NAME_MAX`]
/// bytes it is the first [`READABLE_PREFIX`] bytes, `+` and 32 hex digits
/// of the SHA-256 of the lower-case domain. `+` is never in the plain form
/// (it is written `%2B` there), so the two forms never collide either. The
/// domain itself stays in the include file's zone statement and in the
/// file's `$ORIGIN`.
pub fn zone_file(zone_dir: &Path, domain: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let lower = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut name = String::new();
    if domain == "." {
        name.push_str("root");
    }
    // Where each byte's encoding starts: a prefix is cut only there.
    let mut starts = Vec::new();
    for b in lower.bytes() {
        starts.push(name.len());
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => name.push(char::from(b)),
            b'.' if !name.is_empty() => name.push('.'),
            _ => name.push_str(&format!("%{b:02X}")),
        }
    }
    if name.len() + ".zone".len() > PLAIN_NAME_MAX {
        let cut = starts
            .into_iter()
            .rfind(|&at| at <= READABLE_PREFIX)
            .unwrap_or(0);
        let digest = Sha256::digest(lower.as_bytes());
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        name = format!("{}+{hash}", &name[..cut]);
    }
    zone_dir.join(format!("{name}.zone"))
}

/// A zone name or path as a named.conf string: quoted, with `\` and `"`
/// escaped.
fn conf_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// How the primary's zones reach the secondaries: what every zone
/// statement of the include file says besides its name and file.
#[derive(Debug, Clone, Default)]
pub struct Replication<'a> {
    /// The secondaries to notify and let transfer.
    pub secondaries: &'a [Secondary],
    /// The file of their TSIG keys, included before the zones.
    pub key_file: Option<&'a Path>,
}

impl Replication<'_> {
    /// The options of every zone statement: NOTIFY to the secondaries only
    /// (`notify explicit`: the zone's NS may name hosts that are no
    /// secondary of ours) and at once (named's default holds back a NOTIFY
    /// that comes within 5 s of the last, and bindbridge's deploys are
    /// batched already), transfers to them only, and IXFR computed from
    /// each new file. Without secondaries, named's own defaults.
    fn zone_options(&self) -> String {
        if self.secondaries.is_empty() {
            return String::new();
        }
        let mut notify = String::new();
        let mut transfer = String::new();
        for s in self.secondaries {
            notify.push_str(&format!("{} port {}", s.address, s.port));
            match &s.key {
                Some(key) => {
                    notify.push_str(&format!(" key {}", conf_string(key)));
                    transfer.push_str(&format!("key {}; ", conf_string(key)));
                }
                None => transfer.push_str(&format!("{}; ", s.address)),
            }
            notify.push_str("; ");
        }
        format!(
            " notify explicit; notify-delay 0; also-notify {{ {notify}}}; allow-transfer {{ {transfer}}}; ixfr-from-differences yes;"
        )
    }
}

/// A zone name as named.conf writes it: absolute, quoted.
fn conf_zone(domain: &str) -> String {
    conf_string(&absolute_domain(domain))
}

/// A configuration for `named-checkconf -z` that loads each `(origin,
/// file)` as named would load it: a primary of class IN with named's
/// default checks.
pub fn checkconf_text(zones: &[(&str, &Path)]) -> String {
    zones
        .iter()
        .map(|(origin, file)| {
            format!(
                "zone {} IN {{ type primary; file {}; }};\n",
                conf_string(origin),
                conf_string(&file.to_string_lossy())
            )
        })
        .collect()
}

/// The zones include file: the key file's `include`, then one `zone`
/// statement per line, primary, in class IN: the catalog zone's first if
/// given, then one for each `(domain, file)`. Domains as the store spells
/// them (`example.com`, `.` for the root).
pub fn include_text(
    zones: &[(String, PathBuf)],
    catalog: Option<(&str, &Path)>,
    replication: &Replication,
) -> String {
    let mut text = String::from(
        "# Written by bindbridge, which rewrites it whole: edits here are lost.\n\
         # named.conf includes it; one zone statement per zone bindbridge serves.\n",
    );
    if let Some(keys) = replication.key_file {
        text.push_str(&format!(
            "include {};\n",
            conf_string(&keys.to_string_lossy())
        ));
    }
    let options = replication.zone_options();
    let catalog = catalog.map(|(name, file)| (name.to_string(), file.to_path_buf()));
    for (domain, file) in catalog.iter().chain(zones) {
        text.push_str(&format!(
            "zone {} IN {{ type primary; file {};{options} }};\n",
            conf_zone(domain),
            conf_string(&file.to_string_lossy())
        ));
    }
    text
}

/// The names of the `key` statements of a key file (as tsig-keygen
/// writes them: `key "NAME" {`).
pub fn key_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("key "))
        .filter_map(|rest| {
            let rest = rest.trim_start();
            let name = match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next()?,
                None => rest.split(|c: char| c.is_whitespace() || c == '{').next()?,
            };
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// The `key` statement named `name` of a key file, whole (its secret
/// included); `None` if the file has none.
pub fn key_statement(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines();
    let first = lines.find(|line| {
        let line = line.trim_start();
        line.strip_prefix("key ")
            .map(str::trim_start)
            .is_some_and(|rest| {
                rest.strip_prefix('"')
                    .map_or(rest, |q| q.split('"').next().unwrap_or(""))
                    .split(|c: char| c.is_whitespace() || c == '{')
                    .next()
                    == Some(name)
            })
    })?;
    let mut statement = format!("{first}\n");
    if first.trim_end().ends_with("};") {
        return Some(statement);
    }
    for line in lines {
        statement.push_str(line);
        statement.push('\n');
        if line.trim() == "};" {
            return Some(statement);
        }
    }
    None
}

/// What a secondary's named.conf needs to follow the primary through its
/// catalog zone: no zone of the primary is ever named in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryConf {
    /// For the `options { }` block: the `catalog-zones` statement.
    pub options: String,
    /// For the top level: the transfer key, if any, and the catalog zone.
    pub statements: String,
}

/// The configuration of a secondary that transfers from the primary at
/// `primary` and follows `catalog` (absolute name), signing with `key`
/// (its name and its whole `key` statement) if given.
pub fn secondary_conf(
    catalog: &str,
    primary: SocketAddr,
    key: Option<(&str, &str)>,
) -> SecondaryConf {
    let mut source = format!("{} port {}", primary.ip(), primary.port());
    if let Some((name, _)) = key {
        source.push_str(&format!(" key {}", conf_string(name)));
    }
    let options = format!(
        "# Every zone of the catalog, transferred from the primary; the member\n\
         # zones take the options of this block (`notify no;` keeps the\n\
         # secondary from notifying the hosts of their NS records).\n\
         catalog-zones {{\n\
         \tzone {zone} default-primaries {{ {source}; }} min-update-interval 1;\n\
         }};\n",
        zone = conf_string(catalog),
    );
    let mut statements = String::new();
    if let Some((_, statement)) = key {
        statements.push_str("# The transfer key: the same secret as on the primary.\n");
        statements.push_str(statement.trim_end());
        statements.push('\n');
    }
    let file = format!("{}.db", catalog.trim_end_matches('.'));
    statements.push_str(&format!(
        "# The catalog zone: the list of the primary's zones.\n\
         zone {zone} IN {{\n\
         \ttype secondary;\n\
         \tprimaries {{ {source}; }};\n\
         \tfile {file};\n\
         }};\n",
        zone = conf_string(catalog),
        file = conf_string(&file),
    ));
    SecondaryConf {
        options,
        statements,
    }
}

/// The zones of an include file written by [`include_text`]: each zone
/// statement's name, as a domain (without the final dot; `.` for the
/// root), and its file.
pub fn included_zones(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("zone "))
        .filter_map(|rest| {
            let (name, rest) = conf_string_at(rest)?;
            let (file, _) = conf_string_at(rest.split_once(" file ")?.1)?;
            Some((stored_domain(&name), PathBuf::from(file)))
        })
        .collect()
}

/// The zone names of an include file written by [`include_text`], as
/// domains (without the final dot; `.` for the root).
pub fn included_domains(text: &str) -> Vec<String> {
    included_zones(text).into_iter().map(|(d, _)| d).collect()
}

/// The quoted string at the start of `text`, unescaped, and what follows.
fn conf_string_at(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((value, &rest[at + 1..])),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_files_stay_in_their_directory_and_apart() {
        let dir = Path::new("/z");
        assert_eq!(
            zone_file(dir, "Example.COM"),
            Path::new("/z/example.com.zone")
        );
        assert_eq!(zone_file(dir, "."), Path::new("/z/root.zone"));
        assert_eq!(zone_file(dir, "../etc"), Path::new("/z/%2E.%2Fetc.zone"));
        assert_eq!(
            zone_file(dir, "a/b.example"),
            Path::new("/z/a%2Fb.example.zone")
        );
        assert_ne!(
            zone_file(dir, "a_b.example"),
            zone_file(dir, "a%5Fb.example")
        );
    }

    #[test]
    fn long_domains_have_bounded_file_names_apart_from_every_plain_one() {
        let dir = Path::new("/z");
        let label = "a".repeat(63);
        let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(longest.len(), 253);
        let name = |domain: &str| {
            zone_file(dir, domain)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        let long = name(&longest);
        assert!(long.len() <= 140, "{long}");
        assert!(long.starts_with(&format!("{label}.")), "{long}");
        assert!(long.ends_with(".zone") && long.contains('+'), "{long}");
        // Stable, case-blind, and one per domain.
        assert_eq!(long, name(&longest.to_ascii_uppercase()));
        assert_ne!(long, name(&format!("{longest}x")));
        // Escapes are not cut in half; the worst case stays bounded.
        let escaped = name(&"\\".repeat(250));
        assert!(escaped.len() <= 140, "{escaped}");
        assert!(
            escaped.starts_with("%5C%5C") && escaped.contains("%5C+"),
            "{escaped}"
        );
        // A plain name that spells a hashed one is another file.
        let spelled = long.trim_end_matches(".zone").replace('+', "_");
        assert_ne!(name(&spelled), long);
        assert!(name(&long.replace(".zone", "")).contains("%2B"));
        // Up to the bound, the domain itself.
        let short = "c".repeat(195);
        assert_eq!(name(&short), format!("{short}.zone"));
    }

    #[test]
    fn the_include_file_lists_its_zones_back() {
        let zones = vec![
            (
                "example.com".to_string(),
                PathBuf::from("/z/example.com.zone"),
            ),
            (".".to_string(), PathBuf::from("/z/root.zone")),
            ("we\\\"ird.example".to_string(), PathBuf::from("/z/x.zone")),
        ];
        let text = include_text(&zones, None, &Replication::default());
        assert_eq!(included_zones(&text)[2].1, PathBuf::from("/z/x.zone"));
        assert!(text.contains(
            "zone \"example.com.\" IN { type primary; file \"/z/example.com.zone\"; };\n"
        ));
        assert_eq!(
            included_domains(&text),
            ["example.com", ".", "we\\\"ird.example"]
        );
    }

    #[test]
    fn zones_are_notified_to_and_transferred_by_the_secondaries() {
        let secondaries = [
            Secondary {
                address: "192.0.2.2".parse().unwrap(),
                port: 53,
                key: None,
            },
            Secondary {
                address: "2001:db8::3".parse().unwrap(),
                port: 5300,
                key: Some("xfr".to_string()),
            },
        ];
        let replication = Replication {
            secondaries: &secondaries,
            key_file: Some(Path::new("/k/transfer.key")),
        };
        let zones = [("example.com".to_string(), PathBuf::from("/z/e.zone"))];
        let text = include_text(
            &zones,
            Some(("catalog.invalid", Path::new("/z/catalog.zone"))),
            &replication,
        );
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "include \"/k/transfer.key\";",
                "zone \"catalog.invalid.\" IN { type primary; file \"/z/catalog.zone\"; notify explicit; notify-delay 0; \
                 also-notify { 192.0.2.2 port 53; 2001:db8::3 port 5300 key \"xfr\"; }; \
                 allow-transfer { 192.0.2.2; key \"xfr\"; }; ixfr-from-differences yes; };",
                "zone \"example.com.\" IN { type primary; file \"/z/e.zone\"; notify explicit; notify-delay 0; \
                 also-notify { 192.0.2.2 port 53; 2001:db8::3 port 5300 key \"xfr\"; }; \
                 allow-transfer { 192.0.2.2; key \"xfr\"; }; ixfr-from-differences yes; };",
            ]
        );
        assert_eq!(included_domains(&text), ["catalog.invalid", "example.com"]);
    }

    #[test]
    fn key_files_name_their_keys() {
        let text = "key \"bindbridge-transfer\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\nkey other { };\n";
        assert_eq!(key_names(text), ["bindbridge-transfer", "other"]);
        assert_eq!(
            key_statement(text, "bindbridge-transfer").as_deref(),
            Some(
                "key \"bindbridge-transfer\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n"
            )
        );
        assert_eq!(
            key_statement(text, "other").as_deref(),
            Some("key other { };\n")
        );
        assert_eq!(key_statement(text, "bindbridge"), None);
    }

    #[test]
    fn a_secondary_follows_the_catalog_from_the_primary() {
        let conf = secondary_conf(
            "catalog.bindbridge.invalid.",
            "192.0.2.1:5353".parse().unwrap(),
            Some((
                "xfr",
                "key \"xfr\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n",
            )),
        );
        assert!(
            conf.options.contains(
                "zone \"catalog.bindbridge.invalid.\" default-primaries { 192.0.2.1 port 5353 key \"xfr\"; }"
            ),
            "{}",
            conf.options
        );
        assert!(
            conf.statements.contains("secret \"c2VjcmV0\""),
            "{}",
            conf.statements
        );
        assert!(
            conf.statements
                .contains("primaries { 192.0.2.1 port 5353 key \"xfr\"; };"),
            "{}",
            conf.statements
        );
        let plain = secondary_conf("c.invalid.", "[2001:db8::1]:53".parse().unwrap(), None);
        assert!(
            plain
                .options
                .contains("default-primaries { 2001:db8::1 port 53; }")
        );
        assert!(!plain.statements.contains("key"));
    }
}
