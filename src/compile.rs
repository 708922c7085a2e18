//! `bindbridge compile`: parse + check + render, offline.
//!
//! The same pieces the daemon uses, run on one file: the output is the
//! canonical zone, and `--check` asks `named-checkzone` to confirm that
//! BIND accepts it. Nothing is written when the zone has errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic::{self, Staged};
use crate::bind::{CheckzoneVerdict, checkzone};
use crate::check::check_zone;
use crate::parse::{self, Diagnostic, Options, Severity};
use crate::render::{self, Template, order};
use crate::source::{FsIncludes, canonical_key, io_reason};
use crate::zone::serial::{Policy, next_serial};
use crate::zone::{Class, Name, RType, Zone, name};

/// What `compile` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The zone file.
    pub file: PathBuf,
    /// The origin; otherwise taken from the file.
    pub origin: Option<String>,
    /// Directory for relative paths (the file and `$INCLUDE`s), like `named-checkzone -w`.
    pub workdir: Option<PathBuf>,
    /// A serial policy to apply to the SOA.
    pub serial: Option<Policy>,
    /// A template other than the built-in one.
    pub template: Option<PathBuf>,
    /// Current time for the serial policy, in seconds since the epoch.
    pub now: i64,
}

/// Why compile could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The zone file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file as named on the command line.
        path: String,
        /// Why, in a few words.
        reason: String,
    },
    /// Standard input has no file name to take an origin from.
    #[error(
        "standard input needs --origin: it has no file name to take the origin from, and no $ORIGIN or SOA owner"
    )]
    StdinOrigin,
    /// `--origin` is not a domain name.
    #[error("bad --origin '{origin}': {source}")]
    Origin {
        /// The text given.
        origin: String,
        /// What is wrong with it.
        #[source]
        source: name::NameError,
    },
    /// The template could not be loaded or evaluated.
    #[error(transparent)]
    Template(#[from] render::TemplateError),
    /// named-checkzone could not be run (not its verdict).
    #[error("cannot run named-checkzone: {0}")]
    Checkzone(String),
    /// The output could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// Where it was going.
        path: String,
        /// Why, in a few words.
        reason: String,
        /// What kind of failure (a closed pipe is not one of ours).
        kind: std::io::ErrorKind,
    },
}

impl Error {
    /// Whether standard output was closed by its reader (`| head -1`):
    /// the reader has what it wanted, which is no failure of ours.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Write { kind, .. } => *kind == std::io::ErrorKind::BrokenPipe,
            Error::Template(render::TemplateError::Io(e)) => {
                e.kind() == std::io::ErrorKind::BrokenPipe
            }
            _ => false,
        }
    }
}

/// The result of compiling one file.
pub struct Compiled {
    /// The origin used.
    pub origin: Name,
    /// Every diagnostic, ordered by file and line.
    pub diagnostics: Vec<Diagnostic>,
    /// The parsed, sorted zone.
    pub zone: Zone,
    /// The template that lays it out.
    pub template: Template,
    /// Duplicates merged and TTLs unified by the canonical sort (as BIND
    /// merges and unifies them when it loads the zone).
    pub normalised: order::Normalised,
}

impl Compiled {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Writes the canonical zone to `out`.
    pub fn render(&self, out: &mut dyn Write) -> Result<(), Error> {
        render::render(&self.zone, &self.template, out).map_err(Error::from)
    }

    /// The canonical zone as bytes.
    pub fn render_to_vec(&self) -> Result<Vec<u8>, Error> {
        render::render_to_vec(&self.zone, &self.template).map_err(Error::from)
    }
}

/// Parses, sorts and checks `request.file`; rendering is left to the
/// caller, who streams it where it belongs.
pub fn compile(request: &Request) -> Result<Compiled, Error> {
    let base = request
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut includes = FsIncludes::new(&base);
    let stdin = request.file.as_os_str() == "-";
    let path = includes.resolve(&request.file);
    let read = if stdin {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut text).map(|_| text)
    } else {
        std::fs::read(&path)
    };
    let text = read.map_err(|e| Error::Read {
        path: request.file.display().to_string(),
        reason: io_reason(&e),
    })?;
    let origin = match &request.origin {
        Some(o) => absolute_origin(o)?,
        None => match parse::declared_origin(&text) {
            Some(origin) => origin,
            // "-" would make the origin "-.", which nobody means.
            None if stdin => return Err(Error::StdinOrigin),
            None => origin_from_file_name(&request.file),
        },
    };
    let template = match &request.template {
        Some(p) => Template::from_file(p)?,
        None => Template::builtin(),
    };
    let options = Options {
        origin: origin.clone(),
        class: Class::IN,
        file_name: if stdin {
            "<stdin>".to_string()
        } else {
            request.file.display().to_string()
        },
        source_key: (!stdin).then(|| canonical_key(&path)),
    };
    let parsed = parse::parse_zone(&text, &options, &mut includes);
    drop(text);
    let mut zone = parsed.zone;
    let mut diagnostics = parsed.diagnostics;
    let parse_failed = diagnostics.iter().any(Diagnostic::is_error);
    let normalised = order::sort(&mut zone);
    if let Some(policy) = request.serial
        && let Some(d) = apply_serial(&mut zone, policy, request.now)
    {
        diagnostics.push(d);
    }
    diagnostics.extend(check_zone(&zone, parse_failed));
    sort_diagnostics(&mut diagnostics, &zone.files);
    Ok(Compiled {
        origin,
        diagnostics,
        zone,
        template,
        normalised,
    })
}

