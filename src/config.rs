//! The configuration file (TOML) and its embedded defaults.
//!
//! Every setting has a default, so `bindbridge serve` runs with no file at
//! all; a file only needs what it changes. Unknown keys are refused, so a
//! misspelt setting is an error, not a silently ignored line. Precedence:
//! command-line flags, then the file, then the defaults.
//!
//! ```toml
//! db = "/var/lib/bindbridge/bindbridge.db"
//! api_listen = "127.0.0.1:8053"
//!
//! [api]
//! header_timeout = 10
//! body_timeout = 30
//! keep_alive_timeout = 5
//! max_connections = 4096
//!
//! [zone_defaults]
//! nameservers = ["ns1.example.net.", "ns2.example.net."]
//! hostmaster = "hostmaster.example.net."
//! refresh = 7200
//! retry = 3600
//! expire = 1209600
//! minimum = 3600
//! ttl = 3600
//! # Reserved names that zones may take all the same (default: none)
//! # allowed_reserved = ["vps.org"]
//!
//! [deploy]
//! enabled = true
//! zone_dir = "/var/lib/bindbridge/zones"
//! include_file = "/var/lib/bindbridge/zones.conf"
//! checkzone = ["named-checkzone", "-k", "fail", "-i", "local"]
//! rndc = ["rndc"]
//! named_dns = "127.0.0.1:53"
//! serial_policy = "date"
//! serve_timeout = 10
//! command_timeout = 30
//! reconcile_interval = 30
//! catalog_zone = "catalog.bindbridge.invalid."
//! secondary_lag_warning = 60
//! # primary_address = "192.0.2.1:53"   # where secondaries reach named
//! # key_file = "/etc/bindbridge/transfer.key"
//!
//! [update]
//! listen = "127.0.0.1:8055"             # DNS UPDATE with TSIG; off by default
//!
//! [[deploy.secondaries]]
//! address = "192.0.2.2"
//! port = 53
//! # key = "bindbridge-transfer"          # a key of key_file
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::api::ZoneDefaults;
use crate::zone::Name;
use crate::zone::serial::Policy;

/// Where the daemon looks when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/bindbridge/config.toml";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SQLite database.
    pub db: Option<PathBuf>,
    /// Address of the REST API.
    pub api_listen: Option<SocketAddr>,
    /// How the API's connections are limited.
    #[serde(default)]
    pub api: ApiConfig,
    /// SOA and NS of zones created through the API.
    #[serde(default)]
    pub zone_defaults: ZoneDefaultsFile,
    /// How zones reach named.
    #[serde(default)]
    pub deploy: DeployConfig,
    /// DNS UPDATE (RFC 2136) for standard clients.
    #[serde(default)]
    pub update: UpdateConfig,
}

/// `[update]`: the DNS listener for RFC 2136 UPDATE with TSIG.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Where it answers (UDP and TCP); off when not set (dev mode turns
    /// it on at a free loopback port).
    pub listen: Option<SocketAddr>,
    /// Answer an UPDATE once named serves the change (waiting
    /// `served_timeout` seconds at most) rather than once it is stored:
    /// for clients that check the record right after the reply.
    #[serde(default)]
    pub reply_when_served: bool,
    /// How long an UPDATE's reply waits for named, with
    /// `reply_when_served`.
    #[serde(default = "default_served_timeout")]
    pub served_timeout: u64,
}

fn default_served_timeout() -> u64 {
    30
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            listen: None,
            reply_when_served: false,
            served_timeout: default_served_timeout(),
        }
    }
}

/// `[api]`: the limits that keep clients without a token (or with a slow
/// line) from holding the server's connections and file descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Seconds a client has to send a request's whole head, counted from
    /// when the server starts waiting for it (so it also bounds how long
    /// a new connection may stay silent).
    pub header_timeout: u64,
    /// Seconds a client has to send a request's whole body once its head
    /// is in.
    pub body_timeout: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    pub keep_alive_timeout: u64,
    /// Connections open at once. A new one beyond it closes the idle
    /// connection that matters least (one that never authenticated, the
    /// longest idle first); when every connection is busy, it is refused.
    /// Lowered at start to what the file-descriptor limit allows.
    pub max_connections: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            header_timeout: 10,
            body_timeout: 30,
            keep_alive_timeout: 5,
            max_connections: 4096,
        }
    }
}

