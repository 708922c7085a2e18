//! The account dashboard (`/account/`) over real HTTP against `bindbridge
//! serve`: login and its cookie, session fixation, CSRF, the login rate
//! limit, tokens made in the dashboard (shown once, after a redirect) and
//! tokens limited to zones, record forms whose writes named serves, zones
//! deleted after a confirmation, and failed deploys shown with their error
//! (issue 13). The same flows in a real browser are `browser_walkthrough`,
//! below.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use ureq::Agent;
use ureq::http::Request;

use crate::api::{Server, zone_path};
use crate::deploy::{DevServe, Stack, dev_directory};

const PASSWORD: &str = "correct horse battery";

/// A client that keeps cookies, as a browser does, and follows no
/// redirect (the tests look at each answer).
struct Browser {
    base: String,
    agent: Agent,
    cookies: BTreeMap<String, String>,
}

/// One answer: status, `Set-Cookie` lines, `Location`, `Retry-After`, body.
#[derive(Debug)]
struct Page {
    status: u16,
    set_cookies: Vec<String>,
    location: Option<String>,
    retry_after: Option<String>,
    text: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("a form with a CSRF token in:\n{}", self.text));
        let rest = &self.text[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').expect("closing quote")].to_string()
    }

    /// The `Set-Cookie` line of cookie `name`.
    fn cookie_line(&self, name: &str) -> &str {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no Set-Cookie {name} in {:?}", self.set_cookies))
    }
}

impl Browser {
    fn new(base: &str) -> Browser {
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Browser {
            base: base.to_string(),
            agent,
            cookies: BTreeMap::new(),
        }
    }

    fn request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        self.request_with(method, path, form, &[])
    }

    /// A request with the kept cookies and `headers`; keeps the cookies
    /// the answer sets (and forgets those it expires).
    fn request_with(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("Cookie", cookies.join("; "));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let result = match form {
            Some(fields) => {
                let body = fields
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let request = request.header("Content-Type", "application/x-www-form-urlencoded");
                self.agent.run(request.body(body.into_bytes()).unwrap())
            }
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("").to_string())
        };
        let location = header("location");
        let retry_after = header("retry-after");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect();
        for line in &set_cookies {
            let pair = line.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                match line.contains("Max-Age=0") {
                    true => self.cookies.remove(name),
                    false => self.cookies.insert(name.to_string(), value.to_string()),
                };
            }
        }
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Page {
            status,
            set_cookies,
            location,
            retry_after,
            text,
        }
    }

    fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None)
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.request("POST", path, Some(fields))
    }

    /// Logs in through the form; the answer to the POST.
    fn login(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/account/login");
        assert_eq!(form.status, 200, "{}", form.text);
        let csrf = form.csrf();
        self.post(
            "/account/login",
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
    }

    /// The session cookie's value, if any.
    fn session(&self) -> Option<String> {
        self.cookies.get("bindbridge_session").cloned()
    }
}