fn absolute_origin(text: &str) -> Result<Name, Error> {
    let bytes = text.as_bytes();
    let absolute = if bytes.ends_with(b".") {
        bytes.to_vec()
    } else {
        [bytes, b"."].concat()
    };
    Name::parse(&absolute, None).map_err(|source| Error::Origin {
        origin: text.to_string(),
        source,
    })
}

/// The origin a file name suggests: `db.example.com`, `example.com.zone`,
/// `example.com.db` and `example.com` all give `example.com.`.
pub fn origin_from_file_name(path: &Path) -> Name {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem = file.as_str();
    for suffix in [".zone", ".db", ".hosts", ".txt"] {
        if let Some(s) = stem.strip_suffix(suffix) {
            stem = s;
            break;
        }
    }
    stem = stem.strip_prefix("db.").unwrap_or(stem);
    absolute_origin(stem).unwrap_or_else(|_| Name::root())
}

/// Orders diagnostics by file (in the order files were read), line and column.
fn sort_diagnostics(diagnostics: &mut [Diagnostic], files: &[String]) {
    let file_rank = |f: &str| files.iter().position(|x| x == f).unwrap_or(usize::MAX);
    diagnostics.sort_by(|a, b| {
        (file_rank(&a.file), a.line, a.column).cmp(&(file_rank(&b.file), b.line, b.column))
    });
}

/// Rewrites the SOA serial with `policy`; returns a warning when the
/// policy cannot move the serial forward.
fn apply_serial(zone: &mut Zone, policy: Policy, now: i64) -> Option<Diagnostic> {
    let soa = zone.records.iter().find(|r| r.rtype == RType::SOA)?;
    let (off, line, file) = (soa.rd_off as usize, soa.line, soa.file);
    let serial_at = off + crate::zone::rdata::soa_serial_offset(&zone.rdata[off..])?;
    let bytes: [u8; 4] = zone.rdata.get(serial_at..serial_at + 4)?.try_into().ok()?;
    let current = u32::from_be_bytes(bytes);
    match next_serial(policy, current, &[], now) {
        Ok(next) => {
            zone.rdata[serial_at..serial_at + 4].copy_from_slice(&next.to_be_bytes());
            None
        }
        Err(e) => Some(Diagnostic {
            severity: Severity::Warning,
            file: zone
                .files
                .get(file as usize)
                .map(String::as_str)
                .unwrap_or_default()
                .into(),
            line,
            column: 1,
            message: format!("serial policy {policy} not applied: {e}"),
        }),
    }
}

/// Where the canonical zone goes.
pub enum Destination<'a> {
    /// Standard output.
    Stdout,
    /// A file: a regular file is replaced atomically; a device or pipe
    /// (`/dev/null`, a FIFO) is written into, never replaced.
    File(&'a Path),
}

/// Renders `zone` (sorted) through `template` to `destination`. With
/// `check`, the rendered zone is first shown to named-checkzone, and
/// nothing reaches the destination unless it is accepted. Returns the
/// verdict when `check` was asked.
pub fn write_output(
    zone: &Zone,
    template: &Template,
    destination: Destination<'_>,
    check: bool,
) -> Result<Option<CheckzoneVerdict>, Error> {
    let render = |out: &mut dyn Write| render::render(zone, template, out).map_err(Error::from);
    let (target, regular) = match destination {
        Destination::Stdout => ("standard output".to_string(), false),
        Destination::File(path) => (
            path.display().to_string(),
            std::fs::metadata(path).map_or(true, |m| m.is_file()),
        ),
    };
    let fail = |e: std::io::Error| Error::Write {
        path: target.clone(),
        reason: io_reason(&e),
        kind: e.kind(),
    };
    let open_stream = || -> Result<Box<dyn Write>, Error> {
        Ok(match destination {
            Destination::Stdout => Box::new(std::io::stdout().lock()),
            Destination::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(fail)?,
            ),
        })
    };
    // Streams go straight out when there is nothing to check first.
    if !regular && !check {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, open_stream()?);
        render(&mut out)?;
        return out.flush().map_err(fail).map(|()| None);
    }
    // Otherwise a temporary file: in the target's directory, so that the
    // final rename is atomic, or in the temp dir when it only feeds a stream.
    let dir = match destination {
        Destination::File(path) if regular => atomic::dir_of(path).to_path_buf(),
        _ => std::env::temp_dir(),
    };
    let tmp = Staged::create_in(&dir).map_err(fail)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.file());
        render(&mut out)?;
        out.flush().map_err(fail)?;
    }
    tmp.sync().map_err(fail)?;
    let verdict = match check {
        true => Some(
            checkzone(&zone.origin.to_string(), tmp.path())
                .map_err(|e| Error::Checkzone(e.reason))?,
        ),
        false => None,
    };
    if verdict.as_ref().is_some_and(|v| !v.accepted) {
        return Ok(verdict);
    }
    match destination {
        Destination::File(path) if regular => tmp.install(path).map_err(fail)?,
        _ => {
            let mut out = open_stream()?;
            let mut file = std::fs::File::open(tmp.path()).map_err(fail)?;
            std::io::copy(&mut file, &mut out).map_err(fail)?;
            out.flush().map_err(fail)?;
        }
    }
    Ok(verdict)
}
