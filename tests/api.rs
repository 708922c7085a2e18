//! The REST API (`bindbridge serve`) through real HTTP: each test starts its
//! own server on its own database, makes users and tokens with the CLI and
//! talks to 127.0.0.1 only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use ureq::Agent;
use ureq::http::{HeaderMap, Request};

use crate::support::{bindbridge, checkzone, compilezone_records};

const ZONES: &str = "/api/v1/dns-zones/";
const RECORDS: &str = "/api/v1/dns-records/";
const RECORD_KEYS: [&str; 8] = [
    "uuid",
    "zone",
    "record_type",
    "name",
    "value",
    "ttl",
    "priority",
    "created_at",
];
const PERMISSIONS: [&str; 5] = [
    "dns:list",
    "dns:read",
    "dns:create",
    "dns:update",
    "dns:delete",
];
const LISTENING: &str = "bindbridge: API listening on ";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

fn zone_path(zone: &str) -> String {
    format!("/api/v1/dns-zones/{zone}/")
}

fn zone_records_path(zone: &str) -> String {
    format!("/api/v1/dns-zones/{zone}/records/")
}

fn record_path(record: &str) -> String {
    format!("/api/v1/dns-records/{record}/")
}

/// `bindbridge serve` on a fresh database in a temporary directory; killed
/// (and waited for) when dropped.
struct Server {
    child: Child,
    dir: TempDir,
    db: PathBuf,
    base: String,
    agent: Agent,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server and waits for its "listening" line.
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("api.db");
        let mut child = bindbridge()
            .arg("--db")
            .arg(&db)
            .args(["serve", "--api-listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env_remove("BINDBRIDGE_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bindbridge serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (lines, received) = mpsc::channel();
        let thread_log = Arc::clone(&log);
        // Drains stderr for the whole life of the server, so it never blocks.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                thread_log.lock().unwrap().push(line.clone());
                let _ = lines.send(line);
            }
        });
        let base = wait_for_listening(&mut child, &received, &log);
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
            log,
        }
    }

    /// Runs `bindbridge --db DB ARGS...` in the server's directory.
    fn cli(&self, args: &[&str]) -> Output {
        bindbridge()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("BINDBRIDGE_DB")
            .output()
            .expect("bindbridge runs")
    }

    /// Runs the CLI, requires exit 0 and returns standard output.
    fn cli_ok(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "bindbridge {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn add_user(&self, name: &str) {
        self.cli_ok(&["user", "add", name]);
    }

    /// `token create --user USER --permissions PERMISSIONS EXTRA...`: the token.
    fn token(&self, user: &str, permissions: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "token",
            "create",
            "--user",
            user,
            "--permissions",
            permissions,
        ];
        args.extend_from_slice(extra);
        let out = self.cli_ok(&args);
        let token = out.trim_end_matches('\n');
        assert!(
            token.starts_with("vps_") && !token.contains(char::is_whitespace),
            "token create must print the token alone, got {out:?}"
        );
        token.to_string()
    }

    /// A new user and a token of theirs with the given permissions.
    fn user_with_token(&self, user: &str, permissions: &str) -> String {
        self.add_user(user);
        self.token(user, permissions, &[])
    }

    fn client(&self, token: &str) -> Client<'_> {
        Client {
            server: self,
            authorization: Some(format!("Bearer {token}")),
        }
    }

    fn anonymous(&self) -> Client<'_> {
        Client {
            server: self,
            authorization: None,
        }
    }

    /// One HTTP request; `target` is a path (or a full URL from a Link header).
    fn request(
        &self,
        method: &str,
        target: &str,
        authorization: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let url = if target.starts_with("http") {
            target.to_string()
        } else {
            format!("{}{target}", self.base)
        };
        let mut builder = Request::builder().method(method).uri(&url);
        if let Some(value) = authorization {
            builder = builder.header("Authorization", value);
        }
        let result = match body {
            Some((content_type, bytes)) => self.agent.run(
                builder
                    .header("Content-Type", content_type)
                    .body(bytes)
                    .unwrap(),
            ),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        let what = format!("{method} {target}");
        let mut response = result.unwrap_or_else(|e| {
            panic!(
                "{what}: no HTTP response ({e}); server log:\n{}",
                self.log()
            )
        });
        let bytes = response
            .body_mut()
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{what}: cannot read the body: {e}"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Reply {
            what,
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text,
            body,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads stderr lines until the "listening" line; its base URL.
fn wait_for_listening(
    child: &mut Child,
    lines: &Receiver<String>,
    log: &Mutex<Vec<String>>,
) -> String {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix(LISTENING) {
                    let url = url.trim().to_string();
                    let port = url.strip_prefix("http://127.0.0.1:");
                    if port.is_none_or(|p| p.parse::<u16>().is_err()) {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("serve must listen on http://127.0.0.1:PORT, said {line:?}");
                    }
                    return url;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "bindbridge serve printed no `{LISTENING}http://127.0.0.1:PORT` line on \
                     stderr within {STARTUP_TIMEOUT:?}; stderr so far:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait();
                panic!(
                    "bindbridge serve exited ({status:?}) before listening; stderr:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        }
    }
}

/// Requests with one Authorization header (or none).
struct Client<'a> {
    server: &'a Server,
    authorization: Option<String>,
}

impl Client<'_> {
    /// A request with an optional JSON body.
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(|b| ("application/json", serde_json::to_vec(b).unwrap()));
        self.raw(method, path, body)
    }

    /// A request with a body sent as is.
    fn raw(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
        self.server
            .request(method, path, self.authorization.as_deref(), body)
    }

    fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(body))
    }

    fn put(&self, path: &str, body: &Value) -> Reply {
        self.send("PUT", path, Some(body))
    }

    fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, Some(body))
    }

    fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None)
    }
}

