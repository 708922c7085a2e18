//! What the API says is what named serves: after every accepted write,
//! once its deploy settled, the zone named serves (AXFR from a real named)
//! is exactly the API's view of it; a refused write changes neither.
//!
//! Both sides go through `named-compilezone -s full`, so BIND prints both
//! the same way: the API's view as a zone file made from its JSON (names
//! in values completed with their final dot, plain TXT quoted), and the
//! transfer as `dig` printed it. An RRset the API shows with two TTLs is a
//! failure of its own: BIND would silently serve only one of them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::api::{Client, create_zone, record_path, zone_path};
use crate::deploy::{Stack, dig_at};
use crate::support::bind_tool;

fn records_path(zone: &str) -> String {
    format!("{}records/", zone_path(zone))
}

/// The zone as named serves it: its AXFR, printed by named-compilezone.
pub(crate) fn served(stack: &Stack, apex: &str, dir: &Path) -> Vec<String> {
    let out = dig_at(stack.named.layout().dns)
        .args(["+nocmd", "+nostats", "+onesoa", "+tcp", apex, "AXFR"])
        .output()
        .expect("dig runs (Debian: apt-get install bind9-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.lines().any(|l| l.contains("\tSOA\t")),
        "AXFR of {apex} failed: {text}"
    );
    compiled(apex, &text, dir, "served")
}

