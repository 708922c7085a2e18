//! A private named on loopback: what `serve --dev` runs, and what the tests
//! run, so that the whole loop (API → zone file → named → dig) works on a
//! fresh machine without touching the system's BIND.
//!
//! Everything lives in one data directory: `named.conf`, the rndc key, the
//! zones include file, the zone files and named's own working files. named
//! listens on 127.0.0.1 only, at a high port, without recursion.
//!
//! A second private named can follow the first as a secondary, configured
//! with nothing but what `bindbridge secondary-config` prints: it learns
//! the zones from the catalog zone and transfers them.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{DeployConfig, Secondary};
use crate::deploy::files::SecondaryConf;

/// How long named may take to start answering rndc.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The files of a private named in its data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The data directory.
    pub dir: PathBuf,
    /// Where named answers DNS (UDP and TCP).
    pub dns: SocketAddr,
    /// Where named takes rndc commands.
    pub control: SocketAddr,
    /// For a secondary: what makes it follow the primary.
    pub secondary: Option<SecondaryConf>,
}

/// The TSIG key a dev secondary transfers with.
pub const TRANSFER_KEY: &str = "bindbridge-transfer";

/// A private named answering on `dns` as a secondary of the deploy
/// config's primary, transferring with the primary's transfer key.
pub fn keyed_secondary(dns: SocketAddr) -> Secondary {
    Secondary {
        address: dns.ip(),
        port: dns.port(),
        key: Some(TRANSFER_KEY.to_string()),
    }
}