/// An HTTP answer: status, headers and the body as JSON (`Null` when empty,
/// a JSON string holding the text when it is not JSON).
struct Reply {
    what: String,
    status: u16,
    headers: HeaderMap,
    text: String,
    body: Value,
}

impl Reply {
    /// Requires `status`; the body.
    fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        if status == 204 {
            assert!(self.text.is_empty(), "{}: 204 with a body", self.what);
        } else {
            assert_json(&self);
        }
        self.body
    }

    /// Every value of a header, joined with ", ".
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Requires an error reply: `status` and `{"detail", "error_code", "field"}`.
    fn error(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        assert_json(self);
        let body = &self.body;
        let detail_ok = body["detail"].as_str().is_some_and(|d| !d.is_empty());
        let code_ok = body["error_code"].as_str().is_some_and(|c| !c.is_empty());
        let field_ok = body
            .get("field")
            .is_some_and(|f| f.is_null() || f.is_string());
        assert!(
            detail_ok && code_ok && field_ok,
            "{}: error body must be {{detail, error_code, field}}, got {}",
            self.what,
            self.text
        );
        body
    }

    /// Requires 400 "validation_error" naming `field`.
    fn invalid(&self, field: &str) {
        let body = self.error(400);
        assert_eq!(body["error_code"], "validation_error", "{}", self.what);
        assert_eq!(body["field"], field, "{}: {}", self.what, self.text);
    }

    /// Requires 401 with `WWW-Authenticate: Bearer`.
    fn unauthorized(&self) {
        self.error(401);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "{}: 401 needs WWW-Authenticate: Bearer, got {challenge:?}",
            self.what
        );
    }

    fn total_count(&self) -> u64 {
        let total = self.header("x-total-count");
        total
            .as_deref()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: X-Total-Count is {total:?}", self.what))
    }

    /// The target of the Link header's `rel="REL"` entry.
    fn link(&self, rel: &str) -> Option<String> {
        let header = self.header("link")?;
        let wanted = format!("rel=\"{rel}\"");
        let entry = header.split(',').find(|e| e.contains(&wanted))?;
        let start = entry.find('<')? + 1;
        let end = entry.find('>')?;
        Some(entry[start..end].trim().to_string())
    }
}

fn assert_json(reply: &Reply) {
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json") && !reply.body.is_string(),
        "{}: expected a JSON body, got {content_type:?}: {}",
        reply.what,
        reply.text
    );
}

fn assert_uuid(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(text).is_ok(), "not a uuid: {value}");
}

/// ISO 8601 UTC to the second: `2026-11-27T12:00:00Z`.
fn assert_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    let shape_ok = text.len() == 20
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    assert!(shape_ok, "not an ISO 8601 UTC time: {value}");
}

fn keys(value: &Value) -> BTreeSet<&str> {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    object.keys().map(String::as_str).collect()
}

/// A record has exactly the record fields, and `expected`'s values.
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
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {value}"))
}

fn uuid_of(value: &Value) -> String {
    value["uuid"].as_str().expect("a uuid").to_string()
}

fn uuids(list: &Value) -> BTreeSet<String> {
    array(list).iter().map(uuid_of).collect()
}

fn by_uuid<'a>(items: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, &'a Value> {
    items.into_iter().map(|v| (uuid_of(v), v)).collect()
}

fn create_zone(api: &Client, domain: &str) -> String {
    uuid_of(&api.post(ZONES, &json!({ "domain": domain })).expect(201))
}

fn create_record(api: &Client, zone: &str, body: &Value) -> String {
    uuid_of(&api.post(&zone_records_path(zone), body).expect(201))
}

fn a_record(name: &str, value: &str) -> Value {
    json!({ "record_type": "A", "name": name, "value": value })
}

