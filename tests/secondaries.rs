//! Secondaries through BIND's own machinery: a primary named on 127.0.0.1
//! that bindbridge deploys to, and a secondary named on 127.0.0.2 whose
//! configuration names no zone, only the catalog zone and the primary.

use std::process::Command;

use serde_json::{Value, json};

use crate::api::{Client, a_record, create_record, create_zone, zone_path};
use crate::deploy::{Stack, dig_answer, serial_at};
use bindbridge::config::Secondary;

impl Stack {
    /// The secondary's DNS address.
    fn secondary_dns(&self) -> std::net::SocketAddr {
        self.secondary
            .as_ref()
            .expect("a stack with a secondary")
            .layout()
            .dns
    }

    /// Waits until the secondary serves `zone` at the serial the primary
    /// serves; that serial.
    fn wait_secondary_in_step(&self, zone: &str) -> u32 {
        self.wait_for(
            &format!("the secondary serves {zone} as the primary"),
            || {
                let primary = self.serial(zone);
                let secondary = serial_at(self.secondary_dns(), zone);
                (
                    primary.is_some() && primary == secondary,
                    (primary, secondary),
                )
            },
        )
        .0
        .expect("a serial")
    }

    /// Waits until the zone detail shows the secondary in sync at `serial`;
    /// its entry.
    fn wait_detail_in_sync(&self, api: &Client, zone: &str, serial: u32) -> Value {
        self.wait_for("the detail shows the secondary in sync", || {
            let detail = api.get(&zone_path(zone)).body;
            let entry = detail["deploy"]["secondaries"][0].clone();
            let done = entry["in_sync"] == Value::Bool(true)
                && entry["serial"].as_u64() == Some(u64::from(serial))
                && detail["deploy"]["serial"].as_u64() == Some(u64::from(serial));
            (done, entry)
        })
    }
}

/// The `/metrics` line that starts with `prefix`.
fn metric(api: &Client, prefix: &str) -> Option<String> {
    let text = api.get("/metrics").text;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_string)
}

#[test]
fn the_secondary_follows_creation_changes_and_deletion_through_the_catalog_zone() {
    let stack = Stack::with_secondary(|_| {});
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let secondary = stack.secondary_dns();

    // The catalog's name is not a zone's to take.
    let reserved = api.post(
        "/api/v1/dns-zones/",
        &json!({"domain": "Catalog.Bindbridge.Invalid"}),
    );
    assert_eq!(reserved.status, 400, "{}", reserved.text);
    assert!(reserved.text.contains("catalog zone"), "{}", reserved.text);

    // Created through the API: the secondary serves it, though its
    // configuration never names it.
    let zone = create_zone(&api, "follow.example");
    let first = stack.wait_secondary_in_step("follow.example.");
    let conf = std::fs::read_to_string(stack.secondary.as_ref().unwrap().layout().named_conf())
        .expect("the secondary's named.conf");
    assert!(conf.contains("catalog-zones"), "{conf}");
    assert!(!conf.contains("follow.example"), "{conf}");

    // The catalog (RFC 9432 version 2): its version, and the zone as a
    // member whose label is the zone's uuid.
    let primary = stack.named.layout().dns;
    assert_eq!(
        dig_answer(primary, "version.catalog.bindbridge.invalid.", "TXT"),
        Ok(vec!["\"2\"".to_string()])
    );
    let label: String = zone.chars().filter(|c| *c != '-').collect();
    assert_eq!(
        dig_answer(
            primary,
            &format!("{label}.zones.catalog.bindbridge.invalid."),
            "PTR"
        ),
        Ok(vec!["follow.example.".to_string()])
    );

    // A change: the secondary serves the new serial and the record.
    create_record(&api, &zone, &a_record("www", "192.0.2.20"));
    let second = stack.wait_for("the record on the secondary", || {
        let answer = dig_answer(secondary, "www.follow.example.", "A");
        (answer == Ok(vec!["192.0.2.20".to_string()]), answer)
    });
    assert!(second.is_ok());
    let changed = stack.wait_secondary_in_step("follow.example.");
    assert!(changed > first, "{changed} after {first}");

    // The detail and /metrics say so, per secondary.
    let entry = stack.wait_detail_in_sync(&api, &zone, changed);
    assert_eq!(entry["address"], Value::String(secondary.to_string()));
    assert_eq!(entry["error"], Value::Null);
    let in_sync =
        format!("bindbridge_secondary_zones{{secondary=\"{secondary}\",state=\"in_sync\"}}");
    assert_eq!(metric(&api, &in_sync), Some(format!("{in_sync} 1")));
    let lag = format!("bindbridge_secondary_lag_seconds{{secondary=\"{secondary}\"}}");
    assert_eq!(metric(&api, &lag), Some(format!("{lag} 0")));

    // Deleted: dropped from the catalog, and the secondary drops it.
    assert_eq!(api.delete(&zone_path(&zone)).status, 204);
    let _ = stack.wait_for("the secondary drops the zone", || {
        let answer = dig_answer(secondary, "follow.example.", "SOA");
        (answer == Err("REFUSED".to_string()), answer)
    });
    assert_eq!(
        dig_answer(
            primary,
            &format!("{label}.zones.catalog.bindbridge.invalid."),
            "PTR"
        ),
        Err("NXDOMAIN".to_string())
    );
}

