//! The REST API (`bindbridge serve`) over real HTTP: each test starts its own
//! server on its own database, makes users and tokens with the CLI and talks
//! to 127.0.0.1 only.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use ureq::Agent;
use ureq::http::{HeaderMap, Request};

use crate::support::{bindbridge, checkzone, compilezone_records};

const ZONES: &str = "/api/v1/dns-zones/";
const RECORDS: &str = "/api/v1/dns-records/";
#[rustfmt::skip]
const RECORD_KEYS: [&str; 8] = [
    "uuid", "zone", "record_type", "name", "value", "ttl", "priority", "created_at",
];
#[rustfmt::skip]
const PERMISSIONS: [&str; 5] = [
    "dns:list", "dns:read", "dns:create", "dns:update", "dns:delete",
];
const LISTENING: &str = "bindbridge: API listening on ";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn zone_path(zone: &str) -> String {
    format!("/api/v1/dns-zones/{zone}/")
}

fn zone_records_path(zone: &str) -> String {
    format!("/api/v1/dns-zones/{zone}/records/")
}

pub(crate) fn record_path(record: &str) -> String {
    format!("/api/v1/dns-records/{record}/")
}

/// A started `bindbridge serve`: the child, its base URL, its log before
/// and after its "listening" line.
type Spawned = (Child, String, VecDeque<String>, mpsc::Receiver<String>);

/// `bindbridge serve` on a fresh database in a temporary directory; killed
/// and waited for when dropped.
pub(crate) struct Server {
    child: Child,
    dir: TempDir,
    db: PathBuf,
    pub(crate) base: String,
    agent: Agent,
    /// What the server wrote to stderr before its "listening" line, not
    /// yet read by [`Server::wait_for_log`] (the DNS listener or the
    /// deploy worker may log first).
    early_log: Mutex<VecDeque<String>>,
    /// What the server wrote to stderr after its "listening" line.
    log: mpsc::Receiver<String>,
    log_filter: String,
}

impl Server {
    /// Starts the server and waits for its "listening" line on stderr.
    fn start() -> Server {
        Server::start_with_config("")
    }

    /// Starts the server with this configuration file (always one of its
    /// own, so that a system-wide /etc/bindbridge/config.toml plays no part).
    fn start_with_config(config: &str) -> Server {
        Server::start_with(config, "info")
    }

    /// Starts the server with a configuration file and a log filter. Zones
    /// are not deployed unless the configuration has a `[deploy]` table.
    pub(crate) fn start_with(config: &str, log_filter: &str) -> Server {
        let config = match config.contains("[deploy]") {
            true => config.to_string(),
            false => format!("{config}\n[deploy]\nenabled = false\n"),
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("api.db");
        std::fs::write(dir.path().join("config.toml"), config).expect("write the configuration");
        let (child, base, early_log, log) = Server::spawn(dir.path(), &db, log_filter);
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Server {
            child,
            dir,
            db,
            base,
            agent,
            early_log: Mutex::new(early_log),
            log,
            log_filter: log_filter.to_string(),
        }
    }

    /// Kills the server with SIGKILL, at whatever it was doing, and starts
    /// it again on the same database and configuration.
    pub(crate) fn kill_and_restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Its SQLite file.
    pub(crate) fn db(&self) -> &Path {
        &self.db
    }

    /// Kills the server with SIGKILL (until [`Server::start_again`]).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same database and configuration.
    pub(crate) fn start_again(&mut self) {
        let (child, base, early_log, log) =
            Server::spawn(self.dir.path(), &self.db, &self.log_filter);
        self.child = child;
        self.base = base;
        self.early_log = Mutex::new(early_log);
        self.log = log;
    }

    /// Runs `bindbridge --db DB serve` with `DIR/config.toml`, and waits for
    /// its "listening" line: the child, its base URL, the log lines before
    /// that line and its further log.
    fn spawn(dir: &Path, db: &Path, log_filter: &str) -> Spawned {
        let config_path = dir.join("config.toml");
        let mut child = bindbridge()
            .arg("--db")
            .arg(db)
            .args(["serve", "--api-listen", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .current_dir(dir)
            .env_remove("BINDBRIDGE_DB")
            .env("BINDBRIDGE_LOG", log_filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bindbridge serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        // Drains stderr for the server's whole life, so it never blocks on it.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut seen = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => match line.strip_prefix(LISTENING) {
                    Some(url) => break url.trim().to_string(),
                    None => seen.push(line),
                },
                Err(e) => {
                    let _ = child.kill();
                    panic!(
                        "bindbridge serve did not print `{LISTENING}URL` (waited up to \
                         {STARTUP_TIMEOUT:?}: {e}; exit status: {:?}); stderr:\n{}",
                        child.wait(),
                        seen.join("\n")
                    );
                }
            }
        };
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "not 127.0.0.1: {base}"
        );
        (child, base, seen.into(), lines)
    }

    /// The next log line: first those printed before "listening".
    fn next_log_line(&self, within: Duration) -> Option<String> {
        let early = self
            .early_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        early.or_else(|| self.log.recv_timeout(within).ok())
    }

    /// The address the server listens on.
    pub(crate) fn address(&self) -> std::net::SocketAddr {
        let address = self.base.trim_start_matches("http://");
        address.parse().expect("the server's address")
    }

