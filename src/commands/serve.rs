//! `bindbridge serve`: the REST API on its own runtime.

use std::io::{IsTerminal, Read, Seek, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
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
    let dev_dir = match args.dev {
        true => match data_dir(&args) {
            Ok(dir) => Some(dir),
            Err(e) => return fail(e),
        },
        false => None,
    };
    let db = db
        .or(dev_dir.as_ref().map(|dir| dir.join("bindbridge.db")))
        .or(config.db.clone())
        .unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_PATH));
    // One serve per data directory and per database, decided before
    // anything is touched: a second dev serve would rewrite named.conf
    // with a new rndc port and restart named under the first one's feet,
    // and two deploy workers on one database would fight over it. The
    // locks are held until the process exits.
    let mut locks = Vec::new();
    if let Some(dir) = &dev_dir {
        match InstanceLock::take(&dir.join("bindbridge.lock"), "data directory", dir) {
            Ok(lock) => locks.push(lock),
            Err(e) => return fail(e),
        }
    }
    // A database in a missing directory is left to Store::open to report.
    if db
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir())
    {
        let mut path = db.clone().into_os_string();
        path.push(".lock");
        match InstanceLock::take(Path::new(&path), "database", &db) {
            Ok(lock) => locks.push(lock),
            Err(e) => return fail(e),
        }
    }
    // Dev mode: a private named, and the deploy settings that drive it.
    let dev = match dev_dir {
        Some(dir) => match start_dev(&dir, &args, &mut config.deploy) {
            Ok(dev) => Some(dev),
            Err(e) => return fail(e),
        },
        None => None,
    };
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
        // Dev mode turns the UPDATE listener on at a free loopback port.
        let update_listen = args
            .update_listen
            .or(config.update.listen)
            .or_else(|| dev.map(|_| SocketAddr::from(([127, 0, 0, 1], 0))));
        let updates = match update_listen {
            Some(address) => match crate::dns::Listener::bind(address).await {
                Ok(listener) => Some(listener),
                Err(e) => return fail(e.to_string()),
            },
            None => None,
        };
        let update_address = updates.as_ref().and_then(|l| l.local_addr().ok());
        let responder = crate::dns::Responder {
            store: store.clone(),
            // Without deploys, named never serves the change.
            wait_served: (config.update.reply_when_served && config.deploy.enabled)
                .then(|| std::time::Duration::from_secs(config.update.served_timeout)),
        };
        let updating = updates.map(|l| tokio::spawn(l.run(responder)));
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
        if let Some(update) = update_address {
            eprintln!(
                "bindbridge: DNS UPDATE (RFC 2136, TSIG) listening on {update} (UDP and TCP)"
            );
        }
        if let Some(dev) = dev {
            match dev_welcome(&store, dev, address, update_address).await {
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
        for task in [updating].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
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

/// The dev data directory, created, as an absolute path (named reads every
/// path from its own directory).
fn data_dir(args: &ServeArgs) -> Result<PathBuf, String> {
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("bindbridge-dev"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::canonicalize(&dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

/// Writes the dev data directory `dir`, starts its named and points
/// `deploy` at it; with `--dev-secondary`, starts the secondary (in
/// `DIR/secondary`) and adds it to `deploy`'s secondaries. A named left
/// running by an earlier run of `dir` is stopped first.
fn start_dev(dir: &Path, args: &ServeArgs, deploy: &mut DeployConfig) -> Result<Dev, String> {
    let dns = args
        .dns_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEV_DNS_PORT)));
    let control_port = free_port(dns.ip()).map_err(|e| format!("no free port for rndc: {e}"))?;
    let layout = Layout::new(dir, dns, SocketAddr::new(dns.ip(), control_port));
    // Both leftovers go before either named starts: the old secondary
    // could otherwise hold the new primary's transfers up.
    let secondary_dir = dir.join("secondary");
    let secondary_dns = args
        .secondary_dns
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 2], dns.port())));
    // The control address does not matter here. A secondary left from
    // a run with --dev-secondary goes even when this run has none.
    let old_secondary = Layout::new(&secondary_dir, secondary_dns, layout.control);
    match args.dev_secondary {
        true => old_secondary.reclaim("--secondary-dns")?,
        false => old_secondary.stop_leftover()?,
    }
    layout.reclaim("--dns-listen")?;
    layout.write()?;
    let named = layout.start()?;
    layout.point(deploy);
    if !args.dev_secondary {
        return Ok(Dev {
            named,
            secondary: None,
        });
    }
    let dns = secondary_dns;
    let control = SocketAddr::new(
        layout.control.ip(),
        free_port(layout.control.ip()).map_err(|e| format!("no free port for rndc: {e}"))?,
    );
    let secondary = crate::dev::keyed_secondary(dns);
    deploy.secondaries.retain(|s| s.dns() != dns);
    deploy.secondaries.push(secondary.clone());
    let conf = deploy.secondary_conf(Some(&secondary))?;
    let secondary_layout = Layout::secondary(&secondary_dir, dns, control, conf);
    secondary_layout.write()?;
    let started = secondary_layout.start()?;
    started.wait_listening()?;
    Ok(Dev {
        named,
        secondary: Some(started),
    })
}

