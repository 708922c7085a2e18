//! Deploys to a real named: `bindbridge serve` against a private named on
//! 127.0.0.1 at a high port, checked with `dig` at that named (and, for
//! the secondaries' tests, a second named on 127.0.0.2 that follows it).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Client, Server, a_record, create_record, create_zone, record_path, zone_path};
use bindbridge::config::DeployConfig;
use bindbridge::dev::{Layout, PrivateNamed, free_port, keyed_secondary};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Where the secondary of the secondaries' tests answers.
const SECOND_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// How long a change may take to be served.
pub(crate) const SERVE_WAIT: Duration = Duration::from_secs(20);

/// `dig` at `dns`: no recursion, one try, 2 s (options given later win).
/// It asks from 127.0.0.1: a port of 127.0.0.2 may have been a stopped
/// secondary's, and its primary's NOTIFY would reach a dig listening
/// there.
pub(crate) fn dig_at(dns: SocketAddr) -> Command {
    let mut dig = Command::new("dig");
    dig.args(["-b", "127.0.0.1"])
        .arg(format!("@{}", dns.ip()))
        .args(["-p", &dns.port().to_string()])
        .args(["+norecurse", "+tries=1", "+time=2"]);
    dig
}

/// A private named and a `bindbridge serve` that deploys to it; for the
/// secondaries' tests, a second named that follows the first.
pub(crate) struct Stack {
    pub(crate) named: PrivateNamed,
    pub(crate) secondary: Option<PrivateNamed>,
    pub(crate) server: Server,
    _dir: tempfile::TempDir,
}

impl Stack {
    fn start() -> Stack {
        Stack::start_with(|_| {})
    }

    /// With the `[deploy]` settings `adjust` makes of the defaults for
    /// this named.
    pub(crate) fn start_with(adjust: impl FnOnce(&mut DeployConfig)) -> Stack {
        Stack::start_full(false, false, adjust, "")
    }

    /// Whose named lets 127.0.0.1 transfer every zone (AXFR with `dig`).
    pub(crate) fn with_transfers() -> Stack {
        Stack::start_full(false, true, |_| {}, "")
    }

    /// With a secondary on 127.0.0.2, configured only with what
    /// `secondary-config` prints (the catalog zone and the transfer key),
    /// and listed in `[[deploy.secondaries]]`.
    pub(crate) fn with_secondary(adjust: impl FnOnce(&mut DeployConfig)) -> Stack {
        Stack::start_full(true, false, adjust, "")
    }

    /// With a secondary, with named allowing transfers to 127.0.0.1,
    /// with the `[deploy]` settings `adjust` makes, and with `extra`
    /// configuration (TOML tables other than `[deploy]`).
    pub(crate) fn start_full(
        secondary: bool,
        transfers: bool,
        adjust: impl FnOnce(&mut DeployConfig),
        extra: &str,
    ) -> Stack {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = |ip, what| free_port(ip).unwrap_or_else(|e| panic!("no free {what} port: {e}"));
        let layout = Layout::new(
            &dir.path().join("named"),
            SocketAddr::new(LOOPBACK, port(LOOPBACK, "DNS")),
            SocketAddr::new(LOOPBACK, port(LOOPBACK, "rndc")),
        );
        layout.write().expect("the private named's files");
        if transfers {
            let conf = dir.path().join("named").join("named.conf");
            let text = std::fs::read_to_string(&conf).expect("named.conf");
            let allowed = text.replace(
                "allow-transfer { none; };",
                "allow-transfer { 127.0.0.1; };",
            );
            assert_ne!(text, allowed, "named.conf has an allow-transfer to change");
            std::fs::write(&conf, allowed).expect("named.conf written");
        }
        let named = layout
            .start()
            .unwrap_or_else(|e| panic!("named does not start: {e}"));
        let mut deploy = layout.deploy_config();
        let secondary = secondary.then(|| {
            let dns = SocketAddr::new(SECOND_LOOPBACK, port(SECOND_LOOPBACK, "DNS"));
            let control = SocketAddr::new(LOOPBACK, port(LOOPBACK, "rndc"));
            let path = dir.path().join("secondary");
            let listed = keyed_secondary(dns);
            deploy.secondaries.push(listed.clone());
            let conf = deploy
                .secondary_conf(Some(&listed))
                .expect("the secondary's configuration");
            let layout = Layout::secondary(&path, dns, control, conf);
            layout.write().expect("the secondary's files");
            let started = layout
                .start()
                .unwrap_or_else(|e| panic!("the secondary named does not start: {e}"));
            started
                .wait_listening()
                .unwrap_or_else(|e| panic!("the secondary named: {e}"));
            started
        });
        adjust(&mut deploy);
        let server = Stack::server_with(&deploy, extra);
        Stack {
            named,
            secondary,
            server,
            _dir: dir,
        }
    }

    /// A `bindbridge serve` (on a new database) with these `[deploy]`
    /// settings.
    pub(crate) fn server_for(deploy: &DeployConfig) -> Server {
        Stack::server_with(deploy, "")
    }

    /// The same, with `extra` configuration after `[deploy]`.
    fn server_with(deploy: &DeployConfig, extra: &str) -> Server {
        let mut file = toml::Table::new();
        let section = toml::Value::try_from(deploy).expect("the settings as TOML");
        file.insert("deploy".to_string(), section);
        let config = toml::to_string(&file).expect("the settings as TOML");
        Server::start_with(&format!("{config}\n{extra}"), "info")
    }

    /// `dig` at the private named: see [`dig_answer`].
    pub(crate) fn dig(&self, name: &str, rtype: &str) -> Result<Vec<String>, String> {
        dig_answer(self.named.layout().dns, name, rtype)
    }

    /// Waits until named serves `zone`; the serial it serves.
    pub(crate) fn wait_served(&self, zone: &str) -> u32 {
        self.wait_for(&format!("{zone} served"), || {
            let serial = self.serial(zone);
            (serial.is_some(), serial)
        })
        .expect("a serial")
    }

    /// Waits until the detail of `zone` shows the deploy `state`; the detail.
    pub(crate) fn wait_deploy(&self, api: &Client, zone: &str, state: &str) -> Value {
        self.wait_for(&format!("deploy state {state}"), || {
            let detail = api.get(&zone_path(zone)).body;
            (deploy_state(&detail).0 == state, detail)
        })
    }