    /// Waits for a log line that `matches`; the line.
    pub(crate) fn wait_for_log(&self, within: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_log_line(left) {
                Some(line) if matches(&line) => return line,
                Some(line) => seen.push(line),
                None => panic!(
                    "no such log line within {within:?}; the log:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    /// The server's log since the last call, once it is stopped (so that
    /// every line is in).
    pub(crate) fn stop_and_read_log(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = Vec::new();
        while let Some(line) = self.next_log_line(Duration::from_secs(5)) {
            log.push(line);
        }
        log.join("\n")
    }

    /// Runs `bindbridge --db DB ARGS...`; requires exit 0; standard output.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let o = bindbridge()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("BINDBRIDGE_DB")
            .output()
            .expect("bindbridge runs");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "bindbridge {args:?}: {stderr}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs `bindbridge --db DB ARGS...` with `input` on standard input
    /// (a password for `--password-stdin`); requires exit 0.
    pub(crate) fn cli_with_input(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = bindbridge()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("BINDBRIDGE_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bindbridge runs");
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(input.as_bytes()).expect("input written");
        drop(stdin);
        let o = child.wait_with_output().expect("bindbridge ends");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "bindbridge {args:?}: {stderr}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `token create --user USER --permissions PERMISSIONS EXTRA...`: the token.
    pub(crate) fn token(&self, user: &str, permissions: &str, extra: &[&str]) -> String {
        let mut args = vec!["token", "create", "--user", user];
        args.extend(["--permissions", permissions]);
        args.extend_from_slice(extra);
        let out = self.cli(&args);
        let token = out.trim_end_matches('\n');
        let alone = token.len() > 12 && !token.contains(char::is_whitespace);
        assert!(
            token.starts_with("vps_") && alone,
            "token create must print the token alone, printed {out:?}"
        );
        token.to_string()
    }

    /// A new user, and a token of theirs with these permissions.
    pub(crate) fn user_with_token(&self, user: &str, permissions: &str) -> String {
        self.cli(&["user", "add", user]);
        self.token(user, permissions, &[])
    }

    pub(crate) fn client(&self, token: &str) -> Client<'_> {
        let authorization = Some(format!("Bearer {token}"));
        Client {
            server: self,
            authorization,
        }
    }

    /// One request; `target` is a path, or a full URL (from a Link header).
    fn request(&self, method: &str, target: &str, auth: Option<&str>, body: Body) -> Reply {
        let what = format!("{method} {target}");
        let url = if target.starts_with("http") {
            target.to_string()
        } else {
            format!("{}{target}", self.base)
        };
        let mut request = Request::builder().method(method).uri(url);
        if let Some(value) = auth {
            request = request.header("Authorization", value);
        }
        let result = match body {
            Some((content_type, bytes)) => {
                let request = request.header("Content-Type", content_type);
                self.agent.run(request.body(bytes).unwrap())
            }
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{what}: no HTTP response: {e}"));
        let bytes = response.body_mut().read_to_vec();
        let text = String::from_utf8_lossy(&bytes.expect("a readable body")).into_owned();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Reply {
            what,
            status,
            headers,
            text,
            body,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request body: its content type and bytes.
pub(crate) type Body<'a> = Option<(&'a str, Vec<u8>)>;

/// Requests with one Authorization header.
pub(crate) struct Client<'a> {
    server: &'a Server,
    authorization: Option<String>,
}

impl Client<'_> {
    /// A request with an optional JSON body.
    pub(crate) fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(|b| ("application/json", serde_json::to_vec(b).unwrap()));
        self.raw(method, path, body)
    }

    /// A request with a body sent as is, under its content type.
    pub(crate) fn raw(&self, method: &str, path: &str, body: Body) -> Reply {
        let authorization = self.authorization.as_deref();
        self.server.request(method, path, authorization, body)
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(body))
    }

    pub(crate) fn put(&self, path: &str, body: &Value) -> Reply {
        self.send("PUT", path, Some(body))
    }

    pub(crate) fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, Some(body))
    }

    pub(crate) fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None)
    }
}

/// An HTTP answer: status, headers and the body as JSON (`Null` when empty,
/// a JSON string holding the text when it is not JSON).
pub(crate) struct Reply {
    what: String,
    pub(crate) status: u16,
    headers: HeaderMap,
    pub(crate) text: String,
    pub(crate) body: Value,
}

impl Reply {
    /// Requires `status` (and a JSON body, or none for 204); the body.
    fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        match status {
            204 => assert!(self.text.is_empty(), "{}: 204 with a body", self.what),
            _ => self.assert_json(),
        }
        self.body
    }

    fn assert_json(&self) {
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json") && !self.body.is_string(),
            "{}: not JSON ({content_type}): {}",
            self.what,
            self.text
        );
    }

    /// Every value of a header, joined with ", ".
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let values = self.headers.get_all(name).iter();
        let values: Vec<&str> = values.filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Requires `status` with an error body `{"detail", "error_code", "field"}`.
    fn error(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        self.assert_json();
        let body = &self.body;
        let text = |key: &str| body[key].as_str().is_some_and(|d| !d.is_empty());
        let field = body
            .get("field")
            .is_some_and(|f| f.is_null() || f.is_string());
        assert!(
            text("detail") && text("error_code") && field,
            "{}: an error is {{detail, error_code, field}}, got {}",
            self.what,
            self.text
        );
        body
    }

    /// Requires 400 naming `field`.
    fn bad_field(&self, field: &str) -> &Value {
        let body = self.error(400);
        assert_eq!(body["field"], field, "{}: {}", self.what, self.text);
        body
    }

    /// Requires 400 "validation_error" naming `field`.
    fn invalid(&self, field: &str) {
        let code = &self.bad_field(field)["error_code"];
        assert_eq!(code, "validation_error", "{}", self.what);
    }

    /// Requires 403 whose detail names `permission`.
    fn forbidden(&self, permission: &str) {
        let detail = self.error(403)["detail"].as_str().unwrap();
        let message = format!("{}: detail must name {permission}: {detail}", self.what);
        assert!(detail.contains(permission), "{message}");
    }

    /// Requires 401 with `WWW-Authenticate: Bearer`.
    fn unauthorized(&self) {
        self.error(401);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        let message = format!("{}: 401 without WWW-Authenticate: Bearer", self.what);
        assert!(challenge.starts_with("Bearer"), "{message}");
    }

    fn total_count(&self) -> u64 {
        let total = self.header("x-total-count");
        let count = total.as_deref().and_then(|t| t.trim().parse().ok());
        count.unwrap_or_else(|| panic!("{}: X-Total-Count is {total:?}", self.what))
    }

    /// The target of the Link header's `rel="REL"` entry.
    fn link(&self, rel: &str) -> Option<String> {
        let header = self.header("link")?;
        let wanted = format!("rel=\"{rel}\"");
        let entry = header.split(',').find(|e| e.contains(&wanted))?;
        let (start, end) = (entry.find('<')? + 1, entry.find('>')?);
        Some(entry[start..end].trim().to_string())
    }
}

fn keys(value: &Value) -> BTreeSet<&str> {
    let object = value.as_object();
    let object = object.unwrap_or_else(|| panic!("not an object: {value}"));
    object.keys().map(String::as_str).collect()
}

fn assert_uuid(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(text).is_ok(), "not a uuid: {value}");
}

/// ISO 8601 UTC to the second: `2026-11-27T12:00:00Z`.
fn assert_timestamp(value: &Value) {
    let (text, shape) = (value.as_str().unwrap_or_default(), "0000-00-00T00:00:00Z");
    let same = |(c, s): (u8, u8)| c == s || (s == b'0' && c.is_ascii_digit());
    let ok = text.len() == shape.len() && text.bytes().zip(shape.bytes()).all(same);
    assert!(ok, "not an ISO 8601 UTC time: {value}");
}

/// A record has exactly the record fields, its zone, and `expected`'s values.
fn assert_record(record: &Value, zone: &str, expected: &Value) {
    assert_eq!(keys(record), BTreeSet::from(RECORD_KEYS), "{record:#}");
    assert_uuid(&record["uuid"]);
    assert_timestamp(&record["created_at"]);
    assert_eq!(record["zone"], zone, "zone of {record:#}");
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&record[key], value, "{key} of {record:#}");
    }
}

fn array(value: &Value) -> &Vec<Value> {
    let array = value.as_array();
    array.unwrap_or_else(|| panic!("not an array: {value}"))
}

fn uuid_of(value: &Value) -> String {
    value["uuid"].as_str().expect("a uuid").to_string()
}

fn uuids(list: &Value) -> BTreeSet<String> {
    array(list).iter().map(uuid_of).collect()
}

fn set<const N: usize>(uuids: [&String; N]) -> BTreeSet<String> {
    uuids.into_iter().cloned().collect()
}

