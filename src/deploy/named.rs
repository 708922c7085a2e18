//! named, as the deploy worker drives it: named-checkzone and rndc run
//! with timeouts, and SOA queries that ask named which serial it serves.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name as DnsName, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::bind::run_tool;

/// Why a step that involves named could not be done (as opposed to named
/// refusing a zone): worth retrying once named or rndc is back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// How to reach named and its tools.
#[derive(Debug, Clone)]
pub struct Named {
    /// named-checkzone and its options.
    pub checkzone: Vec<String>,
    /// rndc and its options.
    pub rndc: Vec<String>,
    /// named's DNS address.
    pub dns: SocketAddr,
    /// How long a tool may run.
    pub command_timeout: Duration,
}

/// What a command printed, and whether it exited 0.
#[derive(Debug)]
pub struct Ran {
    /// Exit status 0.
    pub ok: bool,
    /// Standard output and error, trimmed.
    pub output: String,
}

impl Named {
    /// named as `config` says to reach it.
    pub fn new(config: &crate::config::DeployConfig) -> Named {
        Named {
            checkzone: config.checkzone.clone(),
            rndc: config.rndc.clone(),
            dns: config.named_dns,
            command_timeout: Duration::from_secs(config.command_timeout),
        }
    }

    /// Runs `command[0] command[1..] args` through the one runner of BIND
    /// tools, killed after the timeout.
    async fn run(&self, command: &[String], args: &[&str]) -> Result<Ran, Unreachable> {
        let (program, options) = command
            .split_first()
            .ok_or_else(|| Unreachable("no command configured".into()))?;
        let all: Vec<&OsStr> = (options.iter().map(OsStr::new))
            .chain(args.iter().map(OsStr::new))
            .collect();
        let output = run_tool(program, &all, None, self.command_timeout)
            .await
            .map_err(|e| Unreachable(format!("{e} ({program} {})", args.join(" "))))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(Ran {
            ok: output.status.success(),
            output: text.trim().to_string(),
        })
    }

    /// named-checkzone's verdict on `file` as zone `origin` (after `--`,
    /// so that a zone name starting with `-` is not an option).
    pub async fn checkzone(&self, origin: &str, file: &Path) -> Result<Ran, Unreachable> {
        let file = file.to_string_lossy();
        self.run(&self.checkzone, &["--", origin, &file]).await
    }

    /// Which of `zones` (absolute origin, file) named would load, from
    /// one `named-checkconf -z` over a configuration listing them all,
    /// written in `scratch`: a batch costs one process instead of one per
    /// zone (most of a named-checkzone run is its start). `None` when the
    /// configured checks are not the default ones, whose verdicts named's
    /// own zone defaults give (check-names fail, check-integrity local),
    /// or when the run itself failed: then each zone is checked alone.
    pub async fn loads(&self, zones: &[(&str, &Path)], scratch: &Path) -> Option<Vec<bool>> {
        let program = self.checkconf()?;
        let conf = tempfile::Builder::new()
            // Named like a staged file, so that one a kill leaves behind
            // is cleaned at the next start.
            .prefix(".bindbridge-check-")
            .suffix(".tmp")
            .tempfile_in(scratch)
            .ok()?;
        tokio::fs::write(conf.path(), super::files::checkconf_text(zones))
            .await
            .ok()?;
        let args = [OsStr::new("-z"), conf.path().as_os_str()];
        let output = run_tool(&program, &args, None, self.command_timeout)
            .await
            .map_err(|e| tracing::warn!("{program} -z: {e}; checking zones one by one"))
            .ok()?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let text = text.to_ascii_lowercase();
        let loaded = zones
            .iter()
            .map(|(origin, _)| {
                let zone = origin.trim_end_matches('.').to_ascii_lowercase();
                text.lines()
                    .any(|l| l.starts_with(&format!("zone {zone}/in: loaded serial ")))
            })
            .collect();
        Some(loaded)
    }

    /// named-checkconf beside named-checkzone, when named-checkzone is
    /// configured with the default options.
    fn checkconf(&self) -> Option<String> {
        let (program, options) = self.checkzone.split_first()?;
        let base = program.strip_suffix("named-checkzone")?;
        (options == ["-k", "fail", "-i", "local"]).then(|| format!("{base}named-checkconf"))
    }

