//! The files named reads: zone files and the zones include file, each
//! replaced whole through [`crate::atomic`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::Secondary;
use crate::store::shape::{absolute_domain, stored_domain};

/// The zone file of `domain` in `zone_dir`: the domain in lower case with
/// `.zone` (`root.zone` for the root); bytes other than letters, digits,
/// `-`, `_` and inner dots are written `%XX`, so that no name can reach
/// outside the directory or collide with another.
pub fn zone_file(zone_dir: &Path, domain: &str) -> PathBuf {
    let mut name = String::new();
    if domain == "." {
        name.push_str("root");
    }
    for b in domain.trim_end_matches('.').to_ascii_lowercase().bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => name.push(char::from(b)),
            b'.' if !name.is_empty() => name.push('.'),
            _ => name.push_str(&format!("%{b:02X}")),
        }
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

/// The zone names of an include file written by [`include_text`], as
/// domains (without the final dot; `.` for the root).
pub fn included_domains(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("zone \""))
        .filter_map(|rest| {
            // The name is the quoted string up to the first unescaped `"`.
            let mut name = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => name.push(chars.next()?),
                    '"' => return Some(stored_domain(&name)),
                    c => name.push(c),
                }
            }
            None
        })
        .collect()
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
