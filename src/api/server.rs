//! How the API's connections are run: HTTP/1.1 on hyper directly, because
//! `axum::serve` has no timeouts and no connection limit, and a client
//! without a token could otherwise hold connections (and file
//! descriptors) for as long as it likes.
//!
//! - A request's head must be in within `header_timeout`, counted from
//!   when the server starts waiting for it: a silent new connection, a
//!   half-sent head and a kept-alive connection that never sends its next
//!   request are all closed by it (hyper's `header_read_timeout`).
//! - Its body must be in within `body_timeout` ([`super::read_body`]).
//! - A kept-alive connection is closed after `keep_alive_timeout` without
//!   a request.
//! - At most `max_connections` are open. A new connection beyond it
//!   closes an idle one: one that never authenticated before one that
//!   did, the longest idle first. So a flood of connections without a
//!   token churns through its own kind, and a client with a token, whose
//!   connection is busy or recently used and authenticated, keeps being
//!   served. When every connection is busy, the new one is refused.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};

use crate::config::ApiConfig;

/// File descriptors kept back from connections at most: the database, its
/// WAL, the watchers, named's tools and the deploy worker's files.
const RESERVED_FDS: u64 = 256;

/// The limits of the API's connections.
#[derive(Debug, Clone)]
pub struct Limits {
    /// For a request's head, from when the server waits for it.
    pub header_timeout: Duration,
    /// For a request's body, once its head is in.
    pub body_timeout: Duration,
    /// For the next request on a kept-alive connection.
    pub keep_alive_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Limits {
    /// The configured limits; `max_connections` lowered so that the
    /// connections fit under `fd_limit` (the soft RLIMIT_NOFILE) with
    /// some descriptors to spare.
    pub fn new(config: &ApiConfig, fd_limit: Option<u64>) -> Limits {
        let mut max_connections = config.max_connections;
        if let Some(limit) = fd_limit {
            let room = limit.saturating_sub(RESERVED_FDS).max(limit / 2).max(1);
            max_connections = max_connections.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        Limits {
            header_timeout: Duration::from_secs(config.header_timeout),
            body_timeout: Duration::from_secs(config.body_timeout),
            keep_alive_timeout: Duration::from_secs(config.keep_alive_timeout),
            max_connections,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(&ApiConfig::default(), None)
    }
}

/// Raises the soft limit of open files to the hard one (connections are
/// file descriptors, and the soft limit is often 1024); the soft limit in
/// force afterwards, `None` when unlimited.
pub fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum
        && let Some(maximum) = limit.maximum
    {
        let raised = Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return Some(maximum),
            Err(e) => tracing::warn!("cannot raise the open-file limit to {maximum}: {e}"),
        }
    }
    limit.current
}

/// What the server knows of one open connection.
struct Entry {
    /// When its last response was sent, or when it was accepted.
    last_active: Instant,
    /// Requests whose head is in and whose response is not yet sent.
    requests: u32,
    /// Of those, the ones whose body is in as well: being handled, so the
    /// connection is not closed for a new one.
    handling: u32,
    /// A request on it carried a valid token.
    authenticated: bool,
    /// A response was sent on it: from then on, it is kept alive.
    served: bool,
    /// Told to close (at once) when another connection needs its place.
    close: Arc<Notify>,
}

/// Every open connection.
struct Table {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// The idle connections (no request of theirs being handled), in the
    /// order they are closed for new ones: never authenticated before
    /// authenticated, longest idle first. Kept in step with `entries` so
    /// that a flood's churn finds its victim in O(log n), not by a scan of
    /// every connection under the lock.
    idle: BTreeSet<IdleKey>,
}

/// Where an idle connection stands in [`Table::idle`].
type IdleKey = (bool, Instant, u64);

impl Entry {
    fn idle_key(&self, id: u64) -> Option<IdleKey> {
        (self.handling == 0).then_some((self.authenticated, self.last_active, id))
    }
}

impl Table {
    fn insert(&mut self, entry: Entry) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if let Some(key) = entry.idle_key(id) {
            self.idle.insert(key);
        }
        self.entries.insert(id, entry);
        id
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some(key) = entry.idle_key(id) {
            self.idle.remove(&key);
        }
        Some(entry)
    }