    /// Waits until the deploy of `zone` (apex `apex`) is `failed`, checks
    /// that named still serves the last good serial `good`; the error.
    pub(crate) fn wait_failed_serving(
        &self,
        api: &Client,
        zone: &str,
        apex: &str,
        good: u32,
    ) -> String {
        let detail = self.wait_deploy(api, zone, "failed");
        assert_eq!(
            self.serial(apex),
            Some(good),
            "the last good serial is served"
        );
        detail["deploy"]["error"].as_str().unwrap_or("").to_string()
    }

    /// The file named loads the zone `file_name` from.
    fn zone_file(&self, file_name: &str) -> std::path::PathBuf {
        self.named.layout().deploy_config().zone_dir.join(file_name)
    }

    /// The serial named serves for `zone`, if it serves it.
    pub(crate) fn serial(&self, zone: &str) -> Option<u32> {
        serial_at(self.named.layout().dns, zone)
    }

    /// Waits until `check` holds, or fails with what was seen last.
    pub(crate) fn wait_for<T: std::fmt::Debug>(
        &self,
        what: &str,
        mut check: impl FnMut() -> (bool, T),
    ) -> T {
        let deadline = Instant::now() + SERVE_WAIT;
        loop {
            let (done, seen) = check();
            if done {
                return seen;
            }
            if Instant::now() > deadline {
                panic!("{what}: not within {SERVE_WAIT:?}; last seen: {seen:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `dig TYPE NAME` at `dns` (no recursion, no retries): the answer lines
/// without owner, TTL, class and type, or the status when it is not
/// NOERROR.
pub(crate) fn dig_answer(dns: SocketAddr, name: &str, rtype: &str) -> Result<Vec<String>, String> {
    let out = dig_at(dns)
        .args(["+noall", "+answer", "+comments", name, rtype])
        .output()
        .expect("dig runs (Debian: apt-get install bind9-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or("").to_string())
        .unwrap_or_else(|| format!("no answer: {text}"));
    if status != "NOERROR" {
        return Err(status);
    }
    Ok(text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect())
}

/// The serial the nameserver at `dns` serves for `zone`, if it serves it.
pub(crate) fn serial_at(dns: SocketAddr, zone: &str) -> Option<u32> {
    let soa = dig_answer(dns, zone, "SOA").ok()?;
    soa.first()?.split_whitespace().nth(2)?.parse().ok()
}

/// Sends SIGTERM to `child`.
fn sigterm(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM sent to {}", child.id());
}

pub(crate) fn deploy_state(detail: &Value) -> (String, Option<u64>) {
    (
        detail["deploy"]["state"].as_str().unwrap_or("").to_string(),
        detail["deploy"]["serial"].as_u64(),
    )
}

#[test]
fn api_changes_are_served_by_named_with_rising_serials() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "deploy.example");
    let first = stack.wait_served("deploy.example.");
    let ns = stack.dig("deploy.example.", "NS").expect("NS served");
    assert_eq!(ns.len(), 2, "the default nameservers: {ns:?}");
    let detail = stack.wait_deploy(&api, &zone, "deployed");
    assert_eq!(deploy_state(&detail).1, Some(u64::from(first)));

    let record = create_record(&api, &zone, &a_record("www", "192.0.2.10"));
    let second = stack.wait_for("the new record served", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.10".to_string()][..]),
            answer,
        )
    });
    assert!(second.is_ok());
    let after_create = stack.serial("deploy.example.").unwrap();
    assert!(after_create > first, "{after_create} after {first}");

    let reply = api.patch(&record_path(&record), &json!({"value": "192.0.2.11"}));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let _ = stack.wait_for("the updated record served", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.11".to_string()][..]),
            answer,
        )
    });
    let after_update = stack.serial("deploy.example.").unwrap();
    assert!(
        after_update > after_create,
        "{after_update} after {after_create}"
    );

    assert_eq!(api.delete(&record_path(&record)).status, 204);
    let _ = stack.wait_for("the deleted record gone", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (answer == Err("NXDOMAIN".to_string()), answer)
    });
    assert!(stack.serial("deploy.example.").unwrap() > after_update);

    // Another zone stays; the deleted one goes, also after a restart.
    create_zone(&api, "stays.example");
    stack.wait_served("stays.example.");
    assert_eq!(api.delete(&zone_path(&zone)).status, 204);
    let _ = stack.wait_for("the deleted zone no longer served", || {
        let answer = stack.dig("deploy.example.", "SOA");
        (answer == Err("REFUSED".to_string()), answer)
    });
    let layout = stack.named.layout().clone();
    stack.named.stop();
    stack.named = layout.start().expect("named starts again");
    assert_eq!(
        stack.dig("deploy.example.", "SOA"),
        Err("REFUSED".to_string()),
        "a deleted zone is gone after a named restart"
    );
    assert!(
        stack.serial("stays.example.").is_some(),
        "the other zone is served after a named restart"
    );
    assert!(
        !layout
            .deploy_config()
            .zone_dir
            .join("deploy.example.zone")
            .exists(),
        "the deleted zone's file is removed"
    );
}

/// A `bindbridge serve --dev` child, killed if a test ends before it.
pub(crate) struct DevServe {
    child: std::process::Child,
    /// The API's base URL.
    pub(crate) api: String,
    /// The demo token, printed at the first start of a data directory.
    pub(crate) token: Option<String>,
    /// The demo user's dashboard password, printed at the first start.
    pub(crate) password: Option<String>,
    /// The dashboard's login URL, as the welcome gives it.
    pub(crate) dashboard: Option<String>,
}

