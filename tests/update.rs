//! RFC 2136 UPDATE with TSIG from the real clients (`nsupdate`, `dig`)
//! against `bindbridge serve`'s DNS listener; every change is checked at
//! the private named the deploy worker feeds.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::api::create_zone;
use crate::deploy::{Stack, dig_at};
use crate::served::{assert_served_as_shown, compiled, served, settle};
use crate::zone_files::import;

/// A stack whose serve has the UPDATE listener on, a user `alice` with
/// the zone `example.com`, served.
struct Updates {
    stack: Stack,
    /// The UPDATE listener.
    listen: SocketAddr,
    /// alice's API token.
    token: String,
    /// The uuid of example.com.
    zone: String,
    keys: tempfile::TempDir,
}

impl Updates {
    fn start() -> Updates {
        Updates::start_full(false, "")
    }

    /// With `transfers`, named lets 127.0.0.1 transfer its zones too;
    /// `update` is more of the `[update]` table.
    fn start_full(transfers: bool, update: &str) -> Updates {
        let config = format!("[update]\nlisten = \"127.0.0.1:0\"\n{update}");
        let stack = Stack::start_full(false, transfers, |_| {}, &config);
        let line = stack.server.wait_for_log(Duration::from_secs(20), |l| {
            l.contains("DNS UPDATE (RFC 2136, TSIG) listening on ")
        });
        let listen = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let token = stack.server.user_with_token("alice", "dns:*");
        let zone = create_zone(&stack.server.client(&token), "example.com");
        stack.wait_served("example.com");
        Updates {
            stack,
            listen,
            token,
            zone,
            keys: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// `tsig create` for `user` with `extra` arguments: the key file's
    /// path and its name, algorithm and secret.
    fn key(&self, user: &str, name: &str, extra: &[&str]) -> (String, String, String) {
        let mut args = vec!["tsig", "create", "--user", user, "--name", name];
        args.extend_from_slice(extra);
        let text = self.stack.server.cli(&args);
        assert!(text.starts_with(&format!("key \"{name}\" {{")), "{text}");
        let path = self.keys.path().join(format!("{name}.key"));
        std::fs::write(&path, &text).expect("key file written");
        let field = |what: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(what))
                .map(|v| v.trim_end_matches(';').trim_matches('"').to_string())
                .unwrap_or_else(|| panic!("no {what} in {text}"))
        };
        let algorithm = field("algorithm ");
        let secret = field("secret ");
        (path.display().to_string(), algorithm, secret)
    }

