#!/usr/bin/env python3
"""Benchmark of replication: 1,000 zones created through the API, until
the secondary serves every one of them.

Two runs of `bindbridge serve --dev` (each in a fresh directory, with its
own private named on 127.0.0.1 at a free port):

  primary alone   no secondary: the time from the first POST until the
                  primary named serves all the zones (SOA over UDP).
  with secondary  `--dev-secondary`: a second named on 127.0.0.2 that is
                  configured only with the catalog zone. The same zones,
                  timed until the primary serves all of them and until the
                  secondary serves all of them at the primary's serial
                  (learned from the catalog zone, transferred with AXFR).

The zones are created by CREATE_THREADS HTTP connections at once (the way
a provisioning system would make them); a poller asks both nameds for the
SOA of every zone not served yet (every SWEEP_EVERY s, up to 256 queries
in flight), and notes when the last one is.

Needs 127.0.0.2 on an interface (as root: ip addr add 127.0.0.2/32 dev lo).

Usage:
  bench/secondaries.py                                   # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/secondaries.py
  BENCH_ZONES=200 bench/secondaries.py                   # quick run
  BENCH_KEEP=1 bench/secondaries.py                      # keep each run's files and log

Exit status: 0 ran; 1 a step failed (a POST refused, zones not served in
time); 2 could not run.
"""

import concurrent.futures
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as common  # noqa: E402  (the API benchmark's helpers)
import deploy  # noqa: E402  (the dev server and SOA queries)

ZONES = int(os.environ.get("BENCH_ZONES", "1000"))
CREATE_THREADS = 8
SERVE_TIMEOUT = 300.0
# Between two sweeps of the poller (each asks about every zone not served
# yet, many queries in flight at once): often enough for figures in
# tenths of seconds, rarely enough that the poller's own queries do not
# compete with the nameds for the CPU.
SWEEP_EVERY = 0.2