#[test]
fn a_stopped_secondary_is_reported_and_catches_up_when_it_is_back() {
    let mut stack = Stack::with_secondary(|d| d.secondary_lag_warning = 1);
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "catchup.example");
    let first = stack.wait_secondary_in_step("catchup.example.");
    stack.wait_detail_in_sync(&api, &zone, first);

    let layout = stack.secondary.as_ref().unwrap().layout().clone();
    stack.secondary.as_mut().unwrap().stop();
    for i in 0..10 {
        create_record(
            &api,
            &zone,
            &a_record(&format!("h{i}"), &format!("192.0.2.{}", 100 + i)),
        );
    }
    // And a zone created meanwhile: in a catalog it has not seen.
    create_zone(&api, "meanwhile.example");
    stack.wait_served("meanwhile.example.");
    let _ = stack.wait_for("the primary serves the tenth change", || {
        let answer = stack.dig("h9.catchup.example.", "A");
        (answer == Ok(vec!["192.0.2.109".to_string()]), answer)
    });
    let latest = stack.wait_deploy(&api, &zone, "deployed");
    let latest = latest["deploy"]["serial"]
        .as_u64()
        .expect("a deployed serial");
    assert!(latest > u64::from(first));

    // The lag is reported, not a failed deploy.
    let entry = stack.wait_for("the detail reports the stopped secondary", || {
        let detail = api.get(&zone_path(&zone)).body;
        let entry = detail["deploy"]["secondaries"][0].clone();
        let state = detail["deploy"]["state"].clone();
        (entry["error"].is_string() && state == "deployed", entry)
    });
    assert_eq!(entry["in_sync"], Value::Bool(false), "{entry}");
    stack
        .server
        .wait_for_log(std::time::Duration::from_secs(20), |line| {
            line.contains("WARN") && line.contains("has not served the deployed serial")
        });
    let unreachable = format!(
        "bindbridge_secondary_zones{{secondary=\"{}\",state=\"unreachable\"}}",
        layout.dns
    );
    let _ = stack.wait_for("both zones unreachable in /metrics", || {
        let line = metric(&api, &unreachable);
        (line == Some(format!("{unreachable} 2")), line)
    });

    // Back: it catches up with all ten changes, and learns of the zone
    // created meanwhile.
    let restarted = layout
        .start()
        .unwrap_or_else(|e| panic!("the secondary starts again: {e}"));
    stack.secondary = Some(restarted);
    let caught_up = stack.wait_secondary_in_step("catchup.example.");
    assert_eq!(u64::from(caught_up), latest);
    for i in 0..10 {
        assert_eq!(
            dig_answer(layout.dns, &format!("h{i}.catchup.example."), "A"),
            Ok(vec![format!("192.0.2.{}", 100 + i)])
        );
    }
    let entry = stack.wait_detail_in_sync(&api, &zone, caught_up);
    assert_eq!(entry["error"], Value::Null);
    stack.wait_secondary_in_step("meanwhile.example.");
}

#[test]
fn zone_statements_follow_the_configured_secondaries_after_a_restart() {
    let mut stack = Stack::start_with(|_| {});
    let include = stack.named.layout().deploy_config().include_file;
    stack.wait_served("catalog.bindbridge.invalid.");
    let before = std::fs::read_to_string(&include).expect("the include file");
    assert!(!before.contains("also-notify"), "{before}");

    // Nothing to deploy after the restart, but a secondary more: a port
    // of 127.0.0.3 that nothing answers on.
    let mut deploy = stack.named.layout().deploy_config();
    deploy.secondaries.push(Secondary {
        address: "127.0.0.3".parse().unwrap(),
        port: 5399,
        key: None,
    });
    stack.server = Stack::server_for(&deploy);
    let after = stack.wait_for("the include file names the secondary", || {
        let text = std::fs::read_to_string(&include).unwrap_or_default();
        (
            text.contains("also-notify { 127.0.0.3 port 5399; }; allow-transfer { 127.0.0.3; };"),
            text,
        )
    });
    assert!(
        after.contains("zone \"catalog.bindbridge.invalid.\""),
        "{after}"
    );
    // named took it: it still serves the catalog, after the reconfig.
    stack
        .server
        .wait_for_log(std::time::Duration::from_secs(20), |line| {
            line.contains("zone statements changed with the configuration")
        });
    assert!(stack.serial("catalog.bindbridge.invalid.").is_some());
}

