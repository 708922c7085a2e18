//! `bindbridge compile` as users and CI run it: exit codes 0/1/2, text and
//! JSON diagnostics, `-o`, `-w`, `--check`, `--serial`, `--template`.

use std::process::Output;

use crate::support::{bindbridge, fixture_dir};

fn run(args: &[&str], dir: &std::path::Path) -> Output {
    bindbridge()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("bindbridge runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ZONE: &str = "$ORIGIN example.org.\n$TTL 1h\n@ IN SOA ns1 hostmaster 2024010101 2h 1h 2w 5m\n  IN NS ns1\nns1 IN A 192.0.2.1\nwww IN CNAME ns1\n";

#[test]
fn valid_zone_exits_0_with_the_canonical_zone_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    let o = run(&["compile", "z.zone"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("$ORIGIN example.org.\n$TTL 3600\n"), "{out}");
    assert!(out.contains("\nwww 3600  IN CNAME ns1\n"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn zone_with_errors_exits_1_lists_every_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{ZONE}a IN A 1.2.3\nb IN MX 70000 ns1\nc IN BOGUS x\n");
    std::fs::write(dir.path().join("bad.zone"), bad).unwrap();
    let o = run(&["compile", "bad.zone", "-o", "out.zone"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad.zone:7:8: error: expected an IPv4 address, found '1.2.3'"),
        "{err}"
    );
    assert!(
        err.contains("bad.zone:8:9: error: expected a 16-bit number (0-65535), found '70000'"),
        "{err}"
    );
    assert!(
        err.contains("bad.zone:9:6: error: expected a record type, found 'BOGUS'"),
        "{err}"
    );
    assert!(
        !dir.path().join("out.zone").exists(),
        "no output may be written for a zone with errors"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn json_format_gives_one_object_per_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.zone"),
        format!("{ZONE}a IN A 1.2.3\nb IN AAAA ::g\n"),
    )
    .unwrap();
    let o = run(&["compile", "--format", "json", "bad.zone"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["file"], "bad.zone");
    assert_eq!(lines[0]["line"], 7);
    assert_eq!(lines[0]["column"], 8);
    assert_eq!(lines[0]["severity"], "error");
    assert_eq!(lines[1]["line"], 8);
}

#[test]
fn could_not_run_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["compile", "missing.zone"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read missing.zone: file not found"),
        "{}",
        stderr(&o)
    );
    let o = run(&["compile", "--no-such-flag", "x"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["compile", "--serial", "weekly", "x"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected one of date, increment, unixtime, keep"),
        "{}",
        stderr(&o)
    );
    let o = run(&["compile", "--origin", "a..b", "x"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn help_shows_examples() {
    let o = run(&["compile", "--help"], std::path::Path::new("."));
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    assert!(help.contains("Examples:"), "{help}");
    assert!(
        help.contains("bindbridge compile --origin example.com --check"),
        "{help}"
    );
    assert!(help.contains("-w, --directory <DIR>"), "{help}");
}

#[test]
fn output_file_and_check_with_named_checkzone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    let o = run(
        &["compile", "--check", "-o", "out.zone", "z.zone"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("named-checkzone: output accepted"),
        "{}",
        stderr(&o)
    );
    let written = std::fs::read_to_string(dir.path().join("out.zone")).unwrap();
    assert!(
        written.contains("\nns1 3600  IN A     192.0.2.1\n"),
        "{written}"
    );
    // The same output on stdout when no -o is given.
    let o = run(&["compile", "--check", "z.zone"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), written);
}

#[test]
fn workdir_resolves_the_file_and_its_includes() {
    let o = run(
        &[
            "compile",
            "-w",
            fixture_dir("compile").to_str().unwrap(),
            "syntax-include.zone",
        ],
        std::path::Path::new("/"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Without -w the include is looked up in the current directory and is missing.
    let o = run(
        &[
            "compile",
            fixture_dir("compile")
                .join("syntax-include.zone")
                .to_str()
                .unwrap(),
        ],
        std::path::Path::new("/"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot include 'include/hosts.inc': file not found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn serial_policies_rewrite_the_soa_serial() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    let serial_of = |out: &str| {
        let soa = out
            .lines()
            .find(|l| l.contains(" SOA "))
            .expect("an SOA line");
        soa.split_whitespace()
            .nth(6)
            .expect("serial field")
            .parse::<u64>()
            .expect("numeric serial")
    };
    let o = run(&["compile", "--serial", "increment", "z.zone"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(serial_of(&stdout(&o)), 2024010102);
    let o = run(&["compile", "--serial", "keep", "z.zone"], dir.path());
    assert_eq!(serial_of(&stdout(&o)), 2024010101);
    let o = run(&["compile", "--serial", "date", "z.zone"], dir.path());
    let date_serial = serial_of(&stdout(&o));
    assert!(
        date_serial > 2024010101 && date_serial < 10_000_000_000,
        "{date_serial}"
    );
    let o = run(&["compile", "z.zone"], dir.path());
    assert_eq!(
        serial_of(&stdout(&o)),
        2024010101,
        "no policy keeps the serial"
    );
}

#[test]
fn origin_comes_from_the_file_name_when_the_file_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let zone = "$TTL 300\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n  IN NS ns1\nns1 IN A 192.0.2.1\n";
    std::fs::write(dir.path().join("db.example.net"), zone).unwrap();
    let o = run(&["compile", "db.example.net"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("$ORIGIN example.net.\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_template_owns_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    let template = "; {{ origin }} has {{ record_count }} records\n$ORIGIN {{ origin }}\n{{ record.owner }}|{{ record.ttl }}|{{ record.class }}|{{ record.type }}|{{ record.rdata }}\n; end\n";
    std::fs::write(dir.path().join("t.tera"), template).unwrap();
    let o = run(&["compile", "--template", "t.tera", "z.zone"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("; example.org. has 4 records\n$ORIGIN example.org.\n@|3600|IN|SOA|ns1 hostmaster 2024010101 7200 3600 1209600 300\n"), "{out}");
    assert!(out.ends_with("www|3600|IN|CNAME|ns1\n; end\n"), "{out}");
}

#[test]
fn no_input_makes_it_panic() {
    let dir = tempfile::tempdir().unwrap();
    let inputs: [&[u8]; 6] = [
        b"\xff\xfe\x00\x01garbage(((\n\"",
        b"$INCLUDE\n$GENERATE 1-2\n$ORIGIN\n$TTL\n",
        b"@ IN SOA ( ( ( ) ) ) \\",
        b"a IN TXT \"\\\n",
        b"$GENERATE 0-2147483647/1073741824 x$ A 1.2.3.$\n",
        b"",
    ];
    for (i, input) in inputs.iter().enumerate() {
        let name = format!("g{i}.zone");
        std::fs::write(dir.path().join(&name), input).unwrap();
        let o = run(&["compile", "--origin", "example.com", &name], dir.path());
        assert_eq!(o.status.code(), Some(1), "input {i}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("panicked"),
            "input {i}: {}",
            stderr(&o)
        );
    }
}

/// `-o` onto a device or pipe writes into it; renaming a temporary file
/// over it would replace the device (as `-o /dev/null` once did).
#[test]
fn output_to_a_pipe_writes_into_the_pipe() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the pipe"))
    };
    let o = run(
        &["compile", "-o", fifo.to_str().unwrap(), "z.zone"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let received = reader.join().unwrap();
    assert!(received.contains("$ORIGIN example.org.\n"), "{received}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe was replaced"
    );
}

#[test]
fn standard_input_is_read_for_dash() {
    let mut child = bindbridge()
        .args(["compile", "--origin", "example.org", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bindbridge runs");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{ZONE}bad IN A 1.2.3\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("<stdin>:7:10: error: expected an IPv4 address, found '1.2.3'"),
        "{err}"
    );
    assert!(
        err.contains("<stdin>: 1 error(s), 0 warning(s); nothing written"),
        "{err}"
    );
}

/// A zone that names no origin: no `$ORIGIN`, a relative SOA owner.
const NO_ORIGIN: &str =
    "$TTL 1h\n@ IN SOA ns1 hostmaster 2024010101 2h 1h 2w 5m\n  IN NS ns1\nns1 IN A 192.0.2.1\n";

/// `bindbridge ARGS` with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bindbridge()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bindbridge runs");
    use std::io::Write as _;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn standard_input_without_an_origin_exits_2_asking_for_one() {
    let o = run_with_stdin(&["compile", "-"], NO_ORIGIN);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input needs --origin"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    // An origin from the text or the flag is enough.
    let o = run_with_stdin(&["compile", "-"], ZONE);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\n$ORIGIN example.org.\n"),
        "{}",
        stdout(&o)
    );
    let o = run_with_stdin(&["compile", "--origin", "example.net", "-"], NO_ORIGIN);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\n$ORIGIN example.net.\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn read_only_commands_on_a_missing_database_exit_2_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["zone", "list"][..],
        &["zone", "show", "example.org"],
        &["zone", "history", "example.org"],
        &["export", "example.org"],
        &["user", "list"],
        &["token", "list"],
        &["token", "revoke", "vps_abc"],
    ] {
        let args = [&["--db", "missing.db"][..], command].concat();
        let o = run(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{command:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("database missing.db does not exist"),
            "{command:?}: {}",
            stderr(&o)
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{command:?} created {left:?}");
    }
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `bindbridge --db DB serve` (no deploys) in `dir` under umask 022: the
/// child, once its API listens.
fn serve_on(dir: &std::path::Path, db: &str) -> std::process::Child {
    use std::io::BufRead as _;
    std::fs::write(dir.join("config.toml"), "[deploy]\nenabled = false\n").unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_bindbridge"))
        .args(["--db", db, "serve", "--api-listen", "127.0.0.1:0"])
        .args(["--config", "config.toml"])
        .current_dir(dir)
        .env("BINDBRIDGE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bindbridge serve starts");
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with("bindbridge: API listening on ") => return child,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("serve did not listen: {e}: {:?}", child.wait());
            }
        }
    }
}

#[test]
fn the_database_and_its_log_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_bindbridge"))
        .args(["--db", "s.db", "user", "add", "alice"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&db), 0o600, "a new database");
    // A database from before is made private when opened.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&["--db", "s.db", "user", "list"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&db), 0o600, "an old database");
    // The log and shared-memory files exist while a serve has it open.
    let mut serve = serve_on(dir.path(), "s.db");
    let modes: Vec<_> = ["s.db", "s.db-wal", "s.db-shm"]
        .iter()
        .map(|f| (f, mode(&dir.path().join(f))))
        .collect();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        modes,
        [(&"s.db", 0o600), (&"s.db-wal", 0o600), (&"s.db-shm", 0o600)]
    );
}

#[test]
fn a_second_serve_on_the_same_database_exits_2_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve_on(dir.path(), "s.db");
    let second = bindbridge()
        .args(["--db", "s.db", "serve", "--api-listen", "127.0.0.1:0"])
        .args(["--config", "config.toml"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the old code would serve on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut second = second;
    while second.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = second.kill();
    let o = second.wait_with_output().unwrap();
    let first_pid = first.id();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "database s.db is in use by another bindbridge serve (pid {first_pid})"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_to_a_closed_pipe_ends_quietly_with_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("z.zone"), ZONE).unwrap();
    for setup in [
        &["--db", "s.db", "user", "add", "alice"][..],
        &["--db", "s.db", "import", "--owner", "alice", "z.zone"],
    ] {
        let o = run(setup, dir.path());
        assert_eq!(o.status.code(), Some(0), "{setup:?}: {}", stderr(&o));
    }
    for command in [
        &["--db", "s.db", "user", "list"][..],
        &["--db", "s.db", "zone", "list"],
        &["--db", "s.db", "zone", "show", "example.org"],
        &["--db", "s.db", "export", "example.org"],
        &["compile", "z.zone"],
        &["compile", "--help"],
    ] {
        // The reader is gone before the command writes a byte: every
        // write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = bindbridge()
            .args(command)
            .current_dir(dir.path())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{command:?}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{command:?}: {}", stderr(&o));
    }
}