fn by_uuid<'a>(items: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, &'a Value> {
    items.into_iter().map(|v| (uuid_of(v), v)).collect()
}

pub(crate) fn create_zone(api: &Client, domain: &str) -> String {
    uuid_of(&api.post(ZONES, &json!({ "domain": domain })).expect(201))
}

pub(crate) fn create_record(api: &Client, zone: &str, body: &Value) -> String {
    uuid_of(&api.post(&zone_records_path(zone), body).expect(201))
}

/// A record request; `priority` and `ttl` are sent only when given.
fn record(kind: &str, name: &str, value: &str, priority: Option<i64>, ttl: Option<i64>) -> Value {
    let mut body = json!({ "record_type": kind, "name": name, "value": value });
    if let Some(priority) = priority {
        body["priority"] = json!(priority);
    }
    if let Some(ttl) = ttl {
        body["ttl"] = json!(ttl);
    }
    body
}

pub(crate) fn a_record(name: &str, value: &str) -> Value {
    record("A", name, value, None, None)
}

/// A complete A record, as PUT takes it.
fn full_a(name: &str, value: &str, ttl: i64) -> Value {
    json!({ "record_type": "A", "name": name, "value": value, "ttl": ttl, "priority": null })
}

#[test]
fn documented_flow_works_end_to_end() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));

    let zone = api.post(ZONES, &json!({ "domain": "example.com" }));
    let zone = zone.expect(201);
    for key in ["soa", "nameservers", "deploy", "records"] {
        assert!(keys(&zone).contains(key), "{key} missing from {zone:#}");
    }
    assert_uuid(&zone["uuid"]);
    assert_timestamp(&zone["created_at"]);
    assert_eq!(zone["domain"], "example.com");
    assert_eq!(zone["record_count"], 0);
    assert_eq!(zone["records"], json!([]));
    assert_eq!(zone["nameservers"], json!(["ns1.vps.org.", "ns2.vps.org."]));
    assert_eq!(zone["deploy"]["state"], "pending", "{zone:#}");
    assert!(zone["soa"].is_object(), "{zone:#}");
    let z = uuid_of(&zone);

    let other = create_zone(&api, "other.org");
    let other_a = create_record(&api, &other, &a_record("@", "198.51.100.7"));
    assert_eq!(uuids(&api.get(ZONES).expect(200)), set([&z, &other]));
    let by_domain = "/api/v1/dns-zones/?domain=example.com";
    let summary = |count: u64| {
        json!([{
            "uuid": z, "domain": "example.com",
            "created_at": zone["created_at"], "record_count": count,
        }])
    };
    assert_eq!(api.get(by_domain).expect(200), summary(0));

    const SPF: &str = "v=spf1 include:_spf.google.com ~all";
    const SIP: &str = "5 5060 sip.example.com";
    const CAA: &str = "0 issue \"letsencrypt.org\"";
    // (type, name, value sent, priority, ttl sent, value shown): each documented type.
    #[rustfmt::skip]
    let cases = [
        ("A", "www", "192.0.2.1", None, Some(3600), "192.0.2.1"),
        ("MX", "@", "mail.example.com.", Some(10), None, "mail.example.com"),
        ("TXT", "@", SPF, None, None, SPF),
        ("SRV", "_sip._tcp", SIP, Some(10), Some(300), SIP),
        ("CAA", "@", CAA, None, None, CAA),
        ("AAAA", "v6", "2001:0db8::1", None, None, "2001:db8::1"),
        ("CNAME", "blog", "www.example.com", None, None, "www.example.com"),
        ("NS", "sub", "ns1.example.net.", None, None, "ns1.example.net"),
    ];
    let mut created = Vec::new();
    for (kind, name, value, priority, ttl, shown) in cases {
        let body = record(kind, name, value, priority, ttl);
        let reply = api.post(&zone_records_path(&z), &body).expect(201);
        let expected = json!({
            "record_type": kind, "name": name, "value": shown,
            "ttl": ttl.unwrap_or(3600), "priority": priority,
        });
        assert_record(&reply, &z, &expected);
        created.push(reply);
    }
    let created_map = by_uuid(&created);

    let detail = api.get(&zone_path(&z)).expect(200);
    assert_eq!(detail["uuid"], z);
    assert_eq!(detail["domain"], "example.com");
    assert_eq!(detail["created_at"], zone["created_at"]);
    assert_eq!(detail["record_count"], 8);
    assert_eq!(by_uuid(array(&detail["records"])), created_map);
    assert_eq!(api.get(by_domain).expect(200), summary(8));

    let listed = api.get(&zone_records_path(&z)).expect(200);
    assert_eq!(by_uuid(array(&listed)), created_map);
    let all = api.get(RECORDS).expect(200);
    assert_eq!(array(&all).len(), 9, "{all:#}");
    assert!(uuids(&all).contains(&other_a));
    let in_zone = api.get(&format!("{RECORDS}?zone={z}")).expect(200);
    assert_eq!(by_uuid(array(&in_zone)), created_map);
    let mx = api.get(&format!("{RECORDS}?record_type=MX")).expect(200);
    assert_eq!(mx, json!([created[1]]));
    let both = api.get(&format!("{RECORDS}?zone={other}&record_type=A"));
    assert_eq!(uuids(&both.expect(200)), set([&other_a]));

    let www = record_path(&uuid_of(&created[0]));
    let mut expected = created[0].clone();
    expected["ttl"] = json!(1800);
    assert_eq!(api.patch(&www, &json!({"ttl": 1800})).expect(200), expected);
    expected["value"] = json!("192.0.2.2");
    expected["ttl"] = json!(600);
    let put = api.put(&www, &full_a("www", "192.0.2.2", 600));
    assert_eq!(put.expect(200), expected);
    assert_eq!(api.get(&www).expect(200), expected);
    api.delete(&www).expect(204);
    api.get(&www).error(404);
    assert_eq!(api.get(&zone_path(&z)).expect(200)["record_count"], 7);

    let history = server.cli(&["zone", "history", "example.com"]);
    let lines = history.lines().filter(|l| !l.trim().is_empty()).count();
    let lower = history.to_lowercase();
    let message = format!("8 creations, a patch, a put and a delete:\n{history}");
    assert!(lines >= 11, "{message}");
    assert!(
        lower.contains("record") || lower.contains("create"),
        "{message}"
    );

    api.delete(&zone_path(&z)).expect(204);
    api.get(&zone_path(&z)).error(404);
    api.get(&record_path(&uuid_of(&created[1]))).error(404);
    assert_eq!(uuids(&api.get(ZONES).expect(200)), set([&other]));
}