impl DevServe {
    /// Starts `serve --dev` on `data` with named on `dns` (and `extra`
    /// arguments), and waits for its welcome.
    pub(crate) fn start(data: &Path, dns: SocketAddr, extra: &[&str]) -> DevServe {
        use std::io::{BufRead, BufReader};
        let mut child = dev_serve(data, dns)
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("bindbridge serve --dev starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = std::sync::mpsc::channel();
        // Drains stderr for the server's whole life, so it never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + SERVE_WAIT;
        let mut seen = Vec::new();
        let (mut api, mut token, mut password, mut dashboard) = (None, None, None, None);
        // The welcome ends with "Try it:" and the commands; the token, if
        // any, comes before.
        while !seen.iter().any(|l: &String| l.starts_with("Try it:")) {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(wait) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "serve --dev gave no welcome within {SERVE_WAIT:?}:\n{}",
                    seen.join("\n")
                );
            };
            if let Some(url) = line.strip_prefix("bindbridge: API listening on ") {
                api = Some(url.trim().to_string());
            }
            if line.trim().starts_with("vps_") {
                token = Some(line.trim().to_string());
            }
            if let Some(rest) = line.trim().strip_prefix("user demo, password ") {
                password = rest.split_whitespace().next().map(str::to_string);
            }
            if let Some(url) = line.strip_prefix("Dashboard: ") {
                dashboard = Some(url.trim().to_string());
            }
            seen.push(line);
        }
        DevServe {
            child,
            api: api.expect("the API address before the welcome"),
            token,
            password,
            dashboard,
        }
    }

    /// POSTs `body` to the API with `token`, expecting 201; the answer.
    fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let mut reply = agent
            .post(format!("{}{path}", self.api))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("an HTTP answer");
        let status = reply.status().as_u16();
        let text = reply.body_mut().read_to_string().expect("a body");
        assert_eq!(status, 201, "POST {path}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// Creates zone `domain` with `www A value`.
    fn zone_with_www(&self, token: &str, domain: &str, value: &str) {
        let zone = self.post(token, "/api/v1/dns-zones/", json!({ "domain": domain }));
        let uuid = zone["uuid"].as_str().expect("a uuid");
        self.post(
            token,
            &format!("/api/v1/dns-zones/{uuid}/records/"),
            json!({"name": "www", "record_type": "A", "value": value}),
        );
    }
}

impl Drop for DevServe {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `bindbridge serve --dev` on `data` with named on `dns`, the API on a
/// free port, its output discarded.
fn dev_serve(data: &Path, dns: SocketAddr) -> Command {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_bindbridge"));
    serve
        .args([
            "serve",
            "--dev",
            "--api-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .arg("--dns-listen")
        .arg(dns.to_string())
        .env("BINDBRIDGE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    serve
}

/// Waits up to `within` for `child` to exit (killing it then); its output.
fn finish_within(mut child: std::process::Child, within: Duration) -> std::process::Output {
    let deadline = Instant::now() + within;
    while let Ok(None) = child.try_wait() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("its output")
}

/// The pids of the running named processes started on `conf`, from /proc.
fn named_pids(conf: &Path) -> Vec<u32> {
    let conf = conf.as_os_str().as_bytes();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            // A zombie's cmdline is empty.
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|arg| arg == conf))
        })
        .collect();
    pids.sort();
    pids
}

/// Kills, when a test ends, every named still running on a named.conf
/// (left behind by a serve the test killed, or by a failed test).
pub(crate) struct NamedReaper(PathBuf);

impl Drop for NamedReaper {
    fn drop(&mut self) {
        for pid in named_pids(&self.0) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Waits until `dns` answers `www.<zone>` with `value`.
fn assert_served(dns: SocketAddr, zone: &str, value: &str) {
    let name = format!("www.{zone}.");
    let deadline = Instant::now() + SERVE_WAIT;
    let answer = loop {
        let answer = dig_answer(dns, &name, "A");
        if answer == Ok(vec![value.to_string()]) || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(answer, Ok(vec![value.to_string()]), "{dns} serves {name}");
}

#[test]
fn dev_mode_runs_its_own_named_and_secondary_and_stops_them_on_sigterm() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("dev");
    let dns = SocketAddr::new(LOOPBACK, free_port(LOOPBACK).expect("a free port"));
    let secondary = SocketAddr::new(
        SECOND_LOOPBACK,
        free_port(SECOND_LOOPBACK).expect("a free port"),
    );
    let mut serve = DevServe::start(
        &data,
        dns,
        &["--dev-secondary", "--secondary-dns", &secondary.to_string()],
    );
    let token = serve.token.clone().expect("a token at the first start");
    serve.zone_with_www(&token, "dev.example", "192.0.2.80");
    assert_served(dns, "dev.example", "192.0.2.80");
    assert_served(secondary, "dev.example", "192.0.2.80");
    assert!(
        data.join("bindbridge.db").exists(),
        "the database is in the data dir"
    );
    // SIGTERM: the API stops, and so does the private named.
    sigterm(&serve.child);
    let status = serve.child.wait().expect("serve exits");
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
    for pid_file in [
        data.join("named").join("named.pid"),
        data.join("secondary").join("named").join("named.pid"),
    ] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !pid_file.exists(),
            "{} stopped with serve",
            pid_file.display()
        );
    }
}

/// A data directory for `serve --dev` (in a temporary directory), a guard
/// that stops any named left running for it, and a free DNS address.
pub(crate) fn dev_directory() -> (tempfile::TempDir, PathBuf, NamedReaper, SocketAddr) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("dev");
    let reaper = NamedReaper(data.join("named.conf"));
    let dns = SocketAddr::new(LOOPBACK, free_port(LOOPBACK).expect("a free port"));
    (dir, data, reaper, dns)
}

/// Runs `serve --dev` on `data` and `dns`, which must refuse to start:
/// requires exit status 2; what it printed on standard error.
fn dev_serve_refused(data: &Path, dns: SocketAddr) -> String {
    let serve = dev_serve(data, dns)
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve --dev starts");
    let out = finish_within(serve, SERVE_WAIT);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "serve --dev: {stderr}");
    stderr
}

#[test]
fn a_second_dev_serve_on_the_same_directory_exits_2_and_the_first_keeps_deploying() {
    let (_dir, data, _reaper, dns) = dev_directory();
    let first = DevServe::start(&data, dns, &[]);
    let token = first.token.clone().expect("a token at the first start");
    let conf = std::fs::read(data.join("named.conf")).expect("named.conf");
    // Its own API port, so that only the data directory is shared.
    let stderr = dev_serve_refused(&data, dns);
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "names the running serve: {stderr}"
    );
    assert_eq!(
        std::fs::read(data.join("named.conf")).expect("named.conf"),
        conf,
        "named.conf is left alone"
    );
    first.zone_with_www(&token, "after.example", "192.0.2.81");
    assert_served(dns, "after.example", "192.0.2.81");
    assert_eq!(named_pids(&data.join("named.conf")).len(), 1, "one named");
}

