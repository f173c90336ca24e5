"""A stand-in for the duckraft binary that is really PostgreSQL 15.

It accepts duckraft's command line (``serve --data-dir DIR --pg-listen HOST:PORT``,
password from ``DUCKRAFT_PASSWORD``), starts a PostgreSQL cluster there with a
default database named ``duckraft``, and exits 0 on SIGTERM — exactly the
contract the harness expects from duckraft.

Use it to check the suite itself: with ``DUCKRAFT_BIN=compat/selftest/fake_duckraft.py``
every differential compares two independent PostgreSQL servers, so every
test must pass; a failure means a scenario is non-deterministic or the
harness is wrong, not that duckraft is.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="duckraft")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--data-dir", required=True)
    serve.add_argument("--pg-listen", required=True)
    args = parser.parse_args()
    if os.environ.get("DUCKRAFT_PASSWORD", harness.PASSWORD) != harness.PASSWORD:
        print("fake duckraft supports only the harness password", file=sys.stderr)
        return 2
    host, port = args.pg_listen.rsplit(":", 1)
    assert host == "127.0.0.1", host
    data_dir = Path(args.data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir.parent, 0o755)  # the OS user 'postgres' must reach the cluster
    server = harness.PostgresServer(base_dir=data_dir, port=int(port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        endpoint = server.start()
        endpoint.create_database("duckraft")
        print(f"fake duckraft (PostgreSQL) listening on {args.pg_listen}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
