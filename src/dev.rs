//! A private named on loopback: what `serve --dev` runs, and what the tests
//! run, so that the whole loop (API → zone file → named → dig) works on a
//! fresh machine without touching the system's BIND.
//!
//! Everything lives in one data directory: `named.conf`, the rndc key, the
//! zones include file, the zone files and named's own working files. named
//! listens on 127.0.0.1 only, at a high port, without recursion.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::DeployConfig;

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
}

impl Layout {
    /// The layout in `dir` with these addresses.
    pub fn new(dir: &Path, dns: SocketAddr, control: SocketAddr) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            dns,
            control,
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

    /// named's log (its standard error).
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("named.log")
    }

    /// The default deploy settings, pointed at this named.
    pub fn deploy_config(&self) -> DeployConfig {
        let mut config = DeployConfig::default();
        self.point(&mut config);
        config
    }

    /// Points `config` at this named: its zone directory, include file,
    /// rndc and DNS address (the other settings stay).
    pub fn point(&self, config: &mut DeployConfig) {
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

    /// Writes named.conf, a new rndc key (kept if there is one) and an
    /// empty zones include file (kept if there is one).
    pub fn write(&self) -> Result<(), String> {
        let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
        for dir in [
            self.dir.clone(),
            self.dir.join("zones"),
            self.dir.join("named"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        if !self.key_file().exists() {
            let out = Command::new("tsig-keygen")
                .args(["-a", "hmac-sha256", "bindbridge-rndc"])
                .output()
                .map_err(|e| {
                    format!("cannot run tsig-keygen: {e} (Debian: apt-get install bind9)")
                })?;
            if !out.status.success() {
                return Err(format!(
                    "tsig-keygen failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            write_private(&self.key_file(), &out.stdout).map_err(|e| io(&self.key_file(), e))?;
        }
        let include = self.dir.join("zones.conf");
        if !include.exists() {
            crate::atomic::replace(
                &include,
                crate::deploy::files::include_text(&[], None, &Default::default()).as_bytes(),
            )
            .map_err(|e| io(&include, e))?;
        }
        let work = self.dir.join("named");
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
             }};\n\
             controls {{\n\
             \tinet {cip} port {cport} allow {{ {cip}; }} keys {{ \"bindbridge-rndc\"; }};\n\
             }};\n\
             include \"{include}\";\n",
            key = self.key_file().display(),
            work = work.display(),
            port = self.dns.port(),
            ip = self.dns.ip(),
            cip = self.control.ip(),
            cport = self.control.port(),
            include = include.display(),
        );
        crate::atomic::replace(&self.named_conf(), text.as_bytes())
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

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
