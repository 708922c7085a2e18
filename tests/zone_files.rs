//! Zone files over the API: export is what named serves, import replaces
//! a zone's records (and is served), and a zone file with errors answers
//! 400 with line:col and changes nothing. Issue 12, part 3.

use serde_json::json;

use crate::api::{Client, Reply, create_zone, zone_path};
use crate::deploy::Stack;
use crate::served::{api_view, assert_served_as_shown, compiled, served, settle};

fn export(api: &Client, zone: &str) -> Reply {
    api.get(&format!("{}export", zone_path(zone)))
}

pub(crate) fn import(api: &Client, zone: &str, text: &str) -> Reply {
    let body = Some(("text/dns", text.as_bytes().to_vec()));
    api.raw("POST", &format!("{}import", zone_path(zone)), body)
}

#[test]
fn the_export_is_what_named_serves() {
    let stack = Stack::with_transfers();
    let server = &stack.server;
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let apex = "export.example.";
    let zone = create_zone(&api, "export.example");
    for body in [
        json!({"record_type": "A", "name": "www", "value": "192.0.2.1", "ttl": 600}),
        json!({"record_type": "MX", "name": "@", "value": "mail.export.example", "priority": 10}),
        json!({"record_type": "TXT", "name": "@", "value": "v=spf1 -all"}),
        json!({"record_type": "AAAA", "name": "mail", "value": "2001:db8::25"}),
    ] {
        let reply = api.post(&format!("{}records/", zone_path(&zone)), &body);
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    settle(&stack, &api, &zone);
    let reply = export(&api, &zone);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type").as_deref(), Some("text/dns"));
    let exported = compiled(apex, &reply.text, dir.path(), "exported");
    assert_eq!(
        exported,
        served(&stack, apex, dir.path()),
        "named-compilezone of the export (left) and of named's AXFR (right)"
    );
    // Permissions, and other users' zones.
    let lister = server.client(&server.token("alice", "dns:list", &[]));
    assert_eq!(export(&lister, &zone).status, 403);
    let bob = server.client(&server.user_with_token("bob", "dns:*"));
    assert_eq!(export(&bob, &zone).status, 404);
}

#[test]
fn an_import_replaces_the_records_and_is_served_and_errors_have_line_and_column() {
    let stack = Stack::with_transfers();
    let server = &stack.server;
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let apex = "import.example.";
    let zone = create_zone(&api, "import.example");
    let reply = api.post(
        &format!("{}records/", zone_path(&zone)),
        &json!({"record_type": "A", "name": "gone", "value": "192.0.2.99"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    settle(&stack, &api, &zone);
    let before = (
        api_view(&api, &zone, apex, dir.path()).0,
        served(&stack, apex, dir.path()),
    );
    // An error on line 4, column 16: nothing imported.
    let broken = "$ORIGIN import.example.\n$TTL 3600\n@ IN SOA ns1.other.net. h.other.net. 1 2 3 4 5\nwww IN A 192.0.2.300\n";
    let reply = import(&api, &zone, broken);
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["field"], "body");
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("body:4:"), "line and column: {detail}");
    // $INCLUDE is refused: the body never reads the server's files.
    let include = "$ORIGIN import.example.\n@ 3600 IN SOA ns1.other.net. h.other.net. 1 2 3 4 5\n$INCLUDE /etc/passwd\n";
    let reply = import(&api, &zone, include);
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("body:3:"), "{}", reply.text);
    assert_eq!(
        (
            api_view(&api, &zone, apex, dir.path()).0,
            served(&stack, apex, dir.path())
        ),
        before,
        "a refused import changes nothing"
    );
    // A good file: its records replace the zone's; its SOA and apex NS are
    // the zone's own.
    let good = "$ORIGIN import.example.\n$TTL 300\n\
        @ IN SOA ns1.other.net. h.other.net. 1 2 3 4 5\n\
        @ IN NS ns1.other.net.\n\
        www IN A 192.0.2.1\nwww IN A 192.0.2.2\n\
        @ IN MX 10 mail\nmail 600 IN AAAA 2001:db8::25\n\
        txt IN TXT \"a\" \"b\"\n";
    let reply = import(&api, &zone, good);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["records"], 5, "{}", reply.text);
    assert_eq!(reply.body["ignored"], json!(["@ NS ns1.other.net."]));
    assert_served_as_shown(&stack, &api, &zone, apex, dir.path());
    let mut www = stack.dig("www.import.example.", "A").unwrap();
    www.sort();
    assert_eq!(www, ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(
        stack.dig("gone.import.example.", "A"),
        Err("NXDOMAIN".to_string())
    );
    let detail = api.get(&zone_path(&zone)).body;
    assert_eq!(
        detail["nameservers"],
        json!(["ns1.vps.org.", "ns2.vps.org."])
    );
    assert_ne!(detail["soa"]["serial"], 1, "the serial never goes back");
    // The export goes back in unchanged.
    let exported = export(&api, &zone).text;
    let reply = import(&api, &zone, &exported);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["changed"], false, "{}", reply.text);
    // Permissions, and other users' zones.
    let reader = server.client(&server.token("alice", "dns:read", &[]));
    assert_eq!(import(&reader, &zone, good).status, 403);
    let bob = server.client(&server.user_with_token("bob", "dns:*"));
    assert_eq!(import(&bob, &zone, good).status, 404);
}
