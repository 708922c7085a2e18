//! Command-line interface (clap derive). `main.rs` only dispatches.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::zone::serial::Policy;

/// bindbridge: canonical BIND9 zone files, checked the way named checks them.
#[derive(Debug, Parser)]
#[command(name = "bindbridge", version, about)]
pub struct Cli {
    /// The SQLite database [default: ./bindbridge.db]; created with its schema on first use.
    #[arg(long, global = true, value_name = "PATH", env = "BINDBRIDGE_DB")]
    pub db: Option<PathBuf>,
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
    /// Import zone files (or every primary zone of a named.conf) into the database.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Write a stored zone as a canonical zone file.
    Export(ExportArgs),
    /// Inspect stored zones.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Manage user accounts (the owners of zones).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage TSIG keys for DNS UPDATE (RFC 2136).
    #[command(subcommand)]
    Tsig(TsigCommand),
    /// Serve the REST API.
    Serve(ServeArgs),
    /// Print the named.conf text that makes a BIND server a secondary of bindbridge's named.
    #[command(after_help = SECONDARY_CONFIG_HELP)]
    SecondaryConfig(SecondaryConfigArgs),
}

/// Arguments of `secondary-config`.
#[derive(Debug, clap::Args)]
pub struct SecondaryConfigArgs {
    /// Configuration file [default: /etc/bindbridge/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The secondary it is for, as `[[deploy.secondaries]]` lists it (its
    /// key is used) [default: the only one configured].
    #[arg(long, value_name = "ADDRESS[:PORT]")]
    pub secondary: Option<String>,
}

const SECONDARY_CONFIG_HELP: &str = "\
The secondary learns every zone from bindbridge's catalog zone (RFC 9432) and
transfers it from the primary (deploy.primary_address, else deploy.named_dns):
zones created or deleted through bindbridge need no change on the secondary.
List the secondary under [[deploy.secondaries]] too, so that the primary
notifies it and lets it transfer.";

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file [default: /etc/bindbridge/config.toml if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port of the API [default: 127.0.0.1:8053; port 0 picks a free one].
    #[arg(long, value_name = "ADDR")]
    pub api_listen: Option<std::net::SocketAddr>,
    /// Address and port of the DNS UPDATE listener (RFC 2136 with TSIG; UDP and TCP) [default: off; in dev mode a free loopback port].
    #[arg(long, value_name = "ADDR")]
    pub update_listen: Option<std::net::SocketAddr>,
    /// Check the configuration file and exit (0 valid, 2 not).
    #[arg(long)]
    pub check_config: bool,
    /// Run a private named on loopback and deploy to it; with a demo user.
    #[arg(long)]
    pub dev: bool,
    /// Dev mode: where named's files, the zone files and the database go.
    #[arg(long, value_name = "DIR", requires = "dev")]
    pub data_dir: Option<PathBuf>,
    /// Dev mode: address and port named answers DNS on [default: 127.0.0.1:8054].
    #[arg(long, value_name = "ADDR", requires = "dev")]
    pub dns_listen: Option<std::net::SocketAddr>,
    /// Dev mode: a second private named, a secondary that follows the first through the catalog zone.
    #[arg(long, requires = "dev")]
    pub dev_secondary: bool,
    /// Dev mode: address and port the secondary answers DNS on (an address of this machine) [default: 127.0.0.2 at the primary's port].
    #[arg(long, value_name = "ADDR", requires = "dev_secondary")]
    pub secondary_dns: Option<std::net::SocketAddr>,
}