#[test]
fn dev_mode_after_sigkill_stops_the_named_it_left_and_serves_from_one_named() {
    let (_dir, data, _reaper, dns) = dev_directory();
    let conf = data.join("named.conf");
    let mut first = DevServe::start(&data, dns, &[]);
    let token = first.token.clone().expect("a token at the first start");
    first.zone_with_www(&token, "before.example", "192.0.2.82");
    assert_served(dns, "before.example", "192.0.2.82");
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("serve exits");
    let left = named_pids(&conf);
    assert_eq!(left.len(), 1, "named outlives a SIGKILLed serve");
    let second = DevServe::start(&data, dns, &[]);
    let now = named_pids(&conf);
    assert_eq!(now.len(), 1, "one named for the directory: {now:?}");
    assert_ne!(now, left, "the named left running was stopped");
    second.zone_with_www(&token, "restarted.example", "192.0.2.83");
    assert_served(dns, "restarted.example", "192.0.2.83");
    assert_served(dns, "before.example", "192.0.2.82");
}

#[test]
fn dev_mode_refuses_a_dns_address_another_program_uses() {
    let (_dir, data, _reaper, _) = dev_directory();
    let taken = std::net::UdpSocket::bind((LOOPBACK, 0)).expect("a UDP socket");
    let dns = taken.local_addr().expect("its address");
    let stderr = dev_serve_refused(&data, dns);
    assert!(
        stderr.contains(&format!("cannot serve DNS on {dns}")) && stderr.contains("--dns-listen"),
        "{stderr}"
    );
    assert!(named_pids(&data.join("named.conf")).is_empty(), "no named");
}

#[test]
fn a_zone_named_checkzone_refuses_keeps_serving_its_last_good_file() {
    // named-checkzone made stricter than usual (MX to a CNAME is an
    // error), so that the API accepts what the check then refuses.
    let stack = Stack::start_with(|d| d.checkzone.extend(["-M".to_string(), "fail".to_string()]));
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "strict.example");
    create_record(&api, &zone, &a_record("www", "192.0.2.1"));
    create_record(
        &api,
        &zone,
        &json!({"name": "alias", "record_type": "CNAME", "value": "www.strict.example"}),
    );
    let _ = stack.wait_for("the alias served", || {
        let answer = stack.dig("alias.strict.example.", "CNAME");
        (answer.as_ref().is_ok_and(|a| !a.is_empty()), answer)
    });
    let good = stack.serial("strict.example.").expect("served");
    let mx = create_record(
        &api,
        &zone,
        &json!({"name": "@", "record_type": "MX", "value": "alias.strict.example", "priority": 10}),
    );
    let error = stack.wait_failed_serving(&api, &zone, "strict.example.", good);
    assert!(
        error.contains("named-checkzone") && error.contains("CNAME"),
        "the error has named-checkzone's message: {error}"
    );
    assert_eq!(stack.dig("strict.example.", "MX"), Ok(vec![]));
    // The next change is tried again, and deploys.
    assert_eq!(api.delete(&record_path(&mx)).status, 204);
    let detail = stack.wait_deploy(&api, &zone, "deployed");
    assert!(detail["deploy"]["error"].is_null(), "{detail}");
    // The content is back to what named serves: no new serial for it.
    assert_eq!(stack.serial("strict.example."), Some(good));
    assert_eq!(deploy_state(&detail).1, Some(u64::from(good)));
    // `zone show` tells the same.
    let shown = stack.server.cli(&["zone", "show", "strict.example"]);
    assert!(shown.contains("deploy:        deployed\n"), "{shown}");
    assert!(
        shown.contains(&format!("deployed serial: {good}\n")),
        "{shown}"
    );
}

#[test]
fn a_burst_of_concurrent_writes_is_served_whole_in_few_deploys() {
    const THREADS: usize = 8;
    const WRITES: usize = 1000;
    let stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "burst.example");
    let first = stack.wait_served("burst.example.");
    let metrics = |server: &Server| -> String {
        ureq::get(format!("{}/metrics", server.base))
            .call()
            .expect("/metrics answers")
            .body_mut()
            .read_to_string()
            .expect("a body")
    };
    let deploys = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("bindbridge_deploys_total{result=\"ok\"} "))
            .and_then(|n| n.parse().ok())
            .expect("a deploy count")
    };
    let before = deploys(&metrics(&stack.server));
    let base = stack.server.base.clone();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (base, token, zone) = (&base, &token, &zone);
            scope.spawn(move || {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                for i in (t..WRITES).step_by(THREADS) {
                    let body = json!({"name": format!("h{i}"), "record_type": "A",
                        "value": format!("10.0.{}.{}", i / 256, i % 256)});
                    let status = agent
                        .post(format!("{base}/api/v1/dns-zones/{zone}/records/"))
                        .header("Authorization", format!("Bearer {token}"))
                        .header("Content-Type", "application/json")
                        .send(body.to_string())
                        .expect("an HTTP answer")
                        .status()
                        .as_u16();
                    assert_eq!(status, 201, "write {i}");
                }
            });
        }
    });
    let detail = deploy_state(&stack.wait_deploy(&api, &zone, "deployed"));
    assert!(
        detail.1 > Some(u64::from(first)),
        "the serial went up: {detail:?}"
    );
    // Every record is served: one dig process asks for all of them.
    let names: Vec<String> = (0..WRITES).map(|i| format!("h{i}.burst.example")).collect();
    let answers = dig_all(stack.named.layout().dns, &names);
    let expected: Vec<String> = (0..WRITES)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    assert_eq!(answers, expected, "every record served, in order");
    let after = deploys(&metrics(&stack.server));
    eprintln!("{WRITES} concurrent writes: {} deploys", after - before);
    assert!(
        after - before < (WRITES / 10) as u64,
        "{WRITES} writes took {} deploys",
        after - before
    );
}