    fn update(&mut self, id: u64, change: impl FnOnce(&mut Entry)) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let before = entry.idle_key(id);
        change(entry);
        let after = entry.idle_key(id);
        if before != after {
            if let Some(key) = before {
                self.idle.remove(&key);
            }
            if let Some(key) = after {
                self.idle.insert(key);
            }
        }
    }
}

struct Shared {
    table: Mutex<Table>,
    limits: Limits,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table> {
        // Nothing panics while holding the lock; if it did, the table is
        // still a table.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, closing an idle one when the table is
    /// full; `None` when it is full of busy ones.
    fn admit(self: &Arc<Self>) -> Option<(Connection, Arc<Notify>)> {
        let mut table = self.table();
        if table.entries.len() >= self.limits.max_connections && !Self::evict(&mut table, false) {
            return None;
        }
        let close = Arc::new(Notify::new());
        let id = table.insert(Entry {
            last_active: Instant::now(),
            requests: 0,
            handling: 0,
            authenticated: false,
            served: false,
            close: close.clone(),
        });
        let connection = Connection {
            id,
            shared: self.clone(),
            peer: None,
        };
        Some((connection, close))
    }

    /// Closes the idle connection that matters least: never
    /// authenticated before authenticated, longest idle first (with
    /// `anonymous_only`, never an authenticated one). False when there is
    /// none.
    fn evict(table: &mut Table, anonymous_only: bool) -> bool {
        let victim = table
            .idle
            .first()
            .filter(|(authenticated, _, _)| !(anonymous_only && *authenticated))
            .map(|&(_, _, id)| id);
        match victim.and_then(|id| table.remove(id)) {
            Some(entry) => {
                // A permit is kept if the task is not waiting right now.
                entry.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One open connection, as its requests see it (a request extension):
/// the body deadline, and marks for what the request has reached.
#[derive(Clone)]
pub struct Connection {
    id: u64,
    shared: Arc<Shared>,
    /// The client's address (the dashboard counts failed logins per
    /// address).
    peer: Option<std::net::SocketAddr>,
}

impl Connection {
    fn update(&self, change: impl FnOnce(&mut Entry)) {
        self.shared.table().update(self.id, change);
    }

    /// The client's address.
    pub fn peer(&self) -> Option<std::net::SocketAddr> {
        self.peer
    }

    /// How long the request's body may take to arrive.
    pub fn body_timeout(&self) -> Duration {
        self.shared.limits.body_timeout
    }

    /// A request on this connection carried a valid token.
    pub fn authenticated(&self) {
        self.update(|e| e.authenticated = true);
    }

    /// The request's body is in; until the guard is dropped (with the
    /// response's body), the connection is not closed for another.
    pub fn handling(&self) -> Mark {
        self.update(|e| e.handling += 1);
        Mark {
            connection: self.clone(),
            handling: true,
        }
    }

    /// A request's head is in; until the guard is dropped, the connection
    /// is not idle.
    fn request(&self) -> Mark {
        self.update(|e| e.requests += 1);
        Mark {
            connection: self.clone(),
            handling: false,
        }
    }

    /// How long the connection has been waiting for its next request,
    /// when it is kept alive after one; `None` before the first request
    /// (the header timeout bounds that wait) and while one is under way.
    fn kept_alive_for(&self) -> Option<Duration> {
        let table = self.shared.table();
        let entry = table.entries.get(&self.id)?;
        (entry.served && entry.requests == 0).then(|| entry.last_active.elapsed())
    }

    fn is_handling(&self) -> bool {
        let table = self.shared.table();
        table.entries.get(&self.id).is_some_and(|e| e.handling > 0)
    }
}

/// Ends a mark of [`Connection::request`] or [`Connection::handling`].
pub struct Mark {
    connection: Connection,
    handling: bool,
}

impl Drop for Mark {
    fn drop(&mut self) {
        let handling = self.handling;
        self.connection.update(|e| {
            match handling {
                true => e.handling = e.handling.saturating_sub(1),
                false => {
                    e.requests = e.requests.saturating_sub(1);
                    e.served = true;
                }
            }
            e.last_active = Instant::now();
        });
    }
}

/// A response body that holds a [`Mark`] until it is sent (or dropped).
pub struct Marked {
    body: Body,
    _mark: Mark,
}

impl Marked {
    /// `response`, its connection marked until its body is sent.
    pub fn response(response: Response, mark: Mark) -> Response {
        response.map(|body| Body::new(Marked { body, _mark: mark }))
    }
}

impl http_body::Body for Marked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// resolves; then requests under way are finished, idle connections
/// closed, and it returns once every connection is gone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout = ?limits.header_timeout,
        body_timeout = ?limits.body_timeout,
        keep_alive_timeout = ?limits.keep_alive_timeout,
        "API connection limits"
    );
    let shared = Arc::new(Shared {
        table: Mutex::new(Table {
            next_id: 0,
            entries: HashMap::new(),
            idle: BTreeSet::new(),
        }),
        limits,
    });
    let (stop, stopping) = watch::channel(false);
    // Each connection task holds a sender; `recv` answers `None` once
    // the last one is gone.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let mut errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                errors.back_off(e, &shared).await;
                continue;
            }
        };
        // Without TCP_NODELAY, the last small piece of a streamed answer
        // waits for the client's delayed ACK (40 ms) before it is sent.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on an API connection: {e}");
        }
        let Some((mut connection, close)) = shared.admit() else {
            // Every connection is busy with a request: refused at once
            // (closed) rather than queued.
            tracing::debug!("API connection refused: every connection is busy");
            continue;
        };
        connection.peer = Some(peer);
        tokio::spawn(run_connection(
            stream,
            router.clone(),
            connection,
            close,
            stopping.clone(),
            open.clone(),
        ));
    }
    // New connections are refused from here on.
    drop(listener);
    let _ = stop.send(true);
    drop(open);
    let _ = all_closed.recv().await;
    Ok(())
}