    /// `rndc ARGS`; any failure (named down, a wrong key, or named
    /// refusing the command) is [`Unreachable`] with what rndc said.
    pub async fn rndc(&self, args: &[&str]) -> Result<String, Unreachable> {
        self.rndc_answer(args)
            .await?
            .map_err(|said| Unreachable(format!("rndc {}: {said}", args.join(" "))))
    }

    /// `rndc ARGS`: `Ok(Ok(what named said))` if named did it,
    /// `Ok(Err(what it said))` if named refused it (`'reload' failed: not
    /// found`: a zone it does not have), and [`Unreachable`] if rndc did
    /// not get an answer from named (down, a wrong key, a timeout).
    pub async fn rndc_answer(&self, args: &[&str]) -> Result<Result<String, String>, Unreachable> {
        let ran = self.run(&self.rndc, args).await?;
        let command = args.first().copied().unwrap_or_default();
        match ran.ok {
            true => Ok(Ok(ran.output)),
            false if ran.output.contains(&format!("'{command}' failed: ")) => Ok(Err(ran.output)),
            false => Err(Unreachable(format!(
                "rndc {}: {}",
                args.join(" "),
                ran.output
            ))),
        }
    }

    /// The serial named serves for `zone` (absolute, presentation form):
    /// `None` when named answers but does not serve the zone.
    ///
    /// A query named leaves unanswered is sent again for as long as an
    /// rndc command may take: a named that reconfigures thousands of zones
    /// holds its queries for seconds, and is busy, not gone (one that is
    /// gone refuses the query at once).
    pub async fn served_serial(&self, zone: &str) -> Result<Option<u32>, Unreachable> {
        serial_within(self.dns, zone, self.command_timeout).await
    }
}

/// The serial the nameserver at `dns` serves for `zone` (absolute,
/// presentation form): `None` when it answers but is not authoritative for
/// the zone (REFUSED, or a referral). UDP, then TCP if the answer was
/// truncated.
pub async fn soa_serial(dns: SocketAddr, zone: &str) -> Result<Option<u32>, Unreachable> {
    serial_within(dns, zone, QUERY_TIMEOUT).await
}

/// [`soa_serial`], the query over UDP sent again every [`RESEND_AFTER`]
/// while unanswered, until `patience` has passed.
async fn serial_within(
    dns: SocketAddr,
    zone: &str,
    patience: Duration,
) -> Result<Option<u32>, Unreachable> {
    let name = DnsName::from_ascii(zone)
        .map_err(|e| Unreachable(format!("'{zone}' is not a name to query: {e}")))?;
    let mut query = Message::query();
    query.add_query(Query::query(name.clone(), RecordType::SOA));
    let wire = query
        .to_vec()
        .map_err(|e| Unreachable(format!("cannot encode a query: {e}")))?;
    let mut answer = ask_udp(dns, &wire, query.metadata.id, patience).await?;
    if answer.metadata.truncation {
        answer = ask_tcp(dns, &wire, query.metadata.id).await?;
    }
    if answer.metadata.response_code != ResponseCode::NoError || !answer.metadata.authoritative {
        return Ok(None);
    }
    Ok(answer.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if r.name == name => Some(soa.serial),
        _ => None,
    }))
}

async fn ask_udp(
    dns: SocketAddr,
    wire: &[u8],
    id: u16,
    patience: Duration,
) -> Result<Message, Unreachable> {
    let local: SocketAddr = match dns {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let unreachable = |e: std::io::Error| Unreachable(format!("{dns}: {e}"));
    let socket = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(unreachable)?;
    socket.connect(dns).await.map_err(unreachable)?;
    let mut buf = vec![0u8; 65535];
    let give_up = tokio::time::Instant::now() + patience.max(QUERY_TIMEOUT);
    loop {
        socket.send(wire).await.map_err(unreachable)?;
        let deadline = give_up.min(tokio::time::Instant::now() + RESEND_AFTER);
        // Anything but the answer to this query (a late answer to an
        // earlier one, a NOTIFY meant for a secondary that had this port)
        // is skipped.
        let answer = async {
            loop {
                let len = socket.recv(&mut buf).await?;
                if let Ok(message) = Message::from_vec(&buf[..len])
                    && message.metadata.id == id
                    && message.metadata.message_type == MessageType::Response
                {
                    return Ok::<_, std::io::Error>(message);
                }
            }
        };
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(answer) => return answer.map_err(unreachable),
            Err(_) if tokio::time::Instant::now() < give_up => {}
            Err(_) => return Err(Unreachable(format!("{dns} did not answer"))),
        }
    }
}