/// The records named-compilezone reads from `text`, one a line, owners in
/// lowercase (named serves one spelling per name), sorted.
pub(crate) fn compiled(apex: &str, text: &str, dir: &Path, what: &str) -> Vec<String> {
    let file = dir.join(format!("{what}.zone"));
    std::fs::write(&file, text).expect("zone file written");
    let out = bind_tool(
        "named-compilezone",
        &[
            "-i",
            "none",
            "-k",
            "ignore",
            "-s",
            "full",
            "-o",
            "-",
            apex,
            file.to_str().unwrap(),
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "named-compilezone refuses the {what} zone:\n{}\n{text}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split_whitespace();
            let owner = fields.next().unwrap_or_default().to_ascii_lowercase();
            std::iter::once(owner)
                .chain(fields.map(str::to_string))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}

/// Names in values the API shows without their final dot.
fn with_dot(name: &str) -> String {
    match name.ends_with('.') {
        true => name.to_string(),
        false => format!("{name}."),
    }
}

/// A record's value as zone-file text, from the API's form.
fn zone_file_value(record: &Value) -> String {
    let kind = record["record_type"].as_str().unwrap_or_default();
    let value = record["value"].as_str().unwrap_or_default();
    let priority = record["priority"].as_u64();
    let text = match kind {
        "CNAME" | "NS" | "PTR" | "DNAME" | "MX" => with_dot(value),
        "SRV" => match value.rsplit_once(' ') {
            Some((head, target)) => format!("{head} {}", with_dot(target)),
            None => value.to_string(),
        },
        // Plain text is split into 255-octet strings, as the API does.
        "TXT" | "SPF" if !value.starts_with('"') => value
            .as_bytes()
            .chunks(255)
            .map(|c| {
                let c = String::from_utf8_lossy(c);
                format!("\"{}\"", c.replace('\\', "\\\\").replace('"', "\\\""))
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => value.to_string(),
    };
    match priority {
        Some(p) => format!("{p} {text}"),
        None => text,
    }
}

/// The zone as the API shows it (its detail and records), as records, and
/// every RRset the API shows with more than one TTL.
pub(crate) fn api_view(
    api: &Client,
    zone: &str,
    apex: &str,
    dir: &Path,
) -> (Vec<String>, Vec<String>) {
    let detail = api.get(&zone_path(zone));
    assert_eq!(detail.status, 200, "{}", detail.text);
    let detail = detail.body;
    let soa = &detail["soa"];
    let mut text = format!("$ORIGIN {apex}\n");
    text.push_str(&format!(
        "@ {} IN SOA {} {} {} {} {} {} {}\n",
        soa["ttl"],
        soa["primary_ns"].as_str().unwrap_or_default(),
        soa["hostmaster"].as_str().unwrap_or_default(),
        soa["serial"],
        soa["refresh"],
        soa["retry"],
        soa["expire"],
        soa["minimum"]
    ));
    let mut ttls: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    let ns_ttl = detail["nameservers_ttl"].as_u64().expect("nameservers_ttl");
    for ns in detail["nameservers"].as_array().into_iter().flatten() {
        let ns = ns.as_str().unwrap_or_default();
        text.push_str(&format!("@ {ns_ttl} IN NS {ns}\n"));
        ttls.entry((apex.to_string(), "NS".into()))
            .or_default()
            .push(ns_ttl);
    }
    let records = api.get(&records_path(zone));
    assert_eq!(records.status, 200, "{}", records.text);
    for r in records.body.as_array().into_iter().flatten() {
        let name = r["name"].as_str().unwrap_or_default();
        let kind = r["record_type"].as_str().unwrap_or_default();
        let ttl = r["ttl"].as_u64().unwrap_or_default();
        let full = match name {
            "@" => apex.to_string(),
            n if n.ends_with('.') => n.to_string(),
            n => format!("{n}.{apex}"),
        };
        ttls.entry((full.to_ascii_lowercase(), kind.to_string()))
            .or_default()
            .push(ttl);
        text.push_str(&format!("{full} {ttl} IN {kind} {}\n", zone_file_value(r)));
    }
    let mixed = ttls
        .into_iter()
        .filter(|(_, t)| t.iter().any(|x| *x != t[0]))
        .map(|((name, kind), t)| format!("{name} {kind} has TTLs {t:?}"))
        .collect();
    (compiled(apex, &text, dir, "api"), mixed)
}

/// Waits until the zone's deploy settled; fails on a failed deploy.
pub(crate) fn settle(stack: &Stack, api: &Client, zone: &str) {
    let detail = stack.wait_for("the deploy settled", || {
        let detail = api.get(&zone_path(zone)).body;
        let state = detail["deploy"]["state"].as_str().unwrap_or("").to_string();
        (state == "deployed" || state == "failed", detail)
    });
    assert_eq!(
        detail["deploy"]["state"], "deployed",
        "the deploy failed: {detail:#}"
    );
}

/// Asserts the invariant for one zone: named serves the API's view.
pub(crate) fn assert_served_as_shown(
    stack: &Stack,
    api: &Client,
    zone: &str,
    apex: &str,
    dir: &Path,
) {
    settle(stack, api, zone);
    let (shown, mixed) = api_view(api, zone, apex, dir);
    assert!(
        mixed.is_empty(),
        "the API shows RRsets with two TTLs: {mixed:?}"
    );
    let served = served(stack, apex, dir);
    assert_eq!(
        served, shown,
        "named serves (left) other records than the API shows (right)"
    );
}

fn post(api: &Client, zone: &str, body: Value) -> crate::api::Reply {
    api.post(&records_path(zone), &body)
}

fn uuid(reply: &crate::api::Reply) -> String {
    assert!(
        reply.status == 201 || reply.status == 200,
        "{}: {}",
        reply.status,
        reply.text
    );
    reply.body["uuid"].as_str().expect("a uuid").to_string()
}

#[test]
fn a_ttl_written_to_one_record_is_its_rrsets() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zone = create_zone(&api, "ttl.example");
    let first = uuid(&post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "www", "value": "192.0.2.1", "ttl": 600}),
    ));
    let second = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "www", "value": "192.0.2.2", "ttl": 60}),
    );
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body["ttl"], 60);
    assert!(
        second
            .header("warning")
            .is_some_and(|w| w.contains("TTL 60")),
        "the client is told the RRset's TTL changed"
    );
    // The document's "Update TTL" example.
    let patched = api.patch(&record_path(&first), &json!({"ttl": 30}));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["ttl"], 30);
    assert_served_as_shown(&stack, &api, &zone, "ttl.example.", dir.path());
    let mut answer = stack.dig("www.ttl.example.", "A").unwrap();
    answer.sort();
    assert_eq!(answer, ["192.0.2.1", "192.0.2.2"]);
    let ttls = dig_ttls(&stack, "www.ttl.example.", "A");
    assert_eq!(ttls, [30, 30], "named serves the new TTL for both");
    // A record added without a TTL joins its RRset's.
    let third = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "WWW", "value": "192.0.2.3"}),
    );
    assert_eq!(third.body["ttl"], 30, "{}", third.text);
    assert_served_as_shown(&stack, &api, &zone, "ttl.example.", dir.path());
    // The change log names each record whose TTL changed.
    let history = stack.server.cli(&["zone", "history", "ttl.example"]);
    assert!(
        history.matches("record.update").count() >= 2,
        "both TTL changes logged: {history}"
    );
}

