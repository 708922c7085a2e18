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

/// Parses record values: the RDATA of one record in presentation form,
/// as the store and the API hold it (`10 mail.example.com.` for an MX).
///
/// A value is data, not zone-file syntax: it is one line, and `;`, `(` and
/// `)` outside quotes, which would start a comment or a multi-line entry in
/// a zone file, are refused rather than interpreted, as are control bytes.
/// Keeps its token buffer between values, so a million values parse
/// without a million allocations.
#[derive(Default)]
pub struct ValueParser {
    tokens: Vec<lexer::Token>,
}

impl ValueParser {
    /// Appends the wire form of `value` (RDATA of `rtype`, names relative
    /// to `origin`, which is in wire form) to `out`; on error `out` is left
    /// as it was and the error says what is wrong.
    pub fn parse(
        &mut self,
        rtype: RType,
        value: &[u8],
        origin: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        plain_value(value)?;
        let mut lexer = Lexer::new(value);
        match lexer.next_entry(&mut self.tokens) {
            None => self.tokens.clear(),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.message.to_string()),
        }
        let start = out.len();
        rdata::parse_rdata(rtype, value, &self.tokens, origin, out).map_err(|e| {
            out.truncate(start);
            e.message.into_owned()
        })
    }
}

/// Refuses what a value may not hold: control bytes anywhere, and outside
/// quotes the characters that have a meaning in zone-file syntax.
fn plain_value(value: &[u8]) -> Result<(), String> {
    let mut quoted = false;
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => {
                // An escaped byte is data, but it must not be a raw control byte.
                if let Some(&next) = bytes.next()
                    && (next < 0x20 || next == 0x7f)
                {
                    return Err("control character in value (write it as \\DDD)".into());
                }
            }
            b'"' => quoted = !quoted,
            b';' | b'(' | b')' if !quoted => {
                return Err(format!(
                    "'{}' outside quotes is zone-file syntax, not data: quote the text or write it as \\{}",
                    b as char, b as char
                ));
            }
            b'\t' => {}
            _ if b < 0x20 || b == 0x7f => {
                return Err("control character in value (write it as \\DDD)".into());
            }
            _ => {}
        }
    }
    Ok(())
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

    fn value(rtype: RType, text: &str) -> Result<Vec<u8>, String> {
        let mut out = vec![0xaa];
        let result =
            ValueParser::default().parse(rtype, text.as_bytes(), b"\x07example\x00", &mut out);
        match result {
            Ok(()) => Ok(out[1..].to_vec()),
            Err(e) => {
                assert_eq!(out, [0xaa], "a failed value leaves the buffer alone");
                Err(e)
            }
        }
    }

    #[test]
    fn values_parse_as_rdata() {
        assert_eq!(value(RType::A, "192.0.2.1"), Ok(vec![192, 0, 2, 1]));
        assert_eq!(
            value(RType::MX, "10 mail"),
            Ok(b"\x00\x0a\x04mail\x07example\x00".to_vec())
        );
        assert_eq!(
            value(RType::TXT, "\"a;b (c)\""),
            Ok(b"\x07a;b (c)".to_vec())
        );
        assert_eq!(value(RType::TXT, "a\\;b"), Ok(b"\x03a;b".to_vec()));
        assert_eq!(value(RType::TXT, "\"\""), Ok(b"\x00".to_vec()));
    }

    #[test]
    fn values_refuse_zone_file_syntax_and_control_bytes() {
        for bad in [
            "1.2.3.4 ; comment",
            "( 1.2.3.4 )",
            "1.2.3.4\n@ A 6.6.6.6",
            "1.2.3.4\r",
            "\"a\0b\"",
            "\"unterminated",
        ] {
            assert!(value(RType::TXT, bad).is_err(), "{bad:?} accepted");
        }
        assert!(value(RType::A, "").is_err());
        assert!(value(RType::A, "192.0.2.1 192.0.2.2").is_err());
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
