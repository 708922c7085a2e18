#!/usr/bin/env python3
"""Benchmark of the deploy path: an API write until named serves it.

For zones of 1,000 and 10,000 records (BENCH_SMALL=1: 100 and 1,000), in
the same run and against the same named:

  bindbridge  POST one A record through the API, then ask named for the
              zone's SOA (UDP, on loopback) until its serial is the new one.
              This includes the API write, the store, rendering, the file
              swap, named-checkzone, rndc reload and named's load.
  bare BIND   the steps an operator's script would take for the same zone
              file: write it with the serial bumped (temporary file and
              rename), `named-checkzone -k fail -i local`, `rndc reload
              ZONE`, then the same SOA polling until the new serial is
              served.

The two alternate, one of each per round, so that the machine's noise
falls on both. Median and p99 of each, and the ratio of the medians.
Target: bindbridge <= 1.3 x the bare BIND steps.

Setup: `bindbridge serve --dev` in a temporary directory (its own private
named on 127.0.0.1 at a free port; killed at the end), a user `bench` with
a `dns:*` token, the zones imported with `bindbridge import` (deployed by
the running daemon).

Usage:
  bench/deploy.py                                    # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/deploy.py
  BENCH_SMALL=1 bench/deploy.py                      # quick run

Exit status: 0 ran (the target is reported, not enforced); 1 a step failed
(a write refused, a serial never served); 2 could not run.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as common  # noqa: E402  (the API benchmark's helpers)

SMALL = common.SMALL
SIZES = [100, 1_000] if SMALL else [1_000, 10_000]
ROUNDS = 5 if SMALL else 20
TARGET_RATIO = 1.3
# What `serve --dev` and the bare steps run.
BIND_TOOLS = ("named", "named-checkzone", "rndc", "tsig-keygen")
SERVE_TIMEOUT = 30.0


class StepFailed(Exception):
    pass


def free_port():
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


def skip_name(data, off):
    while True:
        length = data[off]
        if length == 0:
            return off + 1
        if length & 0xC0 == 0xC0:
            return off + 2
        off += length + 1


def soa_query(qid, zone):
    """A query for the SOA of `zone` with id `qid`, in wire form."""
    qname = b"".join(bytes([len(l)]) + l.encode() for l in zone.rstrip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 6, 1)


def answer_serial(data):
    """The serial of an answer to `soa_query`, or None if it has none."""
    if data[3] & 0x0F != 0 or struct.unpack(">H", data[6:8])[0] == 0:
        return None
    off = skip_name(data, 12) + 4
    off = skip_name(data, off) + 10  # owner, type, class, TTL, RDLENGTH
    off = skip_name(data, off)  # MNAME
    off = skip_name(data, off)  # RNAME
    return struct.unpack(">I", data[off:off + 4])[0]


def soa_serial(dns, zone):
    """The serial named serves for `zone`, or None."""
    qid = random.getrandbits(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(soa_query(qid, zone), dns)
        data = s.recv(65535)
    if struct.unpack(">H", data[:2])[0] != qid:
        return None
    return answer_serial(data)


def soa_serials(dns, zones, window=256, wait=1.0):
    """The serial `dns` serves for each of `zones` ({zone: serial or
    None}): `window` queries in flight at once on one socket, so that ten
    thousand zones take a fraction of a second rather than one round trip
    each. A zone whose answer does not come within `wait` s is None."""
    serials = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for at in range(0, len(zones), window):
            asked = {}
            for qid, zone in enumerate(zones[at:at + window]):
                asked[qid] = zone
                serials[zone] = None
                s.sendto(soa_query(qid, zone), dns)
            deadline = time.perf_counter() + wait
            while asked and time.perf_counter() < deadline:
                s.settimeout(max(deadline - time.perf_counter(), 0.001))
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                zone = asked.pop(struct.unpack(">H", data[:2])[0], None)
                if zone is not None:
                    try:
                        serials[zone] = answer_serial(data)
                    except (IndexError, struct.error):
                        pass
    return serials


def wait_served(dns, zone, above):
    """Polls until named serves a serial other than `above`; that serial."""
    deadline = time.perf_counter() + SERVE_TIMEOUT
    while time.perf_counter() < deadline:
        serial = soa_serial(dns, zone)
        if serial is not None and serial != above:
            return serial
        time.sleep(0.001)
    raise StepFailed(f"{zone}: no new serial (above {above}) within {SERVE_TIMEOUT} s")


class DevServer:
    """`bindbridge serve --dev` in `workdir`; its API URL and named."""

    def __init__(self, binary, workdir, secondary=False):
        """With `secondary`, also its secondary named (`--dev-secondary`)
        on 127.0.0.2 at the primary's port."""
        self.data = os.path.join(workdir, "dev")
        self.dns = ("127.0.0.1", free_port())
        self.secondary_dns = ("127.0.0.2", self.dns[1]) if secondary else None
        self.proc = subprocess.Popen(
            [binary, "serve", "--dev", "--data-dir", self.data,
             "--api-listen", "127.0.0.1:0", "--dns-listen", f"127.0.0.1:{self.dns[1]}"]
            + (["--dev-secondary"] if secondary else []),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, BINDBRIDGE_LOG=os.environ.get("BINDBRIDGE_LOG", "warn")),
        )
        self.base = None
        ready = threading.Event()
        self.tail = []
        # Every line of the server's log, for a look after a slow run.
        self.warnings = []
        log = open(os.path.join(workdir, "serve.log"), "w", encoding="utf-8")

        def drain():
            for line in self.proc.stderr:
                log.write(line)
                self.tail = (self.tail + [line.rstrip()])[-40:]
                if " WARN " in line or " ERROR " in line:
                    self.warnings.append(line.rstrip())
                if line.startswith("bindbridge: API listening on "):
                    self.base = line.split(" on ", 1)[1].strip()
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60) or self.base is None:
            self.stop()
            raise common.CannotRun("serve --dev did not start:\n" + "\n".join(self.tail))
        self.db = os.path.join(self.data, "bindbridge.db")
        with open(os.path.join(self.data, "named.conf"), encoding="utf-8") as f:
            control = re.search(r"inet (\S+) port (\d+)", f.read())
        self.rndc = ["rndc", "-k", os.path.join(self.data, "rndc.key"),
                     "-s", control.group(1), "-p", control.group(2)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def post_record(base, token, zone_uuid, name):
    body = json.dumps({"name": name, "record_type": "A", "value": "192.0.2.99"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/dns-zones/{zone_uuid}/records/", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        if reply.status != 201:
            raise StepFailed(f"POST answered {reply.status}")


def zone_uuid(base, token, domain):
    request = urllib.request.Request(
        f"{base}/api/v1/dns-zones/?domain={domain}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        zones = json.load(reply)
    if len(zones) != 1:
        raise StepFailed(f"{domain}: {len(zones)} zones listed")
    return zones[0]["uuid"]


def bare_reload(server, zone, path, serial):
    """The bare BIND steps for `path` with the serial bumped; the new one."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = serial + 1
    text = re.sub(rf"( IN SOA +\S+ \S+ ){serial}( )", rf"\g<1>{new}\g<2>", text, count=1)
    temporary = path + ".bench"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)
    check = subprocess.run(
        ["named-checkzone", "-k", "fail", "-i", "local", "-q", zone, path])
    if check.returncode != 0:
        raise StepFailed(f"named-checkzone refused {path}")
    said = subprocess.run(server.rndc + ["reload", zone], capture_output=True, text=True)
    if said.returncode != 0:
        raise StepFailed(f"rndc reload {zone}: {said.stdout}{said.stderr}")
    if "up to date" in said.stdout:
        os.utime(path, (time.time() + 1, time.time() + 1))
        subprocess.run(server.rndc + ["reload", zone], capture_output=True, check=True)
    return new


def bench_size(server, token, records):
    zone = f"d{records}.bench.example"
    common.import_zone(server.binary, server.db, server.work, zone, records)
    uuid = zone_uuid(server.base, token, zone)
    serial = wait_served(server.dns, zone, None)
    path = os.path.join(server.data, "zones", f"{zone}.zone")
    ours, bare = [], []
    for i in range(ROUNDS):
        start = time.perf_counter()
        post_record(server.base, token, uuid, f"bench{i}")
        serial = wait_served(server.dns, zone, serial)
        ours.append(time.perf_counter() - start)
        # Let the daemon finish marking the deploy before touching the file.
        time.sleep(0.2)
        start = time.perf_counter()
        new = bare_reload(server, zone, path, serial)
        served = wait_served(server.dns, zone, serial)
        bare.append(time.perf_counter() - start)
        if served != new:
            raise StepFailed(f"{zone}: named serves {served}, the bare steps wrote {new}")
        serial = served
    return {"records": records, "ours": ours, "bare": bare}


def main():
    try:
        binary, source = common.find_binary()
        common.require_tools(BIND_TOOLS)
    except common.CannotRun as e:
        print(f"bench/deploy.py: {e}", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="bindbridge-deploy-bench-")
    server = None
    try:
        server = DevServer(binary, work)
        server.binary, server.work = binary, work
        common.run_cmd([binary, "--db", server.db, "user", "add", "bench"], "user add")
        token = common.run_cmd(
            [binary, "--db", server.db, "token", "create", "--user", "bench",
             "--permissions", "dns:*"], "token create").strip()
        results = [bench_size(server, token, n) for n in SIZES]
    except common.CannotRun as e:
        print(f"bench/deploy.py: {e}", file=sys.stderr)
        return 2
    except (StepFailed, OSError, urllib.error.URLError) as e:
        print(f"bench/deploy.py: a step failed: {e}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    cores, model = common.machine()
    common.log("=" * 78)
    common.log("bindbridge deploy benchmark" + ("  (BENCH_SMALL)" if SMALL else ""))
    common.log(f"machine: {cores} cores ({model}); bindbridge {common.git_commit()}")
    common.log(f"binary: {binary} ({source}); {ROUNDS} rounds per zone")
    common.log("=" * 78)
    common.log("")
    common.log("| Zone | bindbridge p50 | p99 | bare BIND p50 | p99 | ratio (p50) | Target |")
    common.log("|---|---:|---:|---:|---:|---:|---|")
    worst = 0.0
    for r in results:
        ratio = statistics.median(r["ours"]) / statistics.median(r["bare"])
        worst = max(worst, ratio)
        common.log(
            f"| {r['records']:,} records | {common.fmt_ms(statistics.median(r['ours']))} ms"
            f" | {common.fmt_ms(common.percentile(r['ours'], 99))} ms"
            f" | {common.fmt_ms(statistics.median(r['bare']))} ms"
            f" | {common.fmt_ms(common.percentile(r['bare'], 99))} ms"
            f" | {ratio:.2f}x | <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'} |"
        )
    common.log("")
    common.log(f"target {'met' if worst <= TARGET_RATIO else 'MISSED'}: "
               f"worst ratio {worst:.2f}x (target <= {TARGET_RATIO}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
