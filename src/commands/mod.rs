//! The subcommands behind the command line: each takes its parsed
//! arguments, prints what it has to say and returns the exit code (0 ok,
//! 1 the input or a zone has a problem, 2 could not run).

mod compile;
mod import;
mod secondary;
mod serve;
mod zone;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::store::{DEFAULT_PATH, Store};

/// Runs a parsed command line. The error is standard output failing
/// (closed by its reader, say), which `main` deals with.
pub fn run(cli: Cli) -> std::io::Result<ExitCode> {
    if let Command::Serve(args) = cli.command {
        return Ok(serve::run(cli.db, args));
    }
    let db = cli.db.unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    match cli.command {
        Command::Compile(args) => compile::run(args),
        // An import goes on when its report cannot be written: the
        // zones matter more than the report.
        Command::Import(args) => block_on(async { Ok(import::run(db, args).await) }),
        Command::Export(args) => block_on(zone::export(db, args)),
        Command::Zone(command) => block_on(zone::zone(db, command)),
        Command::User(command) => block_on(zone::user(db, command)),
        Command::Token(command) => block_on(zone::token(db, command)),
        Command::Tsig(command) => block_on(zone::tsig(db, command)),
        Command::SecondaryConfig(args) => secondary::run(args),
        Command::Serve(_) => unreachable!("handled above"),
    }
}

/// Runs a command's future on a runtime of its own: the command line does
/// one thing at a time, so one thread is enough (SQLite runs on sqlx's
/// worker thread beside it).
fn block_on(future: impl Future<Output = std::io::Result<ExitCode>>) -> std::io::Result<ExitCode> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => Ok(could_not_run(&e)),
    }
}

/// Opens the database (creating it) or says why not.
async fn open_store(db: &std::path::Path) -> Result<Store, ExitCode> {
    Store::open(db).await.map_err(|e| could_not_run(&e))
}

/// Opens the database for a command that only reads, or says why not:
/// a database that does not exist is an error, not created.
async fn open_existing_store(db: &std::path::Path) -> Result<Store, ExitCode> {
    Store::open_existing(db)
        .await
        .map_err(|e| could_not_run(&e))
}

/// What a failed write of a zone means: standard output closed by its
/// reader goes up to `main` (which ends quietly), anything else is exit 2.
fn write_failure(e: &crate::compile::Error) -> std::io::Result<ExitCode> {
    match e.is_broken_pipe() {
        true => Err(std::io::ErrorKind::BrokenPipe.into()),
        false => Ok(could_not_run(e)),
    }
}

/// Prints an error with its causes and returns exit code 2.
fn could_not_run(e: &dyn std::error::Error) -> ExitCode {
    let mut message = format!("bindbridge: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // thiserror messages often repeat their source already.
        if !message.ends_with(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    eprintln!("{message}");
    ExitCode::from(2)
}