#[test]
fn documented_flow_works_end_to_end() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));

    let zone = api
        .post(ZONES, &json!({ "domain": "example.com" }))
        .expect(201);
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

    let summary = |count: u64| {
        json!([{
            "uuid": z, "domain": "example.com",
            "created_at": zone["created_at"], "record_count": count,
        }])
    };
    assert_eq!(
        uuids(&api.get(ZONES).expect(200)),
        BTreeSet::from([z.clone(), other.clone()])
    );
    let filtered = api.get("/api/v1/dns-zones/?domain=example.com").expect(200);
    assert_eq!(filtered, summary(0));

    // (request, value shown, ttl, priority) for each documented type.
    let cases = [
        (
            json!({"record_type": "A", "name": "www", "value": "192.0.2.1", "ttl": 3600}),
            "192.0.2.1",
            3600,
            None,
        ),
        (
            json!({"record_type": "MX", "name": "@", "value": "mail.example.com.", "priority": 10}),
            "mail.example.com",
            3600,
            Some(10),
        ),
        (
            json!({"record_type": "TXT", "name": "@", "value": "v=spf1 include:_spf.google.com ~all"}),
            "v=spf1 include:_spf.google.com ~all",
            3600,
            None,
        ),
        (
            json!({"record_type": "SRV", "name": "_sip._tcp", "value": "5 5060 sip.example.com", "priority": 10, "ttl": 300}),
            "5 5060 sip.example.com",
            300,
            Some(10),
        ),
        (
            json!({"record_type": "CAA", "name": "@", "value": "0 issue \"letsencrypt.org\""}),
            "0 issue \"letsencrypt.org\"",
            3600,
            None,
        ),
        (
            json!({"record_type": "AAAA", "name": "v6", "value": "2001:0db8::1"}),
            "2001:db8::1",
            3600,
            None,
        ),
        (
            json!({"record_type": "CNAME", "name": "blog", "value": "www.example.com"}),
            "www.example.com",
            3600,
            None,
        ),
        (
            json!({"record_type": "NS", "name": "sub", "value": "ns1.example.net."}),
            "ns1.example.net",
            3600,
            None,
        ),
    ];
    let mut created = Vec::new();
    for (request, value, ttl, priority) in &cases {
        let record = api.post(&zone_records_path(&z), request).expect(201);
        let expected = json!({
            "record_type": request["record_type"], "name": request["name"],
            "value": value, "ttl": ttl, "priority": priority,
        });
        assert_record(&record, &z, &expected);
        created.push(record);
    }
    let created_map = by_uuid(&created);

    let detail = api.get(&zone_path(&z)).expect(200);
    assert_eq!(detail["uuid"], z);
    assert_eq!(detail["domain"], "example.com");
    assert_eq!(detail["created_at"], zone["created_at"]);
    assert_eq!(detail["record_count"], 8);
    assert_eq!(by_uuid(array(&detail["records"])), created_map);
    assert_eq!(
        api.get("/api/v1/dns-zones/?domain=example.com").expect(200),
        summary(8)
    );

    let listed = api.get(&zone_records_path(&z)).expect(200);
    assert_eq!(by_uuid(array(&listed)), created_map);
    let all = api.get(RECORDS).expect(200);
    assert_eq!(array(&all).len(), 9, "{all:#}");
    assert!(uuids(&all).contains(&other_a));
    let in_zone = api.get(&format!("{RECORDS}?zone={z}")).expect(200);
    assert_eq!(by_uuid(array(&in_zone)), created_map);
    let mx = api.get(&format!("{RECORDS}?record_type=MX")).expect(200);
    assert_eq!(mx, json!([created[1]]));
    let other_a_list = api
        .get(&format!("{RECORDS}?zone={other}&record_type=A"))
        .expect(200);
    assert_eq!(uuids(&other_a_list), BTreeSet::from([other_a]));

    let www = &created[0];
    let w = uuid_of(www);
    let patched = api
        .patch(&record_path(&w), &json!({"ttl": 1800}))
        .expect(200);
    let mut expected = www.clone();
    expected["ttl"] = json!(1800);
    assert_eq!(patched, expected);

    let full = json!({"record_type": "A", "name": "www", "value": "192.0.2.2", "ttl": 600, "priority": null});
    let put = api.put(&record_path(&w), &full).expect(200);
    expected["value"] = json!("192.0.2.2");
    expected["ttl"] = json!(600);
    assert_eq!(put, expected);
    assert_eq!(api.get(&record_path(&w)).expect(200), expected);

    api.delete(&record_path(&w)).expect(204);
    api.get(&record_path(&w)).error(404);
    assert_eq!(api.get(&zone_path(&z)).expect(200)["record_count"], 7);

    let history = server.cli_ok(&["zone", "history", "example.com"]);
    let lines = history.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines >= 11,
        "8 creations, a patch, a put and a delete:\n{history}"
    );
    let lower = history.to_lowercase();
    assert!(
        lower.contains("record") || lower.contains("create"),
        "{history}"
    );

    api.delete(&zone_path(&z)).expect(204);
    api.get(&zone_path(&z)).error(404);
    api.get(&record_path(&uuid_of(&created[1]))).error(404);
    assert_eq!(uuids(&api.get(ZONES).expect(200)), BTreeSet::from([other]));
}