#[test]
fn a_change_by_another_process_is_deployed_without_waiting_for_the_reconcile() {
    // The periodic reconcile is an hour away: only the database watcher
    // can make the daemon see the CLI's import in time.
    let stack = Stack::start_with(|d| d.reconcile_interval = 3600);
    stack.server.cli(&["user", "add", "carol"]);
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(
        file.path(),
        "$ORIGIN cli.example.\n$TTL 300\n@ SOA ns1 hostmaster 2024010101 7200 900 1209600 300\n\
         @ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.54\n",
    )
    .expect("write the zone");
    let path = file.path().to_string_lossy().into_owned();
    stack.server.cli(&[
        "import",
        "--owner",
        "carol",
        "--origin",
        "cli.example",
        &path,
    ]);
    let answer = stack.wait_for("the imported zone served", || {
        let answer = stack.dig("www.cli.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.54".to_string()][..]),
            answer,
        )
    });
    assert!(answer.is_ok());
    assert_eq!(
        stack.serial("cli.example."),
        Some(2024010101),
        "the imported serial is kept"
    );
}

/// `dig +short NAME A` for each name, in one run: the answers in order.
fn dig_all(dns: SocketAddr, names: &[String]) -> Vec<String> {
    let mut dig = dig_at(dns);
    // Many queries in one run: a lost datagram is asked again.
    dig.args(["+short", "+tries=3"]);
    for name in names {
        dig.args([name.as_str(), "A"]);
    }
    let out = dig.output().expect("dig runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn sigkill_in_a_burst_loses_no_acknowledged_write() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let zone = create_zone(&stack.server.client(&token), "killed.example");
    stack.wait_served("killed.example.");
    // Writes one after another until the server is gone; the ones answered
    // 201 are acknowledged.
    let writer = {
        let (base, token, zone) = (stack.server.base.clone(), token.clone(), zone.clone());
        std::thread::spawn(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut acknowledged = Vec::new();
            for i in 0..5000 {
                let body = json!({"name": format!("k{i}"), "record_type": "A",
                    "value": format!("10.1.{}.{}", i / 256, i % 256)});
                let reply = agent
                    .post(format!("{base}/api/v1/dns-zones/{zone}/records/"))
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Content-Type", "application/json")
                    .send(body.to_string());
                match reply {
                    Ok(r) if r.status().as_u16() == 201 => acknowledged.push(i),
                    _ => break,
                }
            }
            acknowledged
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    stack.server.kill_and_restart();
    let acknowledged = writer.join().expect("the writer thread");
    eprintln!("SIGKILL after {} acknowledged writes", acknowledged.len());
    assert!(
        !acknowledged.is_empty() && acknowledged.len() < 5000,
        "the kill came in the middle of the burst: {} writes answered",
        acknowledged.len()
    );
    let api = stack.server.client(&token);
    stack.wait_deploy(&api, &zone, "deployed");
    let names: Vec<String> = acknowledged
        .iter()
        .map(|i| format!("k{i}.killed.example"))
        .collect();
    let expected: Vec<String> = acknowledged
        .iter()
        .map(|i| format!("10.1.{}.{}", i / 256, i % 256))
        .collect();
    assert_eq!(
        dig_all(stack.named.layout().dns, &names),
        expected,
        "every acknowledged write is served"
    );
}

#[test]
fn changes_made_while_named_is_down_are_served_once_it_is_back() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let zone = create_zone(&stack.server.client(&token), "down.example");
    stack.wait_served("down.example.");
    let layout = stack.named.layout().clone();
    stack.named.stop();
    // The API keeps working while named is down; the zone waits.
    let api = stack.server.client(&token);
    for i in 0..3 {
        create_record(
            &api,
            &zone,
            &a_record(&format!("d{i}"), &format!("192.0.2.{i}")),
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(deploy_state(&api.get(&zone_path(&zone)).body).0, "pending");
    stack.named = layout.start().expect("named starts again");
    let names: Vec<String> = (0..3).map(|i| format!("d{i}.down.example")).collect();
    let expected: Vec<String> = (0..3).map(|i| format!("192.0.2.{i}")).collect();
    stack.wait_deploy(&api, &zone, "deployed");
    assert_eq!(dig_all(layout.dns, &names), expected);
}

#[test]
fn a_zone_file_edited_behind_bindbridges_back_is_reported_and_put_back_at_start() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let zone = create_zone(&stack.server.client(&token), "drift.example");
    create_record(
        &stack.server.client(&token),
        &zone,
        &a_record("www", "192.0.2.1"),
    );
    let _ = stack.wait_for("the record served", || {
        let answer = stack.dig("www.drift.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.1".to_string()][..]),
            answer,
        )
    });
    let before = stack.serial("drift.example.").expect("served");
    // Someone edits the zone file and reloads named by hand.
    let file = stack.zone_file("drift.example.zone");
    let edited = std::fs::read_to_string(&file)
        .expect("the zone file")
        .replace("192.0.2.1", "198.51.100.66");
    std::fs::write(&file, edited).expect("edit the zone file");
    stack
        .named
        .rndc(&["reload", "drift.example"])
        .expect("rndc reload");
    let _ = stack.wait_for("the hand edit served", || {
        let answer = stack.dig("www.drift.example.", "A");
        (
            answer.as_deref() == Ok(&["198.51.100.66".to_string()][..]),
            answer,
        )
    });
    // At its next start bindbridge reports it and serves the store again.
    stack.server.kill_and_restart();
    let _ = stack.wait_for("the store's content served again", || {
        let answer = stack.dig("www.drift.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.1".to_string()][..]),
            answer,
        )
    });
    assert!(stack.serial("drift.example.").unwrap() > before);
    let log = stack.server.stop_and_read_log();
    assert!(
        log.contains("the zone file was changed outside bindbridge")
            && log.contains("drift.example"),
        "no report of the edit in the log:\n{log}"
    );
}

