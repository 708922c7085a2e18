//! The `bindbridge` binary: parse the command line and run it; exit codes
//! are 0 ok, 1 the input has errors, 2 could not run.

use std::process::ExitCode;

use clap::Parser;

use bindbridge::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help and --version, 2 for usage errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    bindbridge::commands::run(cli)
}