/// The row of the token list for the token with `prefix`.
fn token_row<'a>(page: &'a str, prefix: &str) -> &'a str {
    let at = page
        .find(&format!("data-prefix=\"{prefix}\""))
        .unwrap_or_else(|| panic!("a row for {prefix} in:\n{page}"));
    let row = &page[at..];
    &row[..row.find("</tr>").expect("the row's end")]
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A server with user `alice` whose password is [`PASSWORD`].
fn server_with_alice() -> Server {
    let server = Server::start_with("", "info");
    server.cli_with_input(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    server
}

#[test]
fn login_sets_a_strict_http_only_cookie_and_a_new_session_id_every_time() {
    let server = server_with_alice();
    let mut browser = Browser::new(&server.base);
    // Not logged in: the pages send the browser to the login.
    let page = browser.get("/account/developers/");
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/account/login"))
    );
    // Session fixation: an id planted before the login is not the one
    // the login gives, and never becomes a session.
    let planted = "ab".repeat(32);
    browser
        .cookies
        .insert("bindbridge_session".into(), planted.clone());
    let login = browser.login("alice", PASSWORD);
    assert_eq!(login.status, 303, "{}", login.text);
    assert_eq!(login.location.as_deref(), Some("/account/dns/"));
    let line = login.cookie_line("bindbridge_session");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/account/"] {
        assert!(line.contains(flag), "{flag} in {line}");
    }
    assert!(!line.contains("Secure"), "no TLS, no Secure: {line}");
    let first = browser.session().expect("a session cookie");
    assert_ne!(first, planted);
    assert_eq!(first.len(), 64, "256 random bits: {first}");
    let mut attacker = Browser::new(&server.base);
    attacker
        .cookies
        .insert("bindbridge_session".into(), planted.clone());
    assert_eq!(attacker.get("/account/dns/").status, 303);
    assert_eq!(browser.get("/account/dns/").status, 200);
    // Logging in again from a browser with a session ends the old one
    // (the form is fetched without it: with it, the login page sends the
    // browser on to the dashboard).
    let kept = browser
        .cookies
        .remove("bindbridge_session")
        .expect("the session");
    let csrf = browser.get("/account/login").csrf();
    browser.cookies.insert("bindbridge_session".into(), kept);
    let again = browser.post(
        "/account/login",
        &[
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(again.status, 303);
    let second = browser.session().expect("a session cookie");
    assert_ne!(second, first);
    let mut stale = Browser::new(&server.base);
    stale.cookies.insert("bindbridge_session".into(), first);
    assert_eq!(stale.get("/account/dns/").status, 303);
    // Behind a TLS proxy the cookie is Secure too.
    let mut proxied = Browser::new(&server.base);
    let form = proxied.get("/account/login");
    let tls = proxied.request_with(
        "POST",
        "/account/login",
        Some(&[
            ("csrf", &form.csrf()),
            ("username", "alice"),
            ("password", PASSWORD),
        ]),
        &[("X-Forwarded-Proto", "https")],
    );
    assert!(tls.cookie_line("bindbridge_session").contains("; Secure"));
    // Logout ends the session and expires the cookie.
    let csrf = browser.get("/account/dns/").csrf();
    let out = browser.post("/account/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(out.cookie_line("bindbridge_session").contains("Max-Age=0"));
    let mut replay = Browser::new(&server.base);
    replay.cookies.insert("bindbridge_session".into(), second);
    assert_eq!(replay.get("/account/dns/").status, 303);
    // A new password works, the old one no longer does.
    server.cli_with_input(
        &["user", "passwd", "alice", "--password-stdin"],
        "new password 2\n",
    );
    assert_eq!(
        Browser::new(&server.base).login("alice", PASSWORD).status,
        401
    );
    assert_eq!(
        Browser::new(&server.base)
            .login("alice", "new password 2")
            .status,
        303
    );
}

#[test]
fn forms_without_the_session_csrf_token_are_refused() {
    let server = server_with_alice();
    let mut browser = Browser::new(&server.base);
    assert_eq!(browser.login("alice", PASSWORD).status, 303);
    let csrf = browser.get("/account/dns/").csrf();
    for fields in [
        vec![("domain", "nocsrf.example")],
        vec![
            ("csrf", "0".repeat(64).leak() as &str),
            ("domain", "nocsrf.example"),
        ],
    ] {
        let page = browser.post("/account/dns/", &fields);
        assert_eq!(page.status, 403, "{}", page.text);
    }
    let page = browser.post(
        "/account/developers/",
        &[("name", "x"), ("permissions", "dns:*"), ("expires", "0")],
    );
    assert_eq!(page.status, 403);
    assert_eq!(browser.post("/account/logout", &[]).status, 403);
    // Every other form of the dashboard too, before it looks at what the
    // form names.
    let (zone, record) = (uuid::Uuid::nil(), uuid::Uuid::max());
    for path in [
        "/account/developers/revoke".to_string(),
        format!("/account/dns/{zone}/delete"),
        format!("/account/dns/{zone}/records"),
        format!("/account/dns/{zone}/records/{record}"),
        format!("/account/dns/{zone}/records/{record}/delete"),
    ] {
        let page = browser.post(&path, &[("prefix", "vps_0"), ("name", "x")]);
        assert_eq!(page.status, 403, "POST {path}: {}", page.text);
    }
    // Nothing was made, and the session still works.
    let zones = browser.get("/account/dns/");
    assert_eq!(zones.status, 200);
    assert!(!zones.text.contains("nocsrf.example"));
    assert!(
        !browser
            .get("/account/developers/")
            .text
            .contains("token-row")
    );
    // Another session's token is not this one's.
    let mut other = Browser::new(&server.base);
    other.login("alice", PASSWORD);
    let theirs = other.get("/account/dns/").csrf();
    assert_ne!(theirs, csrf);
    let page = browser.post(
        "/account/dns/",
        &[("csrf", &theirs), ("domain", "x.example")],
    );
    assert_eq!(page.status, 403);
    // The login form's own token: a POST without the form's cookie is refused.
    let mut fresh = Browser::new(&server.base);
    let page = fresh.post(
        "/account/login",
        &[
            ("csrf", "abc"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 403);
    // With the token, the same form works.
    let page = browser.post(
        "/account/dns/",
        &[("csrf", &csrf), ("domain", "ok.example")],
    );
    assert_eq!(page.status, 303, "{}", page.text);
}

#[test]
fn the_sixth_failed_login_in_a_minute_gets_429_with_retry_after() {
    let server = server_with_alice();
    server.cli_with_input(
        &["user", "add", "bob", "--password-stdin"],
        "bob password\n",
    );
    let mut browser = Browser::new(&server.base);
    for _ in 0..5 {
        let page = browser.login("alice", "wrong password");
        assert_eq!(page.status, 401);
        assert!(page.text.contains("Wrong user name or password."));
    }
    // Even the right password waits: the limit comes before the check.
    let page = browser.login("alice", PASSWORD);
    assert_eq!(page.status, 429, "{}", page.text);
    let wait: u64 = page
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(browser.session().is_none());
    // The address is limited too: another account from it waits as well.
    assert_eq!(browser.login("bob", "bob password").status, 429);
}

#[test]
fn a_token_limited_to_zones_gets_404_for_the_others_as_for_another_users() {
    let server = Server::start_with("", "info");
    let all = server.user_with_token("alice", "dns:*");
    let alice = server.client(&all);
    let mut zones = BTreeMap::new();
    for domain in ["a.example", "b.example"] {
        let zone = alice.post("/api/v1/dns-zones/", &json!({ "domain": domain }));
        assert_eq!(zone.status, 201, "{}", zone.text);
        let uuid = zone.body["uuid"].as_str().unwrap().to_string();
        let record = json!({"name": "www", "record_type": "A", "value": "192.0.2.1"});
        let made = alice.post(&format!("/api/v1/dns-zones/{uuid}/records/"), &record);
        assert_eq!(made.status, 201);
        zones.insert(
            domain,
            (uuid, made.body["uuid"].as_str().unwrap().to_string()),
        );
    }
    let other = server.user_with_token("mallory", "dns:*");
    let mallory = server.client(&other);
    let scoped = server.token("alice", "dns:*", &["--zones", "a.example"]);
    let limited = server.client(&scoped);
    let (a, a_record) = &zones["a.example"];
    let (b, b_record) = &zones["b.example"];
    // Its own zone as usual.
    assert_eq!(limited.get(&zone_path(a)).status, 200);
    // The other zone exactly as another user's zone.
    let theirs = mallory.get(&zone_path(b));
    for path in [
        zone_path(b),
        format!("/api/v1/dns-zones/{b}/records/"),
        format!("/api/v1/dns-zones/{b}/export"),
        format!("/api/v1/dns-records/{b_record}/"),
    ] {
        let reply = limited.get(&path);
        assert_eq!(reply.status, 404, "GET {path}: {}", reply.text);
        if path == zone_path(b) {
            assert_eq!(reply.body, theirs.body);
        }
    }
    let record = json!({"name": "x", "record_type": "A", "value": "192.0.2.9"});
    let write = limited.post(&format!("/api/v1/dns-zones/{b}/records/"), &record);
    assert_eq!(write.status, 404, "{}", write.text);
    assert_eq!(limited.send("DELETE", &zone_path(b), None).status, 404);
    let delete = limited.send("DELETE", &format!("/api/v1/dns-records/{b_record}/"), None);
    assert_eq!(delete.status, 404);
    // Lists hold only its zones.
    let list = limited.get("/api/v1/dns-zones/");
    let domains: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["a.example"]);
    let records = limited.get("/api/v1/dns-records/");
    let ids: Vec<&str> = records
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a_record.as_str()]);
    let filtered = limited.get(&format!("/api/v1/dns-records/?zone={b}"));
    assert_eq!(filtered.body, json!([]));
    // A zone outside its list cannot be made with it.
    let made = limited.post("/api/v1/dns-zones/", &json!({"domain": "c.example"}));
    assert_eq!(made.status, 403, "{}", made.text);
    // Read-only: dns:list and dns:read.
    let reader = server.token("alice", "dns:list,dns:read", &["--zones", "a.example"]);
    let reader = server.client(&reader);
    assert_eq!(reader.get(&zone_path(a)).status, 200);
    let write = reader.post(&format!("/api/v1/dns-zones/{a}/records/"), &record);
    assert_eq!(write.status, 403);
    // `token list` shows the limit.
    let listed = server.cli(&["token", "list", "--user", "alice"]);
    assert!(listed.contains("zones a.example"), "{listed}");
}

#[test]
fn a_dashboard_token_is_shown_once_works_and_stops_when_revoked() {
    // At debug, so that the log would show the token if anything logged it.
    let mut server = Server::start_with("", "debug");
    server.cli_with_input(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let mut browser = Browser::new(&server.base);
    browser.login("alice", PASSWORD);
    let csrf = browser.get("/account/developers/").csrf();
    // No permission chosen: the error is next to the permissions, and
    // tied to them for screen readers.
    let page = browser.post(
        "/account/developers/",
        &[("csrf", &csrf), ("name", "ci"), ("expires", "30")],
    );
    assert_eq!(page.status, 400);
    assert!(
        page.text
            .contains("id=\"permissions-error\">Choose at least one permission.")
    );
    assert!(
        page.text.contains(
            "name=\"permissions\" value=\"dns:list\" aria-invalid=\"true\" \
             aria-describedby=\"permissions-error\">"
        ),
        "{}",
        page.text
    );
    // POST, then redirect: the answer to the POST holds no token, so a
    // reload of what the browser shows never sends the form again.
    let made = browser.post(
        "/account/developers/",
        &[
            ("csrf", &csrf),
            ("name", "ci"),
            ("permissions", "dns:list"),
            ("permissions", "dns:create"),
            ("expires", "30"),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.text);
    assert_eq!(made.location.as_deref(), Some("/account/developers/"));
    assert!(!made.text.contains("vps_"), "{}", made.text);
    // Another session of the same user does not get it.
    let mut other = Browser::new(&server.base);
    other.login("alice", PASSWORD);
    let theirs = other.get("/account/developers/");
    assert!(theirs.text.contains("token-row") && !theirs.text.contains("id=\"new-token\""));
    let page = browser.get("/account/developers/");
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains("API tokens are shown only once during creation")
    );
    let field = "id=\"new-token\" class=\"token\" value=\"";
    let at = page.text.find(field).expect("the new token") + field.len();
    let token = &page.text[at..at + 68];
    assert!(token.starts_with("vps_"), "{token}");
    // The reload: no token, no warning.
    let reload = browser.get("/account/developers/");
    assert_eq!(reload.status, 200);
    assert!(!reload.text.contains(token));
    assert!(!reload.text.contains("id=\"new-token\""));
    assert!(!reload.text.contains("shown only once"));
    let api = server.client(token);
    let made = api.post("/api/v1/dns-zones/", &json!({"domain": "dash.example"}));
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(api.get("/api/v1/dns-zones/").status, 200);
    // Listed by prefix, never again in full, with its permissions, when
    // it was last used (just now) and its expiry (30 days on).
    let list = browser.get("/account/developers/");
    assert!(!list.text.contains(token));
    let row = token_row(&list.text, &token[..12]);
    assert!(row.contains("<td>ci</td>"), "{row}");
    assert!(row.contains("dns:list, dns:create"), "{row}");
    assert_eq!(
        row.matches("<td>2").count(),
        2,
        "created and last used: {row}"
    );
    assert!(row.contains("<td>expires 2"), "{row}");
    // A token limited to a zone by the form's Zones boxes, read-only.
    let other = api.post("/api/v1/dns-zones/", &json!({"domain": "other.example"}));
    assert_eq!(other.status, 201, "{}", other.text);
    let scoped = browser.post(
        "/account/developers/",
        &[
            ("csrf", &csrf),
            ("name", "reader"),
            ("permissions", "dns:list"),
            ("permissions", "dns:read"),
            ("zones", "dash.example"),
            ("expires", "0"),
        ],
    );
    assert_eq!(scoped.status, 303, "{}", scoped.text);
    let page = browser.get("/account/developers/");
    let at = page.text.find(field).expect("the scoped token") + field.len();
    let reader = server.client(&page.text[at..at + 68]);
    let (dash, other) = (
        made.body["uuid"].as_str().unwrap(),
        other.body["uuid"].as_str().unwrap(),
    );
    assert_eq!(reader.get(&zone_path(dash)).status, 200);
    assert_eq!(reader.get(&zone_path(other)).status, 404);
    let record = json!({"name": "x", "record_type": "A", "value": "192.0.2.9"});
    let write = reader.post(&format!("/api/v1/dns-zones/{dash}/records/"), &record);
    assert_eq!(write.status, 403, "{}", write.text);
    let revoke = browser.post(
        "/account/developers/revoke",
        &[("csrf", &csrf), ("prefix", &token[..12])],
    );
    assert_eq!(revoke.status, 303);
    assert_eq!(api.get("/api/v1/dns-zones/").status, 401);
    // Another user cannot revoke alice's tokens from their session.
    let kept = server.token("alice", "dns:list", &[]);
    server.cli_with_input(
        &["user", "add", "bob", "--password-stdin"],
        "bob password\n",
    );
    let mut bob = Browser::new(&server.base);
    bob.login("bob", "bob password");
    let bobs = bob.get("/account/developers/").csrf();
    bob.post(
        "/account/developers/revoke",
        &[("csrf", &bobs), ("prefix", &kept[..12])],
    );
    assert_eq!(server.client(&kept).get("/api/v1/dns-zones/").status, 200);
    // Held for its page in the database, the token was never logged.
    let log = server.stop_and_read_log();
    assert!(log.contains("dashboard login"), "{log}");
    assert!(!log.contains(&token[4..]), "the token in the log:\n{log}");
}

#[test]
fn record_forms_validate_as_the_api_does_and_named_serves_them() {
    let stack = Stack::start_with(|_| {});
    let server = &stack.server;
    server.cli_with_input(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let token = server.token("alice", "dns:*", &[]);
    let api = server.client(&token);
    let mut browser = Browser::new(&server.base);
    browser.login("alice", PASSWORD);
    let csrf = browser.get("/account/dns/").csrf();
    let bad = browser.post(
        "/account/dns/",
        &[("csrf", &csrf), ("domain", "bad..example")],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("id=\"domain-error\""), "{}", bad.text);
    let (zone_page, uuid) = create_zone(&mut browser, &csrf, "web.example");
    let add = format!("/account/dns/{uuid}/records");
    let record = |name: &'static str, value: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.into()),
            ("record_type", "A".into()),
            ("value", value.into()),
            ("ttl", "".into()),
            ("priority", "".into()),
        ]
    };
    let send = |browser: &mut Browser, path: &str, fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post(path, &fields)
    };
    // A wrong value: the API's own message, next to the value field.
    let wrong = send(&mut browser, &add, record("www", "300.1.2.3"));
    assert_eq!(wrong.status, 400);
    let from_api = api.post(
        &format!("/api/v1/dns-zones/{uuid}/records/"),
        &json!({"name": "www", "record_type": "A", "value": "300.1.2.3"}),
    );
    assert_eq!(from_api.status, 400);
    assert_eq!(from_api.body["field"], "value");
    let detail = from_api.body["detail"]
        .as_str()
        .unwrap()
        .replace('\'', "&#39;");
    assert!(
        wrong
            .text
            .contains(&format!("id=\"new-value-error\">{detail}</p>")),
        "{detail} next to the value in:\n{}",
        wrong.text
    );
    // What was typed stays in the form, which names the error.
    assert!(wrong.text.contains(
        "value=\"300.1.2.3\" placeholder=\"192.0.2.1\" aria-invalid=\"true\" \
         aria-describedby=\"new-value-error\">"
    ));
    let added = send(&mut browser, &add, record("www", "192.0.2.10"));
    assert_eq!(added.status, 303, "{}", added.text);
    stack
        .wait_for("www served", || {
            let answer = stack.dig("www.web.example.", "A");
            (answer == Ok(vec!["192.0.2.10".to_string()]), answer)
        })
        .expect("served");
    // The zone list shows the record count and the deploy state.
    let list = browser.get("/account/dns/");
    assert!(list.text.contains(">web.example</a>"));
    assert!(list.text.contains("<td>1</td>"), "{}", list.text);
    // Edit and delete through the record's forms.
    let listed = api.get(&format!("/api/v1/dns-zones/{uuid}/records/"));
    let record_uuid = listed.body[0]["uuid"].as_str().unwrap().to_string();
    let edit = format!("/account/dns/{uuid}/records/{record_uuid}");
    let mut fields = record("www", "192.0.2.11");
    fields[4].1 = "600".into();
    let edited = send(&mut browser, &edit, fields);
    assert_eq!(edited.status, 303, "{}", edited.text);
    stack
        .wait_for("the new value served", || {
            let answer = stack.dig("www.web.example.", "A");
            (answer == Ok(vec!["192.0.2.11".to_string()]), answer)
        })
        .expect("served");
    let mut fields = record("www", "192.0.2.11");
    fields[4].1 = "ten".into();
    let bad_ttl = send(&mut browser, &edit, fields);
    assert_eq!(bad_ttl.status, 400);
    let error_id = format!("{record_uuid}-ttl-error");
    assert!(
        bad_ttl
            .text
            .contains(&format!("id=\"{error_id}\">ttl must be a whole number</p>")),
        "{}",
        bad_ttl.text
    );
    // Tied to its field for screen readers.
    assert!(bad_ttl.text.contains(&format!(
        "value=\"ten\" size=\"7\" inputmode=\"numeric\" aria-invalid=\"true\" \
         aria-describedby=\"{error_id}\">"
    )));
    // The zone file is the API's export.
    let file = browser.get(&format!("/account/dns/{uuid}/zone-file"));
    assert_eq!(file.status, 200);
    assert_eq!(
        file.text,
        api.get(&format!("/api/v1/dns-zones/{uuid}/export")).text
    );
    // Deleting asks first: the zone page links to a page whose form does it.
    let delete = format!("{edit}/delete");
    confirmation(
        &mut browser,
        &zone_page,
        &delete,
        "Delete the record www A 192.0.2.11?",
    );
    assert_eq!(browser.post(&delete, &[]).status, 403);
    let deleted = send(&mut browser, &delete, vec![("csrf", csrf.clone())]);
    assert_eq!(deleted.status, 303);
    stack
        .wait_for("www gone", || {
            let answer = stack.dig("www.web.example.", "A");
            (answer == Err("NXDOMAIN".to_string()), answer)
        })
        .expect_err("NXDOMAIN");
    // Another user's zone page is not found.
    server.cli_with_input(
        &["user", "add", "bob", "--password-stdin"],
        "bob password\n",
    );
    let mut bob = Browser::new(&server.base);
    bob.login("bob", "bob password");
    assert_eq!(bob.get(&zone_page).status, 404);
    let bobs = bob.get("/account/dns/").csrf();
    let theirs = bob.post(
        &add,
        &[
            ("csrf", &bobs),
            ("name", "x"),
            ("record_type", "A"),
            ("value", "192.0.2.1"),
        ],
    );
    assert_eq!(theirs.status, 404);
}