#[test]
fn secondary_config_prints_what_a_secondary_needs_and_refuses_unknown_keys() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let keys = dir.path().join("transfer.key");
    std::fs::write(
        &keys,
        "key \"xfr\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0\";\n};\n",
    )
    .unwrap();
    let config = dir.path().join("config.toml");
    let write = |key: &str| {
        std::fs::write(
            &config,
            format!(
                "[deploy]\nprimary_address = \"192.0.2.1:53\"\nkey_file = \"{}\"\n\
                 [[deploy.secondaries]]\naddress = \"192.0.2.2\"\nkey = \"{key}\"\n",
                keys.display()
            ),
        )
        .unwrap()
    };
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bindbridge"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("bindbridge runs")
    };
    write("xfr");
    let out = run(&["secondary-config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for part in [
        "catalog-zones {",
        "zone \"catalog.bindbridge.invalid.\" default-primaries { 192.0.2.1 port 53 key \"xfr\"; }",
        "secret \"c2VjcmV0c2VjcmV0\";",
        "type secondary;",
    ] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    // What it prints is valid for named (inside options, and at the top).
    let (options, statements) = text
        .split_once("# 2. At the top level of named.conf:")
        .expect("two parts");
    let options = options
        .split_once("# 1. Inside the options { } block of named.conf:")
        .expect("the options part")
        .1;
    let conf = dir.path().join("secondary.conf");
    std::fs::write(
        &conf,
        format!(
            "options {{\n\tdirectory \"{}\";\n{options}}};\n{statements}",
            dir.path().display()
        ),
    )
    .unwrap();
    let check = Command::new("named-checkconf")
        .arg(&conf)
        .output()
        .expect("named-checkconf runs (Debian: apt-get install bind9-utils)");
    assert!(
        check.status.success(),
        "named-checkconf: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // A key that the key file does not define is a configuration error.
    write("nokey");
    let out = run(&["secondary-config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no key \"nokey\""), "{err}");
    let out = run(&["serve", "--check-config"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_restart_without_the_include_file_keeps_every_zone_served_and_listed() {
    // No reconcile before the restart: the daemon that starts finds the
    // include file gone.
    let mut stack = Stack::with_secondary(|d| d.reconcile_interval = 3600);
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let secondary = stack.secondary_dns();
    let zones = ["lost-one.example", "lost-two.example"];
    let mut uuids = Vec::new();
    for domain in zones {
        let zone = create_zone(&api, domain);
        create_record(&api, &zone, &a_record("www", "192.0.2.30"));
        uuids.push(zone);
    }
    for domain in zones {
        let _ = stack.wait_for(&format!("www.{domain} on the secondary"), || {
            let answer = dig_answer(secondary, &format!("www.{domain}."), "A");
            (answer == Ok(vec!["192.0.2.30".to_string()]), answer)
        });
    }
    let catalog = "catalog.bindbridge.invalid.";
    let catalog_serial = stack.wait_secondary_in_step(catalog);

    // The include file is lost (and a killed deploy left files behind);
    // bindbridge starts again.
    let config = stack.named.layout().deploy_config();
    std::fs::remove_file(&config.include_file).expect("remove the include file");
    let leftovers = [
        config.zone_dir.join(".bindbridge-AbC123.tmp"),
        config.zone_dir.join("lost-one.example.zone.last-good"),
    ];
    for file in &leftovers {
        std::fs::write(file, "left by a killed deploy\n").expect("a leftover");
    }
    stack.server.kill_and_restart();
    let api = stack.server.client(&token);
    let _ = stack.wait_for("the include file lists every zone again", || {
        let text = std::fs::read_to_string(&config.include_file).unwrap_or_default();
        let done = zones.iter().all(|z| text.contains(&format!("\"{z}.\"")))
            && text.contains(&format!("\"{catalog}\""));
        (done, text)
    });
    for file in &leftovers {
        assert!(!file.exists(), "{} removed at start", file.display());
    }
    // named reads it again: every zone is still served, by the primary
    // and by the secondary, and listed in the catalog, which never shrank.
    stack.named.rndc(&["reconfig"]).expect("rndc reconfig");
    for (domain, uuid) in zones.iter().zip(&uuids) {
        for dns in [stack.named.layout().dns, secondary] {
            assert_eq!(
                dig_answer(dns, &format!("www.{domain}."), "A"),
                Ok(vec!["192.0.2.30".to_string()]),
                "{domain} served at {dns}"
            );
        }
        let label: String = uuid.chars().filter(|c| *c != '-').collect();
        assert_eq!(
            dig_answer(
                stack.named.layout().dns,
                &format!("{label}.zones.{catalog}"),
                "PTR"
            ),
            Ok(vec![format!("{domain}.")])
        );
        let detail = stack.wait_deploy(&api, uuid, "deployed");
        assert!(detail["deploy"]["error"].is_null(), "{detail}");
    }
    assert_eq!(serial_at(secondary, catalog), Some(catalog_serial));
    assert_eq!(stack.serial(catalog), Some(catalog_serial));
}
