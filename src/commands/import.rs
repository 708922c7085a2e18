//! `bindbridge import`: zone files, or every primary zone of a named.conf,
//! into the database, with a report per zone.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::could_not_run;
use crate::bind;
use crate::cli::{Format, ImportArgs};
use crate::import::named_conf::{self, ConfZone};
use crate::import::{self, Options, Outcome, Proof, Source, ZoneReport};
use crate::store::{Store, StoreError};

/// `bindbridge import …`.
pub async fn run(db: PathBuf, args: ImportArgs) -> ExitCode {
    if args.verify && !bind::tool_available("named-compilezone") {
        eprintln!(
            "bindbridge: --verify needs named-compilezone, which is not installed \
             (Debian: apt-get install bind9-utils)"
        );
        return ExitCode::from(2);
    }
    if args.origin.is_some() && args.files.len() > 1 {
        eprintln!("bindbridge: --origin names one zone; give one file with it");
        return ExitCode::from(2);
    }
    let (sources, mut reports) = match &args.named_conf {
        Some(conf) => match sources_from_named_conf(conf, args.root.as_deref()) {
            Ok(found) => found,
            Err(code) => return code,
        },
        None => (sources_from_files(&args), Vec::new()),
    };
    // A dry run only reads, and against a database that does not exist
    // creates nothing.
    let opened = match (args.dry_run, db.exists()) {
        (true, false) => Ok(None),
        (true, true) => Store::open_read_only(&db).await.map(Some),
        (false, _) => Store::open(&db).await.map(Some),
    };
    let store = match opened {
        Ok(s) => s,
        Err(e) => return could_not_run(&e),
    };
    // A misspelt owner fails the whole import up front, not zone by zone.
    if let Some(owner) = &args.owner {
        let known = match &store {
            Some(store) => store.user(owner).await,
            None => Err(StoreError::UnknownUser(owner.clone())),
        };
        if let Err(e) = known {
            if let Some(store) = store {
                store.close().await;
            }
            return match e {
                StoreError::UnknownUser(_) => {
                    eprintln!("bindbridge: {e}");
                    ExitCode::from(1)
                }
                e => could_not_run(&e),
            };
        }
    }
    let options = Options {
        owner: args.owner.clone(),
        replace: args.replace,
        dry_run: args.dry_run,
        verify: args.verify,
        actor: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
    };
    for report in &reports {
        print_report(report, args.format);
    }
    let bar = progress_bar(sources.len());
    for source in &sources {
        let label = source
            .origin
            .clone()
            .unwrap_or_else(|| source.file.display().to_string());
        bar.set_message(format!("{label}: parsing"));
        let mut progress = |rows: usize| bar.set_message(format!("{label}: {rows} records stored"));
        let report = import::import_zone(store.as_ref(), source, &options, &mut progress).await;
        bar.inc(1);
        match report {
            Ok(report) => {
                bar.suspend(|| print_report(&report, args.format));
                reports.push(report);
            }
            Err(e) => {
                bar.finish_and_clear();
                if let Some(store) = store {
                    store.close().await;
                }
                eprintln!("bindbridge: stopped while importing {label}");
                return could_not_run(&e);
            }
        }
    }
    bar.finish_and_clear();
    if let Some(store) = store {
        store.close().await;
    }
    let failed = reports.iter().filter(|r| failure(r, args.verify)).count();
    if args.format == Format::Text {
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            summary(&reports, args.dry_run, failed)
        );
    }
    match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// A zone counts as failed when it was not imported, or when its proof,
/// asked for, did not hold.
fn failure(report: &ZoneReport, verify: bool) -> bool {
    report.outcome.is_failure()
        || (verify
            && !matches!(report.outcome, Outcome::Skipped(_))
            && !matches!(report.proof, Proof::Same { .. }))
}

fn sources_from_files(args: &ImportArgs) -> Vec<Source> {
    args.files
        .iter()
        .map(|file| Source {
            file: file.clone(),
            origin: args.origin.clone(),
            notes: journal_note(file).into_iter().collect(),
            ..Source::default()
        })
        .collect()
}