#[test]
fn every_route_answers_with_and_without_the_trailing_slash() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    for (slash, tag) in [("/", "slash"), ("", "bare")] {
        let domain = format!("{tag}.example");
        let zones = format!("/api/v1/dns-zones{slash}");
        let zone = api.post(&zones, &json!({ "domain": domain }));
        let zone = uuid_of(&zone.expect(201));
        let found = api.get(&format!("{zones}?domain={domain}"));
        assert_eq!(uuids(&found.expect(200)), set([&zone]));
        let zone_path = format!("/api/v1/dns-zones/{zone}{slash}");
        api.get(&zone_path).expect(200);

        let zone_records = format!("/api/v1/dns-zones/{zone}/records{slash}");
        let record = api.post(&zone_records, &a_record("www", "192.0.2.1"));
        let record = uuid_of(&record.expect(201));
        assert_eq!(array(&api.get(&zone_records).expect(200)).len(), 1);
        api.get(&format!("/api/v1/dns-records{slash}")).expect(200);

        let path = format!("/api/v1/dns-records/{record}{slash}");
        api.get(&path).expect(200);
        let put = api.put(&path, &full_a("www", "192.0.2.2", 60));
        assert_eq!(put.expect(200)["value"], "192.0.2.2");
        let patched = api.patch(&path, &json!({"ttl": 120}));
        assert_eq!(patched.expect(200)["ttl"], 120);
        api.delete(&path).expect(204);
        api.delete(&zone_path).expect(204);
    }
}

#[test]
fn each_error_has_its_status_code_and_a_json_body() {
    let server = Server::start();
    let token = server.user_with_token("alice", "dns:*");
    let api = server.client(&token);
    let zone = create_zone(&api, "status.example");
    let www = create_record(&api, &zone, &a_record("www", "192.0.2.1"));
    let paths = [
        zone_path(&zone),
        zone_records_path(&zone),
        record_path(&www),
    ];
    let [zone_url, records, record_url] = paths.each_ref().map(String::as_str);

    assert_eq!(server.request("GET", "/healthz", None, None).status, 200);
    let mx = record("MX", "@", "mail.status.example", None, None);
    api.post(records, &mx).invalid("priority");

    // 401: no token, unknown, tampered, wrong scheme, no scheme, empty.
    let last = if token.ends_with('0') { "1" } else { "0" };
    let tampered = format!("Bearer {}{last}", &token[..token.len() - 1]);
    let basic = format!("Basic {token}");
    #[rustfmt::skip]
    let bad = [
        None, Some("Bearer vps_notarealtoken"), Some(tampered.as_str()),
        Some(basic.as_str()), Some(token.as_str()), Some("Bearer "),
    ];
    for authorization in bad {
        let targets = [("GET", ZONES), ("GET", zone_url), ("DELETE", record_url)];
        for (method, path) in targets {
            let reply = server.request(method, path, authorization, None);
            reply.unauthorized();
        }
    }
    api.get(record_url).expect(200);

    // 403 names the missing permission.
    let reader = server.client(&server.token("alice", "dns:read", &[]));
    let new_zone = json!({"domain": "x.example"});
    reader.post(ZONES, &new_zone).forbidden("dns:create");
    reader.delete(record_url).forbidden("dns:delete");
    reader.get(ZONES).forbidden("dns:list");

    // 404: unknown ids, malformed ids, unknown routes.
    let unknown = "0190b2a4-0000-7000-8000-000000000000";
    #[rustfmt::skip]
    let missing = [
        zone_path(unknown), zone_records_path(unknown), record_path(unknown),
        zone_path("not-a-uuid"), record_path("not-a-uuid"),
        "/api/v1/nothing/".into(), "/api/v2/dns-zones/".into(),
    ];
    for path in missing {
        api.get(&path).error(404);
    }
    api.delete(&record_path(unknown)).error(404);

    // 405: a known path, a method it does not have.
    #[rustfmt::skip]
    let wrong = [
        ("PUT", ZONES), ("DELETE", ZONES), ("PATCH", zone_url), ("PUT", zone_url),
        ("POST", zone_url), ("DELETE", records), ("POST", RECORDS), ("POST", record_url),
    ];
    for (method, path) in wrong {
        let body = matches!(method, "POST" | "PUT" | "PATCH").then(|| json!({}));
        api.send(method, path, body.as_ref()).error(405);
    }

    // 413: over 1 MiB.
    let big = record("TXT", "big", &"a".repeat(1024 * 1024 + 1), None, None);
    api.post(records, &big).error(413);

    // 415: not JSON.
    let form = "application/x-www-form-urlencoded";
    let domain = br#"{"domain": "plain.example"}"#;
    #[rustfmt::skip]
    let typed = [
        ("POST", ZONES, "text/plain"), ("POST", records, "text/plain"),
        ("PUT", record_url, form), ("PATCH", record_url, "text/plain"),
    ];
    for (method, path, content_type) in typed {
        let reply = api.raw(method, path, Some((content_type, domain.to_vec())));
        reply.error(415);
    }
    let plain = api.get("/api/v1/dns-zones/?domain=plain.example");
    assert_eq!(plain.expect(200), json!([]));

    // 400: malformed JSON, JSON of the wrong type.
    #[rustfmt::skip]
    let malformed = [
        ("POST", ZONES, "{\"domain\":"), ("POST", records, "not json"),
        ("PATCH", record_url, "[1, 2"), ("PUT", record_url, ""),
    ];
    for (method, path, body) in malformed {
        let reply = api.raw(method, path, Some(("application/json", body.into())));
        reply.error(400);
    }

    // 400 naming the field: wrong JSON types, unknown fields.
    let mut extra = a_record("extra", "192.0.2.9");
    extra["comment"] = json!("hi");
    let mut full = full_a("www", "192.0.2.1", 60);
    full["x"] = json!(1);
    #[rustfmt::skip]
    let fields = [
        ("POST", ZONES, json!({"domain": 5}), "domain"),
        ("PATCH", record_url, json!({"ttl": "soon"}), "ttl"),
        ("POST", ZONES, json!({"domain": "u.example", "owner": "bob"}), "owner"),
        ("POST", records, extra, "comment"),
        ("PATCH", record_url, json!({"ttl": 1800, "colour": "red"}), "colour"),
        ("PUT", record_url, full, "x"),
    ];
    for (method, path, body, field) in fields {
        api.send(method, path, Some(&body)).bad_field(field);
    }

    let kept = api.get(record_url).expect(200);
    assert_eq!(kept["value"], "192.0.2.1", "{kept:#}");
    assert_eq!(kept["ttl"], 3600, "{kept:#}");
}

/// A route: method, path, body, the permission it needs, its status when allowed.
type Route = (&'static str, String, Option<Value>, &'static str, u16);

