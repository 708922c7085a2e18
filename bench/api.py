#!/usr/bin/env python3
"""Benchmark of the bindbridge REST API over real HTTP on 127.0.0.1.

What it measures (sizes at full scale; BENCH_SMALL=1 shrinks them):

  1. Sequential record creation: 2,000 A records, one after another over one
     keep-alive connection, into a zone that already holds 10,000 records.
     p50/p99 latency and records/s.  Targets: p50 <= 1 ms, >= 1,000/s.
  2. Concurrent record creation: 16 threads, each with its own keep-alive
     connection, 500 records each (distinct names), into the same zone.
     p50/p99 latency and total records/s.
  3. Zone detail (GET /api/v1/dns-zones/{uuid}/, every record) of zones with
     10,000 and 100,000 records: 1 warm-up, then 10 timed requests; median
     and max.  Target: 100,000-record zone under 400 ms (median).
  4. Zone list: 10,000 zones created through the API (POST, 8 threads; the
     time it took is reported), then 10 timed GETs of the whole list and 10
     of `?page=1&page_size=100` (median and max), each after 1 warm-up.
  5. Zone creation among 10,000 zones: 500 zones created one after another
     over one keep-alive connection by a second account, so that the check
     that a new zone overlaps no other account's zone meets all of section
     4's.  p50/p99.  Target: p50 <= 2 ms.

Setup: a fresh database in a temporary directory (removed at the end), a
user `bench` with a `dns:*` token, the big zones imported with
`bindbridge import --owner bench` from generated zone files, and
`bindbridge serve --api-listen 127.0.0.1:0` (killed at the end, also on
errors).  The zones of section 4 are created after the imported ones, so
the list holds those too (its size is printed, from X-Total-Count).

Latencies are measured in this (Python) client from sending the request to
reading the whole response, so they include the client's own overhead; the
client and the server share the machine's cores.  A floor is measured first
(GET /healthz over one keep-alive connection: client, HTTP and loopback
without the store) to read the other figures against.

Usage (from anywhere):
  bench/api.py                                   # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/api.py  # skip the build
  BENCH_SMALL=1 bench/api.py                     # quick run, smaller sizes

Environment:
  BINDBRIDGE_BIN  benchmark this binary instead of running
                  `cargo build --release` and using target/release/bindbridge
  BENCH_SMALL     1: zones of 1,000/10,000 records instead of 10,000/100,000,
                  1,000 zones in the list, fewer requests (targets that
                  depend on the sizes are not judged)
  TMPDIR          where the temporary work directory (and database) goes

Exit status: 0 ran (performance targets are reported, not enforced); 1 a
request failed unexpectedly (non-2xx answer, wrong content, lost
connection); 2 could not run (binary missing, build failed, server did not
start, setup command failed).
"""

import collections
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
API = "/api/v1/dns-zones/"

SMALL = os.environ.get("BENCH_SMALL", "") not in ("", "0")

if SMALL:
    BASE_ZONE_RECORDS = 1_000  # zone that sections 1 and 2 write into
    DETAIL_SIZES = (1_000, 10_000)
    SEQ_CREATES = 500
    CONC_THREADS = 16
    CONC_PER_THREAD = 50
    GET_REPS = 3
    LIST_ZONES = 1_000
    ZONE_SEQ_CREATES = 100
else:
    BASE_ZONE_RECORDS = 10_000
    DETAIL_SIZES = (10_000, 100_000)
    SEQ_CREATES = 2_000
    CONC_THREADS = 16
    CONC_PER_THREAD = 500
    GET_REPS = 10
    LIST_ZONES = 10_000
    ZONE_SEQ_CREATES = 500
ZONE_CREATE_THREADS = 8
FLOOR_REQUESTS = 500 if SMALL else 2_000
PAGE_QUERY = "?page=1&page_size=100"

# Targets (from the brief / PERFORMANCE goals).
TARGET_SEQ_P50_MS = 1.0
TARGET_SEQ_RATE = 1_000.0
TARGET_DETAIL_MS = 400.0
TARGET_DETAIL_SIZE = 100_000
TARGET_ZONE_P50_MS = 2.0

SERVER_START_TIMEOUT = 60.0
HTTP_TIMEOUT = 300.0


class CannotRun(Exception):
    """The benchmark cannot run (exit 2)."""


class RequestFailed(Exception):
    """A request failed unexpectedly (exit 1)."""


