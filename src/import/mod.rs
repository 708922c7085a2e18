//! Importing legacy zone files into the store, and proving nothing was lost.
//!
//! Each zone goes through the same parser and checks as `compile`; a zone
//! with errors imports nothing and reports the parser's diagnostics. A
//! valid zone is saved in one transaction (its SOA serial kept), and with
//! `verify` the zone is rendered back from the database and shown to
//! `named-compilezone -s full` beside the original file: the two record
//! sets must be the same, serial aside. [`named_conf`] finds the zones of
//! a whole BIND server.

pub mod named_conf;

use std::path::PathBuf;

use serde::Serialize;

use crate::bind::{self, ToolError};
use crate::compile::{self, Compiled, Request};
use crate::render::{self, Template};
use crate::store::shape::{self, ZoneBuilder, ZoneFields};
use crate::store::{AcceptZone, SaveMode, SaveRequest, Store, StoreError};
use crate::zone::Zone;

/// The account that owns imported zones when no owner is named.
pub const DEFAULT_OWNER: &str = "admin";

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Owner of new zones (default [`DEFAULT_OWNER`]); must exist when named.
    pub owner: Option<String>,
    /// Replace zones that exist already.
    pub replace: bool,
    /// Report only; write nothing.
    pub dry_run: bool,
    /// Run the equivalence proof with named-compilezone.
    pub verify: bool,
    /// Who is importing, for the change log.
    pub actor: String,
}

/// One zone file to import.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The zone file (relative to `workdir`).
    pub file: PathBuf,
    /// The zone's name; otherwise taken from the file.
    pub origin: Option<String>,
    /// Directory for relative paths: the file's and its `$INCLUDE`s'.
    pub workdir: Option<PathBuf>,
    /// Where the zone was found (`named.conf:12`), if not on the command line.
    pub declared_at: Option<String>,
    /// Warnings about the source found before reading it (a newer journal).
    pub notes: Vec<String>,
}

/// What happened to one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// A new zone was stored.
    Created,
    /// An existing zone's content was replaced.
    Replaced,
    /// The zone exists with exactly this content; nothing was written.
    Unchanged,
    /// Dry run: the zone would be created.
    WouldCreate,
    /// Dry run: the zone would be replaced.
    WouldReplace,
    /// Not imported: the zone exists and `--replace` was not given.
    Exists,
    /// Not imported: the file has errors, or could not be read or stored.
    Failed(String),
    /// Not a zone to import (a secondary zone, another class, …).
    Skipped(String),
}

impl Outcome {
    /// True if this zone makes the import as a whole fail.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Exists | Outcome::Failed(_))
    }
}

/// The equivalence proof's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Proof {
    /// Not asked for.
    NotRun,
    /// named-compilezone lists the same records for both.
    Same {
        /// How many records (SOA and NS included).
        records: usize,
    },
    /// The record sets differ.
    Different {
        /// Records only in the original file.
        only_original: Vec<String>,
        /// Records only in the zone rendered from the store.
        only_stored: Vec<String>,
    },
    /// The proof could not be made (BIND refused one of the files).
    Failed {
        /// Why.
        reason: String,
    },
}

/// Everything the import of one zone has to say.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneReport {
    /// The zone's name (without the final dot), or the file's when unknown.
    pub zone: String,
    /// The zone file.
    pub file: String,
    /// Where the zone was declared, for named.conf imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The stored zone's uuid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Records stored as records (the SOA and apex NS set are zone fields).
    pub records: usize,
    /// Apex nameservers stored on the zone.
    pub nameservers: usize,
    /// The SOA serial, kept as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u32>,
    /// For a replace: records added, removed, and kept with a new TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// What was normalised on the way in.
    pub normalised: Vec<String>,
    /// Warnings (the parser's and the checks'), and notes about the source.
    pub warnings: Vec<String>,
    /// Errors: why nothing was imported.
    pub errors: Vec<String>,
    /// The equivalence proof.
    pub proof: Proof,
}

/// Record-level changes of a replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Records added.
    pub added: usize,
    /// Records removed.
    pub removed: usize,
    /// Records kept with a new TTL.
    pub updated: usize,
}

impl ZoneReport {
    fn new(source: &Source) -> Self {
        ZoneReport {
            zone: source.origin.clone().unwrap_or_default(),
            file: source.file.display().to_string(),
            declared_at: source.declared_at.clone(),
            outcome: Outcome::Unchanged,
            uuid: None,
            records: 0,
            nameservers: 0,
            serial: None,
            changes: None,
            normalised: Vec::new(),
            warnings: source.notes.clone(),
            errors: Vec::new(),
            proof: Proof::NotRun,
        }
    }