def create_zones(base, token, names):
    """POSTs every zone of `names`; the time the last answer came."""
    def create(chunk):
        for name in chunk:
            body = json.dumps({"domain": name}).encode()
            request = urllib.request.Request(
                f"{base}/api/v1/dns-zones/", data=body, method="POST",
                headers={"Authorization": f"Bearer {token}",
                         "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as reply:
                if reply.status != 201:
                    raise deploy.StepFailed(f"POST {name} answered {reply.status}")

    chunks = [names[t::CREATE_THREADS] for t in range(CREATE_THREADS)]
    with concurrent.futures.ThreadPoolExecutor(CREATE_THREADS) as pool:
        for f in [pool.submit(create, c) for c in chunks]:
            f.result()
    return time.perf_counter()


def serial_or_none(dns, zone):
    """The serial `dns` serves for `zone`; None if none (or no answer)."""
    try:
        return deploy.soa_serial(dns, zone)
    except (OSError, IndexError, struct.error):
        return None


def poll_until_served(server, names, start):
    """Seconds from `start` until the primary, and the secondary if there
    is one, serve every zone of `names` (the secondary at the primary's
    serial)."""
    primary_left = set(names)
    secondary_left = set(names) if server.secondary_dns else set()
    primary_serial = {}
    done = {"primary": None, "secondary": None}
    deadline = start + SERVE_TIMEOUT
    while primary_left or secondary_left:
        if time.perf_counter() > deadline:
            sample = [(name, primary_serial.get(name), serial_or_none(server.dns, name),
                       serial_or_none(server.secondary_dns, name))
                      for name in sorted(secondary_left)[:3]]
            common.log(f"not served by the secondary at the primary's serial (zone, serial "
                       f"the primary served, primary now, secondary now): {sample}")
            raise deploy.StepFailed(
                f"not served within {SERVE_TIMEOUT} s: {len(primary_left)} zones on the "
                f"primary, {len(secondary_left)} on the secondary")
        for name, serial in deploy.soa_serials(server.dns, sorted(primary_left)).items():
            if serial is not None:
                primary_serial[name] = serial
                primary_left.discard(name)
        if not primary_left and done["primary"] is None:
            done["primary"] = time.perf_counter() - start
        asked = sorted(n for n in secondary_left if n in primary_serial)
        for name, seen in deploy.soa_serials(server.secondary_dns, asked).items() if asked else ():
            if seen is not None and seen != primary_serial[name]:
                # The primary may have deployed the zone again since it
                # first served it (a new serial): what counts is what it
                # serves now.
                primary_serial[name] = serial_or_none(server.dns, name) or primary_serial[name]
            if seen == primary_serial[name]:
                secondary_left.discard(name)
        if server.secondary_dns and not secondary_left and done["secondary"] is None:
            done["secondary"] = time.perf_counter() - start
        time.sleep(SWEEP_EVERY)
    return done


def log_warnings(server, tag):
    """The server's warnings during a run: a deploy pass that stopped
    (named or rndc too slow to answer) shows up here, and costs time."""
    common.log(f"{tag}: {len(server.warnings)} warnings in the server's log")
    for line in server.warnings[:10]:
        common.log(f"  {line[:300]}")


def one_run(binary, secondary, tag):
    work = tempfile.mkdtemp(prefix="bindbridge-secondaries-bench-")
    server = None
    try:
        server = deploy.DevServer(binary, work, secondary=secondary)
        common.run_cmd([binary, "--db", server.db, "user", "add", "bench"], "user add")
        token = common.run_cmd(
            [binary, "--db", server.db, "token", "create", "--user", "bench",
             "--permissions", "dns:*"], "token create").strip()
        names = [f"z{i:05d}.{tag}.bench.example" for i in range(ZONES)]
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            created = pool.submit(create_zones, server.base, token, names)
            times = poll_until_served(server, names, start)
            times["api"] = created.result() - start
        common.log(f"{tag}: {times}")
        log_warnings(server, tag)
        return times
    except deploy.StepFailed:
        if server is not None:
            log_warnings(server, tag)
        raise
    finally:
        if server is not None:
            server.stop()
        if os.environ.get("BENCH_KEEP"):
            common.log(f"{tag}: kept {work} (BENCH_KEEP; serve.log is the server's log)")
        elif work is not None:
            shutil.rmtree(work, ignore_errors=True)


def main():
    try:
        binary, source = common.find_binary()
        common.require_tools(deploy.BIND_TOOLS)
    except common.CannotRun as e:
        print(f"bench/secondaries.py: {e}", file=sys.stderr)
        return 2
    try:
        alone = one_run(binary, False, "alone")
        paired = one_run(binary, True, "paired")
    except common.CannotRun as e:
        print(f"bench/secondaries.py: {e}", file=sys.stderr)
        return 2
    except (deploy.StepFailed, OSError, urllib.error.URLError) as e:
        print(f"bench/secondaries.py: a step failed: {e}", file=sys.stderr)
        return 1
    cores, model = common.machine()
    common.log("=" * 78)
    common.log(f"bindbridge replication benchmark: {ZONES:,} zones created through the API")
    common.log(f"machine: {cores} cores ({model}); bindbridge {common.git_commit()}")
    common.log(f"binary: {binary} ({source}); {CREATE_THREADS} API connections")
    common.log("load average (1, 5, 15 min) at the end: "
               + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    common.log("=" * 78)
    common.log("")
    common.log("| Run | all POSTs answered | primary serves all | secondary serves all |")
    common.log("|---|---:|---:|---:|")
    common.log(f"| primary alone | {alone['api']:.2f} s | {alone['primary']:.2f} s | — |")
    common.log(f"| with a secondary | {paired['api']:.2f} s | {paired['primary']:.2f} s"
               f" | {paired['secondary']:.2f} s |")
    common.log("")
    common.log(f"secondary after primary alone: {paired['secondary'] / alone['primary']:.2f}x; "
               f"the secondary's lag behind its own primary: "
               f"{paired['secondary'] - paired['primary']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