#[test]
fn hand_edited_source_files_are_imported_and_served_and_broken_ones_are_not() {
    let sources = tempfile::tempdir().expect("a source directory");
    let file = sources.path().join("src.example.zone");
    let zone = |www: &str, extra: &str| {
        format!(
            "$TTL 300\n@ SOA ns1.src.example. hostmaster.src.example. 1 7200 900 1209600 300\n\
             @ NS ns1.src.example.\nns1 A 192.0.2.53\nwww A {www}\n{extra}"
        )
    };
    // A file that is there at start is imported (its name gives the zone).
    std::fs::write(&file, zone("192.0.2.1", "")).expect("write the source");
    let stack = Stack::start_with(|d| d.source_dir = Some(sources.path().to_path_buf()));
    let served = |stack: &Stack, www: &str| {
        let www = www.to_string();
        let _ = stack.wait_for(&format!("www at {www}"), || {
            let answer = stack.dig("www.src.example.", "A");
            (answer.as_deref() == Ok(&[www.clone()][..]), answer)
        });
    };
    served(&stack, "192.0.2.1");
    // An editor's save: a temporary file renamed over the source.
    let temporary = sources.path().join(".src.example.zone.swp");
    std::fs::write(&temporary, zone("192.0.2.2", "")).expect("write");
    std::fs::rename(&temporary, &file).expect("rename");
    served(&stack, "192.0.2.2");
    // Several writes in a row: the last one counts.
    for www in ["192.0.2.3", "192.0.2.4", "192.0.2.5"] {
        std::fs::write(&file, zone(www, "")).expect("write");
    }
    served(&stack, "192.0.2.5");
    let good = stack.serial("src.example.").expect("served");
    // A broken edit: nothing changes in named, the error is logged.
    std::fs::write(&file, zone("192.0.2.6", "bad A 300.1.2.3\n")).expect("write");
    let position = format!("{}:6:", file.display());
    let line = stack
        .server
        .wait_for_log(SERVE_WAIT, |l| l.contains("source not imported"));
    assert!(line.contains(&position), "no error at {position}: {line}");
    assert_eq!(
        stack.dig("www.src.example.", "A"),
        Ok(vec!["192.0.2.5".to_string()])
    );
    assert_eq!(stack.serial("src.example."), Some(good));
}

#[test]
fn a_zone_named_does_not_serve_in_time_is_rolled_back_to_its_last_good_file() {
    // rndc that takes every command but `reload`, which it acknowledges
    // and drops, as named does with a file it cannot load.
    let stack = Stack::start_with(|d| {
        let real = d.rndc.join(" ");
        d.rndc = vec![
            "sh".to_string(),
            "-c".to_string(),
            format!(
                "case \"$1\" in reload) echo 'zone reload queued';; *) exec {real} \"$@\";; esac"
            ),
            "rndc".to_string(),
        ];
        d.serve_timeout = 2;
    });
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "roll.example");
    let good = stack.wait_served("roll.example.");
    let file = stack.zone_file("roll.example.zone");
    let before = std::fs::read(&file).expect("the zone file");
    create_record(&api, &zone, &a_record("www", "192.0.2.1"));
    let error = stack.wait_failed_serving(&api, &zone, "roll.example.", good);
    assert!(
        error.contains("named did not serve serial") && error.contains("rndc zonestatus"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(&file).expect("the zone file"),
        before,
        "the last good file is back in place"
    );
    let mut kept = file.clone().into_os_string();
    kept.push(".last-good");
    assert!(
        !std::path::Path::new(&kept).exists(),
        "no copy is left behind"
    );
}