/// The TTLs named serves for NAME TYPE.
fn dig_ttls(stack: &Stack, name: &str, rtype: &str) -> Vec<u64> {
    let out = dig_at(stack.named.layout().dns)
        .args(["+noall", "+answer", name, rtype])
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

#[test]
fn a_ttl_only_patch_keeps_every_string_of_a_txt_record() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zone = create_zone(&api, "txt.example");
    let printer = post(
        &api,
        &zone,
        json!({"record_type": "TXT", "name": "printer", "value": "\"txtvers=1\" \"rp=printers/office\""}),
    );
    let printer_uuid = uuid(&printer);
    assert_eq!(
        printer.body["value"], "\"txtvers=1\" \"rp=printers/office\"",
        "strings other than 255-octet splits are shown in presentation form"
    );
    let dkim_value = format!(
        "\"v=DKIM1; k=rsa; \" \"p={}\" \"{}\"",
        "A".repeat(200),
        "B".repeat(100)
    );
    let dkim = uuid(&post(
        &api,
        &zone,
        json!({"record_type": "TXT", "name": "sel._domainkey", "value": dkim_value}),
    ));
    let plain = "x".repeat(300);
    let long = post(
        &api,
        &zone,
        json!({"record_type": "TXT", "name": "long", "value": plain}),
    );
    assert_eq!(long.body["value"], plain.as_str(), "plain text stays plain");
    for record in [&printer_uuid, &dkim] {
        let reply = api.patch(&record_path(record), &json!({"ttl": 120}));
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_served_as_shown(&stack, &api, &zone, "txt.example.", dir.path());
    assert_eq!(
        stack.dig("printer.txt.example.", "TXT").unwrap(),
        ["\"txtvers=1\" \"rp=printers/office\""]
    );
    let shown = api.get(&record_path(&dkim)).body;
    assert_eq!(shown["value"], dkim_value.as_str());
    assert_eq!(shown["ttl"], 120);
    // The value shown goes back unchanged in a PUT.
    let put = api.put(
        &record_path(&dkim),
        &json!({"record_type": "TXT", "name": "sel._domainkey", "value": shown["value"], "ttl": 120}),
    );
    assert_eq!(put.body["value"], dkim_value.as_str(), "{}", put.text);
    assert_served_as_shown(&stack, &api, &zone, "txt.example.", dir.path());
}

#[test]
fn names_are_relative_or_full_and_never_both() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zone = create_zone(&api, "names.example");
    let ftp = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "ftp.names.example", "value": "192.0.2.21"}),
    );
    assert_eq!(ftp.body["name"], "ftp", "{}", ftp.text);
    let apex = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "NAMES.example", "value": "192.0.2.20"}),
    );
    assert_eq!(apex.body["name"], "@", "{}", apex.text);
    let relative = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "a.b", "value": "192.0.2.22"}),
    );
    assert_eq!(relative.body["name"], "a.b", "{}", relative.text);
    for outside in ["www.other.test", "www.other.test.", "mail.example.net"] {
        let reply = post(
            &api,
            &zone,
            json!({"record_type": "A", "name": outside, "value": "192.0.2.23"}),
        );
        assert_eq!(reply.status, 400, "{outside}: {}", reply.text);
        assert_eq!(reply.body["field"], "name", "{outside}");
    }
    assert_served_as_shown(&stack, &api, &zone, "names.example.", dir.path());
    assert_eq!(
        stack.dig("ftp.names.example.", "A").unwrap(),
        ["192.0.2.21"]
    );
    assert_eq!(
        stack.dig("ftp.names.example.names.example.", "A"),
        Err("NXDOMAIN".into())
    );
}

