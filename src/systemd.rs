//! The systemd notify protocol (`Type=notify`): `READY=1` once the API
//! listens and the deploy worker runs, `STOPPING=1` on shutdown, and
//! `WATCHDOG=1` pings when the unit sets `WatchdogSec=`. Without
//! `NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::time::Duration;

/// Sends `state` to systemd's notify socket, if there is one.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let sent = match path.strip_prefix('@') {
        // An abstract socket (Linux).
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
        }
        None => socket.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        tracing::warn!("cannot notify systemd ({state}): {e}");
    }
}

/// Pings systemd's watchdog at half the interval it asks for
/// (`WATCHDOG_USEC`), for as long as the runtime runs.
pub fn spawn_watchdog() {
    let interval = std::env::var("WATCHDOG_USEC")
        .ok()
        .and_then(|usec| usec.parse::<u64>().ok())
        .filter(|&usec| usec > 0);
    if let Some(usec) = interval {
        let every = Duration::from_micros(usec / 2);
        tokio::spawn(async move {
            loop {
                notify("WATCHDOG=1");
                tokio::time::sleep(every).await;
            }
        });
    }
}
