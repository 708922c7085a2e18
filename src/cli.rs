//! Command-line interface (clap derive). `main.rs` only dispatches.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::zone::serial::Policy;

/// bindbridge: canonical BIND9 zone files, checked the way named checks them.
#[derive(Debug, Parser)]
#[command(name = "bindbridge", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a zone file and print it in canonical form.
    #[command(after_help = COMPILE_EXAMPLES)]
    Compile(CompileArgs),
}

const COMPILE_EXAMPLES: &str = "\
Exit status: 0 the zone is valid (warnings allowed), 1 the zone has errors,
2 compile could not run (missing file, bad flags, named-checkzone missing).

Examples:
  Validate and canonicalise a zone; the origin comes from its $ORIGIN or SOA:
    bindbridge compile db.example.com > example.com.zone

  Name the origin, write to a file, and have named-checkzone confirm it:
    bindbridge compile --origin example.com --check -o example.com.zone db.example.com

  Resolve the file and its $INCLUDEs against a directory, as named-checkzone -w does:
    bindbridge compile -w /etc/bind db.example.com

  Report every problem as JSON lines for CI, without writing the zone:
    bindbridge compile --format json -o /dev/null zones/example.com.zone

  Check a zone produced by another program, read from standard input:
    generate-zone | bindbridge compile --origin example.com -o /dev/null -

  Bump the SOA serial to today's date (YYYYMMDDnn) while canonicalising:
    bindbridge compile --serial date db.example.com";

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// `file:line:col: error: message`
    #[default]
    Text,
    /// One JSON object per line: file, line, column, severity, message.
    Json,
}

/// Arguments of `compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The zone file to compile (`-` reads standard input).
    pub file: PathBuf,
    /// Zone origin (default: the file's $ORIGIN, else the SOA owner, else the file name).
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// Write the canonical zone to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Resolve FILE and relative $INCLUDE paths against DIR, like named-checkzone -w.
    #[arg(short = 'w', long = "directory", value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Also run `named-checkzone -k fail -i local` on the output and report its verdict.
    #[arg(long)]
    pub check: bool,
    /// Diagnostics format (written to standard error).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Apply an SOA serial policy: date, increment, unixtime or keep.
    #[arg(long, value_name = "POLICY")]
    pub serial: Option<Policy>,
    /// Use this template instead of the built-in templates/zone.tera.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}
