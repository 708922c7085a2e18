#!/usr/bin/env python3
"""Slowloris benchmark: a client with a token under a connection flood.

Attackers without a token hold ATTACK connections to `bindbridge serve`
on 127.0.0.1, a mix of three kinds:

  silent        connects and sends nothing (3 of 5)
  partial head  sends the start of a request head, then nothing (1 of 5)
  partial body  sends a whole head announcing 100 bytes of body and 10 of
                them (1 of 5)

Whenever the server closes one, the attacker opens a new one at once, so
the flood stays at ATTACK for the whole run. The attackers are separate
processes (ATTACK descriptors do not fit in one process's limit).

Meanwhile a client with a `dns:*` token sends GET /api/v1/dns-zones/ ten
times a second, alternately on a fresh connection (connect included in
the time) and on one kept-alive connection (reconnected when the server
has closed it; counted). Reported: p50, p99 and max latency, failures
(no answer within 5 s, or not 200), /healthz, and the server's open file
descriptors and resident memory before, during and after the attack.
Target: p99 < 100 ms with 20,000 attacking connections.

Usage:
  bench/slowloris.py                               # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/slowloris.py

Environment:
  BINDBRIDGE_BIN    this binary instead of `cargo build --release`
  SLOWLORIS_ATTACK  attacking connections (default 20000)
  SLOWLORIS_SECONDS how long the client measures under attack (default 20)
  SLOWLORIS_CONFIG  extra lines for the server's configuration file
                    (e.g. "[api]\\nmax_connections = 1024")

Loopback only; it stops by itself (the attackers after the measurement,
each with a hard deadline of its own). Exit status: 0 ran (the target is
reported, not enforced); 1 the server died; 2 could not run.
"""

import http.client
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as common  # noqa: E402  (the API benchmark's helpers)

HOST = "127.0.0.1"
PATH = "/api/v1/dns-zones/"
ATTACK = int(os.environ.get("SLOWLORIS_ATTACK", "20000"))
SECONDS = float(os.environ.get("SLOWLORIS_SECONDS", "20"))
EXTRA_CONFIG = os.environ.get("SLOWLORIS_CONFIG", "").replace("\\n", "\n")
PER_ATTACKER = 5000
REQUEST_TIMEOUT = 5.0
OPEN_TIMEOUT = 120.0  # for an attacker to open its connections
RATE = 10  # client requests per second

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PARTIAL_BODY = (
    b"POST /api/v1/dns-zones/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"domain\":"
)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------
# The attacker (a child process: slowloris.py --attack PORT COUNT SECONDS)