/// Every route, on fresh objects made by `admin` (`tag` keeps names apart).
fn routes(admin: &Client, tag: &str) -> Vec<Route> {
    let zone = create_zone(admin, &format!("{tag}.example"));
    let doomed_zone = zone_path(&create_zone(admin, &format!("doomed-{tag}.example")));
    let record = record_path(&create_record(admin, &zone, &a_record("www", "192.0.2.1")));
    let doomed = record_path(&create_record(admin, &zone, &a_record("old", "192.0.2.2")));
    let new_zone = json!({ "domain": format!("new-{tag}.example") });
    let new_record = a_record("new", "192.0.2.3");
    let (full, ttl) = (full_a("www", "192.0.2.9", 60), json!({"ttl": 90}));
    let (zone_records, zone) = (zone_records_path(&zone), zone_path(&zone));
    vec![
        ("GET", ZONES.into(), None, "dns:list", 200),
        ("POST", ZONES.into(), Some(new_zone), "dns:create", 201),
        ("GET", zone, None, "dns:read", 200),
        ("GET", zone_records.clone(), None, "dns:list", 200),
        ("POST", zone_records, Some(new_record), "dns:create", 201),
        ("GET", RECORDS.into(), None, "dns:list", 200),
        ("GET", record.clone(), None, "dns:read", 200),
        ("PUT", record.clone(), Some(full), "dns:update", 200),
        ("PATCH", record, Some(ttl), "dns:update", 200),
        ("DELETE", doomed, None, "dns:delete", 204),
        ("DELETE", doomed_zone, None, "dns:delete", 204),
    ]
}

#[test]
fn each_permission_opens_only_its_own_routes() {
    let server = Server::start();
    let admin = server.client(&server.user_with_token("alice", "dns:*"));
    let single = routes(&admin, "single");
    for permission in PERMISSIONS {
        let api = server.client(&server.token("alice", permission, &[]));
        for (method, path, body, needed, success) in &single {
            let reply = api.send(method, path, body.as_ref());
            if needed == &permission {
                let message = format!("{permission}: {}: {}", reply.what, reply.text);
                assert_eq!(reply.status, *success, "{message}");
            } else {
                reply.forbidden(needed);
            }
        }
    }
    let all = server.client(&server.token("alice", "dns:*", &[]));
    for (method, path, body, _, success) in routes(&admin, "star") {
        let reply = all.send(method, &path, body.as_ref());
        let message = format!("dns:*: {}: {}", reply.what, reply.text);
        assert_eq!(reply.status, success, "{message}");
    }
}

#[test]
fn another_users_zones_and_records_are_not_found() {
    let server = Server::start();
    let alice = server.client(&server.user_with_token("alice", "dns:*"));
    let bob = server.client(&server.user_with_token("bob", "dns:*"));
    let zone = create_zone(&alice, "dept.alice.example");
    let www = create_record(&alice, &zone, &a_record("www", "192.0.2.1"));
    let bob_zone = create_zone(&bob, "bob.example");
    let bob_www = create_record(&bob, &bob_zone, &a_record("www", "192.0.2.2"));

    let full = full_a("www", "6.6.6.6", 60);
    let (evil, patch) = (a_record("evil", "6.6.6.6"), json!({"value": "6.6.6.6"}));
    let attempts = [
        ("GET", zone_path(&zone), None),
        ("DELETE", zone_path(&zone), None),
        ("GET", zone_records_path(&zone), None),
        ("POST", zone_records_path(&zone), Some(evil)),
        ("GET", record_path(&www), None),
        ("PUT", record_path(&www), Some(full)),
        ("PATCH", record_path(&www), Some(patch)),
        ("DELETE", record_path(&www), None),
    ];
    for (method, path, body) in &attempts {
        bob.send(method, path, body.as_ref()).error(404);
    }

    assert_eq!(uuids(&bob.get(ZONES).expect(200)), set([&bob_zone]));
    assert_eq!(uuids(&alice.get(ZONES).expect(200)), set([&zone]));
    let by_domain = bob.get("/api/v1/dns-zones/?domain=dept.alice.example");
    assert_eq!(by_domain.expect(200), json!([]));
    assert_eq!(uuids(&bob.get(RECORDS).expect(200)), set([&bob_www]));
    let typed = bob.get(&format!("{RECORDS}?record_type=A"));
    assert_eq!(uuids(&typed.expect(200)), set([&bob_www]));
    let by_zone = bob.get(&format!("{RECORDS}?zone={zone}"));
    let hidden = by_zone.status == 404 || (by_zone.status == 200 && by_zone.body == json!([]));
    assert!(
        hidden,
        "{}: {} {}",
        by_zone.what, by_zone.status, by_zone.text
    );

    // Equal (in any case), inside, above.
    #[rustfmt::skip]
    let taken = [
        "dept.alice.example", "DEPT.Alice.Example", "www.dept.alice.example", "alice.example",
    ];
    for domain in taken {
        bob.post(ZONES, &json!({ "domain": domain }))
            .bad_field("domain");
    }

    let detail = alice.get(&zone_path(&zone)).expect(200);
    assert_eq!(detail["record_count"], 1, "{detail:#}");
    let record = alice.get(&record_path(&www)).expect(200);
    assert_eq!(record["value"], "192.0.2.1", "{record:#}");
    assert_eq!(record["ttl"], 3600, "{record:#}");
}

/// The domains of every stored zone, as `zone list` shows them.
fn stored_domains(server: &Server) -> BTreeSet<String> {
    let list = server.cli(&["zone", "list", "--format", "json"]);
    list.lines()
        .map(|line| {
            let zone: Value = serde_json::from_str(line).expect("a JSON line");
            zone["domain"].as_str().expect("domain").to_string()
        })
        .collect()
}

#[test]
fn zone_names_are_ldh_labels_in_one_spelling() {
    let server = Server::start();
    let alice = server.client(&server.user_with_token("alice", "dns:*"));
    let bob = server.client(&server.user_with_token("bob", "dns:*"));
    create_zone(&bob, "bob.example");

    // A backslash is no escape: `b\ob` is not read as `bob`, which would
    // pass the duplicate and overlap checks with a name named serves as
    // bob's.
    #[rustfmt::skip]
    let escaped = [
        "b\\ob.example", "goo\\d.example", "goo\\100d.example", "www.b\\ob.example",
        "a_b.example", "*.example", "a/b.example", "\"q\".example", "sp ace.example",
    ];
    for domain in escaped {
        let reply = alice.post(ZONES, &json!({ "domain": domain }));
        reply.invalid("domain");
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("is not allowed"), "{domain}: {detail}");
    }
    // Any other spelling of bob's name is bob's name.
    for domain in ["BOB.example.", "Bob.Example", "bob.example."] {
        alice
            .post(ZONES, &json!({ "domain": domain }))
            .bad_field("domain");
        bob.post(ZONES, &json!({ "domain": domain }))
            .bad_field("domain");
    }
    let found = bob.get(&format!("{ZONES}?domain=BOB.Example."));
    assert_eq!(array(&found.expect(200)).len(), 1);
    // 253 characters is the longest name (255 octets in wire form).
    let labels = format!("{}.example", vec!["a".repeat(60); 4].join("."));
    alice
        .post(ZONES, &json!({ "domain": format!("abc{labels}") }))
        .invalid("domain");
    let longest = format!("ab{labels}");
    create_zone(&alice, &longest);

    create_zone(&alice, "Bücher.Example.");

    #[rustfmt::skip]
    let expected: BTreeSet<String> = [
        "bob.example".to_string(), longest, "xn--bcher-kva.example".to_string(),
    ].into();
    assert_eq!(stored_domains(&server), expected);
    assert_eq!(array(&alice.get(ZONES).expect(200)).len(), 2);
    // The CLI finds a zone by any spelling of its name, too.
    let shown = server.cli(&["zone", "show", "BÜCHER.example."]);
    assert!(shown.contains("xn--bcher-kva.example"), "{shown}");
}

