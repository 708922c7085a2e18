#!/usr/bin/env python3
"""The API against its own OpenAPI document, with Schemathesis.

Starts `bindbridge serve --dev` in a temporary directory (its private named
on 127.0.0.1; everything on loopback), takes the demo token it prints, and
runs

  schemathesis run --checks all --url http://127.0.0.1:PORT/ \\
      http://127.0.0.1:PORT/api/v1/openapi.json -H 'Authorization: Bearer …'

with a time budget. Schemathesis is not a dependency of the project:
install it first (`pip install schemathesis publicsuffixlist`, in a virtualenv if you
like) or point SCHEMATHESIS at its executable. Not part of `cargo test`.

Usage:
  bench/schemathesis.py                       # builds target/release
  BINDBRIDGE_BIN=/path/to/bindbridge bench/schemathesis.py [extra args]

Extra arguments go to `schemathesis run` (e.g. `--phases examples,coverage`
or `--exclude-checks positive_data_acceptance`).

Environment:
  BINDBRIDGE_BIN     this binary instead of `cargo build --release`
  SCHEMATHESIS       the schemathesis executable (default: on PATH)
  SCHEMATHESIS_TIME  seconds of fuzzing (--max-time; default 120)

The hooks module bench/schemathesis_hooks.py (see its docstring) generates
zone files for the import, and replaces the positive_data_acceptance check
with one that lets a 400 pass only when the server's state shows it is a
conflict with existing data (which the API makes a 400, not a 409).

Exit status: Schemathesis's own (0: no failures); 2 could not run.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api as common  # noqa: E402  (the API benchmark's helpers)

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    tool = os.environ.get("SCHEMATHESIS") or shutil.which("schemathesis")
    if not tool:
        print("schemathesis.py: could not run: schemathesis not found "
              "(pip install schemathesis publicsuffixlist, or set SCHEMATHESIS)", file=sys.stderr)
        return 2
    max_time = os.environ.get("SCHEMATHESIS_TIME", "120")
    proc = None
    try:
        binary, _ = common.find_binary()
        with tempfile.TemporaryDirectory(prefix="bindbridge-schemathesis-") as workdir:
            proc = subprocess.Popen(
                [binary, "serve", "--dev", "--data-dir", workdir,
                 "--api-listen", f"{HOST}:0", "--dns-listen", f"{HOST}:{free_port()}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True, cwd=workdir,
            )
            port = token = None
            seen = []
            for line in proc.stderr:
                seen.append(line.rstrip("\n"))
                if "API listening on http://" in line:
                    port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
                if line.strip().startswith("vps_"):
                    token = line.strip()
                if line.strip().startswith("TOKEN="):
                    break
            if port is None or token is None:
                raise common.CannotRun("the dev server did not start:\n" + "\n".join(seen[-20:]))
            # Keep draining its log, so that it never blocks on stderr.
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            base = f"http://{HOST}:{port}"
            args = [tool, "run", "--checks", "all", "--max-time", max_time,
                    "--url", f"{base}/", "-H", f"Authorization: Bearer {token}",
                    *sys.argv[1:], f"{base}/api/v1/openapi.json"]
            common.log("running: " + " ".join(a if not a.startswith("Authorization") else
                                              "'Authorization: Bearer …'" for a in args))
            # The hooks (schemathesis_hooks.py: zone files for text/dns,
            # and the ST202 check that reads the server's state) talk to
            # the server too.
            env = dict(os.environ,
                       SCHEMATHESIS_HOOKS=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "schemathesis_hooks.py"),
                       BINDBRIDGE_URL=base, BINDBRIDGE_TOKEN=token)
            # In the work directory: Schemathesis leaves its cache
            # (.schemathesis/) where it runs.
            return subprocess.run(args, cwd=workdir, env=env).returncode
    except common.CannotRun as e:
        print(f"schemathesis.py: could not run: {e}", file=sys.stderr)
        return 2
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