impl ApiConfig {
    /// The settings, checked: no timeout or limit may be zero.
    pub fn check(&self) -> Result<(), String> {
        for (key, value) in [
            ("header_timeout", self.header_timeout),
            ("body_timeout", self.body_timeout),
            ("keep_alive_timeout", self.keep_alive_timeout),
            ("max_connections", self.max_connections as u64),
        ] {
            if value == 0 {
                return Err(format!("api.{key}: must be at least 1"));
            }
        }
        Ok(())
    }
}

/// `[deploy]`: where zone files go and how named is driven.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeployConfig {
    /// False: the API and the store only; zones stay `pending`.
    pub enabled: bool,
    /// Where the zone files named loads are written.
    pub zone_dir: PathBuf,
    /// The file of zone statements that named.conf includes; bindbridge
    /// owns it and rewrites it whole.
    pub include_file: PathBuf,
    /// named-checkzone and its options; the zone name and file follow.
    pub checkzone: Vec<String>,
    /// rndc and its options (`-s`, `-p`, `-k KEYFILE`); the command follows.
    pub rndc: Vec<String>,
    /// Where named answers DNS queries, to prove what it serves.
    pub named_dns: SocketAddr,
    /// How the serial of a changed zone is chosen.
    pub serial_policy: Policy,
    /// Seconds to wait for named to serve a new serial.
    pub serve_timeout: u64,
    /// Seconds a named-checkzone or rndc run may take.
    pub command_timeout: u64,
    /// Seconds between full reconciles (catching what a watcher missed).
    pub reconcile_interval: u64,
    /// A directory of hand-edited zone files (`*.zone`) to import on change.
    pub source_dir: Option<PathBuf>,
    /// The catalog zone (RFC 9432, version 2) that lists every zone for
    /// the secondaries; a name no zone of the store may take.
    pub catalog_zone: String,
    /// Where secondaries reach the primary named, for `secondary-config`
    /// (default: `named_dns`).
    pub primary_address: Option<SocketAddr>,
    /// The TSIG `key` statements (as tsig-keygen writes them) that
    /// secondaries name; bindbridge's include file includes it, so
    /// named.conf must not include it again.
    pub key_file: Option<PathBuf>,
    /// Seconds a secondary may lag behind a deploy before it is warned of.
    pub secondary_lag_warning: u64,
    /// The nameservers that transfer every zone from named: notified of
    /// each change, allowed to transfer, and asked what they serve.
    pub secondaries: Vec<Secondary>,
}

/// `[[deploy.secondaries]]`: one secondary nameserver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Secondary {
    /// Its address: NOTIFY goes there, transfers are allowed from there
    /// (unless keyed), and its serials are asked there.
    pub address: IpAddr,
    /// Its DNS port.
    #[serde(default = "dns_port")]
    pub port: u16,
    /// The TSIG key (defined in `key_file`) that transfers and NOTIFY to
    /// it are signed with; with a key, any address holding it may transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn dns_port() -> u16 {
    53
}

impl Secondary {
    /// Where it answers DNS.
    pub fn dns(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            enabled: true,
            zone_dir: PathBuf::from("/var/lib/bindbridge/zones"),
            include_file: PathBuf::from("/var/lib/bindbridge/zones.conf"),
            checkzone: ["named-checkzone", "-k", "fail", "-i", "local"]
                .map(String::from)
                .to_vec(),
            rndc: vec!["rndc".to_string()],
            named_dns: SocketAddr::from(([127, 0, 0, 1], 53)),
            serial_policy: Policy::Date,
            serve_timeout: 10,
            command_timeout: 30,
            reconcile_interval: 30,
            source_dir: None,
            catalog_zone: "catalog.bindbridge.invalid.".to_string(),
            primary_address: None,
            key_file: None,
            secondary_lag_warning: 60,
            secondaries: Vec::new(),
        }
    }
}