#[test]
fn names_nobody_should_own_are_refused() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    // (name, words of the rule the refusal must name); the default
    // nameservers are ns1.vps.org and ns2.vps.org.
    #[rustfmt::skip]
    let reserved = [
        ("co.uk", "public suffix"), ("github.io", "public suffix"),
        ("ip6.arpa", "reverse tree"), ("in-addr.arpa", "reverse tree"),
        ("home.arpa", "special-use"), ("printer.home.arpa", "special-use"),
        ("my.localhost", "special-use"), ("x.invalid", "special-use"),
        ("printer.local", "special-use"), ("hidden.onion", "special-use"),
        ("1.2.3.4", "IP address"), ("vps.org", "nameserver"), ("ns1.vps.org", "nameserver"),
    ];
    for (domain, rule) in reserved {
        let reply = api.post(ZONES, &json!({ "domain": domain }));
        reply.invalid("domain");
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(rule), "{domain}: {detail}");
    }
    assert_eq!(stored_domains(&server), BTreeSet::new());

    // Reverse zones of a network, test names and names under a suffix are
    // anybody's.
    #[rustfmt::skip]
    let allowed = [
        "2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa", "lab.test", "alice.github.io",
        "alice.co.uk", "www.vps.org",
    ];
    for domain in allowed {
        create_zone(&api, domain);
    }
    assert_eq!(stored_domains(&server).len(), allowed.len());
}

#[test]
fn an_operator_may_allow_a_reserved_name() {
    let server = Server::start_with_config(
        "[zone_defaults]\nnameservers = [\"ns1.dns.provider.example.\"]\n\
         allowed_reserved = [\"CO.UK.\", \"provider.example\"]\n",
    );
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    api.post(ZONES, &json!({"domain": "dns.provider.example"}))
        .invalid("domain");
    api.post(ZONES, &json!({"domain": "org.uk"}))
        .invalid("domain");
    for domain in ["co.uk", "provider.example", "vps.org"] {
        create_zone(&api, domain);
    }
}

