//! The API's connections under abuse, over raw TCP on 127.0.0.1: silent,
//! half-sent and kept-alive connections are closed after the configured
//! timeouts, a flood of connections without a token does not keep a
//! client with one from being served, and a JSON body must be one value.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::api::Server;

/// A generous bound for what should take milliseconds: a loaded machine
/// must not fail the test, a server that never answers must.
const PROMPT: Duration = Duration::from_secs(5);

/// Connections are file descriptors of the test too; the soft limit is
/// often 1024.
fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    let _ = setrlimit(Resource::Nofile, raised);
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect to the API");
    stream.set_read_timeout(Some(PROMPT)).unwrap();
    stream
}

/// An HTTP answer read off a stream: status, head, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends one request on `stream` (kept alive) and reads its answer.
fn request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(body) = body {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    stream
        .write_all(&bytes)
        .unwrap_or_else(|e| panic!("{method} {path}: cannot send: {e}"));
    read_answer(stream).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Reads one answer: its head, then a body framed by Content-Length or
/// chunked.
fn read_answer(stream: &mut TcpStream) -> Result<Answer, String> {
    let mut buffer = Vec::new();
    let end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        fill(stream, &mut buffer)?;
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut rest = buffer.split_off(end);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let body = if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| "bad Content-Length")?;
        while rest.len() < length {
            fill(stream, &mut rest)?;
        }
        rest.truncate(length);
        rest
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
                    break at;
                }
                fill(stream, &mut rest)?;
            };
            let size = std::str::from_utf8(&rest[..line_end]).unwrap_or_default();
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size:?}"))?;
            while rest.len() < line_end + 2 + size + 2 {
                fill(stream, &mut rest)?;
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break body;
            }
        }
    } else {
        Vec::new()
    };
    Ok(Answer { status, head, body })
}

fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk) {
        Ok(0) => Err("the connection closed before a whole answer".into()),
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) => Err(format!("no answer: {e}")),
    }
}

/// Reads until the server closes the stream; what it sent before that.
/// Fails if it is still open after `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "still open after {within:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ));
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(received),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(received),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// True when the server has closed `stream` (nothing else has been sent
/// on it, so whatever is readable is its end).
fn is_closed(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

/// The kinds of connection a slowloris holds.
#[derive(Clone, Copy, Debug)]
enum Held {
    /// Connects and says nothing.
    Silent,
    /// Sends part of a request head, then nothing.
    PartialHead,
    /// Sends a whole head announcing 100 bytes of body, and 10 of them.
    PartialBody,
}

fn hold(address: SocketAddr, kind: Held) -> TcpStream {
    let mut stream = connect(address);
    let bytes: &[u8] = match kind {
        Held::Silent => b"",
        Held::PartialHead => b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        Held::PartialBody => {
            b"POST /api/v1/dns-zones/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"domain\":"
        }
    };
    stream
        .write_all(bytes)
        .expect("send the start of a request");
    stream
}

#[test]
fn silent_half_sent_and_idle_connections_are_closed_after_the_timeouts() {
    let server = Server::start_with(
        "[api]\nheader_timeout = 1\nbody_timeout = 2\nkeep_alive_timeout = 1\n",
        "info",
    );
    let address = server.address();
    let mut held = Vec::new();
    for _ in 0..20 {
        for kind in [Held::Silent, Held::PartialHead, Held::PartialBody] {
            held.push((kind, hold(address, kind)));
        }
    }
    // Kept alive after one answered request, then silent.
    let mut kept = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(address);
        let answer = request(&mut stream, "GET", "/healthz", None, None);
        assert_eq!(answer.status, 200, "{}", answer.head);
        kept.push(stream);
    }
    // Timeouts of 1 and 2 s; 10 s is for a loaded machine.
    let within = Duration::from_secs(10);
    for (kind, mut stream) in held {
        let received = read_until_closed(&mut stream, within)
            .unwrap_or_else(|e| panic!("{kind:?} connection: {e}"));
        if let Held::PartialBody = kind {
            // The body's timeout is answered in the API's error shape.
            let text = String::from_utf8_lossy(&received);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            assert!(
                text.contains("\"error_code\":\"request_timeout\""),
                "{text}"
            );
        }
    }
    for mut stream in kept {
        let received = read_until_closed(&mut stream, within)
            .unwrap_or_else(|e| panic!("kept-alive connection: {e}"));
        assert!(
            received.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&received)
        );
    }
}