/// Serves one connection until it ends, times out, is closed for another
/// one, or the server stops.
async fn run_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    connection: Connection,
    close: Arc<Notify>,
    mut stopping: watch::Receiver<bool>,
    _open: mpsc::Sender<()>,
) {
    let limits = connection.shared.limits.clone();
    let handle = connection.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let mark = handle.request();
        request.extensions_mut().insert(handle.clone());
        let mut router = router.clone();
        async move {
            // A Router is always ready: no poll_ready needed.
            let response =
                tower_service::Service::call(&mut router, request.map(Body::new)).await?;
            Ok::<_, Infallible>(Marked::response(response, mark))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let keep_alive = limits.keep_alive_timeout;
    let idle_check = tokio::time::sleep(keep_alive);
    tokio::pin!(idle_check);
    let mut stopped = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("API connection ended: {e}");
                }
                break;
            }
            () = close.notified() => {
                tracing::debug!("API connection closed for a new one");
                break;
            }
            changed = stopping.changed(), if !stopped => {
                stopped = true;
                if changed.is_err() || !connection.is_handling() {
                    break;
                }
                // A request being handled is answered, then the
                // connection closes.
                conn.as_mut().graceful_shutdown();
            }
            () = &mut idle_check => {
                let next = match connection.kept_alive_for() {
                    Some(idle) if idle >= keep_alive => break,
                    Some(idle) => keep_alive - idle,
                    None => keep_alive,
                };
                idle_check.as_mut().reset(tokio::time::Instant::now() + next);
            }
        }
    }
    connection.shared.table().remove(connection.id);
}

/// Backs off after an error of `accept`, so that a lack of file
/// descriptors neither spins the loop nor stops the server; warns at most
/// once a second.
#[derive(Default)]
struct AcceptErrors {
    last_warning: Option<Instant>,
}