/// What a record request must get.
enum Expect {
    Created,
    /// 400 validation_error naming this field.
    Invalid(&'static str),
    /// 400, whichever field it names.
    Refused,
}

#[test]
fn validation_rules_reject_bad_records_and_domains() {
    use Expect::{Created, Invalid, Refused};
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let records = zone_records_path(&create_zone(&api, "valid.example"));
    const SIP: &str = "5 5060 sip.valid.example";
    const SOA: &str = "ns1.vps.org. hostmaster.vps.org. 1 2 3 4 5";
    const MAX_TTL: i64 = 2_147_483_647;
    // (type, name, value, priority, ttl, expected), in order: conflicts come last.
    #[rustfmt::skip]
    let cases = [
        ("A", "@", "192.0.2.1", None, None, Created),
        ("A", "host", "192.0.2.2", None, None, Created),
        ("A", "fq.valid.example.", "192.0.2.3", None, None, Created),
        ("A", "*.dev", "192.0.2.4", None, None, Created),
        ("AAAA", "v6", "2001:0db8:0:0:0:0:0:2", None, None, Created),
        ("CNAME", "alias", "target.example.net.", None, None, Created),
        ("NS", "sub", "ns1.example.net", None, None, Created),
        ("MX", "@", "mail.valid.example", Some(0), None, Created),
        ("MX", "@", "mx2.valid.example.", Some(65535), None, Created),
        ("SRV", "_sip._udp", SIP, Some(10), None, Created),
        ("CAA", "@", "0 issue \"letsencrypt.org\"", None, None, Created),
        ("TXT", "ttl-min", "x", None, Some(1), Created),
        ("TXT", "ttl-max", "x", None, Some(MAX_TTL), Created),
        ("A", "www.elsewhere.example.", "192.0.2.1", None, None, Invalid("name")),
        ("A", "www.valid.example.com.", "192.0.2.1", None, None, Invalid("name")),
        ("A", "bad", "256.1.1.1", None, None, Invalid("value")),
        ("A", "bad", "1.2.3", None, None, Invalid("value")),
        ("A", "bad", "::1", None, None, Invalid("value")),
        ("A", "bad", "", None, None, Invalid("value")),
        ("AAAA", "bad", "2001:db8::zz", None, None, Invalid("value")),
        ("AAAA", "bad", "192.0.2.1", None, None, Invalid("value")),
        ("CNAME", "bad", "not a host", None, None, Invalid("value")),
        ("NS", "bad", "two words", None, None, Invalid("value")),
        ("MX", "@", "mail host", Some(10), None, Invalid("value")),
        ("SRV", "_x._tcp", "5 sip.valid.example", Some(1), None, Invalid("value")),
        ("SRV", "_x._tcp", "5 70000 sip.valid.example", Some(1), None, Invalid("value")),
        ("CAA", "@", "0 frobnicate \"letsencrypt.org\"", None, None, Invalid("value")),
        ("MX", "@", "mail.valid.example", None, None, Invalid("priority")),
        ("SRV", "_y._tcp", SIP, None, None, Invalid("priority")),
        ("MX", "@", "mx3.valid.example", Some(65536), None, Invalid("priority")),
        ("MX", "@", "mx3.valid.example", Some(-1), None, Invalid("priority")),
        ("A", "p", "192.0.2.9", Some(10), None, Invalid("priority")),
        ("TXT", "p", "hi", Some(0), None, Invalid("priority")),
        ("TXT", "t", "x", None, Some(0), Invalid("ttl")),
        ("TXT", "t", "x", None, Some(-5), Invalid("ttl")),
        ("TXT", "t", "x", None, Some(MAX_TTL + 1), Invalid("ttl")),
        ("SOA", "@", SOA, None, None, Invalid("record_type")),
        ("BOGUS", "b", "x", None, None, Invalid("record_type")),
        ("CNAME", "@", "target.example.net.", None, None, Refused),
        ("CNAME", "host", "target.example.net.", None, None, Refused),
        ("A", "alias", "192.0.2.6", None, None, Refused),
        ("A", "host", "192.0.2.2", None, None, Refused),
    ];
    let mut created = 0;
    for (kind, name, value, priority, ttl, expect) in cases {
        let body = record(kind, name, value, priority, ttl);
        let reply = api.post(&records, &body);
        match expect {
            Created => {
                assert_eq!(reply.status, 201, "{body}: {}", reply.text);
                created += 1;
            }
            Invalid(field) => reply.invalid(field),
            Refused => _ = reply.error(400),
        }
    }
    let mut null_priority = a_record("np", "192.0.2.5");
    null_priority["priority"] = Value::Null;
    api.post(&records, &null_priority).expect(201);
    let no_value = json!({"record_type": "A", "name": "novalue"});
    api.post(&records, &no_value).invalid("value");

    let stored = api.get(&records).expect(200);
    let by_name = |name: &str| array(&stored).iter().find(|r| r["name"] == name).cloned();
    let message = format!("only accepted records are stored: {stored:#}");
    assert_eq!(array(&stored).len(), created + 1, "{message}");
    assert_eq!(by_name("v6").expect("v6")["value"], "2001:db8::2");

    let host = record_path(&uuid_of(&by_name("host").expect("host")));
    api.patch(&host, &json!({"ttl": 0})).invalid("ttl");
    api.patch(&host, &json!({"value": "300.1.1.1"}))
        .invalid("value");
    let mut mx = full_a("host", "mail.valid.example", 60);
    mx["record_type"] = json!("MX");
    api.put(&host, &mx).invalid("priority");
    assert_eq!(api.get(&host).expect(200)["value"], "192.0.2.2");

    let idn = api.post(ZONES, &json!({"domain": "bücher.example"}));
    assert_eq!(idn.expect(201)["domain"], "xn--bcher-kva.example");
    let again = json!({"domain": "xn--bcher-kva.example"});
    api.post(ZONES, &again).bad_field("domain");
    let long_label = format!("{}.example", "a".repeat(64));
    let too_long = ["abcdefghi"; 26].join(".");
    #[rustfmt::skip]
    let bad = [
        "", "not a domain", "-bad.example", "a..b.example", &long_label, &too_long,
    ];
    for domain in bad {
        api.post(ZONES, &json!({ "domain": domain }))
            .invalid("domain");
    }
}

#[test]
fn injection_attempts_leave_an_exported_zone_bind_accepts() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "inject.example");
    let evil_domain = json!({"domain": "evil.example\n$INCLUDE /etc/passwd"});
    api.post(ZONES, &evil_domain).invalid("domain");

    const EVIL: &str = "evil 3600 IN A 6.6.6.6";
    const INCLUDE: &str = "$INCLUDE /etc/passwd";
    let rec = |kind: &str, name: &str, value: &str| record(kind, name, value, None, None);
    let attempts = [
        rec("TXT", "t1", &format!("hello\n{EVIL}")),
        rec("TXT", "t2", &format!("x\n{INCLUDE}")),
        rec("TXT", "t3", INCLUDE),
        rec("TXT", "t4", "quote\" ; evil"),
        rec("TXT", "t5", "nul\0byte"),
        rec("TXT", "t6", "( 6.6.6.6"),
        rec("TXT", "t7", "back\\slash\"\n) IN A 6.6.6.6"),
        rec("TXT", "t8", &"a".repeat(64 * 1024)),
        rec("A", "a1", &format!("192.0.2.1\n{EVIL}")),
        rec("A", "a2", "192.0.2.1 ; comment"),
        rec("A", &format!("n1\n{EVIL}"), "192.0.2.1"),
        rec("A", "n2;x", "192.0.2.1"),
        rec("A", "n3(", "192.0.2.1"),
        rec("A", "$INCLUDE", "192.0.2.1"),
        rec("TXT", "n4\"", "x"),
        rec("CNAME", "c1", &format!("target.example.net.\n{INCLUDE}")),
        rec("CAA", "@", "0 issue \"letsencrypt.org\"\nevil IN A 6.6.6.6"),
        rec("NS", "d1", "ns.example.net.\n@ IN A 6.6.6.6"),
        record("MX", "m1", "mail.example.net ; x", Some(10), None),
        record(
            "SRV",
            "_s._tcp",
            &format!("5 5 sip.example.net\n{INCLUDE}"),
            Some(1),
            None,
        ),
        rec("A\nevil", "r1", "192.0.2.1"),
    ];
    let records = zone_records_path(&zone);
    let safe = record_path(&create_record(&api, &zone, &rec("TXT", "p", "safe")));
    let mut replies: Vec<Reply> = attempts.iter().map(|b| api.post(&records, b)).collect();
    replies.push(api.patch(&safe, &json!({ "value": format!("x\n{INCLUDE}") })));
    replies.push(api.patch(&safe, &json!({ "value": format!("y\n{EVIL}") })));
    for (body, reply) in attempts.iter().zip(&replies) {
        // Stored text comes back exactly as sent.
        if reply.status == 201 && body["record_type"] == "TXT" {
            assert_eq!(reply.body["value"], body["value"], "{}", reply.what);
        }
    }
    for reply in &replies {
        match reply.status {
            200 | 201 => {}
            400 => _ = reply.error(400),
            status => panic!("{}: {status} is neither stored nor 400", reply.what),
        }
    }

    let detail = api.get(&zone_path(&zone)).expect(200);
    let stored = array(&detail["records"]).len();
    let nameservers = array(&detail["nameservers"]).len();
    assert!(nameservers > 0, "{detail:#}");

    let dir = server.dir.path();
    let path = dir.join("inject.example.zone");
    let file = path.to_str().unwrap();
    server.cli(&["export", "inject.example", "-o", file]);
    let text = std::fs::read_to_string(&path).expect("the exported zone");
    let (accepted, output) = checkzone("inject.example", file, dir);
    assert!(
        accepted,
        "named-checkzone rejects the export:\n{output}\n{text}"
    );
    let include = text.lines().any(|l| l.trim_start().starts_with("$INCLUDE"));
    assert!(!include, "$INCLUDE in the export:\n{text}");
    let lines = compilezone_records("inject.example", file, dir);
    let lines = lines.unwrap_or_else(|e| panic!("named-compilezone: {e}"));
    let message = format!("the API's records, the SOA and the NS set only:\n{lines:#?}");
    assert_eq!(lines.len(), stored + 1 + nameservers, "{message}");
    for line in &lines {
        let fields: Vec<&str> = line.split(' ').collect();
        let injected = fields.len() >= 5 && fields[3] == "A" && fields[4] == "6.6.6.6";
        assert!(
            !injected && !fields[0].starts_with("evil."),
            "injected: {line}"
        );
    }
}