    /// A report for a zone that is not imported, with the reason.
    pub fn skipped(source: &Source, reason: String) -> Self {
        ZoneReport {
            outcome: Outcome::Skipped(reason),
            ..ZoneReport::new(source)
        }
    }

    /// A report for a zone that fails before its file is read.
    pub fn failed(source: &Source, reason: String) -> Self {
        ZoneReport {
            outcome: Outcome::Failed(reason),
            ..ZoneReport::new(source)
        }
    }
}

/// Why the import of one zone stopped early.
enum Stop {
    /// This zone is not imported, for this reason; the others go on.
    Zone(Outcome),
    /// The store failed: nothing else can be imported either.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ZoneExists(_) => Stop::Zone(Outcome::Exists),
            // A bad row in this zone's stored data fails this zone only.
            StoreError::UnknownUser(_)
            | StoreError::OtherOwner { .. }
            | StoreError::Shape { .. } => Stop::Zone(Outcome::Failed(e.to_string())),
            e => Stop::Store(e),
        }
    }
}

fn failed(reason: impl ToString) -> Stop {
    Stop::Zone(Outcome::Failed(reason.to_string()))
}

/// Imports one zone file. `store` is `None` for a dry run against a
/// database that does not exist yet. `progress` is told how many records
/// have been written. Errors that concern this zone only are in the
/// report; `Err` means the store itself failed.
pub async fn import_zone(
    store: Option<&Store>,
    source: &Source,
    options: &Options,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<ZoneReport, StoreError> {
    let mut report = ZoneReport::new(source);
    match import_into(&mut report, store, source, options, progress).await {
        Ok(()) => Ok(report),
        Err(Stop::Zone(outcome)) => {
            report.outcome = outcome;
            Ok(report)
        }
        Err(Stop::Store(e)) => Err(e),
    }
}

async fn import_into(
    report: &mut ZoneReport,
    store: Option<&Store>,
    source: &Source,
    options: &Options,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<(), Stop> {
    let request = Request {
        file: source.file.clone(),
        origin: source.origin.clone(),
        workdir: source.workdir.clone(),
        ..Request::default()
    };
    let compiled = compile::compile(&request).map_err(failed)?;
    report.zone = shape::domain_text(compiled.origin.wire());
    for d in &compiled.diagnostics {
        match d.is_error() {
            true => report.errors.push(d.to_string()),
            false => report.warnings.push(d.to_string()),
        }
    }
    if compiled.has_errors() {
        let count = report.errors.len();
        let plural = if count == 1 { "" } else { "s" };
        return Err(failed(format!(
            "{count} error{plural} in the zone file; nothing imported"
        )));
    }
    report.normalised = normalisations(&compiled);
    let fields = shape::zone_fields(&compiled.zone).map_err(failed)?;
    report.zone = fields.domain.clone();
    report.serial = Some(fields.soa.serial);
    report.nameservers = fields.nameservers.len();
    match (options.dry_run, store) {
        (false, Some(store)) => {
            save(
                report, store, &compiled, &request, &fields, options, progress,
            )
            .await
        }
        // Without a store to write to, there is only the dry run.
        _ => {
            if let Some(zone) = dry_run(report, store, &compiled, &fields, options).await? {
                report.proof = prove(&compiled, &request, &zone);
            }
            Ok(())
        }
    }
}

/// Says what an import would do, and makes the round trip through the
/// store's shape in memory; returns that zone when it is to be proven.
async fn dry_run(
    report: &mut ZoneReport,
    store: Option<&Store>,
    compiled: &Compiled,
    fields: &ZoneFields,
    options: &Options,
) -> Result<Option<Zone>, Stop> {
    let exists = match store {
        Some(store) => match store.zone(&fields.domain).await {
            Ok(_) => true,
            Err(StoreError::UnknownZone(_)) => false,
            Err(e) => return Err(Stop::Store(e)),
        },
        None => false,
    };
    report.outcome = match (exists, options.replace) {
        (false, _) => Outcome::WouldCreate,
        (true, true) => Outcome::WouldReplace,
        (true, false) => Outcome::Exists,
    };
    let mut builder = ZoneBuilder::new(fields, compiled.zone.records.len()).map_err(failed)?;
    for row in shape::rows(&compiled.zone) {
        report.records += 1;
        builder
            .push_row(&row)
            .map_err(|e| failed(format!("record {row} does not round-trip: {e}")))?;
    }
    Ok(options.verify.then(|| builder.finish()))
}

/// Saves the zone, with its proof when `options.verify`.
async fn save(
    report: &mut ZoneReport,
    store: &Store,
    compiled: &Compiled,
    request: &Request,
    fields: &ZoneFields,
    options: &Options,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<(), Stop> {
    let owner = match &options.owner {
        Some(name) => store.user(name).await?,
        None => store.user_or_add(DEFAULT_OWNER).await?,
    };
    // The proof runs on the zone as read back inside the save's
    // transaction, which commits only if the proof holds.
    let mut proof = Proof::NotRun;
    let mut prove_stored = |stored: &Zone| {
        proof = prove(compiled, request, stored);
        match proof {
            Proof::Same { .. } => Ok(()),
            _ => Err("the equivalence proof failed".to_string()),
        }
    };
    let save = SaveRequest {
        owner: &owner,
        // Without --owner, a replace leaves the zone with its owner.
        keep_owner: options.owner.is_none(),
        fields,
        mode: match options.replace {
            true => SaveMode::Replace,
            false => SaveMode::Create,
        },
        actor: &options.actor,
        source: &report.file,
    };
    let accept: Option<&mut AcceptZone> = match options.verify {
        true => Some(&mut prove_stored),
        false => None,
    };
    let saved = store
        .save_zone(save, shape::rows(&compiled.zone), progress, accept)
        .await;
    report.proof = proof;
    let saved = match saved {
        Err(StoreError::Rejected { .. }) => {
            return Err(failed(
                "the zone as stored is not the zone in the file; nothing imported",
            ));
        }
        other => other?,
    };
    report.records = saved.records;
    report.outcome = match (saved.created, saved.changed) {
        (true, _) => Outcome::Created,
        (false, true) => Outcome::Replaced,
        (false, false) => Outcome::Unchanged,
    };
    if !saved.created {
        report.changes = Some(Changes {
            added: saved.added,
            removed: saved.removed,
            updated: saved.updated,
        });
    }
    report.uuid = Some(saved.uuid);
    Ok(())
}

/// What the import changed about the file's content, beyond layout.
fn normalisations(compiled: &Compiled) -> Vec<String> {
    let mut notes = Vec::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let normalised = compiled.normalised;
    if normalised.duplicates > 0 {
        notes.push(format!(
            "{} duplicate record{} merged",
            normalised.duplicates,
            plural(normalised.duplicates)
        ));
    }
    if normalised.ttls_unified > 0 {
        notes.push(format!(
            "{} record{} took the TTL of the last record of {} RRset, as BIND serves it",
            normalised.ttls_unified,
            plural(normalised.ttls_unified),
            if normalised.ttls_unified == 1 {
                "its"
            } else {
                "their"
            }
        ));
    }
    let includes = compiled.zone.files.len().saturating_sub(1);
    if includes > 0 {
        notes.push(format!(
            "{includes} $INCLUDE file{} inlined",
            plural(includes)
        ));
    }
    notes
}

/// The equivalence proof: named-compilezone on the original file and on
/// the zone as stored give the same records, serial aside.
fn prove(compiled: &Compiled, request: &Request, stored: &Zone) -> Proof {
    match try_prove(compiled, request, stored) {
        Ok(proof) => proof,
        Err(e) => Proof::Failed {
            reason: e.to_string(),
        },
    }
}

fn try_prove(compiled: &Compiled, request: &Request, stored: &Zone) -> Result<Proof, ToolError> {
    let origin = compiled.origin.to_string();
    let workdir = request
        .workdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let io = |e: std::io::Error| ToolError {
        tool: "named-compilezone".into(),
        reason: format!("cannot write the stored zone to a temporary file: {e}"),
    };
    let mut rendered = tempfile::Builder::new()
        .prefix(".bindbridge-verify-")
        .suffix(".zone")
        .tempfile()
        .map_err(io)?;
    render::render(stored, &Template::builtin(), rendered.as_file_mut()).map_err(|e| {
        ToolError {
            tool: "named-compilezone".into(),
            reason: format!("cannot render the stored zone: {e}"),
        }
    })?;
    let original = match bind::compilezone_records(&origin, &request.file, &workdir)? {
        Ok(records) => records,
        Err(reason) => {
            return Ok(Proof::Failed {
                reason: format!("named-compilezone does not load the original: {reason}"),
            });
        }
    };
    let temp_dir = std::env::temp_dir();
    let ours = match bind::compilezone_records(&origin, rendered.path(), &temp_dir)? {
        Ok(records) => records,
        Err(reason) => {
            return Ok(Proof::Failed {
                reason: format!("named-compilezone does not load the stored zone: {reason}"),
            });
        }
    };
    let diff = bind::compare_records(&original, &ours);
    Ok(match diff.is_empty() {
        true => Proof::Same {
            records: original.len(),
        },
        false => Proof::Different {
            only_original: diff.only_first,
            only_stored: diff.only_second,
        },
    })
}
