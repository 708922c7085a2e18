//! The `bindbridge` binary: parse the command line and run it; exit codes
//! are 0 ok, 1 the input has errors, 2 could not run.

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser;

use bindbridge::cli::Cli;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // The reader of our output has gone (`bindbridge zone list | head
        // -1`): it has all it wanted. End quietly, as ripgrep does, not
        // with print!'s panic.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bindbridge: cannot write standard output: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command line; the error is standard output failing.
fn run() -> std::io::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            e.print()?;
            // clap exits 0 for --help and --version, 2 for usage errors.
            return Ok(ExitCode::from(if e.use_stderr() { 2 } else { 0 }));
        }
    };
    bindbridge::commands::run(cli)
}