#[test]
fn lists_are_paged_with_total_count_and_links() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let mut all = BTreeSet::new();
    for i in 1..=25 {
        all.insert(create_zone(&api, &format!("z{i:02}.example")));
    }

    let whole = api.get(ZONES);
    assert_eq!(whole.total_count(), 25);
    assert_eq!(uuids(&whole.expect(200)), all);

    let mut seen = BTreeSet::new();
    let pages = [
        (1, 10, true, false),
        (2, 10, true, true),
        (3, 5, false, true),
    ];
    for (page, size, next, prev) in pages {
        let reply = api.get(&format!("{ZONES}?page={page}&page_size=10"));
        let links = format!("{}: Link: {:?}", reply.what, reply.header("link"));
        assert_eq!(reply.total_count(), 25, "{}", reply.what);
        assert_eq!(reply.link("next").is_some(), next, "{links}");
        assert_eq!(reply.link("prev").is_some(), prev, "{links}");
        if let Some(link) = reply.link("next").filter(|_| page == 1) {
            // A relative reference of the query alone is relative to the list.
            let link = if link.starts_with('?') {
                format!("{ZONES}{link}")
            } else {
                link
            };
            let second = api.get(&format!("{ZONES}?page=2&page_size=10"));
            assert_eq!(api.get(&link).expect(200), second.expect(200), "{links}");
        }
        let body = reply.expect(200);
        assert_eq!(array(&body).len(), size);
        seen.extend(uuids(&body));
    }
    assert_eq!(seen, all, "the pages cover every zone once");
    api.get(&format!("{ZONES}?page=1&page_size=1000"))
        .expect(200);
    api.get(&format!("{ZONES}?page=1&page_size=1001"))
        .error(400);

    let zone = all.first().unwrap();
    for i in 1..=3 {
        let host = a_record(&format!("h{i}"), &format!("192.0.2.{i}"));
        create_record(&api, zone, &host);
    }
    for list in [zone_records_path(zone), RECORDS.to_string()] {
        let first = api.get(&format!("{list}?page=1&page_size=2"));
        assert_eq!(first.total_count(), 3, "{}", first.what);
        assert!(first.link("next").is_some(), "{}", first.what);
        assert_eq!(array(&first.expect(200)).len(), 2);
        let second = api.get(&format!("{list}?page=2&page_size=2"));
        let links = second.link("prev").is_some() && second.link("next").is_none();
        assert!(links, "{}: {:?}", second.what, second.header("link"));
        assert_eq!(array(&second.expect(200)).len(), 1);
        api.get(&format!("{list}?page_size=1001")).error(400);
    }
}

#[test]
fn revoked_and_expired_tokens_are_refused_and_never_listed() {
    let server = Server::start();
    server.cli(&["user", "add", "alice"]);
    server.cli(&["user", "add", "bob"]);
    let kept = server.token("alice", "dns:list", &["--name", "ci-deploy"]);
    let laptop = ["--name", "laptop", "--expires", "30d"];
    let revoked = server.token("alice", "dns:*", &laptop);
    let bobs = server.token("bob", "dns:read", &[]);
    server.client(&revoked).get(ZONES).expect(200);

    let listing = server.cli(&["token", "list"]);
    for token in [&kept, &revoked, &bobs] {
        let (prefix, secret) = token.split_at(12);
        assert!(listing.contains(prefix), "{prefix} missing:\n{listing}");
        let shown =
            listing.contains(token.as_str()) || (secret.len() >= 8 && listing.contains(secret));
        assert!(!shown, "token list shows a token:\n{listing}");
    }
    for text in ["ci-deploy", "laptop", "dns:list", "dns:read"] {
        assert!(listing.contains(text), "{text} missing:\n{listing}");
    }
    let alices = server.cli(&["token", "list", "--user", "alice"]);
    let (kept_prefix, revoked_prefix) = (&kept[..12], &revoked[..12]);
    assert!(
        alices.contains(kept_prefix) && alices.contains(revoked_prefix),
        "{alices}"
    );
    assert!(
        !alices.contains(&bobs[..12]),
        "bob's token listed for alice:\n{alices}"
    );

    server.cli(&["token", "revoke", revoked_prefix]);
    server.client(&revoked).get(ZONES).unauthorized();
    server.client(&kept).get(ZONES).expect(200);

    let short = server.token("alice", "dns:*", &["--expires", "1s"]);
    thread::sleep(Duration::from_secs(2));
    server.client(&short).get(ZONES).unauthorized();
    server.client(&kept).get(ZONES).expect(200);
}

/// The OpenAPI document and the router agree: every documented method of
/// every documented path is served (never 405 or "no such endpoint"), and
/// every other method on those paths is 405. `/healthz` needs no token.
#[test]
fn the_openapi_document_matches_the_routes() {
    let server = Server::start();
    let token = server.user_with_token("alice", "dns:*");
    let api = server.client(&token);
    let anonymous = server.request("GET", "/healthz", None, None);
    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    let doc = server.request("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(doc.status, 200, "{}", doc.text);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 7, "{:?}", paths.keys());
    let unknown = "01a21d4e-0000-7000-8000-000000000000";
    for (path, item) in paths {
        let documented: BTreeSet<String> = item
            .as_object()
            .expect("path item")
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        assert!(!documented.is_empty(), "{path}");
        for (_, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["401"].is_object(),
                "{path}: no 401 documented"
            );
        }
        let concrete = path.replace("{uuid}", unknown);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let reply = api.send(method, &concrete, body.as_ref());
            if documented.contains(method) {
                assert_ne!(
                    reply.status, 405,
                    "{method} {path} is documented but not served"
                );
                assert_ne!(
                    reply.body["detail"], "No such endpoint",
                    "{method} {path} is documented but not routed"
                );
            } else {
                assert_eq!(
                    reply.status, 405,
                    "{method} {path} is served but not documented: {}",
                    reply.text
                );
            }
        }
    }
}

/// `serve --config FILE`: new zones get the configured SOA and nameservers;
/// a mistake in the file stops the server with the key named.
#[test]
fn the_configuration_file_sets_the_soa_and_nameservers_of_new_zones() {
    let server = Server::start_with_config(
        "[zone_defaults]\nnameservers = [\"ns-a.example.net\", \"ns-b.example.net.\"]\n\
         hostmaster = \"dns@example.net\"\nrefresh = 1800\nttl = 600\n",
    );
    let token = server.user_with_token("alice", "dns:*");
    let api = server.client(&token);
    let created = api.post(ZONES, &json!({"domain": "configured.example"}));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.body["nameservers"],
        json!(["ns-a.example.net.", "ns-b.example.net."])
    );
    assert_eq!(created.body["soa"]["primary_ns"], "ns-a.example.net.");
    assert_eq!(created.body["soa"]["hostmaster"], "dns.example.net.");
    assert_eq!(created.body["soa"]["refresh"], 1800);
    assert_eq!(created.body["soa"]["ttl"], 600);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "api_listn = \"127.0.0.1:1\"\n").unwrap();
    let out = bindbridge()
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("api_listn"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn requests_are_logged_without_tokens() {
    // The most verbose level: nothing anywhere in the program or its
    // libraries may write the token out.
    let mut server = Server::start_with("", "trace");
    let token = server.user_with_token("alice", "dns:*");
    let api = server.client(&token);
    let zone = create_zone(&api, "logged.example");
    assert_eq!(api.get(&zone_path(&zone)).status, 200);
    let wrong = format!("vps_{}", "ab".repeat(32));
    assert_eq!(server.client(&wrong).get("/api/v1/dns-zones/").status, 401);
    let log = server.stop_and_read_log();
    for line in [
        "method=POST path=\"/api/v1/dns-zones/\" status=201".to_string(),
        format!("method=GET path=\"/api/v1/dns-zones/{zone}/\" status=200"),
        "method=GET path=\"/api/v1/dns-zones/\" status=401".to_string(),
    ] {
        assert!(
            log.contains(&line),
            "no request line with {line:?} in the log:\n{log}"
        );
    }
    for secret in [&token, &wrong] {
        // The part after the public prefix, which alone would be enough.
        let hidden = &secret[12..];
        assert!(!log.contains(hidden), "a token reached the log:\n{log}");
    }
}