#[test]
fn every_route_answers_with_and_without_the_trailing_slash() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    for (slash, tag) in [("/", "slash"), ("", "bare")] {
        let domain = format!("{tag}.example");
        let zones = format!("/api/v1/dns-zones{slash}");
        let zone = uuid_of(&api.post(&zones, &json!({ "domain": domain })).expect(201));
        let found = api.get(&format!("{zones}?domain={domain}")).expect(200);
        assert_eq!(uuids(&found), BTreeSet::from([zone.clone()]));
        api.get(&format!("/api/v1/dns-zones/{zone}{slash}"))
            .expect(200);

        let zone_records = format!("/api/v1/dns-zones/{zone}/records{slash}");
        let record = uuid_of(
            &api.post(&zone_records, &a_record("www", "192.0.2.1"))
                .expect(201),
        );
        assert_eq!(array(&api.get(&zone_records).expect(200)).len(), 1);
        api.get(&format!("/api/v1/dns-records{slash}")).expect(200);

        let record_path = format!("/api/v1/dns-records/{record}{slash}");
        api.get(&record_path).expect(200);
        let full = json!({"record_type": "A", "name": "www", "value": "192.0.2.2", "ttl": 60, "priority": null});
        assert_eq!(
            api.put(&record_path, &full).expect(200)["value"],
            "192.0.2.2"
        );
        assert_eq!(
            api.patch(&record_path, &json!({"ttl": 120})).expect(200)["ttl"],
            120
        );
        api.delete(&record_path).expect(204);
        api.delete(&format!("/api/v1/dns-zones/{zone}{slash}"))
            .expect(204);
    }
}

#[test]
fn each_error_has_its_status_code_and_a_json_body() {
    let server = Server::start();
    let token = server.user_with_token("alice", "dns:*");
    let api = server.client(&token);
    let zone = create_zone(&api, "status.example");
    let record = create_record(&api, &zone, &a_record("www", "192.0.2.1"));

    assert_eq!(server.anonymous().get("/healthz").status, 200);

    let mx = json!({"record_type": "MX", "name": "@", "value": "mail.status.example"});
    api.post(&zone_records_path(&zone), &mx).invalid("priority");

    // 401: no token, unknown, tampered, wrong scheme, no scheme.
    let last = if token.ends_with('0') { "1" } else { "0" };
    let tampered = format!("Bearer {}{last}", &token[..token.len() - 1]);
    let basic = format!("Basic {token}");
    let headers = [
        None,
        Some("Bearer vps_notarealtoken"),
        Some(tampered.as_str()),
        Some(basic.as_str()),
        Some(token.as_str()),
        Some("Bearer "),
    ];
    for authorization in headers {
        for (method, path) in [
            ("GET", ZONES.to_string()),
            ("GET", zone_path(&zone)),
            ("DELETE", record_path(&record)),
        ] {
            server
                .request(method, &path, authorization, None)
                .unauthorized();
        }
    }
    api.get(&record_path(&record)).expect(200);

    // 403 names the missing permission.
    let reader = server.client(&server.token("alice", "dns:read", &[]));
    for (reply, permission) in [
        (
            reader.post(ZONES, &json!({"domain": "x.example"})),
            "dns:create",
        ),
        (reader.delete(&record_path(&record)), "dns:delete"),
        (reader.get(ZONES), "dns:list"),
    ] {
        let detail = reply.error(403)["detail"].as_str().unwrap().to_string();
        assert!(detail.contains(permission), "{}: {detail}", reply.what);
    }

    // 404: unknown ids, malformed ids, unknown routes.
    let unknown = "0190b2a4-0000-7000-8000-000000000000";
    for path in [
        zone_path(unknown),
        zone_records_path(unknown),
        record_path(unknown),
        zone_path("not-a-uuid"),
        record_path("not-a-uuid"),
        "/api/v1/nothing/".to_string(),
        "/api/v2/dns-zones/".to_string(),
    ] {
        api.get(&path).error(404);
    }
    api.delete(&record_path(unknown)).error(404);

    // 405: a known path, a method it does not have.
    for (method, path) in [
        ("PUT", ZONES.to_string()),
        ("DELETE", ZONES.to_string()),
        ("PATCH", zone_path(&zone)),
        ("PUT", zone_path(&zone)),
        ("POST", zone_path(&zone)),
        ("DELETE", zone_records_path(&zone)),
        ("POST", RECORDS.to_string()),
        ("POST", record_path(&record)),
    ] {
        let body = matches!(method, "POST" | "PUT" | "PATCH").then(|| json!({}));
        api.send(method, &path, body.as_ref()).error(405);
    }

    // 413: over 1 MiB.
    let big = json!({"record_type": "TXT", "name": "big", "value": "a".repeat(1024 * 1024 + 1)});
    api.post(&zone_records_path(&zone), &big).error(413);

    // 415: not JSON.
    let domain = br#"{"domain": "plain.example"}"#.to_vec();
    for (method, path, content_type) in [
        ("POST", ZONES.to_string(), "text/plain"),
        ("POST", zone_records_path(&zone), "text/plain"),
        (
            "PUT",
            record_path(&record),
            "application/x-www-form-urlencoded",
        ),
        ("PATCH", record_path(&record), "text/plain"),
    ] {
        api.raw(method, &path, Some((content_type, domain.clone())))
            .error(415);
    }
    assert_eq!(
        api.get("/api/v1/dns-zones/?domain=plain.example")
            .expect(200),
        json!([])
    );

    // 400: malformed JSON, wrong JSON types.
    for (method, path, body) in [
        ("POST", ZONES.to_string(), "{\"domain\":"),
        ("POST", zone_records_path(&zone), "not json"),
        ("PATCH", record_path(&record), "[1, 2"),
        ("PUT", record_path(&record), ""),
    ] {
        api.raw(method, &path, Some(("application/json", body.into())))
            .error(400);
    }
    api.post(ZONES, &json!({"domain": 5})).invalid("domain");
    api.patch(&record_path(&record), &json!({"ttl": "soon"}))
        .invalid("ttl");

    // 400: unknown fields, named.
    api.post(ZONES, &json!({"domain": "u.example", "owner": "bob"}))
        .invalid("owner");
    let mut extra = a_record("extra", "192.0.2.9");
    extra["comment"] = json!("hi");
    api.post(&zone_records_path(&zone), &extra)
        .invalid("comment");
    api.patch(
        &record_path(&record),
        &json!({"ttl": 1800, "colour": "red"}),
    )
    .invalid("colour");
    let full = json!({"record_type": "A", "name": "www", "value": "192.0.2.1", "ttl": 60, "priority": null, "x": 1});
    api.put(&record_path(&record), &full).invalid("x");

    let kept = api.get(&record_path(&record)).expect(200);
    assert_eq!(kept["value"], "192.0.2.1", "{kept:#}");
    assert_eq!(kept["ttl"], 3600, "{kept:#}");
}

