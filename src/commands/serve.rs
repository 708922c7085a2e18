//! `bindbridge serve`: the REST API on its own runtime.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::could_not_run;
use crate::api::{self, AppState};
use crate::cli::ServeArgs;
use crate::config::{Config, DeployConfig};
use crate::deploy::{Deployer, SecondaryWatch, watch_database, watch_sources};
use crate::dev::{Layout, PrivateNamed, free_port};
use crate::store::{Store, StoreError};

/// Serves until SIGTERM or Ctrl-C. `db` is the `--db` flag, which wins
/// over the file (and over the data directory of `--dev`).
pub fn run(db: Option<PathBuf>, args: ServeArgs) -> ExitCode {
    init_logging();
    let fail = |message: String| {
        eprintln!("bindbridge: {message}");
        ExitCode::from(2)
    };
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let zone_defaults = match config.zone_defaults() {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    if args.check_config {
        println!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    // Before any thread starts, so that all of them share the new limit.
    let fd_limit = api::server::raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return could_not_run(&e),
    };
    // From here on, SIGTERM and SIGINT stop the daemon the orderly way
    // (the dev named included), even while it is still starting.
    let shutdown = match runtime.block_on(async { shutdown_signal() }) {
        Ok(s) => s,
        Err(e) => return could_not_run(&e),
    };
    // Dev mode: a private named, and the deploy settings that drive it.
    let dev = match args.dev {
        true => match start_dev(&args, &mut config.deploy) {
            Ok(dev) => Some(dev),
            Err(e) => return fail(e),
        },
        false => None,
    };
    let db = db
        .or(dev
            .as_ref()
            .map(|d| d.named.layout().dir.join("bindbridge.db")))
        .or(config.db.clone())
        .unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_PATH));
    let listen = args
        .api_listen
        .or(config.api_listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8053)));
    let dev = dev.as_ref();
    runtime.block_on(async move {
        let store = match Store::open(&db).await {
            Ok(s) => s,
            Err(e) => return could_not_run(&e),
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
        };
        store.spawn_checkpointer();
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
        let mut checking = None;
        let deploying = match config.deploy.enabled {
            true => match Deployer::new(store.clone(), &config.deploy, metrics.clone()) {
                Ok(deployer) => {
                    let (wake, wake_rx) = tokio::sync::watch::channel(0u64);
                    let watcher = match watch_database(&db, wake) {
                        Ok(w) => w,
                        Err(e) => return fail(e),
                    };
                    checking = match SecondaryWatch::new(store.clone(), &config.deploy) {
                        Ok(Some(watch)) => Some(tokio::spawn(watch.run(deployer.deployed()))),
                        Ok(None) => {
                            // None configured: none to show any more.
                            if let Err(e) = store.keep_secondaries(&[]).await {
                                return could_not_run(&e);
                            }
                            None
                        }
                        Err(e) => return fail(e),
                    };
                    Some(tokio::spawn(async move {
                        // The watcher (and with it the sender) lives as long
                        // as the worker.
                        let _watcher = watcher;
                        deployer.run(wake_rx).await
                    }))
                }
                Err(e) => return fail(e),
            },
            false => None,
        };
        let watching = match &config.deploy.source_dir {
            Some(dir) => match watch_sources(dir, store.clone()) {
                Ok(task) => Some(task),
                Err(e) => return fail(e),
            },
            None => None,
        };
        let address = listener.local_addr().map_or(listen, |a| a);
        eprintln!("bindbridge: API listening on http://{address}");
        if let Some(dev) = dev {
            match dev_welcome(&store, dev, address).await {
                Ok(text) => eprintln!("{text}"),
                Err(e) => return could_not_run(&e),
            }
        }
        crate::systemd::notify("READY=1");
        crate::systemd::spawn_watchdog();
        let catalog_zone = match config.deploy.enabled {
            true => config
                .deploy
                .catalog_origin()
                .ok()
                .map(|n| crate::store::shape::domain_text(n.wire())),
            false => None,
        };
        let state = AppState {
            store: store.clone(),
            zone_defaults,
            metrics,
            catalog_zone,
        };
        let limits = api::server::Limits::new(&config.api, fd_limit);
        let served = api::serve(listener, state, limits, shutdown).await;
        // The deploy worker is stopped between two steps of a deploy; a
        // zone file is only ever replaced by a rename, so named keeps a
        // whole file, and the next start reconciles.
        for task in [watching, checking, deploying].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        store.close().await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => could_not_run(&e),
        }
    })
}

