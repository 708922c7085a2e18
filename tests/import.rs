//! The store and the migration path: `import` (files and named.conf),
//! `export`, `zone list|show`, through the real binary, a real SQLite file
//! and the real named-compilezone.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{bindbridge, compile_fixture, compilezone_records, fixture_dir, fixtures};

fn run(args: &[&str], dir: &Path) -> Output {
    bindbridge()
        .args(args)
        .current_dir(dir)
        .env_remove("BINDBRIDGE_DB")
        .output()
        .expect("bindbridge runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `bindbridge --db DB import ARGS... --format json`.
fn import_json(db: &str, args: &[&str], dir: &Path) -> Output {
    let mut all = vec!["--db", db, "import"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    run(&all, dir)
}

/// The JSON reports `import --format json` printed, one per zone.
fn reports(o: &Output) -> Vec<Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn report_for<'a>(reports: &'a [Value], zone: &str) -> &'a Value {
    reports
        .iter()
        .find(|r| r["zone"] == zone)
        .unwrap_or_else(|| panic!("no report for {zone} in {reports:#?}"))
}

/// The domains `zone list --format json` shows.
fn stored_zones(db: &Path) -> Vec<String> {
    let o = run(
        &[
            "--db",
            db.to_str().unwrap(),
            "zone",
            "list",
            "--format",
            "json",
        ],
        Path::new("."),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON");
            v["domain"].as_str().expect("domain").to_string()
        })
        .collect()
}