    /// Runs `nsupdate -d AUTH...` with `commands` after a `server` line:
    /// whether it succeeded, and all it printed (with -d, the rcodes and
    /// the TSIG errors of the replies).
    fn nsupdate(&self, auth: &[&str], commands: &str) -> (bool, String) {
        let mut child = Command::new("nsupdate")
            .arg("-d")
            .args(auth)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsupdate runs (Debian: apt-get install bind9-dnsutils)");
        let script = format!(
            "server {} {}\n{commands}send\n",
            self.listen.ip(),
            self.listen.port()
        );
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("script written");
        let out = child.wait_with_output().expect("nsupdate ends");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// What named serves for `name`/`rtype`: the answer's RDATA, or the
    /// rcode.
    fn served(&self, name: &str, rtype: &str) -> Result<Vec<String>, String> {
        self.stack.dig(name, rtype)
    }

    /// Waits until named serves `want` for `name`/`rtype`.
    fn wait_served_as(&self, name: &str, rtype: &str, want: Result<Vec<String>, String>) {
        let _ = self
            .stack
            .wait_for(&format!("{name} {rtype} is {want:?}"), || {
                let seen = self.served(name, rtype);
                (seen == want, seen)
            });
    }
}

fn nxdomain() -> Result<Vec<String>, String> {
    Err("NXDOMAIN".to_string())
}

#[test]
fn nsupdate_adds_and_deletes_an_acme_challenge_and_named_serves_it() {
    let u = Updates::start();
    let (file, algorithm, secret) = u.key("alice", "alice-acme", &[]);
    assert_eq!(algorithm, "hmac-sha256");
    // With the key file, and without a zone line: nsupdate finds the
    // zone with a signed SOA query, as certbot does.
    let (ok, out) = u.nsupdate(
        &["-k", &file],
        "update add _acme-challenge.www.example.com 60 TXT \"token-1\"\n",
    );
    assert!(ok, "nsupdate -k: {out}");
    assert!(out.contains("status: NOERROR"), "{out}");
    u.wait_served_as(
        "_acme-challenge.www.example.com",
        "TXT",
        Ok(vec!["\"token-1\"".into()]),
    );
    // The change log names the key.
    let history = u.stack.server.cli(&["zone", "history", "example.com"]);
    assert!(history.contains("tsig:alice-acme (alice)"), "{history}");
    // A second token beside it, then the first deleted exactly (class
    // NONE), the way certbot and lego clean up; with -y over TCP.
    let y = format!("hmac-sha256:alice-acme:{secret}");
    let (ok, out) = u.nsupdate(
        &["-v", "-y", &y],
        "zone example.com\n\
         update add _acme-challenge.www.example.com 60 TXT \"token-2\"\n\
         update delete _acme-challenge.www.example.com TXT \"token-1\"\n",
    );
    assert!(ok, "nsupdate -y: {out}");
    u.wait_served_as(
        "_acme-challenge.www.example.com",
        "TXT",
        Ok(vec!["\"token-2\"".into()]),
    );
    let (ok, out) = u.nsupdate(
        &["-y", &y],
        "zone example.com\nupdate delete _acme-challenge.www.example.com TXT\n",
    );
    assert!(ok, "delete RRset: {out}");
    u.wait_served_as("_acme-challenge.www.example.com", "TXT", nxdomain());
    // The API shows what named serves: nothing left.
    let records = u
        .stack
        .server
        .client(&u.token)
        .get("/api/v1/dns-records/")
        .body;
    assert_eq!(records.as_array().map(Vec::len), Some(0), "{records}");
}

#[test]
fn nsupdate_y_without_an_algorithm_is_hmac_md5() {
    let u = Updates::start();
    let (_, algorithm, secret) = u.key("alice", "alice-md5", &["--algorithm", "hmac-md5"]);
    assert_eq!(algorithm, "hmac-md5");
    let y = format!("alice-md5:{secret}");
    let (ok, out) = u.nsupdate(
        &["-y", &y],
        "zone example.com\nupdate add md5.example.com 300 A 192.0.2.5\n",
    );
    assert!(ok, "{out}");
    u.wait_served_as("md5.example.com", "A", Ok(vec!["192.0.2.5".into()]));
    // And the other algorithms.
    for algorithm in ["hmac-sha1", "hmac-sha384", "hmac-sha512"] {
        let name = format!("alice-{algorithm}");
        let (_, _, secret) = u.key("alice", &name, &["--algorithm", algorithm]);
        let y = format!("{algorithm}:{name}:{secret}");
        let host = format!("{algorithm}.example.com");
        let (ok, out) = u.nsupdate(
            &["-y", &y],
            &format!("zone example.com\nupdate add {host} 300 A 192.0.2.6\n"),
        );
        assert!(ok, "{algorithm}: {out}");
        u.wait_served_as(&host, "A", Ok(vec!["192.0.2.6".into()]));
    }
}

#[test]
fn bad_keys_and_other_users_zones_change_nothing() {
    let u = Updates::start();
    let (_, _, secret) = u.key("alice", "alice-key", &[]);
    // bob's zone, and a key of alice's limited to another zone.
    let bob = u.stack.server.user_with_token("bob", "dns:*");
    create_zone(&u.stack.server.client(&bob), "example.net");
    u.stack.wait_served("example.net");
    let (_, _, limited) = u.key("alice", "alice-limited", &["--zones", "example.org"]);
    let add = |zone: &str| format!("zone {zone}\nupdate add bad.{zone} 300 A 192.0.2.66\n");
    // A key nobody has: BADKEY.
    let (ok, out) = u.nsupdate(
        &["-y", "hmac-sha256:nobody:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"],
        &add("example.com"),
    );
    assert!(
        !ok && out.contains("BADKEY") && out.contains("NOTAUTH"),
        "{out}"
    );
    // alice's key with a wrong secret: BADSIG.
    let mut wrong = secret.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = format!("hmac-sha256:alice-key:{}", String::from_utf8_lossy(&wrong));
    let (ok, out) = u.nsupdate(&["-y", &wrong], &add("example.com"));
    assert!(
        !ok && out.contains("BADSIG") && out.contains("NOTAUTH"),
        "{out}"
    );
    // The right key, on bob's zone: NOTAUTH, as for a zone that does not
    // exist.
    let good = format!("hmac-sha256:alice-key:{secret}");
    let (ok, out) = u.nsupdate(&["-y", &good], &add("example.net"));
    assert!(!ok && out.contains("status: NOTAUTH"), "{out}");
    let (ok, out) = u.nsupdate(&["-y", &good], &add("nowhere.test"));
    assert!(!ok && out.contains("status: NOTAUTH"), "{out}");
    // A key limited to other zones.
    let listed = u.stack.server.cli(&["tsig", "list", "--user", "alice"]);
    assert!(
        listed.contains("alice-limited  alice  hmac-sha256  example.org"),
        "{listed}"
    );
    let limited = format!("hmac-sha256:alice-limited:{limited}");
    let (ok, out) = u.nsupdate(&["-y", &limited], &add("example.com"));
    assert!(!ok && out.contains("status: NOTAUTH"), "{out}");
    // SOA queries: answered with authority for alice's zone only.
    let soa = |name: &str| {
        let out = dig_at(u.stack.named.layout().dns)
            .args(["-p", &u.listen.port().to_string(), "-y", &good, name, "SOA"])
            .output()
            .expect("dig runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mine = soa("_acme-challenge.www.example.com");
    assert!(
        mine.contains("status: NOERROR") && mine.contains(" aa"),
        "{mine}"
    );
    assert!(
        mine.contains("example.com.\t") && mine.contains("SOA"),
        "{mine}"
    );
    let theirs = soa("example.net");
    assert!(
        theirs.contains("status: REFUSED") && !theirs.contains(" aa"),
        "{theirs}"
    );
    // Nothing was stored or served.
    for zone in ["example.com", "example.net"] {
        u.stack.wait_served(zone);
        assert_eq!(u.served(&format!("bad.{zone}"), "A"), nxdomain());
    }
    let history = u.stack.server.cli(&["zone", "history", "example.net"]);
    assert!(!history.contains("tsig:"), "{history}");
}

#[test]
fn prerequisites_fail_with_their_rcodes_and_refusals_change_nothing() {
    let u = Updates::start();
    let (file, _, _) = u.key("alice", "alice-key", &[]);
    let k = ["-k", file.as_str()];
    let (ok, out) = u.nsupdate(
        &k,
        "zone example.com\nupdate add www.example.com 300 A 192.0.2.1\n",
    );
    assert!(ok, "{out}");
    u.wait_served_as("www.example.com", "A", Ok(vec!["192.0.2.1".into()]));
    let cases = [
        ("prereq nxdomain www.example.com\n", "YXDOMAIN"),
        ("prereq yxdomain nothere.example.com\n", "NXDOMAIN"),
        ("prereq yxrrset www.example.com AAAA\n", "NXRRSET"),
        ("prereq nxrrset www.example.com A\n", "YXRRSET"),
        ("prereq yxrrset www.example.com A 192.0.2.9\n", "NXRRSET"),
        // The apex NS set is the zone's nameservers: refused.
        (
            "update add example.com 300 NS ns9.example.net.\n",
            "REFUSED",
        ),
        // A CNAME beside other data, as the API refuses it.
        (
            "update add www.example.com 300 CNAME other.example.net.\n",
            "REFUSED",
        ),
        // A CNAME at the apex, as the API refuses it.
        (
            "update add example.com 300 CNAME other.example.net.\n",
            "REFUSED",
        ),
        // A TTL the API refuses.
        ("update add ttl.example.com 0 A 192.0.2.3\n", "REFUSED"),
        // A name outside the zone.
        ("update add www.example.org 300 A 192.0.2.1\n", "NOTZONE"),
    ];
    for (commands, rcode) in cases {
        // Each with an add that would otherwise go through.
        let script =
            format!("zone example.com\n{commands}update add new.example.com 300 A 192.0.2.2\n");
        let (ok, out) = u.nsupdate(&k, &script);
        assert!(
            !ok && out.contains(&format!("status: {rcode}")),
            "{commands}: {out}"
        );
    }
    // Prerequisites that hold let the update through.
    let (ok, out) = u.nsupdate(
        &k,
        "zone example.com\nprereq yxrrset www.example.com A 192.0.2.1\n\
         prereq nxdomain new.example.com\nupdate add new.example.com 300 A 192.0.2.2\n",
    );
    assert!(ok, "{out}");
    u.wait_served_as("new.example.com", "A", Ok(vec!["192.0.2.2".into()]));
    // Nothing of the refused ones was stored.
    let history = u.stack.server.cli(&["zone", "history", "example.com"]);
    let creates = history.matches("record.create").count();
    assert_eq!(creates, 2, "{history}");
    assert_eq!(
        u.served("www.example.com", "A"),
        Ok(vec!["192.0.2.1".into()])
    );
}

/// What certbot's dns-rfc2136 plugin does, in dnspython: find the zone
/// with signed SOA queries up the name (NOERROR, the SOA in the answer,
/// AA), then add the TXT record and delete it again, over TCP, with
/// hmac-sha512. Prints one rcode per step.
/// certbot's dns-rfc2136 plugin itself (Debian's
/// python3-certbot-dns-rfc2136): its client class, which the plugin's
/// perform and cleanup steps call, finds the zone with signed SOA queries
/// and adds or deletes the challenge TXT over TCP.
const CERTBOT: &str = r#"
import sys
import dns.tsig
from certbot_dns_rfc2136._internal.dns_rfc2136 import _RFC2136Client
server, port, key_name, secret, record, value, step = sys.argv[1:]
client = _RFC2136Client(server, int(port), key_name, secret, dns.tsig.HMAC_SHA512, 10)
if step == "add":
    client.add_txt_record(record, value, 120)
else:
    client.del_txt_record(record, value)
print("done", step)
"#;

/// The Debian interpreter, which `python3-dnspython` installs for.
const PYTHON: &str = "/usr/bin/python3";

#[test]
fn certbots_rfc2136_plugin_adds_and_deletes_its_challenge() {
    let has_certbot = Command::new(PYTHON)
        .args(["-c", "import certbot_dns_rfc2136._internal.dns_rfc2136"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_certbot,
        "{PYTHON} with certbot's dns-rfc2136 plugin is needed \
         (Debian: apt-get install python3-certbot-dns-rfc2136)"
    );
    let u = Updates::start();
    let (_, _, secret) = u.key("alice", "certbot", &["--algorithm", "hmac-sha512"]);
    let run = |step: &str| {
        let out = Command::new(PYTHON)
            .args(["-c", CERTBOT])
            .args([&u.listen.ip().to_string(), &u.listen.port().to_string()])
            .args([
                "certbot",
                &secret,
                "_acme-challenge.www.example.com",
                "acme-token",
            ])
            .arg(step)
            .output()
            .expect("python3 runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let errors = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{step}: {text}{errors}");
        text
    };
    assert_eq!(run("add"), "done add\n");
    u.wait_served_as(
        "_acme-challenge.www.example.com",
        "TXT",
        Ok(vec!["\"acme-token\"".into()]),
    );
    assert_eq!(run("delete"), "done delete\n");
    u.wait_served_as("_acme-challenge.www.example.com", "TXT", nxdomain());
    // A name in no zone of the key: the plugin finds no zone and fails.
    let out = Command::new(PYTHON)
        .args(["-c", CERTBOT])
        .args([&u.listen.ip().to_string(), &u.listen.port().to_string()])
        .args(["certbot", &secret, "_acme-challenge.other.test", "x", "add"])
        .output()
        .expect("python3 runs");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && errors.contains("Unable to determine base domain"),
        "{errors}"
    );
}

/// `dig` at the UPDATE listener, over TCP: `qtype` of `zone`, signed
/// with `key` (`[alg:]name:secret`) when given. All it printed.
fn dig_listener(listen: SocketAddr, key: Option<&str>, zone: &str, qtype: &str) -> String {
    let mut dig = dig_at(listen);
    if let Some(key) = key {
        dig.args(["-y", key]);
    }
    let out = dig
        .args(["+nocmd", "+nostats", "+onesoa", "+tcp", zone, qtype])
        .output()
        .expect("dig runs (Debian: apt-get install bind9-dnsutils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Lists a zone the way external-dns and octodns do: dnspython's
/// `dns.query.xfr` with a TSIG key (every message verified), printing
/// whether it took more than one message, the records and the serial.
const XFR_LIKE: &str = r#"
import sys
import dns.name, dns.query, dns.rdatatype, dns.tsig, dns.tsigkeyring, dns.zone
host, port, key, secret, algorithm, zone = sys.argv[1:7]
keyring = dns.tsigkeyring.from_text({key: secret})
# BIND's key syntax says hmac-md5; TSIG RRs say hmac-md5.sig-alg.reg.int.
algorithm = dns.tsig.HMAC_MD5 if algorithm == "hmac-md5" else algorithm
messages = list(dns.query.xfr(host, zone, port=int(port), keyring=keyring,
                              keyname=key, keyalgorithm=algorithm, lifetime=30,
                              relativize=False))
records = sum(len(rrset) for m in messages for rrset in m.answer)
z = dns.zone.from_xfr(iter(messages), relativize=False)
soa = z.find_rdataset(z.origin, dns.rdatatype.SOA)[0]
print(len(messages) > 1, records, soa.serial)
"#;

#[test]
fn axfr_with_tsig_lists_a_10000_record_zone_as_named_serves_it() {
    let u = Updates::start_full(true, "");
    let api = u.stack.server.client(&u.token);
    let apex = "big.example";
    let zone = create_zone(&api, apex);
    let mut text = String::from(
        "$TTL 3600\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n",
    );
    for i in 0..10_000u32 {
        let line = match i % 4 {
            0 => format!("host{i} A 10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255),
            1 => format!("host{i} 300 AAAA 2001:db8::{i:x}\n"),
            2 => format!("txt{i} TXT \"v=spf1 include:_spf{i}.example.net -all\" \"second\"\n"),
            _ => format!("mail{i} MX {} mx{i}.example.net.\n", i % 50),
        };
        text.push_str(&line);
    }
    let reply = import(&api, &zone, &text);
    assert_eq!(reply.status, 200, "{}", reply.text);
    settle(&u.stack, &api, &zone);
    let (_, algorithm, secret) = u.key("alice", "lister", &["--algorithm", "hmac-sha256"]);
    let y = format!("{algorithm}:lister:{secret}");

    // dig checks the TSIG of every message; what it lists is, record
    // for record, what named serves.
    let ours = dig_listener(u.listen, Some(&y), apex, "AXFR");
    assert!(
        !ours.contains("failed") && !ours.contains("verify") && ours.contains("\tSOA\t"),
        "AXFR from the listener: {}",
        &ours[..ours.len().min(2000)]
    );
    let records: String = ours
        .lines()
        .filter(|l| !l.contains("\tTSIG\t") && !l.starts_with(';'))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let listed = compiled(&format!("{apex}."), &records, dir.path(), "listed");
    let named = served(&u.stack, &format!("{apex}."), dir.path());
    // The zone keeps its own NS set (the provider's two nameservers).
    assert_eq!(
        listed.len(),
        10_004,
        "SOA, 2 NS, ns1 and the 10,000: {:?}",
        &listed[..5]
    );
    assert!(listed == named, "the AXFR differs from what named serves");

    // dnspython, as external-dns and octodns read a zone (md5, the
    // default of older clients, on a second key).
    let (_, md5, md5_secret) = u.key("alice", "lister-md5", &["--algorithm", "hmac-md5"]);
    let out = Command::new(PYTHON)
        .args(["-c", XFR_LIKE])
        .args([&u.listen.ip().to_string(), &u.listen.port().to_string()])
        .args(["lister-md5", &md5_secret, &md5, apex])
        .output()
        .expect("python3 runs");
    let serial = u.stack.serial(apex).expect("named serves a serial");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("True 10005 {serial}"),
        "dnspython xfr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // IXFR from the serial served: the SOA alone, "up to date".
    let ixfr = dig_listener(u.listen, Some(&y), apex, &format!("IXFR={serial}"));
    let answers: Vec<&str> = ixfr
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"))
        .collect();
    assert!(
        answers.len() == 1 && answers[0].contains("\tSOA\t"),
        "IXFR={serial}: {ixfr}"
    );

    // Refused: no key; a wrong secret (BADSIG, nothing listed);
    // another user's zone; a name inside the zone; AXFR over UDP.
    let rcode = |zone: &str, key: Option<&str>, udp: bool| {
        let mut args = vec![
            u.listen.ip().to_string(),
            u.listen.port().to_string(),
            zone.to_string(),
            udp.to_string(),
        ];
        args.extend(key.map(str::to_string));
        let out = Command::new(PYTHON)
            .args(["-c", AXFR_RCODE])
            .args(&args)
            .output()
            .expect("python3 runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
            + &String::from_utf8_lossy(&out.stderr)
    };
    assert_eq!(rcode(apex, None, false), "REFUSED 0");
    let out = dig_listener(
        u.listen,
        Some(&format!("{algorithm}:lister:{}", "A".repeat(secret.len()))),
        apex,
        "AXFR",
    );
    assert!(
        out.contains("Transfer failed") && !out.contains("\tSOA\t"),
        "{out}"
    );
    let bob = u.stack.server.user_with_token("bob", "dns:*");
    create_zone(&u.stack.server.client(&bob), "bob.example");
    assert_eq!(rcode("bob.example", Some(&secret), false), "REFUSED 0");
    assert_eq!(
        rcode("host0.big.example", Some(&secret), false),
        "NOTAUTH 0"
    );
    assert_eq!(rcode(apex, Some(&secret), true), "FORMERR 0");
}

/// The rcode and answer count of one AXFR for argv[3] over TCP (argv[4]
/// "false") or UDP, signed with hmac-sha256 key "lister" when a secret is
/// given.
const AXFR_RCODE: &str = r#"
import sys
import dns.message, dns.query, dns.rcode, dns.tsigkeyring
host, port, zone, udp = sys.argv[1:5]
q = dns.message.make_query(zone, "AXFR")
if len(sys.argv) > 5:
    q.use_tsig(dns.tsigkeyring.from_text({"lister": sys.argv[5]}), keyname="lister",
               algorithm="hmac-sha256")
send = dns.query.udp if udp == "true" else dns.query.tcp
r = send(q, host, port=int(port), timeout=10)
print(dns.rcode.to_text(r.rcode()), len(r.answer))
"#;

/// Sends UPDATEs adding `burstN TXT "nN"` to example.com, one TCP
/// connection each (as nsupdate), until one fails; prints each reply's
/// rcode and N as it comes.
const BURST: &str = r#"
import sys
import dns.query, dns.rcode, dns.tsigkeyring, dns.update
host, port, secret = sys.argv[1:4]
keyring = dns.tsigkeyring.from_text({"burst": secret})
for i in range(100000):
    u = dns.update.UpdateMessage("example.com", keyring=keyring, keyname="burst",
                                 keyalgorithm="hmac-sha256")
    u.add(f"burst{i}", 300, "TXT", f'"n{i}"')
    try:
        r = dns.query.tcp(u, host, port=int(port), timeout=5)
    except Exception as e:
        print("error", type(e).__name__, flush=True)
        break
    print(dns.rcode.to_text(r.rcode()), i, flush=True)
"#;

#[test]
fn kill_9_during_a_burst_of_updates_loses_no_acknowledged_update() {
    use std::io::{BufRead, BufReader};
    let mut u = Updates::start_full(true, "");
    let (_, _, secret) = u.key("alice", "burst", &["--algorithm", "hmac-sha256"]);
    let mut burst = Command::new(PYTHON)
        .args(["-c", BURST])
        .args([
            &u.listen.ip().to_string(),
            &u.listen.port().to_string(),
            &secret,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut lines = BufReader::new(burst.stdout.take().expect("stdout")).lines();
    let mut acknowledged = Vec::new();
    let mut read_reply = |acknowledged: &mut Vec<u32>| -> Option<String> {
        let line = lines.next()?.expect("a line");
        match line.split_once(' ') {
            Some(("NOERROR", n)) => acknowledged.push(n.parse().expect("a number")),
            _ => return Some(line),
        }
        None
    };
    // Killed in the middle of the burst, after 40 acknowledged updates.
    while acknowledged.len() < 40 {
        if let Some(other) = read_reply(&mut acknowledged) {
            panic!("an update failed before the kill: {other}");
        }
    }
    u.stack.server.kill_and_restart();
    // The client's next update fails (the listener is gone), unless the
    // new listener happens to get the same port; the replies it read
    // before that count as acknowledged too.
    loop {
        if let Some(other) = read_reply(&mut acknowledged) {
            assert!(other.starts_with("error"), "an update failed: {other}");
            break;
        }
        if acknowledged.len() >= 400 {
            let _ = burst.kill();
            break;
        }
    }
    let _ = burst.wait();

    // Every acknowledged update is stored and served, and named serves
    // exactly what the API shows.
    let api = u.stack.server.client(&u.token);
    let dir = tempfile::tempdir().unwrap();
    assert_served_as_shown(&u.stack, &api, &u.zone, "example.com.", dir.path());
    let named = served(&u.stack, "example.com.", dir.path());
    let lost: Vec<u32> = acknowledged
        .iter()
        .copied()
        .filter(|n| !named.contains(&format!("burst{n}.example.com. 300 IN TXT \"n{n}\"")))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged updates lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
}

#[test]
fn with_reply_when_served_named_serves_the_change_when_nsupdate_returns() {
    let u = Updates::start_full(false, "reply_when_served = true\n");
    let (file, _, _) = u.key("alice", "waiter", &[]);
    for i in 1..=5 {
        let (ok, out) = u.nsupdate(
            &["-k", &file],
            &format!("update add now{i}.example.com 60 A 192.0.2.{i}\n"),
        );
        assert!(ok && out.contains("status: NOERROR"), "{out}");
        // Asked at once, without waiting: named serves it already.
        assert_eq!(
            u.served(&format!("now{i}.example.com"), "A"),
            Ok(vec![format!("192.0.2.{i}")]),
            "update {i}"
        );
    }
}