/// `tsig` subcommands.
#[derive(Debug, Subcommand)]
pub enum TsigCommand {
    /// Make a key; it is printed once, in BIND's `key` syntax (for `nsupdate -k FILE`).
    Create {
        /// The user the key acts for.
        #[arg(long)]
        user: String,
        /// The key's name [default: USER-update].
        #[arg(long)]
        name: Option<String>,
        /// Comma-separated zones it may change [default: all of the user's].
        #[arg(long, value_delimiter = ',')]
        zones: Vec<String>,
        /// hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha1 or hmac-md5.
        #[arg(long, default_value = "hmac-sha256")]
        algorithm: String,
    },
    /// List keys (never their secrets).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key by its name.
    Revoke {
        /// The key's name.
        name: String,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed once, alone on standard output.
    Create {
        /// The user the token acts for.
        #[arg(long)]
        user: String,
        /// Comma-separated: dns:list, dns:read, dns:create, dns:update, dns:delete, or dns:*.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
        /// A label to recognise it by.
        #[arg(long, default_value = "")]
        name: String,
        /// Lifetime, in TTL units: 3600, 90m, 30d, 1w2d.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Comma-separated zones it may act on; the API answers 404 for the others [default: all of the user's].
        #[arg(long, value_delimiter = ',', value_name = "ZONES")]
        zones: Vec<String>,
    },
    /// List tokens (their prefixes; never the tokens).
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its prefix.
    Revoke {
        /// The prefix `token list` shows (`vps_1a2b3c4d`).
        prefix: String,
    },
}

const IMPORT_EXAMPLES: &str = "\
Exit status: 0 every zone imported (or unchanged), 1 some zone failed, exists
already without --replace, or failed its --verify proof; 2 import could not
run (unreadable named.conf, database error, named-compilezone missing for --verify).

Examples:
  Import one zone file; the zone name comes from its $ORIGIN or SOA:
    bindbridge import db.example.com

  Move every primary zone of a BIND server, proving each with named-compilezone:
    bindbridge import --named-conf /etc/bind/named.conf --verify

  Same, from a copy of the old server's files under /srv/oldbox:
    bindbridge import --named-conf /srv/oldbox/etc/bind/named.conf --root /srv/oldbox

  See what would happen, without writing anything:
    bindbridge import --dry-run --named-conf /etc/bind/named.conf

  Re-import a zone after editing its file (record uuids that still exist are kept):
    bindbridge import --replace db.example.com";

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Zone files to import.
    #[arg(
        value_name = "FILE",
        required_unless_present = "named_conf",
        conflicts_with = "named_conf"
    )]
    pub files: Vec<PathBuf>,
    /// Import every primary zone declared in this named.conf (includes and `directory` followed).
    #[arg(long, value_name = "FILE")]
    pub named_conf: Option<PathBuf>,
    /// Look absolute paths of the named.conf up under DIR (a copy of another server's files).
    #[arg(long, value_name = "DIR", requires = "named_conf")]
    pub root: Option<PathBuf>,
    /// Owner of the new zones [default: admin, created if missing].
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    /// Zone name, for a single file (default: its $ORIGIN, else SOA owner, else file name).
    #[arg(long, value_name = "NAME", conflicts_with = "named_conf")]
    pub origin: Option<String>,
    /// Replace the content of zones that exist already.
    #[arg(long)]
    pub replace: bool,
    /// Report what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Prove each zone: named-compilezone must list the same records for the
    /// original file and for the zone rendered from the database.
    #[arg(long)]
    pub verify: bool,
    /// Report format (standard output).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The zone: its name or uuid.
    pub zone: String,
    /// Write to FILE (replaced atomically) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Have `named-checkzone -k fail -i local` accept the zone before writing it.
    #[arg(long)]
    pub check: bool,
}

/// `zone` subcommands.
#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// List stored zones.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show who changed a zone, how and when (also for a deleted zone).
    History {
        /// The zone: its name or uuid.
        zone: String,
    },
    /// Show one stored zone: its SOA, nameservers, version and deploy state.
    Show {
        /// The zone: its name or uuid.
        zone: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// The user's name.
        name: String,
        /// Read a dashboard password (the first line) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's dashboard password (read from standard input); their sessions end.
    Passwd {
        /// The user's name.
        name: String,
        /// Read the password (the first line) from standard input; the only way, so that it never shows in a process list.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
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

/// Output format of diagnostics and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people: `file:line:col: error: message`, aligned tables.
    #[default]
    Text,
    /// For programs: one JSON object per line (per diagnostic, zone or user).
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