/// Every valid fixture of the foundation: import (with the proof), export,
/// and check that named-compilezone sees the same records in the export as
/// in the original, and that the export is byte for byte `compile`'s output.
#[test]
fn every_valid_fixture_round_trips_through_the_store() {
    let dir = fixture_dir("compile");
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let cases = fixtures("compile");
    assert!(cases.len() >= 60, "only {} fixtures", cases.len());
    for case in &cases {
        let db = scratch.path().join(format!("{case}.db"));
        let db = db.to_str().unwrap();
        let o = import_json(db, &["--verify", case], &dir);
        let reports = reports(&o);
        if o.status.code() != Some(0) || reports.len() != 1 {
            failures.push(format!(
                "{case}: import exited {:?}\n{}{}",
                o.status.code(),
                text(&o.stdout),
                text(&o.stderr)
            ));
            continue;
        }
        let report = &reports[0];
        if report["outcome"] != "created" || report["proof"]["result"] != "same" {
            failures.push(format!("{case}: {report:#}"));
            continue;
        }
        let zone = report["zone"].as_str().unwrap().to_string();
        let exported = scratch.path().join(format!("{case}.out"));
        let o = run(
            &[
                "--db",
                db,
                "export",
                &zone,
                "-o",
                exported.to_str().unwrap(),
            ],
            &dir,
        );
        if o.status.code() != Some(0) {
            failures.push(format!("{case}: export failed: {}", text(&o.stderr)));
            continue;
        }
        let ours = std::fs::read(&exported).unwrap();
        let compiled = compile_fixture("compile", case).render_to_vec().unwrap();
        if ours != compiled {
            failures.push(format!(
                "{case}: export differs from compile\n--- compile\n{}\n--- export\n{}",
                text(&compiled),
                text(&ours)
            ));
            continue;
        }
        let origin = format!("{zone}.").replace("..", ".");
        let original = compilezone_records(&origin, case, &dir);
        let stored = compilezone_records(&origin, exported.to_str().unwrap(), &dir);
        match (original, stored) {
            (Ok(a), Ok(b)) if a == b && !a.is_empty() => {}
            (a, b) => failures.push(format!("{case}: record sets differ:\n{a:#?}\n{b:#?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const ZONE_NET: &str = "$TTL 300\n@ SOA ns1.example.net. hostmaster 2023120501 1h 15m 1w 5m\n\
    @ NS ns1\n@ NS ns2.example.com.\nns1 A 192.0.2.53\n$INCLUDE inc/hosts.inc\n";

const HOSTS_INC: &str = "www A 192.0.2.80\nmail A 192.0.2.25\n@ MX 10 mail\n";

const ZONE_BROKEN: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 1h 15m 1w 5m\n@ NS ns1\n\
    ns1 A 192.0.2.1\nbad A 192.0.2.300\nalso MX x y\n";

/// A tree laid out like /etc/bind on an old server.
fn bind_tree(root: &Path) -> PathBuf {
    let etc = root.join("etc/bind");
    let zones = etc.join("zones");
    std::fs::create_dir_all(zones.join("inc")).unwrap();
    let local = etc.join("named.conf.local");
    std::fs::write(
        etc.join("named.conf"),
        format!(
            "// main file\ninclude \"named.conf.options\";\ninclude \"{}\";\n\
             zone \".\" {{ type hint; file \"/usr/share/dns/root.hints\"; }};\n",
            local.display()
        ),
    )
    .unwrap();
    std::fs::write(
        etc.join("named.conf.options"),
        "options {\n  directory \"zones\"; # relative to this directory\n  recursion no;\n};\n\
         controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { \"rndc-key\"; }; };\n",
    )
    .unwrap();
    std::fs::write(
        &local,
        "zone \"example.com\" { type master; file \"db.example.com\"; };\n\
         /* a comment */\n\
         zone \"example.net\" IN { type primary; file \"db.example.net\"; allow-transfer { none; }; update-policy local; };\n\
         zone \"secondary.example\" { type slave; masters { 192.0.2.1; }; file \"db.secondary\"; };\n\
         zone \"broken.example\" { type master; file \"db.broken\"; };\n",
    )
    .unwrap();
    std::fs::copy(
        fixture_dir("compile").join("shape-hosting.zone"),
        zones.join("db.example.com"),
    )
    .unwrap();
    std::fs::write(zones.join("db.example.net"), ZONE_NET).unwrap();
    std::fs::write(zones.join("inc/hosts.inc"), HOSTS_INC).unwrap();
    std::fs::write(zones.join("db.broken"), ZONE_BROKEN).unwrap();
    etc.join("named.conf")
}

#[test]
fn named_conf_imports_primary_zones_and_reports_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = bind_tree(tmp.path());
    let db = tmp.path().join("store.db");
    let db = db.to_str().unwrap();
    let o = run(
        &[
            "--db",
            db,
            "import",
            "--named-conf",
            conf.to_str().unwrap(),
            "--verify",
            "--format",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "one zone is broken: {}",
        text(&o.stderr)
    );
    let reports = reports(&o);
    assert_eq!(reports.len(), 5, "{reports:#?}");
    let com = report_for(&reports, "example.com");
    assert_eq!(com["outcome"], "created");
    assert_eq!(com["records"], 21);
    assert_eq!(com["nameservers"], 2);
    assert_eq!(com["serial"], 2024031501u32);
    assert_eq!(com["proof"]["result"], "same");
    let net = report_for(&reports, "example.net");
    assert_eq!(net["outcome"], "created");
    assert_eq!(net["records"], 4, "ns1, www, mail, MX: {net:#}");
    assert_eq!(net["serial"], 2023120501u32);
    assert_eq!(net["normalised"][0], "1 $INCLUDE file inlined");
    assert!(
        net["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("the zone takes dynamic updates on the old server"),
        "{net:#}"
    );
    assert_eq!(com["warnings"].as_array().unwrap().len(), 0, "{com:#}");
    assert_eq!(net["proof"]["result"], "same");
    let secondary = report_for(&reports, "secondary.example");
    assert_eq!(secondary["outcome"], "skipped");
    assert_eq!(
        secondary["reason"],
        "type slave: only primary zones are imported"
    );
    assert_eq!(report_for(&reports, ".")["outcome"], "skipped");
    let broken = report_for(&reports, "broken.example");
    assert_eq!(broken["outcome"], "failed");
    let errors: Vec<&str> = broken["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("db.broken:5:7: error: expected an IPv4 address"),
        "{errors:?}"
    );
    assert!(errors[1].contains("db.broken:6:"), "{errors:?}");
    assert!(
        broken["declared_at"]
            .as_str()
            .unwrap()
            .ends_with("named.conf.local:5"),
        "{broken:#}"
    );
    // Exactly the two good zones are stored; the broken one left no trace.
    assert_eq!(stored_zones(Path::new(db)), ["example.com", "example.net"]);
    let o = run(&["--db", db, "zone", "show", "broken.example"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no zone 'broken.example'"));
    assert_eq!(
        change_log_domains(Path::new(db)),
        ["example.com", "example.net"]
    );
}

#[test]
fn named_conf_text_report_says_what_happened_to_each_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = bind_tree(tmp.path());
    let db = tmp.path().join("store.db");
    let o = run(
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            "--named-conf",
            conf.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("example.com: imported: 21 records + SOA + 2 NS, serial 2024031501\n"),
        "{out}"
    );
    assert!(
        out.contains("secondary.example: skipped: type slave: only primary zones are imported\n"),
        "{out}"
    );
    assert!(
        out.contains("broken.example: FAILED: 2 errors in the zone file; nothing imported\n"),
        "{out}"
    );
    assert!(
        out.ends_with("5 zones: 2 imported, 0 replaced, 0 unchanged, 2 skipped, 1 failed\n"),
        "{out}"
    );
}

/// The domains in the change log, read straight from the SQLite file.
fn change_log_domains(db: &Path) -> Vec<String> {
    query_strings(db, "SELECT domain FROM change_log ORDER BY id")
}

fn query_strings(db: &Path, sql: &str) -> Vec<String> {
    let rows: Vec<(String,)> = crate::support::with_db(db, "?mode=ro", async |pool| {
        sqlx::query_as(sql).fetch_all(pool).await.expect(sql)
    });
    rows.into_iter().map(|r| r.0).collect()
}

fn write_zone(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

const SMALL: &str = "$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 hostmaster 2024010101 1h 15m 1w 5m\n\
    @ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\nold TXT \"going\"\nttl 300 TXT \"stays\"\n";

#[test]
fn existing_zone_is_refused_without_replace_and_replaced_in_place_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(dir, "example.org.zone", SMALL);
    let o = run(&["--db", "s.db", "import", &file], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let uuids_before = query_strings(
        &dir.join("s.db"),
        "SELECT hex(uuid) FROM records WHERE name IN ('ns1', 'www') ORDER BY name",
    );
    assert_eq!(uuids_before.len(), 2);

    // Again, without --replace: refused, exit 1, nothing changed.
    let o = import_json("s.db", &[&file], dir);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(reports(&o)[0]["outcome"], "exists");
    let o = run(&["--db", "s.db", "import", &file], dir);
    assert!(
        text(&o.stdout)
            .contains("NOT imported: the zone exists already (use --replace to replace it)"),
        "{}",
        text(&o.stdout)
    );

    // Same content with --replace: unchanged, the version stays.
    let o = import_json("s.db", &["--replace", &file], dir);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(reports(&o)[0]["outcome"], "unchanged");

    // New content: one record added, one removed, one TTL changed, new serial.
    let edited = SMALL
        .replace("2024010101", "2024010102")
        .replace("old TXT \"going\"\n", "new TXT \"came\"\n")
        .replace("ttl 300 TXT", "ttl 600 TXT");
    write_zone(dir, "example.org.zone", &edited);
    let o = import_json("s.db", &["--replace", "--verify", &file], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let report = &reports(&o)[0];
    assert_eq!(report["outcome"], "replaced");
    assert_eq!(report["changes"]["added"], 1);
    assert_eq!(report["changes"]["removed"], 1);
    assert_eq!(report["changes"]["updated"], 1);
    assert_eq!(report["serial"], 2024010102u32);
    assert_eq!(report["proof"]["result"], "same");
    // Records that stayed keep their uuid.
    let uuids_after = query_strings(
        &dir.join("s.db"),
        "SELECT hex(uuid) FROM records WHERE name IN ('ns1', 'www') ORDER BY name",
    );
    assert_eq!(uuids_before, uuids_after);
    let o = run(
        &[
            "--db",
            "s.db",
            "zone",
            "show",
            "example.org",
            "--format",
            "json",
        ],
        dir,
    );
    let shown: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["soa"]["serial"], 2024010102u32);
    assert_eq!(shown["record_count"], 4);
    let o = run(&["--db", "s.db", "export", "example.org."], dir);
    let exported = text(&o.stdout);
    assert!(
        exported.contains("\nnew 300   IN TXT   \"came\"\n"),
        "{exported}"
    );
    assert!(
        exported.contains("\nttl 600   IN TXT   \"stays\"\n"),
        "{exported}"
    );
    assert!(!exported.contains("going"), "{exported}");
}

#[test]
fn a_failing_zone_leaves_no_trace_and_dry_run_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = write_zone(dir, "example.org.zone", SMALL);
    let bad = write_zone(dir, "broken.example.zone", ZONE_BROKEN);
    // A dry run against a database that does not exist does not create it.
    let o = import_json("s.db", &["--dry-run", &good, &bad], dir);
    assert_eq!(o.status.code(), Some(1));
    let r = reports(&o);
    assert_eq!(report_for(&r, "example.org")["outcome"], "would_create");
    assert_eq!(report_for(&r, "broken.example")["outcome"], "failed");
    assert!(!dir.join("s.db").exists());

    let o = run(&["--db", "s.db", "import", &good, &bad], dir);
    assert_eq!(o.status.code(), Some(1), "the broken zone fails the import");
    assert_eq!(stored_zones(&dir.join("s.db")), ["example.org"]);
    assert_eq!(change_log_domains(&dir.join("s.db")), ["example.org"]);

    // A dry run against a database that exists reads it and changes nothing.
    let o = import_json("s.db", &["--dry-run", "--replace", &good], dir);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(reports(&o)[0]["outcome"], "would_replace");
    assert_eq!(change_log_domains(&dir.join("s.db")), ["example.org"]);
}

#[test]
fn verify_without_named_compilezone_says_so_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_zone(tmp.path(), "example.org.zone", SMALL);
    let o = bindbridge()
        .args(["--db", "s.db", "import", "--verify", &file])
        .current_dir(tmp.path())
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--verify needs named-compilezone, which is not installed"),
        "{}",
        text(&o.stderr)
    );
    assert!(!tmp.path().join("s.db").exists());
}

#[test]
fn unknown_owner_is_refused_and_named_owner_owns_the_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(dir, "example.org.zone", SMALL);
    let o = run(&["--db", "s.db", "import", "--owner", "alice", &file], dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no user named 'alice' (add one with: bindbridge user add NAME)"),
        "{}",
        text(&o.stderr)
    );
    assert!(stored_zones(&dir.join("s.db")).is_empty());
    let o = run(&["--db", "s.db", "user", "add", "alice"], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&["--db", "s.db", "import", "--owner", "alice", &file], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = run(&["--db", "s.db", "zone", "list"], dir);
    let list = text(&o.stdout);
    assert!(
        list.starts_with("DOMAIN       SERIAL      RECORDS  OWNER  DEPLOY"),
        "{list}"
    );
    assert!(
        list.contains(
            "\nexample.org  2024010101  4        alice  pending (version 1, deployed 0)  "
        ),
        "{list}"
    );
}

/// A zone of `n` records (plus SOA and NS) whose TXT values all carry `tag`.
fn big_zone(origin: &str, n: usize, tag: &str, serial: u32) -> String {
    let mut z = format!(
        "$ORIGIN {origin}.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 1h 15m 1w 5m\n@ NS ns1\nns1 A 192.0.2.1\n"
    );
    for i in 0..n {
        z.push_str(&format!("h{i} TXT \"{tag} {i}\"\n"));
    }
    z
}

/// While a large zone is replaced by another process, a reader (one read
/// transaction per load) sees the old zone or the new one, never a mix.
#[test]
fn replace_is_atomic_for_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let n = 60_000;
    write_zone(&dir, "old.zone", &big_zone("big.example", n, "old", 1));
    write_zone(&dir, "new.zone", &big_zone("big.example", n, "new", 2));
    let o = run(&["--db", "s.db", "import", "old.zone"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let mut child = bindbridge()
        .args(["--db", "s.db", "import", "--replace", "new.zone"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut saw_old, mut saw_new) = (0, 0);
    runtime.block_on(async {
        let store = bindbridge::store::Store::open(&dir.join("s.db"))
            .await
            .unwrap();
        loop {
            let finished = child.try_wait().unwrap().is_some();
            let (info, zone) = store.load_zone("big.example").await.unwrap();
            let text = String::from_utf8(
                bindbridge::render::render_to_vec(&zone, &bindbridge::render::Template::builtin())
                    .unwrap(),
            )
            .unwrap();
            let old = text.matches("\"old ").count();
            let new = text.matches("\"new ").count();
            match (info.fields.soa.serial, old, new) {
                (1, o, 0) if o == n => saw_old += 1,
                (2, 0, m) if m == n => saw_new += 1,
                other => panic!("a reader saw a half-replaced zone: serial, old, new = {other:?}"),
            }
            if finished {
                break;
            }
        }
        store.close().await;
    });
    assert!(child.wait().unwrap().success());
    assert!(saw_old >= 1 && saw_new >= 1, "old {saw_old}, new {saw_new}");
    // The export of the replaced zone is the canonical form of the new file.
    let o = run(&["--db", "s.db", "export", "big.example"], &dir);
    let compiled = run(&["compile", "new.zone"], &dir);
    assert!(o.stdout == compiled.stdout, "export differs from compile");
}

/// Two processes importing into one database at once both succeed: writers
/// queue for the lock instead of failing with "database is locked".
#[test]
fn concurrent_writers_wait_for_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    write_zone(&dir, "a.zone", &big_zone("a.example", 40_000, "a", 1));
    write_zone(&dir, "b.zone", &big_zone("b.example", 40_000, "b", 1));
    // The schema exists before the race, as it would in production.
    assert_eq!(
        run(&["--db", "s.db", "user", "add", "racer"], &dir)
            .status
            .code(),
        Some(0)
    );
    let spawn = |args: &[&str]| {
        bindbridge()
            .args(args)
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = vec![
        spawn(&["--db", "s.db", "import", "a.zone"]),
        spawn(&["--db", "s.db", "import", "b.zone"]),
        spawn(&["--db", "s.db", "user", "add", "carol"]),
    ];
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(!text(&o.stderr).contains("locked"), "{}", text(&o.stderr));
    }
    assert_eq!(stored_zones(&dir.join("s.db")), ["a.example", "b.example"]);
    let o = run(&["--db", "s.db", "zone", "show", "b.example"], &dir);
    assert!(
        text(&o.stdout).contains("\nrecords:       40001\n"),
        "{}",
        text(&o.stdout)
    );
}

/// A journal newer than its zone file holds updates the file lacks: the
/// report says so (the zone is still imported from the file).
#[test]
fn a_newer_journal_is_pointed_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(dir, "example.org.zone", SMALL);
    let journal = std::fs::File::create(dir.join("example.org.zone.jnl")).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    journal.set_modified(later).unwrap();
    let o = import_json("s.db", &[&file], dir);
    assert_eq!(o.status.code(), Some(0));
    let report = &reports(&o)[0];
    let warning = report["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("example.org.zone.jnl is newer than the zone file"),
        "{report:#}"
    );
    assert!(warning.contains("rndc sync"), "{warning}");
}

/// `--root` reads a copy of another server's tree: the configuration's
/// absolute paths (includes, `directory`, zone files) are looked up under it.
#[test]
fn named_conf_under_root_reads_a_copied_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("oldbox");
    let etc = root.join("etc/bind");
    let cache = root.join("var/cache/bind");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        etc.join("named.conf"),
        "include \"/etc/bind/named.conf.options\";\n\
         zone \"example.org\" { type master; file \"/var/cache/bind/db.example.org\"; };\n\
         zone \"rel.example\" { type master; file \"db.rel\"; };\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("named.conf.options"),
        "options { directory \"/var/cache/bind\"; };\n",
    )
    .unwrap();
    std::fs::write(cache.join("db.example.org"), SMALL).unwrap();
    std::fs::write(
        cache.join("db.rel"),
        SMALL.replace("$ORIGIN example.org.\n", "$ORIGIN rel.example.\n"),
    )
    .unwrap();
    let conf = etc.join("named.conf");
    let o = run(
        &[
            "--db",
            "s.db",
            "import",
            "--named-conf",
            conf.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--verify",
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert_eq!(
        stored_zones(&tmp.path().join("s.db")),
        ["example.org", "rel.example"]
    );
}

/// Zones that once tripped the proof: an apex spelled in another case than
/// the origin given, and an NS target that looks like an address (which
/// named-compilezone, unlike named, refuses unless told to ignore it).
#[test]
fn the_proof_holds_for_apex_case_and_address_like_ns_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upper = write_zone(
        dir,
        "upper.zone",
        "$TTL 3600\nEXAMPLE.COM. IN SOA ns.example.com. h.example.com. 1 3600 600 86400 3600\n\
         EXAMPLE.COM. IN NS ns.example.com.\nEXAMPLE.COM. IN MX 10 ns.example.com.\n\
         ns.example.com. IN A 192.0.2.1\n",
    );
    let address = write_zone(
        dir,
        "address.zone",
        "$TTL 3600\n@ IN SOA ns h 1 3600 600 86400 3600\n@ IN NS 127.0.0.1\n127.0.0.1 IN A 127.0.0.1\n",
    );
    for (file, origin) in [(&upper, "example.com"), (&address, "example.net")] {
        let o = import_json("s.db", &["--origin", origin, "--verify", file], dir);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
        assert_eq!(
            reports(&o)[0]["proof"]["result"],
            "same",
            "{}",
            text(&o.stdout)
        );
    }
    // The apex keeps the file's spelling: the zone is EXAMPLE.COM, its MX at @.
    let o = run(&["--db", "s.db", "export", "example.com"], dir);
    let exported = text(&o.stdout);
    assert!(exported.contains("$ORIGIN EXAMPLE.COM.\n"), "{exported}");
    assert!(
        exported.contains("\n@               3600  IN MX    10 ns.example.com.\n"),
        "{exported}"
    );
}

#[test]
fn a_dry_run_leaves_an_existing_database_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(dir, "example.org.zone", SMALL);
    let o = run(&["--db", "s.db", "import", &file], dir);
    assert_eq!(o.status.code(), Some(0));
    let listing = |dir: &Path| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            // The -shm file is SQLite's shared-memory index, which readers
            // update, and a reader may create an empty -wal: neither holds data.
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let empty = e.metadata().is_ok_and(|m| m.len() == 0);
                name.starts_with("s.db") && !name.ends_with("-shm") && !empty
            })
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let before = listing(dir);
    let edited = SMALL.replace("www A 192.0.2.2", "www A 192.0.2.3");
    write_zone(dir, "example.org.zone", &edited);
    let o = run(
        &[
            "--db",
            "s.db",
            "import",
            "--dry-run",
            "--replace",
            "--verify",
            &file,
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).ends_with(
            "dry run, nothing written: 1 zone: 0 to import, 1 to replace, 0 skipped, 0 failed\n"
        ),
        "{}",
        text(&o.stdout)
    );
    let after = listing(dir);
    let shown = |files: &[(String, Vec<u8>)]| -> Vec<(String, usize)> {
        files.iter().map(|(n, b)| (n.clone(), b.len())).collect()
    };
    assert!(
        before == after,
        "the dry run changed the database files: {:?} -> {:?}",
        shown(&before),
        shown(&after)
    );
}

#[test]
fn replace_keeps_the_owner_and_refuses_to_move_the_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(dir, "example.org.zone", SMALL);
    for user in ["alice", "bob"] {
        assert_eq!(
            run(&["--db", "s.db", "user", "add", user], dir)
                .status
                .code(),
            Some(0)
        );
    }
    assert_eq!(
        run(&["--db", "s.db", "import", "--owner", "alice", &file], dir)
            .status
            .code(),
        Some(0)
    );
    let edited = SMALL.replace("2024010101", "2024010102");
    write_zone(dir, "example.org.zone", &edited);
    let o = run(
        &[
            "--db",
            "s.db",
            "import",
            "--replace",
            "--owner",
            "bob",
            &file,
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("zone example.org belongs to user 'alice', not 'bob'"),
        "{}",
        text(&o.stdout)
    );
    // Without --owner, the replace goes through and alice keeps the zone;
    // only the serial changed, and that is a change: version 2.
    let o = import_json("s.db", &["--replace", &file], dir);
    assert_eq!(o.status.code(), Some(0));
    let report = &reports(&o)[0];
    assert_eq!(report["outcome"], "replaced");
    assert_eq!(report["changes"]["added"], 0);
    let o = run(
        &[
            "--db",
            "s.db",
            "zone",
            "show",
            "example.org",
            "--format",
            "json",
        ],
        dir,
    );
    let shown: Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!(shown["owner"], "alice");
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["soa"]["serial"], 2024010102u32);
}