/// A route, the permission it needs and its status when allowed.
struct Route {
    method: &'static str,
    path: String,
    body: Option<Value>,
    permission: &'static str,
    success: u16,
}

/// Every route, on fresh objects made by `admin` (`tag` keeps names apart).
fn routes(admin: &Client, tag: &str) -> Vec<Route> {
    let zone = create_zone(admin, &format!("{tag}.example"));
    let doomed_zone = create_zone(admin, &format!("doomed-{tag}.example"));
    let record = create_record(admin, &zone, &a_record("www", "192.0.2.1"));
    let doomed_record = create_record(admin, &zone, &a_record("old", "192.0.2.2"));
    let route = |method, path: String, body: Option<Value>, permission, success| Route {
        method,
        path,
        body,
        permission,
        success,
    };
    let new_zone = json!({ "domain": format!("new-{tag}.example") });
    let full = json!({"record_type": "A", "name": "www", "value": "192.0.2.9", "ttl": 60, "priority": null});
    vec![
        route("GET", ZONES.into(), None, "dns:list", 200),
        route("POST", ZONES.into(), Some(new_zone), "dns:create", 201),
        route("GET", zone_path(&zone), None, "dns:read", 200),
        route("GET", zone_records_path(&zone), None, "dns:list", 200),
        route(
            "POST",
            zone_records_path(&zone),
            Some(a_record("new", "192.0.2.3")),
            "dns:create",
            201,
        ),
        route("GET", RECORDS.into(), None, "dns:list", 200),
        route("GET", record_path(&record), None, "dns:read", 200),
        route("PUT", record_path(&record), Some(full), "dns:update", 200),
        route(
            "PATCH",
            record_path(&record),
            Some(json!({"ttl": 90})),
            "dns:update",
            200,
        ),
        route(
            "DELETE",
            record_path(&doomed_record),
            None,
            "dns:delete",
            204,
        ),
        route("DELETE", zone_path(&doomed_zone), None, "dns:delete", 204),
    ]
}

