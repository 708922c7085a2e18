//! Deploys to a real named: `bindbridge serve` against a private named on
//! 127.0.0.1 at a high port, checked with `dig` at that named.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{Server, a_record, create_record, create_zone, record_path, zone_path};
use bindbridge::dev::{Layout, PrivateNamed, free_port};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// How long a change may take to be served.
const SERVE_WAIT: Duration = Duration::from_secs(20);

/// A private named and a `bindbridge serve` that deploys to it.
struct Stack {
    named: PrivateNamed,
    server: Server,
    _dir: tempfile::TempDir,
}

impl Stack {
    fn start() -> Stack {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port =
            |what| free_port(LOOPBACK).unwrap_or_else(|e| panic!("no free {what} port: {e}"));
        let layout = Layout::new(
            &dir.path().join("named"),
            SocketAddr::new(LOOPBACK, port("DNS")),
            SocketAddr::new(LOOPBACK, port("rndc")),
        );
        layout.write().expect("the private named's files");
        let named = layout
            .start()
            .unwrap_or_else(|e| panic!("named does not start: {e}"));
        let deploy = layout.deploy_config();
        let config = format!(
            "[deploy]\nzone_dir = {:?}\ninclude_file = {:?}\nrndc = {:?}\nnamed_dns = \"{}\"\n\
             serve_timeout = 10\nreconcile_interval = 2\n",
            deploy.zone_dir, deploy.include_file, deploy.rndc, deploy.named_dns
        );
        let server = Server::start_with(&config, "info");
        Stack {
            named,
            server,
            _dir: dir,
        }
    }

    /// `dig +short TYPE NAME` at the private named (no recursion, no
    /// retries): the answer lines, or the status when it is not NOERROR.
    fn dig(&self, name: &str, rtype: &str) -> Result<Vec<String>, String> {
        let dns = self.named.layout().dns;
        let out = Command::new("dig")
            .arg(format!("@{}", dns.ip()))
            .args(["-p", &dns.port().to_string()])
            .args([
                "+norecurse",
                "+tries=1",
                "+time=2",
                "+noall",
                "+answer",
                "+comments",
            ])
            .args([name, rtype])
            .output()
            .expect("dig runs (Debian: apt-get install bind9-dnsutils)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let status = text
            .lines()
            .find_map(|l| l.split("status: ").nth(1))
            .map(|s| s.split(',').next().unwrap_or("").to_string())
            .unwrap_or_else(|| format!("no answer: {text}"));
        if status != "NOERROR" {
            return Err(status);
        }
        Ok(text
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
            .collect())
    }

    /// The serial named serves for `zone`, if it serves it.
    fn serial(&self, zone: &str) -> Option<u32> {
        let soa = self.dig(zone, "SOA").ok()?;
        soa.first()?.split_whitespace().nth(2)?.parse().ok()
    }

    /// Waits until `check` holds, or fails with what was seen last.
    fn wait_for<T: std::fmt::Debug>(&self, what: &str, mut check: impl FnMut() -> (bool, T)) -> T {
        let deadline = Instant::now() + SERVE_WAIT;
        loop {
            let (done, seen) = check();
            if done {
                return seen;
            }
            if Instant::now() > deadline {
                panic!("{what}: not within {SERVE_WAIT:?}; last seen: {seen:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn deploy_state(detail: &Value) -> (String, Option<u64>) {
    (
        detail["deploy"]["state"].as_str().unwrap_or("").to_string(),
        detail["deploy"]["serial"].as_u64(),
    )
}

#[test]
fn api_changes_are_served_by_named_with_rising_serials() {
    let mut stack = Stack::start();
    let token = stack.server.user_with_token("alice", "dns:*");
    let api = stack.server.client(&token);
    let zone = create_zone(&api, "deploy.example");
    let first = stack.wait_for("the new zone served", || {
        let serial = stack.serial("deploy.example.");
        (serial.is_some(), serial)
    });
    let ns = stack.dig("deploy.example.", "NS").expect("NS served");
    assert_eq!(ns.len(), 2, "the default nameservers: {ns:?}");
    let detail = stack.wait_for("the zone detail shows the deploy", || {
        let detail = api.get(&zone_path(&zone)).body;
        (deploy_state(&detail).0 == "deployed", detail)
    });
    assert_eq!(deploy_state(&detail).1, first.map(u64::from));

    let record = create_record(&api, &zone, &a_record("www", "192.0.2.10"));
    let second = stack.wait_for("the new record served", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.10".to_string()][..]),
            answer,
        )
    });
    assert!(second.is_ok());
    let after_create = stack.serial("deploy.example.").unwrap();
    assert!(
        after_create > first.unwrap(),
        "{after_create} after {first:?}"
    );

    let reply = api.patch(&record_path(&record), &json!({"value": "192.0.2.11"}));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let _ = stack.wait_for("the updated record served", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (
            answer.as_deref() == Ok(&["192.0.2.11".to_string()][..]),
            answer,
        )
    });
    let after_update = stack.serial("deploy.example.").unwrap();
    assert!(
        after_update > after_create,
        "{after_update} after {after_create}"
    );

    assert_eq!(api.delete(&record_path(&record)).status, 204);
    let _ = stack.wait_for("the deleted record gone", || {
        let answer = stack.dig("www.deploy.example.", "A");
        (answer == Err("NXDOMAIN".to_string()), answer)
    });
    assert!(stack.serial("deploy.example.").unwrap() > after_update);

    // Another zone stays; the deleted one goes, also after a restart.
    create_zone(&api, "stays.example");
    stack.wait_for("the second zone served", || {
        let serial = stack.serial("stays.example.");
        (serial.is_some(), serial)
    });
    assert_eq!(api.delete(&zone_path(&zone)).status, 204);
    let _ = stack.wait_for("the deleted zone no longer served", || {
        let answer = stack.dig("deploy.example.", "SOA");
        (answer == Err("REFUSED".to_string()), answer)
    });
    let layout = stack.named.layout().clone();
    stack.named.stop();
    stack.named = layout.start().expect("named starts again");
    assert_eq!(
        stack.dig("deploy.example.", "SOA"),
        Err("REFUSED".to_string()),
        "a deleted zone is gone after a named restart"
    );
    assert!(
        stack.serial("stays.example.").is_some(),
        "the other zone is served after a named restart"
    );
    assert!(
        !layout
            .deploy_config()
            .zone_dir
            .join("deploy.example.zone")
            .exists(),
        "the deleted zone's file is removed"
    );
}