async fn ask_tcp(dns: SocketAddr, wire: &[u8], id: u16) -> Result<Message, Unreachable> {
    let unreachable = |e: std::io::Error| Unreachable(format!("{dns}: {e}"));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(dns).await?;
        let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(wire);
        stream.write_all(&framed).await?;
        let len = stream.read_u16().await?;
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(QUERY_TIMEOUT, exchange)
        .await
        .map_err(|_| Unreachable(format!("{dns} did not answer over TCP")))?
        .map_err(unreachable)?;
    match Message::from_vec(&buf) {
        Ok(message) if message.metadata.id == id => Ok(message),
        _ => Err(Unreachable(format!(
            "{} sent an answer that does not match the query",
            dns
        ))),
    }
}

/// How long one DNS query to named may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a query over UDP waits for its answer before it is sent
/// again (a busy named may drop it).
const RESEND_AFTER: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const GOOD: &str = "$TTL 300\n@ SOA ns1.example. h.example. 1 3600 600 86400 300\n\
                        @ NS ns1.example.\nwww A 192.0.2.1\n";

    /// A nameserver on loopback that leaves the first query unanswered
    /// (as a named busy with a reconfig does) and answers the next with
    /// serial 7; the queries it saw come back when it is done.
    async fn busy_nameserver() -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let _ = socket.recv_from(&mut buf).await.unwrap();
            let (len, client) = socket.recv_from(&mut buf).await.unwrap();
            let query = Message::from_vec(&buf[..len]).unwrap();
            let name = query.queries[0].name().clone();
            let mut answer = Message::new(
                query.metadata.id,
                MessageType::Response,
                query.metadata.op_code,
            );
            answer.metadata.authoritative = true;
            answer.add_query(query.queries[0].clone());
            let soa = hickory_proto::rr::rdata::SOA::new(name.clone(), name.clone(), 7, 1, 1, 1, 1);
            answer.add_answer(hickory_proto::rr::Record::from_rdata(
                name,
                60,
                RData::SOA(soa),
            ));
            socket
                .send_to(&answer.to_vec().unwrap(), client)
                .await
                .unwrap();
            2
        });
        (address, server)
    }

    #[tokio::test]
    async fn a_query_named_leaves_unanswered_is_asked_again_while_patience_lasts() {
        let (busy, server) = busy_nameserver().await;
        let serial = serial_within(busy, "example.", Duration::from_secs(10)).await;
        assert_eq!(serial, Ok(Some(7)));
        assert_eq!(server.await.unwrap(), 2);
        // One that is gone is not waited for: the refusal comes at once.
        let gone = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = gone.local_addr().unwrap();
        drop(gone);
        let asked = std::time::Instant::now();
        let refused = serial_within(address, "example.", Duration::from_secs(10)).await;
        assert!(refused.is_err(), "{refused:?}");
        assert!(asked.elapsed() < QUERY_TIMEOUT, "{:?}", asked.elapsed());
    }

    #[tokio::test]
    async fn one_checkconf_run_tells_which_zones_of_a_batch_named_loads() {
        let dir = tempfile::tempdir().unwrap();
        let bad = GOOD.replace("www A", "www CNAME x\nwww A");
        let files: Vec<(String, PathBuf)> = [
            ("a.example.", GOOD),
            ("b.example.", &bad),
            ("c.example.", GOOD),
        ]
        .iter()
        .map(|(origin, text)| {
            let path = dir.path().join(format!("{origin}zone"));
            std::fs::write(&path, text).unwrap();
            (origin.to_string(), path)
        })
        .collect();
        let zones: Vec<(&str, &Path)> = files
            .iter()
            .map(|(o, p)| (o.as_str(), p.as_path()))
            .collect();
        let named = Named::new(&crate::config::DeployConfig::default());
        assert_eq!(
            named.loads(&zones, dir.path()).await,
            Some(vec![true, false, true]),
            "named-checkconf (Debian: bind9-utils) judged the batch otherwise"
        );
        // Its configuration is gone again.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty());
        // Other checks than named's defaults: zone by zone.
        let mut strict = named.clone();
        strict
            .checkzone
            .extend(["-M".to_string(), "fail".to_string()]);
        assert_eq!(strict.loads(&zones, dir.path()).await, None);
    }
}