/// An exclusive lock on a file beside what one serve owns (its data
/// directory, its database), with that serve's pid in it.
struct InstanceLock {
    /// Locked while open; closed (and so unlocked) when the process
    /// exits, however it exits. std opens files close-on-exec, so the
    /// named we start does not inherit the lock and keep it after us.
    _file: std::fs::File,
}

impl InstanceLock {
    /// Locks `path` for this process, or says which process holds it:
    /// `what` and `owned` name what the lock guards, for the message.
    fn take(path: &Path, what: &str, owned: &Path) -> Result<InstanceLock, String> {
        let io = |e: std::io::Error| format!("cannot lock {}: {e}", path.display());
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        // flock, not fcntl locks: those are per process, and SQLite's
        // own fcntl locks on the database would be mixed up with them.
        // SAFETY: a valid open descriptor; flock touches no memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(io(e));
            }
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            // Empty only in the moment between its lock and its write.
            let pid = match pid.trim() {
                "" => "unknown".to_string(),
                pid => pid.to_string(),
            };
            return Err(format!(
                "{what} {} is in use by another bindbridge serve (pid {pid}); \
                 stop that one first (lock file {})",
                owned.display(),
                path.display()
            ));
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(InstanceLock { _file: file })
    }
}

/// The DNS port of the dev named unless `--dns-listen` says otherwise.
const DEV_DNS_PORT: u16 = 8054;

/// The demo user's token, made at the first start, and how to try it all.
async fn dev_welcome(
    store: &Store,
    dev: &Dev,
    api: SocketAddr,
    update: Option<SocketAddr>,
) -> Result<String, StoreError> {
    let layout = dev.named.layout();
    let db = layout.dir.join("bindbridge.db");
    let token = match store.user("demo").await {
        Ok(_) => None,
        Err(StoreError::UnknownUser(_)) => {
            store.add_user("demo").await?;
            let all = vec!["dns:*".to_string()];
            Some(
                store
                    .create_token("demo", "dev demo", &all, &[], None)
                    .await?
                    .0,
            )
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
    // A password for the dashboard, made (and shown) once, like the token;
    // a demo user from before the dashboard gets one at its next start.
    let password = match store.has_password("demo").await? {
        true => None,
        false => {
            let password = crate::web::new_password().map_err(|e| {
                StoreError::Password(format!("no randomness for the demo password: {e}"))
            })?;
            store.set_password("demo", &password).await?;
            Some(password)
        }
    };
    let password_line = match &password {
        Some(p) => format!("user demo, password {p} (shown once)"),
        None => format!(
            "user demo, with the password shown at the first start; set another with:\n  \
             printf '%s\\n' 'NEW PASSWORD' | bindbridge --db {} user passwd demo --password-stdin",
            db.display()
        ),
    };
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
    let update_lines = match update {
        Some(update) => format!(
            "\nDNS UPDATE (RFC 2136) with TSIG, e.g. what certbot's rfc2136 plugin sends:\n\n  \
             bindbridge --db {db} tsig create --user demo --name demo-update > demo.key\n  \
             printf 'server {ip} {port}\\nzone example.com\\nupdate add _acme-challenge.example.com 60 TXT token\\nsend\\n' \\\n    \
             | nsupdate -k demo.key\n  \
             dig @{named_ip} -p {named_port} _acme-challenge.example.com TXT +norecurse\n",
            db = db.display(),
            ip = update.ip(),
            port = update.port(),
            named_ip = layout.dns.ip(),
            named_port = layout.dns.port(),
        ),
        None => String::new(),
    };
    Ok(format!(
        "\nbindbridge dev mode: named serves the zones on {dns} (UDP and TCP), its files in {dir}.\n\n\
         Dashboard: http://{api}/account/login\n  {password_line}\n  \
         (add a zone and a record under DNS zones, then the dig line below shows it served)\n\n\
         {token_line}\n\
         Try it:\n\n  \
         TOKEN={shown_token}\n  \
         curl -s -X POST http://{api}/api/v1/dns-zones/ -H \"Authorization: Bearer $TOKEN\" \\\n       \
         -H 'Content-Type: application/json' -d '{{\"domain\": \"example.com\"}}'\n  \
         ZONE=<the uuid it printed>\n  \
         curl -s -X POST http://{api}/api/v1/dns-zones/$ZONE/records/ -H \"Authorization: Bearer $TOKEN\" \\\n       \
         -H 'Content-Type: application/json' -d '{{\"name\": \"www\", \"record_type\": \"A\", \"value\": \"192.0.2.1\"}}'\n  \
         dig @{ip} -p {port} www.example.com A +norecurse\n\
         {secondary_line}{update_lines}",
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