impl AcceptErrors {
    async fn back_off(&mut self, e: io::Error, shared: &Arc<Shared>) {
        use io::ErrorKind::*;
        if matches!(
            e.kind(),
            ConnectionAborted | ConnectionReset | ConnectionRefused
        ) {
            // That one connection is gone; the next is fine.
            return;
        }
        let out_of_fds = matches!(
            rustix::io::Errno::from_io_error(&e),
            Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE)
        );
        if out_of_fds {
            // Free a descriptor for the next client, from a connection
            // that never authenticated.
            Self::evict_anonymous(shared);
        }
        if self
            .last_warning
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!("API accept error: {e}");
            self.last_warning = Some(Instant::now());
        }
        let pause = match out_of_fds {
            true => Duration::from_millis(10),
            false => Duration::from_millis(100),
        };
        tokio::time::sleep(pause).await;
    }

    fn evict_anonymous(shared: &Arc<Shared>) {
        let mut table = shared.table();
        Shared::evict(&mut table, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(max_connections: usize) -> Arc<Shared> {
        Arc::new(Shared {
            table: Mutex::new(Table {
                next_id: 0,
                entries: HashMap::new(),
                idle: BTreeSet::new(),
            }),
            limits: Limits {
                max_connections,
                ..Limits::default()
            },
        })
    }

    fn open(table: &Table) -> Vec<u64> {
        let mut ids: Vec<u64> = table.entries.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_full_table_closes_the_longest_idle_anonymous_connection_first() {
        let shared = shared(3);
        let (authenticated, _) = shared.admit().unwrap();
        let (busy, _) = shared.admit().unwrap();
        let (idle, idle_close) = shared.admit().unwrap();
        authenticated.authenticated();
        let handling = busy.handling();

        // Full: the anonymous idle one goes, not the authenticated one
        // (older) nor the busy one (older still).
        let (newest, _) = shared
            .admit()
            .expect("an idle anonymous connection to close");
        assert_eq!(
            open(&shared.table()),
            vec![authenticated.id, busy.id, newest.id]
        );
        // Its task is told to close.
        assert!(
            futures_util::FutureExt::now_or_never(idle_close.notified()).is_some(),
            "the closed connection was not notified"
        );
        let _ = idle;

        // Then the newest (anonymous) before the authenticated one.
        let (third, _) = shared.admit().unwrap();
        assert_eq!(
            open(&shared.table()),
            vec![authenticated.id, busy.id, third.id]
        );

        // With the anonymous one busy too, the authenticated idle one goes.
        let third_handling = third.handling();
        let (fourth, _) = shared.admit().unwrap();
        assert_eq!(open(&shared.table()), vec![busy.id, third.id, fourth.id]);

        // Every other connection busy: refused.
        let _fourth_handling = fourth.handling();
        assert!(
            shared.admit().is_none(),
            "a table full of busy connections admitted one"
        );

        // A finished request makes its connection idle again, and
        // closable, and the index follows every change.
        drop(handling);
        drop(third_handling);
        let (_fifth, _) = shared.admit().unwrap();
        let table = shared.table();
        assert_eq!(table.entries.len(), 3);
        let idle: Vec<u64> = table.idle.iter().map(|&(_, _, id)| id).collect();
        let mut expected: Vec<u64> = table
            .entries
            .iter()
            .filter_map(|(id, e)| e.idle_key(*id).map(|_| *id))
            .collect();
        expected.sort_unstable();
        let mut sorted = idle.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted, expected,
            "the idle index is out of step with the table"
        );
    }

    #[test]
    fn out_of_descriptors_closes_only_anonymous_connections() {
        let shared = shared(8);
        let (authenticated, _) = shared.admit().unwrap();
        authenticated.authenticated();
        let mut table = shared.table();
        assert!(
            !Shared::evict(&mut table, true),
            "an authenticated connection was closed"
        );
        assert_eq!(table.entries.len(), 1);
        assert!(Shared::evict(&mut table, false));
        assert!(table.entries.is_empty() && table.idle.is_empty());
    }
}