#[test]
fn names_in_values_need_a_dot_and_hosts_are_not_addresses() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "targets.example");
    for (body, hint) in [
        (
            json!({"record_type": "CNAME", "name": "alias", "value": "www"}),
            "www.example.com",
        ),
        (
            json!({"record_type": "MX", "name": "@", "value": "192.0.2.1", "priority": 10}),
            "IP address",
        ),
        (
            json!({"record_type": "NS", "name": "sub", "value": "2001:db8::1"}),
            "IP address",
        ),
        (
            json!({"record_type": "SRV", "name": "_sip._tcp", "value": "5 5060 sip", "priority": 0}),
            "no dot",
        ),
    ] {
        let reply = post(&api, &zone, body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body["field"], "value", "{body}");
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(hint), "{body}: {detail}");
    }
    // With the dot, or a full name, they are what they say.
    let ok = post(
        &api,
        &zone,
        json!({"record_type": "CNAME", "name": "alias", "value": "www.targets.example"}),
    );
    assert_eq!(ok.status, 201, "{}", ok.text);
    settle(&stack, &api, &zone);
    assert_eq!(
        stack.dig("alias.targets.example.", "CNAME").unwrap(),
        ["www.targets.example."]
    );
}

#[test]
fn a_write_that_would_make_the_zone_undeployable_is_refused() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zone = create_zone(&api, "rules.example");
    let orphan = post(
        &api,
        &zone,
        json!({"record_type": "NS", "name": "@", "value": "ns3.rules.example"}),
    );
    assert_eq!(orphan.status, 400, "{}", orphan.text);
    let detail = orphan.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("ns3.rules.example") && detail.contains("no address records"),
        "the rule is named: {detail}"
    );
    // With its address first, the same NS is fine, and the address can
    // then not go while the NS needs it.
    let address = uuid(&post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "ns3", "value": "192.0.2.53"}),
    ));
    let ns = post(
        &api,
        &zone,
        json!({"record_type": "NS", "name": "@", "value": "ns3.rules.example"}),
    );
    assert_eq!(ns.status, 201, "{}", ns.text);
    let delete = api.delete(&record_path(&address));
    assert_eq!(delete.status, 400, "{}", delete.text);
    let moved = api.patch(&record_path(&address), &json!({"name": "ns4"}));
    assert_eq!(moved.status, 400, "{}", moved.text);
    // A DS at the apex belongs in the parent.
    let ds = post(
        &api,
        &zone,
        json!({"record_type": "DS", "name": "@", "value": "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}),
    );
    assert_eq!(ds.status, 400, "{}", ds.text);
    // Every later valid write is served.
    let www = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "www", "value": "192.0.2.80"}),
    );
    assert_eq!(www.status, 201, "{}", www.text);
    assert_served_as_shown(&stack, &api, &zone, "rules.example.", dir.path());
    let served_ns = stack.dig("rules.example.", "NS").unwrap();
    assert!(
        served_ns.contains(&"ns3.rules.example.".to_string()),
        "{served_ns:?}"
    );
}

#[test]
fn duplicates_differing_only_in_case_are_one_record() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zone = create_zone(&api, "case.example");
    let first = post(
        &api,
        &zone,
        json!({"record_type": "MX", "name": "@", "value": "mail.case.example", "priority": 10}),
    );
    assert_eq!(first.status, 201, "{}", first.text);
    let second = post(
        &api,
        &zone,
        json!({"record_type": "MX", "name": "CASE.EXAMPLE.", "value": "MAIL.CASE.EXAMPLE.", "priority": 10}),
    );
    assert_eq!(second.status, 400, "{}", second.text);
    assert_eq!(second.body["field"], "value");
    // TXT content is case-sensitive: these are two records.
    for text in ["Hello", "hello"] {
        let reply = post(
            &api,
            &zone,
            json!({"record_type": "TXT", "name": "t", "value": text}),
        );
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    assert_served_as_shown(&stack, &api, &zone, "case.example.", dir.path());
}

#[test]
fn a_write_to_a_zone_whose_deploy_failed_says_so() {
    // named-checkzone made stricter than usual (MX to a CNAME is an
    // error), so that the API accepts what the check then refuses.
    let stack = Stack::start_with(|d| d.checkzone.extend(["-M".to_string(), "fail".to_string()]));
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "failing.example");
    uuid(&post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "www", "value": "192.0.2.1"}),
    ));
    uuid(&post(
        &api,
        &zone,
        json!({"name": "alias", "record_type": "CNAME", "value": "www.failing.example"}),
    ));
    let good = {
        settle(&stack, &api, &zone);
        stack.serial("failing.example.").expect("served")
    };
    let _mx = uuid(&post(
        &api,
        &zone,
        json!({"name": "@", "record_type": "MX", "value": "alias.failing.example", "priority": 10}),
    ));
    stack.wait_failed_serving(&api, &zone, "failing.example.", good);
    let next = post(
        &api,
        &zone,
        json!({"record_type": "A", "name": "ftp", "value": "192.0.2.2"}),
    );
    assert_eq!(next.status, 201, "{}", next.text);
    let warning = next.header("warning").unwrap_or_default();
    assert!(
        warning.starts_with("299 - \"") && warning.contains("last deploy failed"),
        "the write's answer says the zone is not deployed: {warning:?}"
    );
}