def attack(port, count, seconds):
    """Holds `count` connections for `seconds`, reopening closed ones.
    Prints "holding" once all are open, and its counts at the end."""
    raise_fd_limit()
    # Opening may take long against a server out of descriptors; the
    # holding time counts from when all are open.
    deadline = time.monotonic() + OPEN_TIMEOUT
    stop = []
    # SIGTERM ends the loop, and the counts are still printed.
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    sel = selectors.DefaultSelector()
    opened = reopened = failed = 0
    kinds = [b"", b"", b"", PARTIAL_HEAD, PARTIAL_BODY]

    def open_one(i):
        nonlocal failed
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect((HOST, port))
            if kinds[i % 5]:
                s.sendall(kinds[i % 5])
        except OSError:
            failed += 1
            s.close()
            return False
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        return True

    for i in range(count):
        if time.monotonic() >= deadline or stop:
            break
        if open_one(i):
            opened += 1
    print("holding", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                continue  # an answer (408); its close comes next
            sel.unregister(s)
            s.close()
            if time.monotonic() < deadline and not stop and open_one(key.data):
                reopened += 1
    print(f"opened {opened} reopened {reopened} failed {failed}", flush=True)


# --------------------------------------------------------------------------
# The server and its figures


def start_server(binary, workdir):
    db = os.path.join(workdir, "slowloris.db")
    common.run_cmd([binary, "--db", db, "user", "add", "bench"], "user add")
    token = common.run_cmd(
        [binary, "--db", db, "token", "create", "--user", "bench",
         "--permissions", "dns:*", "--name", "bench"],
        "token create",
    ).strip()
    config = os.path.join(workdir, "slowloris.toml")
    with open(config, "w") as f:
        f.write(f"[deploy]\nenabled = false\n{EXTRA_CONFIG}\n")
    proc = subprocess.Popen(
        [binary, "--db", db, "serve", "--api-listen", f"{HOST}:0", "--config", config],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )
    port = None
    tail = []
    for line in proc.stderr:
        tail.append(line.rstrip("\n"))
        if "API listening on http://" in line:
            port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
            break
    if port is None:
        proc.kill()
        raise common.CannotRun("the server did not start:\n" + "\n".join(tail[-20:]))
    # Keep draining its stderr (warnings under attack), keeping the last lines.
    warnings = []

    def drain():
        for line in proc.stderr:
            warnings.append(line.rstrip("\n"))
            del warnings[:-20]

    threading.Thread(target=drain, daemon=True).start()
    return proc, port, token, warnings


def figures(pid):
    """(open descriptors, resident memory in MB) of a process."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return fds, rss / 1024
    except (OSError, StopIteration):
        return None, None


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def show_figures(what, pid):
    fds, rss = figures(pid)
    common.log(f"  {what:<22} fds {fds}   RSS {rss:.1f} MB" if fds else f"  {what}: gone")


# --------------------------------------------------------------------------
# The client with a token


def timed_get(port, token, conn=None):
    """One GET; (seconds, status or error, connection to reuse or None)."""
    started = time.monotonic()
    fresh = conn is None
    try:
        if fresh:
            conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        conn.request("GET", PATH, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as e:
        if conn:
            conn.close()
        return time.monotonic() - started, type(e).__name__, None
    if fresh:
        conn.close()
        conn = None
    return time.monotonic() - started, status, conn


def measure(port, token, seconds):
    """Requests at RATE per second for `seconds`: latencies and failures."""
    fresh, kept, failures = [], [], []
    reconnects = 0
    conn = None
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        tick = time.monotonic()
        if n % 2 == 0:
            took, status, _ = timed_get(port, token)
            (fresh if status == 200 else failures).append((took, status))
        else:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            took, status, conn = timed_get(port, token, conn)
            if status != 200:
                # Closed by the server meanwhile: once more on a new one.
                reconnects += 1
                took, status, conn = timed_get(
                    port, token, http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                )
            (kept if status == 200 else failures).append((took, status))
        n += 1
        time.sleep(max(0.0, 1.0 / RATE - (time.monotonic() - tick)))
    return fresh, kept, failures, reconnects


def summary(what, samples):
    if not samples:
        common.log(f"  {what:<22} no answers")
        return
    values = [s[0] for s in samples]
    common.log(
        f"  {what:<22} n {len(values):>4}   p50 {common.fmt_ms(common.percentile(values, 50))} ms"
        f"   p99 {common.fmt_ms(common.percentile(values, 99))} ms"
        f"   max {common.fmt_ms(max(values))} ms"
    )


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--attack":
        attack(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return 0
    raise_fd_limit()
    attackers = []
    proc = None
    try:
        binary, _ = common.find_binary()
        with tempfile.TemporaryDirectory(prefix="bindbridge-slowloris-") as workdir:
            proc, port, token, warnings = start_server(binary, workdir)
            common.log(f"server pid {proc.pid} on {HOST}:{port}; attack {ATTACK} connections")
            show_figures("before", proc.pid)
            base, _, _, _ = measure(port, token, 3)
            summary("no attack", base)
            # The attackers hold on a little beyond the measurement, and
            # are stopped after it in any case.
            hold = 30 + SECONDS
            started = time.monotonic()
            for start in range(0, ATTACK, PER_ATTACKER):
                count = min(PER_ATTACKER, ATTACK - start)
                attackers.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--attack",
                     str(port), str(count), str(hold)],
                    stdout=subprocess.PIPE, text=True,
                ))
            for a in attackers:
                a.stdout.readline()  # "holding"
            common.log(f"  flood open after {time.monotonic() - started:.1f} s")
            show_figures("flood open", proc.pid)
            cpu = cpu_seconds(proc.pid)
            fresh, kept, failures, reconnects = measure(port, token, SECONDS)
            cpu = cpu_seconds(proc.pid) - cpu
            show_figures("end of measurement", proc.pid)
            common.log(f"  server CPU while measured: {cpu / SECONDS:.0%} of one core;"
                       f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            summary("fresh connection", fresh)
            summary("kept-alive", kept)
            summary("all", fresh + kept)
            common.log(f"  failures {len(failures)} {sorted(set(str(f[1]) for f in failures))}"
                       f"   kept-alive reconnects {reconnects}")
            took, status, _ = timed_get(port, token)
            common.log(f"  /api under attack: {status} in {common.fmt_ms(took)} ms")
            for a in attackers:
                a.send_signal(signal.SIGTERM)
            counts = [0, 0, 0]
            for a in attackers:
                try:
                    out, _ = a.communicate(timeout=10)
                    words = out.split()
                    for i, key in enumerate(("opened", "reopened", "failed")):
                        counts[i] += int(words[words.index(key) + 1])
                except (subprocess.TimeoutExpired, ValueError, IndexError):
                    a.kill()
            elapsed = time.monotonic() - started
            common.log(f"  attack: {counts[0]} opened, {counts[1]} reopened after the server"
                       f" closed them ({counts[1] / elapsed:.0f}/s), {counts[2]} connects failed")
            time.sleep(3)
            show_figures("3 s after the attack", proc.pid)
            if proc.poll() is not None:
                common.log("the server died")
                return 1
            if warnings:
                common.log("  server log (last lines):\n    " + "\n    ".join(warnings[-5:]))
        return 0
    except common.CannotRun as e:
        print(f"slowloris.py: could not run: {e}", file=sys.stderr)
        return 2
    finally:
        for a in attackers:
            if a.poll() is None:
                a.kill()
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