#[test]
fn each_permission_opens_only_its_own_routes() {
    let server = Server::start();
    let admin = server.client(&server.user_with_token("alice", "dns:*"));
    let single = routes(&admin, "single");
    for permission in PERMISSIONS {
        let api = server.client(&server.token("alice", permission, &[]));
        for route in &single {
            let reply = api.send(route.method, &route.path, route.body.as_ref());
            if route.permission == permission {
                assert_eq!(
                    reply.status, route.success,
                    "{permission}: {}: {}",
                    reply.what, reply.text
                );
            } else {
                let detail = reply.error(403)["detail"].as_str().unwrap().to_string();
                assert!(
                    detail.contains(route.permission),
                    "{permission}: {}: detail must name {}: {detail}",
                    reply.what,
                    route.permission
                );
            }
        }
    }
    let all = server.client(&server.token("alice", "dns:*", &[]));
    for route in routes(&admin, "star") {
        let reply = all.send(route.method, &route.path, route.body.as_ref());
        assert_eq!(
            reply.status, route.success,
            "dns:*: {}: {}",
            reply.what, reply.text
        );
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

    let full =
        json!({"record_type": "A", "name": "www", "value": "6.6.6.6", "ttl": 60, "priority": null});
    let attempts = [
        ("GET", zone_path(&zone), None),
        ("DELETE", zone_path(&zone), None),
        ("GET", zone_records_path(&zone), None),
        (
            "POST",
            zone_records_path(&zone),
            Some(a_record("evil", "6.6.6.6")),
        ),
        ("GET", record_path(&www), None),
        ("PUT", record_path(&www), Some(full)),
        (
            "PATCH",
            record_path(&www),
            Some(json!({"value": "6.6.6.6"})),
        ),
        ("DELETE", record_path(&www), None),
    ];
    for (method, path, body) in &attempts {
        bob.send(method, path, body.as_ref()).error(404);
    }

    assert_eq!(
        uuids(&bob.get(ZONES).expect(200)),
        BTreeSet::from([bob_zone.clone()])
    );
    assert_eq!(
        uuids(&alice.get(ZONES).expect(200)),
        BTreeSet::from([zone.clone()])
    );
    let by_domain = bob.get("/api/v1/dns-zones/?domain=dept.alice.example");
    assert_eq!(by_domain.expect(200), json!([]));
    assert_eq!(
        uuids(&bob.get(RECORDS).expect(200)),
        BTreeSet::from([bob_www.clone()])
    );
    let typed = bob.get(&format!("{RECORDS}?record_type=A")).expect(200);
    assert_eq!(uuids(&typed), BTreeSet::from([bob_www]));
    let by_zone = bob.get(&format!("{RECORDS}?zone={zone}"));
    assert!(
        by_zone.status == 404 || (by_zone.status == 200 && by_zone.body == json!([])),
        "{}: {} {}",
        by_zone.what,
        by_zone.status,
        by_zone.text
    );

    for domain in [
        "dept.alice.example",
        "DEPT.Alice.Example",
        "www.dept.alice.example",
        "alice.example",
    ] {
        bob.post(ZONES, &json!({ "domain": domain }))
            .invalid("domain");
    }

    let detail = alice.get(&zone_path(&zone)).expect(200);
    assert_eq!(detail["record_count"], 1, "{detail:#}");
    let record = alice.get(&record_path(&www)).expect(200);
    assert_eq!(record["value"], "192.0.2.1", "{record:#}");
    assert_eq!(record["ttl"], 3600, "{record:#}");
}

/// What a record request must get.
enum Expect {
    Created,
    /// 400 validation_error naming this field.
    Invalid(&'static str),
    /// 400 validation_error, whichever field it names.
    Refused,
}

#[test]
fn validation_rules_reject_bad_records_and_domains() {
    use Expect::{Created, Invalid, Refused};
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "valid.example");
    let rec = |record_type: &str, name: &str, value: &str| json!({ "record_type": record_type, "name": name, "value": value });
    let with = |mut record: Value, key: &str, value: Value| {
        record[key] = value;
        record
    };
    let cases = [
        (rec("A", "@", "192.0.2.1"), Created),
        (rec("A", "host", "192.0.2.2"), Created),
        (rec("A", "fq.valid.example.", "192.0.2.3"), Created),
        (rec("A", "*.dev", "192.0.2.4"), Created),
        (
            with(rec("A", "np", "192.0.2.5"), "priority", Value::Null),
            Created,
        ),
        (rec("AAAA", "v6", "2001:0db8:0:0:0:0:0:2"), Created),
        (rec("CNAME", "alias", "target.example.net."), Created),
        (rec("NS", "sub", "ns1.example.net"), Created),
        (
            with(rec("MX", "@", "mail.valid.example"), "priority", json!(0)),
            Created,
        ),
        (
            with(
                rec("MX", "@", "mx2.valid.example."),
                "priority",
                json!(65535),
            ),
            Created,
        ),
        (
            with(
                rec("SRV", "_sip._udp", "5 5060 sip.valid.example"),
                "priority",
                json!(10),
            ),
            Created,
        ),
        (rec("CAA", "@", "0 issue \"letsencrypt.org\""), Created),
        (with(rec("TXT", "ttl-min", "x"), "ttl", json!(1)), Created),
        (
            with(rec("TXT", "ttl-max", "x"), "ttl", json!(2_147_483_647_i64)),
            Created,
        ),
        (
            rec("A", "www.elsewhere.example.", "192.0.2.1"),
            Invalid("name"),
        ),
        (
            rec("A", "www.valid.example.com.", "192.0.2.1"),
            Invalid("name"),
        ),
        (rec("A", "bad", "256.1.1.1"), Invalid("value")),
        (rec("A", "bad", "1.2.3"), Invalid("value")),
        (rec("A", "bad", "::1"), Invalid("value")),
        (rec("A", "bad", ""), Invalid("value")),
        (rec("AAAA", "bad", "2001:db8::zz"), Invalid("value")),
        (rec("AAAA", "bad", "192.0.2.1"), Invalid("value")),
        (rec("CNAME", "bad", "not a host"), Invalid("value")),
        (rec("NS", "bad", "two words"), Invalid("value")),
        (
            with(rec("MX", "@", "mail host"), "priority", json!(10)),
            Invalid("value"),
        ),
        (
            with(
                rec("SRV", "_x._tcp", "5 sip.valid.example"),
                "priority",
                json!(1),
            ),
            Invalid("value"),
        ),
        (
            with(
                rec("SRV", "_x._tcp", "5 70000 sip.valid.example"),
                "priority",
                json!(1),
            ),
            Invalid("value"),
        ),
        (
            rec("CAA", "@", "0 frobnicate \"letsencrypt.org\""),
            Invalid("value"),
        ),
        (rec("MX", "@", "mail.valid.example"), Invalid("priority")),
        (
            rec("SRV", "_y._tcp", "5 5060 sip.valid.example"),
            Invalid("priority"),
        ),
        (
            with(
                rec("MX", "@", "mx3.valid.example"),
                "priority",
                json!(65536),
            ),
            Invalid("priority"),
        ),
        (
            with(rec("MX", "@", "mx3.valid.example"), "priority", json!(-1)),
            Invalid("priority"),
        ),
        (
            with(rec("A", "p", "192.0.2.9"), "priority", json!(10)),
            Invalid("priority"),
        ),
        (
            with(rec("TXT", "p", "hi"), "priority", json!(0)),
            Invalid("priority"),
        ),
        (with(rec("TXT", "t", "x"), "ttl", json!(0)), Invalid("ttl")),
        (with(rec("TXT", "t", "x"), "ttl", json!(-5)), Invalid("ttl")),
        (
            with(rec("TXT", "t", "x"), "ttl", json!(2_147_483_648_i64)),
            Invalid("ttl"),
        ),
        (
            rec("SOA", "@", "ns1.vps.org. hostmaster.vps.org. 1 2 3 4 5"),
            Invalid("record_type"),
        ),
        (rec("BOGUS", "b", "x"), Invalid("record_type")),
        (
            json!({"record_type": "A", "name": "novalue"}),
            Invalid("value"),
        ),
        (rec("CNAME", "@", "target.example.net."), Refused),
        (rec("CNAME", "host", "target.example.net."), Refused),
        (rec("A", "alias", "192.0.2.6"), Refused),
        (rec("A", "host", "192.0.2.2"), Refused),
    ];
    let records = zone_records_path(&zone);
    let mut created = 0;
    for (body, expect) in &cases {
        let reply = api.post(&records, body);
        match expect {
            Created => {
                assert_eq!(reply.status, 201, "{body}: {}", reply.text);
                created += 1;
            }
            Invalid(field) => reply.invalid(field),
            Refused => assert_eq!(reply.error(400)["error_code"], "validation_error", "{body}"),
        }
    }
    let stored = api.get(&records).expect(200);
    assert_eq!(
        array(&stored).len(),
        created,
        "only accepted records are stored: {stored:#}"
    );
    let v6 = array(&stored)
        .iter()
        .find(|r| r["name"] == "v6")
        .expect("the AAAA record");
    assert_eq!(v6["value"], "2001:db8::2");

    let host = array(&stored)
        .iter()
        .find(|r| r["name"] == "host")
        .expect("host");
    let host = record_path(&uuid_of(host));
    api.patch(&host, &json!({"ttl": 0})).invalid("ttl");
    api.patch(&host, &json!({"value": "300.1.1.1"}))
        .invalid("value");
    let mx = json!({"record_type": "MX", "name": "host", "value": "mail.valid.example", "ttl": 60, "priority": null});
    api.put(&host, &mx).invalid("priority");
    assert_eq!(api.get(&host).expect(200)["value"], "192.0.2.2");

    let idn = api
        .post(ZONES, &json!({"domain": "bücher.example"}))
        .expect(201);
    assert_eq!(idn["domain"], "xn--bcher-kva.example");
    let long_label = format!("{}.example", "a".repeat(64));
    let too_long = ["abcdefghi"; 26].join(".");
    for domain in [
        "",
        "not a domain",
        "-bad.example",
        "a..b.example",
        long_label.as_str(),
        too_long.as_str(),
        "xn--bcher-kva.example",
    ] {
        api.post(ZONES, &json!({ "domain": domain }))
            .invalid("domain");
    }
}

#[test]
fn injection_attempts_leave_an_exported_zone_bind_accepts() {
    let server = Server::start();
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "inject.example");
    api.post(
        ZONES,
        &json!({"domain": "evil.example\n$INCLUDE /etc/passwd"}),
    )
    .invalid("domain");

    const EVIL: &str = "evil 3600 IN A 6.6.6.6";
    let rec = |record_type: &str, name: &str, value: &str| json!({ "record_type": record_type, "name": name, "value": value });
    let attempts = [
        rec("TXT", "t1", &format!("hello\n{EVIL}")),
        rec("TXT", "t2", "x\n$INCLUDE /etc/passwd"),
        rec("TXT", "t3", "$INCLUDE /etc/passwd"),
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
        rec("CNAME", "c1", "target.example.net.\n$INCLUDE /etc/passwd"),
        rec("CAA", "@", "0 issue \"letsencrypt.org\"\nevil IN A 6.6.6.6"),
        rec("NS", "d1", "ns.example.net.\n@ IN A 6.6.6.6"),
        json!({"record_type": "MX", "name": "m1", "value": "mail.example.net ; x", "priority": 10}),
        json!({"record_type": "SRV", "name": "_s._tcp", "value": "5 5060 sip.example.net\n$INCLUDE /etc/passwd", "priority": 1}),
        json!({"record_type": "A\nevil", "name": "r1", "value": "192.0.2.1"}),
    ];
    let safe = create_record(&api, &zone, &rec("TXT", "p", "safe"));
    let mut replies: Vec<Reply> = attempts
        .iter()
        .map(|body| api.post(&zone_records_path(&zone), body))
        .collect();
    replies.push(api.patch(
        &record_path(&safe),
        &json!({"value": "x\n$INCLUDE /etc/passwd"}),
    ));
    replies.push(api.patch(&record_path(&safe), &json!({"value": format!("y\n{EVIL}")})));
    for reply in &replies {
        match reply.status {
            200 | 201 => {}
            400 => assert_eq!(reply.error(400)["error_code"], "validation_error"),
            _ => panic!(
                "{}: must be stored or refused with 400, got {}: {}",
                reply.what, reply.status, reply.text
            ),
        }
    }

    let detail = api.get(&zone_path(&zone)).expect(200);
    let stored = array(&detail["records"]).len();
    let nameservers = array(&detail["nameservers"]).len();
    assert!(nameservers > 0, "{detail:#}");

    let dir = server.dir.path();
    let file = dir.join("inject.example.zone");
    server.cli_ok(&["export", "inject.example", "-o", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).expect("the exported zone");
    let file = file.to_str().unwrap();
    let (accepted, output) = checkzone("inject.example", file, dir);
    assert!(
        accepted,
        "named-checkzone rejects the export:\n{output}\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("$INCLUDE")),
        "$INCLUDE in the export:\n{text}"
    );
    let records =
        compilezone_records("inject.example", file, dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        records.len(),
        stored + 1 + nameservers,
        "the API's records, the SOA and the NS set, nothing else:\n{records:#?}"
    );
    for record in &records {
        let fields: Vec<&str> = record.split(' ').collect();
        let injected = fields.len() >= 5 && fields[3] == "A" && fields[4] == "6.6.6.6";
        assert!(
            !injected && !fields[0].starts_with("evil."),
            "injected: {record}"
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
    for (page, size, next, prev) in [
        (1, 10, true, false),
        (2, 10, true, true),
        (3, 5, false, true),
    ] {
        let reply = api.get(&format!("{ZONES}?page={page}&page_size=10"));
        assert_eq!(reply.total_count(), 25, "{}", reply.what);
        assert_eq!(
            reply.link("next").is_some(),
            next,
            "{}: {:?}",
            reply.what,
            reply.header("link")
        );
        assert_eq!(
            reply.link("prev").is_some(),
            prev,
            "{}: {:?}",
            reply.what,
            reply.header("link")
        );
        if page == 1 {
            let mut next_link = reply.link("next").unwrap();
            if next_link.starts_with('?') {
                next_link = format!("{ZONES}{next_link}");
            }
            let second = api.get(&next_link).expect(200);
            let expected = api.get(&format!("{ZONES}?page=2&page_size=10")).expect(200);
            assert_eq!(second, expected, "{next_link} is page 2");
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

    let zone = all.first().unwrap().clone();
    for i in 1..=3 {
        create_record(
            &api,
            &zone,
            &a_record(&format!("h{i}"), &format!("192.0.2.{i}")),
        );
    }
    for list in [zone_records_path(&zone), RECORDS.to_string()] {
        let first = api.get(&format!("{list}?page=1&page_size=2"));
        assert_eq!(first.total_count(), 3);
        assert!(first.link("next").is_some(), "{}", first.what);
        assert_eq!(array(&first.expect(200)).len(), 2);
        let second = api.get(&format!("{list}?page=2&page_size=2"));
        assert!(second.link("prev").is_some() && second.link("next").is_none());
        assert_eq!(array(&second.expect(200)).len(), 1);
        api.get(&format!("{list}?page_size=1001")).error(400);
    }
}

#[test]
fn revoked_and_expired_tokens_are_refused_and_never_listed() {
    let server = Server::start();
    server.add_user("alice");
    server.add_user("bob");
    let kept = server.token("alice", "dns:list", &["--name", "ci-deploy"]);
    let revoked = server.token("alice", "dns:*", &["--name", "laptop", "--expires", "30d"]);
    let bobs = server.token("bob", "dns:read", &[]);
    server.client(&revoked).get(ZONES).expect(200);

    let listing = server.cli_ok(&["token", "list"]);
    for token in [&kept, &revoked, &bobs] {
        assert!(
            listing.contains(&token[..12]),
            "prefix of {token} missing:\n{listing}"
        );
        let secret = &token[12..];
        assert!(
            !listing.contains(token.as_str()) && (secret.len() < 8 || !listing.contains(secret)),
            "token list shows a token:\n{listing}"
        );
    }
    for text in ["ci-deploy", "laptop", "dns:list", "dns:read"] {
        assert!(listing.contains(text), "{text} missing:\n{listing}");
    }
    let alices = server.cli_ok(&["token", "list", "--user", "alice"]);
    assert!(
        alices.contains(&kept[..12]) && alices.contains(&revoked[..12]),
        "{alices}"
    );
    assert!(
        !alices.contains(&bobs[..12]),
        "bob's token in alice's list:\n{alices}"
    );

    server.cli_ok(&["token", "revoke", &revoked[..12]]);
    server.client(&revoked).get(ZONES).unauthorized();
    server.client(&kept).get(ZONES).expect(200);

    let short = server.token("alice", "dns:*", &["--expires", "1s"]);
    thread::sleep(Duration::from_secs(2));
    server.client(&short).get(ZONES).unauthorized();
    server.client(&kept).get(ZONES).expect(200);
}
