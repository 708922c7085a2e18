//! Atomic batches (`PATCH .../records/`) and `?dry_run=true`, against a
//! real named: a batch is one version and one new serial, a refused batch
//! changes nothing anyone can see, and a dry run stores nothing.
//! Issue 12, part 2.

use std::path::Path;

use serde_json::{Value, json};

use crate::api::{Client, create_zone, record_path, zone_path};
use crate::deploy::Stack;
use crate::served::{api_view, assert_served_as_shown, served, settle};

fn records_path(zone: &str) -> String {
    format!("{}records/", zone_path(zone))
}

/// The zone's version, as `zone show` prints it.
fn version(stack: &Stack, apex: &str) -> u64 {
    let show = stack.server.cli(&["zone", "show", apex]);
    show.lines()
        .find_map(|l| l.strip_prefix("version:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no version in {show}"))
}

/// The zone as the API shows it and as named serves it.
fn seen(stack: &Stack, api: &Client, zone: &str, apex: &str, dir: &Path) -> [Vec<String>; 2] {
    [api_view(api, zone, apex, dir).0, served(stack, apex, dir)]
}

fn create(api: &Client, zone: &str, name: &str, value: &str) -> String {
    let reply = api.post(
        &records_path(zone),
        &json!({"record_type": "A", "name": name, "value": value}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["uuid"].as_str().unwrap().to_string()
}

#[test]
fn a_batch_of_three_creates_and_a_delete_is_served_as_one_new_serial() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let apex = "batch.example.";
    let zone = create_zone(&api, "batch.example");
    let old = create(&api, &zone, "old", "192.0.2.9");
    settle(&stack, &api, &zone);
    let serial = stack.serial(apex).expect("served");
    let before = version(&stack, "batch.example");
    let reply = api.patch(
        &records_path(&zone),
        &json!([
            {"op": "create", "record_type": "A", "name": "www", "value": "192.0.2.1"},
            {"op": "create", "record_type": "A", "name": "www", "value": "192.0.2.2", "ttl": 600},
            {"op": "create", "record_type": "MX", "name": "@", "value": "mail.batch.example", "priority": 10},
            {"op": "delete", "uuid": old},
        ]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let changes = reply.body["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[3]["deleted"], json!([old]));
    assert_eq!(reply.body["dry_run"], false);
    // The second create gave its TTL to the RRset, as a single write does.
    assert_eq!(changes[1]["records"][0]["ttl"], 600);
    assert!(
        reply.header("warning").is_some(),
        "the retimed record is told"
    );
    assert_eq!(
        version(&stack, "batch.example"),
        before + 1,
        "one transaction, one version"
    );
    assert_served_as_shown(&stack, &api, &zone, apex, dir.path());
    let now = stack.serial(apex).expect("served");
    assert_eq!(now, serial + 1, "one deploy, one new serial");
    let mut www = stack.dig("www.batch.example.", "A").unwrap();
    www.sort();
    assert_eq!(www, ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(
        stack.dig("old.batch.example.", "A"),
        Err("NXDOMAIN".to_string())
    );
    // replace_rrset and delete by name and type, in one more batch.
    let reply = api.patch(
        &records_path(&zone),
        &json!({"changes": [
            {"op": "replace_rrset", "name": "www", "record_type": "A",
             "records": [{"value": "192.0.2.3", "ttl": 300}]},
            {"op": "delete", "name": "@", "record_type": "MX"},
        ]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["changes"][0]["deleted"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_served_as_shown(&stack, &api, &zone, apex, dir.path());
    assert_eq!(stack.dig("www.batch.example.", "A").unwrap(), ["192.0.2.3"]);
    assert_eq!(stack.serial(apex), Some(now + 1));
    // The apex NS set has one TTL, the zone's: a TTL given by one change
    // is the TTL the later changes of the batch join.
    let reply = api.patch(
        &records_path(&zone),
        &json!([
            {"op": "create", "record_type": "A", "name": "ns3", "value": "192.0.2.53"},
            {"op": "create", "record_type": "NS", "name": "@", "value": "ns3.batch.example", "ttl": 600},
            {"op": "create", "record_type": "NS", "name": "@", "value": "ns4.other.example"},
        ]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["changes"][2]["records"][0]["ttl"], 600,
        "{}",
        reply.text
    );
    assert_eq!(api.get(&zone_path(&zone)).body["nameservers_ttl"], 600);
    assert_served_as_shown(&stack, &api, &zone, apex, dir.path());
}

#[test]
fn a_batch_with_one_bad_change_changes_nothing_and_names_it() {
    let stack = Stack::with_transfers();
    let server = &stack.server;
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let apex = "refused.example.";
    let zone = create_zone(&api, "refused.example");
    let kept = create(&api, &zone, "kept", "192.0.2.1");
    settle(&stack, &api, &zone);
    let before = seen(&stack, &api, &zone, apex, dir.path());
    let version_before = version(&stack, "refused.example");
    let good = json!({"op": "create", "record_type": "A", "name": "new", "value": "192.0.2.2"});
    let delete = json!({"op": "delete", "uuid": kept});
    let refusals = [
        // The input of one change (checked like a single write).
        (
            json!([good, delete, good, {"op": "create", "record_type": "A", "name": "x", "value": "192.0.2.300"}]),
            "changes[3].value",
        ),
        // A duplicate of an earlier change of the same batch (a zone rule).
        (json!([delete, good, good]), "changes[2].value"),
        // A CNAME beside a record of the batch.
        (
            json!([good, {"op": "create", "record_type": "CNAME", "name": "new", "value": "kept.refused.example"}]),
            "changes[1].name",
        ),
        // A record that is not in this zone.
        (
            json!([good, {"op": "delete", "uuid": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}]),
            "changes[1].uuid",
        ),
        // An unknown field, and an unknown operation.
        (
            json!([good, {"op": "create", "colour": "red"}]),
            "changes[1].colour",
        ),
        (json!([{"op": "upsert"}]), "changes[0].op"),
        // A member of a replaced RRset.
        (
            json!([{"op": "replace_rrset", "name": "www", "record_type": "A",
                    "records": [{"value": "192.0.2.1"}, {"value": "nope"}]}]),
            "changes[0].records[1].value",
        ),
    ];
    for (body, field) in refusals {
        let reply = api.patch(&records_path(&zone), &body);
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body["field"], field, "{body}: {}", reply.text);
        // The same batch as a dry run is refused the same way.
        let dry = api.patch(&format!("{}?dry_run=true", records_path(&zone)), &body);
        assert_eq!((dry.status, &dry.body["field"]), (400, &json!(field)));
    }
    assert_eq!(version(&stack, "refused.example"), version_before);
    assert_eq!(api.get(&record_path(&kept)).status, 200, "nothing deleted");
    assert_eq!(seen(&stack, &api, &zone, apex, dir.path()), before);
    // Each change needs its own permission, checked before anything runs.
    let creator = server.client(&server.token("alice", "dns:create", &[]));
    let reply = creator.patch(&records_path(&zone), &json!([good, delete]));
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.text.contains("dns:delete"), "{}", reply.text);
    // Another user's zone is not found.
    let bob = server.client(&server.user_with_token("bob", "dns:*"));
    assert_eq!(bob.patch(&records_path(&zone), &json!([good])).status, 404);
    assert_eq!(seen(&stack, &api, &zone, apex, dir.path()), before);
}

/// `Ok(())` for a 2xx, the field of a 400.
fn outcome(reply: &crate::api::Reply) -> Result<(), Value> {
    match reply.status {
        200..=299 => Ok(()),
        400 => Err(reply.body["field"].clone()),
        s => panic!("unexpected {s}: {}", reply.text),
    }
}

#[test]
fn a_dry_run_stores_nothing_shows_the_diff_and_refuses_only_what_the_write_would() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let apex = "dry.example.";
    let zone = create_zone(&api, "dry.example");
    let www = create(&api, &zone, "www", "192.0.2.1");
    settle(&stack, &api, &zone);
    let before = seen(&stack, &api, &zone, apex, dir.path());
    let version_before = version(&stack, "dry.example");
    let dry = |path: &str| format!("{path}?dry_run=true");
    // A create: the diff has its line, named-checkzone accepts.
    let reply = api.post(
        &dry(&records_path(&zone)),
        &json!({"record_type": "A", "name": "mail", "value": "192.0.2.25"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["dry_run"], true);
    assert_eq!(reply.body["checkzone"]["accepted"], true, "{}", reply.text);
    let diff: Vec<&str> = reply.body["diff"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(diff, ["+mail 3600 IN A 192.0.2.25"], "{}", reply.text);
    // A PATCH, a PUT and a DELETE.
    let reply = api.patch(&dry(&record_path(&www)), &json!({"value": "192.0.2.2"}));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let diff = reply.body["diff"].to_string();
    assert!(
        diff.contains("-www 3600 IN A 192.0.2.1") && diff.contains("+www 3600 IN A 192.0.2.2"),
        "{diff}"
    );
    let reply = api.put(
        &dry(&record_path(&www)),
        &json!({"record_type": "AAAA", "name": "www", "value": "2001:db8::1"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = api.delete(&dry(&record_path(&www)));
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["diff"], json!(["-www 3600 IN A 192.0.2.1"]));
    assert_eq!(reply.body["checkzone"]["accepted"], true);
    // A batch.
    let reply = api.patch(
        &dry(&records_path(&zone)),
        &json!([
            {"op": "create", "record_type": "TXT", "name": "@", "value": "hello"},
            {"op": "delete", "uuid": www},
        ]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["diff"].as_array().unwrap().len(),
        2,
        "{}",
        reply.text
    );
    // Nothing of it was stored, nor deployed.
    assert_eq!(version(&stack, "dry.example"), version_before);
    assert_eq!(seen(&stack, &api, &zone, apex, dir.path()), before);
    // Each write, dry first: the dry run refuses exactly what the write
    // refuses, naming the same field.
    let writes = [
        json!({"record_type": "A", "name": "a", "value": "192.0.2.7"}),
        json!({"record_type": "A", "name": "a", "value": "192.0.2.7"}),
        json!({"record_type": "CNAME", "name": "a", "value": "www.dry.example"}),
        json!({"record_type": "CNAME", "name": "c", "value": "www.dry.example"}),
        json!({"record_type": "NS", "name": "@", "value": "ns3.dry.example"}),
        json!({"record_type": "A", "name": "ns3", "value": "192.0.2.53"}),
        json!({"record_type": "NS", "name": "@", "value": "ns3.dry.example"}),
        json!({"record_type": "MX", "name": "@", "value": "mail.dry.example"}),
        json!({"record_type": "TXT", "name": "t", "value": "x", "ttl": 60}),
    ];
    for body in writes {
        let dry_reply = api.post(&dry(&records_path(&zone)), &body);
        let real = api.post(&records_path(&zone), &body);
        assert_eq!(
            outcome(&dry_reply),
            outcome(&real),
            "{body}: {} / {}",
            dry_reply.text,
            real.text
        );
        if real.status == 201 {
            assert_eq!(
                dry_reply.body["checkzone"]["accepted"], true,
                "{}",
                dry_reply.text
            );
        }
    }
    assert_served_as_shown(&stack, &api, &zone, apex, dir.path());
}

#[test]
fn a_batch_is_judged_whole_and_a_thousand_creates_are_one_version() {
    let server = crate::api::Server::start_with("", "info");
    let api = server.client(&server.user_with_token("alice", "dns:*"));
    let zone = create_zone(&api, "whole.example");
    let records = records_path(&zone);
    let address = create(&api, &zone, "ns3", "192.0.2.53");
    let ns = api.post(
        &records,
        &json!({"record_type": "NS", "name": "@", "value": "ns3.whole.example"}),
    );
    assert_eq!(ns.status, 201, "{}", ns.text);
    // Alone, deleting the nameserver's only address is refused...
    let alone = api.delete(&record_path(&address));
    assert_eq!(alone.status, 400, "{}", alone.text);
    // ...in a batch that gives it a new one, it is not: the zone after
    // the batch is what counts.
    let renumber = json!([
        {"op": "delete", "uuid": address},
        {"op": "create", "record_type": "A", "name": "ns3", "value": "192.0.2.54"},
    ]);
    let reply = api.patch(&records, &renumber);
    assert_eq!(reply.status, 200, "{}", reply.text);
    // And a batch that leaves it without one is refused as a whole.
    let reply = api.patch(
        &records,
        &json!([{"op": "delete", "name": "ns3", "record_type": "A"}]),
    );
    assert_eq!(reply.status, 400, "{}", reply.text);
    // A thousand creates: one request, one transaction, one version.
    let before = server.cli(&["zone", "show", "whole.example"]);
    let creates: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "create", "record_type": "A", "name": format!("h{i}"), "value": format!("198.51.100.{}", i % 250 + 1)}))
        .collect();
    let started = std::time::Instant::now();
    let reply = api.patch(&records, &Value::Array(creates));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let took = started.elapsed();
    let after = server.cli(&["zone", "show", "whole.example"]);
    let version = |show: &str| -> u64 {
        show.lines()
            .find_map(|l| l.strip_prefix("version:")?.trim().parse().ok())
            .expect("a version")
    };
    assert_eq!(
        version(&after),
        version(&before) + 1,
        "one version for 1,000 creates"
    );
    let listed = api.get(&records);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1002));
    // Generous: a debug build on a busy machine; one commit, not 1,000.
    assert!(
        took < std::time::Duration::from_secs(20),
        "1,000 creates took {took:?}"
    );
    eprintln!("a batch of 1,000 creates took {took:?}");
}

/// The `diff` of a dry run's answer.
fn diff_of(reply: &crate::api::Reply) -> Vec<String> {
    reply.body["diff"]
        .as_array()
        .unwrap_or_else(|| panic!("no diff: {}", reply.text))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[test]
fn zone_create_delete_and_import_have_dry_runs_that_store_nothing() {
    let stack = Stack::with_transfers();
    let api = stack
        .server
        .client(&stack.server.user_with_token("alice", "dns:*"));
    let dir = tempfile::tempdir().unwrap();
    let zones = "/api/v1/dns-zones/";
    let listed = |domain: &str| {
        let reply = api.get(&format!("{zones}?domain={domain}"));
        reply.body.as_array().map_or(0, Vec::len)
    };

    // Create: the new zone's SOA and NS lines, accepted; nothing stored.
    let reply = api.post(
        &format!("{zones}?dry_run=true"),
        &json!({"domain": "new.example"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["dry_run"], true);
    assert_eq!(reply.body["changes"][0]["op"], "zone.create");
    assert_eq!(reply.body["checkzone"]["accepted"], true, "{}", reply.text);
    let diff = diff_of(&reply);
    assert!(
        diff.iter().all(|l| l.starts_with('+'))
            && diff.iter().any(|l| l.contains(" SOA "))
            && diff.iter().filter(|l| l.contains(" NS ")).count() >= 1,
        "{diff:?}"
    );
    assert_eq!(listed("new.example"), 0, "the dry run stored the zone");
    let zone = create_zone(&api, "new.example");
    // The dry run refuses what the write refuses: the zone exists now.
    let dry = api.post(
        &format!("{zones}?dry_run=true"),
        &json!({"domain": "new.example"}),
    );
    let real = api.post(zones, &json!({"domain": "new.example"}));
    assert_eq!((dry.status, &dry.body), (real.status, &real.body));
    assert_eq!(real.status, 400);
    settle(&stack, &api, &zone);
    let apex = "new.example.";
    let before = seen(&stack, &api, &zone, apex, dir.path());

    // Import: the report, the diff and the verdict; nothing stored.
    let import_path = format!("{}import?dry_run=true", zone_path(&zone));
    // No $TTL: BIND takes the SOA minimum (300) as the default TTL.
    let text = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1.vps.org.\n\
                www 600 IN A 192.0.2.80\nmail IN MX 10 www\n";
    let reply = api.raw("POST", &import_path, Some(("text/dns", text.into())));
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["dry_run"], true);
    assert_eq!(reply.body["added"], 2, "{}", reply.text);
    assert_eq!(reply.body["checkzone"]["accepted"], true, "{}", reply.text);
    let diff = diff_of(&reply);
    assert!(
        diff.contains(&"+www 600 IN A 192.0.2.80".to_string())
            && diff.contains(&"+mail 300 IN MX 10 www".to_string()),
        "{diff:?}"
    );
    let broken = api.raw(
        "POST",
        &import_path,
        Some(("text/dns", b"www IN A 300.1.2.3\n".to_vec())),
    );
    assert_eq!(broken.status, 400, "{}", broken.text);
    assert_eq!(broken.body["field"], "body");
    assert_eq!(seen(&stack, &api, &zone, apex, dir.path()), before);

    // Delete: every line removed, the records counted; the zone stays,
    // and named still serves it.
    let reply = api.delete(&format!("{}?dry_run=true", zone_path(&zone)));
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["changes"][0]["op"], "zone.delete");
    let diff = diff_of(&reply);
    assert!(
        !diff.is_empty() && diff.iter().all(|l| l.starts_with('-')),
        "{diff:?}"
    );
    assert_eq!(api.get(&zone_path(&zone)).status, 200);
    assert_eq!(seen(&stack, &api, &zone, apex, dir.path()), before);
    assert!(stack.serial("new.example").is_some());
}