/// A future that resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed now, when this is called: a signal that comes before the
/// future is first polled (right after READY, say) is kept for it instead
/// of killing the process the default way.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("stopping");
        crate::systemd::notify("STOPPING=1");
    })
}

/// A running dev mode: its private named, and its secondary if asked for.
struct Dev {
    named: PrivateNamed,
    secondary: Option<PrivateNamed>,
}

/// Writes the dev data directory, starts its named and points `deploy` at
/// it; with `--dev-secondary`, starts the secondary (in `DIR/secondary`)
/// and adds it to `deploy`'s secondaries.
fn start_dev(args: &ServeArgs, deploy: &mut DeployConfig) -> Result<Dev, String> {
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bindbridge-dev"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // named reads every path from its own directory: all absolute.
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let dns = args
        .dns_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEV_DNS_PORT)));
    let control_port = free_port(dns.ip()).map_err(|e| format!("no free port for rndc: {e}"))?;
    let layout = Layout::new(&dir, dns, SocketAddr::new(dns.ip(), control_port));
    layout.write()?;
    let named = layout.start()?;
    layout.point(deploy);
    if !args.dev_secondary {
        return Ok(Dev {
            named,
            secondary: None,
        });
    }
    let dns = args
        .secondary_dns
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 2], layout.dns.port())));
    let control = SocketAddr::new(
        layout.control.ip(),
        free_port(layout.control.ip()).map_err(|e| format!("no free port for rndc: {e}"))?,
    );
    let secondary = crate::dev::keyed_secondary(dns);
    deploy.secondaries.retain(|s| s.dns() != dns);
    deploy.secondaries.push(secondary.clone());
    let conf = deploy.secondary_conf(Some(&secondary))?;
    let secondary_layout = Layout::secondary(&dir.join("secondary"), dns, control, conf);
    secondary_layout.write()?;
    let started = secondary_layout.start()?;
    started.wait_listening()?;
    Ok(Dev {
        named,
        secondary: Some(started),
    })
}

/// The DNS port of the dev named unless `--dns-listen` says otherwise.
const DEV_DNS_PORT: u16 = 8054;

/// The demo user's token, made at the first start, and how to try it all.
async fn dev_welcome(store: &Store, dev: &Dev, api: SocketAddr) -> Result<String, StoreError> {
    let layout = dev.named.layout();
    let db = layout.dir.join("bindbridge.db");
    let token = match store.user("demo").await {
        Ok(_) => None,
        Err(StoreError::UnknownUser(_)) => {
            store.add_user("demo").await?;
            let all = vec!["dns:*".to_string()];
            Some(store.create_token("demo", "dev demo", &all, None).await?.0)
        }
        Err(e) => return Err(e),
    };
    let token_line = match &token {
        Some(token) => {
            format!("Demo token (shown once; it is stored only as a hash):\n\n  {token}\n")
        }
        None => format!(
            "The demo token was shown at the first start. Make another with:\n\n  \
             bindbridge --db {} token create --user demo --permissions 'dns:*'\n",
            db.display()
        ),
    };
    let shown_token = token.as_deref().unwrap_or("TOKEN");
    let secondary_line = match &dev.secondary {
        Some(secondary) => {
            let dns = secondary.layout().dns;
            format!(
                "  dig @{} -p {} www.example.com A +norecurse   # the secondary, from the catalog zone\n",
                dns.ip(),
                dns.port()
            )
        }
        None => String::new(),
    };
    Ok(format!(
        "\nbindbridge dev mode: named serves the zones on {dns} (UDP and TCP), its files in {dir}.\n\n\
         {token_line}\n\
         Try it:\n\n  \
         TOKEN={shown_token}\n  \
         curl -s -X POST http://{api}/api/v1/dns-zones/ -H \"Authorization: Bearer $TOKEN\" \\\n       \
         -H 'Content-Type: application/json' -d '{{\"domain\": \"example.com\"}}'\n  \
         ZONE=<the uuid it printed>\n  \
         curl -s -X POST http://{api}/api/v1/dns-zones/$ZONE/records/ -H \"Authorization: Bearer $TOKEN\" \\\n       \
         -H 'Content-Type: application/json' -d '{{\"name\": \"www\", \"record_type\": \"A\", \"value\": \"192.0.2.1\"}}'\n  \
         dig @{ip} -p {port} www.example.com A +norecurse\n\
         {secondary_line}",
        dns = layout.dns,
        dir = layout.dir.display(),
        ip = layout.dns.ip(),
        port = layout.dns.port(),
    ))
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