/// The primary zones of a named.conf, and reports for the zones skipped.
fn sources_from_named_conf(
    conf: &Path,
    root: Option<&Path>,
) -> Result<(Vec<Source>, Vec<ZoneReport>), ExitCode> {
    let config = named_conf::read_with_root(conf, root).map_err(|e| {
        eprintln!("bindbridge: cannot read the BIND configuration: {e}");
        ExitCode::from(2)
    })?;
    let directory = std::path::absolute(&config.directory).unwrap_or(config.directory.clone());
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for zone in &config.zones {
        let declared_at = format!("{}:{}", zone.source.display(), zone.line);
        let source = Source {
            file: zone
                .file
                .as_ref()
                .map(|f| std::path::absolute(f).unwrap_or(f.clone()))
                .unwrap_or_default(),
            origin: Some(zone.name.clone()),
            workdir: Some(directory.clone()),
            declared_at: Some(declared_at.clone()),
            notes: Vec::new(),
        };
        match conf_zone_problem(zone) {
            Some(Problem::Skip(reason)) => skipped.push(ZoneReport::skipped(&source, reason)),
            Some(Problem::Fail(reason)) => skipped.push(ZoneReport::failed(&source, reason)),
            None => {
                let key = zone.name.trim_end_matches('.').to_ascii_lowercase();
                if let Some((_, first)) = seen.iter().find(|(name, _)| *name == key) {
                    let reason = format!("declared again (first at {first}, which is imported)");
                    skipped.push(ZoneReport::skipped(&source, reason));
                    continue;
                }
                seen.push((key, declared_at));
                let mut notes: Vec<String> = journal_note(&source.file).into_iter().collect();
                if zone.dynamic {
                    notes.push(
                        "the zone takes dynamic updates on the old server (allow-update or \
                         update-policy); bindbridge serves it from the store, so later changes \
                         go through bindbridge"
                            .into(),
                    );
                }
                sources.push(Source { notes, ..source });
            }
        }
    }
    Ok((sources, skipped))
}

enum Problem {
    Skip(String),
    Fail(String),
}

/// Why a zone statement is not imported, if it is not.
fn conf_zone_problem(zone: &ConfZone) -> Option<Problem> {
    if let Some(view) = &zone.in_view {
        return Some(Problem::Skip(format!(
            "in-view {view}: imported with that view's zone"
        )));
    }
    match zone.kind.as_deref() {
        None => return Some(Problem::Fail("the zone statement has no type".into())),
        Some(_) if !zone.is_primary() => {
            let kind = zone.kind.clone().unwrap_or_default();
            return Some(Problem::Skip(format!(
                "type {kind}: only primary zones are imported"
            )));
        }
        Some(_) => {}
    }
    if let Some(class) = &zone.class
        && !class.eq_ignore_ascii_case("IN")
    {
        return Some(Problem::Skip(format!(
            "class {class}: only IN zones are served"
        )));
    }
    if zone.file.is_none() {
        return Some(Problem::Fail("the zone statement has no file".into()));
    }
    match zone.format.as_deref() {
        None | Some("text") => None,
        Some(format) => Some(Problem::Fail(format!(
            "masterfile-format {format}: convert the file to text first \
             (named-compilezone -f {format} -F text -o NEW.zone {} FILE)",
            zone.name
        ))),
    }
}

/// A journal newer than the zone file holds dynamic updates the file does
/// not have yet: importing the file alone would lose them.
fn journal_note(file: &Path) -> Option<String> {
    let mut journal = file.as_os_str().to_owned();
    journal.push(".jnl");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let journal_time = modified(Path::new(&journal))?;
    let file_time = modified(file)?;
    (journal_time > file_time).then(|| {
        format!(
            "{} is newer than the zone file: dynamic updates may be missing from it; \
             run `rndc sync ZONE` on the old server and import again",
            Path::new(&journal).display()
        )
    })
}

