//! Entries: directives and records, with BIND 9.18's defaulting rules.
//!
//! - Owner: a blank owner repeats the previous one; `@` is the origin;
//!   relative names take the current `$ORIGIN` (RFC 1035 §5.1).
//! - TTL and class may come in either order before the type.
//! - Default TTL: `$TTL` if seen; else an SOA without a TTL sets the
//!   default to its MINIMUM (with a warning); else the last explicit TTL
//!   (RFC 1035 semantics, with a warning); a first record with no TTL at
//!   all is an error. TTLs above 2^31-1 become 0 (RFC 2181 §8).
//! - RRset TTLs: within one run of records at the same owner, later
//!   records of a type take the first one's TTL (warned). Glue (records at
//!   a name an NS record of the run points to) does not end a run; an
//!   `$INCLUDE` does, before and after the included file. Each `$GENERATE`
//!   record is a run of its own, added before the open run. Across runs the
//!   last run's TTL wins; the renderer applies that when it groups RRsets.
//! - `$INCLUDE` restores `$ORIGIN` and the current owner afterwards, but a
//!   `$TTL` set inside the included file stays in force, as in BIND.

use std::sync::Arc;

use super::diagnostic::{Diagnostic, Severity, column_of};
use super::generate;
use super::lexer::{Entry, Lexer, Token, TokenKind};
use super::rdata::{RdataError, parse_rdata, shown, write_name};
use super::{Includes, Options, Parsed};
use crate::zone::rdata::{Layout, layout};
use crate::zone::ttl::{MAX_TTL, parse_ttl};
use crate::zone::{Class, NameId, RType, Zone, name};

/// Deepest `$INCLUDE` nesting accepted.
const MAX_INCLUDE_DEPTH: usize = 16;

pub(super) fn parse(text: &[u8], options: &Options, includes: &mut dyn Includes) -> Parsed {
    let mut zone = Zone::new(options.origin.clone(), options.class);
    // Real zones average 50-60 bytes a record and 1.5 records an owner.
    zone.names = crate::zone::NameTable::with_capacity(text.len() / 80 + 16);
    zone.records.reserve(text.len() / 60);
    zone.rdata.reserve(text.len() / 3);
    zone.files.push(options.file_name.clone());
    let mut parser = EntryParser {
        zone,
        diagnostics: Vec::new(),
        includes,
        include_keys: options.source_key.iter().cloned().collect(),
        default_ttl: None,
        last_ttl: None,
        warned_1035: false,
        run: Run::default(),
        glue: None,
        last_place: None,
        tokens: Vec::new(),
        name_buf: Vec::with_capacity(256),
    };
    let frame = Frame {
        origin: options.origin.wire().to_vec(),
        origin_just_set: false,
        last_owner: None,
        file: 0,
        file_name: Arc::from(options.file_name.as_str()),
    };
    parser.parse_source(text, frame);
    Parsed {
        zone: parser.zone,
        diagnostics: parser.diagnostics,
    }
}

/// Per-file state: restored when an included file ends.
struct Frame {
    origin: Vec<u8>,
    /// A `$ORIGIN` was the last entry (BIND warns about a blank owner next).
    origin_just_set: bool,
    last_owner: Option<NameId>,
    file: u16,
    file_name: Arc<str>,
}

/// A record ready to be stored, before TTL defaulting.
pub(super) struct Pending {
    pub owner: NameId,
    pub ttl: Option<u32>,
    pub rtype: RType,
    pub rd_off: usize,
    pub line: u32,
    /// Made by `$GENERATE` (BIND settles its TTL before its zone scope).
    pub generated: bool,
}

pub(super) struct EntryParser<'i> {
    pub zone: Zone,
    pub diagnostics: Vec<Diagnostic>,
    includes: &'i mut dyn Includes,
    include_keys: Vec<String>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    warned_1035: bool,
    /// BIND's current run of records at one owner (see [`Run`]).
    run: Run,
    /// Glue read inside the current run: records at a name that an NS
    /// record of the run points to, which BIND keeps in a run of their own
    /// without ending the current one.
    glue: Option<Run>,
    /// The last owner checked against the apex, and its relative length.
    last_place: Option<(NameId, Option<usize>)>,
    tokens: Vec<Token>,
    name_buf: Vec<u8>,
}