#[test]
fn serve_speaks_the_systemd_notify_protocol_and_checks_its_configuration() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[deploy]\nenabled = false\n").expect("write the configuration");
    let bindbridge = || Command::new(env!("CARGO_BIN_EXE_bindbridge"));
    // --check-config: a good file passes, a mistake is named.
    let checked = bindbridge()
        .args(["serve", "--check-config", "--config"])
        .arg(&config)
        .output()
        .expect("bindbridge runs");
    assert_eq!(checked.status.code(), Some(0));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[deploy]\nserve_timeout = 0\n").expect("write");
    let checked = bindbridge()
        .args(["serve", "--check-config", "--config"])
        .arg(&bad)
        .output()
        .expect("bindbridge runs");
    assert_eq!(checked.status.code(), Some(2));
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(said.contains("deploy.serve_timeout"), "{said}");

    // READY once listening, WATCHDOG pings, STOPPING on SIGTERM.
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("a notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    let mut child = bindbridge()
        .arg("--db")
        .arg(dir.path().join("n.db"))
        .args(["serve", "--api-listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut buf = [0u8; 256];
    let mut next = || {
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut said: Vec<String> = vec![next(), next()];
    assert_eq!(said[0], "READY=1");
    assert_eq!(said[1], "WATCHDOG=1");
    sigterm(&child);
    while said.last().map(String::as_str) != Some("STOPPING=1") {
        said.push(next());
    }
    assert!(child.wait().expect("serve exits").success());
}

/// A domain of `len` characters under `example`, in labels of at most 63.
fn long_domain(len: usize) -> String {
    let mut domain = String::from("example");
    let mut letter = b'a';
    while domain.len() < len {
        let label = (len - domain.len() - 1).min(63);
        domain = format!("{}.{domain}", char::from(letter).to_string().repeat(label));
        letter += 1;
    }
    assert_eq!(domain.len(), len, "{domain}");
    domain
}

#[test]
fn zones_with_the_longest_names_are_served_and_hold_up_no_other_zone() {
    // No reconcile while the test plays an earlier version's files.
    let mut stack = Stack::start_with(|d| d.reconcile_interval = 3600);
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    // 253 characters: the file named after all of it would be 258 bytes.
    let longest = long_domain(253);
    let long = create_zone(&api, &longest);
    // 210: named after all of it by earlier versions, after a hash now.
    let older = long_domain(210);
    let old_zone = create_zone(&api, &older);
    let other = create_zone(&api, "zz-other.example");
    create_record(&api, &other, &a_record("www", "192.0.2.7"));
    for (zone, apex) in [
        (&long, format!("{longest}.")),
        (&old_zone, format!("{older}.")),
        (&other, "zz-other.example.".to_string()),
    ] {
        stack.wait_served(&apex);
        stack.wait_deploy(&api, zone, "deployed");
    }
    assert_eq!(
        stack.dig("www.zz-other.example.", "A"),
        Ok(vec!["192.0.2.7".to_string()])
    );
    // Later changes are served too: nothing is paused.
    create_record(&api, &other, &a_record("ftp", "192.0.2.8"));
    let _ = stack.wait_for("a later change served", || {
        let answer = stack.dig("ftp.zz-other.example.", "A");
        (answer == Ok(vec!["192.0.2.8".to_string()]), answer)
    });
    let config = stack.named.layout().deploy_config();
    let longest_name = std::fs::read_dir(&config.zone_dir)
        .expect("the zone directory")
        .map(|e| e.expect("an entry").file_name().len())
        .max();
    assert!(longest_name <= Some(200), "{longest_name:?}");

    // A deployment of an earlier version: the 210-character zone's file
    // named after all of it, and the include file naming that.
    let include = std::fs::read_to_string(&config.include_file).expect("the include file");
    let (hashed, _) = include
        .lines()
        .find(|l| l.contains(&older))
        .and_then(|l| l.split("file \"").nth(1))
        .and_then(|f| f.split_once('"'))
        .expect("the zone's file in the include file");
    let hashed = std::path::PathBuf::from(hashed);
    let plain = config.zone_dir.join(format!("{older}.zone"));
    let served = stack.serial(&format!("{older}.")).expect("served");
    // Stopped first: a running server would write its include file again.
    stack.server.kill();
    std::fs::rename(&hashed, &plain).expect("the old name");
    std::fs::write(
        &config.include_file,
        include.replace(
            &hashed.to_string_lossy().into_owned(),
            &plain.to_string_lossy(),
        ),
    )
    .expect("the old include file");
    stack
        .named
        .rndc(&["reconfig"])
        .expect("named takes the old names");
    stack.server.start_again();
    let _ = stack.wait_for("the file under its new name", || {
        let text = std::fs::read_to_string(&config.include_file).unwrap_or_default();
        let done = hashed.is_file() && !plain.exists() && text.contains(&*hashed.to_string_lossy());
        (done, text)
    });
    stack
        .named
        .rndc(&["reconfig"])
        .expect("named takes the new names");
    assert_eq!(
        stack.serial(&format!("{older}.")),
        Some(served),
        "served from its new name, not deployed again"
    );
    stack.wait_served(&format!("{longest}."));
}

#[test]
fn a_zone_that_fails_for_a_reason_of_its_own_holds_up_no_other_zone() {
    let stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    // First in every pass (zones go in name order).
    let broken = create_zone(&api, "a-broken.example");
    let fine = create_zone(&api, "b-fine.example");
    let good = stack.wait_served("a-broken.example.");
    stack.wait_served("b-fine.example.");
    stack.wait_deploy(&api, &broken, "deployed");
    // Its file cannot be replaced: its path is a directory now.
    let file = stack.zone_file("a-broken.example.zone");
    std::fs::remove_file(&file).expect("remove the zone file");
    std::fs::create_dir(&file).expect("a directory in its place");
    create_record(&api, &broken, &a_record("www", "192.0.2.1"));
    create_record(&api, &fine, &a_record("www", "192.0.2.2"));
    let error = stack.wait_failed_serving(&api, &broken, "a-broken.example.", good);
    assert!(
        error.contains(&*file.to_string_lossy()),
        "the error names the file: {error}"
    );
    for (i, name) in ["www", "ftp", "mail"].into_iter().enumerate() {
        if i > 0 {
            create_record(&api, &fine, &a_record(name, &format!("192.0.2.{}", 2 + i)));
        }
        let want = format!("192.0.2.{}", 2 + i);
        let _ = stack.wait_for(&format!("{name} of the other zone served"), || {
            let answer = stack.dig(&format!("{name}.b-fine.example."), "A");
            (answer == Ok(vec![want.clone()]), answer)
        });
    }
    stack.wait_deploy(&api, &fine, "deployed");
    assert_eq!(stack.serial("a-broken.example."), Some(good));
}

#[test]
fn an_include_file_removed_while_serving_is_written_again_at_the_next_reconcile() {
    let stack = Stack::start_with(|d| d.reconcile_interval = 1);
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zones = ["kept-one.example", "kept-two.example"];
    for domain in zones {
        let zone = create_zone(&api, domain);
        create_record(&api, &zone, &a_record("www", "192.0.2.9"));
        stack.wait_deploy(&api, &zone, "deployed");
    }
    let include = stack.named.layout().deploy_config().include_file;
    std::fs::remove_file(&include).expect("remove the include file");
    let _ = stack.wait_for("the include file written again", || {
        let text = std::fs::read_to_string(&include).unwrap_or_default();
        (
            zones.iter().all(|z| text.contains(&format!("\"{z}.\""))),
            text,
        )
    });
    let said = stack.named.rndc(&["reconfig"]).expect("rndc reconfig");
    eprintln!(
        "DEBUG {said} {}",
        std::fs::read_to_string(&include).unwrap()
    );
    for domain in zones {
        assert_eq!(
            stack.dig(&format!("www.{domain}."), "A"),
            Ok(vec!["192.0.2.9".to_string()]),
            "{domain} served after the reconfig"
        );
    }
}

#[test]
fn a_zone_whose_serial_is_half_the_serial_space_away_fails_alone() {
    let stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let import = |serial: u64, extra: &[&str]| {
        std::fs::write(
            file.path(),
            format!(
                "$ORIGIN a-serial.example.\n$TTL 300\n\
                 @ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"
            ),
        )
        .expect("write the zone");
        let path = file.path().to_string_lossy().into_owned();
        let mut args = vec!["import", "--owner", "alice", "--origin", "a-serial.example"];
        args.extend_from_slice(extra);
        args.push(&path);
        stack.server.cli(&args);
    };
    import(1000, &[]);
    let other = create_zone(&api, "b-other.example");
    assert_eq!(stack.wait_served("a-serial.example."), 1000);
    // Exactly 2^31 above what named serves: RFC 1982 leaves it undefined
    // whether it is greater, so no serial can be chosen.
    import(1000 + (1 << 31), &["--replace"]);
    let zone = api.get("/api/v1/dns-zones/?domain=a-serial.example").body[0]["uuid"]
        .as_str()
        .expect("the imported zone")
        .to_string();
    let error = stack.wait_failed_serving(&api, &zone, "a-serial.example.", 1000);
    assert!(
        error.contains("serial") && error.contains("2147484648"),
        "a clear error: {error}"
    );
    create_record(&api, &other, &a_record("www", "192.0.2.5"));
    let _ = stack.wait_for("the other zone's change served", || {
        let answer = stack.dig("www.b-other.example.", "A");
        (answer == Ok(vec!["192.0.2.5".to_string()]), answer)
    });
    stack.wait_deploy(&api, &other, "deployed");
}

/// named lost a zone its include file lists (as after an `rndc reconfig`
/// that failed): the zone's next deploy has named read the include file
/// again, and the other zones' deploys are not held up meanwhile.
#[test]
fn a_zone_named_lost_is_loaded_again_and_holds_up_no_other_zone() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let lost = create_zone(&stack.server.client(&token), "a-lost.example");
    let other = create_zone(&stack.server.client(&token), "b-other.example");
    stack.wait_deploy(&stack.server.client(&token), &lost, "deployed");
    stack.wait_deploy(&stack.server.client(&token), &other, "deployed");
    // While bindbridge is stopped, named is reconfigured from an include
    // file without the zone, which is then put back as it was, time
    // included: bindbridge finds the include file it wrote.
    stack.server.kill();
    let include = stack.named.layout().deploy_config().include_file;
    let listed = std::fs::read(&include).expect("the include file");
    let modified = std::fs::metadata(&include)
        .and_then(|m| m.modified())
        .unwrap();
    let without: String = String::from_utf8_lossy(&listed)
        .lines()
        .filter(|l| !l.contains("a-lost.example"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&include, without).expect("write the include file");
    stack.named.rndc(&["reconfig"]).expect("rndc reconfig");
    let _ = stack.wait_for("named dropped the zone", || {
        let serial = stack.serial("a-lost.example.");
        (serial.is_none(), serial)
    });
    std::fs::write(&include, &listed).expect("put the include file back");
    std::fs::File::options()
        .write(true)
        .open(&include)
        .and_then(|f| f.set_modified(modified))
        .expect("put its time back");
    stack.server.start_again();
    let api = stack.server.client(&token);
    create_record(&api, &lost, &a_record("www", "192.0.2.61"));
    create_record(&api, &other, &a_record("www", "192.0.2.62"));
    for (name, value) in [
        ("www.a-lost.example.", "192.0.2.61"),
        ("www.b-other.example.", "192.0.2.62"),
    ] {
        let _ = stack.wait_for(&format!("{name} served"), || {
            let answer = stack.dig(name, "A");
            (answer == Ok(vec![value.to_string()]), answer)
        });
    }
    stack.wait_deploy(&api, &lost, "deployed");
    let log = stack.server.stop_and_read_log();
    assert!(
        log.contains("named does not have the zone its include file lists"),
        "{log}"
    );
    assert!(!log.contains("deploys paused"), "{log}");
}

/// bindbridge stopped after named loaded a deploy and before the deploy
/// was recorded (killed, or its pass cut short by a named too busy to
/// answer): the next pass records what named serves, and does not deploy
/// the same content again under another serial.
#[test]
fn a_deploy_named_loaded_but_not_recorded_is_recorded_not_repeated() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let zone = create_zone(&stack.server.client(&token), "unrecorded.example");
    create_record(
        &stack.server.client(&token),
        &zone,
        &a_record("www", "192.0.2.7"),
    );
    let detail = stack.wait_deploy(&stack.server.client(&token), &zone, "deployed");
    let serial = stack.serial("unrecorded.example.").expect("served");
    assert_eq!(deploy_state(&detail).1, Some(u64::from(serial)));
    let file = stack.zone_file("unrecorded.example.zone");
    let written = std::fs::read(&file).expect("the zone file");
    let modified = std::fs::metadata(&file).and_then(|m| m.modified()).unwrap();
    stack.server.kill();
    execute(
        stack.server.db(),
        "UPDATE zones SET deployed_version = 0, deploy_state = 'pending', \
         deployed_serial = NULL, deployed_at = NULL WHERE domain = 'unrecorded.example'",
    );
    stack.server.start_again();
    let detail = stack.wait_deploy(&stack.server.client(&token), &zone, "deployed");
    assert_eq!(deploy_state(&detail).1, Some(u64::from(serial)));
    assert_eq!(stack.serial("unrecorded.example."), Some(serial));
    assert_eq!(std::fs::read(&file).expect("the zone file"), written);
    assert_eq!(
        std::fs::metadata(&file).and_then(|m| m.modified()).unwrap(),
        modified,
        "the zone file was written again"
    );
}

/// Runs `sql` on the SQLite file `db` (the server stopped).
fn execute(db: &Path, sql: &str) {
    let done = crate::support::with_db(db, "", async |pool| {
        sqlx::query(sql).execute(pool).await.expect(sql)
    });
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

#[test]
fn a_deleted_zones_file_is_removed_also_after_a_failed_reconfig() {
    // rndc that refuses `reconfig` while a flag file exists.
    let flags = tempfile::tempdir().expect("a temporary directory");
    let flag = flags.path().join("refuse-reconfig");
    let shown = flag.display().to_string();
    let stack = Stack::start_with(|d| {
        let real = d.rndc.join(" ");
        d.rndc = vec![
            "sh".to_string(),
            "-c".to_string(),
            format!(
                "if [ \"$1\" = reconfig ] && [ -e '{shown}' ]; then echo 'refused' >&2; exit 1; fi; \
                 exec {real} \"$@\""
            ),
            "rndc".to_string(),
        ];
    });
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "gone.example");
    stack.wait_served("gone.example.");
    let file = stack.zone_file("gone.example.zone");
    assert!(file.is_file(), "{}", file.display());
    std::fs::write(&flag, "").expect("the flag");
    assert_eq!(api.delete(&zone_path(&zone)).status, 204);
    stack
        .server
        .wait_for_log(SERVE_WAIT, |l| l.contains("deploys paused"));
    std::fs::remove_file(&flag).expect("remove the flag");
    let _ = stack.wait_for("the deleted zone dropped and its file removed", || {
        let answer = stack.dig("gone.example.", "SOA");
        (
            answer == Err("REFUSED".to_string()) && !file.exists(),
            answer,
        )
    });
}
