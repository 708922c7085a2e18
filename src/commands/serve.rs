//! `bindbridge serve`: the REST API on its own runtime.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::could_not_run;
use crate::api::{self, AppState};
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::deploy::Deployer;
use crate::store::Store;

/// Serves until killed. `db` is the `--db` flag, which wins over the file.
pub fn run(db: Option<PathBuf>, args: ServeArgs) -> ExitCode {
    init_logging();
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bindbridge: {e}");
            return ExitCode::from(2);
        }
    };
    let zone_defaults = match config.zone_defaults() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bindbridge: {e}");
            return ExitCode::from(2);
        }
    };
    let db = db
        .or(config.db.clone())
        .unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_PATH));
    let listen = args
        .api_listen
        .or(config.api_listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8053)));
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
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bindbridge: cannot listen on {}: {e}", listen);
                return ExitCode::from(2);
            }
        };
        store.spawn_checkpointer();
        if config.deploy.enabled {
            let deployer = match Deployer::new(store.clone(), &config.deploy) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("bindbridge: {e}");
                    return ExitCode::from(2);
                }
            };
            let (wake, wake_rx) = tokio::sync::watch::channel(0u64);
            tokio::spawn(async move {
                // Nothing wakes the worker from outside yet; the sender lives
                // as long as the worker, so its receiver never reports closed.
                let _wake = wake;
                deployer.run(wake_rx).await
            });
        }
        let address = listener.local_addr().map_or(listen, |a| a);
        eprintln!("bindbridge: API listening on http://{address}");
        let state = AppState {
            store,
            zone_defaults,
        };
        match api::serve(listener, state).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => could_not_run(&e),
        }
    })
}

/// Logs go to stderr (the journal, under systemd), at the level that
/// `BINDBRIDGE_LOG` sets in `tracing`'s filter syntax (default `info`;
/// `debug` adds a line per API request).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BINDBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests run several servers in one process) keeps the
    // first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