/// Where a diagnostic points.
pub(super) struct At<'a> {
    pub src: &'a [u8],
    pub file: &'a Arc<str>,
}

impl<'i> EntryParser<'i> {
    fn parse_source(&mut self, text: &[u8], mut frame: Frame) -> Frame {
        // Token positions are 32-bit offsets.
        if text.len() > u32::MAX as usize {
            let at = At {
                src: b"",
                file: &frame.file_name,
            };
            self.error(
                &at,
                1,
                0,
                "file is larger than 4 GiB, the largest zone file bindbridge reads".to_string(),
            );
            return frame;
        }
        let mut lexer = Lexer::new(text);
        let mut tokens = std::mem::take(&mut self.tokens);
        while let Some(entry) = lexer.next_entry(&mut tokens) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = At {
                        src: text,
                        file: &frame.file_name,
                    };
                    let message = match e.opened_at {
                        Some(line) => format!("{} (opened on line {line})", e.message),
                        None => e.message.to_string(),
                    };
                    self.error(&at, e.line, e.offset as usize, message);
                    continue;
                }
            };
            let first = raw(text, &tokens[0]);
            if !entry.blank_owner
                && first.first() == Some(&b'$')
                && tokens[0].kind == TokenKind::Plain
            {
                frame = self.directive(text, &tokens, entry, frame);
            } else {
                self.record(text, &tokens, entry, &mut frame);
            }
        }
        self.tokens = tokens;
        frame
    }

    #[cold]
    pub(super) fn error(&mut self, at: &At<'_>, line: u32, offset: usize, message: String) {
        self.push_diagnostic(Severity::Error, at, line, offset, message);
    }

    #[cold]
    pub(super) fn warning(&mut self, at: &At<'_>, line: u32, offset: usize, message: String) {
        self.push_diagnostic(Severity::Warning, at, line, offset, message);
    }

    #[cold]
    #[inline(never)]
    fn push_diagnostic(
        &mut self,
        severity: Severity,
        at: &At<'_>,
        line: u32,
        offset: usize,
        message: String,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: at.file.clone(),
            line,
            column: column_of(at.src, offset),
            message,
        });
    }

    /// Reports an RDATA error at its token, or at the end of the entry.
    pub(super) fn rdata_error(
        &mut self,
        at: &At<'_>,
        tokens: &[Token],
        entry: &Entry,
        e: RdataError,
    ) {
        match e.token.and_then(|i| tokens.get(i)) {
            Some(t) => self.error(at, t.line, t.start as usize, e.message.into_owned()),
            None => {
                let last = tokens.last().map_or(0, |t| t.end as usize);
                self.error(at, entry.end_line, last, e.message.into_owned());
            }
        }
    }

    /// Reports a quoted token where BIND reads a bare word (a TTL, class,
    /// type, `$ORIGIN`, `$TTL`, the origin of `$INCLUDE`, the range and lhs
    /// of `$GENERATE`): BIND fails the entry ("unbalanced quotes").
    pub(super) fn quoted_word(&mut self, at: &At<'_>, t: &Token, what: &str) -> bool {
        if t.kind == TokenKind::Plain {
            return false;
        }
        self.error(
            at,
            t.line,
            t.start as usize,
            format!(
                "expected {what}, found the quoted string \"{}\"; BIND reads it only as a bare word",
                shown(raw(at.src, t))
            ),
        );
        true
    }

    fn directive(
        &mut self,
        text: &[u8],
        tokens: &[Token],
        entry: Entry,
        mut frame: Frame,
    ) -> Frame {
        let at = At {
            src: text,
            file: &frame.file_name.clone(),
        };
        let word = raw(text, &tokens[0]).to_ascii_uppercase();
        let args = &tokens[1..];
        let expect_args = |this: &mut Self, min: usize, max: usize, usage: &str| -> bool {
            if args.len() < min {
                let end = tokens.last().map_or(0, |t| t.end as usize);
                this.error(
                    &at,
                    entry.line,
                    end,
                    format!("expected {usage}, found end of line"),
                );
                return false;
            }
            if args.len() > max {
                let t = &args[max];
                this.error(
                    &at,
                    t.line,
                    t.start as usize,
                    format!(
                        "expected end of line after {usage}, found '{}'",
                        shown(raw(text, t))
                    ),
                );
                return false;
            }
            true
        };
        match word.as_slice() {
            b"$ORIGIN" => {
                if expect_args(self, 1, 1, "$ORIGIN domain-name")
                    && !self.quoted_word(&at, &args[0], "a domain name")
                {
                    let t = &args[0];
                    self.name_buf.clear();
                    match write_name(raw(text, t), &frame.origin, &mut self.name_buf) {
                        Ok(()) => {
                            frame.origin = self.name_buf.clone();
                            frame.origin_just_set = true;
                        }
                        Err(e) => self.error(
                            &at,
                            t.line,
                            t.start as usize,
                            format!("bad $ORIGIN '{}': {e}", shown(raw(text, t))),
                        ),
                    }
                }
            }
            b"$TTL" => {
                if expect_args(self, 1, 1, "$TTL ttl") && !self.quoted_word(&at, &args[0], "a TTL")
                {
                    let t = &args[0];
                    match parse_ttl(raw(text, t)) {
                        Some(Ok(ttl)) => {
                            let ttl = self.limit_ttl(&at, t, ttl);
                            self.default_ttl = Some(ttl);
                            self.zone.default_ttl.get_or_insert(ttl);
                        }
                        _ => self.error(
                            &at,
                            t.line,
                            t.start as usize,
                            format!(
                                "expected a TTL like 3600 or 1h30m, found '{}'",
                                shown(raw(text, t))
                            ),
                        ),
                    }
                }
            }
            b"$INCLUDE" => {
                if expect_args(self, 1, 2, "$INCLUDE file-name [origin]")
                    && !args
                        .get(1)
                        .is_some_and(|t| self.quoted_word(&at, t, "a domain name"))
                {
                    frame = self.include(&at, text, args, frame);
                }
            }
            b"$GENERATE" => generate::generate(
                self,
                &at,
                text,
                tokens,
                &entry,
                &mut frame.last_owner,
                &frame.origin,
                frame.file,
            ),
            _ => {
                let t = &tokens[0];
                self.error(
                    &at,
                    t.line,
                    t.start as usize,
                    format!(
                        "unknown directive '{}': expected $ORIGIN, $TTL, $INCLUDE or $GENERATE",
                        shown(raw(text, t))
                    ),
                );
            }
        }
        frame
    }

    fn include(&mut self, at: &At<'_>, text: &[u8], args: &[Token], frame: Frame) -> Frame {
        let path_token = &args[0];
        let raw_path = raw(text, path_token);
        let path = name::unescape_all(raw_path).unwrap_or_else(|| raw_path.to_vec());
        let path = String::from_utf8_lossy(&path).into_owned();
        let mut origin = frame.origin.clone();
        if let Some(t) = args.get(1) {
            self.name_buf.clear();
            match write_name(raw(text, t), &frame.origin, &mut self.name_buf) {
                Ok(()) => origin = self.name_buf.clone(),
                Err(e) => {
                    self.error(
                        at,
                        t.line,
                        t.start as usize,
                        format!("bad $INCLUDE origin '{}': {e}", shown(raw(text, t))),
                    );
                    return frame;
                }
            }
        }
        if self.include_keys.len() >= MAX_INCLUDE_DEPTH {
            self.error(
                at,
                path_token.line,
                path_token.start as usize,
                format!("$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep"),
            );
            return frame;
        }
        let included = match self.includes.open(&path) {
            Ok(i) => i,
            Err(e) => {
                self.error(
                    at,
                    path_token.line,
                    path_token.start as usize,
                    format!("cannot include '{path}': {e}"),
                );
                return frame;
            }
        };
        if self.include_keys.contains(&included.key) {
            self.error(
                at,
                path_token.line,
                path_token.start as usize,
                format!("$INCLUDE loop: '{path}' is already being read"),
            );
            return frame;
        }
        let file = self.zone.files.len().min(u16::MAX as usize) as u16;
        self.zone.files.push(included.name.clone());
        let inner = Frame {
            origin,
            origin_just_set: false,
            last_owner: frame.last_owner,
            file,
            file_name: Arc::from(included.name.as_str()),
        };
        self.include_keys.push(included.key);
        let tokens = std::mem::take(&mut self.tokens);
        self.tokens = Vec::new();
        // BIND ends the current runs (COMMITALL) before an included file
        // and at its end: the records on each side start runs of their own.
        self.end_runs();
        self.parse_source(&included.text, inner);
        self.end_runs();
        self.tokens = tokens;
        self.include_keys.pop();
        frame
    }

    fn record(&mut self, text: &[u8], tokens: &[Token], entry: Entry, frame: &mut Frame) {
        let file_name = frame.file_name.clone();
        let at = At {
            src: text,
            file: &file_name,
        };
        let mut k = 0;
        // Owner.
        let origin_just_set = std::mem::take(&mut frame.origin_just_set);
        let owner = if entry.blank_owner {
            match frame.last_owner {
                Some(id) => {
                    if origin_just_set {
                        // A blank owner repeats the previous owner, not the new origin.
                        let message = format!(
                            "record with a blank owner right after $ORIGIN: it belongs to {}, not to the new origin",
                            name::to_text(self.zone.names.get(id))
                        );
                        self.warning(&at, entry.line, tokens[0].start as usize, message);
                    }
                    id
                }
                None => {
                    self.error(
                        &at,
                        entry.line,
                        tokens[0].start as usize,
                        "record has a blank owner but no previous owner to repeat".to_string(),
                    );
                    return;
                }
            }
        } else {
            let t = &tokens[0];
            k = 1;
            self.name_buf.clear();
            if let Err(e) = write_name(raw(text, t), &frame.origin, &mut self.name_buf) {
                self.error(
                    &at,
                    t.line,
                    t.start as usize,
                    format!("bad owner name '{}': {e}", shown(raw(text, t))),
                );
                return;
            }
            let id = self.zone.names.push(&self.name_buf);
            frame.last_owner = Some(id);
            id
        };
        let Some((ttl, rtype)) = self.ttl_class_type(&at, text, tokens, &mut k, &entry) else {
            return;
        };
        let type_token = &tokens[k - 1];
        // RDATA.
        let rd_off = self.zone.rdata.len();
        if let Err(e) = parse_rdata(
            rtype,
            text,
            &tokens[k..],
            &frame.origin,
            &mut self.zone.rdata,
        ) {
            self.zone.rdata.truncate(rd_off);
            self.rdata_error(&at, &tokens[k..], &entry, e);
            return;
        }
        let pending = Pending {
            owner,
            ttl,
            rtype,
            rd_off,
            line: entry.line,
            generated: false,
        };
        self.store(&at, type_token, pending, frame.file);
    }

    /// Reads `[ttl] [class] type` (either order) from `tokens[*k..]`,
    /// leaving `*k` just past the type. Reports and returns `None` on error.
    pub(super) fn ttl_class_type(
        &mut self,
        at: &At<'_>,
        text: &[u8],
        tokens: &[Token],
        k: &mut usize,
        entry: &Entry,
    ) -> Option<(Option<u32>, RType)> {
        let mut ttl = None;
        let mut class = None;
        let rtype = loop {
            let Some(t) = tokens.get(*k) else {
                let end = tokens.last().map_or(0, |t| t.end as usize);
                self.error(
                    at,
                    entry.end_line,
                    end,
                    "expected a record type, found end of line".to_string(),
                );
                return None;
            };
            if self.quoted_word(at, t, "a TTL, class or record type") {
                return None;
            }
            let word = raw(text, t);
            *k += 1;
            if ttl.is_none()
                && word.first().is_some_and(u8::is_ascii_digit)
                && let Some(parsed) = parse_ttl(word)
            {
                match parsed {
                    Ok(v) => {
                        let v = self.limit_ttl(at, t, v);
                        // BIND takes an explicit TTL as the "previous TTL" as
                        // soon as it reads it, even if the RDATA then fails.
                        self.last_ttl = Some(v);
                        ttl = Some(v);
                    }
                    Err(()) => {
                        self.error(
                            at,
                            t.line,
                            t.start as usize,
                            format!("TTL '{}' does not fit in 32 bits", shown(word)),
                        );
                        return None;
                    }
                }
                continue;
            }
            if class.is_none()
                && let Some(c) = Class::from_text(word)
            {
                class = Some((c, t));
                continue;
            }
            match RType::from_text(word) {
                Some(rtype) => break rtype,
                None => {
                    let hint = if word.first().is_some_and(u8::is_ascii_digit) {
                        "; a TTL is a number of seconds or units like 1w2d3h4m5s"
                    } else {
                        ""
                    };
                    self.error(
                        at,
                        t.line,
                        t.start as usize,
                        format!("expected a record type, found '{}'{hint}", shown(word)),
                    );
                    return None;
                }
            }
        };
        if let Some((c, t)) = class
            && c != self.zone.class
        {
            self.error(
                at,
                t.line,
                t.start as usize,
                format!(
                    "class '{c}' does not match the zone's class '{}'",
                    self.zone.class
                ),
            );
            return None;
        }
        let type_token = &tokens[*k - 1];
        if let Some(message) = refused_type(rtype) {
            self.error(at, type_token.line, type_token.start as usize, message);
            return None;
        }
        Some((ttl, rtype))
    }

    /// RFC 2181 §8: TTLs above 2^31-1 are treated as 0.
    pub(super) fn limit_ttl(&mut self, at: &At<'_>, t: &Token, ttl: u32) -> u32 {
        if ttl > MAX_TTL {
            self.warning(
                at,
                t.line,
                t.start as usize,
                format!("TTL {ttl} is above the maximum 2147483647; using 0 (RFC 2181 section 8)"),
            );
            return 0;
        }
        ttl
    }

    /// Applies the TTL defaults and zone-scope rules, then keeps the record.
    ///
    /// The order follows BIND: an explicit TTL has already become the
    /// "previous TTL" when it was read, even on a record that is then set
    /// aside as out of zone; such a record is only checked (check-names)
    /// and needs no TTL, except one made by `$GENERATE`, whose TTL BIND
    /// settles first.
    pub(super) fn store(&mut self, at: &At<'_>, type_token: &Token, p: Pending, file: u16) {
        let len = self.zone.rdata.len() - p.rd_off;
        if len > u16::MAX as usize {
            self.zone.rdata.truncate(p.rd_off);
            self.error(
                at,
                p.line,
                type_token.start as usize,
                format!("RDATA is {len} octets long, at most 65535 are allowed"),
            );
            return;
        }
        let owner_wire = self.zone.names.get(p.owner);
        let apex = self.zone.origin.wire();
        // Runs of records share an owner: check its place in the zone once.
        let place = match self.last_place {
            Some((owner, rel)) if owner == p.owner => rel,
            _ => {
                let rel = name::relative_len(owner_wire, apex);
                self.last_place = Some((p.owner, rel));
                rel
            }
        };
        let early_ttl = match (place, p.generated) {
            (None, true) => match self.resolve_ttl(at, type_token, &p) {
                Some(ttl) => Some(ttl),
                None => return,
            },
            _ => None,
        };
        let Some(rel) = place else {
            // BIND applies check-names before it sets out-of-zone data aside.
            let owner_wire = self.zone.names.get(p.owner);
            let problems =
                crate::check::check_names(p.rtype, owner_wire, &self.zone.rdata[p.rd_off..]);
            let shown_name = name::to_text(owner_wire);
            self.zone.rdata.truncate(p.rd_off);
            for message in problems {
                self.error(at, p.line, type_token.start as usize, message);
            }
            self.warning(
                at,
                p.line,
                type_token.start as usize,
                format!(
                    "ignoring out-of-zone data ({shown_name}): the zone is {}",
                    self.zone.origin
                ),
            );
            return;
        };
        if p.rtype == RType::SOA && rel != 0 {
            let shown_name = name::to_text(self.zone.names.get(p.owner));
            self.zone.rdata.truncate(p.rd_off);
            self.error(
                at,
                p.line,
                type_token.start as usize,
                format!("SOA record not at top of zone ({shown_name})"),
            );
            return;
        }
        let Some(ttl) = early_ttl.or_else(|| self.resolve_ttl(at, type_token, &p)) else {
            return;
        };
        if p.generated {
            // BIND adds each $GENERATE record to the zone at once and on its
            // own, but the open run (and its glue) only when it ends: the
            // record takes no part in the run, and goes before the run's
            // records so that their order is the order BIND adds them in,
            // whose last TTL the RRset keeps.
            self.zone
                .push(p.owner, ttl, p.rtype, p.rd_off, file, p.line);
            if self.run.owner.is_some() {
                self.zone.records[self.run.start..].rotate_right(1);
                self.run.start += 1;
                if let Some(glue) = &mut self.glue {
                    glue.start += 1;
                }
            }
            return;
        }
        let covers = crate::zone::rdata::covered_type(p.rtype, &self.zone.rdata[p.rd_off..]);
        let ttl = self.batch_ttl(at, type_token, p.owner, (p.rtype, covers), ttl, p.line);
        if self.respell_duplicate(p.owner, p.rtype, p.rd_off) {
            return;
        }
        self.zone
            .push(p.owner, ttl, p.rtype, p.rd_off, file, p.line);
    }

    /// The record's TTL: its own, else BIND's default (`$TTL`, the SOA
    /// MINIMUM for an SOA without one, or the previous TTL). `None`, with
    /// the error reported and the RDATA dropped, when there is none.
    fn resolve_ttl(&mut self, at: &At<'_>, type_token: &Token, p: &Pending) -> Option<u32> {
        if let Some(ttl) = p.ttl {
            return Some(ttl);
        }
        match (self.default_ttl, self.last_ttl) {
            (Some(ttl), _) => Some(ttl),
            (None, Some(ttl)) => {
                if !self.warned_1035 {
                    self.warned_1035 = true;
                    let message = format!(
                        "no $TTL: using the previous record's TTL {ttl} (RFC 1035 semantics)"
                    );
                    self.warning(at, p.line, type_token.start as usize, message);
                }
                Some(ttl)
            }
            (None, None) if p.rtype == RType::SOA => {
                let rdata = &self.zone.rdata[p.rd_off..];
                let minimum = rdata
                    .get(rdata.len().saturating_sub(4)..)
                    .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                let ttl = minimum.min(MAX_TTL);
                let message =
                    format!("no TTL specified; using the SOA MINIMUM {ttl} as the default TTL");
                self.warning(at, p.line, type_token.start as usize, message);
                self.default_ttl = Some(ttl);
                Some(ttl)
            }
            (None, None) => {
                self.zone.rdata.truncate(p.rd_off);
                let message =
                    "no TTL specified: add a $TTL directive or a TTL to this record".to_string();
                self.error(at, p.line, type_token.start as usize, message);
                None
            }
        }
    }

    /// A duplicate inside the current run replaces the earlier record's
    /// spelling (BIND keeps the last spelling within a run; across runs the
    /// first is kept, which the canonical sort does). Only the last few
    /// records are searched, so a huge run stays linear.
    fn respell_duplicate(&mut self, owner: NameId, rtype: RType, rd_off: usize) -> bool {
        const WINDOW: usize = 64;
        let run = self.glue.as_ref().unwrap_or(&self.run);
        let from = run
            .start
            .max(self.zone.records.len().saturating_sub(WINDOW));
        let new = &self.zone.rdata[rd_off..];
        // A run's records are interleaved with its glue's: match the owner.
        let owner = self.zone.names.get(owner);
        let found = self.zone.records[from..].iter().rposition(|r| {
            r.rtype == rtype
                && r.rd_len as usize == new.len()
                && self.zone.names.get(r.owner) == owner
                && crate::zone::rdata::canonical_cmp(rtype, self.zone.rdata_of(r), new).is_eq()
        });
        let Some(k) = found else { return false };
        let record = &mut self.zone.records[from + k];
        record.rd_off = rd_off as u32;
        true
    }

    /// Within one run of records at the same owner, an RRset keeps the TTL
    /// of its first record (BIND warns "TTL set to prior TTL"). RRSIGs form
    /// one set per covered type (RFC 4034 §3).
    fn batch_ttl(
        &mut self,
        at: &At<'_>,
        t: &Token,
        owner: NameId,
        (rtype, covers): (RType, u16),
        ttl: u32,
        line: u32,
    ) -> u32 {
        let len = self.zone.records.len();
        // As BIND's master-file loader: a new owner ends the glue run; then
        // an owner other than the current run's starts glue when an NS
        // record of the run points to it, else a new run. So in `@ NS ns`,
        // `ns A ...`, `@ NS ns2` the two NS records are one run.
        if self.glue.as_ref().is_some_and(|g| !self.is_owner(g, owner)) {
            self.glue = None;
        }
        if self.glue.is_none() && !self.is_owner(&self.run, owner) {
            if self.run_has_ns_to(owner) {
                self.glue = Some(Run::new(owner, len));
            } else {
                self.run = Run::new(owner, len);
            }
        }
        let run = self.glue.as_mut().unwrap_or(&mut self.run);
        match run
            .ttls
            .iter()
            .find(|&&(t, c, _)| t == rtype && c == covers)
        {
            Some(&(_, _, prior)) if prior != ttl => {
                self.warning(at, line, t.start as usize, format!("TTL {ttl} differs from the TTL {prior} of the earlier {rtype} records at this name; using {prior}"));
                prior
            }
            Some(_) => ttl,
            None => {
                run.ttls.push((rtype, covers, ttl));
                ttl
            }
        }
    }

    fn end_runs(&mut self) {
        self.run = Run::default();
        self.glue = None;
    }

    /// Whether `owner` is the run's owner. Names are compared by their
    /// bytes, as BIND does here (`dns_name_caseequal`): the name table
    /// gives one id to a name only while it repeats.
    fn is_owner(&self, run: &Run, owner: NameId) -> bool {
        run.owner
            .is_some_and(|o| self.zone.names.get(o) == self.zone.names.get(owner))
    }

    /// Whether an NS record of the current run has `target` as its name
    /// (BIND's `is_glue`; names compare without regard to case).
    fn run_has_ns_to(&self, target: NameId) -> bool {
        let Some(owner) = self.run.owner else {
            return false;
        };
        let (owner, target) = (self.zone.names.get(owner), self.zone.names.get(target));
        self.zone.records[self.run.start..].iter().any(|r| {
            self.zone.names.get(r.owner) == owner
                && r.rtype == RType::NS
                && self.zone.rdata_of(r).eq_ignore_ascii_case(target)
        })
    }
}

