//! The files named reads: zone files and the zones include file, each
//! replaced whole through [`crate::atomic`].

use std::path::{Path, PathBuf};

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

/// The zones include file: one `zone` statement per line for each
/// `(domain, file)`, primary, in class IN.
pub fn include_text(zones: &[(String, PathBuf)]) -> String {
    let mut text = String::from(
        "# Written by bindbridge, which rewrites it whole: edits here are lost.\n\
         # named.conf includes it; one zone statement per zone bindbridge serves.\n",
    );
    for (domain, file) in zones {
        let name = match domain.as_str() {
            "." => ".".to_string(),
            d => format!("{d}."),
        };
        text.push_str(&format!(
            "zone {} IN {{ type primary; file {}; }};\n",
            conf_string(&name),
            conf_string(&file.to_string_lossy())
        ));
    }
    text
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
                    '"' => {
                        return Some(match name.as_str() {
                            "." => ".".to_string(),
                            n => n.trim_end_matches('.').to_string(),
                        });
                    }
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
        let text = include_text(&zones);
        assert!(text.contains(
            "zone \"example.com.\" IN { type primary; file \"/z/example.com.zone\"; };\n"
        ));
        assert_eq!(
            included_domains(&text),
            ["example.com", ".", "we\\\"ird.example"]
        );
    }
}
