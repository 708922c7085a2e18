//! The DNS listener of `serve`: RFC 2136 UPDATE signed with TSIG
//! (RFC 8945), SOA queries for the zones a key may change (clients such
//! as certbot and nsupdate find the zone of a name that way), and zone
//! transfers of them (AXFR, IXFR as AXFR; external-dns, octodns and
//! dnscontrol read a zone that way). Everything else is REFUSED. Changes go to the store, in one
//! transaction per message, with the API's validation; the deploy worker
//! takes them to named like any other change (named itself never gets a
//! dynamic zone).
//!
//! Every request is answered by its own task, and a TCP connection's
//! reads time out, so one slow or broken client never stalls another.

mod answer;
mod transfer;
pub mod tsig;
mod update;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::store::Store;

pub use answer::answer;
pub use transfer::Transport;

/// How long a TCP client may take to send a message.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TCP connection may stay open between messages.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address could not be bound.
    #[error("cannot listen for DNS on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A bound DNS listener (UDP and TCP on one address).
pub struct Listener {
    udp: Arc<UdpSocket>,
    tcp: TcpListener,
}

impl Listener {
    /// Binds UDP and TCP at `address`; port 0 picks one free for both.
    pub async fn bind(address: SocketAddr) -> Result<Listener, ListenError> {
        let bind_error = |source| ListenError::Bind { address, source };
        // Port 0: the UDP port chosen must also be free for TCP; retried
        // a few times, as another process may hold it.
        for _ in 0..20 {
            let udp = UdpSocket::bind(address).await.map_err(bind_error)?;
            let bound = udp.local_addr().map_err(bind_error)?;
            match TcpListener::bind(bound).await {
                Ok(tcp) => {
                    return Ok(Listener {
                        udp: Arc::new(udp),
                        tcp,
                    });
                }
                Err(e) if address.port() != 0 => return Err(bind_error(e)),
                Err(_) => continue,
            }
        }
        Err(bind_error(std::io::Error::other(
            "no port free for both UDP and TCP",
        )))
    }

    /// Where it listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Answers requests until the task is dropped.
    pub async fn run(self, responder: Responder) {
        let udp = self.udp.clone();
        let udp_responder = responder.clone();
        let udp_task = tokio::spawn(async move { serve_udp(udp, udp_responder).await });
        serve_tcp(self.tcp, responder).await;
        udp_task.abort();
    }
}

/// What answers the listener's requests.
#[derive(Clone)]
pub struct Responder {
    /// Where zones are read and changed.
    pub store: Store,
    /// With a duration, an UPDATE that changed a zone is answered once
    /// named serves the change (or failed to), waiting this long at most;
    /// without, once it is stored.
    pub wait_served: Option<Duration>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn serve_udp(socket: Arc<UdpSocket>, responder: Responder) {
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("dns udp receive: {e}");
                continue;
            }
        };
        let request = buf[..len].to_vec();
        let (socket, responder) = (socket.clone(), responder.clone());
        tokio::spawn(async move {
            // Our replies over UDP (an rcode, at most an SOA, a TSIG)
            // stay well within the 512 octets of plain UDP, and are one.
            if let Some(reply) = answer(&responder, &request, now(), Transport::Udp)
                .await
                .first()
                && let Err(e) = socket.send_to(reply, peer).await
            {
                tracing::debug!("dns udp send to {peer}: {e}");
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, responder: Responder) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("dns tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let responder = responder.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, &responder).await {
                tracing::debug!("dns tcp {peer}: {e}");
            }
        });
    }
}

/// Answers the messages of one TCP connection (RFC 7766: two-octet
/// length, then the message), in order, until the client closes it or
/// goes quiet.
async fn serve_connection(mut stream: TcpStream, responder: &Responder) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            // Closed, broken or idle: the connection is done.
            Ok(Err(_)) | Err(_) => return Ok(()),
        }
        let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(READ_TIMEOUT, stream.read_exact(&mut request))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out"))??;
        // A zone transfer's messages go out one by one, each within the
        // write timeout, so a client that stops reading is dropped.
        for reply in answer(responder, &request, now(), Transport::Tcp).await {
            let Ok(reply_len) = u16::try_from(reply.len()) else {
                tracing::error!("dns: a reply of {} octets cannot be sent", reply.len());
                break;
            };
            let mut out = Vec::with_capacity(reply.len() + 2);
            out.extend_from_slice(&reply_len.to_be_bytes());
            out.extend_from_slice(&reply);
            tokio::time::timeout(READ_TIMEOUT, stream.write_all(&out))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out")
                })??;
        }
    }
}