/// A run of records at one owner, as BIND's loader groups them before
/// adding them to the zone: within a run an RRset keeps the TTL of its
/// first record, and a duplicate keeps the last spelling.
#[derive(Default)]
struct Run {
    owner: Option<NameId>,
    /// (type, covered type, TTL) of each RRset of the run.
    ttls: Vec<(RType, u16, u32)>,
    /// Index in `zone.records` of the run's first record.
    start: usize,
}

impl Run {
    fn new(owner: NameId, start: usize) -> Self {
        Run {
            owner: Some(owner),
            ttls: Vec::new(),
            start,
        }
    }
}

/// Types that may not appear in a zone file, with the reason.
fn refused_type(rtype: RType) -> Option<String> {
    if rtype == RType::MD || rtype == RType::MF {
        return Some(format!("type {rtype} is obsolete (RFC 973): use MX"));
    }
    // BIND refuses type 0 with the meta-types ("invalid use of a meta
    // type"): RFC 6895 reserves it, and no RRset of it can be served.
    if rtype.is_meta() || rtype == RType(0) {
        return Some(format!(
            "type {rtype} is a meta-type and cannot appear in a zone file"
        ));
    }
    if layout(rtype) == Layout::Unknown && rtype.mnemonic().is_some() {
        return Some(format!("type {rtype} cannot appear in a zone file"));
    }
    None
}

/// The bytes of a token.
pub(super) fn raw<'a>(src: &'a [u8], t: &Token) -> &'a [u8] {
    &src[t.start as usize..t.end as usize]
}
