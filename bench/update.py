#!/usr/bin/env python3
"""Benchmark of the DNS UPDATE path (RFC 2136 signed with TSIG), with
BIND's own dynamic update as the reference, in one run.

Two servers on 127.0.0.1, each with two zones of ZONE_RECORDS A records
(the same zone files), `tput.update-bench.example` and
`lat.update-bench.example`:

  bindbridge  `bindbridge serve --dev` (its private named at a free port,
              its UPDATE listener at the free port it prints), a user
              `bench` with a `dns:*` token and a TSIG key made by
              `bindbridge tsig create --algorithm hmac-sha256` for both
              zones.
  BIND        a plain named of its own (`named -g`, its own named.conf at
              another free port): both zones `type master` with
              `allow-update { key ...; }` (so with a journal), the same
              key (BIND's `key` clause as `tsig create` printed it).

What it measures:

  1. Throughput: UPDATE_COUNT (default 2,000) UPDATEs one after another
     over ONE TCP connection (dnspython: dns.update.UpdateMessage signed
     hmac-sha256, built and signed before the clock starts as a load
     generator does; dns.query.send_tcp/receive_tcp), each adding a
     distinct TXT record `_acme-challenge.hostN` to the tput zone:
     acknowledged updates per second and the round trip's p50/p99 (the
     client reading each reply and checking its TSIG included; what
     building and signing one message costs the client is printed as the
     client floor). Also,
     for each server, the time from the first UPDATE sent until its named
     serves the last record (the burst served), and the CPU the server
     processes used for the burst (for bindbridge: serve itself, its
     children such as named-checkzone, and its named).
  2. UPDATE -> served: UPDATE_ROUNDS (default 50) single UPDATEs, each on
     its own TCP connection (as certbot's dns-rfc2136 plugin sends them),
     each adding `_acme-challenge.uN` to the lat zone; the time from
     sending it until the named answers the new TXT record (dnspython UDP
     queries to 127.0.0.1, one every POLL_EVERY, 2 ms); p50/p99. For
     bindbridge the named is its private one (the deploy target); for
     BIND the named that took the UPDATE (it serves the change once it
     answers, and is measured the same way).
  3. REST -> served: the same change through the API (POST
     /api/v1/dns-zones/{uuid}/records/ with the token, a new HTTP
     connection each) until bindbridge's named answers it; p50/p99, and
     the ratio UPDATE->served p50 / REST->served p50.

The rounds of 2 and 3 alternate with a BIND UPDATE->served round (one of
each per round, UPDATE_GAP apart), so that the machine's noise falls on
all three. bindbridge's deploys during each part are read from its
/metrics (bindbridge_deploys_total, bindbridge_deploy_duration_seconds).

Targets (reported, not enforced): >= 500 acknowledged UPDATEs/s
sequentially over one TCP connection with TSIG; UPDATE->served p50 within
1.3x of REST->served p50.

Everything is on loopback; every process it starts (serve and its named,
the reference named) runs in a process group of its own, which is killed
at the end, also on errors and signals; all files are in one temporary
directory, removed at the end (TMPDIR picks where).

Usage (from anywhere):
  bench/update.py                                      # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/update.py   # skip the build
  UPDATE_COUNT=500 UPDATE_ROUNDS=10 bench/update.py    # quick run

Environment:
  BINDBRIDGE_BIN       this binary instead of `cargo build --release`
  UPDATE_COUNT         sequential UPDATEs of part 1 (default 2000)
  UPDATE_ROUNDS        rounds of parts 2 and 3 (default 50)
  UPDATE_ZONE_RECORDS  A records in each zone before the bench (default 1000)
  UPDATE_CONFIG        extra lines for serve's configuration file, e.g.
                       "[update]\\nreply_when_served = true" (written to
                       a file given with --config; default none)
  TMPDIR               where the temporary work directory goes

Needs /usr/bin/python3 with dnspython (Debian: python3-dnspython) and the
BIND tools (named, named-checkzone, rndc, tsig-keygen).

Exit status: 0 ran (the targets are reported, not enforced); 1 a step
failed (an UPDATE or POST refused, a record never served, a server died);
2 could not run.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# Nothing written outside the temporary directory, not even bytecode for
# the helpers imported below.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as common  # noqa: E402  (the API benchmark's helpers)
import deploy  # noqa: E402  (free_port, StepFailed, BIND_TOOLS)

try:
    import dns.exception
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.update
except ImportError:  # reported in main()
    dns = None

HOST = "127.0.0.1"
COUNT = int(os.environ.get("UPDATE_COUNT", "2000"))
ROUNDS = int(os.environ.get("UPDATE_ROUNDS", "50"))
ZONE_RECORDS = int(os.environ.get("UPDATE_ZONE_RECORDS", "1000"))
EXTRA_CONFIG = os.environ.get("UPDATE_CONFIG", "").replace("\\n", "\n")
TPUT_ZONE = "tput.update-bench.example"
LAT_ZONE = "lat.update-bench.example"
KEY_NAME = "bench-update"
ALGORITHM = "hmac-sha256"
TTL = 60

POLL_EVERY = 0.002  # between two queries asking whether a record is served
UPDATE_GAP = 0.2  # between two rounds of parts 2 and 3 (the deploy settles)
SERVE_TIMEOUT = 60.0  # for one record of parts 2 and 3 to be served
BURST_SERVE_TIMEOUT = 600.0  # for the last record of part 1
START_TIMEOUT = 60.0
QUERY_TIMEOUT = 2.0
UPDATE_TIMEOUT = 30.0

TARGET_RATE = 500.0
TARGET_RATIO = 1.3

StepFailed = deploy.StepFailed
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# Processes


def stop_group(proc, grace):
    """SIGTERM to `proc`; after `grace` s (or at once if it is gone), SIGKILL
    to its whole process group, which catches its children too."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        except OSError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def cpu_seconds(pid):
    """(own, waited-for children) CPU seconds of `pid`, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0, 0.0
    # After the command: state is field 3; utime, stime, cutime, cstime
    # are fields 14..17 (indices 11..14 here).
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def children(pid):
    """The pids of `pid`'s children (of all its threads)."""
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                    out.update(int(c) for c in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def process_name(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


class Bindbridge:
    """`bindbridge serve --dev` in `workdir/dev`: its API, its UPDATE
    listener and its private named."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.data = os.path.join(workdir, "dev")
        self.db = os.path.join(self.data, "bindbridge.db")
        self.dns = (HOST, deploy.free_port())
        self.base = None
        self.update = None
        self.tail = []
        config = []
        if EXTRA_CONFIG:
            path = os.path.join(workdir, "serve.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(EXTRA_CONFIG + "\n")
            config = ["--config", path]
        self.proc = subprocess.Popen(
            [binary, "serve", "--dev", "--data-dir", self.data,
             "--api-listen", f"{HOST}:0", "--dns-listen", f"{HOST}:{self.dns[1]}",
             "--update-listen", f"{HOST}:0"] + config,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, BINDBRIDGE_LOG="warn"),
            start_new_session=True,  # its own process group, named included
        )
        ready = threading.Event()

        def drain():
            api_prefix = "bindbridge: API listening on "
            update_marker = "DNS UPDATE (RFC 2136, TSIG) listening on "
            for line in self.proc.stderr:
                self.tail = (self.tail + [line.rstrip()])[-40:]
                if line.startswith(api_prefix):
                    self.base = line[len(api_prefix):].strip()
                elif update_marker in line:
                    address = line.split(update_marker, 1)[1].split()[0]
                    host, port = address.rsplit(":", 1)
                    self.update = (host, int(port))
                if self.base and self.update:
                    ready.set()
            ready.set()  # it exited

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(START_TIMEOUT) or not (self.base and self.update):
            self.stop()
            raise common.CannotRun(
                "serve --dev did not report its API and UPDATE addresses:\n"
                + "\n".join(self.tail))
        if self.update[0] != HOST:
            self.stop()
            raise common.CannotRun(f"the UPDATE listener is not on {HOST}: {self.update}")
        self.port = int(self.base.rsplit(":", 1)[1].rstrip("/"))

    def check_alive(self):
        if self.proc.poll() is not None:
            raise StepFailed(f"serve exited (status {self.proc.returncode}):\n"
                             + "\n".join(self.tail))

    def named_pids(self):
        return [p for p in children(self.proc.pid) if process_name(p) == "named"]

    def cpu(self):
        """CPU seconds so far: serve, its finished children, its named."""
        own, waited = cpu_seconds(self.proc.pid)
        named = sum(cpu_seconds(p)[0] for p in self.named_pids())
        return {"serve": own, "children": waited, "named": named}

    def metrics(self):
        """bindbridge_deploys_total (ok) and the deploy duration sum/count."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            reply = conn.getresponse()
            text = reply.read().decode()
        finally:
            conn.close()
        if reply.status != 200:
            raise StepFailed(f"GET /metrics -> {reply.status}")
        values = {}
        for key, pattern in (
            ("deploys", r'^bindbridge_deploys_total\{result="ok"\} (\S+)$'),
            ("failed", r'^bindbridge_deploys_total\{result="failed"\} (\S+)$'),
            ("seconds", r"^bindbridge_deploy_duration_seconds_sum (\S+)$"),
            ("count", r"^bindbridge_deploy_duration_seconds_count (\S+)$"),
        ):
            m = re.search(pattern, text, re.M)
            values[key] = float(m.group(1)) if m else 0.0
        return values

    def stop(self):
        # SIGTERM lets serve stop its named the orderly way; the group
        # kill afterwards catches whatever is left.
        stop_group(self.proc, 30)


class ReferenceNamed:
    """A plain named of its own on 127.0.0.1 at a free port, with both
    zones dynamic (allow-update with the bench key)."""

    def __init__(self, workdir, key_clause, zone_files):
        self.dir = os.path.join(workdir, "bind")
        os.makedirs(self.dir)
        self.dns = (HOST, deploy.free_port())
        zones = "".join(
            f'zone "{origin}" {{\n\ttype master;\n\tfile "{path}";\n'
            f'\tjournal "{path}.jnl";\n\tallow-update {{ key "{KEY_NAME}"; }};\n}};\n'
            for origin, path in zone_files
        )
        conf = os.path.join(self.dir, "named.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(
                "# bench/update.py: the reference named (BIND's own dynamic update).\n"
                f"{key_clause}"
                "options {\n"
                f'\tdirectory "{self.dir}";\n'
                f'\tpid-file "{self.dir}/named.pid";\n'
                f'\tsession-keyfile "{self.dir}/session.key";\n'
                f'\tmanaged-keys-directory "{self.dir}";\n'
                f'\tdump-file "{self.dir}/named_dump.db";\n'
                f'\tstatistics-file "{self.dir}/named.stats";\n'
                f"\tlisten-on port {self.dns[1]} {{ {HOST}; }};\n"
                "\tlisten-on-v6 { none; };\n"
                "\trecursion no;\n"
                "\tallow-transfer { none; };\n"
                "\tnotify no;\n"
                "\tdnssec-validation no;\n"
                "};\n"
                f"{zones}"
            )
        self.log_path = os.path.join(self.dir, "named.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["named", "-g", "-c", conf],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )

    def log_tail(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-30:])
        except OSError:
            return ""

    def check_alive(self):
        if self.proc.poll() is not None:
            raise StepFailed(f"the reference named exited (status {self.proc.returncode}):\n"
                             + self.log_tail())

    def cpu(self):
        return {"named": cpu_seconds(self.proc.pid)[0]}

    def stop(self):
        stop_group(self.proc, 15)


# --------------------------------------------------------------------------
# DNS


def parse_key(clause):
    """(name, algorithm, secret) of a BIND `key` clause."""
    m = re.search(
        r'key\s+"?([^"\s{]+)"?\s*\{[^}]*?algorithm\s+([\w-]+)\s*;[^}]*?secret\s+"([^"]+)"',
        clause, re.S)
    if not m:
        raise common.CannotRun(f"tsig create printed no key clause: {clause!r:.300}")
    return m.group(1), m.group(2), m.group(3)


class Client:
    """Sends UPDATEs signed with the bench key, and asks whether records
    are served."""

    def __init__(self, key_clause):
        name, algorithm, secret = parse_key(key_clause)
        if algorithm != ALGORITHM:
            raise common.CannotRun(f"the key's algorithm is {algorithm}, not {ALGORITHM}")
        self.key = dns.tsig.Key(name, secret, dns.tsig.HMAC_SHA256)
        # dnspython waits for a socket it is given only if it does not
        # block (a blocking one would wait forever for a lost answer).
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setblocking(False)

    def message(self, zone, label, token):
        update = dns.update.UpdateMessage(zone, keyring=self.key)
        update.add(f"{label}.{zone}.", TTL, "TXT", f'"{token}"')
        return update

    @staticmethod
    def check(reply, what):
        if reply.rcode() != dns.rcode.NOERROR:
            raise StepFailed(f"{what}: {dns.rcode.to_text(reply.rcode())}")

    def serves(self, server, zone, label, token):
        """True if `server` answers the TXT record `label.zone` with
        `token` (a UDP query; no answer in time counts as not yet)."""
        query = dns.message.make_query(f"{label}.{zone}.", "TXT")
        try:
            reply = dns.query.udp(query, server[0], port=server[1], timeout=QUERY_TIMEOUT,
                                  sock=self.udp, ignore_unexpected=True)
        except dns.exception.Timeout:
            return False
        want = token.encode()
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rdata in rrset:
                    if b"".join(rdata.strings) == want:
                        return True
        return False

    def wait_served(self, server, zone, label, token, timeout):
        """Polls every POLL_EVERY until `server` serves the record; the
        perf_counter time of the answer that had it."""
        deadline = time.perf_counter() + timeout
        while True:
            if self.serves(server, zone, label, token):
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise StepFailed(f"{label}.{zone} not served by {server[0]}:{server[1]} "
                                 f"within {timeout:g} s")
            time.sleep(POLL_EVERY)

    def close(self):
        self.udp.close()


def client_floor(client, n=500):
    """What the client alone takes per UPDATE: building and signing it
    (to_wire), no network; p50 in seconds."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        client.message(TPUT_ZONE, f"floor{i}", "x").to_wire()
        times.append(time.perf_counter() - start)
    return common.percentile(times, 50)


def throughput(client, update_addr, named_addr, cpu):
    """Part 1 against one server: COUNT UPDATEs over one TCP connection."""
    # The messages are built and signed before the clock starts, as a load
    # generator does (dnsperf, for one): what is timed is the server's
    # round trip, with the client still checking each reply's TSIG against
    # its request's MAC. Signed with the time of signing, they stay well
    # within the TSIG fudge (300 s) for the run.
    messages = []
    for i in range(COUNT):
        update = client.message(TPUT_ZONE, f"_acme-challenge.host{i}", f"tput-{i}")
        messages.append((update, update.to_wire()))
    sock = socket.create_connection(update_addr, timeout=UPDATE_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)  # as dnspython wants a socket it is given
    latencies = []
    cpu_before = cpu()
    client_cpu = time.process_time()
    try:
        start = time.perf_counter()
        for i, (update, wire) in enumerate(messages):
            t0 = time.perf_counter()
            try:
                deadline = time.time() + UPDATE_TIMEOUT  # dnspython: wall-clock expiration
                dns.query.send_tcp(sock, wire, deadline)
                reply, _ = dns.query.receive_tcp(sock, deadline, keyring=client.key,
                                                 request_mac=update.mac)
            except (OSError, EOFError, dns.exception.DNSException) as e:
                raise StepFailed(f"UPDATE {i} of {COUNT} over one TCP connection: "
                                 f"{type(e).__name__}: {e}") from e
            latencies.append(time.perf_counter() - t0)
            client.check(reply, f"UPDATE {i} of {COUNT}")
        acked = time.perf_counter()
        client_cpu = time.process_time() - client_cpu
    finally:
        sock.close()
    served = client.wait_served(named_addr, TPUT_ZONE, f"_acme-challenge.host{COUNT - 1}",
                                f"tput-{COUNT - 1}", BURST_SERVE_TIMEOUT)
    cpu_after = cpu()
    return {
        "rate": COUNT / (acked - start),
        "wall": acked - start,
        "p50": common.percentile(latencies, 50),
        "p99": common.percentile(latencies, 99),
        "served": served - start,
        "cpu": {k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        "client_cpu": client_cpu,
    }


def update_served(client, update_addr, named_addr, label, token):
    """One UPDATE on its own TCP connection; (acknowledged, served) in
    seconds from sending it."""
    update = client.message(LAT_ZONE, label, token)
    start = time.perf_counter()
    try:
        reply = dns.query.tcp(update, update_addr[0], port=update_addr[1],
                              timeout=UPDATE_TIMEOUT)
    except (OSError, EOFError, dns.exception.DNSException) as e:
        raise StepFailed(f"UPDATE {label}: {type(e).__name__}: {e}") from e
    acked = time.perf_counter()
    client.check(reply, f"UPDATE {label}")
    served = client.wait_served(named_addr, LAT_ZONE, label, token, SERVE_TIMEOUT)
    return acked - start, served - start


def rest_served(client, server, token, uuid, label, value):
    """One POST on a new HTTP connection; (answered, served) in seconds
    from sending it."""
    body = json.dumps({"record_type": "TXT", "name": label, "value": value, "ttl": TTL}).encode()
    path = f"/api/v1/dns-zones/{uuid}/records/"
    conn = http.client.HTTPConnection(HOST, server.port, timeout=UPDATE_TIMEOUT)
    start = time.perf_counter()
    try:
        conn.request("POST", path, body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        reply = conn.getresponse()
        payload = reply.read()
    except (OSError, http.client.HTTPException) as e:
        raise StepFailed(f"POST {path}: {type(e).__name__}: {e}") from e
    finally:
        conn.close()
    answered = time.perf_counter()
    if reply.status != 201:
        raise StepFailed(f"POST {path} -> {reply.status}: {payload[:500].decode(errors='replace')}")
    served = client.wait_served(server.dns, LAT_ZONE, label, value, SERVE_TIMEOUT)
    return answered - start, served - start


# --------------------------------------------------------------------------
# Setup


def zone_file(workdir, origin):
    path = os.path.join(workdir, f"{origin}.zone")
    with open(path, "w", encoding="ascii") as f:
        f.write(common.zone_text(origin, ZONE_RECORDS))
    return path


def zone_uuid(server, token, domain):
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        conn.request("GET", f"/api/v1/dns-zones/?domain={domain}",
                     headers={"Authorization": f"Bearer {token}"})
        reply = conn.getresponse()
        zones = json.loads(reply.read())
    finally:
        conn.close()
    if reply.status != 200 or len(zones) != 1:
        raise common.CannotRun(f"zone {domain} not listed by the API: {zones!r:.300}")
    return zones[0]["uuid"]


def wait_soa(client, addr, zone, what):
    """Until `addr` answers the zone's SOA (the zone is loaded)."""
    deadline = time.perf_counter() + START_TIMEOUT
    query = dns.message.make_query(f"{zone}.", "SOA")
    while time.perf_counter() < deadline:
        try:
            reply = dns.query.udp(query, addr[0], port=addr[1], timeout=0.5,
                                  sock=client.udp, ignore_unexpected=True)
            if reply.rcode() == dns.rcode.NOERROR and reply.answer:
                return
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.05)
    raise common.CannotRun(f"{what} does not serve {zone} within {START_TIMEOUT:g} s")


# --------------------------------------------------------------------------
# Report


def pct(values):
    return common.percentile(values, 50), common.percentile(values, 99)


def load_average():
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def report(info, floor, bb, ref, lat, deploys):
    log = common.log
    cores, model = common.machine()
    log()
    log("=" * 78)
    log("bindbridge DNS UPDATE benchmark (RFC 2136 + TSIG hmac-sha256), BIND as reference")
    log(f"machine: {cores} cores ({model or 'unknown CPU'}); load average (1/5/15 min) "
        f"at the start {info['load']}, at the end {load_average()}")
    log(f"bindbridge commit (of the tree): {info['commit']}")
    log(f"binary: {info['binary']} ({info['source']}); {info['named']}")
    log(f"zones of {ZONE_RECORDS:,} A records; {COUNT:,} sequential UPDATEs; "
        f"{ROUNDS} rounds of UPDATE/REST/BIND -> served")
    if EXTRA_CONFIG:
        log(f"serve's extra configuration (UPDATE_CONFIG): {EXTRA_CONFIG!r}")
    log("=" * 78)
    log()
    rows = [
        [f"{COUNT:,} UPDATEs, 1 TCP connection: acknowledged/s",
         f"{bb['rate']:,.0f}", f"{ref['rate']:,.0f}", f"{bb['rate'] / ref['rate']:.2f}x"],
        ["  round trip p50 ms", common.fmt_ms(bb["p50"]), common.fmt_ms(ref["p50"]),
         f"{bb['p50'] / ref['p50']:.2f}x"],
        ["  round trip p99 ms", common.fmt_ms(bb["p99"]), common.fmt_ms(ref["p99"]),
         f"{bb['p99'] / ref['p99']:.2f}x"],
        ["  first sent -> last served, s", f"{bb['served']:.2f}", f"{ref['served']:.2f}",
         f"{bb['served'] / ref['served']:.2f}x"],
        ["  server CPU per UPDATE ms (to last served)",
         common.fmt_ms(sum(bb["cpu"].values()) / COUNT),
         common.fmt_ms(sum(ref["cpu"].values()) / COUNT),
         f"{sum(bb['cpu'].values()) / max(sum(ref['cpu'].values()), 1e-9):.2f}x"],
    ]
    u_ack, u_srv = lat["update_ack"], lat["update"]
    r_ack, r_srv = lat["rest_ack"], lat["rest"]
    b_ack, b_srv = lat["bind_ack"], lat["bind"]
    rows += [
        [f"UPDATE -> served p50 ms ({ROUNDS})", common.fmt_ms(pct(u_srv)[0]),
         common.fmt_ms(pct(b_srv)[0]), f"{pct(u_srv)[0] / pct(b_srv)[0]:.1f}x"],
        ["UPDATE -> served p99 ms", common.fmt_ms(pct(u_srv)[1]),
         common.fmt_ms(pct(b_srv)[1]), f"{pct(u_srv)[1] / pct(b_srv)[1]:.1f}x"],
        ["  UPDATE acknowledged p50 ms (own TCP connection)", common.fmt_ms(pct(u_ack)[0]),
         common.fmt_ms(pct(b_ack)[0]), ""],
        [f"REST POST -> served p50 ms ({ROUNDS})", common.fmt_ms(pct(r_srv)[0]), "", ""],
        ["REST POST -> served p99 ms", common.fmt_ms(pct(r_srv)[1]), "", ""],
        ["  REST POST answered p50 ms (new connection)", common.fmt_ms(pct(r_ack)[0]), "", ""],
    ]
    common.print_table(["", "bindbridge", "BIND", "bindbridge/BIND"], rows)
    log()
    c = bb["cpu"]
    log(f"bindbridge CPU during part 1 (to the last record served): serve {c['serve']:.2f} s, "
        f"its finished children (named-checkzone, rndc) {c['children']:.2f} s, "
        f"its named {c['named']:.2f} s; reference named {ref['cpu']['named']:.2f} s; "
        f"the Python client {bb['client_cpu']:.2f} s (bindbridge) / "
        f"{ref['client_cpu']:.2f} s (BIND)")
    log(f"client floor (building and signing one UPDATE, no network): "
        f"p50 {common.fmt_ms(floor)} ms")
    d1, d2 = deploys["burst"], deploys["rounds"]
    log(f"bindbridge deploys during part 1: {d1['deploys']:.0f} "
        f"(mean {d1['mean'] * 1000:.0f} ms each, render to served); during the rounds: "
        f"{d2['deploys']:.0f} for {2 * ROUNDS} changes (mean {d2['mean'] * 1000:.0f} ms); "
        f"failed deploys: {d1['failed'] + d2['failed']:.0f}")
    log()
    ratio = pct(u_srv)[0] / pct(r_srv)[0]
    rate_ok = bb["rate"] >= TARGET_RATE
    ratio_ok = ratio <= TARGET_RATIO
    log(f"{common.verdict(rate_ok)}: {bb['rate']:,.0f} acknowledged UPDATEs/s sequentially "
        f"over 1 TCP connection with TSIG (target >= {TARGET_RATE:,.0f}/s); "
        f"BIND {ref['rate']:,.0f}/s, bindbridge/BIND {bb['rate'] / ref['rate']:.2f}x")
    log(f"{common.verdict(ratio_ok)}: UPDATE -> served p50 / REST -> served p50 = "
        f"{common.fmt_ms(pct(u_srv)[0])} / {common.fmt_ms(pct(r_srv)[0])} ms = {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x)")

    # Markdown (for the README).
    ms = common.fmt_ms
    log()
    log("Markdown (for the README):")
    log()
    log(f"Machine: {cores} cores ({model or 'unknown CPU'}), load average {info['load']} at the "
        f"start; bindbridge {info['commit']}; {info['named'].split(' (')[0]}; zones of "
        f"{ZONE_RECORDS:,} records; client: bench/update.py (dnspython, same machine).")
    log()
    log("| Benchmark | bindbridge p50 | p99 | Throughput | BIND p50 | p99 | Throughput | Target |")
    log("|---|---:|---:|---:|---:|---:|---:|---|")
    log(f"| {COUNT:,} UPDATEs (TXT, TSIG hmac-sha256), sequential, 1 TCP connection "
        f"| {ms(bb['p50'])} ms | {ms(bb['p99'])} ms | {bb['rate']:,.0f}/s "
        f"| {ms(ref['p50'])} ms | {ms(ref['p99'])} ms | {ref['rate']:,.0f}/s "
        f"| ≥ {TARGET_RATE:,.0f}/s: {'met' if rate_ok else 'MISSED'} |")
    log(f"| UPDATE → named serves it ({ROUNDS}) | {ms(pct(u_srv)[0])} ms | {ms(pct(u_srv)[1])} ms "
        f"| | {ms(pct(b_srv)[0])} ms | {ms(pct(b_srv)[1])} ms | "
        f"| ≤ {TARGET_RATIO}x REST: {ratio:.2f}x, {'met' if ratio_ok else 'MISSED'} |")
    log(f"| REST POST → named serves it ({ROUNDS}) | {ms(pct(r_srv)[0])} ms | {ms(pct(r_srv)[1])} ms "
        f"| | | | | |")


# --------------------------------------------------------------------------


def deploy_delta(before, after):
    count = after["count"] - before["count"]
    return {
        "deploys": after["deploys"] - before["deploys"],
        "failed": after["failed"] - before["failed"],
        "mean": (after["seconds"] - before["seconds"]) / count if count else 0.0,
    }


def run(binary, workdir):
    files = [(z, zone_file(workdir, z)) for z in (TPUT_ZONE, LAT_ZONE)]
    server = ref = client = None
    try:
        server = Bindbridge(binary, workdir)
        common.log(f"bindbridge: API {server.base}, UPDATE {server.update[0]}:{server.update[1]}, "
                   f"its named {server.dns[0]}:{server.dns[1]}")
        db = server.db
        common.run_cmd([binary, "--db", db, "user", "add", "bench"], "user add")
        token = common.run_cmd(
            [binary, "--db", db, "token", "create", "--user", "bench",
             "--permissions", "dns:*", "--name", "bench"], "token create").strip()
        for origin, path in files:
            common.run_cmd([binary, "--db", db, "import", "--owner", "bench",
                            "--origin", origin, path], f"import of {origin}")
        key_clause = common.run_cmd(
            [binary, "--db", db, "tsig", "create", "--user", "bench", "--name", KEY_NAME,
             "--zones", f"{TPUT_ZONE},{LAT_ZONE}", "--algorithm", ALGORITHM], "tsig create")
        client = Client(key_clause)
        lat_uuid = zone_uuid(server, token, LAT_ZONE)

        ref = ReferenceNamed(workdir, key_clause, files)
        common.log(f"reference named: {ref.dns[0]}:{ref.dns[1]} (in {ref.dir})")
        for origin, _ in files:
            wait_soa(client, server.dns, origin, "bindbridge's named")
            wait_soa(client, ref.dns, origin, "the reference named")
        ref.check_alive()

        floor = client_floor(client)
        common.log(f"client floor (build + sign one UPDATE): p50 {common.fmt_ms(floor)} ms")

        common.log(f"1. {COUNT:,} UPDATEs over one TCP connection: bindbridge …")
        m0 = server.metrics()
        bb = throughput(client, server.update, server.dns, server.cpu)
        m1 = server.metrics()
        server.check_alive()
        common.log(f"   {bb['rate']:,.0f}/s, p50 {common.fmt_ms(bb['p50'])} ms, p99 "
                   f"{common.fmt_ms(bb['p99'])} ms; last served {bb['served']:.2f} s after the first sent")
        common.log("   BIND (the reference named) …")
        rb = throughput(client, ref.dns, ref.dns, ref.cpu)
        ref.check_alive()
        common.log(f"   {rb['rate']:,.0f}/s, p50 {common.fmt_ms(rb['p50'])} ms, p99 "
                   f"{common.fmt_ms(rb['p99'])} ms; last served {rb['served']:.2f} s after the first sent")

        common.log(f"2./3. {ROUNDS} rounds: UPDATE -> served, REST -> served, BIND UPDATE -> served …")
        lat = {k: [] for k in ("update_ack", "update", "rest_ack", "rest", "bind_ack", "bind")}
        time.sleep(UPDATE_GAP)
        m2 = server.metrics()
        for i in range(ROUNDS):
            ack, srv = update_served(client, server.update, server.dns,
                                     f"_acme-challenge.u{i}", f"update-{i}")
            lat["update_ack"].append(ack)
            lat["update"].append(srv)
            time.sleep(UPDATE_GAP)
            ack, srv = rest_served(client, server, token, lat_uuid,
                                   f"_acme-challenge.r{i}", f"rest-{i}")
            lat["rest_ack"].append(ack)
            lat["rest"].append(srv)
            time.sleep(UPDATE_GAP)
            ack, srv = update_served(client, ref.dns, ref.dns,
                                     f"_acme-challenge.u{i}", f"update-{i}")
            lat["bind_ack"].append(ack)
            lat["bind"].append(srv)
            time.sleep(UPDATE_GAP)
            if (i + 1) % 10 == 0 or i + 1 == ROUNDS:
                common.log(f"   {i + 1}/{ROUNDS}: UPDATE p50 {common.fmt_ms(pct(lat['update'])[0])} ms, "
                           f"REST p50 {common.fmt_ms(pct(lat['rest'])[0])} ms, "
                           f"BIND p50 {common.fmt_ms(pct(lat['bind'])[0])} ms")
        m3 = server.metrics()
        server.check_alive()
        ref.check_alive()
        deploys = {"burst": deploy_delta(m0, m1), "rounds": deploy_delta(m2, m3)}
        return floor, bb, rb, lat, deploys
    finally:
        if client is not None:
            client.close()
        for s in (server, ref):
            if s is not None:
                s.stop()


def main():
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    if dns is None:
        print("bench/update.py: dnspython is missing (Debian: apt-get install python3-dnspython)",
              file=sys.stderr)
        return 2
    if COUNT < 1 or ROUNDS < 1:
        print("bench/update.py: UPDATE_COUNT and UPDATE_ROUNDS must be at least 1", file=sys.stderr)
        return 2
    try:
        binary, source = common.find_binary()
        common.require_tools(deploy.BIND_TOOLS)
    except common.CannotRun as e:
        print(f"bench/update.py: could not run: {e}", file=sys.stderr)
        return 2
    named_version = subprocess.run(["named", "-v"], capture_output=True, text=True).stdout.strip()
    info = {"commit": common.git_commit(), "binary": binary, "source": source,
            "named": named_version, "load": load_average()}
    common.log(f"binary: {binary}; {named_version}; commit {info['commit']}")
    workdir = tempfile.mkdtemp(prefix="bindbridge-update-bench-")
    common.log(f"work directory: {workdir}")
    try:
        results = run(binary, workdir)
    except common.CannotRun as e:
        print(f"bench/update.py: could not run: {e}", file=sys.stderr)
        return 2
    except (StepFailed, OSError, http.client.HTTPException, dns.exception.DNSException) as e:
        print(f"bench/update.py: a step failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(info, *results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