/// A bar over the zones, with the current zone's progress as its message;
/// hidden unless standard error is a terminal.
fn progress_bar(zones: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(zones as u64);
    let template = match zones {
        1 => "{spinner} {msg} ({elapsed})",
        _ => "{spinner} [{bar:30}] {pos}/{len} zones  {msg} ({elapsed})",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Prints a zone's report. A closed standard output does not stop the
/// import (the zones matter more than their report), nor panic as print!
/// would.
fn print_report(report: &ZoneReport, format: Format) {
    let mut out = std::io::stdout();
    let _ = match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(report).unwrap_or_else(|_| "{}".into())
        ),
        Format::Text => out.write_all(report_text(report).as_bytes()),
    };
}

/// The report of one zone, for people.
pub fn report_text(r: &ZoneReport) -> String {
    let zone = if r.zone.is_empty() { &r.file } else { &r.zone };
    let stored = format!(
        "{} record{} + SOA + {} NS, serial {}",
        r.records,
        if r.records == 1 { "" } else { "s" },
        r.nameservers,
        r.serial.map_or("-".into(), |s| s.to_string())
    );
    let head = match &r.outcome {
        Outcome::Created => format!("imported: {stored}"),
        Outcome::Replaced => {
            let c = r.changes.unwrap_or(import::Changes {
                added: 0,
                removed: 0,
                updated: 0,
            });
            format!(
                "replaced: {stored} ({} added, {} removed, {} new TTL)",
                c.added, c.removed, c.updated
            )
        }
        Outcome::Unchanged => format!("unchanged: {stored}, the same as stored"),
        Outcome::WouldCreate => format!("would import: {stored}"),
        Outcome::WouldReplace => format!("would replace the stored zone: {stored}"),
        Outcome::Exists => {
            "NOT imported: the zone exists already (use --replace to replace it)".into()
        }
        Outcome::Failed(reason) => format!("FAILED: {reason}"),
        Outcome::Skipped(reason) => format!("skipped: {reason}"),
    };
    let mut out = format!("{zone}: {head}\n");
    let from = match &r.declared_at {
        Some(at) => format!("  file {} (zone declared at {at})\n", r.file),
        None => format!("  file {}\n", r.file),
    };
    if r.zone != r.file && !r.file.is_empty() {
        out.push_str(&from);
    }
    if let Some(uuid) = &r.uuid {
        out.push_str(&format!("  uuid {uuid}\n"));
    }
    for n in &r.normalised {
        out.push_str(&format!("  normalised: {n}\n"));
    }
    for w in &r.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    for e in &r.errors {
        out.push_str(&format!("  error: {e}\n"));
    }
    match &r.proof {
        Proof::NotRun => {}
        Proof::Same { records } => out.push_str(&format!(
            "  verified: named-compilezone lists the same {records} records for the file and the stored zone (serial aside)\n"
        )),
        Proof::Different {
            only_original,
            only_stored,
        } => {
            out.push_str("  VERIFY FAILED: the record sets differ\n");
            for l in only_original {
                out.push_str(&format!("    only in the file:   {l}\n"));
            }
            for l in only_stored {
                out.push_str(&format!("    only in the store:  {l}\n"));
            }
        }
        Proof::Failed { reason } => out.push_str(&format!("  VERIFY FAILED: {reason}\n")),
    }
    out
}

fn summary(reports: &[ZoneReport], dry_run: bool, failed: usize) -> String {
    let count = |f: fn(&Outcome) -> bool| reports.iter().filter(|r| f(&r.outcome)).count();
    let imported = count(|o| matches!(o, Outcome::Created | Outcome::WouldCreate));
    let replaced = count(|o| matches!(o, Outcome::Replaced | Outcome::WouldReplace));
    let unchanged = count(|o| matches!(o, Outcome::Unchanged));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let zones = format!(
        "{} zone{}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" }
    );
    match dry_run {
        true => format!(
            "dry run, nothing written: {zones}: {imported} to import, {replaced} to replace, {skipped} skipped, {failed} failed"
        ),
        false => format!(
            "{zones}: {imported} imported, {replaced} replaced, {unchanged} unchanged, {skipped} skipped, {failed} failed"
        ),
    }
}