impl DeployConfig {
    /// The settings, checked.
    pub fn check(&self) -> Result<(), String> {
        if self.checkzone.is_empty() || self.rndc.is_empty() {
            return Err("deploy.checkzone and deploy.rndc need at least the program".into());
        }
        for (key, value) in [
            ("serve_timeout", self.serve_timeout),
            ("command_timeout", self.command_timeout),
            ("reconcile_interval", self.reconcile_interval),
            ("secondary_lag_warning", self.secondary_lag_warning),
        ] {
            if value == 0 || value > 86_400 {
                return Err(format!(
                    "deploy.{key}: {value} is not between 1 and 86400 seconds"
                ));
            }
        }
        for (key, path) in [
            ("zone_dir", &self.zone_dir),
            ("include_file", &self.include_file),
        ] {
            if !path.is_absolute() {
                return Err(format!(
                    "deploy.{key}: '{}' must be an absolute path (named reads it from its own directory)",
                    path.display()
                ));
            }
        }
        self.catalog_origin()?;
        let keys = match &self.key_file {
            Some(path) if !path.is_absolute() => {
                return Err(format!(
                    "deploy.key_file: '{}' must be an absolute path",
                    path.display()
                ));
            }
            Some(path) => std::fs::read_to_string(path)
                .map(|text| crate::deploy::files::key_names(&text))
                .map_err(|e| format!("deploy.key_file: cannot read {}: {e}", path.display()))?,
            None => Vec::new(),
        };
        for (i, secondary) in self.secondaries.iter().enumerate() {
            if let Some(key) = &secondary.key
                && !keys.contains(key)
            {
                return Err(format!(
                    "deploy.secondaries[{i}].key: no key \"{key}\" in deploy.key_file{}",
                    self.key_file
                        .as_ref()
                        .map_or(" (not set)".to_string(), |p| format!(" ({})", p.display()))
                ));
            }
        }
        Ok(())
    }

    /// The catalog zone's name: absolute, in lower case.
    pub fn catalog_origin(&self) -> Result<Name, String> {
        let text = match self.catalog_zone.ends_with('.') {
            true => self.catalog_zone.to_ascii_lowercase(),
            false => format!("{}.", self.catalog_zone.to_ascii_lowercase()),
        };
        match Name::from_ascii(&text) {
            Ok(name) if text != "." => Ok(name),
            Ok(_) => Err("deploy.catalog_zone: the root cannot be the catalog".to_string()),
            Err(e) => Err(format!(
                "deploy.catalog_zone: '{}' is not a domain name: {e}",
                self.catalog_zone
            )),
        }
    }

    /// Where secondaries reach the primary named.
    pub fn primary(&self) -> SocketAddr {
        self.primary_address.unwrap_or(self.named_dns)
    }

    /// The named.conf text of a secondary that follows this primary: for
    /// `secondary` (its key), else for the only secondary configured, else
    /// without a key.
    pub fn secondary_conf(
        &self,
        secondary: Option<&Secondary>,
    ) -> Result<crate::deploy::files::SecondaryConf, String> {
        let secondary = match (secondary, self.secondaries.as_slice()) {
            (Some(s), _) => Some(s),
            (None, [only]) => Some(only),
            (None, []) => None,
            (None, _) => {
                return Err(format!(
                    "{} secondaries are configured: say which one (--secondary ADDRESS[:PORT])",
                    self.secondaries.len()
                ));
            }
        };
        let key = match secondary.and_then(|s| s.key.as_deref()) {
            None => None,
            Some(name) => {
                let path = self.key_file.as_ref().ok_or_else(|| {
                    format!("the key \"{name}\" needs deploy.key_file, the file that defines it")
                })?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let statement = crate::deploy::files::key_statement(&text, name)
                    .ok_or_else(|| format!("no key \"{name}\" in {}", path.display()))?;
                Some((name.to_string(), statement))
            }
        };
        Ok(crate::deploy::files::secondary_conf(
            &self.catalog_origin()?.to_string(),
            self.primary(),
            key.as_ref().map(|(n, s)| (n.as_str(), s.as_str())),
        ))
    }
}

/// `[zone_defaults]`: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDefaultsFile {
    /// Apex nameservers of new zones (the first is the SOA MNAME).
    pub nameservers: Option<Vec<String>>,
    /// SOA RNAME: the hostmaster's mailbox written as a name.
    pub hostmaster: Option<String>,
    /// SOA refresh, seconds.
    pub refresh: Option<u32>,
    /// SOA retry, seconds.
    pub retry: Option<u32>,
    /// SOA expire, seconds.
    pub expire: Option<u32>,
    /// SOA minimum (negative-caching TTL, RFC 2308), seconds.
    pub minimum: Option<u32>,
    /// TTL of the SOA and NS records, and `$TTL`.
    pub ttl: Option<u32>,
    /// Names the API would refuse as reserved (a public suffix, a name at
    /// or above the nameservers, ...) that an account may host all the
    /// same, each exactly (not the names under it).
    pub allowed_reserved: Option<Vec<String>>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML for bindbridge.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with its position.
        message: String,
    },
}