class Interrupted(Exception):
    """A signal asked the benchmark to stop; worker threads end with it."""


# Set on SIGTERM/SIGINT/SIGHUP, so that worker threads stop after their
# current request and the server and work directory are cleaned up.
STOP = threading.Event()


def log(msg=""):
    print(msg, flush=True)


def fmt_int(n):
    return f"{n:,}"


def fmt_ms(seconds):
    return f"{seconds * 1000:.2f}"


def percentile(values, p):
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


# --------------------------------------------------------------------------
# Commands, binary, server


def run_cmd(args, what, input_text=None):
    """Runs a bindbridge command; its stdout, or CannotRun."""
    try:
        p = subprocess.run(args, input=input_text, capture_output=True, text=True)
    except OSError as e:
        raise CannotRun(f"{what}: cannot run {args[0]}: {e}") from e
    if p.returncode != 0:
        raise CannotRun(
            f"{what} failed (exit {p.returncode}): {' '.join(args)}\n"
            f"{p.stdout[-2000:]}{p.stderr[-2000:]}"
        )
    return p.stdout


def find_binary():
    env = os.environ.get("BINDBRIDGE_BIN")
    if env:
        binary = os.path.abspath(env)
        source = "from BINDBRIDGE_BIN; not built by this script"
    else:
        log("building: cargo build --release (set BINDBRIDGE_BIN to skip)")
        try:
            p = subprocess.run(["cargo", "build", "--release"], cwd=REPO)
        except OSError as e:
            raise CannotRun(f"cannot run cargo: {e}") from e
        if p.returncode != 0:
            raise CannotRun(f"cargo build --release failed (exit {p.returncode})")
        binary = os.path.join(REPO, "target", "release", "bindbridge")
        source = "cargo build --release"
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise CannotRun(f"no executable bindbridge at {binary}")
    try:
        p = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True)
    except OSError as e:
        raise CannotRun(f"cannot run {binary}: {e}") from e
    if p.returncode != 0:
        raise CannotRun(
            f"{binary} has no working 'serve' command (a build older than the API?)"
        )
    return binary, source


