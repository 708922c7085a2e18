//! The master-file parser: text → [`Zone`] + diagnostics (RFC 1035 §5, as
//! BIND 9.18 reads it).
//!
//! Three layers: [`lexer`] splits bytes into entries of tokens, [`entry`]
//! applies directives and the owner/TTL/class defaults, and [`rdata`] turns
//! each type's fields into wire form. The parser never opens a file: an
//! `$INCLUDE` is handed to the caller's [`Includes`], which decides whether
//! it is allowed and supplies the bytes (untrusted input uses
//! [`NoIncludes`]). Errors do not stop parsing: each bad entry is reported
//! with its position and the parser resumes at the next one.

pub mod diagnostic;
mod entry;
mod generate;
pub mod lexer;
pub mod rdata;

pub use diagnostic::{Diagnostic, Severity};

use crate::zone::{Class, Name, RType, Zone};
use lexer::Lexer;

/// What the parser needs to know before it starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The zone's apex; also the initial `$ORIGIN`.
    pub origin: Name,
    /// The zone's class.
    pub class: Class,
    /// Name of the top-level source, for diagnostics.
    pub file_name: String,
    /// Identity of the top-level source for include-loop detection, if it is a file.
    pub source_key: Option<String>,
}

/// The contents of an included file.
pub struct Included {
    /// Name to show in diagnostics.
    pub name: String,
    /// Identity used to detect include loops (e.g. the canonical path).
    pub key: String,
    /// The file's bytes.
    pub text: Vec<u8>,
}

/// Supplies the files named by `$INCLUDE`.
pub trait Includes {
    /// Opens `path` as written in the directive, or says why not.
    fn open(&mut self, path: &str) -> Result<Included, String>;
}

/// Refuses every `$INCLUDE`: for input that must not read local files.
pub struct NoIncludes;

impl Includes for NoIncludes {
    fn open(&mut self, _path: &str) -> Result<Included, String> {
        Err("$INCLUDE is not allowed for this input".to_string())
    }
}

/// A parsed zone with everything the parser had to say about it.
pub struct Parsed {
    /// The records that parsed.
    pub zone: Zone,
    /// Errors and warnings, in input order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses a whole master file.
pub fn parse_zone(text: &[u8], options: &Options, includes: &mut dyn Includes) -> Parsed {
    entry::parse(text, options, includes)
}

/// Finds the origin a file declares: an absolute `$ORIGIN` that comes
/// before its first record, else the absolute owner of its first SOA
/// record. Used when no origin is given.
pub fn declared_origin(text: &[u8]) -> Option<Name> {
    let mut lexer = Lexer::new(text);
    let mut tokens = Vec::new();
    let mut seen_record = false;
    while let Some(entry) = lexer.next_entry(&mut tokens) {
        let Ok(entry) = entry else { continue };
        let word = |i: usize| {
            tokens
                .get(i)
                .map(|t| &text[t.start as usize..t.end as usize])
        };
        let Some(first) = word(0) else { continue };
        if !entry.blank_owner && first.starts_with(b"$") {
            if !seen_record && first.eq_ignore_ascii_case(b"$ORIGIN") {
                return word(1).and_then(absolute_name);
            }
            continue;
        }
        seen_record = true;
        if entry.blank_owner {
            continue;
        }
        // owner [ttl] [class] SOA …: the type is one of the next three words.
        let is_soa = (1..4)
            .filter_map(word)
            .any(|w| RType::from_text(w) == Some(RType::SOA));
        if is_soa {
            return absolute_name(first);
        }
    }
    None
}

fn absolute_name(text: &[u8]) -> Option<Name> {
    if !text.ends_with(b".") || text.ends_with(b"\\.") {
        return None;
    }
    Name::parse(text, None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Option<String> {
        declared_origin(text.as_bytes()).map(|n| n.to_string())
    }

    #[test]
    fn declared_origin_rules() {
        assert_eq!(
            origin("; c\n$TTL 1h\n$ORIGIN Example.com.\n@ SOA a b 1 2 3 4 5\n"),
            Some("Example.com.".into())
        );
        assert_eq!(
            origin("example.net. 300 IN SOA a b 1 2 3 4 5\n"),
            Some("example.net.".into())
        );
        // A $ORIGIN after the first record is a sub-origin, not the zone's.
        assert_eq!(
            origin("example.org. IN SOA a b 1 2 3 4 5\n$ORIGIN sub.example.org.\nx A 1.2.3.4\n"),
            Some("example.org.".into())
        );
        assert_eq!(origin("@ IN SOA a b 1 2 3 4 5\n"), None);
        assert_eq!(origin("$ORIGIN relative\n@ SOA a b 1 2 3 4 5\n"), None);
    }
}