/// The root zone, and owners with escapes, through import and export.
#[test]
fn the_root_zone_and_escaped_names_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = write_zone(
        dir,
        "root.zone",
        "$TTL 86400\n. SOA a.root-servers.net. nstld.verisign-grs.com. 2024010100 1800 900 604800 86400\n\
         . NS a.root-servers.net.\na.root-servers.net. A 198.41.0.4\ncom. NS a.gtld-servers.net.\n\
         a\\.b\\032c. TXT \"dot and space\"\n",
    );
    let o = import_json("s.db", &["--origin", ".", "--verify", &root], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let report = &reports(&o)[0];
    assert_eq!(report["zone"], ".");
    assert_eq!(report["proof"]["result"], "same", "{report:#}");
    let o = run(&["--db", "s.db", "export", "."], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let compiled = run(&["compile", "--origin", ".", &root], dir);
    assert_eq!(text(&o.stdout), text(&compiled.stdout));
    assert!(
        text(&o.stdout).contains("a\\.b\\032c"),
        "{}",
        text(&o.stdout)
    );
}

/// Processes that open a new database at the same moment do not trip
/// over each other's migrations.
#[test]
fn simultaneous_first_opens_migrate_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let children: Vec<_> = (0..4)
        .map(|i| {
            bindbridge()
                .args(["--db", "fresh.db", "user", "add", &format!("u{i}")])
                .current_dir(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let o = run(&["--db", "fresh.db", "user", "list"], &dir);
    assert_eq!(text(&o.stdout).lines().count(), 4, "{}", text(&o.stdout));
}

#[test]
fn the_report_lists_what_was_normalised() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = write_zone(
        dir,
        "example.org.zone",
        &format!("{SMALL}a 300 TXT \"one\"\nb A 192.0.2.9\na 600 TXT \"two\"\nb A 192.0.2.9\n"),
    );
    let o = run(&["--db", "s.db", "import", &file], dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(
        out.contains("  normalised: 1 duplicate record merged\n"),
        "{out}"
    );
    assert!(
        out.contains("  normalised: 1 record took the TTL of the last record of its RRset, as BIND serves it\n"),
        "{out}"
    );
}
