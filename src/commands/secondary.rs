//! `bindbridge secondary-config`: the named.conf text that makes a BIND
//! server a secondary of bindbridge's named.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::cli::SecondaryConfigArgs;
use crate::config::Config;

/// `bindbridge secondary-config`: what a secondary's named.conf needs.
pub fn run(args: SecondaryConfigArgs) -> std::io::Result<ExitCode> {
    let fail = |message: String| {
        eprintln!("bindbridge: {message}");
        Ok(ExitCode::from(2))
    };
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c.deploy,
        Err(e) => return fail(e.to_string()),
    };
    let secondary = match &args.secondary {
        None => None,
        Some(text) => {
            let found = config.secondaries.iter().find(|s| {
                text.parse::<SocketAddr>().map_or_else(
                    |_| {
                        text.parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip == s.address)
                    },
                    |addr| addr == s.dns(),
                )
            });
            match found {
                Some(s) => Some(s),
                None => return fail(format!("no secondary {text} in [[deploy.secondaries]]")),
            }
        }
    };
    let conf = match config.secondary_conf(secondary) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if config.secondaries.is_empty() {
        eprintln!(
            "bindbridge: no [[deploy.secondaries]] is configured: list the secondary there too, \
             so that the primary notifies it and lets it transfer"
        );
    }
    let primary = config.primary();
    if config.primary_address.is_none() && primary.ip().is_loopback() {
        eprintln!(
            "bindbridge: deploy.primary_address is not set, so the secondary is told to \
             transfer from {primary} (deploy.named_dns), a loopback address: set \
             primary_address to the address secondaries reach named at"
        );
    }
    write!(
        std::io::stdout(),
        "# A secondary of bindbridge's named at {} port {}: it follows the catalog zone\n\
         # {} and transfers every zone it lists.\n\n\
         # 1. Inside the options {{ }} block of named.conf:\n\n{}\n\
         # 2. At the top level of named.conf:\n\n{}",
        primary.ip(),
        primary.port(),
        config.catalog_zone,
        conf.options,
        conf.statements
    )?;
    Ok(ExitCode::SUCCESS)
}