/// A small, seeded generator (xorshift64*): the same seed makes the same
/// walk, so a failure can be replayed with `BINDBRIDGE_SEED`.
struct Walk(u64);

impl Walk {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A record request for zone `apex`: a random name, type and value,
    /// with or without a TTL.
    fn record(&mut self, apex: &str) -> Value {
        let apex = apex.trim_end_matches('.');
        let names = [
            "@".to_string(),
            "www".into(),
            "WWW".into(),
            "mail".into(),
            "a.b".into(),
            format!("ftp.{apex}"),
            format!("Ftp.{apex}."),
            "*.dev".into(),
            "_sip._tcp".into(),
            "sub".into(),
        ];
        let name = self.pick(&names).clone();
        let kind = *self.pick(&[
            "A", "A", "AAAA", "TXT", "TXT", "MX", "CNAME", "SRV", "CAA", "NS",
        ]);
        let n = self.below(6);
        let (name, value, priority) = match kind {
            "A" => (name, format!("192.0.2.{}", 1 + n), None),
            "AAAA" => (name, format!("2001:db8::{:x}", 1 + n), None),
            "TXT" => {
                let value = match self.below(5) {
                    0 => format!("v=spf1 include:_spf.{apex} ~all"),
                    1 => "\"txtvers=1\" \"rp=printers/office\"".to_string(),
                    2 => format!("quote \" and backslash \\ {n}"),
                    3 => "é ünïcode".repeat(1 + n * 20),
                    _ => format!("text {n}"),
                };
                (name, value, None)
            }
            "MX" => {
                let target = match n % 2 {
                    0 => format!("mail.{apex}"),
                    _ => format!("MX{n}.Example.NET."),
                };
                (name, target, Some(10 * (n % 3)))
            }
            "CNAME" => (name, format!("target{n}.example.net"), None),
            "SRV" => (
                "_sip._tcp".into(),
                format!("5 {} sip{n}.example.net", 5060 + n),
                Some(n % 2),
            ),
            "CAA" => (name, format!("0 issue \"ca{n}.example.net\""), None),
            _ => ("sub".into(), format!("ns{}.example.net", n % 3), None),
        };
        let mut body = json!({"record_type": kind, "name": name, "value": value});
        if let Some(p) = priority {
            body["priority"] = json!(p);
        }
        if self.chance(50) {
            body["ttl"] = json!(*self.pick(&[60, 300, 3600, 86400]));
        }
        body
    }
}