#[test]
fn a_zone_is_deleted_from_its_page_after_a_confirmation_and_named_stops_serving_it() {
    let stack = Stack::start_with(|_| {});
    let server = &stack.server;
    server.cli_with_input(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let api = server.client(&server.token("alice", "dns:*", &[]));
    let mut browser = Browser::new(&server.base);
    browser.login("alice", PASSWORD);
    let csrf = browser.get("/account/dns/").csrf();
    let (zone_page, uuid) = create_zone(&mut browser, &csrf, "gone.example");
    let added = browser.post(
        &format!("/account/dns/{uuid}/records"),
        &[
            ("csrf", &csrf),
            ("name", "www"),
            ("record_type", "A"),
            ("value", "192.0.2.20"),
        ],
    );
    assert_eq!(added.status, 303, "{}", added.text);
    stack
        .wait_for("www served", || {
            let answer = stack.dig("www.gone.example.", "A");
            (answer == Ok(vec!["192.0.2.20".to_string()]), answer)
        })
        .expect("served");
    // The zone's page links to the confirmation, a plain page whose one
    // form (with the CSRF token) deletes.
    let delete = format!("/account/dns/{uuid}/delete");
    let confirm = confirmation(
        &mut browser,
        &zone_page,
        &delete,
        "Delete the zone gone.example and all its records?",
    );
    assert_eq!(confirm.csrf(), csrf);
    // Without the token, or from another user, nothing is deleted.
    assert_eq!(browser.post(&delete, &[]).status, 403);
    server.cli_with_input(
        &["user", "add", "bob", "--password-stdin"],
        "bob password\n",
    );
    let mut bob = Browser::new(&server.base);
    bob.login("bob", "bob password");
    assert_eq!(bob.get(&delete).status, 404);
    let bobs = bob.get("/account/dns/").csrf();
    assert_eq!(bob.post(&delete, &[("csrf", &bobs)]).status, 404);
    assert_eq!(api.get(&zone_path(&uuid)).status, 200);
    // Confirmed: gone from the store, the list and named.
    let deleted = browser.post(&delete, &[("csrf", &csrf)]);
    assert_eq!(deleted.status, 303, "{}", deleted.text);
    assert_eq!(deleted.location.as_deref(), Some("/account/dns/"));
    assert_eq!(api.get(&zone_path(&uuid)).status, 404);
    assert!(!browser.get("/account/dns/").text.contains("gone.example"));
    assert_eq!(browser.get(&zone_page).status, 404);
    assert_eq!(browser.post(&delete, &[("csrf", &csrf)]).status, 404);
    stack
        .wait_for("the zone no longer served", || {
            let answer = stack.dig("gone.example.", "SOA");
            (answer == Err("REFUSED".to_string()), answer)
        })
        .expect_err("REFUSED");
    // The change log names the dashboard, as for the API's delete.
    let history = server.cli(&["zone", "history", &uuid]);
    assert!(history.contains("zone.delete"), "{history}");
    assert!(history.contains("dashboard (alice)"), "{history}");
}

#[test]
fn the_zone_pages_show_a_failed_deploy_with_named_checkzones_error() {
    // named-checkzone made stricter than usual (MX to a CNAME is an
    // error), so that the API accepts what the check then refuses.
    let stack = Stack::start_with(|d| d.checkzone.extend(["-M".to_string(), "fail".to_string()]));
    let server = &stack.server;
    server.cli_with_input(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let api = server.client(&server.token("alice", "dns:*", &[]));
    let zone = api.post("/api/v1/dns-zones/", &json!({"domain": "strict.example"}));
    let uuid = zone.body["uuid"].as_str().expect("a uuid").to_string();
    let records = format!("/api/v1/dns-zones/{uuid}/records/");
    for record in [
        json!({"name": "alias", "record_type": "CNAME", "value": "www.strict.example"}),
        json!({"name": "@", "record_type": "MX", "value": "alias.strict.example", "priority": 10}),
    ] {
        assert_eq!(api.post(&records, &record).status, 201);
    }
    let detail = stack.wait_deploy(&api, &uuid, "failed");
    let error = detail["deploy"]["error"].as_str().expect("the error");
    // As tera escapes it.
    let shown = [
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("\"", "&quot;"),
        ("'", "&#39;"),
    ]
    .iter()
    .fold(error.to_string(), |text, (from, to)| text.replace(from, to));
    let mut browser = Browser::new(&server.base);
    browser.login("alice", PASSWORD);
    for path in ["/account/dns/".to_string(), format!("/account/dns/{uuid}/")] {
        let page = browser.get(&path);
        assert!(
            page.text.contains("state-failed\""),
            "{path}: {}",
            page.text
        );
        assert!(
            page.text
                .contains(&format!("<pre class=\"error\">{shown}</pre>")),
            "{path}: named-checkzone's error {error:?} in:\n{}",
            page.text
        );
    }
}

/// The Debian interpreter, which python3-websocket installs for.
const PYTHON: &str = "/usr/bin/python3";

/// Where the browser test saves its screenshots.
/// Creates `domain` through the zone list's form: its page and uuid.
fn create_zone(browser: &mut Browser, csrf: &str, domain: &str) -> (String, String) {
    let made = browser.post("/account/dns/", &[("csrf", csrf), ("domain", domain)]);
    assert_eq!(made.status, 303, "{}", made.text);
    let zone_page = made.location.expect("the zone's page");
    let uuid = zone_page
        .trim_start_matches("/account/dns/")
        .trim_end_matches('/')
        .to_string();
    (zone_page, uuid)
}

/// The confirmation a delete asks for: `page` links to `delete`, a page
/// that asks `question` and whose one form posts to `delete` itself.
fn confirmation(browser: &mut Browser, page: &str, delete: &str, question: &str) -> Page {
    assert!(
        browser
            .get(page)
            .text
            .contains(&format!("href=\"{delete}\""))
    );
    let confirm = browser.get(delete);
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    assert!(confirm.text.contains(question), "{}", confirm.text);
    assert!(
        confirm
            .text
            .contains(&format!("<form method=\"post\" action=\"{delete}\"")),
        "{}",
        confirm.text
    );
    confirm
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots")
}

#[test]
fn browser_walkthrough() {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is missing: the browser test needs Debian's chromium (apt-get install chromium)");
    let websocket = Command::new(PYTHON)
        .args(["-c", "import websocket"])
        .status();
    assert!(
        websocket.is_ok_and(|s| s.success()),
        "python3 with the websocket module is missing (apt-get install python3 python3-websocket)"
    );
    let (_dir, data, _reaper, dns) = dev_directory();
    let dev = DevServe::start(&data, dns, &[]);
    let dashboard = dev
        .dashboard
        .clone()
        .expect("the welcome names the dashboard");
    let password = dev
        .password
        .clone()
        .expect("the welcome gives the demo password");
    assert_eq!(dashboard, format!("{}/account/login", dev.api));
    let out = screenshot_dir();
    std::fs::create_dir_all(&out).expect("screenshot directory");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.py");
    let run = Command::new(PYTHON)
        .arg(&script)
        .args(["--chromium", chromium, "--base", &dev.api, "--user", "demo"])
        .args(["--password", &password, "--dns", &dns.to_string()])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the browser walkthrough failed:\n{stdout}\n{stderr}"
    );
    for page in [
        "login",
        "login-error",
        "not-found",
        "dns",
        "zone",
        "zone-error",
        "record-edit-error",
        "record-delete",
        "zone-delete",
        "developers-error",
        "developers-new-token",
        "developers",
    ] {
        let path = out.join(format!("{page}.png"));
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
        println!("screenshot: {}", path.display());
    }
}

/// `bindbridge --db DB ARGS...` with `input` on standard input: the exit
/// code and standard error.
fn run_with_input(db: &std::path::Path, args: &[&str], input: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = crate::support::bindbridge()
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("BINDBRIDGE_DB")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bindbridge runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let out = child.wait_with_output().expect("bindbridge ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn user_add_and_passwd_refuse_short_passwords_and_unknown_users() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("users.db");
    let (code, stderr) = run_with_input(
        &db,
        &["user", "add", "alice", "--password-stdin"],
        "short\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("too short: 5 characters, at least 8"),
        "{stderr}"
    );
    // Nothing was added without the password asked for.
    let (code, _) = run_with_input(
        &db,
        &["user", "add", "alice", "--password-stdin"],
        "long enough\r\n",
    );
    assert_eq!(code, Some(0));
    let (code, stderr) = run_with_input(
        &db,
        &["user", "passwd", "nobody", "--password-stdin"],
        "long enough\n",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no user named 'nobody'"), "{stderr}");
    // Only from standard input: never as an argument a process list shows.
    let (code, stderr) = run_with_input(&db, &["user", "passwd", "alice"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--password-stdin"), "{stderr}");
}