impl Config {
    /// Reads `path`; with `None`, [`DEFAULT_PATH`] if it exists, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_PATH).exists() => PathBuf::from(DEFAULT_PATH),
            None => return Ok(Config::default()),
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: crate::source::io_reason(&e),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: e.to_string().trim().to_string(),
        })?;
        config
            .zone_defaults()
            .map(|_| ())
            .and_then(|()| config.deploy.check())
            .and_then(|()| config.api.check())
            .map_err(|message| ConfigError::Invalid {
                path: shown,
                message,
            })?;
        Ok(config)
    }

    /// The zone defaults, checked: absolute names, sane timers.
    pub fn zone_defaults(&self) -> Result<ZoneDefaults, String> {
        let mut defaults = ZoneDefaults::default();
        let file = &self.zone_defaults;
        let absolute = |what: &str, text: &str| -> Result<String, String> {
            let text = if text.ends_with('.') {
                text.to_string()
            } else {
                format!("{text}.")
            };
            Name::from_ascii(&text)
                .map(|n| n.to_string())
                .map_err(|e| format!("zone_defaults.{what}: '{text}' is not a domain name: {e}"))
        };
        if let Some(list) = &file.nameservers {
            if list.is_empty() {
                return Err(
                    "zone_defaults.nameservers: a zone needs at least one nameserver".into(),
                );
            }
            defaults.nameservers = list
                .iter()
                .map(|n| absolute("nameservers", n))
                .collect::<Result<_, _>>()?;
        }
        if let Some(list) = &file.allowed_reserved {
            defaults.allowed_reserved = list
                .iter()
                .map(|n| {
                    crate::zone::domain::canonical(n).map_err(|e| {
                        format!("zone_defaults.allowed_reserved: '{n}' is not a zone name: {e}")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(h) = &file.hostmaster {
            defaults.hostmaster = absolute("hostmaster", &h.replacen('@', ".", 1))?;
        }
        let timers = [file.refresh, file.retry, file.expire, file.minimum];
        for (slot, value) in defaults.timers.iter_mut().zip(timers) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(ttl) = file.ttl {
            defaults.ttl = ttl;
        }
        if defaults.ttl == 0 || defaults.ttl > crate::zone::ttl::MAX_TTL {
            return Err(format!(
                "zone_defaults.ttl: {} is not between 1 and 2147483647",
                defaults.ttl
            ));
        }
        Ok(defaults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn a_file_changes_only_what_it_names() {
        let config = load(
            "api_listen = \"127.0.0.1:9000\"\n[zone_defaults]\nnameservers = [\"a.example.net\", \"b.example.net.\"]\nhostmaster = \"dns@example.net\"\n",
        )
        .unwrap();
        assert_eq!(config.api_listen, Some("127.0.0.1:9000".parse().unwrap()));
        let defaults = config.zone_defaults().unwrap();
        assert_eq!(defaults.nameservers, ["a.example.net.", "b.example.net."]);
        assert_eq!(defaults.hostmaster, "dns.example.net.");
        assert_eq!(defaults.ttl, 3600);
    }

    #[test]
    fn mistakes_are_refused_with_the_key() {
        let err = load("api_listn = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("api_listn"), "{err}");
        let err = load("[zone_defaults]\nnameservers = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least one nameserver"), "{err}");
        assert!(Config::load(Some(Path::new("/nonexistent/config.toml"))).is_err());
        let err = load("[api]\nheader_timeout = 0\n").unwrap_err().to_string();
        assert!(err.contains("api.header_timeout"), "{err}");
    }

    #[test]
    fn allowed_reserved_names_are_canonical_zone_names() {
        let config =
            load("[zone_defaults]\nallowed_reserved = [\"VPS.org.\", \"bücher.example\"]\n")
                .unwrap();
        let defaults = config.zone_defaults().unwrap();
        assert_eq!(
            defaults.allowed_reserved,
            ["vps.org", "xn--bcher-kva.example"]
        );
        assert!(ZoneDefaults::default().allowed_reserved.is_empty());
        let err = load("[zone_defaults]\nallowed_reserved = [\"b\\\\ob.example\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("zone_defaults.allowed_reserved"), "{err}");
    }
}