def require_tools(tools):
    """CannotRun unless every program of `tools` is on PATH."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise CannotRun(f"{tool} not found (Debian: apt-get install bind9 bind9-utils)")


def git_commit():
    try:
        head = subprocess.run(
            ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout?)"
    dirty = subprocess.run(
        ["git", "-C", REPO, "diff", "--quiet", "HEAD", "--"], capture_output=True
    ).returncode
    return head + (" (tracked files modified)" if dirty else "")


def machine():
    try:
        cores = subprocess.run(
            ["nproc"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        cores = str(os.cpu_count())
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cores, model


class Server:
    """`bindbridge serve` on 127.0.0.1, an ephemeral port."""

    def __init__(self, binary, db):
        self.tail = collections.deque(maxlen=40)
        self.port = None
        # The API alone: zones are not deployed to a named (the deploy
        # path has its own benchmark).
        config = os.path.join(os.path.dirname(db), "api-bench.toml")
        with open(config, "w") as f:
            f.write("[deploy]\nenabled = false\n")
        try:
            self.proc = subprocess.Popen(
                [binary, "--db", db, "serve", "--api-listen", f"{HOST}:0", "--config", config],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as e:
            raise CannotRun(f"cannot start the server: {e}") from e
        ready = threading.Event()

        def drain():
            prefix = "API listening on http://"
            for line in self.proc.stderr:
                self.tail.append(line.rstrip("\n"))
                if self.port is None and prefix in line:
                    address = line.split(prefix, 1)[1].strip().rstrip("/")
                    try:
                        self.port = int(address.rsplit(":", 1)[1])
                    except (IndexError, ValueError):
                        pass
                    ready.set()
            ready.set()  # the server exited

        threading.Thread(target=drain, daemon=True).start()
        ready.wait(SERVER_START_TIMEOUT)
        if self.port is None:
            self.stop()
            raise CannotRun(
                "the server did not report its address:\n" + "\n".join(self.tail)
            )

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RequestFailed(
                f"the server exited (status {self.proc.returncode}):\n"
                + "\n".join(self.tail)
            )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive connection with the bench token."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.auth = f"Bearer {token}"

    def request(self, method, path, body=None):
        """(status, headers, body bytes, seconds): send to end of the body."""
        if STOP.is_set():
            raise Interrupted()
        headers = {"Authorization": self.auth}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise RequestFailed(f"{method} {path}: {type(e).__name__}: {e}") from e
        elapsed = time.perf_counter() - start
        if not 200 <= resp.status < 300:
            raise RequestFailed(
                f"{method} {path} -> {resp.status}: {payload[:1000].decode(errors='replace')}"
            )
        if resp.will_close:
            # Keep-alive is part of what is measured: a closed connection
            # would make the next request pay for a new one.
            raise RequestFailed(f"{method} {path}: the server closed the keep-alive connection")
        return resp.status, resp.headers, payload, elapsed

    def json(self, method, path, body=None):
        status, headers, payload, elapsed = self.request(method, path, body)
        try:
            return status, headers, json.loads(payload), elapsed
        except ValueError as e:
            raise RequestFailed(f"{method} {path}: the answer is not JSON: {e}") from e

    def close(self):
        self.conn.close()


# --------------------------------------------------------------------------
# Setup


def user_with_token(binary, db, user):
    """Adds `user` and makes it a dns:* token, which it returns."""
    run_cmd([binary, "--db", db, "user", "add", user], "user add")
    token = run_cmd(
        [binary, "--db", db, "token", "create", "--user", user,
         "--permissions", "dns:*", "--name", "bench"],
        "token create",
    ).strip()
    if not token or len(token.split()) != 1:
        raise CannotRun(f"token create printed no single token: {token!r}")
    return token


def zone_text(origin, records):
    lines = [
        f"$ORIGIN {origin}.",
        "$TTL 3600",
        "@ SOA ns1.vps.org. hostmaster.vps.org. 1 7200 3600 1209600 3600",
        "@ NS ns1.vps.org.",
        "@ NS ns2.vps.org.",
    ]
    # 198.18.0.0/15 (benchmarking range) holds 131,072 addresses.
    lines.extend(
        f"h{i} A 198.{18 + (i >> 16) % 2}.{(i >> 8) & 255}.{i & 255}"
        for i in range(records)
    )
    return "\n".join(lines) + "\n"


def import_zone(binary, db, workdir, origin, records):
    path = os.path.join(workdir, f"{origin}.zone")
    with open(path, "w", encoding="ascii") as f:
        f.write(zone_text(origin, records))
    start = time.perf_counter()
    run_cmd(
        [binary, "--db", db, "import", "--owner", "bench", "--origin", origin, path],
        f"import of {origin}",
    )
    elapsed = time.perf_counter() - start
    os.unlink(path)
    log(f"  imported {origin}: {fmt_int(records)} records in {elapsed:.1f} s")


def zone_uuid(client, domain, expected_records):
    _, _, zones, _ = client.json("GET", f"{API}?domain={domain}")
    if len(zones) != 1 or zones[0].get("domain") != domain:
        raise RequestFailed(f"zone {domain} not found through the API: {zones!r:.300}")
    zone = zones[0]
    if zone.get("record_count") != expected_records:
        raise RequestFailed(
            f"zone {domain}: record_count {zone.get('record_count')}, expected {expected_records}"
        )
    return zone["uuid"]


# --------------------------------------------------------------------------
# Sections


def bench_floor(port, token):
    """GET /healthz over one keep-alive connection: what the client, HTTP
    and the loopback cost without the store, to read the others against."""
    client = Client(port, token)
    latencies = []
    try:
        for _ in range(FLOOR_REQUESTS):
            _, _, _, elapsed = client.request("GET", "/healthz")
            latencies.append(elapsed)
    finally:
        client.close()
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def bench_sequential(port, token, uuid):
    client = Client(port, token)
    path = f"{API}{uuid}/records/"
    latencies = []
    try:
        start = time.perf_counter()
        for i in range(SEQ_CREATES):
            body = {"record_type": "A", "name": f"seq{i}", "value": "192.0.2.1", "ttl": 3600}
            status, _, _, elapsed = client.request("POST", path, body)
            if status != 201:
                raise RequestFailed(f"POST {path} -> {status}, expected 201")
            latencies.append(elapsed)
        wall = time.perf_counter() - start
    finally:
        client.close()
    return {
        "n": SEQ_CREATES,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "rate": SEQ_CREATES / wall,
        "wall": wall,
    }


def bench_concurrent(port, token, uuid):
    path = f"{API}{uuid}/records/"
    barrier = threading.Barrier(CONC_THREADS + 1)
    clients = [Client(port, token) for _ in range(CONC_THREADS)]

    def worker(t):
        latencies = []
        client = clients[t]
        barrier.wait(timeout=120)
        for i in range(CONC_PER_THREAD):
            body = {"record_type": "A", "name": f"c{t}-{i}", "value": "192.0.2.2", "ttl": 3600}
            status, _, _, elapsed = client.request("POST", path, body)
            if status != 201:
                raise RequestFailed(f"POST {path} -> {status}, expected 201")
            latencies.append(elapsed)
        return latencies, time.perf_counter()

    try:
        with concurrent.futures.ThreadPoolExecutor(CONC_THREADS) as pool:
            futures = [pool.submit(worker, t) for t in range(CONC_THREADS)]
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError as e:
                raise CannotRun("the client threads did not start") from e
            except BaseException:
                barrier.abort()  # a signal: let no worker wait for the others
                raise
            start = time.perf_counter()
            latencies, ends = [], []
            failure = None
            for f in futures:
                try:
                    lat, end = f.result()
                    latencies.extend(lat)
                    ends.append(end)
                except RequestFailed as e:
                    failure = failure or e
            if failure:
                raise failure
    finally:
        for c in clients:
            c.close()
    total = CONC_THREADS * CONC_PER_THREAD
    wall = max(ends) - start
    return {
        "n": total,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "rate": total / wall,
        "wall": wall,
    }


def timed_gets(client, path, reps):
    """1 warm-up (returned, parsed), then `reps` timed GETs; also the size of
    the last answer."""
    _, headers, warm, _ = client.json("GET", path)
    times = []
    size = 0
    for _ in range(reps):
        _, _, payload, elapsed = client.request("GET", path)
        times.append(elapsed)
        size = len(payload)
    return warm, headers, times, size


def bench_detail(port, token, uuid, records):
    client = Client(port, token)
    try:
        zone, _, times, size = timed_gets(client, f"{API}{uuid}/", GET_REPS)
    finally:
        client.close()
    got = len(zone.get("records", []))
    if got != records or zone.get("record_count") != records:
        raise RequestFailed(
            f"zone detail has {got} records (record_count {zone.get('record_count')}), expected {records}"
        )
    return {
        "records": records,
        "median": statistics.median(times),
        "max": max(times),
        "bytes": size,
    }


def create_zones(port, token, count):
    """Creates `count` zones with ZONE_CREATE_THREADS connections."""
    per_thread = [list(range(t, count, ZONE_CREATE_THREADS)) for t in range(ZONE_CREATE_THREADS)]
    clients = [Client(port, token) for _ in range(ZONE_CREATE_THREADS)]

    def worker(t):
        for i in per_thread[t]:
            status, _, _, _ = clients[t].request("POST", API, {"domain": f"z{i:05d}.bench-list.test"})
            if status != 201:
                raise RequestFailed(f"POST {API} -> {status}, expected 201")

    try:
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(ZONE_CREATE_THREADS) as pool:
            for f in [pool.submit(worker, t) for t in range(ZONE_CREATE_THREADS)]:
                f.result()
        return time.perf_counter() - start
    finally:
        for c in clients:
            c.close()


def bench_zone_creation(port, token):
    """Zones created one after another by the second account."""
    client = Client(port, token)
    latencies = []
    try:
        for i in range(ZONE_SEQ_CREATES):
            status, _, _, elapsed = client.request("POST", API, {"domain": f"z{i:05d}.bench-other.test"})
            if status != 201:
                raise RequestFailed(f"POST {API} -> {status}, expected 201")
            latencies.append(elapsed)
    finally:
        client.close()
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def bench_list(port, token, expected_total):
    client = Client(port, token)
    try:
        zones, headers, full_times, _ = timed_gets(client, API, GET_REPS)
        page, page_headers, page_times, _ = timed_gets(client, API + PAGE_QUERY, GET_REPS)
    finally:
        client.close()
    if len(zones) != expected_total or headers.get("X-Total-Count") != str(expected_total):
        raise RequestFailed(
            f"zone list: {len(zones)} zones (X-Total-Count {headers.get('X-Total-Count')}), "
            f"expected {expected_total}"
        )
    if len(page) != min(100, expected_total) or page_headers.get("X-Total-Count") != str(expected_total):
        raise RequestFailed(
            f"zone list page: {len(page)} zones (X-Total-Count {page_headers.get('X-Total-Count')})"
        )
    return {
        "total": expected_total,
        "median": statistics.median(full_times),
        "max": max(full_times),
        "page_median": statistics.median(page_times),
        "page_max": max(page_times),
    }


# --------------------------------------------------------------------------
# Report


def verdict(ok):
    return "target met" if ok else "target MISSED"


def print_table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    def line(r):
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths))
        )
    log(line(headers))
    log("  ".join("-" * w for w in widths))
    for r in rows:
        log(line(r))


def report(info, floor, seq, conc, details, zones_wall, lst, zone_seq):
    log()
    log("=" * 78)
    log(f"bindbridge REST API benchmark{'  (BENCH_SMALL: reduced sizes)' if SMALL else ''}")
    log(f"machine: {info['cores']} cores ({info['model'] or 'unknown CPU'})")
    log(f"load average (1, 5, 15 min) at the end: {info['load']}")
    log(f"bindbridge commit (of the tree): {info['commit']}")
    log(f"binary: {info['binary']} ({info['source']})")
    log("=" * 78)
    log()
    print_table(
        ["record creation (POST …/records/)", "records", "p50 ms", "p99 ms", "records/s"],
        [
            [f"sequential, 1 connection, zone of {fmt_int(BASE_ZONE_RECORDS)}",
             fmt_int(seq["n"]), fmt_ms(seq["p50"]), fmt_ms(seq["p99"]), f"{seq['rate']:,.0f}"],
            [f"{CONC_THREADS} threads × {fmt_int(CONC_PER_THREAD)}, same zone",
             fmt_int(conc["n"]), fmt_ms(conc["p50"]), fmt_ms(conc["p99"]), f"{conc['rate']:,.0f}"],
        ],
    )
    log()
    rows = [
        [f"zone detail, {fmt_int(d['records'])} records ({d['bytes'] / 1e6:.1f} MB)",
         str(GET_REPS), fmt_ms(d["median"]), fmt_ms(d["max"])]
        for d in details
    ]
    rows.append([f"zone list, {fmt_int(lst['total'])} zones (whole list)",
                 str(GET_REPS), fmt_ms(lst["median"]), fmt_ms(lst["max"])])
    rows.append([f"zone list, {fmt_int(lst['total'])} zones, {PAGE_QUERY}",
                 str(GET_REPS), fmt_ms(lst["page_median"]), fmt_ms(lst["page_max"])])
    print_table(["GET", "requests", "median ms", "max ms"], rows)
    log()
    log(f"creating {fmt_int(LIST_ZONES)} zones (POST, {ZONE_CREATE_THREADS} threads): "
        f"{zones_wall:.1f} s ({LIST_ZONES / zones_wall:,.0f} zones/s)")
    log(f"creating {fmt_int(ZONE_SEQ_CREATES)} zones of another account among them "
        f"(1 connection): p50 {fmt_ms(zone_seq['p50'])} ms, p99 {fmt_ms(zone_seq['p99'])} ms")
    log(f"floor (GET /healthz, {fmt_int(FLOOR_REQUESTS)} requests, 1 connection; client + HTTP, no store): "
        f"p50 {fmt_ms(floor['p50'])} ms, p99 {fmt_ms(floor['p99'])} ms")
    log()

    seq_p50_ok = seq["p50"] * 1000 <= TARGET_SEQ_P50_MS
    seq_rate_ok = seq["rate"] >= TARGET_SEQ_RATE
    log(f"{verdict(seq_p50_ok)}: sequential create p50 {fmt_ms(seq['p50'])} ms "
        f"(target <= {TARGET_SEQ_P50_MS:g} ms)")
    log(f"{verdict(seq_rate_ok)}: sequential creates {seq['rate']:,.0f}/s "
        f"(target >= {TARGET_SEQ_RATE:,.0f}/s)")
    zone_p50_ok = zone_seq["p50"] * 1000 <= TARGET_ZONE_P50_MS
    log(f"{verdict(zone_p50_ok)}: zone create p50 among {fmt_int(LIST_ZONES)} zones "
        f"{fmt_ms(zone_seq['p50'])} ms (target <= {TARGET_ZONE_P50_MS:g} ms)")
    big = [d for d in details if d["records"] == TARGET_DETAIL_SIZE]
    detail_target = f"{fmt_int(TARGET_DETAIL_SIZE)}-record zone detail median < {TARGET_DETAIL_MS:g} ms"
    if big:
        ok = big[0]["median"] * 1000 < TARGET_DETAIL_MS
        log(f"{verdict(ok)}: {fmt_int(TARGET_DETAIL_SIZE)}-record zone detail median "
            f"{fmt_ms(big[0]['median'])} ms (target < {TARGET_DETAIL_MS:g} ms)")
        detail_cell = f"{verdict(ok)}"
    else:
        log(f"target not judged: {detail_target} (BENCH_SMALL has no such zone)")
        detail_cell = "not judged (BENCH_SMALL)"

    # Markdown for the README.
    log()
    log("Markdown (for the README):")
    log()
    log(f"Machine: {info['cores']} cores ({info['model'] or 'unknown CPU'}); "
        f"bindbridge {info['commit']}; client: bench/api.py (Python http.client, same machine)"
        + ("; BENCH_SMALL sizes" if SMALL else "") + f"; load average {info['load']}.")
    log()
    log("| Benchmark | p50 / median | p99 / max | Throughput | Target |")
    log("|---|---:|---:|---:|---|")
    log(f"| Create A record, sequential, 1 keep-alive connection, zone of {fmt_int(BASE_ZONE_RECORDS)} records "
        f"({fmt_int(seq['n'])} requests) | {fmt_ms(seq['p50'])} ms | {fmt_ms(seq['p99'])} ms | "
        f"{seq['rate']:,.0f} records/s | p50 ≤ 1 ms: {'met' if seq_p50_ok else 'MISSED'}; "
        f"≥ 1,000/s: {'met' if seq_rate_ok else 'MISSED'} |")
    log(f"| Create A record, {CONC_THREADS} threads × {fmt_int(CONC_PER_THREAD)}, same zone "
        f"| {fmt_ms(conc['p50'])} ms | {fmt_ms(conc['p99'])} ms | {conc['rate']:,.0f} records/s | |")
    for d in details:
        target = ""
        if d["records"] == TARGET_DETAIL_SIZE:
            target = f"< 400 ms: {'met' if d['median'] * 1000 < TARGET_DETAIL_MS else 'MISSED'}"
        log(f"| GET zone detail, {fmt_int(d['records'])} records ({d['bytes'] / 1e6:.1f} MB JSON) "
            f"| {fmt_ms(d['median'])} ms | {fmt_ms(d['max'])} ms | | {target} |")
    log(f"| GET zone list, {fmt_int(lst['total'])} zones | {fmt_ms(lst['median'])} ms | "
        f"{fmt_ms(lst['max'])} ms | | |")
    log(f"| GET zone list, {fmt_int(lst['total'])} zones, `{PAGE_QUERY}` | {fmt_ms(lst['page_median'])} ms | "
        f"{fmt_ms(lst['page_max'])} ms | | |")
    log(f"| Create {fmt_int(LIST_ZONES)} zones, {ZONE_CREATE_THREADS} threads | | | "
        f"{LIST_ZONES / zones_wall:,.0f} zones/s ({zones_wall:.1f} s) | |")
    log(f"| Create zone, sequential, 1 keep-alive connection, another account's {fmt_int(LIST_ZONES)} zones "
        f"({fmt_int(ZONE_SEQ_CREATES)} requests) | {fmt_ms(zone_seq['p50'])} ms | {fmt_ms(zone_seq['p99'])} ms | | "
        f"p50 ≤ 2 ms: {'met' if zone_p50_ok else 'MISSED'} |")
    log(f"| Floor: GET /healthz, 1 keep-alive connection (client + HTTP, no store) "
        f"| {fmt_ms(floor['p50'])} ms | {fmt_ms(floor['p99'])} ms | | |")
    if not big:
        log()
        log(f"({detail_target}: {detail_cell}.)")


# --------------------------------------------------------------------------


def main():
    def on_signal(signum, _frame):
        STOP.set()
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    server_tail = None
    try:
        binary, source = find_binary()
        cores, model = machine()
        info = {"cores": cores, "model": model, "commit": git_commit(),
                "binary": binary, "source": source}
        log(f"machine: {cores} cores ({model or 'unknown CPU'}); bindbridge commit {info['commit']}")
        log(f"binary: {binary}")
        with tempfile.TemporaryDirectory(prefix="bindbridge-apibench-") as workdir:
            db = os.path.join(workdir, "bench.db")
            log(f"setup in {workdir}")
            token = user_with_token(binary, db, "bench")
            other_token = user_with_token(binary, db, "bench-other")
            base = "bench-writes.test"
            import_zone(binary, db, workdir, base, BASE_ZONE_RECORDS)
            detail_zones = [(f"bench-{n}.test", n) for n in DETAIL_SIZES]
            for name, n in detail_zones:
                import_zone(binary, db, workdir, name, n)

            server = Server(binary, db)
            server_tail = server.tail
            try:
                results = run_benchmarks(server, token, other_token, base, detail_zones)
            finally:
                # Before the work directory goes.
                server.stop()
        info["load"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        report(info, *results)
        return 0
    except CannotRun as e:
        print(f"api.py: could not run: {e}", file=sys.stderr)
        return 2
    except RequestFailed as e:
        print(f"api.py: request failed: {e}", file=sys.stderr)
        if server_tail:
            print("server stderr (last lines):\n" + "\n".join(server_tail), file=sys.stderr)
        return 1


def run_benchmarks(server, token, other_token, base, detail_zones):
    log(f"server listening on {HOST}:{server.port}")
    probe = Client(server.port, token)
    try:
        base_uuid = zone_uuid(probe, base, BASE_ZONE_RECORDS)
        detail_uuids = [(zone_uuid(probe, name, n), n) for name, n in detail_zones]
    finally:
        probe.close()

    floor = bench_floor(server.port, token)
    log(f"0. floor, GET /healthz: p50 {fmt_ms(floor['p50'])} ms, p99 {fmt_ms(floor['p99'])} ms")

    log(f"1. sequential: {fmt_int(SEQ_CREATES)} creates into a zone of "
        f"{fmt_int(BASE_ZONE_RECORDS)} records …")
    seq = bench_sequential(server.port, token, base_uuid)
    log(f"   p50 {fmt_ms(seq['p50'])} ms, p99 {fmt_ms(seq['p99'])} ms, {seq['rate']:,.0f} records/s")
    server.check_alive()

    log(f"2. concurrent: {CONC_THREADS} threads × {fmt_int(CONC_PER_THREAD)} creates …")
    conc = bench_concurrent(server.port, token, base_uuid)
    log(f"   p50 {fmt_ms(conc['p50'])} ms, p99 {fmt_ms(conc['p99'])} ms, {conc['rate']:,.0f} records/s")
    server.check_alive()

    # Every record created is there.
    probe = Client(server.port, token)
    try:
        zone_uuid(probe, base, BASE_ZONE_RECORDS + SEQ_CREATES + CONC_THREADS * CONC_PER_THREAD)
    finally:
        probe.close()

    details = []
    for uuid, n in detail_uuids:
        log(f"3. zone detail, {fmt_int(n)} records: 1 warm-up + {GET_REPS} GETs …")
        d = bench_detail(server.port, token, uuid, n)
        log(f"   median {fmt_ms(d['median'])} ms, max {fmt_ms(d['max'])} ms")
        details.append(d)
    server.check_alive()

    log(f"4. creating {fmt_int(LIST_ZONES)} zones ({ZONE_CREATE_THREADS} threads of POSTs) …")
    zones_wall = create_zones(server.port, token, LIST_ZONES)
    log(f"   {zones_wall:.1f} s ({LIST_ZONES / zones_wall:,.0f} zones/s)")
    total = LIST_ZONES + 1 + len(detail_zones)
    log(f"   zone list ({fmt_int(total)} zones): 1 warm-up + {GET_REPS} GETs, "
        f"and the same for {PAGE_QUERY} …")
    lst = bench_list(server.port, token, total)
    log(f"   median {fmt_ms(lst['median'])} ms; paginated median {fmt_ms(lst['page_median'])} ms")
    server.check_alive()

    log(f"5. creating {fmt_int(ZONE_SEQ_CREATES)} zones of another account, one after another …")
    zone_seq = bench_zone_creation(server.port, other_token)
    log(f"   p50 {fmt_ms(zone_seq['p50'])} ms, p99 {fmt_ms(zone_seq['p99'])} ms")
    server.check_alive()
    return floor, seq, conc, details, zones_wall, lst, zone_seq

if __name__ == "__main__":
    sys.exit(main())