/// Waits (polling often) until the zone's deploy settled; fails on a
/// failed deploy.
fn settle_quickly(api: &Client, zone: &str) {
    let deadline = std::time::Instant::now() + crate::deploy::SERVE_WAIT;
    loop {
        let detail = api.get(&zone_path(zone)).body;
        match detail["deploy"]["state"].as_str() {
            Some("deployed") => return,
            Some("failed") => panic!("the deploy failed: {detail:#}"),
            _ if std::time::Instant::now() > deadline => panic!("not deployed: {detail:#}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
}

/// The records of a zone as the API lists them (uuid → record).
fn listed(api: &Client, zone: &str) -> BTreeMap<String, Value> {
    let reply = api.get(&records_path(zone));
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["uuid"].as_str().unwrap_or_default().to_string(),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn random_api_writes_are_served_exactly_as_the_api_shows_them() {
    let operations: usize = std::env::var("BINDBRIDGE_WALK_OPERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("BINDBRIDGE_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_261_204);
    let stack = Stack::with_transfers();
    let alice_token = stack.server.user_with_token("alice", "dns:*");
    let bob_token = stack.server.user_with_token("bob", "dns:*");
    let alice = stack.server.client(&alice_token);
    let bob = stack.server.client(&bob_token);
    let dir = tempfile::tempdir().unwrap();
    // One zone imported from a file, with multi-string TXT records.
    let imported = dir.path().join("imported.example.zone");
    std::fs::write(
        &imported,
        "$ORIGIN imported.example.\n$TTL 3600\n\
         @ SOA ns1.vps.org. hostmaster.imported.example. 2024010101 7200 900 1209600 300\n\
         @ NS ns1.vps.org.\n@ NS ns2.vps.org.\n\
         printer TXT \"txtvers=1\" \"rp=printers/office\"\n\
         sel._domainkey TXT \"v=DKIM1; k=rsa; \" \"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\" \"wIDAQAB\"\n\
         www A 192.0.2.1\nwww A 192.0.2.2\n",
    )
    .unwrap();
    stack
        .server
        .cli(&["import", "--owner", "alice", imported.to_str().unwrap()]);
    let imported_uuid = stack
        .server
        .cli(&["zone", "show", "imported.example"])
        .lines()
        .find_map(|l| l.strip_prefix("uuid:").map(|u| u.trim().to_string()))
        .expect("zone show names the uuid");
    let zones = [
        (
            &alice,
            create_zone(&alice, "walk-a.example"),
            "walk-a.example.",
        ),
        (&alice, imported_uuid, "imported.example."),
        (&bob, create_zone(&bob, "walk-b.example"), "walk-b.example."),
    ];
    for (api, zone, apex) in &zones {
        assert_served_as_shown(&stack, api, zone, apex, dir.path());
    }
    let mut walk = Walk(seed | 1);
    let (mut accepted, mut refused) = (0, 0);
    for step in 0..operations {
        let (api, zone, apex) = walk.pick(&zones);
        let (api, zone, apex) = (*api, zone.as_str(), *apex);
        let before = listed(api, zone);
        let uuids: Vec<&String> = before.keys().collect();
        let existing = (!uuids.is_empty()).then(|| (*walk.pick(&uuids)).clone());
        let fresh = walk.record(apex);
        let (what, reply) = match (walk.below(9), existing) {
            (0..=2, _) | (_, None) => ("POST", post(api, zone, fresh.clone())),
            (3, Some(r)) => ("PUT", api.put(&record_path(&r), &fresh)),
            (4, Some(r)) => {
                let ttl = *walk.pick(&[30, 60, 600, 7200]);
                (
                    "PATCH ttl",
                    api.patch(&record_path(&r), &json!({"ttl": ttl})),
                )
            }
            (5, Some(r)) => {
                let body = json!({"value": fresh["value"]});
                ("PATCH value", api.patch(&record_path(&r), &body))
            }
            (6, Some(r)) => {
                let body = json!({"name": fresh["name"]});
                ("PATCH name", api.patch(&record_path(&r), &body))
            }
            (7, Some(r)) => {
                // Another user's record is not found, and stays as it is.
                let other = if std::ptr::eq(api, &alice) {
                    &bob
                } else {
                    &alice
                };
                let reply = other.patch(&record_path(&r), &json!({"ttl": 42}));
                assert_eq!(reply.status, 404, "step {step}: {}", reply.text);
                ("DELETE", api.delete(&record_path(&r)))
            }
            (_, Some(r)) => ("DELETE", api.delete(&record_path(&r))),
        };
        let context = format!("seed {seed}, step {step}: {what} {fresh} in {apex}");
        match reply.status {
            200 | 201 | 204 => {
                accepted += 1;
                settle_quickly(api, zone);
                let (shown, mixed) = api_view(api, zone, apex, dir.path());
                assert!(
                    mixed.is_empty(),
                    "{context}: RRsets with two TTLs: {mixed:?}"
                );
                let served = served(&stack, apex, dir.path());
                assert_eq!(
                    served, shown,
                    "{context}: named serves (left) other records than the API shows (right)"
                );
            }
            400 => {
                refused += 1;
                assert!(reply.body["field"].is_string(), "{context}: {}", reply.text);
                assert_eq!(
                    listed(api, zone),
                    before,
                    "{context}: a refused write changed records"
                );
            }
            status => panic!("{context}: unexpected {status}: {}", reply.text),
        }
    }
    for (api, zone, apex) in &zones {
        assert_served_as_shown(&stack, api, zone, apex, dir.path());
    }
    eprintln!("{operations} operations (seed {seed}): {accepted} accepted, {refused} refused");
    assert!(
        accepted > operations / 4 && refused > 0,
        "the walk exercises both paths: {accepted} accepted, {refused} refused"
    );
}
