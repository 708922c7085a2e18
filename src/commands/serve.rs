//! `bindbridge serve`: the REST API on its own runtime.

use std::path::PathBuf;
use std::process::ExitCode;

use super::could_not_run;
use crate::api::{self, AppState, ZoneDefaults};
use crate::cli::ServeArgs;
use crate::store::Store;

/// Serves until killed.
pub fn run(db: PathBuf, args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return could_not_run(&e),
    };
    runtime.block_on(async move {
        let store = match Store::open(&db).await {
            Ok(s) => s,
            Err(e) => return could_not_run(&e),
        };
        let listener = match tokio::net::TcpListener::bind(args.api_listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bindbridge: cannot listen on {}: {e}", args.api_listen);
                return ExitCode::from(2);
            }
        };
        let address = listener.local_addr().map_or(args.api_listen, |a| a);
        eprintln!("bindbridge: API listening on http://{address}");
        let state = AppState {
            store,
            zone_defaults: ZoneDefaults::default(),
        };
        match api::serve(listener, state).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => could_not_run(&e),
        }
    })
}