#[test]
fn a_client_with_a_token_is_served_while_a_flood_without_one_is_held() {
    raise_fd_limit();
    let max = 300;
    // Timeouts far beyond the test: only the limit closes connections.
    let config = format!(
        "[api]\nmax_connections = {max}\nheader_timeout = 120\nbody_timeout = 120\n\
         keep_alive_timeout = 120\n"
    );
    let server = Server::start_with(&config, "info");
    let token = server.user_with_token("alice", "dns:*");
    let address = server.address();
    // A kept-alive connection that has shown its token before the flood.
    let mut kept = connect(address);
    let answer = request(&mut kept, "GET", "/api/v1/dns-zones/", Some(&token), None);
    assert_eq!(answer.status, 200, "{}", answer.head);
    // Many times the limit, of every kind.
    let kinds = [
        Held::Silent,
        Held::Silent,
        Held::Silent,
        Held::PartialHead,
        Held::PartialBody,
    ];
    let held: Vec<TcpStream> = (0..2500).map(|i| hold(address, kinds[i % 5])).collect();
    for i in 0..20 {
        let started = Instant::now();
        let mut fresh = connect(address);
        let answer = request(&mut fresh, "GET", "/api/v1/dns-zones/", Some(&token), None);
        assert_eq!(answer.status, 200, "request {i}: {}", answer.head);
        assert!(
            started.elapsed() < PROMPT,
            "request {i}: {:?}",
            started.elapsed()
        );
    }
    let answer = request(&mut kept, "GET", "/api/v1/dns-zones/", Some(&token), None);
    assert_eq!(answer.status, 200, "{}", answer.head);
    // The server has closed what was beyond its limit.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = held.iter().filter(|s| !is_closed(s)).count();
        if open <= max {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} of {} held connections still open, limit {max}",
            held.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_json_body_is_one_value_and_nothing_after_it() {
    let server = Server::start_with("", "info");
    let token = server.user_with_token("alice", "dns:*");
    let mut stream = connect(server.address());
    let zones = "/api/v1/dns-zones/";
    for body in [
        &b"{\"domain\":\"trailing.example\"} garbage"[..],
        b"{\"domain\":\"first.example\"}{\"domain\":\"second.example\"}",
        b"{\"domain\":\"comma.example\"},",
    ] {
        let answer = request(&mut stream, "POST", zones, Some(&token), Some(body));
        let shown = String::from_utf8_lossy(body);
        assert_eq!(answer.status, 400, "{shown}: {}", answer.head);
        let error = answer.json();
        assert_eq!(error["error_code"], "malformed_json", "{shown}: {error}");
        assert!(error["detail"].is_string(), "{shown}: {error}");
        assert!(error["field"].is_null(), "{shown}: {error}");
    }
    let list = request(&mut stream, "GET", zones, Some(&token), None);
    assert_eq!(
        list.json(),
        serde_json::json!([]),
        "a refused body made a zone"
    );
    // Whitespace after the value is still fine.
    let body = b"{\"domain\":\"spaced.example\"} \r\n\t";
    let answer = request(&mut stream, "POST", zones, Some(&token), Some(body));
    assert_eq!(answer.status, 201, "{}", answer.head);
}

/// The limits the OpenAPI document states are the ones the API holds to:
/// a value at the stated maximum is accepted, one beyond it refused.
#[test]
fn the_openapi_limits_are_the_ones_the_api_enforces() {
    let server = Server::start_with("", "info");
    let token = server.user_with_token("alice", "dns:*");
    let mut stream = connect(server.address());
    let document = request(&mut stream, "GET", "/api/v1/openapi.json", None, None).json();
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["ZoneCreate"]["properties"]["domain"]["minLength"],
        1
    );
    assert_eq!(schemas["RecordType"]["minLength"], 1);
    let ttl = &schemas["Ttl"];
    assert_eq!(ttl["type"], "integer");
    let parameters = document["paths"]["/api/v1/dns-zones/"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .clone();
    let maximum = |name: &str| {
        let parameter = parameters.iter().find(|p| p["name"] == name);
        let schema = &parameter.unwrap_or_else(|| panic!("no {name} parameter"))["schema"];
        assert_eq!(schema["type"], "integer", "{name}");
        assert_eq!(schema["minimum"], 1, "{name}");
        schema["maximum"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} has no maximum"))
    };
    let (page, page_size) = (maximum("page"), maximum("page_size"));
    let mut get = |query: String| {
        let path = format!("/api/v1/dns-zones/?{query}");
        let answer = request(&mut stream, "GET", &path, Some(&token), None);
        (answer.status, answer.json())
    };
    let (status, body) = get(format!("page={page}&page_size={page_size}"));
    assert_eq!((status, &body), (200, &serde_json::json!([])));
    for (query, field) in [
        (format!("page={}&page_size=1", page + 1), "page"),
        (format!("page=1&page_size={}", page_size + 1), "page_size"),
        ("page=99999999999999999999999".to_string(), "page"),
    ] {
        let (status, body) = get(query.clone());
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let zones = "/api/v1/dns-zones/";
    for body in [&b"{\"domain\":\"\"}"[..], b"{\"domain\":1}"] {
        let answer = request(&mut stream, "POST", zones, Some(&token), Some(body));
        assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(body));
    }
    let answer = request(
        &mut stream,
        "POST",
        zones,
        Some(&token),
        Some(b"{\"domain\":\"limits.example\"}"),
    );
    assert_eq!(answer.status, 201, "{}", answer.head);
    let zone = answer.json()["uuid"].as_str().expect("uuid").to_string();
    let records = format!("/api/v1/dns-zones/{zone}/records/");
    let (minimum, maximum) = (ttl["minimum"].as_i64(), ttl["maximum"].as_i64());
    let (minimum, maximum) = (minimum.expect("ttl minimum"), maximum.expect("ttl maximum"));
    for (ttl, status) in [
        (minimum.to_string(), 201),
        (maximum.to_string(), 201),
        ((minimum - 1).to_string(), 400),
        ((maximum + 1).to_string(), 400),
        ("3600.5".to_string(), 400),
        // JSON Schema's integers include these.
        ("3600.0".to_string(), 201),
        ("3.6e3".to_string(), 201),
    ] {
        let body = format!(
            "{{\"record_type\":\"TXT\",\"name\":\"t{status}-{}\",\"value\":\"x\",\"ttl\":{ttl}}}",
            ttl.replace(['.', '-'], "_")
        );
        let answer = request(
            &mut stream,
            "POST",
            &records,
            Some(&token),
            Some(body.as_bytes()),
        );
        assert_eq!(
            answer.status,
            status,
            "ttl {ttl}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    let body = b"{\"record_type\":\"\",\"name\":\"x\",\"value\":\"x\"}";
    let answer = request(&mut stream, "POST", &records, Some(&token), Some(body));
    assert_eq!(answer.status, 400, "empty record_type");
}