impl Layout {
    /// The layout in `dir` with these addresses.
    pub fn new(dir: &Path, dns: SocketAddr, control: SocketAddr) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            dns,
            control,
            secondary: None,
        }
    }

    /// The layout of a secondary in `dir` with these addresses, following
    /// a primary through `conf`.
    pub fn secondary(
        dir: &Path,
        dns: SocketAddr,
        control: SocketAddr,
        conf: SecondaryConf,
    ) -> Layout {
        Layout {
            secondary: Some(conf),
            ..Layout::new(dir, dns, control)
        }
    }

    /// named's configuration file.
    pub fn named_conf(&self) -> PathBuf {
        self.dir.join("named.conf")
    }

    /// The rndc key (a `key` statement).
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("rndc.key")
    }

    /// A primary's transfer key ([`TRANSFER_KEY`]), for its secondaries.
    pub fn transfer_key_file(&self) -> PathBuf {
        self.dir.join("transfer.key")
    }

    /// named's log (its standard error).
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("named.log")
    }

    /// Where named writes its pid (the `pid-file` of [`Layout::write`]).
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("named").join("named.pid")
    }

    /// Makes way for this layout's named: stops a named that an earlier
    /// run of this directory left running (its bindbridge killed before it
    /// could stop it; a new one would share the port with it through
    /// SO_REUSEPORT and half the queries would get its stale answers),
    /// then refuses if the DNS address is still taken, by something else.
    /// `flag` is the option that chooses another address.
    pub fn reclaim(&self, flag: &str) -> Result<(), String> {
        self.stop_leftover()?;
        address_free(self.dns).map_err(|e| {
            format!(
                "cannot serve DNS on {}: {e}; another program uses it \
                 (stop it, or choose another address with {flag})",
                self.dns
            )
        })
    }

    /// Stops a named that an earlier run of this directory left running.
    pub fn stop_leftover(&self) -> Result<(), String> {
        match self.leftover_named() {
            Some(pid) => {
                tracing::info!(
                    "stopping named (pid {pid}) left running by an earlier run of {}",
                    self.dir.display()
                );
                stop_process(pid)
            }
            None => Ok(()),
        }
    }

    /// The pid of a named still running on this layout's named.conf, as
    /// its pid file names it. The pid is only trusted once /proc shows it
    /// is a named started on this very named.conf: after a reboot the
    /// number may belong to anything.
    fn leftover_named(&self) -> Option<libc::pid_t> {
        let text = std::fs::read_to_string(self.pid_file()).ok()?;
        // Never 0 or negative: kill would signal a whole process group.
        let pid = text
            .trim()
            .parse::<libc::pid_t>()
            .ok()
            .filter(|&pid| pid > 1)?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let program = Path::new(std::ffi::OsStr::from_bytes(args.first()?));
        let conf = self.named_conf();
        let ours = program.file_name() == Some("named".as_ref())
            && args
                .windows(2)
                .any(|w| w[0] == b"-c" && Path::new(std::ffi::OsStr::from_bytes(w[1])) == conf);
        ours.then_some(pid)
    }

    /// The default deploy settings, pointed at this named.
    pub fn deploy_config(&self) -> DeployConfig {
        let mut config = DeployConfig::default();
        self.point(&mut config);
        config
    }

    /// Points `config` at this named: its zone directory, include file,
    /// rndc and DNS address, and its transfer key unless the config has a
    /// key file (the other settings stay).
    pub fn point(&self, config: &mut DeployConfig) {
        if config.key_file.is_none() {
            config.key_file = Some(self.transfer_key_file());
        }
        config.enabled = true;
        config.zone_dir = self.dir.join("zones");
        config.include_file = self.dir.join("zones.conf");
        config.rndc = vec![
            "rndc".to_string(),
            "-k".to_string(),
            self.key_file().to_string_lossy().into_owned(),
            "-s".to_string(),
            self.control.ip().to_string(),
            "-p".to_string(),
            self.control.port().to_string(),
        ];
        config.named_dns = self.dns;
    }

    /// Writes named.conf, a new rndc key and, for a primary, a new
    /// transfer key and an empty zones include file (each kept if there is
    /// one).
    pub fn write(&self) -> Result<(), String> {
        let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
        for dir in [
            self.dir.clone(),
            self.dir.join("zones"),
            self.dir.join("named"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        new_key(&self.key_file(), "bindbridge-rndc")?;
        let work = self.dir.join("named");
        // Both sides: SOA queries, NOTIFY and transfers at the pace of a
        // machine that creates a thousand zones at once, not BIND's
        // defaults (20 a second, 2 transfers at a time from one primary).
        let mut options = "\tnotify-rate 1000;\n\
                           \tstartup-notify-rate 1000;\n\
                           \tserial-query-rate 1000;\n\
                           \ttransfers-in 100;\n\
                           \ttransfers-per-ns 100;\n\
                           \ttransfers-out 100;\n"
            .to_string();
        // Its own traffic (NOTIFY, SOA queries, transfers) from its own
        // address, as from another host: to another loopback address the
        // kernel would pick that one as the source, and a secondary takes
        // NOTIFY only from its primary's address.
        let ip = self.dns.ip();
        options.push_str(&format!(
            "\tnotify-source {ip};\n\ttransfer-source {ip};\n\tquery-source address {ip};\n"
        ));
        let tail = match &self.secondary {
            None => {
                new_key(&self.transfer_key_file(), TRANSFER_KEY)?;
                let include = self.dir.join("zones.conf");
                if !include.exists() {
                    let empty = crate::deploy::files::include_text(&[], None, &Default::default());
                    crate::atomic::replace(&include, empty.as_bytes())
                        .map_err(|e| io(&include, e))?;
                }
                format!("include \"{}\";\n", include.display())
            }
            Some(conf) => {
                for line in conf.options.lines() {
                    options.push_str(&format!("\t{line}\n"));
                }
                conf.statements.clone()
            }
        };
        let text = format!(
            "# Written by bindbridge serve --dev: a private named on loopback.\n\
             include \"{key}\";\n\
             options {{\n\
             \tdirectory \"{work}\";\n\
             \tpid-file \"{work}/named.pid\";\n\
             \tsession-keyfile \"{work}/session.key\";\n\
             \tmanaged-keys-directory \"{work}\";\n\
             \tlisten-on port {port} {{ {ip}; }};\n\
             \tlisten-on-v6 {{ none; }};\n\
             \trecursion no;\n\
             \tallow-transfer {{ none; }};\n\
             \tnotify no;\n\
             \tdnssec-validation no;\n\
             {options}\
             }};\n\
             controls {{\n\
             \tinet {cip} port {cport} allow {{ {cip}; }} keys {{ \"bindbridge-rndc\"; }};\n\
             }};\n\
             {tail}",
            key = self.key_file().display(),
            work = work.display(),
            port = self.dns.port(),
            ip = self.dns.ip(),
            cip = self.control.ip(),
            cport = self.control.port(),
        );
        match self.secondary {
            // It holds the transfer key's secret.
            Some(_) => write_private(&self.named_conf(), text.as_bytes()),
            None => crate::atomic::replace(&self.named_conf(), text.as_bytes()),
        }
        .map_err(|e| io(&self.named_conf(), e))
    }

    /// Starts named in the foreground (its log in [`Layout::log_file`])
    /// and waits until it answers rndc.
    pub fn start(&self) -> Result<PrivateNamed, String> {
        let log = std::fs::File::create(self.log_file())
            .map_err(|e| format!("cannot write {}: {e}", self.log_file().display()))?;
        let child = Command::new("named")
            .arg("-g")
            .arg("-c")
            .arg(self.named_conf())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run named: {e} (Debian: apt-get install bind9)"))?;
        let mut named = PrivateNamed {
            child: Some(child),
            layout: self.clone(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if named.rndc(&["status"]).is_ok() {
                return Ok(named);
            }
            if let Some(child) = named.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "named exited ({status}) at start; its log:\n{}",
                    std::fs::read_to_string(self.log_file()).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "named did not answer rndc within {START_TIMEOUT:?}; its log:\n{}",
                    std::fs::read_to_string(self.log_file()).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A running private named; stopped when dropped.
pub struct PrivateNamed {
    child: Option<Child>,
    layout: Layout,
}

impl PrivateNamed {
    /// Its files and addresses.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runs rndc against it: its output, or why it failed.
    pub fn rndc(&self, args: &[&str]) -> Result<String, String> {
        let config = self.layout.deploy_config();
        let out = Command::new(&config.rndc[0])
            .args(&config.rndc[1..])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run rndc: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        match out.status.success() {
            true => Ok(text),
            false => Err(text),
        }
    }

    /// Waits until named answers DNS on its address: it listens only on
    /// the addresses of the machine's interfaces, and a loopback address
    /// like 127.0.0.2 is one only once added.
    pub fn wait_listening(&self) -> Result<(), String> {
        let dns = self.layout.dns;
        // named binds its addresses before it answers rndc: a short wait.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut query = hickory_proto::op::Message::query();
        query.add_query(hickory_proto::op::Query::query(
            hickory_proto::rr::Name::root(),
            hickory_proto::rr::RecordType::SOA,
        ));
        let wire = query.to_vec().map_err(|e| e.to_string())?;
        let mut last_error = String::new();
        while Instant::now() < deadline {
            let asked = UdpSocket::bind((dns.ip(), 0)).and_then(|socket| {
                socket.set_read_timeout(Some(Duration::from_millis(200)))?;
                socket.connect(dns)?;
                socket.send(&wire)?;
                socket.recv(&mut [0u8; 512])
            });
            match asked {
                Ok(_) => return Ok(()),
                Err(e) => last_error = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "named does not answer DNS on {dns} ({last_error}): named listens only on \
             addresses of this machine's interfaces; add {ip} to one, as root: \
             ip addr add {ip}/32 dev lo",
            ip = dns.ip()
        ))
    }

    /// Stops named and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.rndc(&["stop"]);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateNamed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port free for both TCP and UDP right now.
pub fn free_port(ip: std::net::IpAddr) -> std::io::Result<u16> {
    loop {
        let tcp = TcpListener::bind((ip, 0))?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind((ip, port)).is_ok() {
            return Ok(port);
        }
    }
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn running(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses
        // and may itself hold spaces or parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Stops `pid`: SIGTERM (named removes its pid file and closes its
/// sockets), then SIGKILL if it is still there after 10 s.
fn stop_process(pid: libc::pid_t) -> Result<(), String> {
    for (signal, wait) in [
        (libc::SIGTERM, Duration::from_secs(10)),
        (libc::SIGKILL, Duration::from_secs(5)),
    ] {
        // SAFETY: kill has no memory effects; `pid` is positive (parsed
        // from a pid file and found in /proc), so it names one process.
        if unsafe { libc::kill(pid, signal) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                return Ok(());
            }
            return Err(format!(
                "cannot stop named (pid {pid}) of an earlier run: {e}"
            ));
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if !running(pid) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Err(format!(
        "named (pid {pid}) of an earlier run does not stop, even on SIGKILL"
    ))
}

/// Whether UDP and TCP on `address` are free. Our sockets are bound
/// without SO_REUSEPORT, so a named (which sets it) that listens there
/// makes them fail too.
fn address_free(address: SocketAddr) -> std::io::Result<()> {
    UdpSocket::bind(address)?;
    TcpListener::bind(address)?;
    Ok(())
}

/// Writes a new TSIG key `name` to `path` with tsig-keygen, unless there
/// is one.
fn new_key(path: &Path, name: &str) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    let out = Command::new("tsig-keygen")
        .args(["-a", "hmac-sha256", name])
        .output()
        .map_err(|e| format!("cannot run tsig-keygen: {e} (Debian: apt-get install bind9)"))?;
    if !out.status.success() {
        return Err(format!(
            "tsig-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    write_private(path, &out.stdout).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let mut file = options.open(path)?;
    // Also a file that was there before, readable by others.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}
